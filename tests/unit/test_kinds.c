/* Unit tests for the kinds known by paths (policy/kinds.c, podspec_find_paths): the ML
 * ecosystem's kinds, ReplicationController and PodTemplate are admitted when compliant; every
 * pod template of one object is checked (not only the first), with its own metadata; storage
 * URIs go through the residency check; the policy's customKinds add kinds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/policytest.h"
#include "common/yamljson.h"
#include "policy/podspec.h"

static struct policy *def;

/* Each fixture, the dotted path (digits index arrays) of its last pod spec as policytest_set
 * takes it, and the same as findings report it; the template's metadata path ("" for an
 * inline pod spec). */
static const struct {
	const char *file;
	const char *set;
	const char *path;
	const char *meta;
} kinds[] = {
    {"inferenceservice.yaml", "spec.transformer", "spec.transformer", ""},
    {"pytorchjob.yaml", "spec.pytorchReplicaSpecs.Worker.template.spec",
     "spec.pytorchReplicaSpecs.Worker.template.spec", "spec.pytorchReplicaSpecs.Worker.template.metadata"},
    {"tfjob.yaml", "spec.tfReplicaSpecs.Worker.template.spec", "spec.tfReplicaSpecs.Worker.template.spec",
     "spec.tfReplicaSpecs.Worker.template.metadata"},
    {"mpijob.yaml", "spec.mpiReplicaSpecs.Worker.template.spec", "spec.mpiReplicaSpecs.Worker.template.spec",
     "spec.mpiReplicaSpecs.Worker.template.metadata"},
    {"jobset.yaml", "spec.replicatedJobs.0.template.spec.template.spec",
     "spec.replicatedJobs[0].template.spec.template.spec",
     "spec.replicatedJobs[0].template.spec.template.metadata"},
    {"rollout.yaml", "spec.template.spec", "spec.template.spec", "spec.template.metadata"},
    {"raycluster.yaml", "spec.workerGroupSpecs.0.template.spec", "spec.workerGroupSpecs[0].template.spec",
     "spec.workerGroupSpecs[0].template.metadata"},
    {"rayjob.yaml", "spec.rayClusterSpec.workerGroupSpecs.0.template.spec",
     "spec.rayClusterSpec.workerGroupSpecs[0].template.spec",
     "spec.rayClusterSpec.workerGroupSpecs[0].template.metadata"},
    {"leaderworkerset.yaml", "spec.leaderWorkerTemplate.workerTemplate.spec",
     "spec.leaderWorkerTemplate.workerTemplate.spec", "spec.leaderWorkerTemplate.workerTemplate.metadata"},
    {"replicationcontroller.yaml", "spec.template.spec", "spec.template.spec", "spec.template.metadata"},
    {"podtemplate.yaml", "template.spec", "template.spec", "template.metadata"},
};

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

static json_t *fixture(const char *file)
{
	char rel[256], err[256];
	size_t len;
	char *data;
	json_t *docs = NULL, *obj;

	snprintf(rel, sizeof(rel), "tests/data/policy/kinds/%s", file);
	data = policytest_read(rel, &len);
	assert_int_equal(yaml_to_json_docs(data, len, 1u << 20, &docs, err, sizeof(err)), 0);
	free(data);
	obj = json_incref(json_array_get(docs, 0));
	json_decref(docs);
	return obj;
}

static size_t count(const struct policy *p, const json_t *obj, const char *rule, const char *path)
{
	struct policy_decision d;
	size_t n;

	policytest_eval(p, obj, &d);
	n = policytest_count(&d, rule, path);
	if (n == 0)
		policytest_dump(&d);
	policy_decision_release(&d);
	return n;
}

static void test_compliant_fixtures_admitted(void **state)
{
	const char *const more[] = {"trainjob.yaml"};
	struct policy_decision d;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]) + 1; i++) {
		json_t *obj = fixture(i < sizeof(kinds) / sizeof(kinds[0]) ? kinds[i].file : more[0]);

		policytest_eval(def, obj, &d);
		policytest_dump(&d);
		assert_true(d.allowed);
		assert_int_equal(d.nviolations, 0);
		policy_decision_release(&d);
		json_decref(obj);
	}
}

/* The last pod of each object is judged too, at its own path. */
static void test_every_pod_is_checked(void **state)
{
	char path[320];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		json_t *obj = fixture(kinds[i].file);
		char set[256];

		snprintf(set, sizeof(set), "%s.hostNetwork", kinds[i].set);
		policytest_set(obj, set, json_true());
		snprintf(path, sizeof(path), "%s.hostNetwork", kinds[i].path);
		assert_int_equal(count(def, obj, "podSecurity.baseline.hostNamespaces", path), 1);
		snprintf(set, sizeof(set), "%s.containers.0.image", kinds[i].set);
		policytest_set(obj, set, json_string("nginx:latest"));
		snprintf(path, sizeof(path), "%s.containers[0].image", kinds[i].path);
		assert_int_equal(count(def, obj, "zeroTrust.imageLatest", path), 1);
		snprintf(set, sizeof(set), "%s.nodeSelector", kinds[i].set);
		policytest_set(obj, set, policytest_yaml("{topology.kubernetes.io/region: me-south-1}"));
		snprintf(path, sizeof(path), "%s.nodeSelector[topology.kubernetes.io/region]", kinds[i].path);
		assert_int_equal(count(def, obj, "dataResidency.placement", path), 1);
		json_decref(obj);
	}
}

/* Each template's metadata is what its pods carry: it is checked like the object's. */
static void test_every_template_carries_the_labels(void **state)
{
	char set[256], path[320];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		json_t *obj = fixture(kinds[i].file);

		if (!kinds[i].meta[0]) {
			json_decref(obj);
			continue;
		}
		snprintf(set, sizeof(set), "%.*s.metadata.labels", (int)(strlen(kinds[i].set) - 5),
			 kinds[i].set);
		policytest_set(obj, set, json_object());
		snprintf(path, sizeof(path), "%s.labels[saqr.dev/owner]", kinds[i].meta);
		assert_int_equal(count(def, obj, "compliance.owner", path), 1);
		/* the object's own labels are reported once */
		policytest_set(obj, "metadata.labels", json_object());
		assert_int_equal(count(def, obj, "compliance.owner", "metadata.labels[saqr.dev/owner]"), 1);
		json_decref(obj);
	}
}

static void test_storage_uris(void **state)
{
	json_t *isvc = fixture("inferenceservice.yaml");
	json_t *tj = fixture("trainjob.yaml");

	(void)state;
	policytest_set(isvc, "spec.predictor.model.storageUri", json_string("gs://models/fraud"));
	assert_int_equal(count(def, isvc, "dataResidency.location", "spec.predictor.model.storageUri"), 1);
	policytest_set(isvc, "spec.predictor.model.storageUri",
		       json_string("https://models.s3.me-south-1.amazonaws.com/fraud/"));
	assert_int_equal(count(def, isvc, "dataResidency.location", "spec.predictor.model.storageUri"), 1);
	policytest_set(isvc, "spec.predictor.model.storageUri", json_string("pvc://models/fraud"));
	assert_int_equal(count(def, isvc, "dataResidency.location", NULL), 0);
	policytest_set(tj, "spec.initializer.dataset.storageUri", json_string("hf://datasets/x"));
	assert_int_equal(count(def, tj, "dataResidency.location", "spec.initializer.dataset.storageUri"), 1);
	policytest_set(tj, "spec.initializer.dataset.storageUri", json_string("s3://bucket/no-region"));
	assert_int_equal(count(def, tj, "dataResidency.location", "spec.initializer.dataset.storageUri"), 1);
	json_decref(isvc);
	json_decref(tj);
}

static const char custom_policy[] =
    "apiVersion: saqr.dev/v1alpha1\nkind: AdmissionPolicy\nspec:\n"
    "  customKinds:\n"
    "  - {group: example.com, kind: Notebook, podTemplates: ['spec.template'],\n"
    "     podSpecs: ['spec.sidecars[*].pod'], uris: ['spec.model.uri']}\n";

static void test_custom_kinds(void **state)
{
	struct policy *p = policytest_policy(custom_policy);
	json_t *nb = fixture("rollout.yaml");

	(void)state;
	policytest_set(nb, "apiVersion", json_string("example.com/v1"));
	policytest_set(nb, "kind", json_string("Notebook"));
	policytest_set(nb, "spec.strategy", NULL);
	assert_int_equal(count(def, nb, "compliance.owner", NULL), 0); /* unknown to the default policy */
	assert_int_equal(count(p, nb, "compliance.owner", NULL), 0);
	policytest_set(nb, "spec.model", policytest_yaml("{uri: 'oss://bucket/m'}"));
	assert_int_equal(count(p, nb, "dataResidency.location", "spec.model.uri"), 1);
	policytest_set(nb, "spec.sidecars",
		       policytest_yaml("[{pod: {containers: [{name: s, image: 'x:latest'}]}}]"));
	assert_int_equal(count(p, nb, "zeroTrust.imageLatest", "spec.sidecars[0].pod.containers[0].image"),
			 1);
	policytest_set(nb, "spec.template.spec.hostPID", json_true());
	assert_int_equal(count(p, nb, "podSecurity.baseline.hostNamespaces", "spec.template.spec.hostPID"),
			 1);
	/* another group is another kind */
	policytest_set(nb, "apiVersion", json_string("other.io/v1"));
	assert_int_equal(count(p, nb, "dataResidency.location", NULL), 0);
	policy_free(p);
	json_decref(nb);
}

static void test_custom_kinds_invalid(void **state)
{
	const char *const bad[] = {
	    "  customKinds: [{group: example.com, podTemplates: [spec.template]}]\n",
	    "  customKinds: [{kind: Notebook}]\n",
	    "  customKinds: [{kind: Notebook, templates: [spec.template]}]\n",
	    "  customKinds: {kind: Notebook}\n",
	};
	char yaml[512], err[256];
	struct policy *p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(yaml, sizeof(yaml),
			 "apiVersion: saqr.dev/v1alpha1\nkind: AdmissionPolicy\nspec:\n%s", bad[i]);
		p = NULL;
		err[0] = '\0';
		assert_true(policy_load_buffer(yaml, strlen(yaml), "p.yaml", &p, err, sizeof(err)) < 0);
		assert_null(p);
		assert_non_null(strstr(err, "customKinds"));
	}
}

/* The built-in table names each kind once, with at least one path. */
static void test_builtin_table(void **state)
{
	const struct podspec_paths *k;
	size_t n, i, j;

	(void)state;
	k = podspec_ecosystem_all(&n);
	assert_true(n >= 11);
	for (i = 0; i < n; i++) {
		assert_true(k[i].templates.n + k[i].pod_specs.n + k[i].uris.n > 0);
		for (j = 0; j < i; j++)
			assert_false(strcmp(k[i].kind, k[j].kind) == 0 &&
				     strcmp(k[i].group, k[j].group) == 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_compliant_fixtures_admitted),
	    cmocka_unit_test(test_every_pod_is_checked),
	    cmocka_unit_test(test_every_template_carries_the_labels),
	    cmocka_unit_test(test_storage_uris),
	    cmocka_unit_test(test_custom_kinds),
	    cmocka_unit_test(test_custom_kinds_invalid),
	    cmocka_unit_test(test_builtin_table),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
