/* Unit tests for agent/config, agent/stats and agent/infer: the configuration format and its
 * errors, V1 rows (arrays, objects, scalars) and V2 tensors (flat, nested, columns, BYTES),
 * predictions, malformed payloads and wrong types, counts that survive a reload, and the text
 * exposition read back with drift/promtext as a DriftPolicy reads it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/config.h"
#include "agent/infer.h"
#include "agent/stats.h"
#include "common/err.h"
#include "drift/promtext.h"

static const char cfg_yaml[] = "features:\n"
			       "  - {name: amount, type: numerical, edges: [10, 100, 1000], index: 0}\n"
			       "  - {name: country, type: categorical, categories: [SA, AE], index: 1}\n"
			       "  - {name: age, type: numerical, edges: [0.1, 30, 60], input: age_years}\n"
			       "predictions: {edges: [0.5], index: 0}\n";

struct fx {
	struct agent_config *cfg;
	struct agent_stats *st;
	struct promtext *pt;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];

	assert_int_equal(agent_config_parse(cfg_yaml, strlen(cfg_yaml), &f->cfg, err, sizeof(err)), 0);
	assert_int_equal(agent_stats_new(f->cfg, NULL, &f->st), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	promtext_free(f->pt);
	agent_stats_free(f->st);
	agent_config_free(f->cfg);
	free(f);
	return 0;
}

/* Render and parse the exposition. */
static void scrape(struct fx *f)
{
	struct buf b;
	char err[256];

	buf_init(&b, 1 << 20);
	assert_int_equal(agent_stats_render(f->st, &b), 0);
	promtext_free(f->pt);
	f->pt = NULL;
	if (promtext_parse(b.data, b.len, 0, &f->pt, err, sizeof(err)) != 0)
		fail_msg("%s\n%s", err, b.data);
	buf_release(&b);
}

/* Per-bucket (not cumulative) counts of a histogram family for feature name. */
static void bins(struct fx *f, const char *family, const char *name, double *out, size_t n)
{
	struct promtext_label l = {"feature", name};
	struct promtext_hist h;
	double edges[16];
	char err[256];

	assert_int_equal(promtext_histogram(f->pt, family, &l, 1, &h, err, sizeof(err)), 0);
	assert_int_equal(h.n, n);
	assert_int_equal(promtext_hist_bins(&h, edges, out), 0);
	promtext_hist_release(&h);
}

static double category(struct fx *f, const char *name, const char *value)
{
	struct promtext_label l[2] = {{"feature", name}, {"value", value}};
	double v = -1;

	assert_int_equal(promtext_counter(f->pt, "saqr_feature_category_total", l, 2, &v), 0);
	return v;
}

static void test_config_errors(void **state)
{
	static const char *const bad[] = {
	    "features: [{name: a, type: numerical}]",
	    "features: [{name: a, type: numerical, edges: [2, 1]}]",
	    "features: [{name: a, type: numerical, edges: [1, .nan]}]",
	    "features: [{name: a, type: categorical, categories: [x, x]}]",
	    "features: [{name: a, type: categorical, categories: [__other__]}]",
	    "features: [{name: a, type: categorical, edges: [1]}]",
	    "features: [{name: a, type: numeric, edges: [1]}]",
	    "features: [{name: a, type: numerical, edges: [1], index: -1}]",
	    "features: [{name: a, type: numerical, edges: [1], edge: [1]}]",
	    "features: [{name: a, type: numerical, edges: [1]}, {name: a, type: numerical, edges: [2]}]",
	    "features: [{type: numerical, edges: [1]}]",
	    "features: {name: a}",
	    "predictions: {enabled: yes please}",
	    "predictions: {edges: []}",
	    "other: 1",
	    "[1, 2]",
	    "features: [",
	};
	const char *off = "{\"features\": [], \"predictions\": {\"enabled\": false}}";
	struct agent_config *c = NULL;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (agent_config_parse(bad[i], strlen(bad[i]), &c, err, sizeof(err)) == 0)
			fail_msg("accepted: %s", bad[i]);
		assert_true(err[0] != '\0');
	}
	assert_int_equal(agent_config_parse(off, strlen(off), &c, err, sizeof(err)), 0);
	assert_int_equal(c->nfeatures, 0);
	assert_false(c->predictions);
	agent_config_free(c);
}

static void test_v1_rows(void **state)
{
	struct fx *f = *state;
	const char *body =
	    "{\"instances\": [[5, \"AE\"], [50, \"SA\", 1], [5000, \"FR\"], "
	    "{\"amount\": 7, \"country\": \"AE\", \"age_years\": 40}, [\"12.5\", true], [null, 3]]}";
	double b[4], a[4];
	size_t invalid = 0;

	assert_int_equal(infer_request(f->st, INFER_V1, body, strlen(body), &invalid), 0);
	assert_int_equal(invalid, 1); /* the null amount */
	scrape(f);
	bins(f, "saqr_feature_value", "amount", b, 4);
	assert_true(b[0] == 2 && b[1] == 2 && b[2] == 0 && b[3] == 1); /* 5, 7 | 50, 12.5 | - | 5000 */
	bins(f, "saqr_feature_value", "age", a, 4);
	assert_true(a[2] == 1 && a[0] + a[1] + a[3] == 0);
	assert_true(category(f, "country", "AE") == 2);
	assert_true(category(f, "country", "SA") == 1);
	assert_true(category(f, "country", "__other__") == 3); /* FR, true, 3 */
}

static void test_v2_tensors(void **state)
{
	struct fx *f = *state;
	const char *body =
	    "{\"inputs\": [{\"name\": \"amount\", \"shape\": [3, 2], \"datatype\": \"FP32\", "
	    "\"data\": [1, 999, 20, 999, 2000, 999]},"
	    "{\"name\": \"country\", \"shape\": [2, 2], \"datatype\": \"BYTES\", "
	    "\"data\": [[\"x\", \"AE\"], [\"y\", \"SA\"]]},"
	    "{\"name\": \"age_years\", \"shape\": [2], \"datatype\": \"FP32\", \"data\": [20, 70]}]}";
	double b[4];

	assert_int_equal(infer_request(f->st, INFER_V2, body, strlen(body), NULL), 0);
	scrape(f);
	bins(f, "saqr_feature_value", "amount", b, 4);
	assert_true(b[0] == 1 && b[1] == 1 && b[2] == 0 && b[3] == 1);
	bins(f, "saqr_feature_value", "age", b, 4);
	assert_true(b[1] == 1 && b[3] == 1);
	assert_true(category(f, "country", "AE") == 1);
	assert_true(category(f, "country", "SA") == 1);
}

static void test_predictions(void **state)
{
	struct fx *f = *state;
	const char *v1 = "{\"predictions\": [0.2, [0.9, 0.1], 0.7, \"x\"]}";
	const char *v2 = "{\"outputs\": [{\"name\": \"out\", \"shape\": [2, 1], \"datatype\": \"FP32\", "
			 "\"data\": [0.1, 0.6]}]}";
	double b[2];
	size_t invalid = 0;

	assert_int_equal(infer_response(f->st, INFER_V1, v1, strlen(v1), &invalid), 0);
	assert_int_equal(invalid, 1);
	assert_int_equal(infer_response(f->st, INFER_V2, v2, strlen(v2), NULL), 0);
	scrape(f);
	bins(f, "saqr_prediction_value", "prediction", b, 2);
	assert_true(b[0] == 2 && b[1] == 3);
}

static void test_malformed(void **state)
{
	struct fx *f = *state;
	const char *scalar = "{\"inputs\": [{\"name\": \"amount\", \"data\": 5}]}";
	static const char *const bad[] = {
	    "", "{", "[1]", "{\"instances\": 3}", "\"x\"", "{\"instances\": [1] x"};
	double b[4];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_true(infer_request(f->st, INFER_V1, bad[i], strlen(bad[i]), NULL) < 0);
		assert_true(infer_request(f->st, INFER_V2, bad[i], strlen(bad[i]), NULL) < 0);
	}
	assert_int_equal(infer_request(f->st, INFER_V2, scalar, strlen(scalar), NULL), 0);
	assert_true(infer_response(f->st, INFER_V2, "{\"outputs\": {}}", 15, NULL) < 0);
	scrape(f);
	bins(f, "saqr_feature_value", "amount", b, 4);
	assert_true(b[0] + b[1] + b[2] + b[3] == 0);
}

static void test_reload_keeps_counts(void **state)
{
	struct fx *f = *state;
	const char *next = "features:\n"
			   "  - {name: amount, type: numerical, edges: [10, 100, 1000], index: 0}\n"
			   "  - {name: country, type: categorical, categories: [AE, SA, QA], index: 1}\n";
	const char *one = "{\"instances\": [[5, \"AE\"]]}";
	struct agent_config *c2 = NULL;
	struct agent_stats *s2 = NULL;
	char err[256];
	double b[4];

	assert_int_equal(infer_request(f->st, INFER_V1, one, strlen(one), NULL), 0);
	assert_int_equal(agent_config_parse(next, strlen(next), &c2, err, sizeof(err)), 0);
	assert_int_equal(agent_stats_new(c2, f->st, &s2), 0);
	agent_stats_free(f->st);
	agent_config_free(f->cfg);
	f->cfg = c2;
	f->st = s2;
	scrape(f);
	bins(f, "saqr_feature_value", "amount", b, 4);
	assert_true(b[0] == 1);				/* same bins: kept */
	assert_true(category(f, "country", "AE") == 0); /* new categories: reset */
	assert_true(promtext_type_of(f->pt, "saqr_prediction_value") != PROMTEXT_HISTOGRAM); /* off now */
}

static void test_route(void **state)
{
	(void)state;
	assert_int_equal(infer_route("POST", "/v1/models/iris:predict"), INFER_V1);
	assert_int_equal(infer_route("POST", "/v1/models/iris:predict?x=1"), INFER_V1);
	assert_int_equal(infer_route("GET", "/v1/models/iris:predict"), INFER_NONE);
	assert_int_equal(infer_route("POST", "/v1/models/a/b:predict"), INFER_NONE);
	assert_int_equal(infer_route("POST", "/v1/models/:predict"), INFER_NONE);
	assert_int_equal(infer_route("POST", "/v1/models/iris:explain"), INFER_NONE);
	assert_int_equal(infer_route("POST", "/v2/models/iris/infer"), INFER_V2);
	assert_int_equal(infer_route("POST", "/v2/models/iris/versions/3/infer"), INFER_V2);
	assert_int_equal(infer_route("POST", "/v2/models//infer"), INFER_NONE);
	assert_int_equal(infer_route("POST", "/v2/models/iris/versions//infer"), INFER_NONE);
	assert_int_equal(infer_route("POST", "/v2/models/iris/ready"), INFER_NONE);
	assert_int_equal(infer_route("POST", "/v2/models/infer"), INFER_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config_errors),
	    cmocka_unit_test_setup_teardown(test_v1_rows, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_v2_tensors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_predictions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reload_keeps_counts, setup, teardown),
	    cmocka_unit_test(test_route),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
