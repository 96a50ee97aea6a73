/* One DriftPolicy evaluation: per-feature drift scores against the baselines (spec bins or
 * categories, a ConfigMap, or the captured window) and the SLO checks, from a window of
 * metrics. Pure: the controller reads the sources and writes the status. */
#include "operator/driftpolicy/drifteval.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/jsonutil.h"

#define DE_MAX_BINS 202 /* a baseline has at most 200 edges: 201 buckets */

static void de_msg(char *out, size_t outlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void de_msg(char *out, size_t outlen, const char *fmt, ...)
{
	va_list ap;

	if (!out || !outlen)
		return;
	va_start(ap, fmt);
	vsnprintf(out, outlen, fmt, ap);
	va_end(ap);
}

/* ---- durations ---- */

/* One "<number><unit>" term at *s; advances *s. */
static int de_duration_term(const char **s, double *out)
{
	const char *p = *s;
	double v = 0, scale = 1;
	bool digits = false, frac = false;

	for (; (*p >= '0' && *p <= '9') || (*p == '.' && !frac); p++) {
		if (*p == '.') {
			frac = true;
			continue;
		}
		digits = true;
		if (frac)
			v += (*p - '0') * (scale /= 10);
		else
			v = v * 10 + (*p - '0');
	}
	if (!digits)
		return SAQR_EINVAL;
	if (strncmp(p, "ms", 2) == 0)
		scale = 0.001;
	else if (*p == 's')
		scale = 1;
	else if (*p == 'm')
		scale = 60;
	else if (*p == 'h')
		scale = 3600;
	else
		return SAQR_EINVAL;
	v *= scale;
	*s = p + (scale == 0.001 ? 2 : 1);
	*out = v;
	return 0;
}

int drifteval_duration(const char *s, double *out)
{
	double total = 0, term;

	if (!s || !*s)
		return SAQR_EINVAL;
	while (*s) {
		if (de_duration_term(&s, &term))
			return SAQR_EINVAL;
		total += term;
	}
	*out = total;
	return 0;
}

double drifteval_interval(const json_t *dp)
{
	double v;

	if (drifteval_duration(json_path_str(dp, "spec.interval", "5m"), &v))
		v = DRIFTEVAL_DEFAULT_INTERVAL;
	return v < DRIFTEVAL_MIN_INTERVAL ? DRIFTEVAL_MIN_INTERVAL : v;
}

/* ---- baselines ---- */

void drifteval_baseline_release(struct drifteval_baseline *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->ncats; i++)
		free(b->cats[i]);
	free(b->cats);
	free(b->edges);
	free(b->counts);
	memset(b, 0, sizeof(*b));
}

static bool de_count_ok(const json_t *v)
{
	return json_is_number(v) && isfinite(json_number_value(v)) && json_number_value(v) >= 0;
}

static int de_parse_categories(const json_t *cats, struct drifteval_baseline *b, char *err, size_t errlen)
{
	size_t n = json_object_size(cats), i = 0;
	const char *k;
	json_t *v;

	if (n == 0) {
		de_msg(err, errlen, "categories is empty");
		return SAQR_EINVAL;
	}
	b->categorical = true;
	b->cats = calloc(n, sizeof(*b->cats));
	b->counts = calloc(n, sizeof(double));
	if (!b->cats || !b->counts)
		return SAQR_ENOMEM;
	json_object_foreach((json_t *)cats, k, v)
	{
		if (!de_count_ok(v)) {
			de_msg(err, errlen, "category %s: the count must be a number >= 0", k);
			return SAQR_EINVAL;
		}
		b->cats[i] = strdup(k);
		if (!b->cats[i])
			return SAQR_ENOMEM;
		b->counts[i++] = json_number_value(v);
		b->ncats = i;
	}
	return 0;
}

static int de_parse_bins(const json_t *edges, const json_t *counts, struct drifteval_baseline *b, char *err,
			 size_t errlen)
{
	size_t n = json_array_size(edges);
	double total = 0;

	if (n == 0 || n >= DE_MAX_BINS || json_array_size(counts) != n + 1) {
		de_msg(err, errlen, "bins need 1-%d edges and one count more than edges", DE_MAX_BINS - 2);
		return SAQR_EINVAL;
	}
	b->edges = malloc(n * sizeof(double));
	b->counts = malloc((n + 1) * sizeof(double));
	if (!b->edges || !b->counts)
		return SAQR_ENOMEM;
	b->nedges = n;
	for (size_t i = 0; i <= n; i++) {
		const json_t *c = json_array_get(counts, i), *e = json_array_get(edges, i);

		if (!de_count_ok(c) || (i < n && (!json_is_number(e) || !isfinite(json_number_value(e))))) {
			de_msg(err, errlen, "bins: edges and counts must be finite numbers, counts >= 0");
			return SAQR_EINVAL;
		}
		b->counts[i] = json_number_value(c);
		total += b->counts[i];
		if (i < n)
			b->edges[i] = json_number_value(e);
		if (i > 0 && i < n && !(b->edges[i] > b->edges[i - 1])) {
			de_msg(err, errlen, "bins: edges must increase");
			return SAQR_EINVAL;
		}
	}
	if (!(total > 0)) {
		de_msg(err, errlen, "bins: the counts are all zero");
		return SAQR_EINVAL;
	}
	return 0;
}

int drifteval_baseline_parse(const json_t *v, struct drifteval_baseline *out, char *err, size_t errlen)
{
	struct drifteval_baseline b;
	const json_t *cats = json_object_get(v, "categories");
	int rc;

	memset(&b, 0, sizeof(b));
	if (json_is_object(cats))
		rc = de_parse_categories(cats, &b, err, errlen);
	else if (json_is_array(json_object_get(v, "edges")))
		rc =
		    de_parse_bins(json_object_get(v, "edges"), json_object_get(v, "counts"), &b, err, errlen);
	else {
		de_msg(err, errlen,
		       "a baseline is {\"edges\": [...], \"counts\": [...]} or {\"categories\": {...}}");
		rc = SAQR_EINVAL;
	}
	if (rc == SAQR_ENOMEM)
		de_msg(err, errlen, "out of memory");
	if (rc) {
		drifteval_baseline_release(&b);
		return rc;
	}
	*out = b;
	return 0;
}

/* The baseline of a spec feature (or of a captured one when spec is NULL). */
static int de_feature_baseline(const struct drifteval_input *in, const json_t *spec, const char *name,
			       struct drifteval_baseline *out, char *err, size_t errlen)
{
	const json_t *b = json_object_get(spec, "baseline"), *doc;
	const char *cm, *key, *text;
	int rc;

	if (json_is_object(json_object_get(b, "bins")))
		return drifteval_baseline_parse(json_object_get(b, "bins"), out, err, errlen);
	if (json_is_object(json_object_get(b, "categories")))
		return drifteval_baseline_parse(b, out, err, errlen);
	if (json_is_object(json_object_get(b, "configMapRef"))) {
		cm = json_path_str(b, "configMapRef.name", "");
		key = json_path_str(b, "configMapRef.key", "");
		text = json_string_value(json_object_get(json_object_get(in->configmaps, cm), key));
		if (!text) {
			de_msg(err, errlen, "ConfigMap %s has no key %s", cm, key);
			return SAQR_EINVAL;
		}
		doc = json_loads(text, 0, NULL);
		rc = doc ? drifteval_baseline_parse(doc, out, err, errlen) : SAQR_EINVAL;
		if (!doc)
			de_msg(err, errlen, "ConfigMap %s key %s is not JSON", cm, key);
		json_decref((json_t *)doc);
		return rc;
	}
	doc = json_object_get(json_object_get(in->captured, "features"), name);
	if (!doc) {
		de_msg(err, errlen, "no baseline captured yet");
		return SAQR_EINVAL;
	}
	return drifteval_baseline_parse(doc, out, err, errlen);
}

/* ---- scoring ---- */

static bool de_same_edge(double a, double b)
{
	return fabs(a - b) <= 1e-9 * fmax(1.0, fabs(a));
}

static void de_score(struct drifteval_feature *f, const double *edges, const double *ref, const double *cur,
		     size_t k)
{
	struct drift_score sc;
	char why[200];
	double total = 0;

	for (size_t i = 0; i < k; i++)
		total += cur[i];
	if (!(total > 0)) {
		de_msg(f->problem, sizeof(f->problem), "no observations in the window");
		return;
	}
	if (drift_score_binned(f->method, edges, ref, cur, k, -1.0, &sc, why, sizeof(why))) {
		de_msg(f->problem, sizeof(f->problem), "%s", why);
		f->missing = true;
		return;
	}
	f->scored = true;
	f->score = isfinite(sc.score) ? sc.score : (sc.score > 0 ? 1e308 : 0);
	f->drifted = drift_is_drifted(f->method, sc.score, f->threshold);
}

static void de_score_numerical(struct drifteval_feature *f, const struct drifteval_baseline *b,
			       const struct promtext_hist *h)
{
	double edges[DE_MAX_BINS + 1], cur[DE_MAX_BINS];
	size_t k = h->n;

	if (k != b->nedges + 1 || k > DE_MAX_BINS) {
		de_msg(f->problem, sizeof(f->problem), "the metric has %zu buckets, the baseline %zu", k,
		       b->nedges + 1);
		f->missing = true;
		return;
	}
	if (promtext_hist_bins(h, edges, cur)) {
		de_msg(f->problem, sizeof(f->problem), "the histogram's buckets are not cumulative");
		f->missing = true;
		return;
	}
	for (size_t i = 0; i < b->nedges; i++) {
		if (!de_same_edge(edges[i + 1], b->edges[i])) {
			de_msg(f->problem, sizeof(f->problem), "bucket le=%g differs from baseline edge %g",
			       edges[i + 1], b->edges[i]);
			f->missing = true;
			return;
		}
	}
	de_score(f, edges, b->counts, cur, k);
}

/* Counts of the baseline's categories, then of new ones seen in the window. */
static void de_score_categorical(struct drifteval_feature *f, const struct drifteval_baseline *b,
				 const struct driftsource_feature *w)
{
	size_t cap = b->ncats + (w ? w->ncats : 0), k = b->ncats;
	double *ref = calloc(cap ? cap : 1, sizeof(double)), *cur = calloc(cap ? cap : 1, sizeof(double));

	if (!ref || !cur) {
		de_msg(f->problem, sizeof(f->problem), "out of memory");
		f->missing = true;
		goto out;
	}
	memcpy(ref, b->counts, b->ncats * sizeof(double));
	for (size_t i = 0; w && i < w->ncats; i++) {
		size_t j;

		for (j = 0; j < b->ncats && strcmp(b->cats[j], w->cats[i].key) != 0; j++)
			;
		cur[j < b->ncats ? j : k++] += w->cats[i].value;
	}
	de_score(f, NULL, ref, cur, k);
out:
	free(ref);
	free(cur);
}

/* Whether the window has any feature at all: then an absent one is a real gap, not idleness. */
static bool de_window_has_features(const struct driftsource_data *w)
{
	return w && w->nfeatures > 0;
}

static void de_feature(const struct drifteval_input *in, const json_t *spec, const char *name,
		       bool categorical, struct drifteval_feature *f)
{
	struct drifteval_baseline b;
	const struct driftsource_feature *w = driftsource_find(in->window, name, categorical);
	const json_t *thr = json_object_get(spec, "threshold");
	char why[200];

	snprintf(f->name, sizeof(f->name), "%s", name);
	if (drift_method_parse(json_path_str(spec, "method", "psi"), &f->method))
		f->method = DRIFT_PSI;
	f->threshold = json_is_number(thr) ? json_number_value(thr) : drift_default_threshold(f->method);
	if (categorical && (f->method == DRIFT_KS || f->method == DRIFT_WASSERSTEIN)) {
		de_msg(f->problem, sizeof(f->problem), "%s needs a numerical feature",
		       drift_method_name(f->method));
		f->missing = true;
		return;
	}
	if (de_feature_baseline(in, spec, name, &b, why, sizeof(why))) {
		de_msg(f->problem, sizeof(f->problem), "baseline: %s", why);
		f->missing = true;
		return;
	}
	if (b.categorical != categorical) {
		de_msg(f->problem, sizeof(f->problem), "the baseline is %s, the feature is not",
		       b.categorical ? "categorical" : "numerical");
		f->missing = true;
	} else if (!w) {
		de_msg(f->problem, sizeof(f->problem), "%s",
		       de_window_has_features(in->window)
			   ? "not in the metrics (no series with this feature label)"
			   : "no observations in the window");
		f->missing = de_window_has_features(in->window);
	} else if (categorical) {
		de_score_categorical(f, &b, w);
	} else {
		de_score_numerical(f, &b, &w->hist);
	}
	drifteval_baseline_release(&b);
}

/* ---- SLOs ---- */

static void de_slos(const json_t *dp, const struct driftsource_data *w, struct drifteval_result *r)
{
	const json_t *slo = json_path(dp, "spec.slo");
	const json_t *lat = json_object_get(slo, "latencyP99Ms"),
		     *err = json_object_get(slo, "errorRatePercent");
	const json_t *q = json_object_get(slo, "minQuality");

	if (w->has_latency_p99) {
		r->has_latency = true;
		r->latency_p99_ms = w->latency_p99_seconds * 1000.0;
		r->latency_breach = json_is_number(lat) && r->latency_p99_ms > json_number_value(lat);
	}
	if (w->has_requests && w->requests > 0) {
		r->has_error_rate = true;
		r->error_rate_percent = 100.0 * w->errors / w->requests;
		r->error_breach = json_is_number(err) && r->error_rate_percent > json_number_value(err);
	}
	if (w->has_quality) {
		r->has_quality = true;
		r->quality = w->quality;
		r->quality_breach = json_is_number(q) && w->quality < json_number_value(q);
	}
	r->slo_breach = r->latency_breach || r->error_breach || r->quality_breach;
}

/* ---- the result ---- */

void drifteval_result_release(struct drifteval_result *r)
{
	if (!r)
		return;
	free(r->features);
	memset(r, 0, sizeof(*r));
}

static void de_append(struct buf *b, const char *sep, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Append to a capped line; what does not fit is dropped (the buffer stays valid). */
static void de_append(struct buf *b, const char *sep, const char *fmt, ...)
{
	va_list ap;
	size_t len = b->len;

	if (b->len && buf_adds(b, sep))
		return;
	va_start(ap, fmt);
	if (buf_vaddf(b, fmt, ap)) {
		b->len = len;
		if (b->data)
			b->data[len] = '\0';
	}
	va_end(ap);
}

static void de_describe(struct drifteval_result *r, const json_t *dp)
{
	struct buf s, p;

	buf_init(&s, DRIFTEVAL_SUMMARY_MAX - 1);
	buf_init(&p, DRIFTEVAL_MESSAGE_MAX - 1);
	for (size_t i = 0; i < r->nfeatures; i++) {
		const struct drifteval_feature *f = &r->features[i];
		bool test = drift_method_is_test(f->method);

		if (f->drifted)
			de_append(&s, ", ", "%s %s %s%.4g %s %.4g", f->name, drift_method_name(f->method),
				  test ? "p=" : "", f->score, test ? "<" : ">=", f->threshold);
		if (f->missing)
			de_append(&p, "; ", "%s: %s", f->name, f->problem);
	}
	if (r->drift)
		snprintf(r->drift_summary, sizeof(r->drift_summary), "drift in %zu of %zu features: %s",
			 r->ndrifted, r->nfeatures, buf_str(&s));
	buf_reset(&s);
	if (r->latency_breach)
		de_append(&s, "; ", "latency p99 %.1f ms > %g ms", r->latency_p99_ms,
			  json_number_value(json_path(dp, "spec.slo.latencyP99Ms")));
	if (r->error_breach)
		de_append(&s, "; ", "error rate %.2f%% > %g%%", r->error_rate_percent,
			  json_number_value(json_path(dp, "spec.slo.errorRatePercent")));
	if (r->quality_breach)
		de_append(&s, "; ", "quality %.4g < %g", r->quality,
			  json_number_value(json_path(dp, "spec.slo.minQuality")));
	snprintf(r->slo_summary, sizeof(r->slo_summary), "%s", buf_str(&s));
	buf_reset(&s);
	if (r->drift_summary[0])
		de_append(&s, "; ", "%s", r->drift_summary);
	if (r->slo_summary[0])
		de_append(&s, "; ", "%s", r->slo_summary);
	snprintf(r->summary, sizeof(r->summary), "%s", buf_str(&s));
	snprintf(r->problems, sizeof(r->problems), "%s", buf_str(&p));
	buf_release(&s);
	buf_release(&p);
}

/* The features to score: the spec's, or (capture without a list) every captured one. */
static size_t de_feature_count(const struct drifteval_input *in, const json_t *specs)
{
	if (json_array_size(specs) > 0)
		return json_array_size(specs);
	return json_object_size(json_object_get(in->captured, "features"));
}

static void de_features(const struct drifteval_input *in, const json_t *specs, struct drifteval_result *r)
{
	const json_t *captured = json_object_get(in->captured, "features");
	const char *name;
	json_t *spec;
	size_t i = 0;

	if (json_array_size(specs) > 0) {
		json_array_foreach(specs, i, spec)
		{
			bool cat = strcmp(json_path_str(spec, "type", "numerical"), "categorical") == 0;

			de_feature(in, spec, json_path_str(spec, "name", ""), cat, &r->features[i]);
		}
		return;
	}
	json_object_foreach((json_t *)captured, name, spec)
	{
		bool cat = json_is_object(json_object_get(spec, "categories"));

		de_feature(in, NULL, name, cat, &r->features[i++]);
	}
}

int drifteval_run(const struct drifteval_input *in, struct drifteval_result *out)
{
	const json_t *specs = json_path(in->dp, "spec.features");
	struct drifteval_result r;
	size_t n = de_feature_count(in, specs);

	memset(&r, 0, sizeof(r));
	r.features = calloc(n ? n : 1, sizeof(*r.features));
	if (!r.features)
		return SAQR_ENOMEM;
	r.nfeatures = n;
	de_features(in, specs, &r);
	for (size_t i = 0; i < n; i++) {
		r.nscored += r.features[i].scored;
		r.ndrifted += r.features[i].drifted;
		r.nmissing += r.features[i].missing;
	}
	r.drift = r.ndrifted > 0;
	de_slos(in->dp, in->window, &r);
	de_describe(&r, in->dp);
	*out = r;
	return 0;
}

/* ---- capture ---- */

static bool de_spec_has_own_baseline(const json_t *spec)
{
	return json_is_object(json_object_get(spec, "baseline"));
}

bool drifteval_needs_capture(const json_t *dp, const json_t *captured)
{
	const json_t *specs = json_path(dp, "spec.features"), *have = json_object_get(captured, "features");
	size_t i;
	json_t *spec;
	bool present;

	if (!json_path_bool(dp, "spec.baseline.capture", false, &present))
		return false;
	if (json_array_size(specs) == 0)
		return json_object_size(have) == 0;
	json_array_foreach(specs, i,
			   spec) if (!de_spec_has_own_baseline(spec) &&
				     !json_object_get(have, json_path_str(spec, "name", ""))) return true;
	return false;
}

static json_t *de_capture_feature(const struct driftsource_feature *w)
{
	double edges[DE_MAX_BINS + 1], counts[DE_MAX_BINS], total = 0;
	json_t *e, *c;

	if (w->categorical) {
		json_t *cats = json_object();

		for (size_t i = 0; cats && i < w->ncats; i++)
			json_object_set_new(cats, w->cats[i].key, json_real(w->cats[i].value));
		return cats ? json_pack("{s:o}", "categories", cats) : NULL;
	}
	if (w->hist.n < 2 || w->hist.n > DE_MAX_BINS || promtext_hist_bins(&w->hist, edges, counts))
		return NULL;
	e = json_array();
	c = json_array();
	for (size_t i = 0; e && c && i < w->hist.n; i++) {
		if (i + 1 < w->hist.n)
			json_array_append_new(e, json_real(edges[i + 1]));
		json_array_append_new(c, json_real(counts[i]));
		total += counts[i];
	}
	if (!(total > 0)) {
		json_decref(e);
		json_decref(c);
		return NULL;
	}
	return json_pack("{s:o, s:o}", "edges", e, "counts", c);
}

static bool de_observed(const struct driftsource_feature *w)
{
	double total = 0;

	if (!w)
		return false;
	if (!w->categorical)
		return w->hist.n > 0 && w->hist.cum[w->hist.n - 1] > 0;
	for (size_t i = 0; i < w->ncats; i++)
		total += w->cats[i].value;
	return total > 0;
}

/* Capture w into feats under name; SAQR_EEMPTY when it saw nothing. */
static int de_capture_one(json_t *feats, const char *name, const struct driftsource_feature *w, char *err,
			  size_t errlen)
{
	json_t *b;

	if (!de_observed(w)) {
		de_msg(err, errlen, "feature %s had no observations in the window", name);
		return SAQR_EEMPTY;
	}
	b = de_capture_feature(w);
	if (!b) {
		de_msg(err, errlen, "feature %s: its histogram cannot be a baseline", name);
		return SAQR_EEMPTY;
	}
	return json_object_set_new(feats, name, b) ? SAQR_ENOMEM : 0;
}

int drifteval_capture(const json_t *dp, const struct driftsource_data *window, json_t **out, char *err,
		      size_t errlen)
{
	const json_t *specs = json_path(dp, "spec.features");
	json_t *feats = json_object(), *spec;
	size_t i;
	int rc = feats ? 0 : SAQR_ENOMEM;

	json_array_foreach(specs, i, spec)
	{
		bool cat = strcmp(json_path_str(spec, "type", "numerical"), "categorical") == 0;
		const char *name = json_path_str(spec, "name", "");

		if (rc == 0 && !de_spec_has_own_baseline(spec))
			rc = de_capture_one(feats, name, driftsource_find(window, name, cat), err, errlen);
	}
	for (i = 0; rc == 0 && json_array_size(specs) == 0 && i < window->nfeatures; i++)
		if (de_observed(&window->features[i]) && json_object_size(feats) < DRIFTEVAL_MAX_FEATURES)
			rc = de_capture_one(feats, window->features[i].name, &window->features[i], err,
					    errlen);
	if (rc == 0 && json_object_size(feats) == 0) {
		de_msg(err, errlen, "no feature had observations in the window");
		rc = SAQR_EEMPTY;
	}
	if (rc) {
		json_decref(feats);
		return rc;
	}
	*out = json_pack("{s:o}", "features", feats);
	return *out ? 0 : SAQR_ENOMEM;
}
