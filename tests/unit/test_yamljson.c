/* Unit tests for lib/common/yamljson.c and jsonutil.c: scalar typing, multi-document input,
 * errors with line numbers, aliases refused, caps, and dotted-path access. */
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
	const char *alias = "a: &x {k: v}\nb: *x\n";
	json_t *v = NULL;
	char err[256];

	(void)state;
	assert_int_equal(yaml_to_json(bad, strlen(bad), 4096, &v, err, sizeof(err)), SAQR_EPARSE);
	assert_non_null(strstr(err, "line "));
	assert_null(v);
	assert_int_equal(yaml_to_json(alias, strlen(alias), 4096, &v, err, sizeof(err)), SAQR_EPARSE);
	assert_non_null(strstr(err, "line 2"));
	assert_non_null(strstr(err, "aliases"));
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
		cmocka_unit_test(test_json_helpers),
	};

	return cmocka_run_group_tests_name("yamljson", tests, NULL, NULL);
}
