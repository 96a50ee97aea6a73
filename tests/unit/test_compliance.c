/* Unit tests for policy/compliance.c: classification, owner, and personal data (lawful
 * basis, retention against the maximum, encryption at rest). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../support/policytest.h"

static struct policy *policy;

static const char model[] = "apiVersion: saqr.dev/v1alpha1\n"
			    "kind: ModelDeployment\n"
			    "metadata:\n"
			    "  name: churn\n"
			    "  namespace: ml\n"
			    "  labels:\n"
			    "    saqr.dev/data-classification: confidential\n"
			    "    saqr.dev/owner: growth-team\n"
			    "    saqr.dev/personal-data: 'true'\n"
			    "    saqr.dev/lawful-basis: contract\n"
			    "    saqr.dev/retention: P180D\n"
			    "spec:\n"
			    "  model: {uri: 's3://m/churn'}\n"
			    "  server: {image: x}\n"
			    "  storage: {provider: aws, region: me-central-1, encrypted: true}\n";

static int setup(void **state)
{
	(void)state;
	policy = policytest_only("compliance", NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	policy_free(policy);
	return 0;
}

static json_t *labels_of(json_t *obj)
{
	return json_object_get(json_object_get(obj, "metadata"), "labels");
}

static size_t total(const struct policy *p, const json_t *obj)
{
	struct policy_decision d;
	size_t n;

	policytest_eval(p, obj, &d);
	n = d.nviolations;
	if (n)
		policytest_dump(&d);
	policy_decision_release(&d);
	return n;
}

/* The only finding of obj must be rule at path with message (message may be NULL). */
static void expect_one(const json_t *obj, const char *rule, const char *path, const char *message)
{
	struct policy_decision d;

	policytest_eval(policy, obj, &d);
	if (d.nviolations != 1)
		policytest_dump(&d);
	assert_int_equal(d.nviolations, 1);
	assert_string_equal(d.violations[0].rule, rule);
	assert_string_equal(d.violations[0].path, path);
	if (message)
		assert_string_equal(d.violations[0].message, message);
	assert_false(d.allowed);
	policy_decision_release(&d);
}

static void test_compliant_model_passes(void **state)
{
	json_t *m = policytest_yaml(model);

	(void)state;
	assert_int_equal(total(policy, m), 0);
	json_decref(m);
}

static void test_classification(void **state)
{
	static const char *const ok[] = {"public", "internal", "confidential", "restricted"};
	json_t *m = policytest_yaml(model);
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		json_object_set_new(labels_of(m), "saqr.dev/data-classification", json_string(ok[i]));
		assert_int_equal(total(policy, m), 0);
	}
	json_object_set_new(labels_of(m), "saqr.dev/data-classification", json_string("secret"));
	expect_one(m, "compliance.classification", "metadata.labels[saqr.dev/data-classification]",
		   "\"secret\" is not a classification; allowed: public, internal, confidential, restricted");
	json_object_del(labels_of(m), "saqr.dev/data-classification");
	expect_one(m, "compliance.classification", "metadata.labels[saqr.dev/data-classification]", NULL);
	json_decref(m);
}

static void test_owner(void **state)
{
	json_t *m = policytest_yaml(model);

	(void)state;
	json_object_set_new(labels_of(m), "saqr.dev/owner", json_string(""));
	expect_one(m, "compliance.owner", "metadata.labels[saqr.dev/owner]", NULL);
	json_object_del(labels_of(m), "saqr.dev/owner");
	expect_one(m, "compliance.owner", "metadata.labels[saqr.dev/owner]", NULL);
	/* an annotation will do */
	policytest_set(m, "metadata.annotations",
		       json_pack("{s:s}", "saqr.dev/owner", "Data Platform <dp@example.com>"));
	assert_int_equal(total(policy, m), 0);
	json_decref(m);
}

static void test_lawful_basis(void **state)
{
	json_t *m = policytest_yaml(model);

	(void)state;
	json_object_set_new(labels_of(m), "saqr.dev/lawful-basis", json_string("because"));
	expect_one(
	    m, "compliance.lawfulBasis", "metadata.labels[saqr.dev/lawful-basis]",
	    "\"because\" is not an allowed lawful basis for personal data; allowed: consent, contract, "
	    "legal-obligation, vital-interests, public-interest, legitimate-interests");
	json_object_del(labels_of(m), "saqr.dev/lawful-basis");
	expect_one(m, "compliance.lawfulBasis", "metadata.labels[saqr.dev/lawful-basis]", NULL);
	json_decref(m);
}

static void test_retention(void **state)
{
	static const char *const ok[] = {"P1Y", "P365D", "PT8760H", "P52W", "P12M", "P1D"};
	json_t *m = policytest_yaml(model);
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		json_object_set_new(labels_of(m), "saqr.dev/retention", json_string(ok[i]));
		assert_int_equal(total(policy, m), 0);
	}
	json_object_set_new(labels_of(m), "saqr.dev/retention", json_string("P366D"));
	expect_one(m, "compliance.retention", "metadata.labels[saqr.dev/retention]",
		   "\"P366D\" (366 days) is longer than the policy's maximum of 365 days");
	json_object_set_new(labels_of(m), "saqr.dev/retention", json_string("1 year"));
	expect_one(m, "compliance.retention", "metadata.labels[saqr.dev/retention]",
		   "\"1 year\" is not an ISO-8601 duration such as P90D, P1Y or PT720H");
	json_object_set_new(labels_of(m), "saqr.dev/retention", json_string("P0D"));
	expect_one(m, "compliance.retention", "metadata.labels[saqr.dev/retention]", NULL);
	json_object_del(labels_of(m), "saqr.dev/retention");
	expect_one(m, "compliance.retention", "metadata.labels[saqr.dev/retention]", NULL);
	json_decref(m);
}

static void test_max_retention_is_configurable(void **state)
{
	struct policy *p = policytest_only("compliance", "    maxRetention: P30D\n");
	json_t *m = policytest_yaml(model);

	(void)state;
	json_object_set_new(labels_of(m), "saqr.dev/retention", json_string("P31D"));
	assert_int_equal(total(p, m), 1);
	json_object_set_new(labels_of(m), "saqr.dev/retention", json_string("P30D"));
	assert_int_equal(total(p, m), 0);
	policy_free(p);
	json_decref(m);
}

static void test_encryption_at_rest(void **state)
{
	json_t *m = policytest_yaml(model);

	(void)state;
	policytest_set(m, "spec.storage.encrypted", json_false());
	expect_one(m, "compliance.encryption", "spec.storage.encrypted",
		   "false; personal data must be encrypted at rest: set spec.storage.encrypted: true (and a "
		   "kmsKeyRef)");
	policytest_set(m, "spec.storage.encrypted", NULL);
	expect_one(m, "compliance.encryption", "spec.storage.encrypted", NULL);
	json_decref(m);
}

static void test_no_personal_data_needs_nothing_more(void **state)
{
	json_t *m = policytest_yaml(model);

	(void)state;
	json_object_set_new(labels_of(m), "saqr.dev/personal-data", json_string("false"));
	json_object_del(labels_of(m), "saqr.dev/lawful-basis");
	json_object_del(labels_of(m), "saqr.dev/retention");
	policytest_set(m, "spec.storage.encrypted", NULL);
	assert_int_equal(total(policy, m), 0);
	json_object_set_new(labels_of(m), "saqr.dev/personal-data", json_string("yes"));
	expect_one(m, "compliance.personalData", "metadata.labels[saqr.dev/personal-data]",
		   "\"yes\" must be \"true\" or \"false\"");
	json_decref(m);
}

static void test_switches_turn_rules_off(void **state)
{
	struct policy *p =
	    policytest_only("compliance", "    requireClassification: false\n    requireOwner: false\n"
					  "    personalData:\n      requireLawfulBasis: false\n"
					  "      requireRetention: false\n      requireEncryption: false\n");
	json_t *w = policytest_yaml(
	    "apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {saqr.dev/personal-data: 'true'}}\n"
	    "spec: {containers: [{name: a, image: b}]}\n");

	(void)state;
	assert_int_equal(total(p, w), 0);
	assert_int_equal(total(policy, w), 4); /* classification, owner, lawful basis, retention */
	policy_free(p);
	json_decref(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_compliant_model_passes),
	    cmocka_unit_test(test_classification),
	    cmocka_unit_test(test_owner),
	    cmocka_unit_test(test_lawful_basis),
	    cmocka_unit_test(test_retention),
	    cmocka_unit_test(test_max_retention_is_configurable),
	    cmocka_unit_test(test_encryption_at_rest),
	    cmocka_unit_test(test_no_personal_data_needs_nothing_more),
	    cmocka_unit_test(test_switches_turn_rules_off),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
