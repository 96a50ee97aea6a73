/* What the metrics of one pod (a cumulative reading) or of a window (an increase, summed over
 * pods) hold for a DriftPolicy, and the arithmetic between readings. Pure; the scrape and
 * Prometheus halves (driftsource_scrape.c, driftsource_prom.c) do the I/O. */
#include "operator/driftpolicy/driftsource.h"
#include "operator/driftpolicy/driftsource_internal.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "operator/modeldeployment/modeldeployment.h"

#define DS_NAME_MAX 256

void driftsource_names_from_spec(const json_t *dp, struct driftsource_names *out)
{
	const json_t *m = json_path(dp, "spec.metrics");

	out->feature_value = json_path_str(m, "featureValue", "saqr_feature_value");
	out->feature_category = json_path_str(m, "featureCategoryTotal", "saqr_feature_category_total");
	out->latency = json_path_str(m, "inferenceLatencySeconds", "saqr_inference_latency_seconds");
	out->requests = json_path_str(m, "inferenceRequestsTotal", "saqr_inference_requests_total");
	out->quality = json_path_str(m, "modelQuality", "saqr_model_quality");
}

/* ---- owning and copying ---- */

static void ds_counts_free(struct driftsource_count *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(c[i].key);
	free(c);
}

static void ds_feature_release(struct driftsource_feature *f)
{
	free(f->name);
	promtext_hist_release(&f->hist);
	ds_counts_free(f->cats, f->ncats);
	memset(f, 0, sizeof(*f));
}

void driftsource_data_release(struct driftsource_data *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->nfeatures; i++)
		ds_feature_release(&d->features[i]);
	free(d->features);
	promtext_hist_release(&d->latency);
	ds_counts_free(d->codes, d->ncodes);
	memset(d, 0, sizeof(*d));
}

static int ds_hist_copy(const struct promtext_hist *src, struct promtext_hist *dst)
{
	memset(dst, 0, sizeof(*dst));
	if (src->n == 0)
		return 0;
	dst->le = malloc(src->n * sizeof(double));
	dst->cum = malloc(src->n * sizeof(double));
	if (!dst->le || !dst->cum) {
		promtext_hist_release(dst);
		return SAQR_ENOMEM;
	}
	memcpy(dst->le, src->le, src->n * sizeof(double));
	memcpy(dst->cum, src->cum, src->n * sizeof(double));
	dst->n = src->n;
	dst->count = src->count;
	dst->sum = src->sum;
	dst->has_sum = src->has_sum;
	dst->series = src->series;
	return 0;
}

/* Index of key in counts, or n. */
static size_t ds_count_index(const struct driftsource_count *c, size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(c[i].key, key) == 0)
			break;
	return i;
}

int driftsource__count_add(struct driftsource_count **c, size_t *n, const char *key, double value, size_t cap)
{
	size_t i = ds_count_index(*c, *n, key);
	struct driftsource_count *grown;

	if (i < *n) {
		(*c)[i].value += value;
		return 0;
	}
	if (*n >= cap)
		return SAQR_ETOOBIG;
	grown = realloc(*c, (*n + 1) * sizeof(**c));
	if (!grown)
		return SAQR_ENOMEM;
	*c = grown;
	grown[*n].key = strdup(key);
	if (!grown[*n].key)
		return SAQR_ENOMEM;
	grown[*n].value = value;
	(*n)++;
	return 0;
}

struct driftsource_feature *driftsource__find(const struct driftsource_data *d, const char *name,
					      bool categorical)
{
	for (size_t i = 0; d && i < d->nfeatures; i++)
		if (d->features[i].categorical == categorical && strcmp(d->features[i].name, name) == 0)
			return &d->features[i];
	return NULL;
}

const struct driftsource_feature *driftsource_find(const struct driftsource_data *d, const char *name,
						   bool categorical)
{
	return driftsource__find(d, name, categorical);
}

int driftsource__feature_new(struct driftsource_data *d, const char *name, bool categorical,
			     struct driftsource_feature **out)
{
	struct driftsource_feature *grown;

	if (d->nfeatures >= DRIFTSOURCE_MAX_FEATURES)
		return SAQR_ETOOBIG;
	grown = realloc(d->features, (d->nfeatures + 1) * sizeof(*grown));
	if (!grown)
		return SAQR_ENOMEM;
	d->features = grown;
	memset(&grown[d->nfeatures], 0, sizeof(*grown));
	grown[d->nfeatures].name = strdup(name);
	if (!grown[d->nfeatures].name)
		return SAQR_ENOMEM;
	grown[d->nfeatures].categorical = categorical;
	*out = &grown[d->nfeatures++];
	return 0;
}

/* ---- one exposition ---- */

static int ds_extract_numerical(const struct promtext *p, const char *metric, struct driftsource_data *out,
				char *err, size_t errlen)
{
	const struct promtext_sample **s = NULL;
	char bucket[DS_NAME_MAX + 8], why[256];
	const char *last = NULL;
	size_t n = 0, i;
	int rc;

	snprintf(bucket, sizeof(bucket), "%s_bucket", metric);
	rc = promtext_select(p, bucket, NULL, 0, &s, &n);
	for (i = 0; rc == 0 && i < n; i++) {
		const char *name = promtext_label_value(s[i], "feature");
		struct promtext_label filter = {"feature", name};
		struct driftsource_feature *f;

		/* A series' buckets come one after the other: most samples repeat the last name. */
		if (!name || (last && strcmp(last, name) == 0))
			continue;
		last = name;
		if (driftsource_find(out, name, false))
			continue;
		rc = driftsource__feature_new(out, name, false, &f);
		if (rc == 0)
			rc = promtext_histogram(p, metric, &filter, 1, &f->hist, why, sizeof(why));
		if (rc && rc != SAQR_ENOMEM && rc != SAQR_ETOOBIG)
			rc = saqr_fail(SAQR_EINVAL, err, errlen, "feature %s: %s", name, why);
	}
	free(s);
	return rc;
}

static int ds_extract_categorical(const struct promtext *p, const char *metric, struct driftsource_data *out)
{
	const struct promtext_sample **s = NULL;
	size_t n = 0, i;
	int rc = promtext_select(p, metric, NULL, 0, &s, &n);

	for (i = 0; rc == 0 && i < n; i++) {
		const char *name = promtext_label_value(s[i], "feature");
		const char *value = promtext_label_value(s[i], "value");
		struct driftsource_feature *f = driftsource__find(out, name ? name : "", true);

		if (!name || !value || !isfinite(s[i]->value))
			continue;
		if (!f)
			rc = driftsource__feature_new(out, name, true, &f);
		if (rc == 0)
			rc = driftsource__count_add(&f->cats, &f->ncats, value, s[i]->value,
						    DRIFTSOURCE_MAX_CATEGORIES);
	}
	free(s);
	return rc;
}

static int ds_extract_codes(const struct promtext *p, const char *metric, struct driftsource_data *out)
{
	const struct promtext_sample **s = NULL;
	size_t n = 0, i;
	int rc = promtext_select(p, metric, NULL, 0, &s, &n);

	for (i = 0; rc == 0 && i < n; i++) {
		const char *code = promtext_label_value(s[i], "code");

		if (isfinite(s[i]->value))
			rc = driftsource__count_add(&out->codes, &out->ncodes, code ? code : "", s[i]->value,
						    1000);
		out->has_requests = true;
	}
	free(s);
	return rc;
}

static int ds_extract_quality(const struct promtext *p, const char *metric, struct driftsource_data *out)
{
	const struct promtext_sample **s = NULL;
	size_t n = 0, i;
	int rc = promtext_select(p, metric, NULL, 0, &s, &n);

	for (i = 0; rc == 0 && i < n; i++) {
		if (!isfinite(s[i]->value))
			continue;
		if (!out->has_quality || s[i]->value < out->quality)
			out->quality = s[i]->value;
		out->has_quality = true;
	}
	free(s);
	return rc;
}

int driftsource_extract(const struct promtext *p, const struct driftsource_names *names,
			struct driftsource_data *out, char *err, size_t errlen)
{
	struct driftsource_data d;
	char why[256];
	int rc;

	memset(&d, 0, sizeof(d));
	rc = ds_extract_numerical(p, names->feature_value, &d, err, errlen);
	if (rc == 0)
		rc = ds_extract_categorical(p, names->feature_category, &d);
	if (rc == 0) {
		rc = promtext_histogram(p, names->latency, NULL, 0, &d.latency, why, sizeof(why));
		if (rc == SAQR_ENOTFOUND)
			rc = 0;
		else if (rc && rc != SAQR_ENOMEM)
			rc = saqr_fail(SAQR_EINVAL, err, errlen, "%s: %s", names->latency, why);
	}
	if (rc == 0)
		rc = ds_extract_codes(p, names->requests, &d);
	if (rc == 0)
		rc = ds_extract_quality(p, names->quality, &d);
	if (rc == SAQR_ETOOBIG)
		saqr_errf(err, errlen, "more than %d features or values", DRIFTSOURCE_MAX_FEATURES);
	else if (rc == SAQR_ENOMEM)
		saqr_errf(err, errlen, "out of memory");
	if (rc) {
		driftsource_data_release(&d);
		return rc;
	}
	*out = d;
	return 0;
}

/* ---- increase, sum, finish ---- */

static int ds_counts_increase(const struct driftsource_count *prev, size_t nprev,
			      const struct driftsource_count *cur, size_t ncur,
			      struct driftsource_count **out, size_t *nout)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < ncur; i++) {
		size_t j = prev ? ds_count_index(prev, nprev, cur[i].key) : nprev;
		double inc =
		    j < nprev ? promtext_counter_increase(prev[j].value, cur[i].value) : cur[i].value;

		rc = driftsource__count_add(out, nout, cur[i].key, inc, SIZE_MAX);
	}
	return rc;
}

static int ds_feature_increase(const struct driftsource_data *prev, const struct driftsource_feature *cur,
			       struct driftsource_data *out)
{
	const struct driftsource_feature *p = driftsource_find(prev, cur->name, cur->categorical);
	struct driftsource_feature *f;
	int rc = driftsource__feature_new(out, cur->name, cur->categorical, &f);

	if (rc)
		return rc;
	if (cur->categorical)
		return ds_counts_increase(p ? p->cats : NULL, p ? p->ncats : 0, cur->cats, cur->ncats,
					  &f->cats, &f->ncats);
	if (cur->hist.n == 0)
		return 0;
	return promtext_increase(p && p->hist.n ? &p->hist : NULL, &cur->hist, &f->hist, NULL);
}

int driftsource_increase(const struct driftsource_data *prev, const struct driftsource_data *cur,
			 struct driftsource_data *out)
{
	struct driftsource_data d;
	int rc = 0;

	memset(&d, 0, sizeof(d));
	for (size_t i = 0; rc == 0 && i < cur->nfeatures; i++)
		rc = ds_feature_increase(prev, &cur->features[i], &d);
	if (rc == 0 && cur->latency.n)
		rc = promtext_increase(prev && prev->latency.n ? &prev->latency : NULL, &cur->latency,
				       &d.latency, NULL);
	if (rc == 0)
		rc = ds_counts_increase(prev ? prev->codes : NULL, prev ? prev->ncodes : 0, cur->codes,
					cur->ncodes, &d.codes, &d.ncodes);
	if (rc) {
		driftsource_data_release(&d);
		return SAQR_ENOMEM;
	}
	d.has_requests = cur->has_requests;
	d.has_quality = cur->has_quality;
	d.quality = cur->quality;
	*out = d;
	return 0;
}

static bool ds_same_buckets(const struct promtext_hist *a, const struct promtext_hist *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->le[i] != b->le[i])
			return false;
	return true;
}

/* acc += x, bucket by bucket; an empty acc becomes a copy of x. */
static int ds_hist_add(struct promtext_hist *acc, const struct promtext_hist *x)
{
	if (x->n == 0)
		return 0;
	if (acc->n == 0)
		return ds_hist_copy(x, acc);
	if (!ds_same_buckets(acc, x))
		return SAQR_EINVAL;
	for (size_t i = 0; i < x->n; i++)
		acc->cum[i] += x->cum[i];
	acc->count += x->count;
	acc->has_sum = acc->has_sum && x->has_sum;
	acc->sum = acc->has_sum ? acc->sum + x->sum : 0;
	acc->series += x->series;
	return 0;
}

static int ds_feature_add(struct driftsource_data *acc, const struct driftsource_feature *x)
{
	struct driftsource_feature *f = driftsource__find(acc, x->name, x->categorical);
	int rc = 0;

	if (!f)
		rc = driftsource__feature_new(acc, x->name, x->categorical, &f);
	for (size_t i = 0; rc == 0 && i < x->ncats; i++)
		rc = driftsource__count_add(&f->cats, &f->ncats, x->cats[i].key, x->cats[i].value, SIZE_MAX);
	if (rc == 0)
		rc = ds_hist_add(&f->hist, &x->hist);
	return rc;
}

int driftsource_add(struct driftsource_data *acc, const struct driftsource_data *x, char *err, size_t errlen)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < x->nfeatures; i++) {
		rc = ds_feature_add(acc, &x->features[i]);
		if (rc == SAQR_EINVAL)
			return saqr_fail(rc, err, errlen, "feature %s: the pods export different buckets",
					 x->features[i].name);
	}
	if (rc == 0 && ds_hist_add(&acc->latency, &x->latency))
		return saqr_fail(SAQR_EINVAL, err, errlen,
				 "the latency histogram has different buckets on the pods");
	for (size_t i = 0; rc == 0 && i < x->ncodes; i++)
		rc = driftsource__count_add(&acc->codes, &acc->ncodes, x->codes[i].key, x->codes[i].value,
					    SIZE_MAX);
	if (rc)
		return saqr_fail(rc, err, errlen, "out of memory");
	acc->has_requests = acc->has_requests || x->has_requests;
	if (x->has_quality && (!acc->has_quality || x->quality < acc->quality))
		acc->quality = x->quality;
	acc->has_quality = acc->has_quality || x->has_quality;
	return 0;
}

bool driftsource_code_is_error(const char *code)
{
	static const char *const grpc[] = {"2",
					   "4",
					   "8",
					   "12",
					   "13",
					   "14",
					   "15",
					   "UNKNOWN",
					   "DEADLINE_EXCEEDED",
					   "RESOURCE_EXHAUSTED",
					   "UNIMPLEMENTED",
					   "INTERNAL",
					   "UNAVAILABLE",
					   "DATA_LOSS"};

	if (!code)
		return false;
	if (strlen(code) == 3 && code[0] == '5' && code[1] >= '0' && code[1] <= '9' && code[2] >= '0' &&
	    code[2] <= '9')
		return true;
	for (size_t i = 0; i < sizeof(grpc) / sizeof(grpc[0]); i++)
		if (strcasecmp(code, grpc[i]) == 0)
			return true;
	return false;
}

int driftsource_finish(struct driftsource_data *w)
{
	double p99;

	if (w->latency.n >= 2) {
		w->has_latency_p99 =
		    promtext_histogram_quantile(0.99, &w->latency, &p99) == 0 && isfinite(p99);
		w->latency_p99_seconds = w->has_latency_p99 ? p99 : 0;
	}
	w->requests = 0;
	w->errors = 0;
	for (size_t i = 0; i < w->ncodes; i++) {
		w->requests += w->codes[i].value;
		if (driftsource_code_is_error(w->codes[i].key))
			w->errors += w->codes[i].value;
	}
	w->has_requests = w->has_requests || w->ncodes > 0;
	return 0;
}

/* ---- configuration ---- */

/* A Secret reference at path that names a namespace other than ns (the CRD has no such field;
 * this guards against one added by hand or by a later schema). */
static bool ds_foreign_ref(const json_t *src, const char *path, const char *ns)
{
	char p[128];
	const char *other;

	snprintf(p, sizeof(p), "%s.namespace", path);
	other = json_path_str(src, p, NULL);
	return other && strcmp(other, ns) != 0;
}

/* The scrape port and scheme. With the saqr-agent sidecar (docs/agent.md) the metrics are on
 * its plain-HTTP metrics port, the default; only its proxy port serves TLS, and the server behind
 * it speaks plain HTTP. Without the agent, the server's port, in HTTPS with a TLS Secret. */
static void ds_scrape_endpoint(const json_t *scrape, const json_t *mdspec, struct driftsource_config *cfg)
{
	const char *tls = json_path_str(mdspec, "security.tlsSecretName", "");
	bool agent = md_agent_enabled(mdspec);
	long long def = agent ? json_path_int(mdspec, "agent.metricsPort", MD_AGENT_DEFAULT_METRICS_PORT)
			      : json_path_int(mdspec, "server.port", MD_DEFAULT_PORT);

	cfg->port = json_path_int(scrape, "port", def);
	cfg->tls_secret = NULL;
	if (*tls && (!agent || cfg->port == json_path_int(mdspec, "agent.port", MD_AGENT_DEFAULT_PORT)))
		cfg->tls_secret = tls;
}

int driftsource_config(const json_t *dp, const json_t *md, double window_seconds,
		       struct driftsource_config *cfg, char *err, size_t errlen)
{
	const json_t *src = json_path(dp, "spec.source");

	memset(cfg, 0, sizeof(*cfg));
	cfg->namespace = json_path_str(dp, "metadata.namespace", "");
	cfg->window_seconds = window_seconds;
	if (md_names(md, cfg->service, NULL))
		return saqr_fail(SAQR_EINVAL, err, errlen, "the ModelDeployment %s has no name or namespace",
				 json_path_str(md, "metadata.name", "?"));
	if (json_is_object(json_object_get(src, "prometheus"))) {
		if (ds_foreign_ref(src, "prometheus.bearerTokenSecretRef", cfg->namespace) ||
		    ds_foreign_ref(src, "prometheus.caSecretRef", cfg->namespace))
			return saqr_fail(
			    SAQR_EINVAL, err, errlen,
			    "a Secret reference names another namespace; the operator reads Secrets only "
			    "in the DriftPolicy's own namespace");
		cfg->kind = DRIFTSOURCE_PROMETHEUS;
		cfg->url = json_path_str(src, "prometheus.url", NULL);
		cfg->token_secret = json_path_str(src, "prometheus.bearerTokenSecretRef.name", NULL);
		cfg->token_key = json_path_str(src, "prometheus.bearerTokenSecretRef.key", "token");
		cfg->ca_secret = json_path_str(src, "prometheus.caSecretRef.name", NULL);
		cfg->ca_key = json_path_str(src, "prometheus.caSecretRef.key", "ca.crt");
		if (!cfg->url || !*cfg->url)
			return saqr_fail(SAQR_EINVAL, err, errlen, "source.prometheus.url is empty");
		return 0;
	}
	if (!json_is_object(json_object_get(src, "scrape")))
		return saqr_fail(SAQR_EINVAL, err, errlen, "spec.source needs prometheus or scrape");
	cfg->kind = DRIFTSOURCE_SCRAPE;
	cfg->path = json_path_str(src, "scrape.path", DRIFTSOURCE_DEFAULT_PATH);
	ds_scrape_endpoint(json_path(src, "scrape"), json_object_get(md, "spec"), cfg);
	if (cfg->port < 1 || cfg->port > 65535)
		return saqr_fail(SAQR_EINVAL, err, errlen, "scrape port out of range");
	return 0;
}

/* ---- targets ---- */

/* A pod is scraped once, even when a dual-stack Service lists it in two slices. */
static bool ds_has_target(const struct driftsource_target *t, size_t n, const struct driftsource_target *c)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].url, c->url) == 0 || strcmp(t[i].key, c->key) == 0)
			return true;
	return false;
}

/* A URL host for addr of the slice's address type: IPv6 goes in brackets. */
static int ds_target_url(const char *type, const char *addr, const struct driftsource_config *cfg, char *out,
			 size_t outlen)
{
	bool v6 = type && strcmp(type, "IPv6") == 0;
	int n;

	if (strpbrk(addr, "/?#@ \t\r\n[]") || (!v6 && strchr(addr, ':')))
		return SAQR_EINVAL;
	n = snprintf(out, outlen, "%s://%s%s%s:%ld%s", cfg->tls_secret ? "https" : "http", v6 ? "[" : "",
		     addr, v6 ? "]" : "", cfg->port, cfg->path ? cfg->path : DRIFTSOURCE_DEFAULT_PATH);
	return n < 0 || (size_t)n >= outlen ? SAQR_ETOOBIG : 0;
}

static void ds_slice_targets(const json_t *slice, const struct driftsource_config *cfg,
			     struct driftsource_target *t, size_t *n)
{
	const char *type = json_path_str(slice, "addressType", "IPv4");
	size_t i, j;
	json_t *ep, *addr;

	json_array_foreach(json_object_get(slice, "endpoints"), i, ep)
	{
		if (!json_path_bool(ep, "conditions.ready", true, NULL))
			continue;
		json_array_foreach(json_object_get(ep, "addresses"), j, addr)
		{
			struct driftsource_target cand;
			const char *a = json_string_value(addr);

			if (!a || ds_target_url(type, a, cfg, cand.url, sizeof(cand.url)))
				continue;
			snprintf(cand.key, sizeof(cand.key), "%s", json_path_str(ep, "targetRef.name", a));
			if (ds_has_target(t, *n, &cand))
				break;
			if (*n >= DRIFTSOURCE_MAX_TARGETS)
				return; /* the first ones are a sample large enough */
			t[(*n)++] = cand;
			break; /* the addresses of one endpoint are one pod */
		}
	}
}

int driftsource_targets(const json_t *slices, const struct driftsource_config *cfg,
			struct driftsource_target **out, size_t *n)
{
	const json_t *items = json_is_array(slices) ? slices : json_object_get(slices, "items");
	struct driftsource_target *t = calloc(DRIFTSOURCE_MAX_TARGETS, sizeof(*t));
	size_t i, count = 0;
	json_t *slice;

	if (!t)
		return SAQR_ENOMEM;
	json_array_foreach(items, i, slice)
	{
		ds_slice_targets(slice, cfg, t, &count);
	}
	if (count == 0) {
		free(t);
		t = NULL;
	}
	*out = t;
	*n = count;
	return 0;
}
