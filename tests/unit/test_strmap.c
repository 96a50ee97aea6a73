/* Unit tests for operator/runtime/strmap.c and operator/runtime/ratelimit.c: put/get/replace/
 * remove, growth past many entries, iteration with removal; token bucket and backoff. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "operator/runtime/ratelimit.h"
#include "operator/runtime/strmap.h"

static void test_put_get_replace_remove(void **state)
{
	struct strmap m;
	int a = 1, b = 2;
	void *old = &a;

	(void)state;
	strmap_init(&m);
	assert_null(strmap_get(&m, "x"));
	assert_null(strmap_remove(&m, "x"));
	assert_int_equal(strmap_put(&m, "x", &a, &old), 0);
	assert_null(old);
	assert_ptr_equal(strmap_get(&m, "x"), &a);
	assert_int_equal(strmap_put(&m, "x", &b, &old), 0);
	assert_ptr_equal(old, &a);
	assert_ptr_equal(strmap_get(&m, "x"), &b);
	assert_int_equal(strmap_len(&m), 1);
	assert_int_equal(strmap_put(&m, "y", NULL, NULL), SAQR_EINVAL);
	assert_ptr_equal(strmap_remove(&m, "x"), &b);
	assert_int_equal(strmap_len(&m), 0);
	strmap_release(&m, NULL);
}

static void test_many_and_iterate(void **state)
{
	struct strmap m;
	struct strmap_iter it;
	const char *key;
	void *val;
	char k[32];
	size_t n = 0;

	(void)state;
	strmap_init(&m);
	for (int i = 0; i < 5000; i++) {
		int *v = malloc(sizeof(*v));

		*v = i;
		snprintf(k, sizeof(k), "ns/obj-%d", i);
		assert_int_equal(strmap_put(&m, k, v, NULL), 0);
	}
	assert_int_equal(strmap_len(&m), 5000);
	for (int i = 0; i < 5000; i += 499) {
		snprintf(k, sizeof(k), "ns/obj-%d", i);
		assert_int_equal(*(int *)strmap_get(&m, k), i);
	}
	/* Remove the odd ones while iterating. */
	strmap_iter_init(&it);
	while (strmap_next(&m, &it, &key, &val)) {
		n++;
		if (*(int *)val % 2) {
			assert_ptr_equal(strmap_remove(&m, key), val);
			free(val);
		}
	}
	assert_int_equal(n, 5000);
	assert_int_equal(strmap_len(&m), 2500);
	assert_null(strmap_get(&m, "ns/obj-1"));
	assert_non_null(strmap_get(&m, "ns/obj-2"));
	strmap_release(&m, free);
	assert_int_equal(strmap_len(&m), 0);
	strmap_iter_init(&it);
	assert_false(strmap_next(&m, &it, NULL, NULL));
}

static void test_bucket_and_backoff(void **state)
{
	struct ratelimit_bucket b;

	(void)state;
	ratelimit_bucket_init(&b, 2, 2, 0);
	assert_true(ratelimit_bucket_reserve(&b, 0) == 0);
	assert_true(ratelimit_bucket_reserve(&b, 0) == 0);
	assert_true(ratelimit_bucket_reserve(&b, 0) == 0.5);
	assert_true(ratelimit_bucket_reserve(&b, 0) == 1.0);
	/* Refill never exceeds the burst. */
	assert_true(ratelimit_bucket_reserve(&b, 100) == 0);
	assert_true(ratelimit_bucket_reserve(&b, 100) == 0);
	assert_true(ratelimit_bucket_reserve(&b, 100) == 0.5);
	ratelimit_bucket_init(&b, 0, 1, 0);
	for (int i = 0; i < 10; i++)
		assert_true(ratelimit_bucket_reserve(&b, 0) == 0);
	assert_true(ratelimit_backoff(0.005, 1000, 0) == 0.005);
	assert_true(ratelimit_backoff(0.005, 1000, 3) == 0.04);
	assert_true(ratelimit_backoff(0.005, 1000, 18) == 1000);
	assert_true(ratelimit_backoff(0.005, 1000, 5000) == 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_put_get_replace_remove),
	    cmocka_unit_test(test_many_and_iterate),
	    cmocka_unit_test(test_bucket_and_backoff),
	};

	return cmocka_run_group_tests_name("strmap", tests, NULL, NULL);
}
