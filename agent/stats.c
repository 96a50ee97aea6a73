/* Fixed-size, lock-free counters and their text rendering. */
#include "agent/stats.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/metrics.h"

static const double st_latency_le[AGENT_LATENCY_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

static void st_dist_release(struct agent_dist *d)
{
	free((void *)d->counts);
	d->counts = NULL;
	d->n = 0;
}

static int st_dist_init(struct agent_dist *d, const struct agent_feature *f, const struct agent_dist *prev)
{
	size_t n = (f->type == AGENT_NUMERICAL ? f->nedges : f->ncategories) + 1;

	d->counts = calloc(n, sizeof(*d->counts));
	if (!d->counts)
		return SAQR_ENOMEM;
	d->n = n;
	atomic_init(&d->sum_bits, 0);
	if (prev && prev->n == n) {
		for (size_t i = 0; i < n; i++)
			atomic_store(&d->counts[i], atomic_load(&prev->counts[i]));
		atomic_store(&d->sum_bits, atomic_load(&prev->sum_bits));
	}
	return 0;
}

/* prev's distribution with f's definition, or NULL. */
static const struct agent_dist *st_prev_feature(const struct agent_stats *prev, const struct agent_feature *f)
{
	for (size_t i = 0; prev && i < prev->cfg->nfeatures; i++)
		if (agent_feature_same(&prev->cfg->features[i], f))
			return &prev->features[i];
	return NULL;
}

int agent_stats_new(const struct agent_config *cfg, const struct agent_stats *prev, struct agent_stats **out)
{
	struct agent_stats *s = calloc(1, sizeof(*s));
	int rc = 0;

	if (!s)
		return SAQR_ENOMEM;
	s->cfg = cfg;
	s->features = calloc(cfg->nfeatures ? cfg->nfeatures : 1, sizeof(*s->features));
	if (!s->features)
		rc = SAQR_ENOMEM;
	for (size_t i = 0; rc == 0 && i < cfg->nfeatures; i++)
		rc = st_dist_init(&s->features[i], &cfg->features[i],
				  st_prev_feature(prev, &cfg->features[i]));
	if (rc == 0 && cfg->predictions) {
		bool same = prev && prev->cfg->predictions &&
			    agent_feature_same(&prev->cfg->prediction, &cfg->prediction);

		rc = st_dist_init(&s->prediction, &cfg->prediction, same ? &prev->prediction : NULL);
	}
	if (rc) {
		agent_stats_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void agent_stats_free(struct agent_stats *s)
{
	if (!s)
		return;
	for (size_t i = 0; s->features && i < s->cfg->nfeatures; i++)
		st_dist_release(&s->features[i]);
	free(s->features);
	st_dist_release(&s->prediction);
	free(s);
}

static void st_add_double(_Atomic uint64_t *bits, double v)
{
	uint64_t old = atomic_load_explicit(bits, memory_order_relaxed), upd;
	double x;

	do {
		memcpy(&x, &old, sizeof(x));
		x += v;
		memcpy(&upd, &x, sizeof(upd));
	} while (!atomic_compare_exchange_weak_explicit(bits, &old, upd, memory_order_relaxed,
							memory_order_relaxed));
}

/* The first bucket whose bound is >= v (n edges: n means +Inf). */
static size_t st_bucket(const double *edges, size_t n, double v)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (edges[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static size_t st_category(const struct agent_feature *f, const char *v)
{
	size_t lo = 0, hi = f->ncategories;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(f->categories[mid], v);

		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return f->ncategories; /* __other__ */
}

void agent_dist_number(struct agent_dist *d, const struct agent_feature *f, double v)
{
	char text[32];

	if (!d->n || isnan(v))
		return;
	if (f->type == AGENT_CATEGORICAL) {
		snprintf(text, sizeof(text), "%.15g", v);
		agent_dist_string(d, f, text);
		return;
	}
	atomic_fetch_add_explicit(&d->counts[st_bucket(f->edges, f->nedges, v)], 1, memory_order_relaxed);
	st_add_double(&d->sum_bits, v);
}

bool agent_dist_string(struct agent_dist *d, const struct agent_feature *f, const char *v)
{
	char *end;
	double x;

	if (!d->n)
		return false;
	if (f->type == AGENT_CATEGORICAL) {
		atomic_fetch_add_explicit(&d->counts[st_category(f, v)], 1, memory_order_relaxed);
		return true;
	}
	x = strtod(v, &end);
	if (end == v || *end || !isfinite(x))
		return false;
	agent_dist_number(d, f, x);
	return true;
}

/* ---- rendering ---- */

/* The shortest text that reads back as the same double (le values must match the baseline's). */
static void st_number(double v, char *out, size_t outlen)
{
	snprintf(out, outlen, "%.15g", v);
	if (strtod(out, NULL) != v)
		snprintf(out, outlen, "%.17g", v);
}

static int st_render_histogram(const char *family, const struct agent_feature *f, const struct agent_dist *d,
			       struct buf *out)
{
	char name[2 * AGENT_MAX_NAME + 1], le[40], sum[40];
	uint64_t cum = 0, sum_bits = atomic_load(&d->sum_bits);
	double s;
	int rc = 0;

	metrics_escape_label(f->name, name, sizeof(name));
	for (size_t i = 0; i < d->n && rc == 0; i++) {
		cum += atomic_load_explicit(&d->counts[i], memory_order_relaxed);
		if (i < f->nedges)
			st_number(f->edges[i], le, sizeof(le));
		else
			snprintf(le, sizeof(le), "+Inf");
		rc = buf_addf(out, "%s_bucket{feature=\"%s\",le=\"%s\"} %llu\n", family, name, le,
			      (unsigned long long)cum);
	}
	memcpy(&s, &sum_bits, sizeof(s));
	st_number(s, sum, sizeof(sum));
	if (rc == 0)
		rc = buf_addf(out, "%s_sum{feature=\"%s\"} %s\n%s_count{feature=\"%s\"} %llu\n", family, name,
			      sum, family, name, (unsigned long long)cum);
	return rc;
}

static int st_render_categories(const char *family, const struct agent_feature *f, const struct agent_dist *d,
				struct buf *out)
{
	char name[2 * AGENT_MAX_NAME + 1], value[2 * AGENT_MAX_NAME + 1];
	int rc = 0;

	metrics_escape_label(f->name, name, sizeof(name));
	for (size_t i = 0; i < d->n && rc == 0; i++) {
		metrics_escape_label(i < f->ncategories ? f->categories[i] : AGENT_OTHER, value,
				     sizeof(value));
		rc = buf_addf(out, "%s{feature=\"%s\",value=\"%s\"} %llu\n", family, name, value,
			      (unsigned long long)atomic_load_explicit(&d->counts[i], memory_order_relaxed));
	}
	return rc;
}

/* One family: its header, then the series of every distribution of that type. */
static int st_render_family(const struct agent_stats *s, bool predictions, enum agent_ftype type,
			    struct buf *out)
{
	static const char *const names[2][2] = {{"saqr_feature_value", "saqr_feature_category_total"},
						{"saqr_prediction_value", "saqr_prediction_category_total"}};
	const char *family = names[predictions][type];
	bool numerical = type == AGENT_NUMERICAL;
	int rc = buf_addf(out, "# HELP %s %s\n# TYPE %s %s\n", family,
			  numerical ? "Values seen in inference payloads, by feature."
				    : "Categories seen in inference payloads, by feature and value.",
			  family, numerical ? "histogram" : "counter");
	size_t n = predictions ? (s->cfg->predictions ? 1 : 0) : s->cfg->nfeatures;

	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct agent_feature *f = predictions ? &s->cfg->prediction : &s->cfg->features[i];
		const struct agent_dist *d = predictions ? &s->prediction : &s->features[i];

		if (f->type != type)
			continue;
		rc = numerical ? st_render_histogram(family, f, d, out)
			       : st_render_categories(family, f, d, out);
	}
	return rc;
}

int agent_stats_render(const struct agent_stats *s, struct buf *out)
{
	int rc = st_render_family(s, false, AGENT_NUMERICAL, out);

	if (rc == 0)
		rc = st_render_family(s, false, AGENT_CATEGORICAL, out);
	if (rc == 0 && s->cfg->predictions)
		rc = st_render_family(s, true, s->cfg->prediction.type, out);
	return rc;
}

/* ---- traffic ---- */

void agent_traffic_request(struct agent_traffic *t, int code, double seconds)
{
	size_t b = st_bucket(st_latency_le, AGENT_LATENCY_BUCKETS, seconds);

	if (code >= 100 && code < 600)
		atomic_fetch_add_explicit(&t->codes[code], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&t->latency[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&t->latency_ns, (uint64_t)(seconds > 0 ? seconds * 1e9 : 0),
				  memory_order_relaxed);
}

static int st_render_latency(struct agent_traffic *t, struct buf *out)
{
	uint64_t cum = 0;
	char le[40];
	int rc = buf_adds(
	    out, "# HELP saqr_inference_latency_seconds Time from a request's head to the end of its "
		 "answer, through the agent.\n# TYPE saqr_inference_latency_seconds histogram\n");

	for (size_t i = 0; i <= AGENT_LATENCY_BUCKETS && rc == 0; i++) {
		cum += atomic_load_explicit(&t->latency[i], memory_order_relaxed);
		if (i < AGENT_LATENCY_BUCKETS)
			st_number(st_latency_le[i], le, sizeof(le));
		else
			snprintf(le, sizeof(le), "+Inf");
		rc = buf_addf(out, "saqr_inference_latency_seconds_bucket{le=\"%s\"} %llu\n", le,
			      (unsigned long long)cum);
	}
	if (rc == 0)
		rc = buf_addf(
		    out,
		    "saqr_inference_latency_seconds_sum %.9f\nsaqr_inference_latency_seconds_count %llu\n",
		    (double)atomic_load(&t->latency_ns) / 1e9, (unsigned long long)cum);
	return rc;
}

static int st_render_codes(struct agent_traffic *t, struct buf *out)
{
	int rc = buf_adds(out, "# HELP saqr_inference_requests_total Requests answered, by HTTP status.\n"
			       "# TYPE saqr_inference_requests_total counter\n");

	for (int c = 100; c < 600 && rc == 0; c++) {
		uint64_t n = atomic_load_explicit(&t->codes[c], memory_order_relaxed);

		if (n)
			rc = buf_addf(out, "saqr_inference_requests_total{code=\"%d\"} %llu\n", c,
				      (unsigned long long)n);
	}
	return rc;
}

static int st_render_agent(struct agent_traffic *t, struct buf *out)
{
	static const char *const results[AGENT_INSPECT_COUNT] = {"ok", "too_big", "malformed", "busy"};
	static const char *const reloads[AGENT_RELOAD_COUNT][2] = {
	    {"config", "ok"}, {"config", "error"}, {"tls", "ok"}, {"tls", "error"}};
	int rc =
	    buf_adds(out, "# HELP saqr_agent_inspections_total Inference payloads inspected, by direction "
			  "and result.\n# TYPE saqr_agent_inspections_total counter\n");

	for (int i = 0; i < AGENT_INSPECT_COUNT && rc == 0; i++)
		for (int dir = 0; dir < 2 && rc == 0; dir++)
			rc = buf_addf(out,
				      "saqr_agent_inspections_total{direction=\"%s\",result=\"%s\"} %llu\n",
				      dir ? "response" : "request", results[i],
				      (unsigned long long)atomic_load(&t->inspect[i][dir]));
	if (rc == 0)
		rc = buf_addf(
		    out,
		    "# HELP saqr_agent_invalid_values_total Feature values of the wrong type, not counted.\n"
		    "# TYPE saqr_agent_invalid_values_total counter\nsaqr_agent_invalid_values_total %llu\n"
		    "# HELP saqr_agent_upstream_errors_total Requests the model server could not answer.\n"
		    "# TYPE saqr_agent_upstream_errors_total counter\nsaqr_agent_upstream_errors_total %llu\n"
		    "# HELP saqr_agent_connections Client connections open.\n"
		    "# TYPE saqr_agent_connections gauge\nsaqr_agent_connections %lld\n"
		    "# HELP saqr_agent_reloads_total Configuration and certificate reloads.\n"
		    "# TYPE saqr_agent_reloads_total counter\n",
		    (unsigned long long)atomic_load(&t->invalid_values),
		    (unsigned long long)atomic_load(&t->upstream_errors),
		    (long long)atomic_load(&t->connections));
	for (int i = 0; i < AGENT_RELOAD_COUNT && rc == 0; i++)
		rc = buf_addf(out, "saqr_agent_reloads_total{what=\"%s\",result=\"%s\"} %llu\n",
			      reloads[i][0], reloads[i][1], (unsigned long long)atomic_load(&t->reloads[i]));
	return rc;
}

int agent_traffic_render(struct agent_traffic *t, struct buf *out)
{
	int rc = st_render_latency(t, out);

	if (rc == 0)
		rc = st_render_codes(t, out);
	if (rc == 0)
		rc = st_render_agent(t, out);
	return rc;
}
