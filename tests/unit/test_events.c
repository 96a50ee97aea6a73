/* Unit tests for operator/runtime/events.c: the Event body and series patch, validation of
 * what is recorded, aggregation of repeats into series (in the queue and within the window),
 * a new Event after the window or when the old one expired, the bounded queue, stop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "common/metrics.h"
#include "operator/runtime/events.h"
#include "../support/ctrltest.h"

#define WALL 1736503590.25 /* 2025-01-10T10:06:30.250000Z */

static double fake_mono;
static double fake_wall;

static double mono_clock(void)
{
	return fake_mono;
}

static double wall_clock(void)
{
	return fake_wall;
}

static json_t *model(void)
{
	return json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s}}", "apiVersion", "saqr.dev/v1alpha1", "kind",
			 "ModelDeployment", "metadata", "name", "fraud", "namespace", "ml", "uid",
			 "9f1c2d3e-0000-4000-8000-000000000001", "resourceVersion", "777");
}

static void test_reference(void **state)
{
	json_t *obj = model(), *ref;

	(void)state;
	assert_int_equal(events_reference(obj, &ref), 0);
	assert_string_equal(json_path_str(ref, "apiVersion", ""), "saqr.dev/v1alpha1");
	assert_string_equal(json_path_str(ref, "kind", ""), "ModelDeployment");
	assert_string_equal(json_path_str(ref, "namespace", ""), "ml");
	assert_string_equal(json_path_str(ref, "name", ""), "fraud");
	assert_string_equal(json_path_str(ref, "uid", ""), "9f1c2d3e-0000-4000-8000-000000000001");
	assert_string_equal(json_path_str(ref, "resourceVersion", ""), "777");
	assert_int_equal(json_object_size(ref), 6);
	json_decref(ref);
	json_object_del(obj, "kind");
	assert_int_equal(events_reference(obj, &ref), SAQR_EINVAL);
	json_decref(obj);
}

static void test_build_body(void **state)
{
	json_t *obj = model(), *ref, *ev;
	char name[400];

	(void)state;
	assert_int_equal(events_reference(obj, &ref), 0);
	assert_int_equal(events_build("saqr-operator", "saqr-operator-7d9f-a", ref, "Warning",
				      "RolloutFailed", "Reconcile", "deployment fraud-model: 0/2 ready", WALL,
				      WALL + 5, 1, &ev),
			 0);
	assert_string_equal(json_path_str(ev, "apiVersion", ""), "events.k8s.io/v1");
	assert_string_equal(json_path_str(ev, "kind", ""), "Event");
	assert_string_equal(json_path_str(ev, "metadata.namespace", ""), "ml");
	/* Name: regarding name and the first time in hex nanoseconds. */
	snprintf(name, sizeof(name), "fraud.%016llx", (unsigned long long)(WALL * 1e9));
	assert_string_equal(json_path_str(ev, "metadata.name", ""), name);
	assert_string_equal(json_path_str(ev, "eventTime", ""), "2025-01-10T10:06:30.250000Z");
	assert_string_equal(json_path_str(ev, "reportingController", ""), "saqr-operator");
	assert_string_equal(json_path_str(ev, "reportingInstance", ""), "saqr-operator-7d9f-a");
	assert_string_equal(json_path_str(ev, "type", ""), "Warning");
	assert_string_equal(json_path_str(ev, "reason", ""), "RolloutFailed");
	assert_string_equal(json_path_str(ev, "action", ""), "Reconcile");
	assert_string_equal(json_path_str(ev, "note", ""), "deployment fraud-model: 0/2 ready");
	assert_true(json_equal(json_object_get(ev, "regarding"), ref));
	assert_null(json_object_get(ev, "series"));
	json_decref(ev);
	/* Several occurrences before the first post: created with its series. */
	assert_int_equal(events_build("c", "i", ref, "Normal", "R", "A", "n", WALL, WALL + 5, 3, &ev), 0);
	assert_int_equal(json_path_int(ev, "series.count", 0), 3);
	assert_string_equal(json_path_str(ev, "series.lastObservedTime", ""), "2025-01-10T10:06:35.250000Z");
	json_decref(ev);
	json_decref(ref);
	json_decref(obj);
}

static void test_build_cluster_scoped_and_long_name(void **state)
{
	char longname[300];
	json_t *ref, *ev;

	(void)state;
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ref = json_pack("{s:s, s:s, s:s}", "apiVersion", "v1", "kind", "Namespace", "name", longname);
	assert_int_equal(events_build("c", "i", ref, "Normal", "R", "A", "n", WALL, WALL, 1, &ev), 0);
	assert_string_equal(json_path_str(ev, "metadata.namespace", ""), "default");
	assert_int_equal(strlen(json_path_str(ev, "metadata.name", "")), 253);
	json_decref(ev);
	json_decref(ref);
}

static void test_series_patch(void **state)
{
	json_t *p;

	(void)state;
	assert_int_equal(events_series_patch(7, WALL, &p), 0);
	assert_int_equal(json_object_size(p), 1);
	assert_int_equal(json_path_int(p, "series.count", 0), 7);
	assert_string_equal(json_path_str(p, "series.lastObservedTime", ""), "2025-01-10T10:06:30.250000Z");
	json_decref(p);
}

struct fx {
	struct ctrltest_ops f;
	struct events_recorder *r;
	struct metrics *m;
	json_t *obj;
};

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));
	struct events_config cfg = {.instance = "saqr-operator-7d9f-a",
				    .qps = -1,
				    .clock = mono_clock,
				    .wall = wall_clock,
				    .queue_cap = 4};

	assert_non_null(x);
	ctrltest_ops_init(&x->f);
	x->f.echo_writes = true;
	x->m = metrics_new();
	cfg.metrics = x->m;
	fake_mono = 1000;
	fake_wall = WALL;
	assert_int_equal(events_recorder_new(&x->f.ops, &cfg, &x->r), 0);
	x->obj = model();
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;

	events_recorder_free(x->r);
	ctrltest_ops_release(&x->f);
	metrics_free(x->m);
	json_decref(x->obj);
	free(x);
	return 0;
}

static void test_record_validation(void **state)
{
	struct fx *x = *state;
	char reason[200];
	json_t *bad = json_object();

	memset(reason, 'R', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	assert_int_equal(events_record(x->r, x->obj, "Info", "R", "A", "n"), SAQR_EINVAL);
	assert_int_equal(events_record(x->r, x->obj, "Normal", "", "A", "n"), SAQR_EINVAL);
	assert_int_equal(events_record(x->r, x->obj, "Normal", reason, "A", "n"), SAQR_EINVAL);
	assert_int_equal(events_record(x->r, x->obj, "Normal", "R", "", "n"), SAQR_EINVAL);
	assert_int_equal(events_record(x->r, bad, "Normal", "R", "A", "n"), SAQR_EINVAL);
	assert_int_equal(events_record(x->r, x->obj, "Normal", "R", "A", "bad utf-8 \xff"), SAQR_EINVAL);
	json_decref(bad);
	assert_int_equal(ctrltest_ncalls(&x->f, CTRLTEST_CREATE), 0);
	{
		struct events_config cfg = {0};
		struct events_recorder *r;

		assert_int_equal(events_recorder_new(&x->f.ops, &cfg, &r), SAQR_EINVAL);
	}
}

static void test_long_note_cut_on_character(void **state)
{
	struct fx *x = *state;
	char note[1100];
	const char *sent;

	/* 1023 ASCII bytes then a 2-byte character: the cut falls inside it, so it goes. */
	memset(note, 'a', 1023);
	memcpy(note + 1023, "\xc3\xa9tail", 7);
	assert_int_equal(events_record(x->r, x->obj, "Normal", "R", "A", "%s", note), 0);
	assert_int_equal(events_recorder_start(x->r), 0);
	assert_int_equal(events_recorder_flush(x->r, 3600), 0);
	sent = json_path_str(ctrltest_call(&x->f, CTRLTEST_CREATE, 0)->body, "note", "");
	assert_int_equal(strlen(sent), 1023);
}

static void test_aggregation_in_window(void **state)
{
	struct fx *x = *state;
	const struct ctrltest_call *c;
	char name[300];
	struct events_stats st;

	assert_int_equal(events_recorder_start(x->r), 0);
	assert_int_equal(
	    events_record(x->r, x->obj, "Warning", "DriftDetected", "Evaluate", "psi %.2f", 0.31), 0);
	assert_int_equal(events_recorder_flush(x->r, 3600), 0);
	assert_int_equal(ctrltest_ncalls(&x->f, CTRLTEST_CREATE), 1);
	c = ctrltest_call(&x->f, CTRLTEST_CREATE, 0);
	assert_string_equal(c->resource, "events");
	assert_string_equal(c->ns, "ml");
	snprintf(name, sizeof(name), "%s", json_path_str(c->body, "metadata.name", ""));
	/* The same event a minute later: the series is patched, nothing new is created. */
	fake_mono += 60;
	fake_wall += 60;
	assert_int_equal(
	    events_record(x->r, x->obj, "Warning", "DriftDetected", "Evaluate", "psi %.2f", 0.31), 0);
	assert_int_equal(events_recorder_flush(x->r, 3600), 0);
	assert_int_equal(ctrltest_ncalls(&x->f, CTRLTEST_CREATE), 1);
	assert_int_equal(ctrltest_ncalls(&x->f, CTRLTEST_PATCH), 1);
	c = ctrltest_call(&x->f, CTRLTEST_PATCH, 0);
	assert_string_equal(c->name, name);
	assert_string_equal(c->ns, "ml");
	assert_int_equal(c->patch_type, KUBE_PATCH_MERGE);
	assert_int_equal(json_path_int(c->body, "series.count", 0), 2);
	assert_string_equal(json_path_str(c->body, "series.lastObservedTime", ""),
			    "2025-01-10T10:07:30.250000Z");
	/* Sliding window: 9 minutes after the last one is still the same series. */
	fake_mono += 540;
	fake_wall += 540;
	events_record(x->r, x->obj, "Warning", "DriftDetected", "Evaluate", "psi %.2f", 0.31);
	assert_int_equal(events_recorder_flush(x->r, 3600), 0);
	assert_int_equal(json_path_int(ctrltest_call(&x->f, CTRLTEST_PATCH, 1)->body, "series.count", 0), 3);
	/* Another note is another event. */
	events_record(x->r, x->obj, "Warning", "DriftDetected", "Evaluate", "psi %.2f", 0.45);
	assert_int_equal(events_recorder_flush(x->r, 3600), 0);
	assert_int_equal(ctrltest_ncalls(&x->f, CTRLTEST_CREATE), 2);
	/* More than 10 minutes later: a new Event. */
	fake_mono += 601;
	fake_wall += 601;
	events_record(x->r, x->obj, "Warning", "DriftDetected", "Evaluate", "psi %.2f", 0.31);
	assert_int_equal(events_recorder_flush(x->r, 3600), 0);
	assert_int_equal(ctrltest_ncalls(&x->f, CTRLTEST_CREATE), 3);
	assert_null(json_object_get(ctrltest_call(&x->f, CTRLTEST_CREATE, 2)->body, "series"));
	assert_string_not_equal(
	    json_path_str(ctrltest_call(&x->f, CTRLTEST_CREATE, 2)->body, "metadata.name", ""), name);
	events_recorder_stats(x->r, &st);
	assert_int_equal(st.created, 3);
	assert_int_equal(st.aggregated, 2);
	assert_int_equal(st.failed, 0);
	assert_true(metrics_value(x->m, "saqr_events_total", "result=\"created\"") == 3);
	assert_true(metrics_value(x->m, "saqr_events_total", "result=\"aggregated\"") == 2);
}

static void test_repeats_folded_in_queue(void **state)
{
	struct fx *x = *state;
	struct events_stats st;

	/* Not started yet: five identical events wait as one item (the queue holds only 4). */
	for (int i = 0; i < 5; i++) {
		fake_wall = WALL + i;
		assert_int_equal(events_record(x->r, x->obj, "Normal", "Scaled", "Reconcile", "replicas 3"),
				 0);
	}
	assert_int_equal(events_recorder_start(x->r), 0);
	assert_int_equal(events_recorder_flush(x->r, 3600), 0);
	assert_int_equal(ctrltest_ncalls(&x->f, CTRLTEST_CREATE), 1);
	assert_int_equal(ctrltest_ncalls(&x->f, CTRLTEST_PATCH), 0);
	assert_int_equal(json_path_int(ctrltest_call(&x->f, CTRLTEST_CREATE, 0)->body, "series.count", 0), 5);
	assert_string_equal(json_path_str(ctrltest_call(&x->f, CTRLTEST_CREATE, 0)->body, "eventTime", ""),
			    "2025-01-10T10:06:30.250000Z");
	events_recorder_stats(x->r, &st);
	assert_int_equal(st.created, 1);
	assert_int_equal(st.aggregated, 4);
}

static void test_queue_full_drops(void **state)
{
	struct fx *x = *state;
	struct events_stats st;

	for (int i = 0; i < 4; i++)
		assert_int_equal(events_record(x->r, x->obj, "Normal", "Step", "Reconcile", "step %d", i), 0);
	assert_int_equal(events_record(x->r, x->obj, "Normal", "Step", "Reconcile", "step %d", 4),
			 SAQR_EBUSY);
	/* A repeat of a queued event still folds in. */
	assert_int_equal(events_record(x->r, x->obj, "Normal", "Step", "Reconcile", "step %d", 0), 0);
	events_recorder_stats(x->r, &st);
	assert_int_equal(st.dropped, 1);
	assert_int_equal(events_recorder_flush(x->r, 0.001), SAQR_ETIMEDOUT); /* not started */
	/* Stop drops what is still queued, and refuses more. */
	events_recorder_stop(x->r);
	events_recorder_stats(x->r, &st);
	assert_int_equal(st.dropped, 1 + 5);
	assert_int_equal(events_record(x->r, x->obj, "Normal", "Step", "Reconcile", "late"), SAQR_ECLOSED);
	assert_int_equal(ctrltest_ncalls(&x->f, CTRLTEST_CREATE), 0);
	assert_true(metrics_value(x->m, "saqr_events_total", "result=\"dropped\"") == 6);
}

static void test_expired_event_recreated_and_failures(void **state)
{
	struct fx *x = *state;
	struct events_stats st;

	assert_int_equal(events_recorder_start(x->r), 0);
	events_record(x->r, x->obj, "Normal", "Ready", "Reconcile", "ok");
	assert_int_equal(events_recorder_flush(x->r, 3600), 0);
	/* The API server's event TTL removed it: the patch says NotFound, so create again. */
	ctrltest_reply(&x->f, CTRLTEST_PATCH, SAQR_ENOTFOUND, NULL);
	fake_mono += 10;
	events_record(x->r, x->obj, "Normal", "Ready", "Reconcile", "ok");
	assert_int_equal(events_recorder_flush(x->r, 3600), 0);
	assert_int_equal(ctrltest_ncalls(&x->f, CTRLTEST_PATCH), 1);
	assert_int_equal(ctrltest_ncalls(&x->f, CTRLTEST_CREATE), 2);
	/* A failed create is counted and not remembered: the next one creates again. */
	ctrltest_reply(&x->f, CTRLTEST_CREATE, SAQR_EFORBIDDEN, NULL);
	events_record(x->r, x->obj, "Warning", "Failed", "Reconcile", "boom");
	assert_int_equal(events_recorder_flush(x->r, 3600), 0);
	events_record(x->r, x->obj, "Warning", "Failed", "Reconcile", "boom");
	assert_int_equal(events_recorder_flush(x->r, 3600), 0);
	assert_int_equal(ctrltest_ncalls(&x->f, CTRLTEST_CREATE), 4);
	/* A failed patch is counted. */
	ctrltest_reply(&x->f, CTRLTEST_PATCH, SAQR_ETRANSPORT, NULL);
	events_record(x->r, x->obj, "Warning", "Failed", "Reconcile", "boom");
	assert_int_equal(events_recorder_flush(x->r, 3600), 0);
	events_recorder_stats(x->r, &st);
	assert_int_equal(st.created, 3);
	assert_int_equal(st.failed, 2);
	assert_int_equal(events_recorder_start(x->r), SAQR_EBUSY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reference),
	    cmocka_unit_test(test_build_body),
	    cmocka_unit_test(test_build_cluster_scoped_and_long_name),
	    cmocka_unit_test(test_series_patch),
	    cmocka_unit_test_setup_teardown(test_record_validation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_long_note_cut_on_character, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_aggregation_in_window, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_repeats_folded_in_queue, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_queue_full_drops, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_expired_event_recreated_and_failures, setup, teardown),
	};

	return cmocka_run_group_tests_name("events", tests, NULL, NULL);
}
