/* Unit tests for policy/exemptions.c: namespace, user and group exemptions, and the
 * break-glass annotation (honoured, expired, too long, unlisted group, disabled, malformed,
 * offline; inherited by a controller's child; on a pod template). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../support/policytest.h"

static struct policy *policy;

static const char policy_yaml[] = "apiVersion: saqr.dev/v1alpha1\n"
				  "kind: AdmissionPolicy\n"
				  "spec:\n"
				  "  zeroTrust: {enabled: false}\n"
				  "  dataResidency: {enabled: false}\n"
				  "  compliance: {enabled: false}\n"
				  "  exemptions:\n"
				  "    namespaces: [kube-system, legacy]\n"
				  "    users: [ci-bot]\n"
				  "    groups: [platform-admins]\n"
				  "    breakGlass: {groups: [sre-oncall], maxDuration: PT4H}\n";

/* A pod that breaks the restricted level twice (hostNetwork, and privileged). */
static const char bad_pod[] =
    "apiVersion: v1\n"
    "kind: Pod\n"
    "metadata: {name: debug, namespace: shop}\n"
    "spec:\n"
    "  hostNetwork: true\n"
    "  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}\n"
    "  containers:\n"
    "  - name: sh\n"
    "    image: busybox\n"
    "    securityContext: {privileged: true, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}\n";

static const char *const oncall_groups[] = {"system:authenticated", "sre-oncall"};
static const struct policy_user oncall = {"alice", oncall_groups, 2};
static const char *const dev_groups[] = {"system:authenticated", "developers"};
static const struct policy_user dev = {"bob", dev_groups, 2};

static int setup(void **state)
{
	(void)state;
	policy = policytest_policy(policy_yaml);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	policy_free(policy);
	return 0;
}

static const char *ann(const struct policy_decision *d, const char *key)
{
	return json_string_value(json_object_get(d->audit_annotations, key));
}

static void break_glass(json_t *pod, const char *value)
{
	policytest_set(pod, "metadata.annotations", json_pack("{s:s}", "saqr.dev/break-glass", value));
}

static void test_no_exemption_denies(void **state)
{
	json_t *pod = policytest_yaml(bad_pod);
	struct policy_decision d;

	(void)state;
	policytest_eval_as(policy, pod, &dev, &d);
	assert_false(d.allowed);
	assert_false(d.exempt);
	assert_int_equal(d.nviolations, 2);
	assert_string_equal(ann(&d, "decision"), "denied");
	policy_decision_release(&d);
	json_decref(pod);
}

static void test_namespace_user_group(void **state)
{
	const char *const admin_groups[] = {"platform-admins"};
	const struct policy_user ci = {"ci-bot", NULL, 0}, admin = {"carol", admin_groups, 1};
	json_t *pod = policytest_yaml(bad_pod);
	struct policy_input in = {pod, "CREATE", "legacy", &dev, POLICYTEST_NOW};
	struct policy_decision d;

	(void)state;
	/* the request's namespace wins over the object's */
	policy_decision_init(&d);
	assert_int_equal(policy_eval(policy, &in, &d), 0);
	assert_true(d.allowed);
	assert_true(d.exempt);
	assert_int_equal(d.nviolations, 0);
	assert_string_equal(ann(&d, "decision"), "exempt");
	assert_string_equal(ann(&d, "exempt"), "namespace legacy");
	policy_decision_release(&d);

	policytest_set(pod, "metadata.namespace", json_string("kube-system"));
	policytest_eval(policy, pod, &d);
	assert_true(d.exempt);
	assert_string_equal(ann(&d, "exempt"), "namespace kube-system");
	policy_decision_release(&d);

	policytest_set(pod, "metadata.namespace", json_string("shop"));
	policytest_eval_as(policy, pod, &ci, &d);
	assert_true(d.exempt);
	assert_string_equal(ann(&d, "exempt"), "user \"ci-bot\"");
	policy_decision_release(&d);

	policytest_eval_as(policy, pod, &admin, &d);
	assert_true(d.exempt);
	assert_string_equal(ann(&d, "exempt"), "group \"platform-admins\"");
	policy_decision_release(&d);
	json_decref(pod);
}

static void test_break_glass_honoured(void **state)
{
	json_t *pod = policytest_yaml(bad_pod);
	struct policy_decision d;
	struct buf msg;
	size_t i;

	(void)state;
	break_glass(pod, "INC-4711 payment outage; expires=2030-01-01T02:00:00Z");
	policytest_eval_as(policy, pod, &oncall, &d);
	assert_true(d.allowed);
	assert_true(d.exempt);
	/* the findings stay, for the audit trail, but none is enforced */
	assert_int_equal(d.nviolations, 2);
	for (i = 0; i < d.nviolations; i++)
		assert_int_equal(d.violations[i].enforcement, POLICY_ENFORCE_AUDIT);
	assert_string_equal(ann(&d, "decision"), "break-glass");
	assert_string_equal(ann(&d, "break-glass"), "INC-4711 payment outage");
	assert_string_equal(ann(&d, "break-glass-expires"), "2030-01-01T02:00:00Z");
	assert_string_equal(ann(&d, "break-glass-user"), "alice");
	assert_string_equal(ann(&d, "break-glass-status"), "honoured");
	assert_string_equal(ann(&d, "violations"), "2");
	buf_init(&msg, 4096);
	assert_int_equal(policy_decision_deny_message(&d, &msg), 0);
	assert_string_equal(buf_str(&msg), "");
	buf_release(&msg);
	policy_decision_release(&d);
	json_decref(pod);
}

/* A refused break-glass adds one finding and leaves the others enforced. */
static void expect_refused(const char *value, const struct policy_user *user, const char *message)
{
	json_t *pod = policytest_yaml(bad_pod);
	const struct policy_violation *v;
	struct policy_decision d;

	break_glass(pod, value);
	policytest_eval_as(policy, pod, user, &d);
	assert_false(d.allowed);
	assert_false(d.exempt);
	assert_int_equal(d.nviolations, 3);
	v = policytest_find(&d, "exemptions.breakGlass", "metadata.annotations[saqr.dev/break-glass]");
	assert_non_null(v);
	assert_string_equal(v->message, message);
	assert_int_equal(v->enforcement, POLICY_ENFORCE_DENY);
	assert_string_equal(ann(&d, "break-glass-status"), "refused");
	assert_string_equal(ann(&d, "decision"), "denied");
	policy_decision_release(&d);
	json_decref(pod);
}

static void test_break_glass_expired(void **state)
{
	(void)state;
	expect_refused("INC-1; expires=2029-12-31T23:59:59Z", &oncall,
		       "break-glass expired at 2029-12-31T23:59:59Z; set a new expiry at most PT4H from now");
}

static void test_break_glass_too_long(void **state)
{
	(void)state;
	expect_refused(
	    "INC-1; expires=2030-01-01T04:00:01Z", &oncall,
	    "break-glass expires at 2030-01-01T04:00:01Z, PT4H1S from now; the policy allows at most PT4H");
}

static void test_break_glass_unlisted_group(void **state)
{
	(void)state;
	expect_refused("INC-1; expires=2030-01-01T01:00:00Z", &dev,
		       "user \"bob\" is in no break-glass group; allowed groups: sre-oncall");
}

static void test_break_glass_malformed(void **state)
{
	(void)state;
	expect_refused("please let me in", &oncall,
		       "\"please let me in\" is not \"<reason>; expires=<RFC3339 time>\"");
	expect_refused("; expires=2030-01-01T01:00:00Z", &oncall,
		       "\"; expires=2030-01-01T01:00:00Z\" is not \"<reason>; expires=<RFC3339 time>\"");
	expect_refused("INC-1; expires=tomorrow", &oncall,
		       "\"INC-1; expires=tomorrow\" is not \"<reason>; expires=<RFC3339 time>\"");
}

static void test_break_glass_disabled(void **state)
{
	struct policy *p = policytest_policy("apiVersion: saqr.dev/v1alpha1\nkind: AdmissionPolicy\n"
					     "spec: {exemptions: {breakGlass: {groups: []}}}\n");
	json_t *pod = policytest_yaml(bad_pod);
	struct policy_decision d;

	(void)state;
	break_glass(pod, "INC-1; expires=2030-01-01T01:00:00Z");
	policytest_eval_as(p, pod, &oncall, &d);
	assert_false(d.allowed);
	assert_string_equal(policytest_find(&d, "exemptions.breakGlass", NULL)->message,
			    "break-glass is disabled: the policy lists no spec.exemptions.breakGlass.groups");
	policy_decision_release(&d);
	policy_free(p);
	json_decref(pod);
}

static void test_break_glass_offline_is_unverified(void **state)
{
	json_t *pod = policytest_yaml(bad_pod);
	struct policy_decision d;

	(void)state;
	break_glass(pod, "INC-1; expires=2030-01-01T01:00:00Z");
	policytest_eval(policy, pod, &d);
	assert_false(d.allowed);
	assert_int_equal(d.nviolations, 2);
	assert_string_equal(ann(&d, "break-glass-status"), "unverified");
	policy_decision_release(&d);
	json_decref(pod);
}

static void test_exemptions_disabled(void **state)
{
	struct policy *p = policytest_policy("apiVersion: saqr.dev/v1alpha1\nkind: AdmissionPolicy\n"
					     "spec: {exemptions: {enabled: false}}\n");
	json_t *pod = policytest_yaml(bad_pod);
	struct policy_decision d;

	(void)state;
	policytest_set(pod, "metadata.namespace", json_string("kube-system"));
	break_glass(pod, "INC-1; expires=2030-01-01T01:00:00Z");
	policytest_eval_as(p, pod, &oncall, &d);
	assert_false(d.allowed);
	assert_false(d.exempt);
	assert_null(json_object_get(d.audit_annotations, "break-glass"));
	policy_decision_release(&d);
	policy_free(p);
	json_decref(pod);
}

static const char *const kcm_groups[] = {"system:serviceaccounts", "system:serviceaccounts:kube-system"};
static const struct policy_user rs_controller = {"system:serviceaccount:kube-system:replicaset-controller",
						 kcm_groups, 2};

/* The bad pod as the child of a ReplicaSet, carrying the break-glass its template gave it. */
static json_t *child_pod(const char *bg)
{
	json_t *pod = policytest_yaml(bad_pod);

	break_glass(pod, bg);
	policytest_set(pod, "metadata.ownerReferences",
		       policytest_yaml("[{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d4f, uid: u1, "
				       "controller: true}]"));
	return pod;
}

/* A Kubernetes controller creating a child: the inherited break-glass holds while in time,
 * without the group check (made at the parent's admission), and is recorded. */
static void test_break_glass_inherited_by_controller_child(void **state)
{
	json_t *pod = child_pod("INC-4711; expires=2030-01-01T02:00:00Z");
	const struct policy_user kcm = {"system:kube-controller-manager", NULL, 0};
	struct policy_decision d;

	(void)state;
	policytest_eval_as(policy, pod, &rs_controller, &d);
	assert_true(d.allowed);
	assert_true(d.exempt);
	assert_string_equal(ann(&d, "decision"), "break-glass");
	assert_string_equal(ann(&d, "break-glass-status"), "honoured");
	assert_string_equal(ann(&d, "break-glass-user"),
			    "system:serviceaccount:kube-system:replicaset-controller");
	assert_non_null(ann(&d, "break-glass-inherited"));
	policy_decision_release(&d);
	policytest_eval_as(policy, pod, &kcm, &d);
	assert_true(d.allowed);
	policy_decision_release(&d);
	/* the same child requested by a user gets the full group check */
	policytest_eval_as(policy, pod, &dev, &d);
	assert_false(d.allowed);
	assert_non_null(
	    policytest_find(&d, "exemptions.breakGlass", "metadata.annotations[saqr.dev/break-glass]"));
	assert_null(ann(&d, "break-glass-inherited"));
	policy_decision_release(&d);
	/* without a controller ownerReference it is no child */
	policytest_set(pod, "metadata.ownerReferences.0.controller", json_false());
	policytest_eval_as(policy, pod, &rs_controller, &d);
	assert_false(d.allowed);
	policy_decision_release(&d);
	json_decref(pod);
}

/* Only while valid: an expired or too long break-glass is refused to a controller too, and a
 * service account that merely ends in -controller outside kube-system is no controller. */
static void test_break_glass_inherited_only_while_valid(void **state)
{
	const struct policy_user fake = {"system:serviceaccount:shop:replicaset-controller", NULL, 0};
	json_t *expired = child_pod("INC-4711; expires=2029-12-31T23:00:00Z");
	json_t *too_long = child_pod("INC-4711; expires=2030-01-02T00:00:00Z");
	json_t *ok = child_pod("INC-4711; expires=2030-01-01T02:00:00Z");
	struct policy_decision d;

	(void)state;
	policytest_eval_as(policy, expired, &rs_controller, &d);
	assert_false(d.allowed);
	assert_string_equal(ann(&d, "break-glass-status"), "refused");
	policy_decision_release(&d);
	policytest_eval_as(policy, too_long, &rs_controller, &d);
	assert_false(d.allowed);
	policy_decision_release(&d);
	policytest_eval_as(policy, ok, &fake, &d);
	assert_false(d.allowed);
	policy_decision_release(&d);
	json_decref(expired);
	json_decref(too_long);
	json_decref(ok);
}

/* A break-glass on a pod template is judged at the parent's admission with the requester's
 * groups, since every child will carry it. */
static void test_break_glass_on_template_checked_at_parent(void **state)
{
	json_t *dep =
	    policytest_yaml("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n"
			    "spec:\n  template:\n    metadata:\n      annotations:\n"
			    "        saqr.dev/break-glass: 'INC-1; expires=2030-01-01T01:00:00Z'\n"
			    "    spec:\n      securityContext: {runAsNonRoot: true, seccompProfile: {type: "
			    "RuntimeDefault}}\n      containers:\n      - name: a\n        image: x\n"
			    "        securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: "
			    "[ALL]}}\n");
	const char *path = "spec.template.metadata.annotations[saqr.dev/break-glass]";
	struct policy_decision d;

	(void)state;
	policytest_eval_as(policy, dep, &dev, &d);
	policytest_dump(&d);
	assert_false(d.allowed);
	assert_string_equal(policytest_find(&d, "exemptions.breakGlass", path)->message,
			    "user \"bob\" is in no break-glass group; allowed groups: sre-oncall");
	assert_string_equal(ann(&d, "template-break-glass-status"), "refused");
	policy_decision_release(&d);
	policytest_eval_as(policy, dep, &oncall, &d);
	assert_true(d.allowed);
	assert_int_equal(d.nviolations, 0);
	assert_string_equal(ann(&d, "template-break-glass-status"), "honoured");
	assert_string_equal(ann(&d, "template-break-glass-user"), "alice");
	/* the template's break-glass does not exempt the object itself */
	assert_false(d.exempt);
	policy_decision_release(&d);
	json_decref(dep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_no_exemption_denies),
	    cmocka_unit_test(test_namespace_user_group),
	    cmocka_unit_test(test_break_glass_honoured),
	    cmocka_unit_test(test_break_glass_expired),
	    cmocka_unit_test(test_break_glass_too_long),
	    cmocka_unit_test(test_break_glass_unlisted_group),
	    cmocka_unit_test(test_break_glass_malformed),
	    cmocka_unit_test(test_break_glass_disabled),
	    cmocka_unit_test(test_break_glass_offline_is_unverified),
	    cmocka_unit_test(test_exemptions_disabled),
	    cmocka_unit_test(test_break_glass_inherited_by_controller_child),
	    cmocka_unit_test(test_break_glass_inherited_only_while_valid),
	    cmocka_unit_test(test_break_glass_on_template_checked_at_parent),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
