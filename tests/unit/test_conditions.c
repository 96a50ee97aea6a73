/* Unit tests for operator/conditions.c: set with lastTransitionTime carry-over, find,
 * reason validation, message cap, order-insensitive comparison of conditions and statuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "operator/conditions.h"

#define T0 "2024-05-01T10:00:00Z"
#define T1 "2024-05-01T11:00:00Z"

static void test_set_appends_full_condition(void **state)
{
	struct cond c = {"Ready", COND_TRUE, "RolloutComplete", "all good", 4};
	json_t *conds = json_array();
	json_t *r;

	(void)state;
	assert_int_equal(cond_set(conds, NULL, &c, T0), 0);
	assert_int_equal(json_array_size(conds), 1);
	r = cond_find(conds, "Ready");
	assert_non_null(r);
	assert_string_equal(json_path_str(r, "type", ""), "Ready");
	assert_string_equal(json_path_str(r, "status", ""), "True");
	assert_string_equal(json_path_str(r, "reason", ""), "RolloutComplete");
	assert_string_equal(json_path_str(r, "message", ""), "all good");
	assert_string_equal(json_path_str(r, "lastTransitionTime", ""), T0);
	assert_int_equal(json_path_int(r, "observedGeneration", -1), 4);
	assert_int_equal(json_object_size(r), 6);
	json_decref(conds);
}

static void test_set_replaces_in_place(void **state)
{
	struct cond a = {"Ready", COND_FALSE, "Pending", NULL, 1};
	struct cond b = {"Available", COND_TRUE, "MinimumReplicasAvailable", "ok", 1};
	struct cond a2 = {"Ready", COND_TRUE, "RolloutComplete", "done", 2};
	json_t *conds = json_array();

	(void)state;
	assert_int_equal(cond_set(conds, NULL, &a, T0), 0);
	assert_int_equal(cond_set(conds, NULL, &b, T0), 0);
	assert_string_equal(json_path_str(conds, "0.message", "x"), ""); /* NULL message → "" */
	assert_int_equal(cond_set(conds, NULL, &a2, T1), 0);
	assert_int_equal(json_array_size(conds), 2);
	assert_string_equal(json_path_str(conds, "0.type", ""), "Ready");
	assert_string_equal(json_path_str(conds, "0.status", ""), "True");
	assert_string_equal(json_path_str(conds, "1.type", ""), "Available");
	json_decref(conds);
}

static void test_transition_time_carry_over(void **state)
{
	struct cond same = {"Ready", COND_TRUE, "Other", "message changed", 9};
	struct cond flip = {"Ready", COND_FALSE, "Broken", "x", 9};
	json_t *prev =
	    json_pack("[{s:s, s:s, s:s, s:s, s:s, s:i}]", "type", "Ready", "status", "True",
		      "lastTransitionTime", T0, "reason", "Ok", "message", "", "observedGeneration", 1);
	json_t *conds = json_array();

	(void)state;
	/* status unchanged: the old transition time stays, even when reason/message change */
	assert_int_equal(cond_set(conds, prev, &same, T1), 0);
	assert_string_equal(json_path_str(conds, "0.lastTransitionTime", ""), T0);
	assert_string_equal(json_path_str(conds, "0.reason", ""), "Other");
	assert_int_equal(json_path_int(conds, "0.observedGeneration", 0), 9);
	/* status changed: now */
	assert_int_equal(cond_set(conds, prev, &flip, T1), 0);
	assert_string_equal(json_path_str(conds, "0.lastTransitionTime", ""), T1);
	json_decref(prev);
	json_decref(conds);
}

static void test_set_rejects_bad_input(void **state)
{
	struct cond bad_status = {"Ready", "Yes", "Ok", NULL, 0};
	struct cond bad_reason = {"Ready", COND_TRUE, "not valid", NULL, 0};
	struct cond no_type = {"", COND_TRUE, "Ok", NULL, 0};
	struct cond good = {"Ready", COND_TRUE, "Ok", NULL, 0};
	json_t *conds = json_array(), *obj = json_object();

	(void)state;
	assert_int_equal(cond_set(conds, NULL, &bad_status, T0), SAQR_EINVAL);
	assert_int_equal(cond_set(conds, NULL, &bad_reason, T0), SAQR_EINVAL);
	assert_int_equal(cond_set(conds, NULL, &no_type, T0), SAQR_EINVAL);
	assert_int_equal(cond_set(conds, NULL, &good, NULL), SAQR_EINVAL);
	assert_int_equal(cond_set(obj, NULL, &good, T0), SAQR_EINVAL);
	assert_int_equal(cond_set(conds, NULL, NULL, T0), SAQR_EINVAL);
	assert_int_equal(json_array_size(conds), 0);
	json_decref(conds);
	json_decref(obj);
}

static void test_reason_pattern(void **state)
{
	char longr[COND_REASON_MAX + 2];

	(void)state;
	assert_true(cond_reason_valid("A"));
	assert_true(cond_reason_valid("ProgressDeadlineExceeded"));
	assert_true(cond_reason_valid("Foo_Bar:Baz,Qux9"));
	assert_false(cond_reason_valid(NULL));
	assert_false(cond_reason_valid(""));
	assert_false(cond_reason_valid("9Lives"));
	assert_false(cond_reason_valid("Ends:"));
	assert_false(cond_reason_valid("Ends,"));
	assert_false(cond_reason_valid("Has Space"));
	assert_false(cond_reason_valid("dash-ed"));
	memset(longr, 'A', sizeof(longr) - 1);
	longr[sizeof(longr) - 1] = '\0';
	assert_false(cond_reason_valid(longr));
	assert_string_equal(cond_reason_or("Fine", "Def"), "Fine");
	assert_string_equal(cond_reason_or("not fine", "Def"), "Def");
	assert_string_equal(cond_reason_or(NULL, "Def"), "Def");
}

static void test_message_cut_on_utf8_boundary(void **state)
{
	size_t n = COND_MESSAGE_MAX + 10;
	char *msg = malloc(n + 1);
	struct cond c = {"Ready", COND_FALSE, "Long", msg, 0};
	json_t *conds = json_array();
	const char *got;

	(void)state;
	assert_non_null(msg);
	/* "é" is two bytes; put one across the cap */
	memset(msg, 'a', n);
	msg[COND_MESSAGE_MAX - 1] = (char)0xC3;
	msg[COND_MESSAGE_MAX] = (char)0xA9;
	msg[n] = '\0';
	assert_int_equal(cond_set(conds, NULL, &c, T0), 0);
	got = json_path_str(conds, "0.message", NULL);
	assert_non_null(got);
	assert_int_equal(strlen(got), COND_MESSAGE_MAX - 1);
	free(msg);
	json_decref(conds);
}

static void test_find_and_accessors(void **state)
{
	json_t *conds = json_pack("[{s:s, s:s, s:s, s:s}]", "type", "Progressing", "status", "False",
				  "reason", "ProgressDeadlineExceeded", "message", "timed out");

	(void)state;
	assert_non_null(cond_find(conds, "Progressing"));
	assert_null(cond_find(conds, "Ready"));
	assert_null(cond_find(NULL, "Ready"));
	assert_null(cond_find(conds, NULL));
	assert_true(cond_has_status(conds, "Progressing", COND_FALSE));
	assert_false(cond_has_status(conds, "Progressing", COND_TRUE));
	assert_false(cond_has_status(conds, "Ready", COND_FALSE));
	assert_string_equal(cond_reason(conds, "Progressing", "d"), "ProgressDeadlineExceeded");
	assert_string_equal(cond_reason(conds, "Ready", "d"), "d");
	assert_string_equal(cond_message(conds, "Progressing", "d"), "timed out");
	json_decref(conds);
}

static void test_equal_ignores_order(void **state)
{
	json_t *a = json_pack("[{s:s, s:s}, {s:s, s:s}]", "type", "A", "status", "True", "type", "B",
			      "status", "False");
	json_t *b = json_pack("[{s:s, s:s}, {s:s, s:s}]", "type", "B", "status", "False", "type", "A",
			      "status", "True");
	json_t *c = json_pack("[{s:s, s:s}, {s:s, s:s}]", "type", "B", "status", "True", "type", "A",
			      "status", "True");
	json_t *d = json_pack("[{s:s, s:s}]", "type", "A", "status", "True");
	json_t *empty = json_array();

	(void)state;
	assert_true(cond_equal(a, b));
	assert_false(cond_equal(a, c));
	assert_false(cond_equal(a, d));
	assert_true(cond_equal(NULL, empty));
	assert_false(cond_equal(NULL, d));
	json_decref(a);
	json_decref(b);
	json_decref(c);
	json_decref(d);
	json_decref(empty);
}

static void test_status_equal(void **state)
{
	json_t *a = json_pack("{s:i, s:[{s:s, s:s}, {s:s, s:s}], s:s}", "observedGeneration", 2, "conditions",
			      "type", "A", "status", "True", "type", "B", "status", "False", "url", "u");
	json_t *b = json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}], s:i}", "url", "u", "conditions", "type", "B",
			      "status", "False", "type", "A", "status", "True", "observedGeneration", 2);
	json_t *c = json_pack("{s:i, s:[{s:s, s:s}, {s:s, s:s}], s:s}", "observedGeneration", 3, "conditions",
			      "type", "A", "status", "True", "type", "B", "status", "False", "url", "u");
	json_t *empty = json_object();

	(void)state;
	assert_true(cond_status_equal(a, b));
	assert_false(cond_status_equal(a, c));
	assert_true(cond_status_equal(NULL, NULL));
	assert_true(cond_status_equal(NULL, empty));
	assert_false(cond_status_equal(NULL, a));
	/* the inputs are not modified */
	assert_non_null(json_object_get(a, "conditions"));
	json_decref(a);
	json_decref(b);
	json_decref(c);
	json_decref(empty);
}

static void test_format_time(void **state)
{
	char out[COND_TIME_BUF];
	char small[8];

	(void)state;
	assert_int_equal(cond_format_time(0, out, sizeof(out)), 0);
	assert_string_equal(out, "1970-01-01T00:00:00Z");
	assert_int_equal(cond_format_time(1714557600, out, sizeof(out)), 0);
	assert_string_equal(out, T0);
	assert_int_equal(cond_format_time(0, small, sizeof(small)), SAQR_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_set_appends_full_condition),
	    cmocka_unit_test(test_set_replaces_in_place),
	    cmocka_unit_test(test_transition_time_carry_over),
	    cmocka_unit_test(test_set_rejects_bad_input),
	    cmocka_unit_test(test_reason_pattern),
	    cmocka_unit_test(test_message_cut_on_utf8_boundary),
	    cmocka_unit_test(test_find_and_accessors),
	    cmocka_unit_test(test_equal_ignores_order),
	    cmocka_unit_test(test_status_equal),
	    cmocka_unit_test(test_format_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
