/* Unit tests for webhook/decisionlog.c: queued lines are all written, in order, by the
 * writer thread; a full queue makes a request wait for room, and past the wait drops lines,
 * counts them and says so in the log; freeing drains; every line carries seq and prev, the
 * SHA-256 of the line before it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/metrics.h"
#include "webhook/decisionlog.h"

static char path[] = "/tmp/saqr-decisionlog-XXXXXX";
static int saved_stderr = -1;

/* Send stderr (where log_json writes) to a temp file for the test. */
static int capture(void **state)
{
	int fd = mkstemp(path);

	(void)state;
	fflush(stderr);
	saved_stderr = dup(2);
	if (fd < 0 || saved_stderr < 0 || dup2(fd, 2) < 0)
		return -1;
	close(fd);
	return 0;
}

static int release(void **state)
{
	(void)state;
	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	unlink(path);
	memcpy(path + strlen(path) - 6, "XXXXXX", 6);
	return 0;
}

/* The captured lines, as JSON objects. */
static json_t *captured(void)
{
	FILE *f = fopen(path, "r");
	json_t *lines = json_array();
	char line[4096];

	fflush(stderr);
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		json_t *v = json_loads(line, 0, NULL);

		assert_non_null(v);
		json_array_append_new(lines, v);
	}
	fclose(f);
	return lines;
}

static void test_lines_are_written_in_order(void **state)
{
	struct decisionlog *dl = NULL;
	json_t *lines;

	(void)state;
	assert_int_equal(decisionlog_new(16, NULL, &dl), 0);
	assert_int_equal(decisionlog_start(dl), 0);
	for (int i = 0; i < 10; i++)
		decisionlog_push(dl, "admission decision", json_pack("{s:i}", "i", i));
	decisionlog_free(dl);
	lines = captured();
	assert_int_equal(json_array_size(lines), 10);
	for (int i = 0; i < 10; i++) {
		json_t *l = json_array_get(lines, (size_t)i);

		assert_string_equal(json_string_value(json_object_get(l, "msg")), "admission decision");
		assert_string_equal(json_string_value(json_object_get(l, "level")), "info");
		assert_int_equal(json_integer_value(json_object_get(l, "i")), i);
	}
	json_decref(lines);
}

static void test_a_full_queue_drops_and_counts(void **state)
{
	struct metrics *m = metrics_new();
	struct decisionlog *dl = NULL;
	json_t *lines, *last;

	(void)state;
	assert_int_equal(decisionlog_new(4, m, &dl), 0);
	for (int i = 0; i < 6; i++) /* no writer yet: the queue holds 4 */
		decisionlog_push(dl, "admission decision", json_pack("{s:i}", "i", i));
	assert_true(metrics_value(m, "saqr_decisionlog_dropped_total", "") == 2);
	decisionlog_free(dl); /* writes the 4, then reports the drops */
	lines = captured();
	assert_int_equal(json_array_size(lines), 5);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(lines, 3), "i")), 3);
	last = json_array_get(lines, 4);
	assert_string_equal(json_string_value(json_object_get(last, "level")), "warn");
	assert_int_equal(json_integer_value(json_object_get(last, "dropped")), 2);
	assert_int_equal(json_integer_value(json_object_get(last, "seq")), 5);
	json_decref(lines);
	metrics_free(m);
	decisionlog_free(NULL);
}

/* The captured text, line by line, without newlines. */
static size_t captured_raw(char lines[][4096], size_t max)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	fflush(stderr);
	assert_non_null(f);
	while (n < max && fgets(lines[n], 4096, f)) {
		lines[n][strcspn(lines[n], "\n")] = '\0';
		n++;
	}
	fclose(f);
	return n;
}

static void test_lines_are_hash_chained(void **state)
{
	static char raw[8][4096];
	struct decisionlog *dl = NULL;
	char want[DECISIONLOG_HASH_HEX] = DECISIONLOG_GENESIS;
	size_t n;

	(void)state;
	assert_int_equal(decisionlog_new(16, NULL, &dl), 0);
	assert_int_equal(decisionlog_start(dl), 0);
	for (int i = 0; i < 5; i++)
		assert_true(decisionlog_push(dl, "admission decision", json_pack("{s:i}", "i", i)));
	decisionlog_free(dl);
	n = captured_raw(raw, 8);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < n; i++) {
		json_t *l = json_loads(raw[i], 0, NULL);

		assert_non_null(l);
		assert_int_equal(json_integer_value(json_object_get(l, "seq")), (json_int_t)i + 1);
		assert_string_equal(json_string_value(json_object_get(l, "prev")), want);
		decisionlog_hash(raw[i], strlen(raw[i]), want);
		json_decref(l);
	}
	/* a known vector: SHA-256 of "abc" */
	decisionlog_hash("abc", 3, want);
	assert_string_equal(want, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* A writer that is slow rather than stuck: a full queue makes the request wait, nothing drops. */
static void test_a_full_queue_waits_for_room(void **state)
{
	struct metrics *m = metrics_new();
	struct decisionlog *dl = NULL;
	json_t *lines;

	(void)state;
	assert_int_equal(decisionlog_new(2, m, &dl), 0);
	decisionlog_set_wait_ms(dl, 2000);
	assert_int_equal(decisionlog_start(dl), 0);
	for (int i = 0; i < 200; i++)
		assert_true(decisionlog_push(dl, "admission decision", json_pack("{s:i}", "i", i)));
	decisionlog_free(dl);
	assert_true(metrics_value(m, "saqr_decisionlog_dropped_total", "") == 0);
	lines = captured();
	assert_int_equal(json_array_size(lines), 200);
	json_decref(lines);
	metrics_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_lines_are_written_in_order, capture, release),
	    cmocka_unit_test_setup_teardown(test_a_full_queue_drops_and_counts, capture, release),
	    cmocka_unit_test_setup_teardown(test_lines_are_hash_chained, capture, release),
	    cmocka_unit_test_setup_teardown(test_a_full_queue_waits_for_room, capture, release),
	};

	log_set_level(LOG_LVL_INFO);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
