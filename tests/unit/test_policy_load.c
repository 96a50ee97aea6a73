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
#define SIG "spec:\n  zeroTrust:\n    modelSignature:\n"

/* An ECDSA P-256 public key (as in tests/data/policy/custom.yaml), its id, and its private half. */
#define P256_PUB                                                                                             \
	"-----BEGIN PUBLIC KEY-----\n"                                                                       \
	"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEFrZPbyr9qjzDt8BI6hwF+h4TbQlW\n"                                 \
	"/AtYCpHI9540wvRCGcrpAv4LdET643kJBfg22QUGXKOZ0CAMCxIRCQ63nA==\n"                                     \
	"-----END PUBLIC KEY-----\n"
#define P256_ID "af08649e98f084314682a13ea01a9f9fdeb666bbd66f0dadb6d128f2357fb04d"
#define P256_PRIVATE                                                                                         \
	"-----BEGIN PRIVATE KEY-----\n"                                                                      \
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQghcWx7rWeEPWTDsM/\n"                                 \
	"zVpiAKfyEixx7qtcePz8XBobxEShRANCAAQWtk9vKv2qPMO3wEjqHAX6HhNtCVb8\n"                                 \
	"C1gKkcj3njTC9EIZyukC/gt0RPrjeQkF+DbZBQZco5nQIAwLEhEJDrec\n"                                         \
	"-----END PRIVATE KEY-----\n"
#define ED25519_PUB                                                                                          \
	"-----BEGIN PUBLIC KEY-----\n"                                                                       \
	"MCowBQYDK2VwAyEAf01Yg1jCc1OoXa6Ocmy1zMSch+fMLtTPDOajnWUqX08=\n"                                     \
	"-----END PUBLIC KEY-----\n"

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
	assert_non_null(
	    strstr(a, "podSecurity.enabled=1\npodSecurity.enforcement=deny\npodSecurity.level=restricted\n"));
	assert_non_null(
	    strstr(a, "dataResidency.allowedLocations=[aws/me-central-1, azure/uaenorth, azure/uaecentral, "
		      "oci/me-dubai-1, oci/me-abudhabi-1, alibaba/me-east-1]\n"));
	assert_non_null(strstr(a, "compliance.maxRetention=P365D\n"));
	assert_non_null(strstr(a, "exemptions.breakGlass.maxDuration=PT4H\n"));
	/* signatures are not required by default; plain http:// is refused */
	assert_non_null(strstr(a, "zeroTrust.forbidInsecureTransport=1\nzeroTrust.modelSignature.required=0\n"
				  "zeroTrust.modelSignature.trustedKeys=[]\n"));
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
	assert_int_equal(
	    policy_load_file(policytest_path("tests/data/policy/custom.yaml"), &p, err, sizeof(err)), 0);
	d = describe(p);
	assert_non_null(strstr(d, "podSecurity.enforcement=warn\npodSecurity.level=baseline\n"));
	assert_non_null(strstr(d, "zeroTrust.allowedRegistries=[ghcr.io/acme, registry.acme.ae]\n"));
	assert_non_null(strstr(d, "zeroTrust.flags=111101\n"));
	assert_non_null(strstr(d, "zeroTrust.forbidInsecureTransport=0\nzeroTrust.modelSignature.required=1\n"
				  "zeroTrust.modelSignature.trustedKeys=[pem:" P256_ID
				  ", secret:saqr-trusted-keys/next.pub]\n"));
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
	expect_error(
	    HEAD
	    "spec:\n  dataResidency:\n    allowedLocations:\n    - {provider: aws, region: me-central-1}\n"
	    "    - {provider: gcloud, region: me-central1}\n",
	    SAQR_ECONFIG,
	    "test.yaml:7: spec.dataResidency.allowedLocations[1].provider: \"gcloud\" is not one of aws, "
	    "azure, oci, alibaba, gcp, onprem");
}

static void test_unknown_fields(void **state)
{
	(void)state;
	expect_error(HEAD "spec:\n  podSecurity:\n    levle: baseline\n", SAQR_ECONFIG,
		     "test.yaml:5: spec.podSecurity.levle: unknown field (expected one of: enabled, "
		     "enforcement, level)");
	expect_error(HEAD "specs: {}\n", SAQR_ECONFIG,
		     "test.yaml:3: specs: unknown field (expected one of: apiVersion, kind, metadata, spec)");
	expect_error(
	    HEAD "spec:\n  compliance:\n    personalData: {requireLawfulbasis: true}\n", SAQR_ECONFIG,
	    "test.yaml:5: spec.compliance.personalData.requireLawfulbasis: unknown field (expected one of: "
	    "requireLawfulBasis, allowedLawfulBases, requireRetention, requireEncryption)");
	expect_error(HEAD
		     "spec:\n  dataResidency:\n    clusterLocation: {provider: aws, region: x, zone: a}\n",
		     SAQR_ECONFIG,
		     "test.yaml:5: spec.dataResidency.clusterLocation.zone: unknown field (expected "
		     "provider, region)");
}

static void test_wrong_types(void **state)
{
	(void)state;
	expect_error(HEAD "spec:\n  zeroTrust:\n    allowedRegistries: ghcr.io\n", SAQR_ECONFIG,
		     "test.yaml:5: spec.zeroTrust.allowedRegistries: expected a list, found a scalar");
	expect_error(
	    HEAD "spec:\n  zeroTrust:\n    enabled: \"true\"\n", SAQR_ECONFIG,
	    "test.yaml:5: spec.zeroTrust.enabled: expected true or false, found the string \"true\"");
	expect_error(HEAD "spec:\n  zeroTrust:\n    enabled: yes\n", SAQR_ECONFIG,
		     "test.yaml:5: spec.zeroTrust.enabled: \"yes\" is not one of false, true");
	expect_error(HEAD "spec: [podSecurity]\n", SAQR_ECONFIG,
		     "test.yaml:3: spec: expected a mapping, found a list");
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
	expect_error(
	    HEAD "spec:\n  compliance:\n    maxRetention: 1y\n", SAQR_ECONFIG,
	    "test.yaml:5: spec.compliance.maxRetention: \"1y\" is not a positive ISO-8601 duration (e.g. "
	    "P365D, P1Y, PT4H)");
	expect_error(
	    HEAD "spec:\n  exemptions:\n    breakGlass: {maxDuration: PT0S}\n", SAQR_ECONFIG,
	    "test.yaml:5: spec.exemptions.breakGlass.maxDuration: \"PT0S\" is not a positive ISO-8601 "
	    "duration (e.g. P365D, P1Y, PT4H)");
}

static void test_header(void **state)
{
	(void)state;
	expect_error("kind: AdmissionPolicy\nspec: {}\n", SAQR_ECONFIG,
		     "test.yaml:1: apiVersion: required (saqr.dev/v1alpha1)");
	expect_error("apiVersion: saqr.dev/v1alpha1\n", SAQR_ECONFIG,
		     "test.yaml:1: kind: required (AdmissionPolicy)");
	expect_error("apiVersion: saqr.dev/v1alpha1\nkind: Policy\n", SAQR_ECONFIG,
		     "test.yaml:2: kind: \"Policy\" is not AdmissionPolicy");
	expect_error("apiVersion: saqr.dev/v1\nkind: AdmissionPolicy\n", SAQR_ECONFIG,
		     "test.yaml:1: apiVersion: \"saqr.dev/v1\" is not saqr.dev/v1alpha1");
	expect_error("- a\n", SAQR_ECONFIG, "test.yaml:1: (document): expected a mapping, found a list");
	expect_error("", SAQR_ECONFIG, "test.yaml: empty document; expected an AdmissionPolicy");
	expect_error("# only a comment\n", SAQR_ECONFIG,
		     "test.yaml: empty document; expected an AdmissionPolicy");
}

static void test_locations(void **state)
{
	(void)state;
	expect_error(HEAD "spec:\n  dataResidency:\n    allowedLocations:\n    - {provider: aws}\n",
		     SAQR_ECONFIG, "test.yaml:6: spec.dataResidency.allowedLocations[0]: region is required");
	expect_error(HEAD "spec:\n  dataResidency:\n    clusterLocation: {region: uaenorth}\n", SAQR_ECONFIG,
		     "test.yaml:5: spec.dataResidency.clusterLocation: provider is required");
	expect_error(
	    HEAD
	    "spec:\n  dataResidency:\n    clusterLocation: {provider: aws, provider: azure, region: x}\n",
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
	expect_error(HEAD "---\n" HEAD, SAQR_ECONFIG,
		     "test.yaml:4: (document): only one YAML document is allowed");
	expect_error(HEAD "spec:\n  podSecurity: {level: baseline\n", SAQR_EPARSE,
		     "test.yaml:5: did not find expected ',' or '}' while parsing a flow mapping");
}

/* A policy whose trustedKeys list is the one given as a YAML flow sequence. */
static char *keys_policy(const char *keys)
{
	struct buf b;

	buf_init(&b, 64 * 1024);
	assert_int_equal(buf_addf(&b, HEAD SIG "      trustedKeys: %s\n", keys), 0);
	return buf_detach(&b);
}

/* A policy whose first trustedKeys entry is pem as a literal block (| and indented lines), then
 * a secretRef. */
static char *pem_policy(const char *pem)
{
	struct buf b;

	buf_init(&b, 64 * 1024);
	assert_int_equal(buf_adds(&b, HEAD SIG "      trustedKeys:\n      - pem: |\n"), 0);
	for (; *pem; pem += strcspn(pem, "\n") + (pem[strcspn(pem, "\n")] == '\n'))
		assert_int_equal(buf_addf(&b, "          %.*s\n", (int)strcspn(pem, "\n"), pem), 0);
	assert_int_equal(buf_adds(&b, "      - secretRef: {name: keys.v2, key: signing.pub}\n"), 0);
	return buf_detach(&b);
}

/* Inline PEM: an ECDSA P-256/P-384 public key, checked with OpenSSL at load. */
static void test_trusted_keys_pem(void **state)
{
	char *yaml = pem_policy(P256_PUB);
	struct policy *p = policytest_policy(yaml);
	char *d = describe(p);

	(void)state;
	assert_non_null(strstr(d, "zeroTrust.modelSignature.trustedKeys=[pem:" P256_ID
				  ", secret:keys.v2/signing.pub]\n"));
	free(d);
	free(yaml);
	policy_free(p);
	expect_error(
	    HEAD SIG "      trustedKeys:\n      - pem: not a key\n", SAQR_ECONFIG,
	    "test.yaml:7: spec.zeroTrust.modelSignature.trustedKeys[0].pem: not a PEM public key "
	    "(unencrypted); expected an ECDSA P-256 or P-384 public key in PEM (-----BEGIN PUBLIC KEY-----)");
	yaml = pem_policy(ED25519_PUB);
	expect_error(
	    yaml, SAQR_ECONFIG,
	    "test.yaml:7: spec.zeroTrust.modelSignature.trustedKeys[0].pem: only ECDSA P-256 and P-384 keys "
	    "are supported; expected an ECDSA P-256 or P-384 public key in PEM (-----BEGIN PUBLIC KEY-----)");
	free(yaml);
	yaml = pem_policy(P256_PRIVATE);
	expect_error(
	    yaml, SAQR_ECONFIG,
	    "test.yaml:7: spec.zeroTrust.modelSignature.trustedKeys[0].pem: a private key; give only its "
	    "public half (openssl pkey -in KEY -pubout)");
	free(yaml);
	expect_error(
	    HEAD SIG "      trustedKeys:\n      - pem: ''\n", SAQR_ECONFIG,
	    "test.yaml:7: spec.zeroTrust.modelSignature.trustedKeys[0].pem: expected a non-empty string");
}

/* secretRef: only its form is checked (the webhook cannot read Secrets). */
static void test_trusted_keys_secret_ref(void **state)
{
	static const char *const cases[][2] = {
	    {"[{secretRef: {name: keys}}]",
	     "test.yaml:6: spec.zeroTrust.modelSignature.trustedKeys[0].secretRef: "
	     "key is required"},
	    {"[{secretRef: {key: a.pub}}]",
	     "test.yaml:6: spec.zeroTrust.modelSignature.trustedKeys[0].secretRef: "
	     "name is required"},
	    {"[{secretRef: {name: Keys_1, key: a.pub}}]",
	     "test.yaml:6: spec.zeroTrust.modelSignature.trustedKeys[0].secretRef.name: \"Keys_1\" is not a "
	     "Secret "
	     "name (a DNS subdomain: lower-case letters, digits, '-' and '.', at most 253 characters)"},
	    {"[{secretRef: {name: keys., key: a.pub}}]",
	     "test.yaml:6: spec.zeroTrust.modelSignature.trustedKeys[0].secretRef.name: \"keys.\" is not a "
	     "Secret "
	     "name (a DNS subdomain: lower-case letters, digits, '-' and '.', at most 253 characters)"},
	    {"[{secretRef: {name: keys, key: ../a.pub}}]",
	     "test.yaml:6: spec.zeroTrust.modelSignature.trustedKeys[0].secretRef.key: \"../a.pub\" is not a "
	     "Secret key (letters, digits, '-', '_' and '.', at most 253 characters)"},
	    {"[{secretRef: {name: keys, key: a.pub, namespace: x}}]",
	     "test.yaml:6: spec.zeroTrust.modelSignature.trustedKeys[0].secretRef.namespace: unknown field "
	     "(expected name, key; the Secret is in the ModelDeployment's namespace)"},
	    {"[{secretRef: keys}]", "test.yaml:6: spec.zeroTrust.modelSignature.trustedKeys[0].secretRef: "
				    "expected a mapping, found a "
				    "scalar"},
	    {"[{secretRef: {name: k, key: a}, pem: x}]",
	     "test.yaml:6: spec.zeroTrust.modelSignature.trustedKeys[0].pem: give pem or secretRef, not both "
	     "(one key per entry)"},
	    {"[{}]",
	     "test.yaml:6: spec.zeroTrust.modelSignature.trustedKeys[0]: pem or secretRef is required"},
	    {"[{file: /keys/a.pub}]",
	     "test.yaml:6: spec.zeroTrust.modelSignature.trustedKeys[0].file: unknown field (expected pem or "
	     "secretRef)"},
	    {"[signing.pub]",
	     "test.yaml:6: spec.zeroTrust.modelSignature.trustedKeys[0]: expected a mapping, found a scalar"},
	    {"[{secretRef: {name: a, key: a}}, {secretRef: {name: b, key: b}}, {secretRef: {name: c, key: "
	     "c}}, "
	     "{secretRef: {name: d, key: d}}, {secretRef: {name: e, key: e}}, {secretRef: {name: f, key: "
	     "f}}, "
	     "{secretRef: {name: g, key: g}}, {secretRef: {name: h, key: h}}, {secretRef: {name: i, key: "
	     "i}}]",
	     "test.yaml:6: spec.zeroTrust.modelSignature.trustedKeys: 9 keys; at most 8 (two during a key "
	     "rotation is usual)"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *yaml = keys_policy(cases[i][0]);

		expect_error(yaml, SAQR_ECONFIG, cases[i][1]);
		free(yaml);
	}
	expect_error(
	    HEAD SIG "      requried: true\n", SAQR_ECONFIG,
	    "test.yaml:6: spec.zeroTrust.modelSignature.requried: unknown field (expected one of: required, "
	    "trustedKeys)");
	expect_error(HEAD SIG "      required: 1\n", SAQR_ECONFIG,
		     "test.yaml:6: spec.zeroTrust.modelSignature.required: \"1\" is not one of false, true");
	expect_error(
	    HEAD "spec:\n  zeroTrust: {forbidInsecureTransport: \"false\"}\n", SAQR_ECONFIG,
	    "test.yaml:4: spec.zeroTrust.forbidInsecureTransport: expected true or false, found the string "
	    "\"false\"");
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
	    cmocka_unit_test(test_trusted_keys_pem),
	    cmocka_unit_test(test_trusted_keys_secret_ref),
	    cmocka_unit_test(test_limits_and_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
