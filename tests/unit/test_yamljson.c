/* Unit tests for lib/common/yamljson.c and jsonutil.c: scalar typing as kubectl reads YAML (go-yaml
 * v2's YAML 1.1 rules, then a JSON round trip), tags, keys, merge keys, aliases within bounds,
 * multi-document input, errors with line numbers, caps, and dotted-path access. The expected
 * values were checked against sigs.k8s.io/yaml.YAMLToJSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "common/yamljson.h"

static void test_scalars(void **state)
{
	const char *y = "a: 1\nb: -2.5\nc: true\nd: ~\ne: \"1\"\nf: hello\ng: '007'\nh: 1.2.3\n";
	json_t *v = NULL;
	char err[128];

	(void)state;
	assert_int_equal(yaml_to_json(y, strlen(y), 4096, &v, err, sizeof(err)), 0);
	assert_int_equal(json_path_int(v, "a", 0), 1);
	assert_true(json_is_real(json_path(v, "b")));
	assert_true(json_is_true(json_path(v, "c")));
	assert_true(json_is_null(json_path(v, "d")));
	assert_string_equal(json_path_str(v, "e", ""), "1");
	assert_string_equal(json_path_str(v, "f", ""), "hello");
	assert_string_equal(json_path_str(v, "g", ""), "007");
	assert_string_equal(json_path_str(v, "h", ""), "1.2.3");
	json_decref(v);
}

static void test_multi_document(void **state)
{
	const char *y = "---\nkind: A\nitems: [1, 2]\n---\n---\nkind: B\nspec:\n  list:\n  - name: x\n";
	json_t *docs = NULL;
	char err[128];

	(void)state;
	assert_int_equal(yaml_to_json_docs(y, strlen(y), 4096, &docs, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(docs), 2);
	assert_string_equal(json_path_str(docs, "0.kind", ""), "A");
	assert_int_equal(json_path_int(docs, "0.items.1", 0), 2);
	assert_string_equal(json_path_str(docs, "1.spec.list.0.name", ""), "x");
	assert_int_equal(yaml_to_json(y, strlen(y), 4096, &docs, err, sizeof(err)), SAQR_EPARSE);
	assert_non_null(strstr(err, "expected one YAML document"));
	json_decref(docs);
}

static void test_errors_name_the_line(void **state)
{
	const char *bad = "a: 1\nb: [1, 2\nc: 3\n";
	json_t *v = NULL;
	char err[256];

	(void)state;
	assert_int_equal(yaml_to_json(bad, strlen(bad), 4096, &v, err, sizeof(err)), SAQR_EPARSE);
	assert_non_null(strstr(err, "line "));
	assert_null(v);
	assert_int_equal(yaml_to_json(bad, strlen(bad), 4, &v, err, sizeof(err)), SAQR_ETOOBIG);
}

static void test_empty_input(void **state)
{
	json_t *v = NULL;
	char err[64];

	(void)state;
	assert_int_equal(yaml_to_json("", 0, 10, &v, err, sizeof(err)), 0);
	assert_true(json_is_object(v));
	assert_int_equal(json_object_size(v), 0);
	json_decref(v);
}

/* One document into a new value (asserting it parses). */
static json_t *parse(const char *y)
{
	json_t *v = NULL;
	char err[256] = "";

	if (yaml_to_json(y, strlen(y), 1 << 20, &v, err, sizeof(err)) != 0)
		fail_msg("%s: %s", y, err);
	return v;
}

/* The parse error of a document (asserting there is one). */
static void assert_refused(const char *y, const char *needle)
{
	json_t *v = NULL;
	char err[256] = "";

	if (yaml_to_json(y, strlen(y), 1 << 20, &v, err, sizeof(err)) != SAQR_EPARSE)
		fail_msg("%s was not refused", y);
	if (!strstr(err, needle))
		fail_msg("%s: \"%s\" lacks \"%s\"", y, err, needle);
	assert_null(v);
}

/* "a: <scalar>" read as JSON text. */
static void assert_scalar(const char *scalar, const char *json)
{
	char y[256];
	json_t *v;
	char *got;

	snprintf(y, sizeof(y), "a: %s\n", scalar);
	v = parse(y);
	got = json_dumps(json_object_get(v, "a"), JSON_ENCODE_ANY | JSON_COMPACT);
	if (strcmp(got, json) != 0)
		fail_msg("a: %s reads as %s, kubectl reads %s", scalar, got, json);
	free(got);
	json_decref(v);
}

static void test_yaml11_booleans_and_nulls(void **state)
{
	static const char *const yes[] = {"y",	  "Y",	  "yes", "Yes", "YES", "true",
					  "True", "TRUE", "on",	 "On",	"ON"};
	static const char *const no[] = {"n",	  "N",	   "no",  "No",	 "NO", "false",
					 "False", "FALSE", "off", "Off", "OFF"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		assert_scalar(yes[i], "true");
		assert_scalar(no[i], "false");
	}
	assert_scalar("yEs", "\"yEs\"");
	assert_scalar("oN", "\"oN\"");
	assert_scalar("'yes'", "\"yes\"");
	assert_scalar("\"on\"", "\"on\"");
	assert_scalar("|\n  yes", "\"yes\\n\"");
	assert_scalar("~", "null");
	assert_scalar("", "null");
	assert_scalar("NULL", "null");
	assert_scalar("nULL", "\"nULL\"");
}

static void test_yaml11_numbers(void **state)
{
	(void)state;
	assert_scalar("0x1bb", "443");
	assert_scalar("0X1BB", "443");
	assert_scalar("-0x1f", "-31");
	assert_scalar("0o17", "15");
	assert_scalar("017", "15");
	assert_scalar("0b101", "5");
	assert_scalar("-0b101", "-5");
	assert_scalar("0b-101", "-5");
	assert_scalar("1_000", "1000");
	assert_scalar("+12", "12");
	assert_scalar("08", "8"); /* not octal: read as the float 8 */
	assert_scalar("80.0", "80");
	assert_scalar("1e3", "1000");
	assert_scalar("-0.0", "0");
	assert_scalar("80.5", "80.5");
	assert_scalar(".5", "0.5");
	assert_scalar("9223372036854775807", "9223372036854775807");
	assert_scalar("4611686018427387904.0", "4611686018427388000"); /* Go's shortest digits */
	assert_scalar("1e999", "\"1e999\"");
	assert_scalar("0x", "\"0x\"");
	assert_scalar("1.2.3", "\"1.2.3\"");
	assert_scalar("2001-12-14", "\"2001-12-14\"");
	assert_scalar("12:30", "\"12:30\"");
	assert_scalar("_1", "\"_1\"");
	assert_refused("a: .inf\n", "unsupported value");
	assert_refused("a: -.Inf\n", "unsupported value");
	assert_refused("a: .nan\n", "unsupported value");
}

static void test_explicit_tags(void **state)
{
	(void)state;
	assert_scalar("!!bool \"true\"", "true");
	assert_scalar("!!bool 'no'", "false");
	assert_scalar("!!int \"0x1bb\"", "443");
	assert_scalar("!!float 80", "80");
	assert_scalar("!!str yes", "\"yes\"");
	assert_scalar("!!str 80", "\"80\"");
	assert_scalar("!!null ~", "null");
	assert_scalar("!!timestamp 2001-12-14", "\"2001-12-14\"");
	assert_scalar("! yes", "\"yes\"");
	assert_scalar("!custom on", "\"on\"");
	assert_scalar("!!binary aGVsbG8=", "\"hello\"");
	assert_refused("a: !!int yes\n", "cannot decode !!bool `yes` as a !!int");
	assert_refused("a: !!bool 1\n", "as a !!bool");
	assert_refused("a: !!int 80.0\n", "cannot decode !!float");
	assert_refused("a: !!binary aGVsbG8\n", "base64");
}

static void test_keys_become_strings(void **state)
{
	json_t *v;

	(void)state;
	v = parse("yes: a\n1: b\n0x10: c\n1.5: d\n1e7: e\n~x: f\n'on': g\n");
	assert_string_equal(json_path_str(v, "true", ""), "a");
	assert_string_equal(json_path_str(v, "1", ""), "b");
	assert_string_equal(json_path_str(v, "16", ""), "c");
	assert_string_equal(json_path_str(v, "1e+07", ""), "e");
	assert_string_equal(json_string_value(json_object_get(v, "1.5")), "d");
	assert_string_equal(json_path_str(v, "~x", ""), "f");
	assert_string_equal(json_path_str(v, "on", ""), "g");
	json_decref(v);
	v = parse("x: 1\nx: 2\n"); /* the last one wins, as in kubectl */
	assert_int_equal(json_path_int(v, "x", 0), 2);
	json_decref(v);
	assert_refused("~: v\n", "unsupported map key");
	assert_refused("? [a]\n: v\n", "invalid map key");
}

static void test_merge_keys_and_aliases(void **state)
{
	json_t *v;

	(void)state;
	v = parse("base: &b {x: 1, z: 2}\nm:\n  <<: *b\n  z: 3\ncopy: *b\nyn: {y: 1, n: 0}\n");
	assert_int_equal(json_path_int(v, "m.x", 0), 1);
	assert_int_equal(json_path_int(v, "m.z", 0), 3);
	assert_int_equal(json_path_int(v, "copy.z", 0), 2);
	assert_int_equal(json_path_int(v, "yn.true", 0), 1); /* y and n are YAML 1.1 booleans, */
	assert_non_null(json_path(v, "yn.false"));	     /* even as keys */
	assert_null(json_path(v, "m.<<"));
	/* a copy, not a shared value: editing one leaves the other */
	json_object_set_new(json_object_get(v, "copy"), "x", json_integer(9));
	assert_int_equal(json_path_int(v, "base.x", 0), 1);
	json_decref(v);
	v = parse("a: &a {x: 1}\nb: &b {x: 2, z: 2}\nm:\n  <<: [*a, *b]\n");
	assert_int_equal(json_path_int(v, "m.x", 0), 1); /* the first map wins */
	assert_int_equal(json_path_int(v, "m.z", 0), 2);
	json_decref(v);
	v = parse("m:\n  \"<<\": {x: 1}\n"); /* quoted: an ordinary key */
	assert_int_equal(json_path_int(json_object_get(v, "m"), "<<.x", 0), 1);
	json_decref(v);
	v = parse("&k yes: 1\nb: *k\n");
	assert_true(json_is_true(json_object_get(v, "b")));
	json_decref(v);
	assert_refused("m:\n  <<: 5\n", "map merge requires map");
	assert_refused("a: *nope\n", "unknown anchor 'nope'");
	assert_refused("a: &a [*a]\n", "contains itself");
}

/* Each level holds ten aliases of the one before: 10^9 strings if expanded. */
static void test_billion_laughs_refused(void **state)
{
	const char *y = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
			"b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
			"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
			"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
			"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
			"f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
			"g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
			"h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
			"i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n";
	json_t *v;

	(void)state;
	assert_refused(y, "excessive aliasing");
	v = parse("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
		  "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n");
	assert_int_equal(json_array_size(json_path(v, "b.9")), 10);
	json_decref(v);
}

static void test_depth_capped(void **state)
{
	char y[4 * (YAMLJSON_MAX_DEPTH + 2) + 8];
	size_t i, n = 0;

	(void)state;
	for (i = 0; i < YAMLJSON_MAX_DEPTH + 2; i++)
		n += (size_t)snprintf(y + n, sizeof(y) - n, "[");
	for (i = 0; i < YAMLJSON_MAX_DEPTH + 2; i++)
		n += (size_t)snprintf(y + n, sizeof(y) - n, "]");
	assert_refused(y, "nesting over");
	/* aliases cannot nest deeper than the text does */
	assert_refused(
	    "a: &a [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n"
	    "b: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[*a]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
	    "over 64 levels");
}

static void test_json_helpers(void **state)
{
	char err[128];
	json_t *v = json_parse_capped("{\"a\":{\"b\":[{\"c\":true}]}}", 24, 100, err, sizeof(err));
	bool present = false;

	(void)state;
	assert_non_null(v);
	assert_true(json_path_bool(v, "a.b.0.c", false, &present));
	assert_true(present);
	assert_false(json_path_bool(v, "a.b.1.c", false, &present));
	assert_false(present);
	assert_null(json_path(v, "a.x.y"));
	assert_string_equal(json_path_str(v, "a.b", "dflt"), "dflt");
	json_decref(v);
	assert_null(json_parse_capped("{\"a\":", 5, 100, err, sizeof(err)));
	assert_non_null(strstr(err, "line 1"));
	assert_null(json_parse_capped("{}", 2, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "limit"));
	assert_null(json_parse_capped("{\"a\":1,\"a\":2}", 13, 100, err, sizeof(err)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scalars),
	    cmocka_unit_test(test_multi_document),
	    cmocka_unit_test(test_errors_name_the_line),
	    cmocka_unit_test(test_empty_input),
	    cmocka_unit_test(test_yaml11_booleans_and_nulls),
	    cmocka_unit_test(test_yaml11_numbers),
	    cmocka_unit_test(test_explicit_tags),
	    cmocka_unit_test(test_keys_become_strings),
	    cmocka_unit_test(test_merge_keys_and_aliases),
	    cmocka_unit_test(test_billion_laughs_refused),
	    cmocka_unit_test(test_depth_capped),
	    cmocka_unit_test(test_json_helpers),
	};

	return cmocka_run_group_tests_name("yamljson", tests, NULL, NULL);
}
