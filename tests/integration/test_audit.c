/* Integration tests of the audit controller against the real local kube-apiserver, with only
 * that controller running in a manager built here: objects created appear in the namespace's
 * OpenReports Report (the policy in audit mode), a re-audit that finds nothing new writes nothing, a changed
 * policy file updates the results, a fixed object leaves the fail results, and an expired
 * break-glass produces one BreakGlassExpired Event and one incident (a recording receiver).
 * Waits poll with a deadline; nothing is timed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/jsonutil.h"
#include "common/metrics.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "operator/audit/audit.h"
#include "operator/runtime/kubeops.h"
#include "operator/runtime/manager.h"
#include "../support/httprecv.h"
#include "../support/kubetest.h"
#include "../support/proc.h"

#define WAIT_LIMIT 90.0
#define DIGEST "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const struct kube_resource namespaces = {"", "v1", "namespaces", false};
static const struct kube_resource deployments = {"apps", "v1", "deployments", true};
static const struct kube_resource pods = {"", "v1", "pods", true};
static const struct kube_resource reports = {"openreports.io", "v1alpha1", "reports", true};
static const struct kube_resource events = {"events.k8s.io", "v1", "events", true};

static const char policy_fmt[] = "apiVersion: saqr.dev/v1alpha1\n"
				 "kind: AdmissionPolicy\n"
				 "spec:\n"
				 "  podSecurity: {enforcement: %s}\n"
				 "  zeroTrust: {enabled: false}\n"
				 "  dataResidency: {enabled: false}\n"
				 "  compliance: {enabled: false}\n"
				 "  exemptions: {breakGlass: {groups: [sre-oncall], maxDuration: PT4H}}\n";

struct env {
	struct kube_client *client;
	struct kubeops ops;
	char ns[64];
	char *dir;
	char policy[1024];
	struct httprecv *sink;
	char sink_url[256]; /* borrowed by the controller */
	struct manager *mgr;
	struct audit_controller *ac;
};

static struct env env;

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pause_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

typedef bool (*pred_fn)(void *arg);

static bool wait_for(pred_fn pred, void *arg)
{
	double deadline = now_mono() + WAIT_LIMIT;

	while (!pred(arg)) {
		if (now_mono() > deadline)
			return false;
		pause_ms(100);
	}
	return true;
}

static int kubectl(const char *const args[])
{
	const char *bin = getenv("SAQR_TOOLS_BIN");
	const char *argv[16];
	char path[512];
	struct buf out;
	int code = -1, n = 0;

	snprintf(path, sizeof(path), "%s%skubectl", bin ? bin : "", bin ? "/" : "");
	argv[n++] = path;
	while (args[n - 1] && n < 15) {
		argv[n] = args[n - 1];
		n++;
	}
	argv[n] = NULL;
	buf_init(&out, 1 << 20);
	if (proc_run(argv, NULL, &out, &code) != 0 || code != 0)
		fprintf(stderr, "kubectl failed (%d): %s\n", code, buf_str(&out));
	buf_release(&out);
	return code;
}

static void create(const struct kube_resource *res, json_t *obj)
{
	struct kube_write_opts wo = {0};
	struct kube_status st = {0};
	int rc = kube_create(env.client, res, env.ns, obj, &wo, NULL, &st);

	if (rc)
		fail_msg("create %s: %s %s", res->resource, saqr_strerror(rc), st.message);
	json_decref(obj);
}

static void merge_patch(const struct kube_resource *res, const char *name, json_t *patch)
{
	struct kube_write_opts wo = {0};
	struct kube_status st = {0};
	int rc = kube_patch(env.client, res, env.ns, name, KUBE_PATCH_MERGE, patch, &wo, NULL, &st);

	if (rc)
		fail_msg("patch %s/%s: %s %s", res->resource, name, saqr_strerror(rc), st.message);
	json_decref(patch);
}

static json_t *get_report(void)
{
	json_t *obj = NULL;

	if (kube_get(env.client, &reports, env.ns, AUDIT_REPORT_NAME, &obj, NULL))
		return NULL;
	return obj;
}

static void write_policy(const char *enforcement)
{
	char body[1024], tmp[1100];

	snprintf(body, sizeof(body), policy_fmt, enforcement);
	snprintf(tmp, sizeof(tmp), "%s.new", env.policy);
	assert_int_equal(kubetest_write("", tmp, body), 0);
	assert_int_equal(rename(tmp, env.policy), 0); /* a new inode, as a ConfigMap volume swap */
}

/* A Deployment whose pods are restricted, with hostPID when bad; annotations may be NULL. */
static json_t *deployment(const char *name, bool bad, json_t *annotations)
{
	json_t *d = json_pack("{s:s, s:s, s:{s:s}, s:{s:{s:{s:s}}, s:{s:{s:{s:s}}, s:{s:b, s:{s:b, s:{s:s}}, "
			      "s:[{s:s, s:s, s:{s:b, s:{s:[s]}}}]}}}}",
			      "apiVersion", "apps/v1", "kind", "Deployment", "metadata", "name", name, "spec",
			      "selector", "matchLabels", "app", name, "template", "metadata", "labels", "app",
			      name, "spec", "hostPID", bad, "securityContext", "runAsNonRoot", 1,
			      "seccompProfile", "type", "RuntimeDefault", "containers", "name", "app",
			      "image", "registry.example.ae/app@" DIGEST, "securityContext",
			      "allowPrivilegeEscalation", 0, "capabilities", "drop", "ALL");

	if (annotations)
		json_object_set_new(json_object_get(d, "metadata"), "annotations", annotations);
	return d;
}

/* ---- the report ---- */

struct want {
	const char *kind, *name, *rule, *result; /* rule NULL: any; result NULL: no such result */
	const char *property, *value;		 /* optional */
};

static const json_t *find_result(const json_t *rep, const struct want *w)
{
	const json_t *res;
	size_t i;

	json_array_foreach(json_object_get(rep, "results"), i, res)
	{
		const json_t *ref = json_array_get(json_object_get(res, "resources"), 0);

		if (strcmp(json_path_str(ref, "kind", ""), w->kind) == 0 &&
		    strcmp(json_path_str(ref, "name", ""), w->name) == 0 &&
		    (!w->rule || strcmp(json_path_str(res, "rule", ""), w->rule) == 0))
			return res;
	}
	return NULL;
}

static bool report_has(void *arg)
{
	struct want *w = arg;
	json_t *rep = get_report();
	const json_t *res = find_result(rep, w);
	bool ok;

	if (!w->result)
		ok = rep && !res;
	else
		ok = res && strcmp(json_path_str(res, "result", ""), w->result) == 0 &&
		     (!w->property ||
		      strcmp(
			  json_string_value(json_object_get(json_object_get(res, "properties"), w->property))
			      ? json_string_value(
				    json_object_get(json_object_get(res, "properties"), w->property))
			      : "",
			  w->value) == 0);
	json_decref(rep);
	return ok;
}

static void expect_result(struct want w)
{
	if (!wait_for(report_has, &w)) {
		json_t *rep = get_report();
		char *text = rep ? json_dumps(rep, JSON_INDENT(1)) : NULL;

		fail_msg("no %s result for %s/%s rule %s; report: %s", w.result ? w.result : "absent", w.kind,
			 w.name, w.rule ? w.rule : "*", text ? text : "(none)");
	}
}

/* ---- setup ---- */

static int setup_cluster(void)
{
	const char *r = getenv("SAQR_ROOT");
	char crds[1024], openreports[1024];
	json_t *ns = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata",
			       "name", env.ns);
	struct kube_write_opts wo = {0};
	int rc = kube_create(env.client, &namespaces, NULL, ns, &wo, NULL, NULL);

	json_decref(ns);
	snprintf(crds, sizeof(crds), "%s/crds", r ? r : ".");
	snprintf(openreports, sizeof(openreports), "%s/crds/openreports", r ? r : ".");
	if (rc || kubectl((const char *const[]){"apply", "--server-side", "-f", crds, NULL}) ||
	    kubectl((const char *const[]){"apply", "--server-side", "-k", openreports, NULL}) ||
	    kubectl((const char *const[]){"wait", "--for=condition=established", "--timeout=60s",
					  "crd/reports.openreports.io", "crd/clusterreports.openreports.io",
					  "crd/modeldeployments.saqr.dev", "crd/trainingjobs.saqr.dev",
					  "crd/driftpolicies.saqr.dev", NULL}))
		return -1;
	return 0;
}

static int start_manager(void)
{
	struct manager_config mc = {.identity = "audit-test", .namespace = env.ns, .compact_cache = true};
	struct operator_ctx ctx = {0};
	struct audit_config ac = {.policy_file = env.policy,
				  .format = AUDIT_FORMAT_OPENREPORTS,
				  .compliance_sink = env.sink_url,
				  .namespace = env.ns,
				  .policy_poll = 0.2,
				  .batch_delay = -1,
				  .skip_label = "saqr.dev/webhook"};

	httprecv_url(env.sink, env.sink_url, sizeof(env.sink_url));
	if (manager_new(&env.ops, &mc, &env.mgr))
		return -1;
	ctx.mgr = env.mgr;
	ctx.client = env.client;
	ctx.ops = manager_kubeops(env.mgr);
	ctx.events = manager_events(env.mgr);
	ctx.own_namespace = env.ns;
	ctx.workers = 2;
	if (audit_controller_new(&ctx, &ac, &env.ac) || manager_start(env.mgr))
		return -1;
	return 0;
}

static int setup(void **state)
{
	struct kube_config *cfg = NULL;
	char err[256];

	(void)state;
	if (kube_config_load_default(NULL, &cfg, err, sizeof(err))) {
		fprintf(stderr, "kubeconfig: %s\n", err);
		return -1;
	}
	if (kube_client_new(cfg, &env.client)) {
		kube_config_free(cfg);
		return -1;
	}
	kube_config_free(cfg);
	kubeops_init_kube(&env.ops, env.client, NULL, NULL);
	snprintf(env.ns, sizeof(env.ns), "saqr-audit-%ld", (long)getpid());
	env.dir = kubetest_tmpdir();
	if (!env.dir || httprecv_start(&env.sink))
		return -1;
	snprintf(env.policy, sizeof(env.policy), "%s/policy.yaml", env.dir);
	{
		char body[1024];

		snprintf(body, sizeof(body), policy_fmt, "audit");
		if (kubetest_write(env.dir, "policy.yaml", body))
			return -1;
	}
	if (setup_cluster())
		return -1;
	return start_manager();
}

static int teardown(void **state)
{
	(void)state;
	if (env.mgr) {
		manager_stop(env.mgr);
		manager_free(env.mgr);
	}
	audit_controller_free(env.ac);
	httprecv_stop(env.sink);
	kube_delete(env.client, &namespaces, NULL, env.ns, NULL, NULL);
	kube_client_free(env.client);
	if (env.dir) {
		kubetest_rmtree(env.dir);
		free(env.dir);
	}
	return 0;
}

/* ---- tests ---- */

static void test_objects_appear_in_report(void **state)
{
	json_t *rep;

	(void)state;
	create(&deployments, deployment("broken", true, NULL));
	create(&deployments, deployment("web", false, NULL));
	create(&pods, json_pack("{s:s, s:s, s:{s:s}, s:{s:b, s:[{s:s, s:s}]}}", "apiVersion", "v1", "kind",
				"Pod", "metadata", "name", "debug", "spec", "hostPID", 1, "containers",
				"name", "sh", "image", "busybox"));
	expect_result((struct want){"Deployment", "broken", "podSecurity.baseline.hostNamespaces", "fail",
				    "enforcement", "audit"});
	expect_result((struct want){"Deployment", "web", NULL, "pass", NULL, NULL});
	expect_result(
	    (struct want){"Pod", "debug", "podSecurity.baseline.hostNamespaces", "fail", NULL, NULL});
	rep = get_report();
	assert_string_equal(json_path_str(rep, "source", ""), "saqr");
	assert_true(json_path_int(rep, "summary.fail", 0) >= 2);
	assert_true(json_path_int(rep, "summary.pass", 0) >= 1);
	assert_string_equal(json_string_value(json_object_get(json_path(rep, "metadata.labels"),
							      "app.kubernetes.io/managed-by")),
			    "saqr-operator");
	json_decref(rep);
}

static void test_reaudit_without_change_writes_nothing(void **state)
{
	json_t *before = get_report(), *after;
	char rv[64];
	struct want w = {"Deployment", "web", NULL, "pass", NULL, NULL};

	(void)state;
	assert_non_null(before);
	snprintf(rv, sizeof(rv), "%s", json_path_str(before, "metadata.resourceVersion", ""));
	/* An annotation is something the policy reads: the namespace is audited again. */
	merge_patch(&deployments, "web",
		    json_pack("{s:{s:{s:s}}}", "metadata", "annotations", "note", "touched"));
	pause_ms(3000);
	assert_true(report_has(&w));
	after = get_report();
	assert_string_equal(json_path_str(after, "metadata.resourceVersion", ""), rv);
	json_decref(before);
	json_decref(after);
}

static void test_policy_change_updates_report(void **state)
{
	(void)state;
	write_policy("warn");
	expect_result((struct want){"Deployment", "broken", "podSecurity.baseline.hostNamespaces", "warn",
				    "enforcement", "warn"});
	write_policy("audit");
	expect_result((struct want){"Deployment", "broken", "podSecurity.baseline.hostNamespaces", "fail",
				    "enforcement", "audit"});
}

static void test_fixed_object_leaves_report(void **state)
{
	(void)state;
	merge_patch(&deployments, "broken",
		    json_pack("{s:{s:{s:{s:b}}}}", "spec", "template", "spec", "hostPID", 0));
	expect_result(
	    (struct want){"Deployment", "broken", "podSecurity.baseline.hostNamespaces", NULL, NULL, NULL});
	expect_result((struct want){"Deployment", "broken", NULL, "pass", NULL, NULL});
}

static size_t expiry_events(void)
{
	json_t *list = NULL, *e;
	size_t i, n = 0;

	if (kube_list(env.client, &events, env.ns, NULL, &list, NULL))
		return 0;
	json_array_foreach(json_object_get(list, "items"), i,
			   e) if (strcmp(json_path_str(e, "reason", ""), "BreakGlassExpired") == 0 &&
				  strcmp(json_path_str(e, "regarding.name", ""), "hotfix") == 0) n++;
	json_decref(list);
	return n;
}

static bool has_expiry_event(void *arg)
{
	(void)arg;
	return expiry_events() > 0;
}

static bool has_incident(void *arg)
{
	(void)arg;
	return httprecv_count(env.sink) > 0;
}

static void test_break_glass_expiry_notifies_once(void **state)
{
	char expires[32], value[128];
	time_t at = time(NULL) + 5;
	json_t *req;

	(void)state;
	strftime(expires, sizeof(expires), "%Y-%m-%dT%H:%M:%SZ", gmtime(&at));
	snprintf(value, sizeof(value), "INC-7; expires=%s", expires);
	create(&deployments, deployment("hotfix", true, json_pack("{s:s}", "saqr.dev/break-glass", value)));
	expect_result((struct want){"Deployment", "hotfix", "podSecurity.baseline.hostNamespaces", "warn",
				    "breakGlass", "INC-7"});
	assert_int_equal(httprecv_count(env.sink), 0);
	/* At expiry the namespace is audited again without any change to it. */
	expect_result((struct want){"Deployment", "hotfix", "exemptions.breakGlass", "fail",
				    "breakGlassExpired", "true"});
	expect_result(
	    (struct want){"Deployment", "hotfix", "podSecurity.baseline.hostNamespaces", "fail", NULL, NULL});
	assert_true(wait_for(has_expiry_event, NULL));
	assert_true(wait_for(has_incident, NULL));
	req = httprecv_request(env.sink, 0);
	assert_non_null(strstr(json_path_str(req, "body", ""), "BreakGlassExpired"));
	assert_non_null(strstr(json_path_str(req, "body", ""), "hotfix"));
	json_decref(req);
	/* Later audits of the namespace send nothing more. */
	merge_patch(&deployments, "web",
		    json_pack("{s:{s:{s:s}}}", "metadata", "annotations", "note", "again"));
	pause_ms(3000);
	assert_int_equal(httprecv_count(env.sink), 1);
	assert_int_equal(expiry_events(), 1);
}

/* A namespace the webhook leaves out (label saqr.dev/webhook=disabled) the audit leaves out too:
 * its report goes, and comes back when the label does. */
static void label_namespace(json_t *value)
{
	struct kube_write_opts wo = {0};
	json_t *patch = json_pack("{s:{s:{s:o}}}", "metadata", "labels", "saqr.dev/webhook", value);

	assert_int_equal(
	    kube_patch(env.client, &namespaces, NULL, env.ns, KUBE_PATCH_MERGE, patch, &wo, NULL, NULL), 0);
	json_decref(patch);
}

static void test_skipped_namespace_has_no_report(void **state)
{
	struct audit_config skip = {.skip_namespaces = "kube-system,saqr-system"};
	json_t *rep = get_report();
	time_t deadline;

	(void)state;
	assert_non_null(rep);
	json_decref(rep);
	label_namespace(json_string("disabled"));
	for (deadline = time(NULL) + 30; (rep = get_report()) != NULL; json_decref(rep)) {
		if (time(NULL) > deadline)
			fail_msg("the report of a namespace labelled saqr.dev/webhook=disabled stayed");
		usleep(100000);
	}
	assert_true(audit_skips_namespace(&skip, "saqr-system", NULL));
	assert_true(audit_skips_namespace(&skip, "kube-system", NULL));
	assert_false(audit_skips_namespace(&skip, "saqr", NULL));
	assert_false(audit_skips_namespace(&skip, "kube-system-2", NULL));
	label_namespace(json_null());
	for (deadline = time(NULL) + 30; (rep = get_report()) == NULL; usleep(100000))
		if (time(NULL) > deadline)
			fail_msg("the report did not come back once the label went");
	json_decref(rep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_objects_appear_in_report),
	    cmocka_unit_test(test_reaudit_without_change_writes_nothing),
	    cmocka_unit_test(test_policy_change_updates_report),
	    cmocka_unit_test(test_fixed_object_leaves_report),
	    cmocka_unit_test(test_break_glass_expiry_notifies_once),
	    cmocka_unit_test(test_skipped_namespace_has_no_report),
	};

	return cmocka_run_group_tests_name("audit (integration)", tests, setup, teardown);
}
