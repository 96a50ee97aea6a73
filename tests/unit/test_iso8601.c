/* Unit tests for policy/iso8601.c: durations (parse and format) and RFC 3339 times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "common/err.h"
#include "policy/iso8601.h"

static void test_durations(void **state)
{
	static const struct {
		const char *s;
		long long secs;
	} ok[] = {
	    {"P1Y", 365LL * 86400}, {"P365D", 365LL * 86400}, {"P2M", 60LL * 86400},
	    {"P1W", 7 * 86400},	    {"PT4H", 4 * 3600},	      {"PT90M", 5400},
	    {"PT30S", 30},	    {"P1DT1H1M1S", 90061},    {"P0D", 0},
	};
	long long secs = -1;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(iso8601_duration_parse(ok[i].s, &secs), 0);
		assert_int_equal(secs, ok[i].secs);
	}
}

static void test_bad_durations(void **state)
{
	static const char *const bad[] = {"",
					  "P",
					  "PT",
					  "P1DT",
					  "1D",
					  "P1H",
					  "PT1D",
					  "P1D1Y",
					  "P1.5D",
					  "P-1D",
					  "P1DD",
					  "PT1H1H",
					  "P99999999999999999999D",
					  "P9223372036854775807Y",
					  "p1d"};
	long long secs = 42;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(iso8601_duration_parse(bad[i], &secs), SAQR_EINVAL);
		assert_int_equal(secs, 42); /* untouched */
	}
	assert_int_equal(iso8601_duration_parse(NULL, &secs), SAQR_EINVAL);
}

static void test_format(void **state)
{
	static const struct {
		long long secs;
		const char *s;
	} cases[] = {{0, "PT0S"},    {30, "PT30S"},	    {4 * 3600, "PT4H"},	     {5400, "PT1H30M"},
		     {86400, "P1D"}, {90061, "P1DT1H1M1S"}, {365LL * 86400, "P365D"}};
	char out[48];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		iso8601_duration_format(cases[i].secs, out, sizeof(out));
		assert_string_equal(out, cases[i].s);
	}
}

static void test_rfc3339(void **state)
{
	static const struct {
		const char *s;
		long long t;
	} ok[] = {
	    {"1970-01-01T00:00:00Z", 0},
	    {"2030-01-01T00:00:00Z", 1893456000},
	    {"2030-01-01T04:00:00+04:00", 1893456000},
	    {"2029-12-31T19:30:00.123456-04:30", 1893456000},
	    {"2024-02-29t12:00:00z", 1709208000},
	};
	static const char *const bad[] = {"2030-01-01",
					  "2030-01-01 00:00:00Z",
					  "2030-13-01T00:00:00Z",
					  "2023-02-29T00:00:00Z",
					  "2030-01-01T24:00:00Z",
					  "2030-01-01T00:00:00",
					  "2030-01-01T00:00:00+0400",
					  "2030-01-01T00:00:00Zjunk",
					  "2030-01-01T00:00:00.Z"};
	time_t t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(rfc3339_parse(ok[i].s, &t), 0);
		assert_int_equal((long long)t, ok[i].t);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(rfc3339_parse(bad[i], &t), SAQR_EINVAL);
	assert_int_equal(rfc3339_parse(NULL, &t), SAQR_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_durations),
	    cmocka_unit_test(test_bad_durations),
	    cmocka_unit_test(test_format),
	    cmocka_unit_test(test_rfc3339),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
