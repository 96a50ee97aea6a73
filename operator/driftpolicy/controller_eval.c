/* One DriftPolicy evaluation with its I/O: the target from the cache, the metrics from the
 * pods or Prometheus (credentials from Secrets), the baselines from ConfigMaps (capturing one
 * when asked), then the pure scoring of drifteval. */
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "operator/runtime/ctrltime.h"
#include "operator/driftpolicy/controller_internal.h"
#include "operator/objmeta.h"

#define DP_CAPTURE_SUFFIX "-baseline"

static void dp_state(struct driftpolicy__run *run, enum drifteval_state state, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void dp_state(struct driftpolicy__run *run, enum drifteval_state state, const char *fmt, ...)
{
	va_list ap;

	run->state = state;
	va_start(ap, fmt);
	vsnprintf(run->message, sizeof(run->message), fmt, ap);
	va_end(ap);
}

/* The value of key in a Secret's data, decoded (caller frees with dp_wipe_free), or NULL
 * with err set. */
static char *dp_secret_key(struct driftpolicy__run *run, const char *secret, const char *key, char *err,
			   size_t errlen)
{
	json_t *s = driftpolicy__get(run, &driftpolicy__res_secrets, secret, err, errlen);
	char *v = NULL;

	if (s && (driftactions_secret_value(s, key, &v) || !v))
		snprintf(err, errlen, "secret %s has no (base64) key %s", secret, key);
	json_decref(s);
	return v;
}

static void dp_wipe_free(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

/* ---- sources ---- */

/* The pods behind the target's Service; false (state set) when they cannot be listed. */
static bool dp_scrape_targets(struct driftpolicy__run *run, const struct driftsource_config *cfg,
			      struct driftsource_target **targets, size_t *n)
{
	const struct kubeops *ops = run->c->ops;
	struct kube_list_opts lo = {0};
	struct kube_status st = {0};
	json_t *slices = NULL;
	char sel[128];
	int rc;

	snprintf(sel, sizeof(sel), "kubernetes.io/service-name=%s", cfg->service);
	lo.label_selector = sel;
	rc = ops->list_all(ops, &driftpolicy__res_endpointslices, run->ns, &lo, &slices, &st);
	if (rc == 0)
		rc = driftsource_targets(slices, cfg, targets, n);
	json_decref(slices);
	if (rc)
		dp_state(run, DRIFTEVAL_SOURCE_UNAVAILABLE,
			 "cannot list the EndpointSlices of Service %s: %s", cfg->service,
			 st.message[0] ? st.message : saqr_strerror(rc));
	return rc == 0;
}

static void dp_scrape(struct driftpolicy__run *run, const struct driftsource_config *cfg,
		      const struct driftsource_names *names)
{
	struct driftsource_http http = {.skip_hostname = true, .net = run->c->net};
	struct driftsource_scrape_result res;
	struct driftsource_target *targets = NULL;
	char err[512] = "";
	size_t n = 0;
	int rc = 0;

	if (!dp_scrape_targets(run, cfg, &targets, &n))
		return;
	if (cfg->tls_secret) {
		http.ca_pem = dp_secret_key(run, cfg->tls_secret, "ca.crt", err, sizeof(err));
		rc = http.ca_pem ? 0 : SAQR_ECONFIG;
	}
	if (rc == 0)
		rc = driftsource_scrape(run->c->store, run->key, json_path_str(run->dp, "metadata.uid", ""),
					&http, targets, n, names, ctrltime_mono(), &run->window, &res, err,
					sizeof(err));
	free(targets);
	dp_wipe_free((char *)http.ca_pem);
	if (rc) {
		dp_state(run, DRIFTEVAL_SOURCE_UNAVAILABLE, "scraping Service %s: %s", cfg->service,
			 err[0] ? err : saqr_strerror(rc));
		return;
	}
	if (res.failed)
		driftpolicy__degrade(run, "PartialScrape", "%zu of %zu pods could not be read: %s",
				     res.failed, res.failed + res.scraped, res.failure);
	if (res.first)
		dp_state(run, DRIFTEVAL_WAITING_FOR_WINDOW,
			 "first reading of %zu pod(s) recorded; the first window closes in %.0f s",
			 res.scraped, run->interval);
	else
		run->state = DRIFTEVAL_EVALUATED;
}

static void dp_prometheus(struct driftpolicy__run *run, const struct driftsource_config *cfg,
			  const struct driftsource_names *names)
{
	struct driftsource_http http = {.net = run->c->net};
	char err[512] = "";
	char *token = NULL, *ca = NULL;
	int rc = 0;

	if (cfg->token_secret) {
		token = dp_secret_key(run, cfg->token_secret, cfg->token_key, err, sizeof(err));
		rc = token ? 0 : SAQR_ECONFIG;
	}
	if (rc == 0 && cfg->ca_secret) {
		ca = dp_secret_key(run, cfg->ca_secret, cfg->ca_key, err, sizeof(err));
		rc = ca ? 0 : SAQR_ECONFIG;
	}
	http.bearer_token = token;
	http.ca_pem = ca;
	if (rc == 0)
		rc = driftsource_prometheus(cfg, names, &http, &run->window, err, sizeof(err));
	dp_wipe_free(token);
	dp_wipe_free(ca);
	if (rc)
		dp_state(run, DRIFTEVAL_SOURCE_UNAVAILABLE, "%s", err[0] ? err : saqr_strerror(rc));
	else
		run->state = DRIFTEVAL_EVALUATED;
}

/* Read the window; run->state says how it went (EVALUATED: a window is there). */
static void dp_read_source(struct driftpolicy__run *run)
{
	struct driftsource_config cfg;
	struct driftsource_names names;
	const char *target = json_path_str(run->dp, "spec.targetRef.name", "");
	char err[256];

	if (informer_get(run->c->mds, run->ns, target, &run->md)) {
		dp_state(run, DRIFTEVAL_TARGET_NOT_FOUND, "ModelDeployment %s not found in namespace %s",
			 target, run->ns);
		return;
	}
	if (driftsource_config(run->dp, run->md, run->interval, &cfg, err, sizeof(err))) {
		dp_state(run, DRIFTEVAL_INVALID, "%s", err);
		return;
	}
	driftsource_names_from_spec(run->dp, &names);
	if (cfg.kind == DRIFTSOURCE_PROMETHEUS)
		dp_prometheus(run, &cfg, &names);
	else
		dp_scrape(run, &cfg, &names);
}

/* ---- baselines ---- */

/* The data of every ConfigMap a feature's baseline names. */
static void dp_baseline_configmaps(struct driftpolicy__run *run)
{
	size_t i;
	json_t *f;

	run->configmaps = json_object();
	json_array_foreach(json_path(run->dp, "spec.features"), i, f)
	{
		const char *name = json_path_str(f, "baseline.configMapRef.name", NULL);
		char err[256];
		json_t *cm;

		if (!name || json_object_get(run->configmaps, name))
			continue;
		cm = driftpolicy__get(run, &driftpolicy__res_configmaps, name, err, sizeof(err));
		if (cm)
			json_object_set(run->configmaps, name, json_object_get(cm, "data"));
		json_decref(cm);
	}
}

static int dp_capture_name(const struct driftpolicy__run *run, char *out, size_t outlen)
{
	return objmeta_name(run->name, DP_CAPTURE_SUFFIX, OBJMETA_NAME_MAX, out, outlen);
}

/* The captured baseline document in <dp>-baseline, or NULL. */
static void dp_load_captured(struct driftpolicy__run *run)
{
	char name[OBJMETA_NAME_BUF], err[256];
	json_t *cm;
	const char *text;

	if (dp_capture_name(run, name, sizeof(name)))
		return;
	cm = driftpolicy__get(run, &driftpolicy__res_configmaps, name, err, sizeof(err));
	text = json_string_value(json_object_get(json_object_get(cm, "data"), DRIFTEVAL_CAPTURE_KEY));
	if (text)
		run->captured = json_loads(text, 0, NULL);
	json_decref(cm);
}

/* Merge the new features into the captured document and apply the ConfigMap. */
static int dp_store_captured(struct driftpolicy__run *run, json_t *doc)
{
	const struct kubeops *ops = run->c->ops;
	struct kube_write_opts wo = {.field_manager = OBJMETA_MANAGER, .force = true};
	struct kube_status st = {0};
	char name[OBJMETA_NAME_BUF], *text;
	json_t *cm, *labels;
	int rc;

	if (run->captured)
		json_object_update_missing(json_object_get(doc, "features"),
					   json_object_get(run->captured, "features"));
	if (dp_capture_name(run, name, sizeof(name)))
		return SAQR_EINVAL;
	labels = objmeta_labels(json_path_str(run->dp, "spec.targetRef.name", run->name), run->name,
				"baseline", DRIFTACTIONS_LABEL_POLICY);
	cm = labels ? objmeta_object("v1", "ConfigMap", name, labels, run->dp) : NULL;
	text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	rc = cm && text ? 0 : SAQR_ENOMEM;
	if (rc == 0 && json_object_set_new(cm, "data", json_pack("{s:s}", DRIFTEVAL_CAPTURE_KEY, text)))
		rc = SAQR_ENOMEM;
	if (rc == 0)
		rc = ops->patch(ops, &driftpolicy__res_configmaps, run->ns, name, KUBE_PATCH_APPLY, cm, &wo,
				NULL, &st);
	if (rc)
		driftpolicy__degrade(run, "BaselineUnavailable",
				     "cannot store the captured baseline in ConfigMap %s: %s", name,
				     st.message[0] ? st.message : saqr_strerror(rc));
	free(text);
	json_decref(cm);
	return rc;
}

/* Capture the baseline from this window when the policy asks for it and lacks one.
 * false when the evaluation must wait for a fuller window. */
static bool dp_capture(struct driftpolicy__run *run)
{
	char err[256] = "", name[OBJMETA_NAME_BUF] = "";
	json_t *doc = NULL;
	int rc;

	if (!json_path_bool(run->dp, "spec.baseline.capture", false, NULL))
		return true;
	dp_load_captured(run);
	if (!drifteval_needs_capture(run->dp, run->captured))
		return true;
	rc = drifteval_capture(run->dp, &run->window, &doc, err, sizeof(err));
	if (rc) {
		dp_state(run, DRIFTEVAL_WAITING_FOR_BASELINE,
			 "baseline.capture waits for a window with data: %s", err);
		return false;
	}
	if (dp_store_captured(run, doc) == 0) {
		dp_capture_name(run, name, sizeof(name));
		events_record(run->c->events, run->dp, "Normal", "BaselineCaptured", "Evaluate",
			      "captured the baseline of %zu feature(s) into ConfigMap %s",
			      json_object_size(json_object_get(doc, "features")), name);
	}
	json_decref(run->captured);
	run->captured = doc;
	return true;
}

void driftpolicy__evaluate(struct driftpolicy__run *run)
{
	struct drifteval_input in = {0};

	dp_read_source(run);
	if (run->state != DRIFTEVAL_EVALUATED)
		return;
	if (!dp_capture(run))
		return;
	dp_baseline_configmaps(run);
	in.dp = run->dp;
	in.window = &run->window;
	in.configmaps = run->configmaps;
	in.captured = run->captured;
	if (drifteval_run(&in, &run->result)) {
		dp_state(run, DRIFTEVAL_INVALID, "out of memory while scoring");
		return;
	}
	driftpolicy__log(run, LOG_LVL_DEBUG, "evaluated", "summary", run->result.summary, (char *)NULL);
}
