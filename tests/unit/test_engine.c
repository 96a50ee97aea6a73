/* Unit tests for policy/engine.c: the default policy on compliant objects, every finding
 * reported, the deny message, warn and audit modes, audit annotations, skipped operations and
 * invalid input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../support/policytest.h"
#include "common/err.h"
#include "common/jsonutil.h"
#include "common/yamljson.h"

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

static json_t *fixture_docs(const char *rel)
{
	size_t len;
	char *data = policytest_read(rel, &len), err[256];
	json_t *docs = NULL;

	assert_int_equal(yaml_to_json_docs(data, len, 1u << 20, &docs, err, sizeof(err)), 0);
	free(data);
	return docs;
}

static const char *ann(const struct policy_decision *d, const char *key)
{
	return json_string_value(json_object_get(d->audit_annotations, key));
}

static void test_default_policy_admits_compliant_objects(void **state)
{
	const char *const files[] = {"tests/data/policy/deployment-4k.yaml",
				     "tests/data/policy/compliant-saqr.yaml"};
	struct policy_decision d;
	size_t f, i;

	(void)state;
	for (f = 0; f < 2; f++) {
		json_t *docs = fixture_docs(files[f]);

		for (i = 0; i < json_array_size(docs); i++) {
			policytest_eval(def, json_array_get(docs, i), &d);
			policytest_dump(&d);
			assert_int_equal(d.nviolations, 0);
			assert_true(d.allowed);
			assert_string_equal(ann(&d, "decision"), "allowed");
			assert_string_equal(ann(&d, "violations"), "0");
			assert_null(json_object_get(d.audit_annotations, "rules"));
			policy_decision_release(&d);
		}
		json_decref(docs);
	}
}

static void test_every_finding_and_the_deny_message(void **state)
{
	json_t *pod = policytest_yaml("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\n"
				      "spec: {containers: [{name: a, image: 'nginx:1.27'}]}\n");
	struct policy_decision d;
	struct buf msg;

	(void)state;
	policytest_eval(def, pod, &d);
	assert_false(d.allowed);
	/* 4 pod security, 3 zero trust, 2 residency, 2 compliance */
	assert_int_equal(d.nviolations, 11);
	assert_string_equal(ann(&d, "decision"), "denied");
	assert_string_equal(ann(&d, "violations"), "11");
	assert_string_equal(
	    ann(&d, "rules"),
	    "podSecurity.restricted.capabilities,podSecurity.restricted.seccompProfile,"
	    "podSecurity.restricted.runAsNonRoot,podSecurity.restricted.allowPrivilegeEscalation,"
	    "zeroTrust.imageDigest,zeroTrust.serviceAccount,zeroTrust.automountToken,"
	    "dataResidency.label,dataResidency.placement,compliance.classification,compliance.owner");
	buf_init(&msg, 1 << 16);
	assert_int_equal(policy_decision_deny_message(&d, &msg), 0);
	assert_true(
	    strncmp(
		buf_str(&msg),
		"[podSecurity.restricted.capabilities] spec.containers[0].securityContext.capabilities.drop: "
		"unrestricted capabilities (container \"a\" must set "
		"securityContext.capabilities.drop=[\"ALL\"]); "
		"[podSecurity.restricted.seccompProfile] ",
		190) == 0);
	assert_non_null(
	    strstr(buf_str(&msg), "; [compliance.owner] metadata.labels[saqr.dev/owner]: missing; label"));
	buf_release(&msg);
	policy_decision_release(&d);
	json_decref(pod);
}

static void test_warn_and_audit_modes(void **state)
{
	struct policy *p =
	    policytest_policy("apiVersion: saqr.dev/v1alpha1\nkind: AdmissionPolicy\nspec:\n"
			      "  podSecurity: {enforcement: warn}\n  zeroTrust: {enforcement: audit}\n"
			      "  dataResidency: {enforcement: warn}\n  compliance: {enforcement: deny}\n");
	json_t *docs = fixture_docs("tests/data/policy/deployment-4k.yaml");
	json_t *obj = json_array_get(docs, 0);
	struct policy_decision d;
	struct buf msg;

	(void)state;
	policytest_set(obj, "spec.template.spec.hostIPC", json_true());
	policytest_set(obj, "spec.template.spec.serviceAccountName", json_string("default"));
	json_object_set_new(json_object_get(json_object_get(obj, "metadata"), "labels"),
			    "saqr.dev/data-residency", json_string("eu"));
	policytest_eval(p, obj, &d);
	assert_true(d.allowed);
	assert_int_equal(d.nviolations, 3);
	assert_int_equal(policytest_find(&d, "podSecurity.baseline.hostNamespaces", NULL)->enforcement,
			 POLICY_ENFORCE_WARN);
	assert_int_equal(policytest_find(&d, "zeroTrust.serviceAccount", NULL)->enforcement,
			 POLICY_ENFORCE_AUDIT);
	assert_int_equal(policytest_find(&d, "dataResidency.label", NULL)->enforcement, POLICY_ENFORCE_WARN);
	assert_string_equal(ann(&d, "decision"), "allowed");
	assert_string_equal(ann(&d, "violations"), "3");
	buf_init(&msg, 4096);
	assert_int_equal(policy_decision_deny_message(&d, &msg), 0);
	assert_string_equal(buf_str(&msg), "");
	buf_release(&msg);
	policy_decision_release(&d);
	/* one deny-mode finding is enough to deny */
	json_object_del(json_object_get(json_object_get(obj, "metadata"), "labels"), "saqr.dev/owner");
	policytest_eval(p, obj, &d);
	assert_false(d.allowed);
	policy_decision_release(&d);
	json_decref(docs);
	policy_free(p);
}

static void test_skipped_operations(void **state)
{
	json_t *pod =
	    policytest_yaml("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {hostPID: true}\n");
	struct policy_input in = {pod, "DELETE", NULL, NULL, POLICYTEST_NOW};
	struct policy_decision d;

	(void)state;
	policy_decision_init(&d);
	assert_int_equal(policy_eval(def, &in, &d), 0);
	assert_true(d.allowed);
	assert_int_equal(d.nviolations, 0);
	assert_string_equal(ann(&d, "decision"), "allowed");
	policy_decision_release(&d);
	/* an object being deleted can always lose its finalizers */
	in.operation = "UPDATE";
	policytest_set(pod, "metadata.deletionTimestamp", json_string("2030-01-01T00:00:00Z"));
	policy_decision_init(&d);
	assert_int_equal(policy_eval(def, &in, &d), 0);
	assert_true(d.allowed);
	assert_int_equal(d.nviolations, 0);
	policy_decision_release(&d);
	/* ...but a CREATE (or an offline check, no operation) that carries one is judged in full */
	in.operation = "CREATE";
	policy_decision_init(&d);
	assert_int_equal(policy_eval(def, &in, &d), 0);
	assert_false(d.allowed);
	policy_decision_release(&d);
	in.operation = NULL;
	policy_decision_init(&d);
	assert_int_equal(policy_eval(def, &in, &d), 0);
	assert_false(d.allowed);
	policy_decision_release(&d);
	json_decref(pod);
}

static void test_unknown_kinds_and_invalid_input(void **state)
{
	json_t *cm = policytest_yaml("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n");
	json_t *nokind = policytest_yaml("apiVersion: v1\nmetadata: {name: c}\n");
	json_t *arr = json_array();
	struct policy_input in = {nokind, NULL, NULL, NULL, POLICYTEST_NOW};
	struct policy_decision d;

	(void)state;
	policytest_eval(def, cm, &d);
	assert_true(d.allowed);
	assert_int_equal(d.nviolations, 0);
	assert_string_equal(ann(&d, "decision"), "allowed");
	policy_decision_release(&d);
	policy_decision_init(&d);
	assert_int_equal(policy_eval(def, &in, &d), SAQR_EINVAL);
	in.object = arr;
	assert_int_equal(policy_eval(def, &in, &d), SAQR_EINVAL);
	assert_int_equal(policy_eval(NULL, &in, &d), SAQR_EINVAL);
	assert_int_equal(policy_eval(def, NULL, &d), SAQR_EINVAL);
	policy_decision_release(&d);
	policy_decision_release(NULL);
	json_decref(cm);
	json_decref(nokind);
	json_decref(arr);
}

static void test_findings_are_capped(void **state)
{
	struct policy *p = policytest_only("zeroTrust", NULL);
	json_t *pod =
	    policytest_yaml("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
			    "spec: {serviceAccountName: sa, automountServiceAccountToken: false}\n");
	json_t *containers = json_array();
	struct policy_decision d;
	size_t i;

	(void)state;
	for (i = 0; i < 600; i++)
		json_array_append_new(containers, json_pack("{s:s, s:s}", "name", "c", "image", "nginx"));
	policytest_set(pod, "spec.containers", containers);
	policytest_eval(p, pod, &d);
	/* two findings per container (digest, latest): 1200, of which 1000 are kept */
	assert_int_equal(d.nviolations, 1000);
	assert_string_equal(ann(&d, "violations"), "1200");
	assert_false(d.allowed);
	policy_decision_release(&d);
	policy_free(p);
	json_decref(pod);
}

/* Warnings never crowd out denials: past the cap, a denial takes a warning's place, and the
 * request is denied whatever the number of warnings before it. */
static void test_warnings_never_crowd_out_denials(void **state)
{
	struct policy *p =
	    policytest_policy("apiVersion: saqr.dev/v1alpha1\nkind: AdmissionPolicy\nspec:\n"
			      "  podSecurity: {enabled: false}\n  dataResidency: {enabled: false}\n"
			      "  zeroTrust: {enforcement: warn}\n"
			      "  compliance: {enforcement: deny, requireClassification: false}\n");
	json_t *pod =
	    policytest_yaml("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
			    "spec: {serviceAccountName: sa, automountServiceAccountToken: false}\n");
	json_t *containers = json_array();
	struct policy_decision d;
	struct buf msg;
	size_t i, warn = 0;

	(void)state;
	for (i = 0; i < 600; i++)
		json_array_append_new(containers, json_pack("{s:s, s:s}", "name", "c", "image", "nginx"));
	policytest_set(pod, "spec.containers", containers);
	policytest_eval(p, pod, &d);
	/* 1200 warnings, then the missing owner: 1000 kept, the denial among them */
	assert_int_equal(d.nviolations, 1000);
	assert_string_equal(ann(&d, "violations"), "1201");
	assert_false(d.allowed);
	assert_string_equal(ann(&d, "decision"), "denied");
	assert_int_equal(policytest_count(&d, "compliance.owner", "metadata.labels[saqr.dev/owner]"), 1);
	for (i = 0; i < d.nviolations; i++)
		warn += d.violations[i].enforcement == POLICY_ENFORCE_WARN;
	assert_int_equal(warn, 999);
	buf_init(&msg, 4096);
	assert_int_equal(policy_decision_deny_message(&d, &msg), 0);
	assert_non_null(strstr(buf_str(&msg), "[compliance.owner]"));
	buf_release(&msg);
	policy_decision_release(&d);
	policy_free(p);
	json_decref(pod);
}

/* Autogen: the metadata rules also run on a workload's pod template (what its ReplicaSets and
 * Pods carry), with a message that says why. */
static void test_pod_template_must_carry_the_labels(void **state)
{
	json_t *docs = fixture_docs("tests/data/policy/deployment-4k.yaml");
	json_t *obj = json_array_get(docs, 0);
	const struct policy_violation *v;
	struct policy_decision d;

	(void)state;
	policytest_set(obj, "spec.template.metadata.labels", json_object());
	policytest_eval(def, obj, &d);
	assert_false(d.allowed);
	assert_int_equal(d.nviolations, 4);
	v = policytest_find(&d, "compliance.classification",
			    "spec.template.metadata.labels[saqr.dev/data-classification]");
	assert_non_null(v);
	assert_non_null(strstr(v->message, "pods created from this template would be refused"));
	assert_int_equal(
	    policytest_count(&d, "compliance.owner", "spec.template.metadata.labels[saqr.dev/owner]"), 1);
	assert_int_equal(policytest_count(&d, "dataResidency.label",
					  "spec.template.metadata.labels[saqr.dev/data-residency]"),
			 1);
	/* the object holds personal data: so must its pods, and they face the personal-data rules */
	assert_int_equal(policytest_count(&d, "compliance.personalData",
					  "spec.template.metadata.labels[saqr.dev/personal-data]"),
			 1);
	policy_decision_release(&d);
	policytest_set(obj, "spec.template.metadata.labels",
		       policytest_yaml("{saqr.dev/personal-data: 'true'}"));
	policytest_eval(def, obj, &d);
	assert_int_equal(policytest_count(&d, "compliance.lawfulBasis",
					  "spec.template.metadata.labels[saqr.dev/lawful-basis]"),
			 1);
	assert_int_equal(
	    policytest_count(&d, "compliance.retention", "spec.template.metadata.labels[saqr.dev/retention]"),
	    1);
	policy_decision_release(&d);
	policytest_set(obj, "spec.template.metadata.labels", json_object());
	/* annotations count on the template as on the object */
	policytest_set(
	    obj, "spec.template.metadata.annotations",
	    policytest_yaml("{saqr.dev/data-residency: uae, saqr.dev/data-classification: confidential, "
			    "saqr.dev/owner: payments-team, saqr.dev/personal-data: 'true', "
			    "saqr.dev/lawful-basis: contract, saqr.dev/retention: P30D}"));
	policytest_eval(def, obj, &d);
	policytest_dump(&d);
	assert_true(d.allowed);
	policy_decision_release(&d);
	json_decref(docs);
}

/* A CronJob: its Jobs carry the job template's metadata and their pods the pod template's. */
static void test_cronjob_templates(void **state)
{
	json_t *docs = fixture_docs("tests/data/policy/deployment-4k.yaml");
	json_t *dep = json_array_get(docs, 0);
	json_t *cj =
	    policytest_yaml("apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c, namespace: shop}\n"
			    "spec: {schedule: '@daily', jobTemplate: {spec: {}}}\n");
	struct policy_decision d;

	(void)state;
	policytest_set(cj, "metadata.labels", json_deep_copy(json_path(dep, "metadata.labels")));
	policytest_set(cj, "spec.jobTemplate.spec.template", json_deep_copy(json_path(dep, "spec.template")));
	policytest_set(cj, "spec.jobTemplate.spec.template.spec.restartPolicy", json_string("OnFailure"));
	policytest_eval(def, cj, &d);
	assert_int_equal(
	    policytest_count(&d, "compliance.owner", "spec.jobTemplate.metadata.labels[saqr.dev/owner]"), 1);
	assert_int_equal(policytest_count(&d, "compliance.owner", NULL), 1);
	policy_decision_release(&d);
	policytest_set(cj, "spec.jobTemplate.metadata.labels",
		       json_deep_copy(json_path(dep, "metadata.labels")));
	policytest_eval(def, cj, &d);
	policytest_dump(&d);
	assert_int_equal(d.nviolations, 0);
	policy_decision_release(&d);
	json_decref(cj);
	json_decref(docs);
}

/* A ReplicaSet or Pod a user creates directly is checked in full, whoever asks. */
static void test_children_are_no_bypass(void **state)
{
	const struct policy_user kcm = {"system:kube-controller-manager", NULL, 0};
	json_t *rs =
	    policytest_yaml("apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: r, namespace: shop,"
			    " ownerReferences: [{kind: Deployment, name: d, uid: u, controller: true}]}\n"
			    "spec: {template: {spec: {containers: [{name: a, image: 'nginx:1.27'}]}}}\n");
	struct policy_decision d;

	(void)state;
	policytest_eval_as(def, rs, &kcm, &d);
	assert_false(d.allowed);
	assert_int_equal(policytest_count(&d, "compliance.owner", "metadata.labels[saqr.dev/owner]"), 1);
	assert_int_equal(
	    policytest_count(&d, "compliance.owner", "spec.template.metadata.labels[saqr.dev/owner]"), 1);
	policy_decision_release(&d);
	json_decref(rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_policy_admits_compliant_objects),
	    cmocka_unit_test(test_pod_template_must_carry_the_labels),
	    cmocka_unit_test(test_cronjob_templates),
	    cmocka_unit_test(test_children_are_no_bypass),
	    cmocka_unit_test(test_every_finding_and_the_deny_message),
	    cmocka_unit_test(test_warn_and_audit_modes),
	    cmocka_unit_test(test_skipped_operations),
	    cmocka_unit_test(test_unknown_kinds_and_invalid_input),
	    cmocka_unit_test(test_findings_are_capped),
	    cmocka_unit_test(test_warnings_never_crowd_out_denials),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
