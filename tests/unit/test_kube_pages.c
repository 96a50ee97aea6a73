/* Unit tests for lib/kube/pages.c: pages of a list (limit + continue) fold into one List. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "kube/pages.h"

static json_t *page(const char *rv, const char *cont, long remaining, const char *const *names)
{
	json_t *items = json_array();
	json_t *meta = json_pack("{s:s}", "resourceVersion", rv);

	for (; names && *names; names++)
		json_array_append_new(items, json_pack("{s:{s:s}}", "metadata", "name", *names));
	if (cont)
		json_object_set_new(meta, "continue", json_string(cont));
	if (remaining >= 0)
		json_object_set_new(meta, "remainingItemCount", json_integer(remaining));
	return json_pack("{s:s, s:s, s:o, s:o}", "kind", "ConfigMapList", "apiVersion", "v1", "metadata",
			 meta, "items", items);
}

static void test_three_pages(void **state)
{
	const char *const p1[] = {"a", "b", NULL};
	const char *const p2[] = {"c", "d", NULL};
	const char *const p3[] = {"e", NULL};
	json_t *pages[3] = {page("100", "tok1", 3, p1), page("100", "tok2", 1, p2), page("100", "", -1, p3)};
	json_t *acc = NULL;

	(void)state;
	assert_string_equal(kube_pages_continue(pages[0]), "tok1");
	assert_string_equal(kube_pages_continue(pages[1]), "tok2");
	assert_null(kube_pages_continue(pages[2]));
	for (int i = 0; i < 3; i++)
		assert_int_equal(kube_pages_merge(&acc, pages[i]), 0);
	assert_int_equal(json_array_size(json_object_get(acc, "items")), 5);
	assert_string_equal(json_path_str(acc, "items.0.metadata.name", ""), "a");
	assert_string_equal(json_path_str(acc, "items.4.metadata.name", ""), "e");
	assert_string_equal(json_path_str(acc, "kind", ""), "ConfigMapList");
	assert_string_equal(json_path_str(acc, "metadata.resourceVersion", ""), "100");
	assert_null(json_path(acc, "metadata.continue"));
	assert_null(json_path(acc, "metadata.remainingItemCount"));
	assert_null(kube_pages_continue(acc));
	/* the pages themselves are untouched */
	assert_string_equal(json_path_str(pages[0], "metadata.continue", ""), "tok1");
	assert_int_equal(json_array_size(json_object_get(pages[0], "items")), 2);
	for (int i = 0; i < 3; i++)
		json_decref(pages[i]);
	json_decref(acc);
}

static void test_last_resource_version_wins(void **state)
{
	const char *const one[] = {"a", NULL};
	json_t *p1 = page("7", "t", -1, one), *p2 = page("9", NULL, -1, one);
	json_t *acc = NULL;

	(void)state;
	assert_int_equal(kube_pages_merge(&acc, p1), 0);
	assert_int_equal(kube_pages_merge(&acc, p2), 0);
	assert_string_equal(json_path_str(acc, "metadata.resourceVersion", ""), "9");
	json_decref(p1);
	json_decref(p2);
	json_decref(acc);
}

static void test_empty_and_null_items(void **state)
{
	json_t *nulls =
	    json_pack("{s:s, s:{s:s}, s:n}", "kind", "List", "metadata", "resourceVersion", "3", "items");
	json_t *none = json_pack("{s:s, s:{}}", "kind", "List", "metadata");
	const char *const one[] = {"x", NULL};
	json_t *some = page("4", NULL, -1, one);
	json_t *acc = NULL;

	(void)state;
	assert_int_equal(kube_pages_merge(&acc, nulls), 0);
	assert_true(json_is_array(json_object_get(acc, "items")));
	assert_int_equal(json_array_size(json_object_get(acc, "items")), 0);
	assert_int_equal(kube_pages_merge(&acc, none), 0);
	assert_int_equal(kube_pages_merge(&acc, some), 0);
	assert_int_equal(json_array_size(json_object_get(acc, "items")), 1);
	assert_string_equal(json_path_str(acc, "metadata.resourceVersion", ""), "4");
	json_decref(acc);
	/* a first page without metadata still gets a sealed one */
	acc = NULL;
	json_object_del(none, "metadata");
	assert_int_equal(kube_pages_merge(&acc, none), 0);
	assert_true(json_is_object(json_object_get(acc, "metadata")));
	json_decref(acc);
	json_decref(nulls);
	json_decref(none);
	json_decref(some);
}

static void test_not_a_list(void **state)
{
	const char *const one[] = {"x", NULL};
	json_t *good = page("1", NULL, -1, one);
	json_t *bad_items = json_pack("{s:s}", "items", "oops");
	json_t *scalar = json_string("list");
	json_t *acc = NULL;

	(void)state;
	assert_int_equal(kube_pages_merge(&acc, bad_items), SAQR_EPARSE);
	assert_null(acc);
	assert_int_equal(kube_pages_merge(&acc, good), 0);
	assert_int_equal(kube_pages_merge(&acc, scalar), SAQR_EPARSE);
	assert_int_equal(json_array_size(json_object_get(acc, "items")), 1);
	assert_null(kube_pages_continue(scalar));
	json_decref(good);
	json_decref(bad_items);
	json_decref(scalar);
	json_decref(acc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_three_pages),
	    cmocka_unit_test(test_last_resource_version_wins),
	    cmocka_unit_test(test_empty_and_null_items),
	    cmocka_unit_test(test_not_a_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
