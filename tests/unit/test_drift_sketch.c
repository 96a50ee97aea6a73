/* Unit tests for drift/sketch.c: keys ascend with values, every value lies in its
 * bucket, buckets are at most 2^-7 of their value wide, counts and iteration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "drift/sketch.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double random_value(uint64_t *z)
{
	uint64_t b;
	double v;

	*z ^= *z << 13;
	*z ^= *z >> 7;
	*z ^= *z << 17;
	b = *z;
	memcpy(&v, &b, sizeof(v));
	return isfinite(v) ? v : 1.0;
}

static void test_keys_ascend_and_contain(void **state)
{
	enum { N = 100000 };
	double *v = malloc(N * sizeof(double)), lo, hi;
	uint64_t z = 2463534242ull;
	size_t i, k, prev = 0;

	(void)state;
	assert_non_null(v);
	for (i = 0; i < N; i++)
		v[i] = i % 3 ? random_value(&z) : (double)(i % 1000) / 7.0 - 70.0;
	v[0] = 0.0;
	v[1] = -0.0;
	v[2] = DBL_MAX;
	v[3] = -DBL_MAX;
	v[4] = 4.9e-324;
	qsort(v, N, sizeof(double), cmp_double);
	for (i = 0; i < N; i++) {
		k = sketch_key(v[i]);
		assert_true(k < SKETCH_KEYS);
		assert_true(k >= prev);
		prev = k;
		lo = sketch_edge(k);
		hi = sketch_edge(k + 1);
		assert_true(lo <= v[i] && v[i] <= hi);
		if (isfinite(hi) && hi != DBL_MAX && lo != -DBL_MAX && fabs(v[i]) > 1e-300)
			assert_true(hi - lo <= fabs(v[i]) * ldexp(1.0, -SKETCH_SUB_BITS) * 1.0000001);
	}
	assert_true(sketch_edge(SKETCH_KEYS / 2) == 0.0);
	free(v);
}

static void test_counts_and_iteration(void **state)
{
	struct sketch s;
	size_t k, n = 0;
	uint64_t total = 0;
	int i;

	(void)state;
	sketch_init(&s);
	assert_int_equal(sketch_next(&s, 0), SKETCH_END);
	for (i = 0; i < 1000; i++)
		assert_int_equal(sketch_add(&s, (double)(i % 10) - 4.5), 0);
	assert_int_equal(s.n, 1000);
	for (k = sketch_next(&s, 0); k != SKETCH_END; k = sketch_next(&s, k + 1)) {
		assert_int_equal(sketch_count(&s, k), 100);
		total += sketch_count(&s, k);
		n++;
	}
	assert_int_equal(n, 10);
	assert_int_equal(total, 1000);
	assert_int_equal(sketch_range(&s, 0, sketch_key(0.0)), 500);
	assert_int_equal(sketch_range(&s, sketch_key(0.0), SKETCH_KEYS), 500);
	assert_int_equal(sketch_count(&s, SKETCH_KEYS), 0);
	sketch_release(&s);
	assert_int_equal(s.n, 0);
	assert_int_equal(sketch_next(&s, 0), SKETCH_END);
	sketch_release(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keys_ascend_and_contain),
	    cmocka_unit_test(test_counts_and_iteration),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
