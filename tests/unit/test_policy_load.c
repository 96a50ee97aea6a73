/* Unit tests for policy/policy_load.c and policy_defaults.c: the documented defaults, the
 * embedded default policy, overrides, and every load error with its line and field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../support/policytest.h"
#include "common/err.h"
#include "policy/policy_internal.h"

#define HEAD "apiVersion: saqr.dev/v1alpha1\nkind: AdmissionPolicy\n"

static char *describe(const struct policy *p)
{
	struct buf b;

	buf_init(&b, 64 * 1024);
	assert_int_equal(policy__describe(p, &b), 0);
	return buf_detach(&b);
}

/* Loading yaml fails with rc and exactly message; *out stays untouched. */
static void expect_error(const char *yaml, int rc, const char *message)
{
	struct policy *p = (struct policy *)0x1;
	char err[512];

	assert_int_equal(policy_load_buffer(yaml, strlen(yaml), "test.yaml", &p, err, sizeof(err)), rc);
	assert_ptr_equal(p, (struct policy *)0x1);
	assert_string_equal(err, message);
}

static void test_embedded_default_is_the_manifest(void **state)
{
	size_t len;
	char *file = policytest_read("manifests/policy/default.yaml", &len);

	(void)state;
	assert_int_equal(len, policy__default_yaml_len);
	assert_memory_equal(file, policy__default_yaml, len);
	free(file);
}

/* Every value default.yaml spells out is also the default of a missing field. */
static void test_defaults_match_default_yaml(void **state)
{
	struct policy *def, *minimal;
	char *a, *b;

	(void)state;
	assert_int_equal(policy_load_default(&def), 0);
	minimal = policytest_policy(HEAD);
	a = describe(def);
	b = describe(minimal);
	assert_string_equal(a, b);
	assert_non_null(strstr(a, "podSecurity.enabled=1\npodSecurity.enforcement=deny\npodSecurity.level=restricted\n"));
	assert_non_null(strstr(a, "dataResidency.allowedLocations=[aws/me-central-1, azure/uaenorth, azure/uaecentral, "
				  "oci/me-dubai-1, oci/me-abudhabi-1, alibaba/me-east-1]\n"));
	assert_non_null(strstr(a, "compliance.maxRetention=P365D\n"));
	assert_non_null(strstr(a, "exemptions.breakGlass.maxDuration=PT4H\n"));
	free(a);
	free(b);
	policy_free(def);
	policy_free(minimal);
}

static void test_overrides(void **state)
{
	struct policy *p;
	char err[256], *d;

	(void)state;
	assert_int_equal(policy_load_file(policytest_path("tests/data/policy/custom.yaml"), &p, err, sizeof(err)), 0);
	d = describe(p);
	assert_non_null(strstr(d, "podSecurity.enforcement=warn\npodSecurity.level=baseline\n"));
	assert_non_null(strstr(d, "zeroTrust.allowedRegistries=[ghcr.io/acme, registry.acme.ae]\n"));
	assert_non_null(strstr(d, "zeroTrust.flags=111101\n"));
	assert_non_null(strstr(d, "dataResidency.enforcement=audit\n"));
	assert_non_null(strstr(d, "dataResidency.residencyLabel=acme.ae/residency\n"));
	assert_non_null(strstr(d, "dataResidency.allowedLocations=[aws/me-central-1, onprem/dubai-dc1]\n"));
	assert_non_null(strstr(d, "dataResidency.clusterLocation=onprem/dubai-dc1\n"));
	assert_non_null(strstr(d, "dataResidency.requirePlacement=0\n"));
	assert_non_null(strstr(d, "compliance.enabled=0\n"));
	assert_non_null(strstr(d, "compliance.flags=11110\n"));
	assert_non_null(strstr(d, "compliance.maxRetention=P90D\n"));
	assert_non_null(strstr(d, "compliance.personalData.allowedLawfulBases=[consent]\n"));
	assert_non_null(strstr(d, "exemptions.namespaces=[(none)]\n"));
	assert_non_null(strstr(d, "exemptions.users=[ci-bot]\n"));
	assert_non_null(strstr(d, "exemptions.breakGlass.maxDuration=PT1H30M\n"));
	free(d);
	policy_free(p);
}

static void test_bad_enum_values(void **state)
{
	(void)state;
	expect_error(HEAD "spec:\n  podSecurity:\n    level: strict\n", SAQR_ECONFIG,
		     "test.yaml:5: spec.podSecurity.level: \"strict\" is not one of baseline, restricted");
	expect_error(HEAD "spec:\n  zeroTrust: {enforcement: block}\n", SAQR_ECONFIG,
		     "test.yaml:4: spec.zeroTrust.enforcement: \"block\" is not one of deny, warn, audit");
	expect_error(HEAD "spec:\n  dataResidency:\n    allowedLocations:\n    - {provider: aws, region: me-central-1}\n"
			  "    - {provider: gcloud, region: me-central1}\n",
		     SAQR_ECONFIG,
		     "test.yaml:7: spec.dataResidency.allowedLocations[1].provider: \"gcloud\" is not one of aws, "
		     "azure, oci, alibaba, gcp, onprem");
}

static void test_unknown_fields(void **state)
{
	(void)state;
	expect_error(HEAD "spec:\n  podSecurity:\n    levle: baseline\n", SAQR_ECONFIG,
		     "test.yaml:5: spec.podSecurity.levle: unknown field (expected one of: enabled, enforcement, level)");
	expect_error(HEAD "specs: {}\n", SAQR_ECONFIG,
		     "test.yaml:3: specs: unknown field (expected one of: apiVersion, kind, metadata, spec)");
	expect_error(HEAD "spec:\n  compliance:\n    personalData: {requireLawfulbasis: true}\n", SAQR_ECONFIG,
		     "test.yaml:5: spec.compliance.personalData.requireLawfulbasis: unknown field (expected one of: "
		     "requireLawfulBasis, allowedLawfulBases, requireRetention, requireEncryption)");
	expect_error(HEAD "spec:\n  dataResidency:\n    clusterLocation: {provider: aws, region: x, zone: a}\n",
		     SAQR_ECONFIG,
		     "test.yaml:5: spec.dataResidency.clusterLocation.zone: unknown field (expected provider, region)");
}

static void test_wrong_types(void **state)
{
	(void)state;
	expect_error(HEAD "spec:\n  zeroTrust:\n    allowedRegistries: ghcr.io\n", SAQR_ECONFIG,
		     "test.yaml:5: spec.zeroTrust.allowedRegistries: expected a list, found a scalar");
	expect_error(HEAD "spec:\n  zeroTrust:\n    enabled: \"true\"\n", SAQR_ECONFIG,
		     "test.yaml:5: spec.zeroTrust.enabled: expected true or false, found the string \"true\"");
	expect_error(HEAD "spec:\n  zeroTrust:\n    enabled: yes\n", SAQR_ECONFIG,
		     "test.yaml:5: spec.zeroTrust.enabled: \"yes\" is not one of false, true");
	expect_error(HEAD "spec: [podSecurity]\n", SAQR_ECONFIG, "test.yaml:3: spec: expected a mapping, found a list");
	expect_error(HEAD "spec:\n  exemptions:\n    namespaces: [a, {b: c}]\n", SAQR_ECONFIG,
		     "test.yaml:5: spec.exemptions.namespaces[1]: expected a scalar, found a mapping");
	expect_error(HEAD "spec:\n  exemptions:\n    namespaces: [a, '']\n", SAQR_ECONFIG,
		     "test.yaml:5: spec.exemptions.namespaces[1]: expected a non-empty string");
	expect_error(HEAD "spec:\n  podSecurity:\n    level: [restricted]\n", SAQR_ECONFIG,
		     "test.yaml:5: spec.podSecurity.level: expected a scalar, found a list");
}

static void test_durations(void **state)
{
	(void)state;
	expect_error(HEAD "spec:\n  compliance:\n    maxRetention: 1y\n", SAQR_ECONFIG,
		     "test.yaml:5: spec.compliance.maxRetention: \"1y\" is not a positive ISO-8601 duration (e.g. "
		     "P365D, P1Y, PT4H)");
	expect_error(HEAD "spec:\n  exemptions:\n    breakGlass: {maxDuration: PT0S}\n", SAQR_ECONFIG,
		     "test.yaml:5: spec.exemptions.breakGlass.maxDuration: \"PT0S\" is not a positive ISO-8601 "
		     "duration (e.g. P365D, P1Y, PT4H)");
}

static void test_header(void **state)
{
	(void)state;
	expect_error("kind: AdmissionPolicy\nspec: {}\n", SAQR_ECONFIG,
		     "test.yaml:1: apiVersion: required (saqr.dev/v1alpha1)");
	expect_error("apiVersion: saqr.dev/v1alpha1\n", SAQR_ECONFIG, "test.yaml:1: kind: required (AdmissionPolicy)");
	expect_error("apiVersion: saqr.dev/v1alpha1\nkind: Policy\n", SAQR_ECONFIG,
		     "test.yaml:2: kind: \"Policy\" is not AdmissionPolicy");
	expect_error("apiVersion: saqr.dev/v1\nkind: AdmissionPolicy\n", SAQR_ECONFIG,
		     "test.yaml:1: apiVersion: \"saqr.dev/v1\" is not saqr.dev/v1alpha1");
	expect_error("- a\n", SAQR_ECONFIG, "test.yaml:1: (document): expected a mapping, found a list");
	expect_error("", SAQR_ECONFIG, "test.yaml: empty document; expected an AdmissionPolicy");
	expect_error("# only a comment\n", SAQR_ECONFIG, "test.yaml: empty document; expected an AdmissionPolicy");
}

static void test_locations(void **state)
{
	(void)state;
	expect_error(HEAD "spec:\n  dataResidency:\n    allowedLocations:\n    - {provider: aws}\n", SAQR_ECONFIG,
		     "test.yaml:6: spec.dataResidency.allowedLocations[0]: region is required");
	expect_error(HEAD "spec:\n  dataResidency:\n    clusterLocation: {region: uaenorth}\n", SAQR_ECONFIG,
		     "test.yaml:5: spec.dataResidency.clusterLocation: provider is required");
	expect_error(HEAD "spec:\n  dataResidency:\n    clusterLocation: {provider: aws, provider: azure, region: x}\n",
		     SAQR_ECONFIG, "test.yaml:5: spec.dataResidency.clusterLocation.provider: duplicate field");
	expect_error(HEAD "spec:\n  dataResidency:\n    allowedLocations: {provider: aws}\n", SAQR_ECONFIG,
		     "test.yaml:5: spec.dataResidency.allowedLocations: expected a list, found a mapping");
}

static void test_structure(void **state)
{
	(void)state;
	expect_error(HEAD "spec:\n  podSecurity: {level: baseline}\n  podSecurity: {level: restricted}\n",
		     SAQR_ECONFIG, "test.yaml:5: spec.podSecurity: duplicate field");
	expect_error(HEAD "metadata: {name: &n [a]}\nspec:\n  exemptions:\n    namespaces: &ns [a, b]\n"
			  "    users: *ns\n",
		     SAQR_ECONFIG, "test.yaml:6: spec.exemptions.users: YAML aliases are not supported");
	expect_error(HEAD "---\n" HEAD, SAQR_ECONFIG, "test.yaml:4: (document): only one YAML document is allowed");
	expect_error(HEAD "spec:\n  podSecurity: {level: baseline\n", SAQR_EPARSE,
		     "test.yaml:5: did not find expected ',' or '}' while parsing a flow mapping");
}

static void test_limits_and_files(void **state)
{
	size_t big = POLICY_MAX_FILE_BYTES + 1;
	char *data = malloc(big), path[] = "/tmp/saqr-policy-XXXXXX", err[256];
	struct policy *p = NULL;
	FILE *f;
	int fd;

	(void)state;
	assert_non_null(data);
	memset(data, '#', big);
	assert_int_equal(policy_load_buffer(data, big, "big.yaml", &p, err, sizeof(err)), SAQR_ETOOBIG);
	assert_string_equal(err, "big.yaml: 1048577 bytes is over the 1048576-byte limit for a policy");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_int_equal(fwrite(data, 1, big, f), big);
	fclose(f);
	assert_int_equal(policy_load_file(path, &p, err, sizeof(err)), SAQR_ETOOBIG);
	unlink(path);
	free(data);
	assert_int_equal(policy_load_file("/nonexistent/policy.yaml", &p, err, sizeof(err)), SAQR_EIO);
	assert_string_equal(err, "/nonexistent/policy.yaml: No such file or directory");
	assert_null(p);
	assert_int_equal(policy_load_buffer(NULL, 0, "x", &p, err, sizeof(err)), SAQR_EINVAL);
	policy_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_embedded_default_is_the_manifest),
		cmocka_unit_test(test_defaults_match_default_yaml),
		cmocka_unit_test(test_overrides),
		cmocka_unit_test(test_bad_enum_values),
		cmocka_unit_test(test_unknown_fields),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_locations),
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_limits_and_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
