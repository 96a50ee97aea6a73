/* Benchmark of one DriftPolicy evaluation of 100 features (50 numerical with 12 buckets, 50
 * categorical with 8 values; every method), from the text a model pod exports: CPU time per
 * evaluation for
 *   parse      the exposition text (what a scrape costs once the bytes are in),
 *   reading    extract the 100 features, latency, requests and quality from the parsed text,
 *   window     the increase over the previous reading, summed, p99 and error rate,
 *   score      every feature against its baseline and the SLOs (drifteval_run),
 *   status     the status with conditions (drifteval_status),
 * and the sum (everything after the bytes arrived). Usage: bench_drift_eval [iterations]. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "drift/promtext.h"
#include "operator/driftpolicy/drifteval.h"
#include "operator/driftpolicy/driftsource.h"

#define NUM 50
#define CAT 50
#define BUCKETS 12
#define VALUES 8

static const char *const methods_num[] = {"psi", "ks", "js", "wasserstein"};
static const char *const methods_cat[] = {"psi", "js", "chisquare"};

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Bucket upper bounds 1, 2, 4, ... */
static double edge(int b)
{
	return (double)(1 << b);
}

/* The exposition after `scale` batches of traffic shaped like the baseline and `drifted`
 * batches shifted by `shift` buckets (or values). */
static void exposition(struct buf *out, double scale, double drifted, int shift)
{
	buf_adds(out, "# HELP saqr_feature_value Input features.\n# TYPE saqr_feature_value histogram\n");
	for (int f = 0; f < NUM; f++) {
		double cum = 0;

		for (int b = 0; b < BUCKETS; b++) {
			int k = (b + shift) % BUCKETS;

			cum += scale * (10 + (b * 7 + f) % 13) + drifted * (10 + (k * 7 + f) % 13);
			if (b == BUCKETS - 1)
				buf_addf(out,
					 "saqr_feature_value_bucket{feature=\"num_%d\",le=\"+Inf\"} %.0f\n",
					 f, cum);
			else
				buf_addf(out,
					 "saqr_feature_value_bucket{feature=\"num_%d\",le=\"%g\"} %.0f\n", f,
					 edge(b), cum);
		}
		buf_addf(out,
			 "saqr_feature_value_sum{feature=\"num_%d\"} "
			 "%.1f\nsaqr_feature_value_count{feature=\"num_%d\"} %.0f\n",
			 f, cum * 3.5, f, cum);
	}
	buf_adds(out, "# TYPE saqr_feature_category_total counter\n");
	for (int f = 0; f < CAT; f++)
		for (int v = 0; v < VALUES; v++)
			buf_addf(
			    out, "saqr_feature_category_total{feature=\"cat_%d\",value=\"v%d\"} %.0f\n", f, v,
			    scale * (20 + (v * 5 + f) % 17) + drifted * (20 + ((v + shift) * 5 + f) % 17));
	buf_adds(out, "# TYPE saqr_inference_latency_seconds histogram\n");
	scale += drifted;
	buf_addf(out, "saqr_inference_latency_seconds_bucket{le=\"0.05\"} %.0f\n", scale * 900);
	buf_addf(out, "saqr_inference_latency_seconds_bucket{le=\"0.1\"} %.0f\n", scale * 980);
	buf_addf(out, "saqr_inference_latency_seconds_bucket{le=\"0.25\"} %.0f\n", scale * 995);
	buf_addf(out, "saqr_inference_latency_seconds_bucket{le=\"+Inf\"} %.0f\n", scale * 1000);
	buf_addf(out, "saqr_inference_latency_seconds_count %.0f\n", scale * 1000);
	buf_addf(out,
		 "# TYPE saqr_inference_requests_total counter\n"
		 "saqr_inference_requests_total{code=\"200\"} "
		 "%.0f\nsaqr_inference_requests_total{code=\"500\"} %.0f\n"
		 "# TYPE saqr_model_quality gauge\nsaqr_model_quality 0.93\n",
		 scale * 995, scale * 5);
}

/* The policy: every feature with its baseline (the first batch's shape). */
static json_t *policy(void)
{
	json_t *feats = json_array();

	for (int f = 0; f < NUM; f++) {
		json_t *e = json_array(), *c = json_array();

		for (int b = 0; b < BUCKETS; b++) {
			if (b < BUCKETS - 1)
				json_array_append_new(e, json_real(edge(b)));
			json_array_append_new(c, json_integer(10 + (b * 7 + f) % 13));
		}
		json_array_append_new(feats, json_pack("{s:o, s:s, s:s, s:{s:{s:o, s:o}}}", "name",
						       json_sprintf("num_%d", f), "type", "numerical",
						       "method", methods_num[f % 4], "baseline", "bins",
						       "edges", e, "counts", c));
	}
	for (int f = 0; f < CAT; f++) {
		json_t *cats = json_object();

		for (int v = 0; v < VALUES; v++) {
			char k[16];

			snprintf(k, sizeof(k), "v%d", v);
			json_object_set_new(cats, k, json_integer(20 + (v * 5 + f) % 17));
		}
		json_array_append_new(feats,
				      json_pack("{s:o, s:s, s:s, s:{s:o}}", "name", json_sprintf("cat_%d", f),
						"type", "categorical", "method", methods_cat[f % 3],
						"baseline", "categories", cats));
	}
	return json_pack("{s:{s:s, s:s, s:I}, s:{s:s, s:o, s:{s:i, s:i, s:f}}}", "metadata", "name", "bench",
			 "namespace", "bench", "generation", (json_int_t)1, "spec", "interval", "5m",
			 "features", feats, "slo", "latencyP99Ms", 250, "errorRatePercent", 1, "minQuality",
			 0.9);
}

struct times {
	double parse, reading, window, score, status;
};

static int one_evaluation(const struct buf *text, const struct driftsource_data *prev, const json_t *dp,
			  const json_t *prev_status, struct times *t)
{
	struct driftsource_names names;
	struct promtext *pt = NULL;
	struct driftsource_data cur, w;
	struct drifteval_result r;
	struct drifteval_input in = {.dp = dp, .window = &w};
	struct drifteval_report rep = {.state = DRIFTEVAL_EVALUATED,
				       .dp = dp,
				       .result = &r,
				       .window_seconds = 300,
				       .evaluated_at = "2026-01-10T10:05:00Z",
				       .generation = 1};
	json_t *st = NULL;
	char err[256];
	double t0 = cpu_s(), t1, t2, t3, t4, t5;
	int rc;

	driftsource_names_from_spec(dp, &names);
	rc = promtext_parse(text->data, text->len, 0, &pt, err, sizeof(err));
	t1 = cpu_s();
	rc = rc ? rc : driftsource_extract(pt, &names, &cur, err, sizeof(err));
	t2 = cpu_s();
	rc = rc ? rc : driftsource_increase(prev, &cur, &w);
	if (rc == 0)
		driftsource_finish(&w);
	t3 = cpu_s();
	rc = rc ? rc : drifteval_run(&in, &r);
	t4 = cpu_s();
	rc = rc ? rc : drifteval_status(prev_status, &rep, "2026-01-10T10:05:00Z", &st);
	t5 = cpu_s();
	if (rc == 0 && (r.nscored != NUM + CAT || !r.drift)) {
		fprintf(stderr, "bench: scored %zu features, drift %d: %s\n", r.nscored, r.drift, r.problems);
		rc = -1;
	}
	t->parse += t1 - t0;
	t->reading += t2 - t1;
	t->window += t3 - t2;
	t->score += t4 - t3;
	t->status += t5 - t4;
	json_decref(st);
	drifteval_result_release(&r);
	driftsource_data_release(&w);
	driftsource_data_release(&cur);
	promtext_free(pt);
	return rc;
}

static int read_prev(const struct buf *text, const json_t *dp, struct driftsource_data *out)
{
	struct driftsource_names names;
	struct promtext *pt = NULL;
	char err[256];
	int rc;

	driftsource_names_from_spec(dp, &names);
	rc = promtext_parse(text->data, text->len, 0, &pt, err, sizeof(err));
	rc = rc ? rc : driftsource_extract(pt, &names, out, err, sizeof(err));
	promtext_free(pt);
	if (rc)
		fprintf(stderr, "bench: %s\n", err);
	return rc;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 2000;
	struct buf t0, t1;
	struct driftsource_data prev;
	struct times t = {0};
	json_t *dp = policy(), *status = json_object();
	double total;

	buf_init(&t0, 1 << 24);
	buf_init(&t1, 1 << 24);
	exposition(&t0, 100, 0, 0);
	exposition(&t1, 100, 100, 3); /* one window later: a drifted batch */
	if (n < 1 || read_prev(&t0, dp, &prev))
		return 1;
	for (long i = 0; i < n; i++)
		if (one_evaluation(&t1, &prev, dp, status, &t)) {
			fprintf(stderr, "bench: evaluation failed\n");
			return 1;
		}
	total = t.reading + t.window + t.score + t.status;
	printf("drift evaluation, %d features (%d numerical x %d buckets, %d categorical x %d values), %zu "
	       "bytes of "
	       "exposition, %ld runs\n",
	       NUM + CAT, NUM, BUCKETS, CAT, VALUES, t1.len, n);
	printf("  %-34s %9.1f us\n", "parse the exposition text", 1e6 * t.parse / (double)n);
	printf("  %-34s %9.1f us\n", "reading (extract 100 features)", 1e6 * t.reading / (double)n);
	printf("  %-34s %9.1f us\n", "window (increase, p99, errors)", 1e6 * t.window / (double)n);
	printf("  %-34s %9.1f us\n", "score 100 features + SLOs", 1e6 * t.score / (double)n);
	printf("  %-34s %9.1f us\n", "status (conditions, features)", 1e6 * t.status / (double)n);
	printf("  %-34s %9.1f us   (target <= 1000 us)\n", "evaluation from parsed text",
	       1e6 * total / (double)n);
	printf("  %-34s %9.1f us\n", "evaluation including the parse", 1e6 * (total + t.parse) / (double)n);
	driftsource_data_release(&prev);
	json_decref(dp);
	json_decref(status);
	buf_release(&t0);
	buf_release(&t1);
	return 0;
}
