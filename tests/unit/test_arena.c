/* Unit tests for webhook/arena.c: jansson values made while the arena is open come from
 * it and are counted until freed; chunks are reused only when empty, so a value kept past its
 * request is never overwritten; values made with the arena closed are ordinary heap memory;
 * a thread's arena goes away with the thread (ASan's leak check); parsing and freeing cost time
 * linear in the document's size (a 3 MiB review costs about three times a 1 MiB one). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "webhook/arena.h"
#include "webhook/fastjson.h"

static const char doc[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"labels\":"
    "{\"a\":\"1\",\"b\":\"2\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}";

static json_t *parse_in_arena(void)
{
	json_t *v;

	arena_open();
	v = fastjson_parse(doc, sizeof(doc) - 1, NULL, 0);
	arena_close();
	assert_non_null(v);
	return v;
}

static void test_values_are_counted_until_freed(void **state)
{
	json_t *v;

	(void)state;
	arena_install();
	v = parse_in_arena();
	assert_true(arena_live() > 10);
	json_decref(v);
	assert_int_equal(arena_live(), 0);
}

static void test_closed_arena_uses_the_heap(void **state)
{
	json_t *v;

	(void)state;
	arena_install();
	v = fastjson_parse(doc, sizeof(doc) - 1, NULL, 0);
	assert_int_equal(arena_live(), 0);
	json_decref(v);
}

static void test_kept_value_is_not_overwritten(void **state)
{
	json_t *kept, *v;

	(void)state;
	arena_install();
	v = parse_in_arena();
	kept = json_incref(json_object_get(json_object_get(v, "metadata"), "name"));
	json_decref(v);
	assert_true(arena_live() > 0); /* the string and its text */
	for (int i = 0; i < 2000; i++) /* enough to wrap a chunk many times over */
		json_decref(parse_in_arena());
	assert_string_equal(json_string_value(kept), "p");
	json_decref(kept);
	assert_int_equal(arena_live(), 0);
}

static void test_big_values_go_to_the_heap(void **state)
{
	char big[10000];
	json_t *v;

	(void)state;
	arena_install();
	memset(big, 'x', sizeof(big));
	big[0] = big[sizeof(big) - 1] = '"';
	arena_open();
	v = fastjson_parse(big, sizeof(big), NULL, 0);
	arena_close();
	assert_non_null(v);
	assert_int_equal(json_string_length(v), sizeof(big) - 2);
	json_decref(v);
	assert_int_equal(arena_live(), 0);
}

/* A review-shaped document of about `bytes` bytes made of many small values: env entries. */
static char *wide_doc(size_t bytes, size_t *len)
{
	struct buf b;

	buf_init(&b, bytes + 4096);
	assert_int_equal(buf_adds(&b, "{\"spec\":{\"containers\":[{\"env\":["), 0);
	for (size_t i = 0; b.len < bytes; i++)
		assert_int_equal(
		    buf_addf(&b, "%s{\"name\":\"VAR_%zu\",\"value\":\"v%zu\"}", i ? "," : "", i, i), 0);
	assert_int_equal(buf_adds(&b, "]}]}}"), 0);
	*len = b.len;
	return buf_detach(&b);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Seconds to parse and free a document of about `bytes` bytes in the arena (best of 3). */
static double parse_and_free(size_t bytes)
{
	size_t len;
	char *doc_text = wide_doc(bytes, &len);
	double best = 1e9;

	for (int i = 0; i < 3; i++) {
		double t0 = now_s(), t;
		json_t *v;

		arena_open();
		v = fastjson_parse(doc_text, len, NULL, 0);
		assert_non_null(v);
		json_decref(v);
		arena_close();
		t = now_s() - t0;
		best = t < best ? t : best;
	}
	assert_int_equal(arena_live(), 0);
	free(doc_text);
	return best;
}

/* What a large review needed is given back when the next request opens the arena. */
static void test_large_review_memory_is_given_back(void **state)
{
	(void)state;
	arena_install();
	parse_and_free((size_t)3 << 20);
	assert_true(arena_held() > ((size_t)4 << 20));
	json_decref(parse_in_arena());
	assert_true(arena_held() <= ((size_t)1 << 20));
}

static void test_cost_is_linear_in_size(void **state)
{
	double small, large;

	(void)state;
	arena_install();
	small = parse_and_free((size_t)1 << 20);
	large = parse_and_free((size_t)3 << 20);
	/* three times the bytes (both well past the caches): about three times the time, with room
	 * for noise; the quadratic free this guards against made it 10 to 15 times */
	if (large > 8 * small + 0.01)
		fail_msg("3 MiB took %.3f s, 1 MiB %.3f s: not linear", large, small);
}

static void *worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < 100; i++)
		json_decref(parse_in_arena());
	return NULL;
}

static void test_threads_have_their_own_arena(void **state)
{
	pthread_t t[3];

	(void)state;
	arena_install();
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&t[i], NULL, worker, NULL), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_int_equal(arena_live(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_values_are_counted_until_freed),
	    cmocka_unit_test(test_closed_arena_uses_the_heap),
	    cmocka_unit_test(test_kept_value_is_not_overwritten),
	    cmocka_unit_test(test_big_values_go_to_the_heap),
	    cmocka_unit_test(test_threads_have_their_own_arena),
	    cmocka_unit_test(test_cost_is_linear_in_size),
	    cmocka_unit_test(test_large_review_memory_is_given_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
