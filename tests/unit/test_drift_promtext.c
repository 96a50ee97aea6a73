/* Unit tests for drift/promtext.c: the exposition grammar (Prometheus 0.0.4 and
 * OpenMetrics), histogram and counter queries, increases with counter resets,
 * histogram_quantile(), the 5xx ratio, and malformed input naming its line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "drift/promtext.h"

static const char exposition[] =
    "# HELP saqr_feature_value Value of each input feature.\n"
    "# TYPE saqr_feature_value histogram\n"
    "saqr_feature_value_bucket{feature=\"age\",le=\"18\"} 3\n"
    "saqr_feature_value_bucket{feature=\"age\",le=\"40\"} 10\n"
    "saqr_feature_value_bucket{le=\"+Inf\",feature=\"age\"} 12\n"
    "saqr_feature_value_sum{feature=\"age\"} 410.5\n"
    "saqr_feature_value_count{feature=\"age\"} 12\n"
    "saqr_feature_value_bucket{feature=\"income\",le=\"1000\"} 1\n"
    "saqr_feature_value_bucket{feature=\"income\",le=\"+Inf\"} 4\n"
    "saqr_feature_value_count{feature=\"income\"} 4\n"
    "\n"
    "# a comment that is neither HELP nor TYPE\n"
    "# HELP saqr_inference_requests_total Requests by \\\"code\\\"\\nsecond line \\\\ done\n"
    "# TYPE saqr_inference_requests_total counter\n"
    "saqr_inference_requests_total{code=\"200\",path=\"/v1/predict\"} 1027 1395066363000\n"
    "saqr_inference_requests_total{code=\"500\",path=\"/v1/predict\"} 3\r\n"
    "saqr_inference_requests_total{code=\"503\",path=\"/v1/predict\",} 2\n"
    "saqr_inference_requests_total{code=\"404\" , path = \"/v1/predict\"}\t5\n"
    "# TYPE saqr_model_quality gauge\n"
    "saqr_model_quality{model=\"a\\\\b\",note=\"say \\\"hi\\\"\\nbye\",odd=\"\\q\"} -Inf\n"
    "saqr_model_quality{model=\"nan\"} NaN\n"
    "saqr_model_quality{model=\"inf\"} +Inf # {trace_id=\"abc\"} 1.0 1520879607.789\n"
    "  up   1\n"
    "# EOF\n";

static struct promtext *parse_ok(const char *text)
{
	struct promtext *p = NULL;
	char err[256] = "";

	if (promtext_parse(text, strlen(text), 0, &p, err, sizeof(err)) != 0)
		fail_msg("parse failed: %s", err);
	return p;
}

static void test_grammar(void **state)
{
	struct promtext *p = parse_ok(exposition);
	const struct promtext_sample *s;

	(void)state;
	assert_int_equal(promtext_sample_count(p), 16);
	assert_int_equal(promtext_type_of(p, "saqr_feature_value"), PROMTEXT_HISTOGRAM);
	assert_int_equal(promtext_type_of(p, "saqr_inference_requests_total"), PROMTEXT_COUNTER);
	assert_int_equal(promtext_type_of(p, "saqr_model_quality"), PROMTEXT_GAUGE);
	assert_int_equal(promtext_type_of(p, "up"), PROMTEXT_UNTYPED);
	assert_string_equal(promtext_help(p, "saqr_inference_requests_total"),
			    "Requests by \\\"code\\\"\nsecond line \\ done");
	assert_null(promtext_help(p, "up"));
	s = promtext_sample_at(p, 8);
	assert_string_equal(s->name, "saqr_inference_requests_total");
	assert_true(s->has_timestamp && s->timestamp == 1395066363000.0);
	assert_true(s->value == 1027);
	assert_int_equal(s->line, 15);
	assert_int_equal(s->nlabels, 2);
	assert_string_equal(s->labels[0].name, "code"); /* sorted by name */
	assert_string_equal(s->labels[1].value, "/v1/predict");
	assert_true(promtext_sample_at(p, 9)->value == 3 && !promtext_sample_at(p, 9)->has_timestamp);
	assert_string_equal(promtext_label_value(promtext_sample_at(p, 10), "code"), "503");
	s = promtext_sample_at(p, 11);
	assert_true(s->value == 5);
	assert_string_equal(promtext_label_value(s, "path"), "/v1/predict");
	s = promtext_sample_at(p, 12);
	assert_true(isinf(s->value) && s->value < 0);
	assert_string_equal(promtext_label_value(s, "model"), "a\\b");
	assert_string_equal(promtext_label_value(s, "note"), "say \"hi\"\nbye");
	assert_string_equal(promtext_label_value(s, "odd"), "\\q");
	assert_null(promtext_label_value(s, "missing"));
	assert_true(isnan(promtext_sample_at(p, 13)->value));
	s = promtext_sample_at(p, 14);
	assert_true(isinf(s->value) && s->value > 0 && !s->has_timestamp);
	s = promtext_sample_at(p, 15);
	assert_string_equal(s->name, "up");
	assert_int_equal(s->nlabels, 0);
	assert_null(promtext_sample_at(p, 16));
	promtext_free(p);
	promtext_free(NULL);
}

static void test_exemplar_is_ignored(void **state)
{
	struct promtext *p = parse_ok("a_total 4 # {trace_id=\"x\"} 1 2\nb 5 123 # {} 1\n");

	(void)state;
	assert_int_equal(promtext_sample_count(p), 2);
	assert_true(promtext_sample_at(p, 0)->value == 4 && !promtext_sample_at(p, 0)->has_timestamp);
	assert_true(promtext_sample_at(p, 1)->has_timestamp && promtext_sample_at(p, 1)->timestamp == 123);
	promtext_free(p);
}

static void test_histogram_query(void **state)
{
	struct promtext *p = parse_ok(exposition);
	struct promtext_label age = {"feature", "age"}, income = {"feature", "income"},
			      none = {"feature", "zip"};
	struct promtext_hist h;
	char err[256];

	(void)state;
	assert_int_equal(promtext_histogram(p, "saqr_feature_value", &age, 1, &h, err, sizeof(err)), 0);
	assert_int_equal(h.n, 3);
	assert_true(h.le[0] == 18 && h.le[1] == 40 && isinf(h.le[2]));
	assert_true(h.cum[0] == 3 && h.cum[1] == 10 && h.cum[2] == 12);
	assert_true(h.count == 12 && h.has_sum && h.sum == 410.5 && h.series == 1);
	promtext_hist_release(&h);
	assert_int_equal(promtext_histogram(p, "saqr_feature_value", &income, 1, &h, err, sizeof(err)), 0);
	assert_true(h.n == 2 && h.count == 4 && !h.has_sum);
	promtext_hist_release(&h);
	assert_int_equal(promtext_histogram(p, "saqr_feature_value", &none, 1, &h, err, sizeof(err)),
			 SAQR_ENOTFOUND);
	assert_int_equal(promtext_histogram(p, "nope", NULL, 0, &h, err, sizeof(err)), SAQR_ENOTFOUND);
	assert_int_equal(promtext_histogram(p, "saqr_feature_value", &(struct promtext_label){"le", "18"}, 1,
					    &h, err, sizeof(err)),
			 SAQR_EINVAL);
	promtext_hist_release(NULL);
	promtext_free(p);
}

static void test_histogram_sums_series(void **state)
{
	struct promtext *p =
	    parse_ok("h_bucket{i=\"a\",le=\"1\"} 1\nh_bucket{i=\"a\",le=\"+Inf\"} 2\n"
		     "h_bucket{i=\"b\",le=\"1\"} 5\nh_bucket{i=\"b\",le=\"+Inf\"} 9\n"
		     "h_sum{i=\"a\"} 3\nh_sum{i=\"b\"} 4\nh_count{i=\"a\"} 2\nh_count{i=\"b\"} 9\n");
	struct promtext_hist h;

	(void)state;
	assert_int_equal(promtext_histogram(p, "h", NULL, 0, &h, NULL, 0), 0);
	assert_true(h.series == 2 && h.cum[0] == 6 && h.cum[1] == 11 && h.count == 11 && h.sum == 7);
	promtext_hist_release(&h);
	promtext_free(p);
}

static void expect_hist_error(const char *text, int rc, const char *msg)
{
	struct promtext *p = parse_ok(text);
	struct promtext_hist h = {0};
	char err[256] = "";

	assert_int_equal(promtext_histogram(p, "h", NULL, 0, &h, err, sizeof(err)), rc);
	if (!strstr(err, msg))
		fail_msg("error \"%s\" does not contain \"%s\"", err, msg);
	assert_null(h.le);
	promtext_free(p);
}

static void test_histogram_errors(void **state)
{
	(void)state;
	expect_hist_error("h_bucket{le=\"1\"} 1\nh_bucket{le=\"2\"} 2\n", SAQR_EINVAL,
			  "line 2: histogram h has no le=\"+Inf\"");
	expect_hist_error("h_bucket{le=\"1\"} 1\nh_bucket{le=\"1.0\"} 1\nh_bucket{le=\"+Inf\"} 2\n",
			  SAQR_EINVAL, "second bucket le=1");
	expect_hist_error("h_bucket{i=\"a\",le=\"1\"} 1\nh_bucket{i=\"a\",le=\"+Inf\"} 2\n"
			  "h_bucket{i=\"b\",le=\"2\"} 1\nh_bucket{i=\"b\",le=\"+Inf\"} 2\n",
			  SAQR_EINVAL, "different buckets");
	expect_hist_error("h_sum 1\nh_count 1\n", SAQR_ENOTFOUND, "no histogram h");
}

static void test_counter_and_select(void **state)
{
	struct promtext *p = parse_ok(exposition);
	struct promtext_label f = {"code", "500"};
	const struct promtext_sample **sel;
	size_t n;
	double v;

	(void)state;
	assert_int_equal(promtext_counter(p, "saqr_inference_requests_total", NULL, 0, &v), 0);
	assert_true(v == 1037);
	assert_int_equal(promtext_counter(p, "saqr_inference_requests_total", &f, 1, &v), 0);
	assert_true(v == 3);
	assert_int_equal(promtext_counter(p, "missing_total", NULL, 0, &v), SAQR_ENOTFOUND);
	assert_int_equal(promtext_select(p, "saqr_model_quality", NULL, 0, &sel, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(sel[0]->line, 20);
	free(sel);
	assert_int_equal(promtext_select(p, "saqr_model_quality", &f, 1, &sel, &n), 0);
	assert_int_equal(n, 0);
	free(sel);
	promtext_free(p);
}

static void make_hist(struct promtext_hist *h, size_t n, const double *le, const double *cum, double sum)
{
	h->n = n;
	h->le = malloc(n * sizeof(double));
	h->cum = malloc(n * sizeof(double));
	assert_non_null(h->le);
	assert_non_null(h->cum);
	memcpy(h->le, le, n * sizeof(double));
	memcpy(h->cum, cum, n * sizeof(double));
	h->count = cum[n - 1];
	h->sum = sum;
	h->has_sum = true;
	h->series = 1;
}

static void test_increase_and_reset(void **state)
{
	const double le[3] = {1, 2, INFINITY}, le2[3] = {1, 3, INFINITY};
	struct promtext_hist a, b, c, d, out;
	bool reset = true;

	(void)state;
	make_hist(&a, 3, le, (double[]){2, 5, 9}, 10);
	make_hist(&b, 3, le, (double[]){4, 9, 15}, 18);
	make_hist(&c, 3, le, (double[]){1, 1, 2}, 1);	 /* restarted */
	make_hist(&d, 3, le2, (double[]){7, 9, 20}, 30); /* new layout */
	assert_int_equal(promtext_increase(&a, &b, &out, &reset), 0);
	assert_false(reset);
	assert_true(out.cum[0] == 2 && out.cum[1] == 4 && out.cum[2] == 6 && out.count == 6 && out.sum == 8);
	promtext_hist_release(&out);
	assert_int_equal(promtext_increase(&b, &c, &out, &reset), 0);
	assert_true(reset);
	assert_true(out.cum[0] == 1 && out.cum[2] == 2 && out.count == 2 && out.sum == 1);
	promtext_hist_release(&out);
	assert_int_equal(promtext_increase(&b, &d, &out, &reset), 0);
	assert_true(reset && out.cum[2] == 20);
	promtext_hist_release(&out);
	assert_int_equal(promtext_increase(NULL, &a, &out, &reset), 0);
	assert_false(reset);
	assert_true(out.cum[2] == 9);
	promtext_hist_release(&out);
	assert_true(promtext_counter_increase(10, 15) == 5);
	assert_true(promtext_counter_increase(10, 4) == 4);
	assert_true(promtext_counter_increase(10, 10) == 0);
	promtext_hist_release(&a);
	promtext_hist_release(&b);
	promtext_hist_release(&c);
	promtext_hist_release(&d);
}

static double quantile(double q, size_t n, const double *le, const double *cum)
{
	struct promtext_hist h;
	double v = NAN;

	make_hist(&h, n, le, cum, 0);
	assert_int_equal(promtext_histogram_quantile(q, &h, &v), 0);
	promtext_hist_release(&h);
	return v;
}

static void test_histogram_quantile(void **state)
{
	const double le[4] = {0.1, 0.5, 1, INFINITY}, cum[4] = {10, 50, 90, 100};
	const double unsorted_le[4] = {1, INFINITY, 0.1, 0.5}, unsorted_cum[4] = {90, 100, 10, 50};
	struct promtext_hist h;
	double v;

	(void)state;
	assert_true(fabs(quantile(0.5, 4, le, cum) - 0.5) < 1e-15);
	assert_true(fabs(quantile(0.05, 4, le, cum) - 0.05) < 1e-15);
	assert_true(fabs(quantile(0.7, 4, le, cum) - 0.75) < 1e-15);
	assert_true(quantile(0.99, 4, le, cum) == 1.0); /* in +Inf: the second-highest bound */
	assert_true(quantile(0, 4, le, cum) == 0.0);
	assert_true(fabs(quantile(0.3, 4, unsorted_le, unsorted_cum) - 0.3) < 1e-15);
	assert_true(quantile(0.01, 3, (double[]){-1, 0, INFINITY}, (double[]){5, 8, 10}) == -1);
	/* decreasing counts are forced up to the running maximum, as Prometheus does */
	assert_true(fabs(quantile(0.5, 4, le, (double[]){10, 60, 50, 100}) - 0.42) < 1e-15);
	/* equal bounds are merged */
	assert_true(fabs(quantile(0.5, 4, (double[]){1, 1, 2, INFINITY}, (double[]){2, 2, 8, 8}) - 1.0) <
		    1e-15);
	make_hist(&h, 2, (double[]){1, 2}, (double[]){1, 2}, 0);
	assert_int_equal(promtext_histogram_quantile(0.5, &h, &v), SAQR_EINVAL); /* no +Inf */
	promtext_hist_release(&h);
	make_hist(&h, 1, (double[]){INFINITY}, (double[]){3}, 0);
	assert_int_equal(promtext_histogram_quantile(0.5, &h, &v), SAQR_EINVAL); /* one bucket */
	promtext_hist_release(&h);
	make_hist(&h, 4, le, (double[]){0, 0, 0, 0}, 0);
	assert_int_equal(promtext_histogram_quantile(0.5, &h, &v), SAQR_EEMPTY);
	assert_int_equal(promtext_histogram_quantile(1.5, &h, &v), SAQR_EINVAL);
	assert_int_equal(promtext_histogram_quantile(NAN, &h, &v), SAQR_EINVAL);
	promtext_hist_release(&h);
}

static void test_hist_bins(void **state)
{
	struct promtext_hist h;
	double edges[4], counts[3];

	(void)state;
	make_hist(&h, 3, (double[]){18, 40, INFINITY}, (double[]){3, 10, 12}, 0);
	assert_int_equal(promtext_hist_bins(&h, edges, counts), 0);
	assert_true(isinf(edges[0]) && edges[0] < 0 && edges[1] == 18 && edges[2] == 40 && isinf(edges[3]));
	assert_true(counts[0] == 3 && counts[1] == 7 && counts[2] == 2);
	h.cum[1] = 2;
	assert_int_equal(promtext_hist_bins(&h, edges, counts), SAQR_EINVAL);
	h.le[2] = 50;
	assert_int_equal(promtext_hist_bins(&h, edges, counts), SAQR_EINVAL);
	promtext_hist_release(&h);
}

static void test_error_ratio(void **state)
{
	struct promtext *prev = parse_ok("r_total{code=\"200\"} 100\nr_total{code=\"500\"} 10\n"
					 "r_total{code=\"503\"} 50\nother 1\n");
	struct promtext *cur = parse_ok("r_total{code=\"200\"} 190\nr_total{code=\"500\"} 20\n"
					"r_total{code=\"503\"} 5\nr_total{code=\"502\"} 2\n"
					"r_total{code=\"5000\"} 3\n");
	struct promtext_label f = {"code", "200"};
	double ratio, total;

	(void)state;
	/* 200: +90, 500: +10, 503: reset -> 5, 502: new -> 2, 5000: not 5xx -> 3 */
	assert_int_equal(promtext_error_ratio(prev, cur, "r_total", NULL, 0, &ratio, &total), 0);
	assert_true(total == 110);
	assert_true(fabs(ratio - 17.0 / 110.0) < 1e-15);
	assert_int_equal(promtext_error_ratio(NULL, cur, "r_total", NULL, 0, &ratio, NULL), 0);
	assert_true(fabs(ratio - 27.0 / 220.0) < 1e-15);
	assert_int_equal(promtext_error_ratio(prev, cur, "r_total", &f, 1, &ratio, &total), 0);
	assert_true(ratio == 0 && total == 90);
	assert_int_equal(promtext_error_ratio(prev, prev, "r_total", NULL, 0, &ratio, &total), SAQR_EEMPTY);
	assert_int_equal(promtext_error_ratio(prev, cur, "missing", NULL, 0, &ratio, &total), SAQR_ENOTFOUND);
	promtext_free(prev);
	promtext_free(cur);
}

static void expect_parse_error(const char *text, const char *msg)
{
	struct promtext *p = NULL;
	char err[256] = "";

	assert_int_equal(promtext_parse(text, strlen(text), 0, &p, err, sizeof(err)), SAQR_EPARSE);
	assert_null(p);
	if (!strstr(err, msg))
		fail_msg("error \"%s\" does not contain \"%s\"", err, msg);
}

static void test_malformed_lines(void **state)
{
	(void)state;
	expect_parse_error("ok 1\nmissing_value\n", "line 2: missing value");
	expect_parse_error("a 1\nb{x=\"y\"}\n", "line 2: missing value");
	expect_parse_error("a one\n", "line 1: value is not a number");
	expect_parse_error("a 1 soon\n", "line 1: timestamp is not a number");
	expect_parse_error("a 1 2 3\n", "line 1: unexpected text after the timestamp");
	expect_parse_error("a{x=\"y\" 1\n", "line 1: expected ',' or '}'");
	expect_parse_error("a{x \"y\"} 1\n", "line 1: expected '=' after label name x");
	expect_parse_error("a{x=y} 1\n", "line 1: expected '\"'");
	expect_parse_error("\n\na{x=\"y} 1\n", "line 3: label value not closed");
	expect_parse_error("a{1x=\"y\"} 1\n", "line 1: expected a label name");
	expect_parse_error("a{x=\"1\",x=\"2\"} 1\n", "line 1: label x given twice");
	expect_parse_error("a-b 1\n", "line 1: expected a space before the value");
	expect_parse_error("{__name__=\"a\"} 1\n", "line 1: expected a metric name");
	expect_parse_error("# TYPE a bogus\n", "line 1: unknown metric type \"bogus\"");
	expect_parse_error("# TYPE a counter\n# TYPE a gauge\n", "line 2: second TYPE line for a");
	expect_parse_error("# HELP a x\n# HELP a y\n", "line 2: second HELP line for a");
	expect_parse_error("# TYPE\n", "line 1: expected a metric name after # TYPE");
	expect_parse_error("a 1\n# EOF\nb 2\n", "line 3: content after # EOF");
	expect_parse_error("h_bucket{le=\"x\"} 1\n", "line 1: le=\"x\" is not a bucket bound");
	expect_parse_error("h_sum 1\nh_sum 2\n", "duplicate series h_sum (first on line 1)");
	expect_parse_error(
	    "a 1e99999999999999999999999999999999999999999999999999999999999999999999999999999999999999"
	    "99999999999999999999999999999999999999999999999999999999999999999999999999999999\n",
	    "line 1: value is not a number");
}

static void test_caps_and_edges(void **state)
{
	struct promtext *p = NULL;
	char err[256] = "";
	const char nul[] = "a 1\nb\0 2\n";

	(void)state;
	assert_int_equal(promtext_parse("a 1\n", 4, 3, &p, err, sizeof(err)), SAQR_ETOOBIG);
	assert_non_null(strstr(err, "over the 3-byte cap"));
	assert_int_equal(promtext_parse(nul, sizeof(nul) - 1, 0, &p, err, sizeof(err)), SAQR_EPARSE);
	assert_non_null(strstr(err, "line 2: NUL byte"));
	assert_int_equal(promtext_parse("", 0, 0, &p, err, sizeof(err)), 0);
	assert_int_equal(promtext_sample_count(p), 0);
	promtext_free(p);
	assert_int_equal(promtext_parse("# EOF", 5, 0, &p, err, sizeof(err)), 0); /* no final newline */
	promtext_free(p);
	assert_int_equal(promtext_parse(NULL, 3, 0, &p, err, sizeof(err)), SAQR_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_grammar),
	    cmocka_unit_test(test_exemplar_is_ignored),
	    cmocka_unit_test(test_histogram_query),
	    cmocka_unit_test(test_histogram_sums_series),
	    cmocka_unit_test(test_histogram_errors),
	    cmocka_unit_test(test_counter_and_select),
	    cmocka_unit_test(test_increase_and_reset),
	    cmocka_unit_test(test_histogram_quantile),
	    cmocka_unit_test(test_hist_bins),
	    cmocka_unit_test(test_error_ratio),
	    cmocka_unit_test(test_malformed_lines),
	    cmocka_unit_test(test_caps_and_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
