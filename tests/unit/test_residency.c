/* Unit tests for policy/residency.c: URIs, (provider, region) pairs and the non-UAE traps,
 * the residency label, placement (nodeSelector, node affinity, spec.scheduling, the cluster's
 * own location) and DIFC/ADGM transfer bases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../support/policytest.h"
#include "policy/residency.h"

static struct policy *policy;

static const char model[] = "apiVersion: saqr.dev/v1alpha1\n"
			    "kind: ModelDeployment\n"
			    "metadata:\n"
			    "  name: fraud\n"
			    "  namespace: ml\n"
			    "  labels: {saqr.dev/data-residency: uae}\n"
			    "spec:\n"
			    "  model: {uri: 's3://models/fraud/3'}\n"
			    "  server: {image: x}\n"
			    "  storage: {provider: aws, region: me-central-1}\n"
			    "  scheduling:\n"
			    "    nodeSelector: {topology.kubernetes.io/region: uaenorth}\n";

static const char training[] = "apiVersion: saqr.dev/v1alpha1\n"
			       "kind: TrainingJob\n"
			       "metadata: {name: t, namespace: ml, labels: {saqr.dev/data-residency: uae}}\n"
			       "spec:\n"
			       "  image: x\n"
			       "  dataset: {uri: 'azureblob://acct/data', provider: azure, region: uaenorth}\n"
			       "  output: {uri: 'oss://bucket/out', provider: alibaba, region: me-east-1}\n"
			       "  scheduling: {nodeSelector: {topology.kubernetes.io/region: me-dubai-1}}\n";

static const char deployment[] = "apiVersion: apps/v1\n"
				 "kind: Deployment\n"
				 "metadata: {name: web, labels: {saqr.dev/data-residency: uae}}\n"
				 "spec:\n"
				 "  template:\n"
				 "    metadata: {labels: {saqr.dev/data-residency: uae}}\n"
				 "    spec:\n"
				 "      containers: [{name: app, image: x}]\n";

static int setup(void **state)
{
	(void)state;
	policy = policytest_only("dataResidency", NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	policy_free(policy);
	return 0;
}

static size_t count(const struct policy *p, const json_t *obj, const char *rule, const char *path)
{
	struct policy_decision d;
	size_t n;

	policytest_eval(p, obj, &d);
	n = policytest_count(&d, rule, path);
	policy_decision_release(&d);
	return n;
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

static void test_parse_uri(void **state)
{
	static const char *const cases[][3] = {
		{"s3://bucket/key", "aws", ""},
		{"https://bucket.s3.me-central-1.amazonaws.com/k", "aws", "me-central-1"},
		{"https://s3.me-south-1.amazonaws.com/bucket/k", "aws", "me-south-1"},
		{"https://bucket.s3.dualstack.me-central-1.amazonaws.com/k", "aws", "me-central-1"},
		{"https://bucket.s3-me-central-1.amazonaws.com/k", "aws", "me-central-1"},
		{"https://bucket.s3.amazonaws.com/k", "aws", ""},
		{"https://user@BUCKET.S3.ME-CENTRAL-1.AMAZONAWS.COM:443/k", "aws", "me-central-1"},
		{"https://b.oss-me-east-1.aliyuncs.com/k", "alibaba", "me-east-1"},
		{"https://b.oss-me-central-1-internal.aliyuncs.com/k", "alibaba", "me-central-1"},
		{"oss://bucket/k", "alibaba", ""},
		{"https://objectstorage.me-dubai-1.oraclecloud.com/n/ns/b/x/o/m", "oci", "me-dubai-1"},
		{"https://ns.objectstorage.me-abudhabi-1.oci.customer-oci.com/b/x", "oci", "me-abudhabi-1"},
		{"azureblob://account/container/m", "azure", ""},
		{"https://acct.blob.core.windows.net/c/m", "azure", ""},
		{"gs://bucket/m", "gcp", ""},
		{"https://storage.googleapis.com/bucket/m", "gcp", ""},
		{"https://models.example.com/m", "", ""},
		{"oci://registry.example.com/models/fraud:3", "", ""},
	};
	struct residency_uri u;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		residency_parse_uri(cases[i][0], &u);
		assert_string_equal(u.provider, cases[i][1]);
		assert_string_equal(u.region, cases[i][2]);
		assert_false(u.in_cluster);
	}
	residency_parse_uri("pvc://models/fraud", &u);
	assert_true(u.in_cluster);
	residency_parse_uri(NULL, &u);
	assert_string_equal(u.provider, "");
}

static void test_compliant_objects_pass(void **state)
{
	json_t *m = policytest_yaml(model), *t = policytest_yaml(training);

	(void)state;
	assert_int_equal(total(policy, m), 0);
	assert_int_equal(total(policy, t), 0);
	json_decref(m);
	json_decref(t);
}

/* Each pair is refused although its region name looks like (or is) a UAE one. */
static void test_non_uae_traps(void **state)
{
	static const char *const traps[][3] = {
		{"alibaba", "me-central-1", "Riyadh"},
		{"aws", "me-south-1", "Bahrain"},
		{"gcp", "me-central1", "Doha"},
		{"gcp", "me-central2", "Dammam"},
		{"azure", "me-central-1", NULL},
		{"oci", "uaenorth", NULL},
	};
	json_t *m = policytest_yaml(model);
	struct policy_decision d;
	size_t i;

	(void)state;
	policytest_set(m, "spec.model.uri", json_string("oci://registry.example.com/m:1"));
	for (i = 0; i < sizeof(traps) / sizeof(traps[0]); i++) {
		const struct policy_violation *v;

		policytest_set(m, "spec.storage.provider", json_string(traps[i][0]));
		policytest_set(m, "spec.storage.region", json_string(traps[i][1]));
		policytest_eval(policy, m, &d);
		assert_int_equal(d.nviolations, 1);
		v = policytest_find(&d, "dataResidency.location", "spec.storage.region");
		assert_non_null(v);
		if (traps[i][2])
			assert_non_null(strstr(v->message, traps[i][2]));
		assert_non_null(strstr(v->message, "allowed: aws/me-central-1, azure/uaenorth"));
		policy_decision_release(&d);
	}
	json_decref(m);
}

static void test_region_in_the_url_decides(void **state)
{
	json_t *m = policytest_yaml(model);
	struct policy_decision d;

	(void)state;
	/* Bahrain in the host, nothing declared */
	policytest_set(m, "spec.storage", NULL);
	policytest_set(m, "spec.model.uri", json_string("https://models.s3.me-south-1.amazonaws.com/fraud"));
	policytest_eval(policy, m, &d);
	assert_int_equal(d.nviolations, 1);
	assert_string_equal(d.violations[0].path, "spec.model.uri");
	assert_string_equal(d.violations[0].message,
			    "spec.model.uri is in aws/me-south-1 (Bahrain), which is not an allowed location; allowed: "
			    "aws/me-central-1, azure/uaenorth, azure/uaecentral, oci/me-dubai-1, oci/me-abudhabi-1, "
			    "alibaba/me-east-1");
	policy_decision_release(&d);
	/* the UAE in the host needs no storage fields */
	policytest_set(m, "spec.model.uri", json_string("https://models.s3.me-central-1.amazonaws.com/fraud"));
	assert_int_equal(total(policy, m), 0);
	/* a declared region that contradicts the URL is refused */
	policytest_set(m, "spec.storage", policytest_yaml("{provider: aws, region: me-south-1}"));
	policytest_eval(policy, m, &d);
	assert_int_equal(d.nviolations, 1);
	assert_string_equal(d.violations[0].path, "spec.storage.region");
	assert_string_equal(d.violations[0].message,
			    "\"me-south-1\" contradicts spec.model.uri, which is in \"me-central-1\" by its URI");
	policy_decision_release(&d);
	policytest_set(m, "spec.storage", policytest_yaml("{provider: azure, region: me-central-1}"));
	assert_int_equal(count(policy, m, "dataResidency.location", "spec.storage.provider"), 1);
	json_decref(m);
}

static void test_unknown_location(void **state)
{
	json_t *m = policytest_yaml(model);
	struct policy_decision d;

	(void)state;
	/* Azure blob URLs carry no region */
	policytest_set(m, "spec.model.uri", json_string("azureblob://acct/c/m"));
	policytest_set(m, "spec.storage", policytest_yaml("{provider: azure}"));
	policytest_eval(policy, m, &d);
	assert_int_equal(d.nviolations, 1);
	assert_string_equal(d.violations[0].path, "spec.storage.region");
	assert_string_equal(d.violations[0].message,
			    "the location of spec.model.uri (\"azureblob://acct/c/m\") is unknown: set "
			    "spec.storage.provider and spec.storage.region to an allowed (provider, region) pair");
	policy_decision_release(&d);
	policytest_set(m, "spec.storage.region", json_string("uaecentral"));
	assert_int_equal(total(policy, m), 0);
	/* a plain https URL needs both fields */
	policytest_set(m, "spec.model.uri", json_string("https://models.example.com/m"));
	policytest_set(m, "spec.storage", NULL);
	assert_int_equal(count(policy, m, "dataResidency.location", "spec.storage.provider"), 1);
	/* gs:// is Google Cloud, which has no UAE region */
	policytest_set(m, "spec.model.uri", json_string("gs://b/m"));
	policytest_set(m, "spec.storage", policytest_yaml("{region: me-central2}"));
	assert_int_equal(count(policy, m, "dataResidency.location", "spec.storage.region"), 1);
	json_decref(m);
}

static void test_in_cluster_and_canary_storage(void **state)
{
	json_t *m = policytest_yaml(model);

	(void)state;
	policytest_set(m, "spec.model.uri", json_string("pvc://models/fraud"));
	policytest_set(m, "spec.storage", NULL);
	assert_int_equal(total(policy, m), 0);
	policytest_set(m, "spec.canary", policytest_yaml("{weight: 10, model: {uri: 'gs://b/m'}}"));
	assert_int_equal(count(policy, m, "dataResidency.location", NULL), 1);
	json_decref(m);
}

static void test_training_job_locations(void **state)
{
	json_t *t = policytest_yaml(training);
	struct policy_decision d;

	(void)state;
	policytest_set(t, "spec.dataset.region", json_string("me-central-1"));
	policytest_set(t, "spec.output.region", json_string("me-central-1"));
	policytest_eval(policy, t, &d);
	assert_int_equal(d.nviolations, 2);
	assert_non_null(policytest_find(&d, "dataResidency.location", "spec.dataset.region"));
	assert_non_null(strstr(policytest_find(&d, "dataResidency.location", "spec.output.region")->message,
			       "alibaba/me-central-1 (Riyadh, Saudi Arabia)"));
	policy_decision_release(&d);
	json_decref(t);
}

static void test_residency_label(void **state)
{
	json_t *obj = policytest_yaml(deployment);
	struct policy_decision d;
	struct policy *custom;

	(void)state;
	policytest_set(obj, "spec.template.spec.nodeSelector", policytest_yaml("{topology.kubernetes.io/region: uaenorth}"));
	assert_int_equal(total(policy, obj), 0);
	json_object_set_new(json_object_get(json_object_get(obj, "metadata"), "labels"), "saqr.dev/data-residency",
			    json_string("ksa"));
	policytest_eval(policy, obj, &d);
	assert_int_equal(d.nviolations, 1);
	assert_string_equal(d.violations[0].path, "metadata.labels[saqr.dev/data-residency]");
	assert_string_equal(d.violations[0].message, "\"ksa\" is not an allowed residency; allowed: uae");
	policy_decision_release(&d);
	policytest_set(obj, "metadata.labels", json_object());
	assert_int_equal(count(policy, obj, "dataResidency.label", "metadata.labels[saqr.dev/data-residency]"), 1);
	/* the label key and its values are configurable */
	custom = policytest_only("dataResidency", "    residencyLabel: example.com/residency\n"
						  "    allowedResidencyValues: [ae, uae-north]\n");
	json_object_set_new(json_object_get(json_object_get(obj, "metadata"), "labels"), "example.com/residency",
			    json_string("ae"));
	/* the pod template must carry it too: the pods created from it are checked alike */
	assert_int_equal(count(custom, obj, "dataResidency.label",
			       "spec.template.metadata.labels[example.com/residency]"),
			 1);
	policytest_set(obj, "spec.template.metadata.labels", policytest_yaml("{example.com/residency: ae}"));
	assert_int_equal(total(custom, obj), 0);
	policy_free(custom);
	json_decref(obj);
}

static void test_placement_node_selector(void **state)
{
	json_t *obj = policytest_yaml(deployment);
	struct policy_decision d;

	(void)state;
	policytest_eval(policy, obj, &d);
	assert_int_equal(d.nviolations, 1);
	assert_string_equal(d.violations[0].rule, "dataResidency.placement");
	assert_string_equal(d.violations[0].path, "spec.template.spec.nodeSelector");
	/* only the regions that would be accepted are offered */
	assert_string_equal(d.violations[0].message,
			    "pods are not pinned to an allowed region: set nodeSelector or a required node affinity on "
			    "topology.kubernetes.io/region to one of uaenorth, uaecentral, me-dubai-1, me-abudhabi-1, "
			    "me-east-1, or declare the cluster's own location in the policy");
	policy_decision_release(&d);
	policytest_set(obj, "spec.template.spec.nodeSelector", policytest_yaml("{topology.kubernetes.io/region: me-south-1}"));
	policytest_eval(policy, obj, &d);
	assert_int_equal(d.nviolations, 1);
	assert_string_equal(d.violations[0].path, "spec.template.spec.nodeSelector[topology.kubernetes.io/region]");
	assert_non_null(strstr(d.violations[0].message, "aws/me-south-1 is Bahrain"));
	policy_decision_release(&d);
	/* me-central-1 is the UAE at AWS but Riyadh at Alibaba Cloud: ambiguous without the provider */
	policytest_set(obj, "spec.template.spec.nodeSelector", policytest_yaml("{topology.kubernetes.io/region: me-central-1}"));
	policytest_eval(policy, obj, &d);
	assert_int_equal(d.nviolations, 1);
	assert_non_null(strstr(d.violations[0].message, "ambiguous"));
	policy_decision_release(&d);
	json_decref(obj);
}

static void test_placement_node_affinity(void **state)
{
	json_t *obj = policytest_yaml(deployment);
	json_t *aff = policytest_yaml("nodeAffinity:\n"
				      "  requiredDuringSchedulingIgnoredDuringExecution:\n"
				      "    nodeSelectorTerms:\n"
				      "    - matchExpressions:\n"
				      "      - {key: kubernetes.io/arch, operator: In, values: [amd64]}\n"
				      "      - {key: topology.kubernetes.io/region, operator: In, values: [uaenorth, uaecentral]}\n");
	struct policy_decision d;

	(void)state;
	policytest_set(obj, "spec.template.spec.affinity", aff);
	assert_int_equal(total(policy, obj), 0);
	/* one bad value in the list */
	policytest_set(aff, "nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms.0."
			    "matchExpressions.1.values.1", json_string("me-central1"));
	policytest_eval(policy, obj, &d);
	assert_int_equal(d.nviolations, 1);
	assert_string_equal(d.violations[0].path,
			    "spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
			    "nodeSelectorTerms[0].matchExpressions[1].values[1]");
	policy_decision_release(&d);
	/* NotIn does not pin */
	policytest_set(aff, "nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms.0."
			    "matchExpressions.1.operator", json_string("NotIn"));
	assert_int_equal(count(policy, obj, "dataResidency.placement", "spec.template.spec.nodeSelector"), 1);
	/* terms are ORed: each must pin */
	policytest_set(aff, "nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms",
		       policytest_yaml("[{matchExpressions: [{key: topology.kubernetes.io/region, operator: In, values: [uaenorth]}]},"
				       " {matchExpressions: [{key: kubernetes.io/os, operator: In, values: [linux]}]}]"));
	assert_int_equal(count(policy, obj, "dataResidency.placement", "spec.template.spec.nodeSelector"), 1);
	json_decref(obj);
}

static void test_cluster_location(void **state)
{
	struct policy *inside = policytest_only("dataResidency", "    clusterLocation: {provider: aws, region: me-central-1}\n");
	struct policy *outside = policytest_only("dataResidency", "    clusterLocation: {provider: aws, region: eu-west-1}\n");
	struct policy *riyadh = policytest_only("dataResidency", "    clusterLocation: {provider: alibaba, region: me-central-1}\n");
	json_t *obj = policytest_yaml(deployment);
	struct policy_decision d;

	(void)state;
	/* a cluster in an allowed location needs no placement */
	assert_int_equal(total(inside, obj), 0);
	policytest_eval(outside, obj, &d);
	assert_int_equal(d.nviolations, 1);
	assert_non_null(strstr(d.violations[0].message, "to one of me-central-1, or declare"));
	policy_decision_release(&d);
	/* with the provider known, me-central-1 is resolved as a pair */
	policytest_set(obj, "spec.template.spec.nodeSelector", policytest_yaml("{topology.kubernetes.io/region: me-central-1}"));
	assert_int_equal(total(outside, obj), 0);
	assert_int_equal(count(riyadh, obj, "dataResidency.placement", NULL), 1);
	policy_free(inside);
	policy_free(outside);
	policy_free(riyadh);
	json_decref(obj);
}

static void test_placement_can_be_off(void **state)
{
	struct policy *p = policytest_only("dataResidency", "    requirePlacement: false\n");
	json_t *obj = policytest_yaml(deployment);

	(void)state;
	assert_int_equal(total(p, obj), 0);
	policy_free(p);
	json_decref(obj);
}

static void test_saqr_scheduling_path(void **state)
{
	json_t *m = policytest_yaml(model);

	(void)state;
	policytest_set(m, "spec.scheduling", NULL);
	assert_int_equal(count(policy, m, "dataResidency.placement", "spec.scheduling.nodeSelector"), 1);
	json_decref(m);
}

static void test_jurisdiction_and_transfer_basis(void **state)
{
	json_t *m = policytest_yaml(model);
	json_t *labels = json_object_get(json_object_get(m, "metadata"), "labels");
	struct policy_decision d;

	(void)state;
	json_object_set_new(labels, "saqr.dev/jurisdiction", json_string("onshore-pdpl"));
	assert_int_equal(total(policy, m), 0);
	json_object_set_new(labels, "saqr.dev/jurisdiction", json_string("difc"));
	policytest_eval(policy, m, &d);
	assert_int_equal(d.nviolations, 1);
	assert_string_equal(d.violations[0].rule, "dataResidency.transferBasis");
	assert_string_equal(d.violations[0].path, "metadata.labels[saqr.dev/transfer-basis]");
	assert_non_null(strstr(d.violations[0].message, "DIFC"));
	policy_decision_release(&d);
	policytest_set(m, "metadata.annotations", json_pack("{s:s}", "saqr.dev/transfer-basis", "whatever"));
	policytest_eval(policy, m, &d);
	assert_int_equal(d.nviolations, 1);
	assert_string_equal(d.violations[0].path, "metadata.annotations[saqr.dev/transfer-basis]");
	policy_decision_release(&d);
	policytest_set(m, "metadata.annotations", json_pack("{s:s}", "saqr.dev/transfer-basis", "standard-contractual-clauses"));
	json_object_set_new(labels, "saqr.dev/jurisdiction", json_string("adgm"));
	assert_int_equal(total(policy, m), 0);
	json_object_set_new(labels, "saqr.dev/jurisdiction", json_string("jafza"));
	assert_int_equal(count(policy, m, "dataResidency.jurisdiction", "metadata.labels[saqr.dev/jurisdiction]"), 1);
	json_decref(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_uri),
		cmocka_unit_test(test_compliant_objects_pass),
		cmocka_unit_test(test_non_uae_traps),
		cmocka_unit_test(test_region_in_the_url_decides),
		cmocka_unit_test(test_unknown_location),
		cmocka_unit_test(test_in_cluster_and_canary_storage),
		cmocka_unit_test(test_training_job_locations),
		cmocka_unit_test(test_residency_label),
		cmocka_unit_test(test_placement_node_selector),
		cmocka_unit_test(test_placement_node_affinity),
		cmocka_unit_test(test_cluster_location),
		cmocka_unit_test(test_placement_can_be_off),
		cmocka_unit_test(test_saqr_scheduling_path),
		cmocka_unit_test(test_jurisdiction_and_transfer_basis),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
