/* Micro-benchmark of one DriftPolicy evaluation of 100 features: parse a /metrics
 * scrape (Prometheus text), then per feature take the histogram from this scrape and
 * the previous one, their increase, its bins, and PSI, JS and binned KS against a
 * baseline; plus the p99 latency and the 5xx ratio. Prints the CPU time per
 * evaluation (best and median of many runs), with and without the parse.
 *   bench_eval [iterations] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "drift/promtext.h"
#include "drift/stats.h"

#define FEATURES 100
#define BUCKETS 20 /* finite bounds; +Inf makes 21 */

static double cpu_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* A scrape: 100 feature histograms, a latency histogram, a requests counter. */
static char *scrape(double scale, size_t *len)
{
	struct buf b;
	double cum;
	int f, i;

	buf_init(&b, 1 << 24);
	buf_adds(&b, "# HELP saqr_feature_value Model input values.\n# TYPE saqr_feature_value histogram\n");
	for (f = 0; f < FEATURES; f++) {
		cum = 0;
		for (i = 0; i < BUCKETS; i++) {
			cum += scale * (100 + 37 * ((i * 7 + f) % 11) + (f % 10 == 0 ? 20.0 * i : 0.0));
			buf_addf(
			    &b,
			    "saqr_feature_value_bucket{feature=\"f%03d\",model=\"churn\",le=\"%g\"} %.0f\n",
			    f, -2.0 + 0.2 * i, cum);
		}
		buf_addf(&b,
			 "saqr_feature_value_bucket{feature=\"f%03d\",model=\"churn\",le=\"+Inf\"} %.0f\n", f,
			 cum + 50 * scale);
		buf_addf(&b, "saqr_feature_value_sum{feature=\"f%03d\",model=\"churn\"} %.1f\n", f,
			 cum * 0.3);
		buf_addf(&b, "saqr_feature_value_count{feature=\"f%03d\",model=\"churn\"} %.0f\n", f,
			 cum + 50 * scale);
	}
	buf_adds(&b, "# TYPE saqr_inference_latency_seconds histogram\n");
	for (i = 0, cum = 0; i < 12; i++) {
		cum += scale * (4000 >> (i / 2));
		buf_addf(&b, "saqr_inference_latency_seconds_bucket{le=\"%g\"} %.0f\n", 0.005 * (1 << i),
			 cum);
	}
	buf_addf(&b, "saqr_inference_latency_seconds_bucket{le=\"+Inf\"} %.0f\n", cum + scale);
	buf_addf(&b,
		 "# TYPE saqr_inference_requests_total counter\n"
		 "saqr_inference_requests_total{code=\"200\"} %.0f\n"
		 "saqr_inference_requests_total{code=\"503\"} %.0f\n",
		 scale * 10000, scale * 12);
	*len = b.len;
	return buf_detach(&b);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* One evaluation against an already parsed previous scrape; returns drifted features. */
static int evaluate(const struct promtext *prev, const struct promtext *cur,
		    double base[FEATURES][BUCKETS + 1])
{
	struct promtext_label filter[2] = {{"feature", NULL}, {"model", "churn"}};
	struct promtext_hist hp, hc, inc;
	double edges[BUCKETS + 2], counts[BUCKETS + 1], psi, js, p99, ratio;
	struct drift_test ks;
	char name[16];
	int f, drifted = 0;

	for (f = 0; f < FEATURES; f++) {
		snprintf(name, sizeof(name), "f%03d", f);
		filter[0].value = name;
		if (promtext_histogram(prev, "saqr_feature_value", filter, 2, &hp, NULL, 0) ||
		    promtext_histogram(cur, "saqr_feature_value", filter, 2, &hc, NULL, 0) ||
		    promtext_increase(&hp, &hc, &inc, NULL) || promtext_hist_bins(&inc, edges, counts) ||
		    drift_psi(base[f], counts, BUCKETS + 1, &psi, NULL, 0) ||
		    drift_js(base[f], counts, BUCKETS + 1, &js, NULL, 0) ||
		    drift_ks_binned(base[f], counts, BUCKETS + 1, &ks, NULL, 0)) {
			fprintf(stderr, "evaluation failed for %s\n", name);
			exit(1);
		}
		drifted += psi >= 0.1 || js >= 0.1 || ks.pvalue < 0.05;
		promtext_hist_release(&hp);
		promtext_hist_release(&hc);
		promtext_hist_release(&inc);
	}
	if (promtext_histogram(prev, "saqr_inference_latency_seconds", NULL, 0, &hp, NULL, 0) ||
	    promtext_histogram(cur, "saqr_inference_latency_seconds", NULL, 0, &hc, NULL, 0) ||
	    promtext_increase(&hp, &hc, &inc, NULL) || promtext_histogram_quantile(0.99, &inc, &p99) ||
	    promtext_error_ratio(prev, cur, "saqr_inference_requests_total", NULL, 0, &ratio, NULL))
		exit(1);
	promtext_hist_release(&hp);
	promtext_hist_release(&hc);
	promtext_hist_release(&inc);
	return drifted;
}

int main(int argc, char **argv)
{
	int iters = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 2000, it, f, i, drifted = 0;
	size_t lp, lc;
	char *tp = scrape(1.0, &lp), *tc = scrape(2.0, &lc);
	static double base[FEATURES][BUCKETS + 1], t_eval[100000], t_all[100000];
	struct promtext *prev, *cur;
	double t0, t1, t2;

	if (iters < 1 || iters > 100000)
		iters = 2000;
	for (f = 0; f < FEATURES; f++)
		for (i = 0; i <= BUCKETS; i++)
			base[f][i] = 100 + 37 * ((i * 7 + f) % 11);
	if (promtext_parse(tp, lp, 0, &prev, NULL, 0))
		return 1;
	for (it = 0; it < iters; it++) {
		t0 = cpu_now();
		if (promtext_parse(tc, lc, 0, &cur, NULL, 0))
			return 1;
		t1 = cpu_now();
		drifted = evaluate(prev, cur, base);
		t2 = cpu_now();
		promtext_free(cur);
		t_eval[it] = t2 - t1;
		t_all[it] = t2 - t0;
	}
	qsort(t_eval, (size_t)iters, sizeof(double), cmp);
	qsort(t_all, (size_t)iters, sizeof(double), cmp);
	printf("one evaluation of %d features (%d buckets each, %zu-byte scrape), %d runs, %d drifted:\n",
	       FEATURES, BUCKETS + 1, lc, iters, drifted);
	printf("  histograms + increase + PSI/JS/KS + p99 + 5xx ratio: best %.0f us, median %.0f us CPU\n",
	       t_eval[0] * 1e6, t_eval[iters / 2] * 1e6);
	printf("  the same plus parsing the scrape:                     best %.0f us, median %.0f us CPU\n",
	       t_all[0] * 1e6, t_all[iters / 2] * 1e6);
	promtext_free(prev);
	free(tp);
	free(tc);
	return 0;
}
