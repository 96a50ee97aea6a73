/* Unit tests for policy/summary.c: what a policy puts in force, as JSON (groups in their order
 * with enabled, enforcement and the Pod Security level; locations; exemptions), and the text of
 * the built-in policy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../support/policytest.h"
#include "common/err.h"
#include "common/jsonutil.h"
#include "policy/policy.h"

static void test_default_policy(void **state)
{
	static const char *const groups[] = {"podSecurity", "zeroTrust", "dataResidency", "compliance",
					     "exemptions"};
	struct policy *p = NULL;
	json_t *s = NULL;
	size_t len = 0;
	const char *text = policy_default_text(&len);

	(void)state;
	assert_int_equal(policy_load_buffer(text, len, "default", &p, NULL, 0), 0);
	assert_int_equal(policy_summary(p, &s), 0);
	assert_int_equal(json_array_size(json_object_get(s, "groups")), 5);
	for (size_t i = 0; i < 5; i++) {
		const json_t *g = json_array_get(json_object_get(s, "groups"), i);

		assert_string_equal(json_path_str(g, "name", ""), groups[i]);
		assert_true(json_is_true(json_object_get(g, "enabled")));
		assert_string_equal(json_path_str(g, "enforcement", ""), "deny");
	}
	assert_string_equal(json_path_str(s, "groups.0.level", ""), "restricted");
	assert_string_equal(json_path_str(s, "allowedLocations.0", ""), "aws/me-central-1");
	assert_int_equal(json_array_size(json_object_get(s, "allowedLocations")), 6);
	assert_string_equal(json_path_str(s, "exemptions.namespaces.0", ""), "kube-system");
	assert_string_equal(json_path_str(s, "exemptions.breakGlass.groups.0", ""), "saqr:break-glass");
	assert_string_equal(json_path_str(s, "exemptions.breakGlass.maxDuration", ""), "PT4H");
	assert_non_null(strstr(text, "kind: AdmissionPolicy"));
	json_decref(s);
	policy_free(p);
}

static void test_overrides_and_errors(void **state)
{
	struct policy *p = policytest_policy("apiVersion: saqr.dev/v1alpha1\nkind: AdmissionPolicy\nspec:\n"
					     "  podSecurity: {enforcement: audit, level: baseline}\n"
					     "  zeroTrust: {enabled: false}\n"
					     "  exemptions:\n    namespaces: []\n    groups: [sre]\n"
					     "    breakGlass: {groups: [], maxDuration: PT30M}\n");
	json_t *s = NULL;

	(void)state;
	assert_int_equal(policy_summary(p, &s), 0);
	assert_string_equal(json_path_str(s, "groups.0.enforcement", ""), "audit");
	assert_string_equal(json_path_str(s, "groups.0.level", ""), "baseline");
	assert_false(json_is_true(json_path(s, "groups.1.enabled")));
	assert_null(json_path(s, "groups.1.level"));
	assert_int_equal(json_array_size(json_path(s, "exemptions.namespaces")), 0);
	assert_string_equal(json_path_str(s, "exemptions.groups.0", ""), "sre");
	assert_int_equal(json_array_size(json_path(s, "exemptions.breakGlass.groups")), 0);
	assert_string_equal(json_path_str(s, "exemptions.breakGlass.maxDuration", ""), "PT30M");
	json_decref(s);
	policy_free(p);
	s = NULL;
	assert_int_equal(policy_summary(NULL, &s), SAQR_EINVAL);
	assert_null(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_policy),
	    cmocka_unit_test(test_overrides_and_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
