/* Unit tests for operator/objmeta.c: owned-object names and label values always valid
 * (hash suffix when cut), recommended labels, the controller ownerReference. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "operator/objmeta.h"

static const char *long_name =
    "a-very-long-model-deployment-name-that-goes-on-and-on-well-past-sixty-three-characters";

static void test_name_kept_when_valid(void **state)
{
	char out[OBJMETA_NAME_BUF];

	(void)state;
	assert_int_equal(objmeta_name("fraud", NULL, OBJMETA_NAME_MAX, out, sizeof(out)), 0);
	assert_string_equal(out, "fraud");
	assert_int_equal(objmeta_name("fraud", "-canary", OBJMETA_NAME_MAX, out, sizeof(out)), 0);
	assert_string_equal(out, "fraud-canary");
}

static void test_long_name_cut_with_hash(void **state)
{
	char a[OBJMETA_NAME_BUF], b[OBJMETA_NAME_BUF], c[OBJMETA_NAME_BUF];

	(void)state;
	assert_int_equal(objmeta_name(long_name, NULL, OBJMETA_NAME_MAX, a, sizeof(a)), 0);
	/* cut to fit, a trailing '-' of the cut dropped, then "-<8 hex>" */
	assert_in_range(strlen(a), OBJMETA_NAME_MAX - 2, OBJMETA_NAME_MAX);
	assert_true(objmeta_is_dns_label(a, OBJMETA_NAME_MAX));
	assert_memory_equal(a, long_name, 20);
	/* deterministic */
	assert_int_equal(objmeta_name(long_name, NULL, OBJMETA_NAME_MAX, b, sizeof(b)), 0);
	assert_string_equal(a, b);
	/* a suffix gives a distinct name even though the cut prefix is the same */
	assert_int_equal(objmeta_name(long_name, "-canary", OBJMETA_NAME_MAX, c, sizeof(c)), 0);
	assert_true(objmeta_is_dns_label(c, OBJMETA_NAME_MAX));
	assert_string_not_equal(a, c);
	/* a smaller cap */
	assert_int_equal(objmeta_name(long_name, NULL, 57, a, sizeof(a)), 0);
	assert_in_range(strlen(a), 55, 57);
	assert_true(objmeta_is_dns_label(a, 57));
}

static void test_invalid_chars_sanitised(void **state)
{
	char out[OBJMETA_NAME_BUF], other[OBJMETA_NAME_BUF];

	(void)state;
	assert_int_equal(objmeta_name("My.Model", NULL, OBJMETA_NAME_MAX, out, sizeof(out)), 0);
	assert_true(objmeta_is_dns_label(out, OBJMETA_NAME_MAX));
	assert_memory_equal(out, "my-model-", 9);
	assert_int_equal(strlen(out), 9 + 8);
	/* "my-model" itself is valid and must not collide with the sanitised "My.Model" */
	assert_int_equal(objmeta_name("my-model", NULL, OBJMETA_NAME_MAX, other, sizeof(other)), 0);
	assert_string_equal(other, "my-model");
	/* a leading digit is not allowed in a DNS-1035 label */
	assert_int_equal(objmeta_name("1model", NULL, OBJMETA_NAME_MAX, out, sizeof(out)), 0);
	assert_true(objmeta_is_dns_label(out, OBJMETA_NAME_MAX));
	assert_memory_equal(out, "n-1model-", 9);
}

static void test_name_errors(void **state)
{
	char out[OBJMETA_NAME_BUF], tiny[10];

	(void)state;
	assert_int_equal(objmeta_name(NULL, NULL, OBJMETA_NAME_MAX, out, sizeof(out)), SAQR_EINVAL);
	assert_int_equal(objmeta_name("", NULL, OBJMETA_NAME_MAX, out, sizeof(out)), SAQR_EINVAL);
	assert_int_equal(objmeta_name("x", NULL, 64, out, sizeof(out)), SAQR_EINVAL);
	assert_int_equal(objmeta_name("x", NULL, 8, out, sizeof(out)), SAQR_EINVAL);
	assert_int_equal(objmeta_name("x", NULL, OBJMETA_NAME_MAX, tiny, sizeof(tiny)), SAQR_ETOOBIG);
}

static void test_dns_label_predicate(void **state)
{
	(void)state;
	assert_true(objmeta_is_dns_label("a", 63));
	assert_true(objmeta_is_dns_label("a-1", 63));
	assert_false(objmeta_is_dns_label("", 63));
	assert_false(objmeta_is_dns_label(NULL, 63));
	assert_false(objmeta_is_dns_label("-a", 63));
	assert_false(objmeta_is_dns_label("a-", 63));
	assert_false(objmeta_is_dns_label("A", 63));
	assert_false(objmeta_is_dns_label("a.b", 63));
	assert_false(objmeta_is_dns_label("abcdef", 5));
}

static void test_label_values(void **state)
{
	char out[OBJMETA_NAME_BUF];

	(void)state;
	assert_int_equal(objmeta_label_value("Fraud_Detector.v2", out, sizeof(out)), 0);
	assert_string_equal(out, "Fraud_Detector.v2");
	assert_int_equal(objmeta_label_value("", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(objmeta_label_value("my model/v1", out, sizeof(out)), 0);
	assert_memory_equal(out, "my-model-v1-", 12);
	assert_int_equal(strlen(out), 12 + 8);
	assert_int_equal(objmeta_label_value(long_name, out, sizeof(out)), 0);
	assert_true(strlen(out) <= 63);
	assert_int_equal(objmeta_label_value("--x--", out, sizeof(out)), 0);
	assert_memory_equal(out, "x-", 2);
	assert_int_equal(objmeta_label_value("///", out, sizeof(out)), 0);
	assert_int_equal(strlen(out), 8); /* only the hash is left */
	assert_int_equal(objmeta_label_value(NULL, out, sizeof(out)), SAQR_EINVAL);
	assert_int_equal(objmeta_label_value("x", out, 10), SAQR_ETOOBIG);
}

static void test_recommended_labels(void **state)
{
	json_t *l = objmeta_labels("fraud-detector", "fraud", "model-server", OBJMETA_LABEL_MD);

	(void)state;
	assert_non_null(l);
	assert_int_equal(json_object_size(l), 6);
	assert_string_equal(json_string_value(json_object_get(l, "app.kubernetes.io/name")),
			    "fraud-detector");
	assert_string_equal(json_string_value(json_object_get(l, "app.kubernetes.io/instance")), "fraud");
	assert_string_equal(json_string_value(json_object_get(l, "app.kubernetes.io/component")),
			    "model-server");
	assert_string_equal(json_string_value(json_object_get(l, "app.kubernetes.io/managed-by")),
			    "saqr-operator");
	assert_string_equal(json_string_value(json_object_get(l, "app.kubernetes.io/part-of")), "saqr");
	assert_string_equal(json_string_value(json_object_get(l, OBJMETA_LABEL_MD)), "fraud");
	json_decref(l);
	l = objmeta_labels("n", "i", "c", NULL);
	assert_int_equal(json_object_size(l), 5);
	json_decref(l);
	assert_null(objmeta_labels(NULL, "i", "c", NULL));
}

static json_t *owner(void)
{
	return json_pack("{s:s, s:s, s:{s:s, s:s, s:s}}", "apiVersion", OBJMETA_API_VERSION, "kind",
			 "ModelDeployment", "metadata", "name", "fraud", "namespace", "ml", "uid", "u-1");
}

static void test_owner_ref_and_object(void **state)
{
	json_t *md = owner(), *obj, *ref;

	(void)state;
	obj = objmeta_object("v1", "Service", "fraud", json_pack("{s:s}", "a", "b"), md);
	assert_non_null(obj);
	assert_string_equal(json_path_str(obj, "apiVersion", ""), "v1");
	assert_string_equal(json_path_str(obj, "kind", ""), "Service");
	assert_string_equal(json_path_str(obj, "metadata.name", ""), "fraud");
	assert_string_equal(json_path_str(obj, "metadata.namespace", ""), "ml");
	assert_string_equal(json_path_str(obj, "metadata.labels.a", ""), "b");
	ref = json_path(obj, "metadata.ownerReferences.0");
	assert_string_equal(json_path_str(ref, "apiVersion", ""), "saqr.dev/v1alpha1");
	assert_string_equal(json_path_str(ref, "kind", ""), "ModelDeployment");
	assert_string_equal(json_path_str(ref, "name", ""), "fraud");
	assert_string_equal(json_path_str(ref, "uid", ""), "u-1");
	assert_true(json_is_true(json_object_get(ref, "controller")));
	assert_true(json_is_true(json_object_get(ref, "blockOwnerDeletion")));
	assert_true(objmeta_is_controlled_by(obj, md));
	json_decref(obj);
	json_decref(md);
}

static void test_owner_errors_and_foreign_objects(void **state)
{
	json_t *md = owner(), *no_uid = owner(), *foreign;

	(void)state;
	json_object_del(json_object_get(no_uid, "metadata"), "uid");
	assert_null(objmeta_owner_ref(no_uid));
	/* labels are stolen even on failure: ASan would report a leak */
	assert_null(objmeta_object("v1", "Service", "x", json_object(), no_uid));
	assert_null(objmeta_object("v1", "Service", "x", NULL, md));
	foreign =
	    json_pack("{s:{s:[{s:s, s:b}]}}", "metadata", "ownerReferences", "uid", "u-1", "controller", 0);
	assert_false(objmeta_is_controlled_by(foreign, md)); /* not the controller */
	assert_false(objmeta_is_controlled_by(foreign, no_uid));
	json_decref(foreign);
	foreign =
	    json_pack("{s:{s:[{s:s, s:b}]}}", "metadata", "ownerReferences", "uid", "u-2", "controller", 1);
	assert_false(objmeta_is_controlled_by(foreign, md));
	json_decref(foreign);
	json_decref(md);
	json_decref(no_uid);
}

static void test_owned_release(void **state)
{
	struct objmeta_owned o = {.action = OBJMETA_APPLY, .obj = json_object()};

	(void)state;
	snprintf(o.name, sizeof(o.name), "x");
	objmeta_owned_release(&o);
	assert_null(o.obj);
	assert_int_equal(o.action, OBJMETA_LEAVE);
	assert_string_equal(o.name, "");
	objmeta_owned_release(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_name_kept_when_valid),
	    cmocka_unit_test(test_long_name_cut_with_hash),
	    cmocka_unit_test(test_invalid_chars_sanitised),
	    cmocka_unit_test(test_name_errors),
	    cmocka_unit_test(test_dns_label_predicate),
	    cmocka_unit_test(test_label_values),
	    cmocka_unit_test(test_recommended_labels),
	    cmocka_unit_test(test_owner_ref_and_object),
	    cmocka_unit_test(test_owner_errors_and_foreign_objects),
	    cmocka_unit_test(test_owned_release),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
