/* Unit tests for operator/driftpolicy/incident.c: open once per cooldown, resolve, queue one
 * notification per sink, backoff of failed deliveries, bounded lists, time parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "operator/driftpolicy/incident.h"

static const char *const sinks[] = {"alertmanager", "webhook"};
static const struct incident_cfg cfg = {
    .policy_name = "fraud-drift",
    .cooldown_seconds = 3600,
    .nsinks = 2,
    .sink_types = sinks,
    .retrain = true,
    .rollback = false,
};
static const struct incident_eval breach = {
    .breached = true, .reason = "DriftDetected", .summary = "age drifted"};
static const struct incident_eval calm = {.breached = false};

#define T0 1795705200 /* 2026-11-26T15:00:00Z */

static json_t *status_of(const struct incident_plan *p)
{
	return json_pack("{s:O, s:O}", "incidents", p->incidents, "pendingNotifications", p->pending);
}

static void test_breach_opens_incident_and_queues_each_sink(void **state)
{
	struct incident_plan p;

	(void)state;
	assert_int_equal(incident_step(NULL, &breach, &cfg, T0, &p), 0);
	assert_string_equal(p.opened, "fraud-drift-20261126-150000");
	assert_null(p.resolved);
	assert_true(p.retrain);
	assert_false(p.rollback);
	assert_int_equal(json_array_size(p.incidents), 1);
	assert_string_equal(json_path_str(p.incidents, "0.openedAt", ""), "2026-11-26T15:00:00Z");
	assert_string_equal(json_path_str(p.incidents, "0.reason", ""), "DriftDetected");
	assert_int_equal(json_array_size(p.pending), 2);
	assert_string_equal(json_path_str(p.pending, "0.id", ""), "fraud-drift-20261126-150000/0/trigger");
	assert_string_equal(json_path_str(p.pending, "1.type", ""), "webhook");
	assert_string_equal(json_path_str(p.pending, "1.action", ""), "trigger");
	incident_plan_release(&p);
}

static void test_open_incident_is_not_reopened(void **state)
{
	struct incident_plan p, q;
	json_t *st;

	(void)state;
	assert_int_equal(incident_step(NULL, &breach, &cfg, T0, &p), 0);
	st = status_of(&p);
	assert_int_equal(incident_step(st, &breach, &cfg, T0 + 300, &q), 0);
	assert_null(q.opened);
	assert_false(q.retrain);
	assert_int_equal(json_array_size(q.incidents), 1);
	assert_int_equal(json_array_size(q.pending), 2);
	incident_plan_release(&q);
	incident_plan_release(&p);
	json_decref(st);
}

static void test_resolve_then_cooldown_then_reopen(void **state)
{
	struct incident_plan p, q, r, s;
	json_t *st1, *st2;

	(void)state;
	assert_int_equal(incident_step(NULL, &breach, &cfg, T0, &p), 0);
	json_array_clear(p.pending); /* delivered */
	st1 = status_of(&p);
	assert_int_equal(incident_step(st1, &calm, &cfg, T0 + 600, &q), 0);
	assert_string_equal(q.resolved, "fraud-drift-20261126-150000");
	assert_string_equal(json_path_str(q.incidents, "0.resolvedAt", ""), "2026-11-26T15:10:00Z");
	assert_int_equal(json_array_size(q.pending), 2);
	assert_string_equal(json_path_str(q.pending, "0.action", ""), "resolve");
	st2 = status_of(&q);
	/* Within the cooldown: suppressed. */
	assert_int_equal(incident_step(st2, &breach, &cfg, T0 + 1200, &r), 0);
	assert_true(r.suppressed);
	assert_null(r.opened);
	/* After it: a new incident. */
	assert_int_equal(incident_step(st2, &breach, &cfg, T0 + 3600, &s), 0);
	assert_string_equal(s.opened, "fraud-drift-20261126-160000");
	assert_int_equal(json_array_size(s.incidents), 2);
	incident_plan_release(&s);
	incident_plan_release(&r);
	incident_plan_release(&q);
	incident_plan_release(&p);
	json_decref(st1);
	json_decref(st2);
}

static void test_calm_without_incident_changes_nothing(void **state)
{
	struct incident_plan p;

	(void)state;
	assert_int_equal(incident_step(NULL, &calm, &cfg, T0, &p), 0);
	assert_null(p.opened);
	assert_null(p.resolved);
	assert_int_equal(json_array_size(p.incidents), 0);
	assert_int_equal(json_array_size(p.pending), 0);
	incident_plan_release(&p);
}

static void test_lists_are_bounded(void **state)
{
	json_t *incs = json_array(), *pend = json_array(), *st;
	struct incident_plan p;
	char when[32];

	(void)state;
	for (int i = 0; i < INCIDENT_MAX_KEPT; i++) {
		incident_time_format(T0 - 86400 + i * 60, when, sizeof(when));
		json_array_append_new(
		    incs, json_pack("{s:s, s:s, s:s}", "id", "old", "openedAt", when, "resolvedAt", when));
	}
	for (int i = 0; i < INCIDENT_MAX_PENDING - 1; i++)
		json_array_append_new(pend, json_pack("{s:s}", "id", "x"));
	st = json_pack("{s:o, s:o}", "incidents", incs, "pendingNotifications", pend);
	assert_int_equal(incident_step(st, &breach, &cfg, T0, &p), 0);
	assert_int_equal(json_array_size(p.incidents), INCIDENT_MAX_KEPT);
	assert_string_equal(json_path_str(p.incidents, "19.id", ""), p.opened);
	assert_int_equal(json_array_size(p.pending), INCIDENT_MAX_PENDING);
	assert_int_equal(p.dropped, 1);
	incident_plan_release(&p);
	json_decref(st);
}

static void test_failed_delivery_backs_off(void **state)
{
	json_t *e =
	    json_pack("{s:s, s:i, s:s}", "id", "x", "attempts", 0, "nextAttemptAt", "2026-11-26T15:00:00Z");

	(void)state;
	assert_true(incident_pending_due(e, T0));
	assert_false(incident_pending_due(e, T0 - 1));
	assert_int_equal(incident_pending_failed(e, "connection refused", T0), 0);
	assert_string_equal(json_path_str(e, "nextAttemptAt", ""), "2026-11-26T15:00:05Z");
	assert_int_equal(incident_pending_failed(e, "connection refused", T0), 0);
	assert_string_equal(json_path_str(e, "nextAttemptAt", ""), "2026-11-26T15:00:10Z");
	for (int i = 0; i < 20; i++)
		incident_pending_failed(e, "still down", T0);
	assert_string_equal(json_path_str(e, "nextAttemptAt", ""), "2026-11-26T15:10:00Z");
	assert_int_equal(json_path_int(e, "attempts", 0), 22);
	assert_string_equal(json_path_str(e, "lastError", ""), "still down");
	json_decref(e);
}

static void test_time_parse(void **state)
{
	time_t t;

	(void)state;
	assert_int_equal(incident_time_parse("2026-11-26T15:00:00Z", &t), 0);
	assert_int_equal(t, T0);
	assert_int_equal(incident_time_parse("2026-11-26T15:00:00.123456Z", &t), 0);
	assert_int_equal(t, T0);
	assert_int_equal(incident_time_parse("2026-11-26T15:00:00+00:00", &t), 0);
	assert_int_equal(incident_time_parse("2026-11-26 15:00", &t), SAQR_EINVAL);
	assert_int_equal(incident_time_parse("2026-11-26T15:00:00+04:00", &t), SAQR_EINVAL);
	assert_int_equal(incident_time_parse(NULL, &t), SAQR_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_breach_opens_incident_and_queues_each_sink),
	    cmocka_unit_test(test_open_incident_is_not_reopened),
	    cmocka_unit_test(test_resolve_then_cooldown_then_reopen),
	    cmocka_unit_test(test_calm_without_incident_changes_nothing),
	    cmocka_unit_test(test_lists_are_bounded),
	    cmocka_unit_test(test_failed_delivery_backs_off),
	    cmocka_unit_test(test_time_parse),
	};

	return cmocka_run_group_tests_name("incident", tests, NULL, NULL);
}
