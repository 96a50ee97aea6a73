/* Unit tests for operator/driftpolicy/drifteval*.c: durations, baselines, one evaluation of recorded
 * windows (no drift, drift with SLO breaches, a counter reset, missing or mismatched metrics,
 * ConfigMap and captured baselines) and the status built from it in every state. */
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
#include "common/jsonutil.h"
#include "operator/conditions.h"
#include "operator/driftpolicy/drifteval.h"
#include "../support/kubetest.h"

static json_t *load_json(const char *name)
{
	char path[256];
	char *text;
	json_t *v;

	snprintf(path, sizeof(path), "tests/data/driftpolicy/%s", name);
	text = kubetest_read(path, NULL);
	assert_non_null(text);
	v = json_loads(text, 0, NULL);
	free(text);
	assert_non_null(v);
	return v;
}

static void reading(const char *name, struct driftsource_data *out)
{
	struct driftsource_names names;
	struct promtext *pt = NULL;
	char path[256], err[256];
	size_t len = 0;
	char *text;

	snprintf(path, sizeof(path), "tests/data/driftpolicy/%s", name);
	text = kubetest_read(path, &len);
	assert_non_null(text);
	assert_int_equal(promtext_parse(text, len, 0, &pt, err, sizeof(err)), 0);
	driftsource_names_from_spec(NULL, &names);
	assert_int_equal(driftsource_extract(pt, &names, out, err, sizeof(err)), 0);
	promtext_free(pt);
	free(text);
}

/* The window from t0.prom to the fixture named. */
static void window(const char *t1, struct driftsource_data *w)
{
	struct driftsource_data a, b;

	reading("t0.prom", &a);
	reading(t1, &b);
	assert_int_equal(driftsource_increase(&a, &b, w), 0);
	driftsource_finish(w);
	w->seconds = 600;
	driftsource_data_release(&a);
	driftsource_data_release(&b);
}

static const struct drifteval_feature *feature(const struct drifteval_result *r, const char *name)
{
	for (size_t i = 0; i < r->nfeatures; i++)
		if (strcmp(r->features[i].name, name) == 0)
			return &r->features[i];
	fail_msg("no feature %s", name);
	return NULL;
}

static void test_durations(void **state)
{
	double v;
	json_t *dp;

	(void)state;
	assert_int_equal(drifteval_duration("30s", &v), 0);
	assert_true(v == 30);
	assert_int_equal(drifteval_duration("5m", &v), 0);
	assert_true(v == 300);
	assert_int_equal(drifteval_duration("1h30m", &v), 0);
	assert_true(v == 5400);
	assert_int_equal(drifteval_duration("1.5h", &v), 0);
	assert_true(v == 5400);
	assert_int_equal(drifteval_duration("250ms", &v), 0);
	assert_true(fabs(v - 0.25) < 1e-12);
	assert_int_equal(drifteval_duration("", &v), SAQR_EINVAL);
	assert_int_equal(drifteval_duration("5", &v), SAQR_EINVAL);
	assert_int_equal(drifteval_duration("m", &v), SAQR_EINVAL);
	assert_int_equal(drifteval_duration("5x", &v), SAQR_EINVAL);
	assert_int_equal(drifteval_duration("-1s", &v), SAQR_EINVAL);
	assert_int_equal(drifteval_duration(NULL, &v), SAQR_EINVAL);
	dp = json_pack("{s:{}}", "spec");
	assert_true(drifteval_interval(dp) == DRIFTEVAL_DEFAULT_INTERVAL);
	json_object_set_new(json_object_get(dp, "spec"), "interval", json_string("100ms"));
	assert_true(drifteval_interval(dp) == DRIFTEVAL_MIN_INTERVAL);
	json_decref(dp);
}

static void expect_baseline_error(const char *text, const char *needle)
{
	struct drifteval_baseline b;
	char err[256] = "";
	json_t *v = json_loads(text, 0, NULL);

	assert_non_null(v);
	assert_int_equal(drifteval_baseline_parse(v, &b, err, sizeof(err)), SAQR_EINVAL);
	if (!strstr(err, needle))
		fail_msg("%s: expected \"%s\" in \"%s\"", text, needle, err);
	json_decref(v);
}

static void test_baselines(void **state)
{
	struct drifteval_baseline b;
	char err[256];
	json_t *v = json_pack("{s:[i,i], s:[i,f,i]}", "edges", 1, 2, "counts", 5, 2.5, 0);

	(void)state;
	assert_int_equal(drifteval_baseline_parse(v, &b, err, sizeof(err)), 0);
	assert_false(b.categorical);
	assert_int_equal(b.nedges, 2);
	assert_true(b.counts[1] == 2.5);
	drifteval_baseline_release(&b);
	json_decref(v);
	v = json_pack("{s:{s:i, s:i}}", "categories", "card", 3, "cash", 0);
	assert_int_equal(drifteval_baseline_parse(v, &b, err, sizeof(err)), 0);
	assert_true(b.categorical);
	assert_int_equal(b.ncats, 2);
	assert_string_equal(b.cats[1], "cash");
	drifteval_baseline_release(&b);
	drifteval_baseline_release(NULL);
	json_decref(v);
	expect_baseline_error("{\"edges\":[1,2],\"counts\":[1,2]}", "one count more");
	expect_baseline_error("{\"edges\":[2,1],\"counts\":[1,2,3]}", "must increase");
	expect_baseline_error("{\"edges\":[1],\"counts\":[0,0]}", "all zero");
	expect_baseline_error("{\"edges\":[1],\"counts\":[-1,2]}", "counts >= 0");
	expect_baseline_error("{\"categories\":{}}", "empty");
	expect_baseline_error("{\"categories\":{\"a\":\"x\"}}", "category a");
	expect_baseline_error("{\"bins\":{}}", "a baseline is");
}

static void test_no_drift_within_objectives(void **state)
{
	json_t *dp = load_json("dp_scrape.json");
	struct driftsource_data w;
	struct drifteval_input in = {.dp = dp, .window = &w};
	struct drifteval_result r;

	(void)state;
	window("t1_nodrift.prom", &w);
	assert_int_equal(drifteval_run(&in, &r), 0);
	assert_int_equal(r.nfeatures, 2);
	assert_int_equal(r.nscored, 2);
	assert_false(r.drift);
	assert_true(feature(&r, "amount_aed")->score < 1e-9); /* the same proportions */
	assert_int_equal(feature(&r, "channel")->method, DRIFT_CHISQUARE);
	assert_true(feature(&r, "channel")->score > 0.99); /* p-value */
	assert_true(feature(&r, "channel")->threshold == 0.01);
	assert_true(r.has_latency && fabs(r.latency_p99_ms - 200) < 1e-6);
	assert_true(r.has_error_rate && fabs(r.error_rate_percent - 0.5) < 1e-9);
	assert_false(r.slo_breach);
	assert_string_equal(r.summary, "");
	drifteval_result_release(&r);
	driftsource_data_release(&w);
	json_decref(dp);
}

static void test_drift_and_slo_breaches(void **state)
{
	json_t *dp = load_json("dp_scrape.json");
	struct driftsource_data w;
	struct drifteval_input in = {.dp = dp, .window = &w};
	struct drifteval_result r;

	(void)state;
	window("t1_drift_slo.prom", &w);
	assert_int_equal(drifteval_run(&in, &r), 0);
	assert_true(r.drift);
	assert_int_equal(r.ndrifted, 2);
	/* PSI of [100,300,600,700,300] against [1830,4120,2610,1150,290] */
	assert_true(fabs(feature(&r, "amount_aed")->score - 0.9031148060038618) < 1e-9);
	assert_true(feature(&r, "channel")->score < 0.01); /* a new category and a shift */
	assert_true(r.latency_breach && fabs(r.latency_p99_ms - 900) < 1e-6);
	assert_true(r.error_breach && fabs(r.error_rate_percent - 5) < 1e-9);
	assert_true(r.quality_breach && r.quality == 0.8);
	assert_non_null(strstr(r.drift_summary, "drift in 2 of 2 features: amount_aed psi 0.9031 >= 0.2"));
	assert_non_null(strstr(r.slo_summary, "latency p99 900.0 ms > 250 ms"));
	assert_non_null(strstr(r.slo_summary, "error rate 5.00% > 1%"));
	assert_non_null(strstr(r.slo_summary, "quality 0.8 < 0.9"));
	assert_non_null(strstr(r.summary, "; latency"));
	drifteval_result_release(&r);
	driftsource_data_release(&w);
	json_decref(dp);
}

static void test_counter_reset_is_no_drift(void **state)
{
	json_t *dp = load_json("dp_scrape.json");
	struct driftsource_data w;
	struct drifteval_input in = {.dp = dp, .window = &w};
	struct drifteval_result r;

	(void)state;
	window("t1_reset.prom", &w);
	assert_int_equal(drifteval_run(&in, &r), 0);
	assert_false(r.drift);
	assert_false(r.slo_breach);
	assert_int_equal(r.nscored, 2);
	drifteval_result_release(&r);
	driftsource_data_release(&w);
	json_decref(dp);
}

static void test_missing_and_mismatched_metrics(void **state)
{
	json_t *dp = load_json("dp_scrape.json"), *feats = json_path(dp, "spec.features");
	struct driftsource_data w;
	struct drifteval_input in = {.dp = dp, .window = &w};
	struct drifteval_result r;

	(void)state;
	window("t1_nodrift.prom", &w);
	json_array_append_new(feats, json_pack("{s:s, s:s, s:s, s:{s:{s:[i], s:[i,i]}}}", "name", "age",
					       "type", "numerical", "method", "ks", "baseline", "bins",
					       "edges", 30, "counts", 1, 1));
	json_array_set_new(json_path(dp, "spec.features.0.baseline.bins.edges"), 1, json_integer(250));
	assert_int_equal(drifteval_run(&in, &r), 0);
	assert_int_equal(r.nscored, 1);
	assert_int_equal(r.nmissing, 2);
	assert_true(feature(&r, "age")->missing);
	assert_non_null(strstr(feature(&r, "age")->problem, "not in the metrics"));
	assert_non_null(strstr(feature(&r, "amount_aed")->problem, "le=200 differs from baseline edge 250"));
	assert_non_null(strstr(r.problems, "age: not in the metrics"));
	drifteval_result_release(&r);
	driftsource_data_release(&w);
	json_decref(dp);
}

static void test_no_observations_is_not_a_problem(void **state)
{
	json_t *dp = load_json("dp_scrape.json");
	struct driftsource_data w;
	struct drifteval_input in = {.dp = dp, .window = &w};
	struct drifteval_result r;

	(void)state;
	reading("t0.prom", &w);
	/* the same reading twice: nothing happened in the window */
	{
		struct driftsource_data same;

		assert_int_equal(driftsource_increase(&w, &w, &same), 0);
		driftsource_data_release(&w);
		w = same;
	}
	driftsource_finish(&w);
	assert_int_equal(drifteval_run(&in, &r), 0);
	assert_int_equal(r.nscored, 0);
	assert_int_equal(r.nmissing, 0);
	assert_false(r.drift);
	assert_non_null(strstr(feature(&r, "amount_aed")->problem, "no observations"));
	assert_false(r.has_latency);
	assert_false(r.has_error_rate);
	drifteval_result_release(&r);
	driftsource_data_release(&w);
	json_decref(dp);
}

static void test_configmap_baseline(void **state)
{
	json_t *dp = load_json("dp_scrape.json");
	json_t *cms = json_pack("{s:{s:s}}", "baselines", "amount.json",
				"{\"edges\":[50,200,1000,5000],\"counts\":[18.3,41.2,26.1,11.5,2.9]}");
	struct driftsource_data w;
	struct drifteval_input in = {.dp = dp, .window = &w, .configmaps = cms};
	struct drifteval_result r;

	(void)state;
	window("t1_drift_slo.prom", &w);
	json_object_set_new(
	    json_path(dp, "spec.features.0"), "baseline",
	    json_pack("{s:{s:s, s:s}}", "configMapRef", "name", "baselines", "key", "amount.json"));
	assert_int_equal(drifteval_run(&in, &r), 0);
	assert_true(feature(&r, "amount_aed")->scored);
	assert_true(feature(&r, "amount_aed")->drifted);
	drifteval_result_release(&r);
	/* the ConfigMap is missing: the feature says so */
	in.configmaps = NULL;
	assert_int_equal(drifteval_run(&in, &r), 0);
	assert_true(feature(&r, "amount_aed")->missing);
	assert_non_null(
	    strstr(feature(&r, "amount_aed")->problem, "ConfigMap baselines has no key amount.json"));
	drifteval_result_release(&r);
	driftsource_data_release(&w);
	json_decref(cms);
	json_decref(dp);
}

static void test_capture_then_compare(void **state)
{
	json_t *dp = load_json("dp_scrape.json"), *doc = NULL;
	struct driftsource_data w, w2;
	struct drifteval_input in = {.dp = dp, .window = &w2};
	struct drifteval_result r;
	char err[256] = "";

	(void)state;
	json_object_del(json_object_get(dp, "spec"), "features");
	json_object_set_new(json_object_get(dp, "spec"), "baseline", json_pack("{s:b}", "capture", 1));
	assert_true(drifteval_needs_capture(dp, NULL));
	window("t1_nodrift.prom", &w);
	assert_int_equal(drifteval_capture(dp, &w, &doc, err, sizeof(err)), 0);
	assert_false(drifteval_needs_capture(dp, doc));
	assert_int_equal(json_array_size(json_path(doc, "features.amount_aed.edges")), 4);
	assert_true(json_number_value(json_path(doc, "features.amount_aed.counts.1")) == 824);
	assert_true(json_number_value(json_path(doc, "features.channel.categories.wallet")) == 460);
	/* the next windows compare with it, with psi */
	in.captured = doc;
	window("t1_drift_slo.prom", &w2);
	assert_int_equal(drifteval_run(&in, &r), 0);
	assert_int_equal(r.nfeatures, 2);
	assert_int_equal(feature(&r, "amount_aed")->method, DRIFT_PSI);
	assert_true(feature(&r, "amount_aed")->drifted);
	assert_true(feature(&r, "channel")->drifted);
	drifteval_result_release(&r);
	driftsource_data_release(&w2);
	json_decref(doc);
	/* a listed feature without a baseline needs observations to be captured */
	json_object_set_new(
	    json_object_get(dp, "spec"), "features",
	    json_pack("[{s:s, s:s, s:s}]", "name", "age", "type", "numerical", "method", "ks"));
	assert_true(drifteval_needs_capture(dp, NULL));
	assert_int_equal(drifteval_capture(dp, &w, &doc, err, sizeof(err)), SAQR_EEMPTY);
	assert_non_null(strstr(err, "feature age had no observations"));
	json_object_set_new(json_path(dp, "spec.baseline"), "capture", json_false());
	assert_false(drifteval_needs_capture(dp, NULL));
	driftsource_data_release(&w);
	json_decref(dp);
}

/* ---- status ---- */

static const char *cond_field(const json_t *st, const char *type, const char *field)
{
	return json_path_str(cond_find(json_object_get(st, "conditions"), type), field, "");
}

static void test_status_after_an_evaluation(void **state)
{
	json_t *dp = load_json("dp_scrape.json"), *st = NULL, *st2 = NULL,
	       *inc = json_pack("[{s:s}]", "id", "x-1");
	struct driftsource_data w;
	struct drifteval_input in = {.dp = dp, .window = &w};
	struct drifteval_result r;
	struct drifteval_report rep = {.state = DRIFTEVAL_EVALUATED,
				       .dp = dp,
				       .result = &r,
				       .window_seconds = 600,
				       .pods = 2,
				       .incidents = inc,
				       .evaluated_at = "2026-01-10T10:00:00Z",
				       .generation = 3};

	(void)state;
	window("t1_drift_slo.prom", &w);
	assert_int_equal(drifteval_run(&in, &r), 0);
	assert_int_equal(drifteval_status(NULL, &rep, "2026-01-10T10:00:00Z", &st), 0);
	assert_int_equal(json_path_int(st, "observedGeneration", 0), 3);
	assert_string_equal(json_path_str(st, "lastEvaluationTime", ""), "2026-01-10T10:00:00Z");
	assert_string_equal(cond_field(st, "Ready", "reason"), "Evaluated");
	assert_string_equal(cond_field(st, "Ready", "message"),
			    "scored 2 of 2 features over 600 s from 2 pods");
	assert_string_equal(cond_field(st, "DriftDetected", "status"), "True");
	assert_string_equal(cond_field(st, "DriftDetected", "reason"), "FeatureDrift");
	assert_string_equal(cond_field(st, "SLOBreached", "reason"), "LatencySLO");
	assert_string_equal(cond_field(st, "Degraded", "status"), "False");
	assert_string_equal(json_path_str(st, "features.0.name", ""), "amount_aed");
	assert_true(json_path_bool(st, "features.0.drifted", false, NULL));
	assert_true(json_number_value(json_path(st, "latencyP99Ms")) == 900);
	assert_true(json_number_value(json_path(st, "errorRatePercent")) == 5);
	assert_string_equal(json_path_str(st, "incidents.0.id", ""), "x-1");
	assert_null(json_object_get(st, "pendingNotifications"));
	/* the same findings later: nothing but lastEvaluationTime moves */
	rep.evaluated_at = "2026-01-10T10:10:00Z";
	assert_int_equal(drifteval_status(st, &rep, "2026-01-10T10:10:00Z", &st2), 0);
	assert_string_equal(cond_field(st2, "DriftDetected", "lastTransitionTime"), "2026-01-10T10:00:00Z");
	json_object_set_new(st2, "lastEvaluationTime", json_string("2026-01-10T10:00:00Z"));
	assert_true(cond_status_equal(st, st2));
	json_decref(st2);
	/* a reconcile without an evaluation changes nothing: no write */
	rep.evaluated_at = NULL;
	rep.incidents = NULL;
	assert_int_equal(drifteval_status(st, &rep, "2026-01-10T10:05:00Z", &st2), 0);
	assert_true(cond_status_equal(st, st2));
	json_decref(st2);
	drifteval_result_release(&r);
	driftsource_data_release(&w);
	json_decref(st);
	json_decref(inc);
	json_decref(dp);
}

static void test_status_when_the_source_fails(void **state)
{
	json_t *dp = load_json("dp_scrape.json"), *st = NULL, *st2 = NULL, *none = json_array();
	struct driftsource_data w;
	struct drifteval_input in = {.dp = dp, .window = &w};
	struct drifteval_result r;
	struct drifteval_report rep = {.state = DRIFTEVAL_EVALUATED,
				       .dp = dp,
				       .result = &r,
				       .window_seconds = 600,
				       .evaluated_at = "2026-01-10T10:00:00Z",
				       .generation = 3};

	(void)state;
	window("t1_drift_slo.prom", &w);
	assert_int_equal(drifteval_run(&in, &r), 0);
	assert_int_equal(drifteval_status(NULL, &rep, "2026-01-10T10:00:00Z", &st), 0);
	rep = (struct drifteval_report){.state = DRIFTEVAL_SOURCE_UNAVAILABLE,
					.dp = dp,
					.message = "10.1.0.5:9090: Connection refused",
					.generation = 3,
					.pending = none};
	assert_int_equal(drifteval_status(st, &rep, "2026-01-10T10:10:00Z", &st2), 0);
	/* unreadable is not "no drift": the last verdict stays, Ready and Degraded say why */
	assert_string_equal(cond_field(st2, "Ready", "status"), "False");
	assert_string_equal(cond_field(st2, "Ready", "reason"), "SourceUnavailable");
	assert_string_equal(cond_field(st2, "DriftDetected", "status"), "True");
	assert_string_equal(cond_field(st2, "DriftDetected", "lastTransitionTime"), "2026-01-10T10:00:00Z");
	assert_string_equal(cond_field(st2, "Degraded", "reason"), "SourceUnavailable");
	assert_string_equal(cond_field(st2, "Degraded", "message"), "10.1.0.5:9090: Connection refused");
	assert_string_equal(json_path_str(st2, "lastEvaluationTime", ""), "2026-01-10T10:00:00Z");
	assert_true(json_number_value(json_path(st2, "latencyP99Ms")) == 900);
	json_decref(st2);
	/* the first reading, with no status before: Unknown everywhere */
	rep = (struct drifteval_report){.state = DRIFTEVAL_WAITING_FOR_WINDOW,
					.dp = dp,
					.message = "first reading recorded",
					.generation = 3};
	assert_int_equal(drifteval_status(NULL, &rep, "2026-01-10T10:10:00Z", &st2), 0);
	assert_string_equal(cond_field(st2, "Ready", "status"), "Unknown");
	assert_string_equal(cond_field(st2, "Ready", "reason"), "WaitingForWindow");
	assert_string_equal(cond_field(st2, "DriftDetected", "status"), "Unknown");
	assert_string_equal(cond_field(st2, "SLOBreached", "reason"), "WaitingForWindow");
	assert_string_equal(cond_field(st2, "Degraded", "status"), "False");
	assert_null(json_object_get(st2, "lastEvaluationTime"));
	json_decref(st2);
	/* trouble elsewhere (an action failed) shows in Degraded */
	rep = (struct drifteval_report){.state = DRIFTEVAL_EVALUATED,
					.dp = dp,
					.result = &r,
					.generation = 3,
					.degraded_reason = "ActionFailed",
					.degraded_message = "retrain: forbidden"};
	assert_int_equal(drifteval_status(st, &rep, "2026-01-10T10:10:00Z", &st2), 0);
	assert_string_equal(cond_field(st2, "Degraded", "reason"), "ActionFailed");
	assert_string_equal(cond_field(st2, "Degraded", "message"), "retrain: forbidden");
	json_decref(st2);
	/* bad reports */
	rep.result = NULL;
	assert_int_equal(drifteval_status(st, &rep, "2026-01-10T10:10:00Z", &st2), SAQR_EINVAL);
	rep.state = (enum drifteval_state)99;
	assert_int_equal(drifteval_status(st, &rep, "2026-01-10T10:10:00Z", &st2), SAQR_EINVAL);
	drifteval_result_release(&r);
	driftsource_data_release(&w);
	json_decref(st);
	json_decref(none);
	json_decref(dp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_durations),
	    cmocka_unit_test(test_baselines),
	    cmocka_unit_test(test_no_drift_within_objectives),
	    cmocka_unit_test(test_drift_and_slo_breaches),
	    cmocka_unit_test(test_counter_reset_is_no_drift),
	    cmocka_unit_test(test_missing_and_mismatched_metrics),
	    cmocka_unit_test(test_no_observations_is_not_a_problem),
	    cmocka_unit_test(test_configmap_baseline),
	    cmocka_unit_test(test_capture_then_compare),
	    cmocka_unit_test(test_status_after_an_evaluation),
	    cmocka_unit_test(test_status_when_the_source_fails),
	};

	return cmocka_run_group_tests_name("drifteval", tests, NULL, NULL);
}
