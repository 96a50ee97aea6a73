/* Decisions behind a DriftPolicy's actions: incident settings, the retraining TrainingJob, the
 * rollback patch, and the notification of a queued entry. Pure functions over JSON. */
#include "operator/driftpolicy/driftactions.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "operator/driftpolicy/drifteval.h"
#include "operator/modeloverride.h"
#include "operator/objmeta.h"
#include "operator/trainingjob/trainingjob.h"
#include "policy/exemptions.h"

#define DA_RETRAIN_SUFFIX "-retrain-"

/* ---- incidents ---- */

void driftactions_incident_cfg(const json_t *dp, struct driftactions_incident *inc)
{
	const json_t *actions = json_path(dp, "spec.actions"), *sinks = json_path(actions, "alert.sinks");
	double cooldown;
	size_t i;
	json_t *s;

	memset(inc, 0, sizeof(*inc));
	if (drifteval_duration(json_path_str(actions, "cooldown", "1h"), &cooldown))
		cooldown = DRIFTEVAL_DEFAULT_COOLDOWN;
	json_array_foreach(sinks, i, s)
	{
		if (i >= DRIFTACTIONS_MAX_SINKS)
			break;
		inc->types[i] = json_path_str(s, "type", "webhook");
		inc->cfg.nsinks = i + 1;
	}
	inc->cfg.policy_name = json_path_str(dp, "metadata.name", "driftpolicy");
	inc->cfg.cooldown_seconds = (long)cooldown;
	inc->cfg.sink_types = inc->types;
	inc->cfg.retrain = json_is_object(json_path(actions, "retrain.template"));
	inc->cfg.rollback = json_path_bool(actions, "rollback.enabled", false, NULL);
}

/* ---- retrain ---- */

/* The breaches spec.actions.retrain.on may name, and whether r shows each. */
static bool da_breach(const struct drifteval_result *r, const char *reason)
{
	if (strcmp(reason, "DriftDetected") == 0)
		return r->drift;
	if (strcmp(reason, "QualitySLO") == 0)
		return r->quality_breach;
	if (strcmp(reason, "LatencySLO") == 0)
		return r->latency_breach;
	if (strcmp(reason, "ErrorRateSLO") == 0)
		return r->error_breach;
	return false;
}

bool driftactions_retrain_due(const json_t *dp, const struct drifteval_result *r)
{
	const json_t *retrain = json_path(dp, "spec.actions.retrain");
	const json_t *on = json_object_get(retrain, "on");
	size_t i;
	json_t *v;

	if (!r || !json_is_object(json_object_get(retrain, "template")))
		return false;
	/* Latency and errors are rarely fixed by a new model: they retrain only when listed. */
	if (!json_is_array(on))
		return da_breach(r, "DriftDetected") || da_breach(r, "QualitySLO");
	json_array_foreach(on, i, v)
	{
		if (json_is_string(v) && da_breach(r, json_string_value(v)))
			return true;
	}
	return false;
}

const char *driftactions_running_retrain(const json_t *dp, const json_t *tjs)
{
	size_t i;
	json_t *tj;

	json_array_foreach(tjs, i, tj) if (objmeta_is_controlled_by(tj, dp) &&
					   !tj_finished(json_object_get(
					       tj, "status"))) return json_path_str(tj, "metadata.name",
										    NULL);
	return NULL;
}

const char *driftactions_retrain_for(const json_t *dp, const json_t *tjs, const char *incident_id)
{
	size_t i;
	json_t *tj;

	json_array_foreach(tjs, i, tj)
	{
		const json_t *ann = json_path(tj, "metadata.annotations");
		const char *for_id = json_string_value(json_object_get(ann, DRIFTACTIONS_ANN_INCIDENT));

		if (objmeta_is_controlled_by(tj, dp) && for_id && strcmp(for_id, incident_id) == 0)
			return json_path_str(tj, "metadata.name", NULL);
	}
	return NULL;
}

static bool da_name_taken(const json_t *tjs, const char *name)
{
	size_t i;
	json_t *tj;

	json_array_foreach(tjs, i,
			   tj) if (strcmp(json_path_str(tj, "metadata.name", ""), name) == 0) return true;
	return false;
}

/* <dp>-retrain-<n>: n one more than the jobs dp owns, then the first free one. */
static int da_retrain_name(const json_t *dp, const json_t *tjs, char *out, size_t outlen)
{
	const char *name = json_path_str(dp, "metadata.name", "");
	size_t owned = 0, i;
	char suffix[48];
	json_t *tj;

	json_array_foreach(tjs, i, tj) owned += objmeta_is_controlled_by(tj, dp);
	for (size_t n = owned + 1; n < owned + 1000; n++) {
		snprintf(suffix, sizeof(suffix), DA_RETRAIN_SUFFIX "%zu", n);
		if (objmeta_name(name, suffix, OBJMETA_NAME_MAX, out, outlen))
			return SAQR_EINVAL;
		if (!da_name_taken(tjs, out))
			return 0;
	}
	return SAQR_EEXIST;
}

/* The DriftPolicy's saqr.dev/ labels or annotations (classification, owner, residency) onto the
 * TrainingJob, as policy/driftcheck.c judged the template at the DriftPolicy's admission; keys
 * already in to win, and the DriftPolicy's break-glass stays with it. */
static int da_inherit(json_t *to, const json_t *from)
{
	const char *key;
	json_t *v;

	if (!to)
		return SAQR_ENOMEM;
	json_object_foreach((json_t *)from, key, v)
	{
		if (strncmp(key, "saqr.dev/", 9) != 0 || strcmp(key, EXEMPTIONS_BREAK_GLASS_KEY) == 0 ||
		    json_object_get(to, key))
			continue;
		if (json_object_set(to, key, v) != 0)
			return SAQR_ENOMEM;
	}
	return 0;
}

int driftactions_retrain_object(const json_t *dp, const json_t *tjs, const char *incident_id, json_t **out)
{
	const json_t *tmpl = json_path(dp, "spec.actions.retrain.template");
	const char *dp_name = json_path_str(dp, "metadata.name", NULL);
	char name[OBJMETA_NAME_BUF];
	json_t *labels, *tj, *spec, *annotations;
	int rc;

	if (!json_is_object(tmpl) || !dp_name || !incident_id)
		return SAQR_EINVAL;
	rc = da_retrain_name(dp, tjs, name, sizeof(name));
	if (rc)
		return rc;
	labels = objmeta_labels(json_path_str(dp, "spec.targetRef.name", dp_name), dp_name, "retrain",
				DRIFTACTIONS_LABEL_POLICY);
	if (!labels || da_inherit(labels, json_path(dp, "metadata.labels"))) {
		json_decref(labels);
		return SAQR_ENOMEM;
	}
	tj = objmeta_object(OBJMETA_API_VERSION, "TrainingJob", name, labels, dp);
	if (!tj)
		return SAQR_EINVAL;
	spec = json_deep_copy(tmpl);
	annotations = json_pack("{s:s}", DRIFTACTIONS_ANN_INCIDENT, incident_id);
	if (!spec || json_object_set_new(tj, "spec", spec) ||
	    da_inherit(annotations, json_path(dp, "metadata.annotations")) ||
	    json_object_set(json_object_get(tj, "metadata"), "annotations", annotations)) {
		json_decref(annotations);
		json_decref(tj);
		return SAQR_ENOMEM;
	}
	json_decref(annotations);
	*out = tj;
	return 0;
}

/* ---- rollback ---- */

static bool da_same_str(const json_t *a, const json_t *b, const char *key)
{
	return strcmp(json_path_str(a, key, ""), json_path_str(b, key, "")) == 0;
}

static bool da_same_model(const json_t *a, const json_t *b)
{
	return da_same_str(a, b, "uri") && da_same_str(a, b, "version") && da_same_str(a, b, "digest");
}

const json_t *driftactions_rollback_target(const json_t *md)
{
	const json_t *model = mo_model(md);
	size_t i;
	json_t *e;

	json_array_foreach(json_path(md, "status.history"), i,
			   e) if (json_path_str(e, "uri", NULL) && !da_same_model(e, model)) return e;
	return NULL;
}

bool driftactions_rolled_back_for(const json_t *md, const char *incident_id)
{
	const json_t *ann = json_path(md, "metadata.annotations");
	const char *v = json_string_value(json_object_get(ann, DRIFTACTIONS_ANN_ROLLED_BACK_FOR));

	return v && incident_id && strcmp(v, incident_id) == 0;
}

int driftactions_rollback_patch(const json_t *md, const json_t *entry, const char *incident_id, json_t **out)
{
	static const char *const kept[] = {"name", "format", NULL};
	const json_t *spec_model = json_path(md, "spec.model");
	json_t *model = json_deep_copy(entry), *patch = NULL;
	char source[160];

	if (!model)
		return SAQR_ENOMEM;
	json_object_del(model, "deployedAt");
	/* name and format: the entry's, else spec.model's */
	for (int i = 0; kept[i]; i++)
		if (!json_is_string(json_object_get(model, kept[i])) &&
		    json_is_string(json_object_get(spec_model, kept[i])) &&
		    json_object_set(model, kept[i], json_object_get(spec_model, kept[i]))) {
			json_decref(model);
			return SAQR_ENOMEM;
		}
	snprintf(source, sizeof(source), "incident %.120s", incident_id ? incident_id : "");
	patch = mo_patch(md, model, MO_REASON_ROLLBACK, source);
	json_decref(model);
	if (!patch ||
	    json_object_set_new(patch, "metadata",
				json_pack("{s:{s:s}}", "annotations", DRIFTACTIONS_ANN_ROLLED_BACK_FOR,
					  incident_id ? incident_id : ""))) {
		json_decref(patch);
		return SAQR_ENOMEM;
	}
	*out = patch;
	return 0;
}

void driftactions_model_label(const json_t *model, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s (%s)", json_path_str(model, "version", "?"),
		 json_path_str(model, "uri", "?"));
}

/* ---- credentials ---- */

/* Base64 value of key in data, decoded and without trailing newlines; *out stays NULL when the
 * key is absent. */
static int da_secret_value(const json_t *data, const char *key, char **out)
{
	const char *b64 = json_string_value(json_object_get(data, key));
	size_t len, pad = 0;
	unsigned char *dec;
	int n;

	if (!b64)
		return 0;
	len = strlen(b64);
	if (len % 4)
		return SAQR_EINVAL;
	dec = malloc(len / 4 * 3 + 1);
	if (!dec)
		return SAQR_ENOMEM;
	n = EVP_DecodeBlock(dec, (const unsigned char *)b64, (int)len);
	for (size_t i = len; i > 0 && b64[i - 1] == '='; i--)
		pad++;
	if (n < 0 || (size_t)n < pad) {
		free(dec);
		return SAQR_EINVAL;
	}
	n -= (int)pad;
	while (n > 0 && (dec[n - 1] == '\n' || dec[n - 1] == '\r'))
		n--;
	dec[n] = '\0';
	*out = (char *)dec;
	return 0;
}

int driftactions_secret_value(const json_t *secret, const char *key, char **out)
{
	*out = NULL;
	return da_secret_value(json_object_get(secret, "data"), key, out);
}

int driftactions_secret_decode(const json_t *secret, struct driftactions_secret *out)
{
	const json_t *data = json_object_get(secret, "data");
	int rc;

	memset(out, 0, sizeof(*out));
	rc = da_secret_value(data, "token", &out->token);
	rc = rc ? rc : da_secret_value(data, "hmacKey", &out->hmac_key);
	rc = rc ? rc : da_secret_value(data, "username", &out->username);
	rc = rc ? rc : da_secret_value(data, "password", &out->password);
	rc = rc ? rc : da_secret_value(data, "routingKey", &out->routing_key);
	if (rc)
		driftactions_secret_release(out);
	return rc;
}

static void da_wipe(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

void driftactions_secret_release(struct driftactions_secret *s)
{
	if (!s)
		return;
	da_wipe(s->token);
	da_wipe(s->hmac_key);
	da_wipe(s->username);
	da_wipe(s->password);
	da_wipe(s->routing_key);
	memset(s, 0, sizeof(*s));
}

/* ---- notifications ---- */

/* PagerDuty's URL: the default, or /v2/enqueue on a URL without a path. */
static void da_pagerduty_url(const char *url, char *out, size_t outlen)
{
	const char *host = url ? strstr(url, "://") : NULL;
	const char *path = host ? strchr(host + 3, '/') : NULL;

	if (!url || !*url)
		snprintf(out, outlen, "%s", DRIFTACTIONS_PAGERDUTY_URL);
	else if (!path || strcmp(path, "/") == 0)
		snprintf(out, outlen, "%.*s/v2/enqueue", (int)(path ? (size_t)(path - url) : strlen(url)),
			 url);
	else
		snprintf(out, outlen, "%s", url);
}

int driftactions_sink(const json_t *dp, size_t index, const struct driftactions_secret *sec,
		      struct driftactions_sink *out)
{
	const json_t *s = json_array_get(json_path(dp, "spec.actions.alert.sinks"), index);
	const char *url = json_path_str(s, "url", NULL);

	memset(out, 0, sizeof(*out));
	if (!s)
		return SAQR_ENOTFOUND;
	if (notify_sink_type_parse(json_path_str(s, "type", ""), &out->sink.type))
		return SAQR_EINVAL;
	if (out->sink.type == NOTIFY_PAGERDUTY)
		da_pagerduty_url(url, out->url, sizeof(out->url));
	else
		snprintf(out->url, sizeof(out->url), "%s", url ? url : "");
	out->sink.url = out->url;
	if (sec) {
		out->sink.token = sec->token;
		out->sink.hmac_key = sec->hmac_key;
		out->sink.username = sec->username;
		out->sink.password = sec->password;
		out->sink.routing_key = sec->routing_key;
	}
	return 0;
}

bool driftactions_pending_stale(const json_t *dp, const json_t *entry)
{
	const json_t *sinks = json_path(dp, "spec.actions.alert.sinks");
	long long i = json_path_int(entry, "sink", -1);
	const char *type = json_path_str(entry, "type", NULL);

	if (i < 0 || (size_t)i >= json_array_size(sinks))
		return true;
	return type && strcmp(type, json_path_str(json_array_get(sinks, (size_t)i), "type", "")) != 0;
}

void driftactions_event(const json_t *dp, const json_t *incident, const json_t *entry, const json_t *details,
			struct notify_event *out)
{
	char idx[24];

	snprintf(idx, sizeof(idx), "%lld", json_path_int(entry, "sink", 0));
	memset(out, 0, sizeof(*out));
	out->incident_id = json_path_str(incident, "id", NULL);
	out->reason = json_path_str(incident, "reason", "DriftDetected");
	out->severity = json_path_str(dp, "spec.actions.alert.severity", "warning");
	out->summary = json_path_str(incident, "summary", "");
	out->namespace = json_path_str(dp, "metadata.namespace", "");
	out->policy = json_path_str(dp, "metadata.name", "");
	out->target = json_path_str(dp, "spec.targetRef.name", "");
	out->opened_at = json_path_str(incident, "openedAt", NULL);
	out->resolved_at = json_path_str(incident, "resolvedAt", NULL);
	out->external_id = json_string_value(json_object_get(json_object_get(incident, "externalIds"), idx));
	out->delivery_id = json_path_str(entry, "id", NULL);
	out->details = details;
	out->resolved = strcmp(json_path_str(entry, "action", "trigger"), "resolve") == 0;
}

json_t *driftactions_details(const json_t *status, const json_t *incident)
{
	json_t *d = json_object(), *feats = json_array(), *f;
	static const char *const keys[] = {"latencyP99Ms", "errorRatePercent"};
	static const char *const inc_keys[] = {"trainingJob", "rolledBackTo"};
	size_t i;

	if (!d || !feats || json_object_set_new(d, "driftedFeatures", feats)) {
		json_decref(d);
		return NULL;
	}
	json_array_foreach(json_object_get(status, "features"), i,
			   f) if (json_path_bool(f, "drifted", false, NULL)) json_array_append(feats, f);
	for (i = 0; i < 2; i++) {
		if (json_object_get(status, keys[i]))
			json_object_set(d, keys[i], json_object_get(status, keys[i]));
		if (json_object_get(incident, inc_keys[i]))
			json_object_set(d, inc_keys[i], json_object_get(incident, inc_keys[i]));
	}
	return d;
}

json_t *driftactions_incident(const json_t *incidents, const char *id)
{
	size_t i;
	json_t *inc;

	json_array_foreach(incidents, i,
			   inc) if (id && strcmp(json_path_str(inc, "id", ""), id) == 0) return inc;
	return NULL;
}

static bool da_trigger_left(const json_t *pending, const char *incident)
{
	size_t i;
	json_t *e;

	json_array_foreach(pending, i,
			   e) if (strcmp(json_path_str(e, "incident", ""), incident) == 0 &&
				  strcmp(json_path_str(e, "action", ""), "trigger") == 0) return true;
	return false;
}

int driftactions_delivered(json_t *incidents, json_t *pending, size_t index, const char *external_id)
{
	json_t *e = json_array_get(pending, index), *inc, *ids;
	char incident[320], idx[24];
	bool trigger;

	if (!e)
		return SAQR_EINVAL;
	snprintf(incident, sizeof(incident), "%s", json_path_str(e, "incident", ""));
	snprintf(idx, sizeof(idx), "%lld", json_path_int(e, "sink", 0));
	trigger = strcmp(json_path_str(e, "action", ""), "trigger") == 0;
	if (json_array_remove(pending, index))
		return SAQR_EINVAL;
	inc = driftactions_incident(incidents, incident);
	if (!inc || !trigger)
		return 0;
	if (external_id) {
		ids = json_object_get(inc, "externalIds");
		if (!ids) {
			ids = json_object();
			if (json_object_set_new(inc, "externalIds", ids))
				return SAQR_ENOMEM;
		}
		if (json_object_set_new(ids, idx, json_string(external_id)))
			return SAQR_ENOMEM;
	}
	if (!da_trigger_left(pending, incident) && json_object_set_new(inc, "notified", json_true()))
		return SAQR_ENOMEM;
	return 0;
}
