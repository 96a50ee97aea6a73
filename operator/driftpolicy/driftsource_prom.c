/* The Prometheus source: five instant queries on /api/v1/query (feature histograms, category
 * counts, latency p99, requests by code, the quality gauge) over the target's series, turned
 * into the same window the scrape source builds. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "http/http.h"
#include "operator/driftpolicy/driftsource.h"
#include "operator/driftpolicy/driftsource_internal.h"

#define DS_PROM_MAX_QUERY 4096

/* `namespace="<ns>",service="<svc>"` with PromQL string escapes. */
static int ds_prom_selector(const struct driftsource_config *cfg, struct buf *out)
{
	const char *vals[2] = {cfg->namespace, cfg->service};
	const char *keys[2] = {"namespace", "service"};
	int rc = 0;

	for (int i = 0; rc == 0 && i < 2; i++) {
		rc = buf_addf(out, "%s%s=\"", i ? "," : "", keys[i]);
		for (const char *p = vals[i] ? vals[i] : ""; rc == 0 && *p; p++)
			rc = (*p == '"' || *p == '\\') ? buf_addf(out, "\\%c", *p) : buf_add(out, p, 1);
		if (rc == 0)
			rc = buf_adds(out, "\"");
	}
	return rc;
}

int driftsource_prom_query(enum driftsource_query q, const struct driftsource_config *cfg,
			   const struct driftsource_names *names, struct buf *out)
{
	struct buf sel;
	long w = (long)ceil(cfg->window_seconds);
	int rc;

	buf_init(&sel, 1024);
	rc = ds_prom_selector(cfg, &sel);
	if (w < 1)
		w = 1;
	switch (rc ? DRIFTSOURCE_Q_COUNT : q) {
	case DRIFTSOURCE_Q_FEATURES:
		rc = buf_addf(out, "sum by (feature, le) (increase(%s_bucket{%s}[%lds]))",
			      names->feature_value, buf_str(&sel), w);
		break;
	case DRIFTSOURCE_Q_CATEGORIES:
		rc = buf_addf(out, "sum by (feature, value) (increase(%s{%s}[%lds]))",
			      names->feature_category, buf_str(&sel), w);
		break;
	case DRIFTSOURCE_Q_LATENCY:
		rc = buf_addf(out, "histogram_quantile(0.99, sum by (le) (increase(%s_bucket{%s}[%lds])))",
			      names->latency, buf_str(&sel), w);
		break;
	case DRIFTSOURCE_Q_REQUESTS:
		rc = buf_addf(out, "sum by (code) (increase(%s{%s}[%lds]))", names->requests, buf_str(&sel),
			      w);
		break;
	case DRIFTSOURCE_Q_QUALITY:
		rc = buf_addf(out, "min(%s{%s})", names->quality, buf_str(&sel));
		break;
	default:
		rc = rc ? rc : SAQR_EINVAL;
		break;
	}
	buf_release(&sel);
	return rc;
}

char *driftsource_prom_url(const char *base, const char *promql)
{
	size_t n = strlen(base);
	struct buf b;

	buf_init(&b, 4 * DS_PROM_MAX_QUERY);
	while (n && base[n - 1] == '/')
		n--;
	if (buf_add(&b, base, n) || buf_adds(&b, "/api/v1/query?query=") || http_add_escaped(&b, promql))
		buf_release(&b);
	return b.data ? buf_detach(&b) : NULL;
}

/* ---- answers ---- */

static int ds_prom_value(const json_t *sample, double *out)
{
	const char *s = json_string_value(json_array_get(json_object_get(sample, "value"), 1));
	char *end;

	if (!s)
		return SAQR_EPARSE;
	*out = strtod(s, &end);
	return *end ? SAQR_EPARSE : 0;
}

struct ds_bucket {
	const char *feature;
	double le, v;
};

static int ds_bucket_cmp(const void *a, const void *b)
{
	const struct ds_bucket *x = a, *y = b;
	int c = strcmp(x->feature, y->feature);

	if (c)
		return c;
	return x->le < y->le ? -1 : x->le > y->le;
}

/* One feature's buckets b[0..n) (sorted by le) into a histogram; counts evened out so they
 * never go down (increase() extrapolates each bucket on its own). Skipped without +Inf. */
static int ds_prom_feature(struct driftsource_data *w, const struct ds_bucket *b, size_t n)
{
	struct driftsource_feature *f;
	int rc;

	if (!(isinf(b[n - 1].le) && b[n - 1].le > 0))
		return 0;
	rc = driftsource__feature_new(w, b[0].feature, false, &f);
	if (rc)
		return rc;
	f->hist.le = malloc(n * sizeof(double));
	f->hist.cum = malloc(n * sizeof(double));
	if (!f->hist.le || !f->hist.cum)
		return SAQR_ENOMEM;
	f->hist.n = n;
	for (size_t i = 0; i < n; i++) {
		double v = isfinite(b[i].v) && b[i].v > 0 ? b[i].v : 0;

		f->hist.le[i] = b[i].le;
		f->hist.cum[i] = i && v < f->hist.cum[i - 1] ? f->hist.cum[i - 1] : v;
	}
	f->hist.count = f->hist.cum[n - 1];
	f->hist.series = 1;
	return 0;
}

static int ds_prom_features(const json_t *result, struct driftsource_data *w)
{
	size_t n = json_array_size(result), m = 0, i, start;
	struct ds_bucket *b = calloc(n ? n : 1, sizeof(*b));
	json_t *s;
	int rc = 0;

	if (!b)
		return SAQR_ENOMEM;
	json_array_foreach(result, i, s)
	{
		const char *le = json_path_str(s, "metric.le", NULL);
		char *end;

		b[m].feature = json_path_str(s, "metric.feature", NULL);
		if (!b[m].feature || !le || ds_prom_value(s, &b[m].v))
			continue;
		b[m].le = strtod(le, &end);
		if (*end == '\0' && !isnan(b[m].le))
			m++;
	}
	qsort(b, m, sizeof(*b), ds_bucket_cmp);
	for (start = 0, i = 1; rc == 0 && i <= m; i++)
		if (i == m || strcmp(b[i].feature, b[start].feature) != 0) {
			rc = ds_prom_feature(w, b + start, i - start);
			start = i;
		}
	free(b);
	return rc;
}

static int ds_prom_categories(const json_t *result, struct driftsource_data *w)
{
	size_t i;
	json_t *s;
	int rc = 0;

	json_array_foreach(result, i, s)
	{
		const char *feature = json_path_str(s, "metric.feature", NULL);
		const char *value = json_path_str(s, "metric.value", NULL);
		struct driftsource_feature *f = feature ? driftsource__find(w, feature, true) : NULL;
		double v;

		if (!feature || !value || ds_prom_value(s, &v) || !isfinite(v))
			continue;
		if (!f)
			rc = driftsource__feature_new(w, feature, true, &f);
		if (rc == 0)
			rc = driftsource__count_add(&f->cats, &f->ncats, value, v > 0 ? v : 0,
						    DRIFTSOURCE_MAX_CATEGORIES);
		if (rc)
			break;
	}
	return rc;
}

static int ds_prom_codes(const json_t *result, struct driftsource_data *w)
{
	size_t i;
	json_t *s;
	int rc = 0;

	json_array_foreach(result, i, s)
	{
		double v;

		if (ds_prom_value(s, &v) || !isfinite(v))
			continue;
		rc = driftsource__count_add(&w->codes, &w->ncodes, json_path_str(s, "metric.code", ""),
					    v > 0 ? v : 0, 1000);
		if (rc)
			break;
		w->has_requests = true;
	}
	return rc;
}

/* The single value of an aggregated query, when finite. */
static bool ds_prom_scalar(const json_t *result, double *out)
{
	double v;

	if (json_array_size(result) != 1 || ds_prom_value(json_array_get(result, 0), &v) || !isfinite(v))
		return false;
	*out = v;
	return true;
}

int driftsource_prom_parse(enum driftsource_query q, const json_t *answer, struct driftsource_data *w,
			   char *err, size_t errlen)
{
	const json_t *result = json_path(answer, "data.result");
	int rc = 0;

	if (strcmp(json_path_str(answer, "status", ""), "success") != 0) {
		snprintf(err, errlen, "prometheus: %s: %s", json_path_str(answer, "errorType", "error"),
			 json_path_str(answer, "error", "the query failed"));
		return SAQR_EPARSE;
	}
	if (strcmp(json_path_str(answer, "data.resultType", ""), "vector") != 0 || !json_is_array(result)) {
		snprintf(err, errlen, "prometheus: the answer is not an instant vector");
		return SAQR_EPARSE;
	}
	switch (q) {
	case DRIFTSOURCE_Q_FEATURES:
		rc = ds_prom_features(result, w);
		break;
	case DRIFTSOURCE_Q_CATEGORIES:
		rc = ds_prom_categories(result, w);
		break;
	case DRIFTSOURCE_Q_LATENCY:
		w->has_latency_p99 = ds_prom_scalar(result, &w->latency_p99_seconds);
		break;
	case DRIFTSOURCE_Q_REQUESTS:
		rc = ds_prom_codes(result, w);
		break;
	case DRIFTSOURCE_Q_QUALITY:
		w->has_quality = ds_prom_scalar(result, &w->quality);
		break;
	default:
		rc = SAQR_EINVAL;
		break;
	}
	if (rc)
		snprintf(err, errlen, "prometheus: %s",
			 rc == SAQR_ETOOBIG ? "too many features or values" : saqr_strerror(rc));
	return rc;
}

/* Run one query and add its answer to w. */
static int ds_prom_run(enum driftsource_query q, const struct driftsource_config *cfg,
		       const struct driftsource_names *names, const struct driftsource_http *opts,
		       struct driftsource_data *w, char *err, size_t errlen)
{
	struct buf promql, body;
	char *url = NULL, why[256];
	json_t *answer = NULL;
	int rc;

	buf_init(&promql, DS_PROM_MAX_QUERY);
	buf_init(&body, DRIFTSOURCE_MAX_BODY);
	rc = driftsource_prom_query(q, cfg, names, &promql);
	if (rc == 0) {
		url = driftsource_prom_url(cfg->url, buf_str(&promql));
		rc = url ? 0 : SAQR_ENOMEM;
	}
	if (rc)
		snprintf(err, errlen, "prometheus: cannot build the query: %s", saqr_strerror(rc));
	if (rc == 0)
		rc = driftsource_http_get(url, opts, &body, err, errlen);
	/* Prometheus answers 400/422/503 with a JSON error worth quoting. */
	if (rc == 0 || rc == SAQR_EAPI) {
		int prc = SAQR_EPARSE;

		answer = json_parse_capped(buf_str(&body), body.len, DRIFTSOURCE_MAX_BODY, why, sizeof(why));
		if (answer)
			prc = driftsource_prom_parse(q, answer, w, err, errlen);
		else if (rc == 0)
			snprintf(err, errlen, "prometheus: the answer is not JSON: %s", why);
		if (rc == 0)
			rc = prc;
	}
	json_decref(answer);
	free(url);
	buf_release(&body);
	buf_release(&promql);
	return rc;
}

int driftsource_prometheus(const struct driftsource_config *cfg, const struct driftsource_names *names,
			   const struct driftsource_http *opts, struct driftsource_data *out, char *err,
			   size_t errlen)
{
	struct driftsource_http http = {.json = true};
	struct driftsource_data w;
	int rc = 0;

	if (opts) {
		http = *opts;
		http.json = true;
	}
	memset(&w, 0, sizeof(w));
	for (int q = 0; rc == 0 && q < DRIFTSOURCE_Q_COUNT; q++)
		rc = ds_prom_run((enum driftsource_query)q, cfg, names, &http, &w, err, errlen);
	if (rc) {
		driftsource_data_release(&w);
		return rc;
	}
	driftsource_finish(&w);
	w.seconds = cfg->window_seconds;
	*out = w;
	return 0;
}
