/* Unit tests for webhook/fastjson.c: it must accept what jansson's json_loadb accepts
 * (JSON_REJECT_DUPLICATES | JSON_DECODE_ANY), refuse what it refuses, and build equal values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "webhook/fastjson.h"

/* Both parsers on s (n bytes); they must agree. Returns whether s was accepted. */
static bool agree(const char *s, size_t n)
{
	json_error_t je;
	char err[256] = "";
	json_t *fast = fastjson_parse(s, n, err, sizeof(err));
	json_t *ref = json_loadb(s, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
	bool accepted = fast != NULL;

	if (!fast != !ref)
		fail_msg("disagree on <%.*s>: fastjson %s (%s), jansson %s (%s)", (int)n, s,
			 fast ? "accepts" : "refuses", err, ref ? "accepts" : "refuses", je.text);
	if (fast && !json_equal(fast, ref))
		fail_msg("different values for <%.*s>", (int)n, s);
	if (!fast && !strstr(err, "line "))
		fail_msg("no position in the error for <%.*s>: %s", (int)n, s, err);
	json_decref(fast);
	json_decref(ref);
	return accepted;
}

static bool agree_str(const char *s)
{
	return agree(s, strlen(s));
}

static void test_valid_documents(void **state)
{
	static const char *const ok[] = {
	    "{}",
	    "[]",
	    " { \"a\" : [ 1 , 2.5 , -3 , true , false , null ] } ",
	    "\"text\"",
	    "0",
	    "-0",
	    "-0.0",
	    "1e10",
	    "1E+2",
	    "2.5e-3",
	    "123456789012345678",
	    "-9223372036854775808",
	    "9223372036854775807",
	    "1e-400",
	    "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
	    "\"\\u00e9\\u4e2d\\ud83d\\ude00\"",
	    "\"é中😀\"",
	    "{\"\\u0041\":1,\"A\\u0042\":2}",
	    "[[[[[]]]]]",
	    "{\"a\":{\"b\":{\"c\":[{}]}}}",
	    "\t\r\n[1]\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_true(agree_str(ok[i]));
}

static void test_invalid_documents(void **state)
{
	static const char *const bad[] = {
	    "",
	    " ",
	    "{",
	    "}",
	    "[1,]",
	    "[,1]",
	    "{\"a\":1,}",
	    "{\"a\"}",
	    "{\"a\" 1}",
	    "{a:1}",
	    "{\"a\":1 \"b\":2}",
	    "01",
	    "-",
	    "1.",
	    ".5",
	    "1e",
	    "1e+",
	    "+1",
	    "0x10",
	    "Infinity",
	    "NaN",
	    "tru",
	    "truex",
	    "nul",
	    "\"unterminated",
	    "\"bad escape \\x\"",
	    "\"\\u12\"",
	    "\"\\u00zz\"",
	    "\"\\ud83d\"",
	    "\"\\ude00\"",
	    "\"\\ud83d\\u0041\"",
	    "\"\\u0000\"",
	    "\"tab\there\"",
	    "{\"a\":1,\"a\":2}",
	    "[1] [2]",
	    "{}x",
	    "99999999999999999999",
	    "-99999999999999999999",
	    "1e400",
	    "-1e400",
	    "\xef\xbb\xbf{}",
	    "\"\xc3\"",
	    "\"\xc0\xaf\"",
	    "\"\xed\xa0\x80\"",
	    "\"\xf4\x90\x80\x80\"",
	    "\"\xff\"",
	    "[1,2",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(agree_str(bad[i]));
	assert_false(agree("[1,\0]", 5)); /* a NUL byte */
	assert_false(agree("\"a\0b\"", 5));
}

static void test_depth_limit(void **state)
{
	size_t n = FASTJSON_MAX_DEPTH + 2;
	char *s = malloc(2 * n + 2);

	(void)state;
	/* FASTJSON_MAX_DEPTH values deep (the innermost is a scalar) is the most both accept */
	for (size_t depth = FASTJSON_MAX_DEPTH - 1; depth <= FASTJSON_MAX_DEPTH + 1; depth++) {
		size_t len = 0;

		for (size_t i = 0; i < depth; i++)
			s[len++] = '[';
		s[len++] = '1';
		for (size_t i = 0; i < depth; i++)
			s[len++] = ']';
		assert_int_equal(agree(s, len), depth + 1 <= FASTJSON_MAX_DEPTH);
	}
	free(s);
}

static void test_error_position(void **state)
{
	char err[128];

	(void)state;
	assert_null(fastjson_parse("{\n  \"a\": tru\n}", 14, err, sizeof(err)));
	assert_non_null(strstr(err, "line 2 column 8"));
	assert_null(fastjson_parse("x", 1, NULL, 0)); /* no error buffer is fine */
}

static void test_fixtures_match_jansson(void **state)
{
	const char *names[] = {"deployment-review.json", "pod-privileged-review.json"};
	const char *root = getenv("SAQR_ROOT");

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		char path[512], *data;
		FILE *f;
		long n;

		snprintf(path, sizeof(path), "%s/tests/data/webhook/%s", root ? root : ".", names[i]);
		f = fopen(path, "rb");
		assert_non_null(f);
		fseek(f, 0, SEEK_END);
		n = ftell(f);
		fseek(f, 0, SEEK_SET);
		data = malloc((size_t)n);
		assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
		fclose(f);
		assert_true(agree(data, (size_t)n));
		/* every prefix is refused by both */
		for (long cut = 0; cut < n - 1; cut += 97)
			assert_false(agree(data, (size_t)cut));
		free(data);
	}
}

static void test_long_strings_and_numbers(void **state)
{
	size_t n = 100000;
	char *s = malloc(n + 3);

	(void)state;
	s[0] = '"';
	for (size_t i = 1; i <= n; i++)
		s[i] = (i % 50 == 0) ? '\\' : 'a';
	s[n] = 'a';
	s[n + 1] = '"';
	assert_false(agree(s, n + 2)); /* "\a" is no escape */
	for (size_t i = 1; i <= n; i++)
		s[i] = (i % 50 == 0) ? 'n' : 'a';
	for (size_t i = 49; i <= n; i += 50)
		s[i] = '\\';
	assert_true(agree(s, n + 2));
	memset(s, '1', 200);
	assert_false(agree(s, 200)); /* too big an integer */
	memcpy(s + 100, ".5", 2);
	assert_true(agree(s, 200)); /* a long real is fine */
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_documents),
	    cmocka_unit_test(test_invalid_documents),
	    cmocka_unit_test(test_depth_limit),
	    cmocka_unit_test(test_error_position),
	    cmocka_unit_test(test_fixtures_match_jansson),
	    cmocka_unit_test(test_long_strings_and_numbers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
