/* Unit tests for drift/csv.c: RFC 4180 records (quotes, embedded commas and line
 * breaks, CRLF, BOM, blank lines), line numbers, caps, buffer refills, and number
 * parsing bit-for-bit equal to strtod. */
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
#include "drift/csv.h"

static struct csv_reader *open_text(const char *text, size_t max_record)
{
	struct csv_reader *r = NULL;

	assert_int_equal(csv_open_mem(text, strlen(text), "t.csv", max_record, &r, NULL, 0), 0);
	return r;
}

static void expect_record(struct csv_reader *r, unsigned long line, size_t n, ...)
{
	struct csv_field *f;
	size_t got, i;
	char err[256] = "";
	va_list ap;

	if (csv_next(r, &f, &got, err, sizeof(err)) != 1)
		fail_msg("no record: %s", err);
	assert_int_equal(got, n);
	assert_int_equal(csv_line(r), line);
	va_start(ap, n);
	for (i = 0; i < n; i++) {
		const char *want = va_arg(ap, const char *);

		assert_string_equal(f[i].s, want);
		assert_int_equal(f[i].len, strlen(want));
	}
	va_end(ap);
}

static void expect_end(struct csv_reader *r)
{
	struct csv_field *f;
	size_t n;

	assert_int_equal(csv_next(r, &f, &n, NULL, 0), 0);
	assert_int_equal(csv_next(r, &f, &n, NULL, 0), 0);
}

static void test_rfc4180_records(void **state)
{
	struct csv_reader *r = open_text("\xEF\xBB\xBF"
					 "name,city,note\r\n"
					 "ali,\"Abu Dhabi, UAE\",\"say \"\"hi\"\"\"\r\n"
					 "\n"
					 "sara,Dubai,\"two\nlines\"\n"
					 ",,\n"
					 "x,\"\",\"\"\"\"\n"
					 "last,row,no newline",
					 0);

	(void)state;
	assert_string_equal(csv_name(r), "t.csv");
	expect_record(r, 1, 3, "name", "city", "note");
	expect_record(r, 2, 3, "ali", "Abu Dhabi, UAE", "say \"hi\"");
	expect_record(r, 4, 3, "sara", "Dubai", "two\nlines");
	expect_record(r, 6, 3, "", "", "");
	expect_record(r, 7, 3, "x", "", "\"");
	expect_record(r, 8, 3, "last", "row", "no newline");
	expect_end(r);
	csv_close(r);
	csv_close(NULL);
}

static void test_quote_inside_unquoted_field_is_data(void **state)
{
	struct csv_reader *r = open_text("5\" screen,a\"b\n", 0);

	(void)state;
	expect_record(r, 1, 2, "5\" screen", "a\"b");
	expect_end(r);
	csv_close(r);
}

static void expect_error(const char *text, size_t max_record, int rc, const char *msg)
{
	struct csv_reader *r = open_text(text, max_record);
	struct csv_field *f;
	size_t n;
	char err[256] = "";
	int got;

	while ((got = csv_next(r, &f, &n, err, sizeof(err))) == 1)
		;
	assert_int_equal(got, rc);
	if (!strstr(err, msg))
		fail_msg("error \"%s\" does not contain \"%s\"", err, msg);
	csv_close(r);
}

static void test_malformed(void **state)
{
	(void)state;
	expect_error("a,b\n1,\"open\n2,3\n", 0, SAQR_EPARSE, "t.csv:2: quoted field not closed");
	expect_error("a,b\n\"x\"y,1\n", 0, SAQR_EPARSE, "t.csv:2: unexpected 'y' after a closing quote");
	expect_error("a,b\n1,2\n0123456789012345678901234567890123456789\n", 16, SAQR_ETOOBIG,
		     "t.csv:3: record longer than 16 bytes");
}

static void test_too_many_fields(void **state)
{
	size_t n = CSV_MAX_FIELDS + 10;
	char *text = malloc(n + 2);

	(void)state;
	assert_non_null(text);
	memset(text, ',', n);
	text[n] = '\n';
	text[n + 1] = '\0';
	expect_error(text, 0, SAQR_ETOOBIG, "more than 65536 fields");
	free(text);
}

static void test_open_missing_file(void **state)
{
	struct csv_reader *r = NULL;
	char err[256] = "";

	(void)state;
	assert_int_equal(csv_open("/nonexistent/x.csv", 0, &r, err, sizeof(err)), SAQR_EIO);
	assert_null(r);
	assert_non_null(strstr(err, "/nonexistent/x.csv: No such file"));
}

/* Several MiB so that records straddle the reader's 1 MiB reads. */
static void test_records_across_refills(void **state)
{
	size_t cap = 6u << 20, len = 0, i, n;
	char *text = malloc(cap);
	struct csv_reader *r = NULL;
	struct csv_field *f;
	char want[64];
	long rows = 0;

	(void)state;
	assert_non_null(text);
	for (i = 0; len + 64 < cap; i++)
		len += (size_t)snprintf(text + len, cap - len, "%zu,%zu.5,\"q,%zu\"\r\n", i, i * 3, i % 97);
	assert_int_equal(csv_open_mem(text, len, "big", 128, &r, NULL, 0), 0);
	while (csv_next(r, &f, &n, NULL, 0) == 1) {
		assert_int_equal(n, 3);
		snprintf(want, sizeof(want), "%ld", rows);
		assert_string_equal(f[0].s, want);
		snprintf(want, sizeof(want), "q,%ld", rows % 97);
		assert_string_equal(f[2].s, want);
		rows++;
		assert_int_equal(csv_line(r), (unsigned long)rows);
	}
	assert_int_equal((size_t)rows, i);
	csv_close(r);
	free(text);
}

static void check_like_strtod(const char *s)
{
	struct csv_field f = {(char *)s, strlen(s)};
	double want = strtod(s, NULL), got = -12345, got2 = -12345;

	assert_true(csv_parse_double(s, strlen(s), &got));
	assert_true(csv_field_double(&f, &got2));
	if (memcmp(&got, &want, sizeof(double)) != 0 || memcmp(&got2, &want, sizeof(double)) != 0)
		fail_msg("\"%s\": got %.17g / %.17g, strtod %.17g", s, got, got2, want);
}

static void test_numbers_match_strtod(void **state)
{
	static const char *const fixed[] = {"0",
					    "-0",
					    "+1",
					    "1.",
					    ".5",
					    "-.5",
					    "0.1",
					    "123456789012345678",
					    "1234567890123456789",
					    "12345678901234567890",
					    "9007199254740993",
					    "0.30000000000000004",
					    "1e22",
					    "1e23",
					    "1.7976931348623157e308",
					    "4.9e-324",
					    "2.2250738585072014e-308",
					    "1E5",
					    "3.14159e-10",
					    "000012.5000",
					    "0.000000000000000000000001",
					    "-1.30316",
					    "0.0284222"};
	const char *fmts[] = {"%.17g", "%.6g", "%.3e", "%.10f", "%g", "%.1f"};
	uint64_t z = 88172645463325252ull, bits;
	char buf[64];
	double v;
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		check_like_strtod(fixed[i]);
	for (i = 0; i < 200000; i++) {
		z ^= z << 13;
		z ^= z >> 7;
		z ^= z << 17;
		bits = z;
		memcpy(&v, &bits, sizeof(v));
		if (!isfinite(v))
			continue;
		if (i % 2)
			v = (double)(z % 2000000) / 1000.0 - 1000.0;
		for (j = 0; j < sizeof(fmts) / sizeof(fmts[0]); j++) {
			snprintf(buf, sizeof(buf), fmts[j], v);
			if (strlen(buf) < 60)
				check_like_strtod(buf);
		}
	}
}

static void test_non_numbers(void **state)
{
	static const char *const bad[] = {"",	  "abc", "1e",	  "1e+", "0x10", "inf",
					  "-inf", "nan", "1.2.3", "--1", "1 2",	 "1,5",
					  ".",	  "-",	 "+",	  "e5",	 "1e5x", "1.5e400"};
	struct csv_field f;
	double v = 42;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f.s = (char *)bad[i];
		f.len = strlen(bad[i]);
		if (csv_parse_double(bad[i], strlen(bad[i]), &v) || csv_field_double(&f, &v))
			fail_msg("\"%s\" parsed as a number", bad[i]);
	}
	assert_true(v == 42);
	assert_true(csv_parse_double("  2.5\t", 6, &v) && v == 2.5);
}

static void test_missing_cells(void **state)
{
	static const char *const missing[] = {"",    " ",    "NA",   "N/A",  "NaN",
					      "nan", "null", "NULL", "None", " NA "};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(missing) / sizeof(missing[0]); i++)
		assert_true(csv_is_missing(missing[i], strlen(missing[i])));
	assert_false(csv_is_missing("0", 1));
	assert_false(csv_is_missing("none", 4));
	assert_false(csv_is_missing("NAN ", 4));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc4180_records),
	    cmocka_unit_test(test_quote_inside_unquoted_field_is_data),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_too_many_fields),
	    cmocka_unit_test(test_open_missing_file),
	    cmocka_unit_test(test_records_across_refills),
	    cmocka_unit_test(test_numbers_match_strtod),
	    cmocka_unit_test(test_non_numbers),
	    cmocka_unit_test(test_missing_cells),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
