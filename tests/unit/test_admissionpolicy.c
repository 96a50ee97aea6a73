/* Unit tests for the pure part of operator/admissionpolicy: the policy document an AdmissionPolicy
 * stands for (which the policy loader accepts as is), the loader's message without its line, the
 * generation read back from a ConfigMap's document, the operator's status (Accepted, its
 * status.loaded entry, times kept when nothing changed) and --policy-configmap parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "operator/admissionpolicy/admissionpolicy.h"
#include "operator/conditions.h"

#define T0 "2026-01-01T10:00:00Z"
#define T1 "2026-01-01T11:00:00Z"
#define CM "saqr-system/saqr-policy"

/* An AdmissionPolicy as the API server returns it: metadata the document must not carry. */
static json_t *ap_with(long long generation, json_t *zero_trust)
{
	json_t *ap = json_pack("{s:s, s:s, s:{s:s, s:I, s:s, s:s, s:[{s:s}]}, s:{s:{s:s, s:s}, s:o}}",
			       "apiVersion", AP_API_VERSION, "kind", AP_KIND, "metadata", "name", "cluster",
			       "generation", (json_int_t)generation, "uid", "1234", "resourceVersion", "77",
			       "managedFields", "manager", "kubectl", "spec", "podSecurity", "enforcement",
			       "warn", "level", "baseline", "zeroTrust", zero_trust);

	assert_non_null(ap);
	return ap;
}

static json_t *valid_zero_trust(void)
{
	return json_pack("{s:b, s:[s], s:s}", "enabled", 1, "allowedRegistries", "ghcr.io/acme",
			 "enforcement", "deny");
}

static void test_document_is_the_policy_file(void **state)
{
	json_t *ap = ap_with(3, valid_zero_trust()), *doc;
	char *text = NULL, err[512] = "";
	size_t len = 0;

	(void)state;
	assert_int_equal(ap_document(ap, &text, &len), 0);
	assert_int_equal(len, strlen(text));
	doc = json_loads(text, 0, NULL);
	assert_non_null(doc);
	assert_string_equal(json_path_str(doc, "apiVersion", ""), AP_API_VERSION);
	assert_string_equal(json_path_str(doc, "kind", ""), AP_KIND);
	assert_string_equal(json_path_str(doc, "metadata.name", ""), "cluster");
	assert_int_equal(json_path_int(doc, "metadata.generation", 0), 3);
	assert_int_equal(json_object_size(json_object_get(doc, "metadata")),
			 2); /* no uid, no managedFields */
	assert_true(json_equal(json_object_get(doc, "spec"), json_object_get(ap, "spec")));
	/* The loader reads it as YAML, as the webhook will from the mounted file. */
	assert_int_equal(ap_validate(text, len, err, sizeof(err)), 0);
	assert_int_equal(ap_document_generation(text, len), 3);
	json_decref(doc);
	free(text);
	json_decref(ap);
}

static void test_document_refuses_what_is_no_policy(void **state)
{
	json_t *ap = ap_with(1, valid_zero_trust());
	char *text = NULL;
	size_t len = 0;

	(void)state;
	json_object_set_new(ap, "spec", json_string("nope"));
	assert_int_equal(ap_document(ap, &text, &len), SAQR_EINVAL);
	json_object_del(json_object_get(ap, "metadata"), "name");
	json_object_set_new(ap, "spec", json_object());
	assert_int_equal(ap_document(ap, &text, &len), SAQR_EINVAL);
	assert_null(text);
	json_decref(ap);
}

static void test_document_too_big(void **state)
{
	json_t *ap = ap_with(1, valid_zero_trust());
	char *big = malloc(AP_DOC_MAX + 1), *text = NULL;
	size_t len = 0;

	(void)state;
	assert_non_null(big);
	memset(big, 'a', AP_DOC_MAX);
	big[AP_DOC_MAX] = '\0';
	json_object_set_new(json_path(ap, "spec.zeroTrust"), "allowedRegistries", json_pack("[s]", big));
	assert_int_equal(ap_document(ap, &text, &len), SAQR_ETOOBIG);
	assert_null(text);
	free(big);
	json_decref(ap);
}

/* A wrong type and a typo: the message starts at the field's path, without the line. */
static void test_validate_names_the_field(void **state)
{
	json_t *ap = ap_with(2, json_pack("{s:s}", "enabled", "true"));
	char *text = NULL, err[512] = "";
	size_t len = 0;

	(void)state;
	assert_int_equal(ap_document(ap, &text, &len), 0);
	assert_int_equal(ap_validate(text, len, err, sizeof(err)), SAQR_ECONFIG);
	assert_non_null(strstr(err, "spec.zeroTrust.enabled: expected true or false"));
	assert_int_equal(strncmp(err, "spec.zeroTrust.enabled", 22), 0);
	free(text);
	json_object_set_new(ap, "spec", json_pack("{s:{s:b}}", "zeroTrust", "requireDigets", 1));
	assert_int_equal(ap_document(ap, &text, &len), 0);
	assert_int_equal(ap_validate(text, len, err, sizeof(err)), SAQR_ECONFIG);
	assert_int_equal(strncmp(err, "spec.zeroTrust.requireDigets: unknown field", 43), 0);
	free(text);
	json_decref(ap);
}

static void test_document_generation_of_other_files(void **state)
{
	static const char hand[] =
	    "apiVersion: saqr.dev/v1alpha1\nkind: AdmissionPolicy\nmetadata: {name: default}\n";

	(void)state;
	assert_int_equal(ap_document_generation(hand, strlen(hand)), 0);
	assert_int_equal(ap_document_generation("{", 1), 0);
	assert_int_equal(ap_document_generation(NULL, 0), 0);
}

static void test_status_loaded(void **state)
{
	json_t *ap = ap_with(4, valid_zero_trust()), *st = NULL;
	struct ap_outcome o = {.reason = AP_REASON_LOADED, .configmap = CM};
	const json_t *conds, *e;

	(void)state;
	assert_int_equal(ap_status(ap, &o, AP_LOADER_OPERATOR, T0, &st), 0);
	assert_int_equal(json_path_int(st, "observedGeneration", 0), 4);
	conds = json_object_get(st, "conditions");
	assert_true(cond_has_status(conds, AP_COND_ACCEPTED, COND_TRUE));
	assert_string_equal(cond_reason(conds, AP_COND_ACCEPTED, ""), AP_REASON_LOADED);
	assert_non_null(strstr(cond_message(conds, AP_COND_ACCEPTED, ""), "generation 4 is valid"));
	assert_int_equal(json_path_int(cond_find(conds, AP_COND_ACCEPTED), "observedGeneration", 0), 4);
	e = ap_loaded_entry(st, AP_LOADER_OPERATOR);
	assert_non_null(e);
	assert_int_equal(json_path_int(e, "generation", 0), 4);
	assert_true(json_path_bool(e, "accepted", false, NULL));
	assert_string_equal(json_path_str(e, "loadedAt", ""), T0);
	assert_string_equal(json_path_str(e, "message", ""), "written to ConfigMap " CM);
	assert_true(ap_status_changed(NULL, st, AP_LOADER_OPERATOR));
	json_decref(st);
	json_decref(ap);
}

/* Applied once, the same outcome an hour later changes nothing: times are kept. */
static void test_status_unchanged_keeps_times(void **state)
{
	json_t *ap = ap_with(4, valid_zero_trust()), *st = NULL, *again = NULL;
	struct ap_outcome o = {.reason = AP_REASON_LOADED, .configmap = CM};

	(void)state;
	assert_int_equal(ap_status(ap, &o, AP_LOADER_OPERATOR, T0, &st), 0);
	json_object_set(ap, "status", st);
	json_array_append_new(json_object_get(st, "loaded"),
			      json_pack("{s:s, s:i}", "name", "saqr-webhook/pod-a", "generation", 3));
	assert_int_equal(ap_status(ap, &o, AP_LOADER_OPERATOR, T1, &again), 0);
	assert_false(ap_status_changed(st, again, AP_LOADER_OPERATOR));
	assert_string_equal(json_path_str(ap_loaded_entry(again, AP_LOADER_OPERATOR), "loadedAt", ""), T0);
	/* Only the operator's own entry is applied: the webhook pods own theirs. */
	assert_int_equal(json_array_size(json_object_get(again, "loaded")), 1);
	json_decref(again);
	json_decref(st);
	json_decref(ap);
}

static void test_status_refused_keeps_last_good(void **state)
{
	json_t *ap = ap_with(4, valid_zero_trust()), *good = NULL, *bad = NULL;
	struct ap_outcome ok = {.reason = AP_REASON_LOADED, .configmap = CM};
	struct ap_outcome refused = {.reason = AP_REASON_INVALID,
				     .detail = "spec.zeroTrust.enabled: expected true or false",
				     .configmap = CM,
				     .in_force = 4};
	const json_t *conds, *e;
	const char *msg;

	(void)state;
	assert_int_equal(ap_status(ap, &ok, AP_LOADER_OPERATOR, T0, &good), 0);
	json_object_set_new(ap, "status", good);
	json_object_set_new(json_object_get(ap, "metadata"), "generation", json_integer(5));
	assert_int_equal(ap_status(ap, &refused, AP_LOADER_OPERATOR, T1, &bad), 0);
	assert_true(ap_status_changed(good, bad, AP_LOADER_OPERATOR));
	conds = json_object_get(bad, "conditions");
	assert_true(cond_has_status(conds, AP_COND_ACCEPTED, COND_FALSE));
	assert_string_equal(cond_reason(conds, AP_COND_ACCEPTED, ""), AP_REASON_INVALID);
	assert_string_equal(json_path_str(cond_find(conds, AP_COND_ACCEPTED), "lastTransitionTime", ""), T1);
	msg = cond_message(conds, AP_COND_ACCEPTED, "");
	assert_non_null(strstr(msg, "generation 5 refused: spec.zeroTrust.enabled: expected true or false"));
	assert_non_null(
	    strstr(msg, "the last good policy stays in force (generation 4 in ConfigMap " CM ")"));
	e = ap_loaded_entry(bad, AP_LOADER_OPERATOR); /* generation 4 stays in force, since T0 */
	assert_int_equal(json_path_int(e, "generation", 0), 4);
	assert_string_equal(json_path_str(e, "loadedAt", ""), T0);
	assert_false(json_path_bool(e, "accepted", true, NULL));
	assert_string_equal(json_path_str(e, "message", ""),
			    "generation 5 not loaded: spec.zeroTrust.enabled: expected true or false");
	assert_int_equal(json_path_int(bad, "observedGeneration", 0), 5);
	json_decref(bad);
	refused.in_force = 0;
	refused.reason = AP_REASON_WRITE_FAILED;
	refused.detail = "configmaps is forbidden";
	assert_int_equal(ap_status(ap, &refused, AP_LOADER_OPERATOR, T1, &bad), 0);
	msg = cond_message(json_object_get(bad, "conditions"), AP_COND_ACCEPTED, "");
	assert_non_null(strstr(msg, "could not be written to ConfigMap " CM ": configmaps is forbidden"));
	assert_non_null(strstr(msg, "(ConfigMap " CM " unchanged)"));
	json_decref(bad);
	json_decref(ap);
}

static void test_status_bad_arguments(void **state)
{
	json_t *ap = ap_with(1, valid_zero_trust()), *st = NULL;
	struct ap_outcome o = {.reason = NULL, .configmap = CM};

	(void)state;
	assert_int_equal(ap_status(ap, &o, AP_LOADER_OPERATOR, T0, &st), SAQR_EINVAL);
	o.reason = "not a reason!";
	assert_int_equal(ap_status(ap, &o, AP_LOADER_OPERATOR, T0, &st), SAQR_EINVAL);
	assert_null(st);
	json_decref(ap);
}

static void test_configmap_ref(void **state)
{
	char ns[16], name[16];

	(void)state;
	assert_int_equal(
	    ap_configmap_ref_parse("saqr-system/saqr-policy", ns, sizeof(ns), name, sizeof(name)), 0);
	assert_string_equal(ns, "saqr-system");
	assert_int_equal(ap_configmap_ref_parse("ops/policy", ns, sizeof(ns), name, sizeof(name)), 0);
	assert_string_equal(ns, "ops");
	assert_string_equal(name, "policy");
	assert_int_equal(ap_configmap_ref_parse("policy", ns, sizeof(ns), name, sizeof(name)), SAQR_EINVAL);
	assert_int_equal(ap_configmap_ref_parse("/policy", ns, sizeof(ns), name, sizeof(name)), SAQR_EINVAL);
	assert_int_equal(ap_configmap_ref_parse("ops/", ns, sizeof(ns), name, sizeof(name)), SAQR_EINVAL);
	assert_int_equal(ap_configmap_ref_parse("a/b/c", ns, sizeof(ns), name, sizeof(name)), SAQR_EINVAL);
	assert_int_equal(
	    ap_configmap_ref_parse("a-very-long-namespace/b", ns, sizeof(ns), name, sizeof(name)),
	    SAQR_EINVAL);
	assert_int_equal(ap_configmap_ref_parse(NULL, ns, sizeof(ns), name, sizeof(name)), SAQR_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_document_is_the_policy_file),
	    cmocka_unit_test(test_document_refuses_what_is_no_policy),
	    cmocka_unit_test(test_document_too_big),
	    cmocka_unit_test(test_validate_names_the_field),
	    cmocka_unit_test(test_document_generation_of_other_files),
	    cmocka_unit_test(test_status_loaded),
	    cmocka_unit_test(test_status_unchanged_keeps_times),
	    cmocka_unit_test(test_status_refused_keeps_last_good),
	    cmocka_unit_test(test_status_bad_arguments),
	    cmocka_unit_test(test_configmap_ref),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
