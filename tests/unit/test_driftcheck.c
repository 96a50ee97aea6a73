/* Unit tests for policy/driftcheck.c: a DriftPolicy's retrain template judged as the
 * TrainingJob it becomes, its endpoints against zeroTrust.allowedEndpoints (https only by
 * default, never link-local or metadata addresses), and its Secret references. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../support/policytest.h"
#include "common/yamljson.h"
#include "policy/driftcheck.h"

static struct policy *def;

static int setup(void **state)
{
	(void)state;
	return policy_load_default(&def);
}

static int teardown(void **state)
{
	(void)state;
	policy_free(def);
	return 0;
}

/* manifests/samples/driftpolicy.yaml, which the default policy admits. */
static json_t *sample(void)
{
	size_t len;
	char *data = policytest_read("manifests/samples/driftpolicy.yaml", &len), err[256];
	json_t *docs = NULL, *dp;

	assert_int_equal(yaml_to_json_docs(data, len, 1u << 20, &docs, err, sizeof(err)), 0);
	free(data);
	dp = json_incref(json_array_get(docs, 0));
	json_decref(docs);
	policytest_set(dp, "metadata.namespace", json_string("ml"));
	return dp;
}

static size_t count(const struct policy *p, const json_t *obj, const char *rule, const char *path)
{
	struct policy_decision d;
	size_t n;

	policytest_eval(p, obj, &d);
	policytest_dump(&d);
	n = policytest_count(&d, rule, path);
	policy_decision_release(&d);
	return n;
}

static void test_sample_admitted(void **state)
{
	json_t *dp = sample();
	struct policy_decision d;

	(void)state;
	policytest_eval(def, dp, &d);
	policytest_dump(&d);
	assert_true(d.allowed);
	assert_int_equal(d.nviolations, 0);
	policy_decision_release(&d);
	json_decref(dp);
}

/* The operator creates the TrainingJob under its exempt identity: every TrainingJob rule runs
 * here, reported at the template's paths, with the DriftPolicy's labels. */
static void test_retrain_template_is_a_training_job(void **state)
{
	json_t *dp = sample();
	struct policy_decision d;

	(void)state;
	policytest_set(dp, "spec.actions.retrain.template.image", json_string("ghcr.io/x/trainer:latest"));
	policytest_set(dp, "spec.actions.retrain.template.dataset.region", json_string("me-central-1"));
	policytest_set(dp, "spec.actions.retrain.template.dataset.provider", json_string("alibaba"));
	policytest_set(dp, "spec.actions.retrain.template.dataset.uri", json_string("oss://bucket/data"));
	json_object_del(json_object_get(json_object_get(dp, "metadata"), "labels"), "saqr.dev/owner");
	policytest_eval(def, dp, &d);
	policytest_dump(&d);
	assert_false(d.allowed);
	assert_non_null(policytest_find(&d, "zeroTrust.imageDigest", "spec.actions.retrain.template.image"));
	assert_non_null(
	    policytest_find(&d, "dataResidency.location", "spec.actions.retrain.template.dataset.region"));
	assert_non_null(policytest_find(&d, "compliance.owner", "metadata.labels[saqr.dev/owner]"));
	policy_decision_release(&d);
	policytest_set(dp, "spec.actions.retrain.template.output.uri",
		       json_string("http://models.example/out/"));
	assert_int_equal(
	    count(def, dp, "zeroTrust.insecureTransport", "spec.actions.retrain.template.output.uri"), 1);
	/* without a retrain template, the DriftPolicy's labels are not judged */
	json_object_del(json_object_get(json_object_get(dp, "spec"), "actions"), "retrain");
	assert_int_equal(count(def, dp, "compliance.owner", NULL), 0);
	json_decref(dp);
}

static void test_endpoints_default(void **state)
{
	static const struct {
		const char *url;
		bool ok;
	} cases[] = {
	    {"https://prometheus.monitoring.svc:9090", true},
	    {"https://user:pw@itsm.example.ae/hooks", true},
	    {"http://prometheus.monitoring.svc:9090", false},
	    {"ftp://x.example", false},
	    {"https://169.254.169.254/latest/meta-data", false},
	    {"https://2852039166/", false},
	    {"https://0xA9FEA9FE/", false},
	    {"https://[fd00:ec2::254]/", false},
	    {"https://[fe80::1]:8443/", false},
	    {"https://[::ffff:169.254.169.254]/", false},
	    {"https://metadata.google.internal/computeMetadata/v1/", false},
	    {"https://", false},
	};
	json_t *dp = sample();
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		policytest_set(dp, "spec.actions.alert.sinks.0.url", json_string(cases[i].url));
		assert_int_equal(count(def, dp, "zeroTrust.endpoint", "spec.actions.alert.sinks[0].url"),
				 cases[i].ok ? 0 : 1);
	}
	policytest_set(dp, "spec.source", policytest_yaml("{prometheus: {url: 'http://169.254.169.254'}}"));
	assert_int_equal(count(def, dp, "zeroTrust.endpoint", "spec.source.prometheus.url"), 1);
	json_decref(dp);
}

static void test_endpoints_listed(void **state)
{
	struct policy *p = policytest_only("zeroTrust", "    allowedEndpoints: [itsm.example.ae, "
							"'http://prometheus.monitoring.svc:9090/', "
							"'https://169.254.169.254/']\n");
	json_t *dp = sample();
	const char *path = "spec.actions.alert.sinks[0].url";

	(void)state;
	policytest_set(dp, "spec.source",
		       policytest_yaml("{prometheus: {url: 'http://prometheus.monitoring.svc:9090/'}}"));
	assert_int_equal(count(p, dp, "zeroTrust.endpoint", NULL), 0);
	policytest_set(dp, "spec.actions.alert.sinks.0.url", json_string("https://other.example.ae/x"));
	assert_int_equal(count(p, dp, "zeroTrust.endpoint", path), 1);
	/* a host entry allows https only */
	policytest_set(dp, "spec.actions.alert.sinks.0.url", json_string("http://itsm.example.ae/x"));
	assert_int_equal(count(p, dp, "zeroTrust.endpoint", path), 1);
	/* a metadata address is refused even when listed */
	policytest_set(dp, "spec.actions.alert.sinks.0.url", json_string("https://169.254.169.254/"));
	assert_int_equal(count(p, dp, "zeroTrust.endpoint", path), 1);
	policy_free(p);
	json_decref(dp);
}

static void test_secret_refs_stay_in_namespace(void **state)
{
	json_t *dp = sample();

	(void)state;
	policytest_set(dp, "spec.source",
		       policytest_yaml("{prometheus: {url: 'https://prom.example.ae', "
				       "bearerTokenSecretRef: {name: t, key: token, namespace: monitoring}, "
				       "caSecretRef: {name: ca, namespace: ml}}}"));
	policytest_set(dp, "spec.actions.alert.sinks.0.secretRef",
		       policytest_yaml("{name: s, namespace: kube-system}"));
	assert_int_equal(count(def, dp, "zeroTrust.secretNamespace", NULL), 2);
	assert_int_equal(count(def, dp, "zeroTrust.secretNamespace",
			       "spec.source.prometheus.bearerTokenSecretRef.namespace"),
			 1);
	assert_int_equal(
	    count(def, dp, "zeroTrust.secretNamespace", "spec.actions.alert.sinks[0].secretRef.namespace"),
	    1);
	json_decref(dp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sample_admitted),
	    cmocka_unit_test(test_retrain_template_is_a_training_job),
	    cmocka_unit_test(test_endpoints_default),
	    cmocka_unit_test(test_endpoints_listed),
	    cmocka_unit_test(test_secret_refs_stay_in_namespace),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
