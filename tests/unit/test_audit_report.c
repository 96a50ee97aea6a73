/* Unit tests for operator/audit/report.c: results from policy decisions (fail, warn, skip,
 * pass, break-glass in force and expired, the owner label), the summary, the document in both formats, the
 * cap on results, and the no-change detection that keeps timestamps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "common/jsonutil.h"
#include "operator/audit/report.h"
#include "../support/policytest.h"

static const char policy_yaml[] = "apiVersion: saqr.dev/v1alpha1\n"
				  "kind: AdmissionPolicy\n"
				  "spec:\n"
				  "  podSecurity: {enforcement: %s}\n"
				  "  zeroTrust: {enabled: false}\n"
				  "  dataResidency: {enabled: false}\n"
				  "  compliance: {enabled: false}\n"
				  "  exemptions:\n"
				  "    namespaces: [kube-system]\n"
				  "    breakGlass: {groups: [sre-oncall], maxDuration: PT4H}\n";

/* hostNetwork and privileged: two restricted-level rules broken. */
static const char bad_pod[] =
    "apiVersion: v1\n"
    "kind: Pod\n"
    "metadata: {name: debug, namespace: %s, uid: u-1%s}\n"
    "spec:\n"
    "  hostNetwork: true\n"
    "  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}\n"
    "  containers:\n"
    "  - name: sh\n"
    "    image: busybox\n"
    "    securityContext: {privileged: true, allowPrivilegeEscalation: false, "
    "capabilities: {drop: [ALL]}}\n";

static const char good_pod[] =
    "apiVersion: v1\n"
    "kind: Pod\n"
    "metadata: {name: %s, namespace: shop}\n"
    "spec:\n"
    "  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}\n"
    "  containers:\n"
    "  - name: app\n"
    "    image: app\n"
    "    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}\n";

static struct policy *policy_with(const char *enforcement)
{
	char y[1024];

	snprintf(y, sizeof(y), policy_yaml, enforcement);
	return policytest_policy(y);
}

static json_t *pod(const char *ns, const char *extra_meta)
{
	char y[2048];

	snprintf(y, sizeof(y), bad_pod, ns, extra_meta ? extra_meta : "");
	return policytest_yaml(y);
}

static json_t *good(const char *name)
{
	char y[2048];

	snprintf(y, sizeof(y), good_pod, name);
	return policytest_yaml(y);
}

/* Evaluate obj with p at now and add it to r. */
static void add_at(struct audit_report *r, const struct policy *p, json_t *obj, time_t now)
{
	struct policy_input in = {.object = obj, .operation = "CREATE", .now = now};
	struct policy_decision d;

	policy_decision_init(&d);
	assert_int_equal(policy_eval(p, &in, &d), 0);
	assert_int_equal(audit_report_add(r, obj, &d, now), 0);
	policy_decision_release(&d);
	json_decref(obj);
}

static void add(struct audit_report *r, const struct policy *p, json_t *obj)
{
	add_at(r, p, obj, POLICYTEST_NOW);
}

static json_t *build(const struct audit_report *r, enum audit_format f, const char *ns, const json_t *prev,
		     time_t now)
{
	struct audit_report_meta m = {f, NULL, ns};
	json_t *doc = NULL;

	assert_int_equal(audit_report_build(r, &m, prev, now, &doc), 0);
	return doc;
}

static const json_t *result_for(const json_t *doc, const char *rule)
{
	const json_t *res;
	size_t i;

	json_array_foreach(json_object_get(doc, "results"), i,
			   res) if (strcmp(json_path_str(res, "rule", ""), rule) == 0) return res;
	return NULL;
}

static void test_fail_results_one_per_rule(void **state)
{
	struct policy *p = policy_with("deny");
	struct audit_report r;
	const json_t *res, *ref;
	json_t *doc;

	(void)state;
	assert_int_equal(audit_report_init(&r), 0);
	add(&r, p, pod("shop", NULL));
	doc = build(&r, AUDIT_FORMAT_OPENREPORTS, "shop", NULL, POLICYTEST_NOW);
	assert_string_equal(json_path_str(doc, "apiVersion", ""), "openreports.io/v1alpha1");
	assert_string_equal(json_path_str(doc, "kind", ""), "Report");
	assert_string_equal(json_path_str(doc, "metadata.name", ""), "saqr-policy");
	assert_string_equal(json_path_str(doc, "metadata.namespace", ""), "shop");
	assert_string_equal(json_path_str(doc, "source", ""), "saqr");
	assert_int_equal(json_path_int(doc, "summary.fail", -1), 2);
	assert_int_equal(json_path_int(doc, "summary.pass", -1), 0);
	assert_int_equal(json_array_size(json_object_get(doc, "results")), 2);
	res = result_for(doc, "podSecurity.baseline.hostNamespaces");
	assert_non_null(res);
	assert_string_equal(json_path_str(res, "result", ""), "fail");
	assert_string_equal(json_path_str(res, "policy", ""), "saqr");
	assert_string_equal(json_path_str(res, "source", ""), "saqr");
	assert_string_equal(json_path_str(res, "severity", ""), "high");
	assert_string_equal(json_path_str(res, "category", ""), "podSecurity");
	assert_string_equal(json_path_str(res, "properties.enforcement", ""), "deny");
	assert_non_null(strstr(json_path_str(res, "message", ""),
			       "[podSecurity.baseline.hostNamespaces] spec.hostNetwork: "));
	assert_int_equal(json_path_int(res, "timestamp.seconds", 0), POLICYTEST_NOW);
	ref = json_array_get(json_object_get(res, "resources"), 0);
	assert_string_equal(json_path_str(ref, "kind", ""), "Pod");
	assert_string_equal(json_path_str(ref, "name", ""), "debug");
	assert_string_equal(json_path_str(ref, "namespace", ""), "shop");
	assert_string_equal(json_path_str(ref, "uid", ""), "u-1");
	assert_int_equal(
	    json_integer_value(json_object_get(r.violations, "podSecurity.baseline.hostNamespaces")), 1);
	json_decref(doc);
	audit_report_release(&r);
	policy_free(p);
}

/* A finding carries the object's saqr.dev/owner label (for reports by owner); none without it. */
static void test_findings_carry_the_owner(void **state)
{
	struct policy *p = policy_with("deny");
	struct audit_report r;
	json_t *doc;
	const json_t *res;
	size_t i;

	(void)state;
	assert_int_equal(audit_report_init(&r), 0);
	add(&r, p, pod("shop", ", labels: {saqr.dev/owner: team-payments}"));
	doc = build(&r, AUDIT_FORMAT_OPENREPORTS, "shop", NULL, POLICYTEST_NOW);
	assert_int_equal(json_array_size(json_object_get(doc, "results")), 2);
	json_array_foreach(json_object_get(doc, "results"), i, res)
	    assert_string_equal(json_path_str(res, "properties.owner", ""), "team-payments");
	json_decref(doc);
	audit_report_release(&r);
	assert_int_equal(audit_report_init(&r), 0);
	add(&r, p, pod("shop", NULL));
	doc = build(&r, AUDIT_FORMAT_OPENREPORTS, "shop", NULL, POLICYTEST_NOW);
	assert_null(json_path(result_for(doc, "podSecurity.baseline.privileged"), "properties.owner"));
	json_decref(doc);
	audit_report_release(&r);
	policy_free(p);
}

static void test_warn_and_audit_modes(void **state)
{
	struct policy *warn = policy_with("warn"), *audit = policy_with("audit");
	struct audit_report r;
	json_t *doc;

	(void)state;
	assert_int_equal(audit_report_init(&r), 0);
	add(&r, warn, pod("shop", NULL));
	doc = build(&r, AUDIT_FORMAT_OPENREPORTS, "shop", NULL, POLICYTEST_NOW);
	assert_int_equal(json_path_int(doc, "summary.warn", -1), 2);
	assert_string_equal(
	    json_path_str(result_for(doc, "podSecurity.baseline.hostNamespaces"), "result", ""), "warn");
	json_decref(doc);
	audit_report_release(&r);
	/* Audit mode is a violation that is only not enforced: it fails. */
	assert_int_equal(audit_report_init(&r), 0);
	add(&r, audit, pod("shop", NULL));
	doc = build(&r, AUDIT_FORMAT_OPENREPORTS, "shop", NULL, POLICYTEST_NOW);
	assert_int_equal(json_path_int(doc, "summary.fail", -1), 2);
	assert_string_equal(
	    json_path_str(result_for(doc, "podSecurity.baseline.privileged"), "properties.enforcement", ""),
	    "audit");
	json_decref(doc);
	audit_report_release(&r);
	policy_free(warn);
	policy_free(audit);
}

static void test_exempt_namespace_is_skip_and_clean_is_pass(void **state)
{
	struct policy *p = policy_with("deny");
	struct audit_report r;
	const json_t *res;
	json_t *doc;

	(void)state;
	assert_int_equal(audit_report_init(&r), 0);
	add(&r, p, pod("kube-system", NULL));
	add(&r, p, good("web"));
	doc = build(&r, AUDIT_FORMAT_OPENREPORTS, "kube-system", NULL, POLICYTEST_NOW);
	assert_int_equal(json_path_int(doc, "summary.skip", -1), 1);
	assert_int_equal(json_path_int(doc, "summary.pass", -1), 1);
	assert_int_equal(json_path_int(doc, "summary.fail", -1), 0);
	/* skip before pass */
	res = json_array_get(json_object_get(doc, "results"), 0);
	assert_string_equal(json_path_str(res, "result", ""), "skip");
	assert_non_null(strstr(json_path_str(res, "message", ""), "namespace kube-system"));
	assert_null(json_object_get(res, "rule"));
	res = json_array_get(json_object_get(doc, "results"), 1);
	assert_string_equal(json_path_str(res, "result", ""), "pass");
	json_decref(doc);
	audit_report_release(&r);
	policy_free(p);
}

static void test_break_glass_in_force_then_expired(void **state)
{
	static const char bg[] =
	    ", annotations: {saqr.dev/break-glass: \"incident 42; expires=2030-01-01T02:00:00Z\"}";
	struct policy *p = policy_with("deny");
	struct audit_report r;
	struct audit_break_glass st;
	struct policy_decision d;
	struct policy_input in = {.operation = "CREATE", .now = POLICYTEST_NOW};
	const json_t *res;
	json_t *doc, *obj = pod("shop", bg);

	(void)state;
	in.object = obj;
	policy_decision_init(&d);
	assert_int_equal(policy_eval(p, &in, &d), 0);
	audit_break_glass_read(&d, POLICYTEST_NOW, &st);
	assert_true(st.present && st.in_force && !st.expired);
	assert_int_equal(st.expires, POLICYTEST_NOW + 7200);
	assert_string_equal(st.reason, "incident 42");
	policy_decision_release(&d);

	assert_int_equal(audit_report_init(&r), 0);
	add(&r, p, json_incref(obj));
	doc = build(&r, AUDIT_FORMAT_OPENREPORTS, "shop", NULL, POLICYTEST_NOW);
	assert_int_equal(json_path_int(doc, "summary.warn", -1), 2);
	res = result_for(doc, "podSecurity.baseline.privileged");
	assert_string_equal(json_path_str(res, "result", ""), "warn");
	assert_string_equal(json_path_str(res, "properties.breakGlass", ""), "incident 42");
	assert_string_equal(json_path_str(res, "properties.breakGlassExpires", ""), "2030-01-01T02:00:00Z");
	json_decref(doc);
	audit_report_release(&r);

	/* Three hours later the findings fail again, with the expiry as a finding of its own. */
	assert_int_equal(audit_report_init(&r), 0);
	add_at(&r, p, obj, POLICYTEST_NOW + 3 * 3600);
	doc = build(&r, AUDIT_FORMAT_OPENREPORTS, "shop", NULL, POLICYTEST_NOW + 3 * 3600);
	assert_int_equal(json_path_int(doc, "summary.fail", -1), 3);
	res = result_for(doc, "exemptions.breakGlass");
	assert_non_null(res);
	assert_string_equal(json_path_str(res, "result", ""), "fail");
	assert_string_equal(json_path_str(res, "properties.breakGlassExpired", ""), "true");
	assert_non_null(strstr(json_path_str(res, "message", ""), "expired at 2030-01-01T02:00:00Z"));
	json_decref(doc);
	audit_report_release(&r);
	policy_free(p);
}

static void test_unchanged_report_keeps_timestamps(void **state)
{
	struct policy *p = policy_with("deny");
	struct audit_report r;
	json_t *first, *second, *third;

	(void)state;
	assert_int_equal(audit_report_init(&r), 0);
	add(&r, p, pod("shop", NULL));
	add(&r, p, good("web"));
	first = build(&r, AUDIT_FORMAT_OPENREPORTS, "shop", NULL, POLICYTEST_NOW);
	assert_true(audit_report_changed(NULL, first));
	audit_report_release(&r);

	/* The same objects an hour later: the same document, timestamps included. */
	assert_int_equal(audit_report_init(&r), 0);
	add(&r, p, good("web"));
	add(&r, p, pod("shop", NULL));
	second = build(&r, AUDIT_FORMAT_OPENREPORTS, "shop", first, POLICYTEST_NOW + 3600);
	assert_false(audit_report_changed(first, second));
	assert_true(json_equal(json_object_get(first, "results"), json_object_get(second, "results")));
	/* A new object: the report changes, and only its result is stamped now. */
	add(&r, p, good("api"));
	third = build(&r, AUDIT_FORMAT_OPENREPORTS, "shop", first, POLICYTEST_NOW + 3600);
	assert_true(audit_report_changed(first, third));
	assert_int_equal(json_path_int(third, "summary.pass", -1), 2);
	for (size_t i = 0; i < json_array_size(json_object_get(third, "results")); i++) {
		const json_t *res = json_array_get(json_object_get(third, "results"), i);
		const char *name =
		    json_path_str(json_array_get(json_object_get(res, "resources"), 0), "name", "");

		assert_int_equal(json_path_int(res, "timestamp.seconds", 0),
				 strcmp(name, "api") == 0 ? POLICYTEST_NOW + 3600 : POLICYTEST_NOW);
	}
	json_decref(first);
	json_decref(second);
	json_decref(third);
	audit_report_release(&r);
	policy_free(p);
}

static void test_wgpolicy_and_cluster_kinds(void **state)
{
	struct policy *p = policy_with("deny");
	struct audit_report r;
	json_t *doc;

	(void)state;
	assert_int_equal(audit_report_init(&r), 0);
	add(&r, p, good("web"));
	doc = build(&r, AUDIT_FORMAT_WGPOLICY, "shop", NULL, POLICYTEST_NOW);
	assert_string_equal(json_path_str(doc, "apiVersion", ""), "wgpolicyk8s.io/v1alpha2");
	assert_string_equal(json_path_str(doc, "kind", ""), "PolicyReport");
	assert_null(json_object_get(doc, "source"));
	assert_string_equal(json_path_str(json_array_get(json_object_get(doc, "results"), 0), "source", ""),
			    "saqr");
	json_decref(doc);
	doc = build(&r, AUDIT_FORMAT_OPENREPORTS, NULL, NULL, POLICYTEST_NOW);
	assert_string_equal(json_path_str(doc, "kind", ""), "ClusterReport");
	assert_null(json_path(doc, "metadata.namespace"));
	json_decref(doc);
	assert_string_equal(audit_report_resource(AUDIT_FORMAT_WGPOLICY, false), "clusterpolicyreports");
	audit_report_release(&r);
	policy_free(p);
}

static void test_cap_keeps_failures_first(void **state)
{
	struct policy *p = policy_with("deny");
	struct audit_report r;
	char name[32];
	json_t *doc;

	(void)state;
	assert_int_equal(audit_report_init(&r), 0);
	for (int i = 0; i < 1200; i++) {
		snprintf(name, sizeof(name), "web-%04d", i);
		add(&r, p, good(name));
	}
	add(&r, p, pod("shop", NULL));
	doc = build(&r, AUDIT_FORMAT_OPENREPORTS, "shop", NULL, POLICYTEST_NOW);
	assert_int_equal(json_array_size(json_object_get(doc, "results")), AUDIT_MAX_RESULTS);
	assert_int_equal(json_path_int(doc, "summary.pass", -1), 1200);
	assert_int_equal(json_path_int(doc, "summary.fail", -1), 2);
	assert_string_equal(json_path_str(json_array_get(json_object_get(doc, "results"), 0), "result", ""),
			    "fail");
	assert_string_equal(json_string_value(json_object_get(json_path(doc, "metadata.annotations"),
							      "saqr.dev/results-omitted")),
			    "202");
	assert_int_equal(json_path_int(doc, "configuration.limits.maxResults", 0), AUDIT_MAX_RESULTS);
	json_decref(doc);
	audit_report_release(&r);
	policy_free(p);
}

static void test_outcome_names_and_groups(void **state)
{
	enum audit_outcome o;
	char g[16];

	(void)state;
	assert_int_equal(audit_outcome_parse("warn", &o), 0);
	assert_int_equal(o, AUDIT_WARN);
	assert_string_equal(audit_outcome_name(AUDIT_SKIP), "skip");
	assert_int_not_equal(audit_outcome_parse("bad", &o), 0);
	audit_rule_group("zeroTrust.imageDigest", g, sizeof(g));
	assert_string_equal(g, "zeroTrust");
	audit_rule_group("averyveryverylonggroupname.x", g, sizeof(g));
	assert_string_equal(g, "averyveryverylo");
	audit_report_release(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fail_results_one_per_rule),
	    cmocka_unit_test(test_findings_carry_the_owner),
	    cmocka_unit_test(test_warn_and_audit_modes),
	    cmocka_unit_test(test_exempt_namespace_is_skip_and_clean_is_pass),
	    cmocka_unit_test(test_break_glass_in_force_then_expired),
	    cmocka_unit_test(test_unchanged_report_keeps_timestamps),
	    cmocka_unit_test(test_wgpolicy_and_cluster_kinds),
	    cmocka_unit_test(test_cap_keeps_failures_first),
	    cmocka_unit_test(test_outcome_names_and_groups),
	};

	return cmocka_run_group_tests_name("audit report", tests, NULL, NULL);
}
