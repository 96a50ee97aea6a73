/* Integration tests of the AdmissionPolicy controller against the real local kube-apiserver, with
 * only that controller running in a manager built here: a valid AdmissionPolicy is written into the
 * policy ConfigMap (Accepted=True); a wrong type is refused by the API server (the CRD's schema);
 * a policy the loader refuses gets Accepted=False naming the field and a Warning Event, while the
 * ConfigMap keeps the last good policy; fixing it is accepted again. A webhook pod's reporter
 * (webhook/apstatus.h) owns its own entry of status.loaded next to the operator's. Waits poll
 * with a deadline. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "common/yamljson.h"
#include "kube/client.h"
#include "operator/admissionpolicy/admissionpolicy.h"
#include "operator/conditions.h"
#include "operator/runtime/kubeops.h"
#include "operator/runtime/manager.h"
#include "policy/policy.h"
#include "webhook/apstatus.h"
#include "../support/kubetest.h"
#include "../support/proc.h"

#define WAIT_LIMIT 90.0
#define CM_NAME "saqr-policy"

static const struct kube_resource namespaces = {"", "v1", "namespaces", false};
static const struct kube_resource configmaps = {"", "v1", "configmaps", true};
static const struct kube_resource events = {"events.k8s.io", "v1", "events", true};

/* What the chart writes before the operator takes over: a hand-written policy file. */
static const char initial_policy[] =
    "apiVersion: saqr.dev/v1alpha1\nkind: AdmissionPolicy\n"
    "metadata: {name: default}\nspec:\n  podSecurity: {enforcement: audit}\n";

struct env {
	struct kube_client *client;
	struct kubeops ops;
	char ns[64];
	char name[64]; /* the AdmissionPolicy, cluster-scoped: unique per run */
	struct manager *mgr;
	struct operator_ctx ctx;
};

static struct env env;

/* ---- the objects ---- */

static json_t *get_ap(void)
{
	json_t *obj = NULL;

	if (kube_get(env.client, &ap_resource, NULL, env.name, &obj, NULL))
		return NULL;
	return obj;
}

/* The ConfigMap's policy.yaml as JSON (its YAML read as the webhook reads it), or NULL. */
static json_t *configmap_policy(void)
{
	json_t *cm = NULL, *doc = NULL;
	const char *text;

	if (kube_get(env.client, &configmaps, env.ns, CM_NAME, &cm, NULL))
		return NULL;
	text = json_string_value(json_object_get(json_object_get(cm, "data"), AP_CONFIGMAP_KEY));
	if (text && yaml_to_json(text, strlen(text), AP_DOC_MAX, &doc, NULL, 0))
		doc = NULL;
	json_decref(cm);
	return doc;
}

static void merge_patch_ap(json_t *patch)
{
	struct kube_write_opts wo = {0};
	struct kube_status st = {0};
	int rc =
	    kube_patch(env.client, &ap_resource, NULL, env.name, KUBE_PATCH_MERGE, patch, &wo, NULL, &st);

	if (rc)
		fail_msg("patch admissionpolicy/%s: %s %s", env.name, saqr_strerror(rc), st.message);
	json_decref(patch);
}

struct want_status {
	long long generation;
	const char *accepted; /* COND_TRUE or COND_FALSE */
	const char *reason;
};

static bool status_is(void *arg)
{
	const struct want_status *w = arg;
	json_t *ap = get_ap();
	const json_t *conds = json_path(ap, "status.conditions");
	bool ok = json_path_int(ap, "status.observedGeneration", 0) == w->generation &&
		  cond_has_status(conds, AP_COND_ACCEPTED, w->accepted) &&
		  strcmp(cond_reason(conds, AP_COND_ACCEPTED, ""), w->reason) == 0;

	json_decref(ap);
	return ok;
}

/* Wait for the status; the AdmissionPolicy then (a new reference). */
static json_t *expect_status(long long generation, const char *accepted, const char *reason)
{
	struct want_status w = {generation, accepted, reason};
	json_t *ap;

	if (!kubetest_wait_for(status_is, &w, WAIT_LIMIT)) {
		ap = get_ap();
		fail_msg("want generation %lld Accepted=%s/%s; status: %s", generation, accepted, reason,
			 json_dumps(json_object_get(ap, "status"), JSON_COMPACT));
	}
	ap = get_ap();
	assert_non_null(ap);
	return ap;
}

static bool configmap_at(void *arg)
{
	json_t *doc = configmap_policy();
	bool ok = json_path_int(doc, "metadata.generation", 0) == *(long long *)arg;

	json_decref(doc);
	return ok;
}

/* The number of Events of reason about the AdmissionPolicy (in "default": it has no namespace). */
static size_t events_of(const char *reason)
{
	json_t *list = NULL, *e;
	size_t i, n = 0;

	if (kube_list(env.client, &events, "default", NULL, &list, NULL))
		return 0;
	json_array_foreach(json_object_get(list, "items"), i, e)
	{
		if (strcmp(json_path_str(e, "regarding.name", ""), env.name) == 0 &&
		    strcmp(json_path_str(e, "reason", ""), reason) == 0)
			n++;
	}
	json_decref(list);
	return n;
}

static bool has_invalid_event(void *arg)
{
	(void)arg;
	return events_of(AP_REASON_INVALID) > 0;
}

/* ---- setup ---- */

static int setup_cluster(void)
{
	const char *r = getenv("SAQR_ROOT");
	char crd[1024];
	json_t *ns = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata",
			       "name", env.ns),
	       *cm = json_pack("{s:s, s:s, s:{s:s}, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
			       "metadata", "name", CM_NAME, "data", AP_CONFIGMAP_KEY, initial_policy);
	struct kube_write_opts wo = {0};
	int rc = kube_create(env.client, &namespaces, NULL, ns, &wo, NULL, NULL);

	if (rc == 0)
		rc = kube_create(env.client, &configmaps, env.ns, cm, &wo, NULL, NULL);
	json_decref(ns);
	json_decref(cm);
	snprintf(crd, sizeof(crd), "%s/crds/saqr.dev_admissionpolicies.yaml", r ? r : ".");
	if (rc || kubetest_kubectl((const char *const[]){"apply", "--server-side", "-f", crd, NULL}) ||
	    kubetest_kubectl((const char *const[]){"wait", "--for=condition=established", "--timeout=60s",
						   "crd/admissionpolicies.saqr.dev", NULL}))
		return -1;
	return 0;
}

static int start_manager(void)
{
	struct manager_config mc = {.identity = "admissionpolicy-test", .compact_cache = true};
	struct ap_config ac = {.name = env.name, .configmap_namespace = env.ns, .configmap_name = CM_NAME};

	if (manager_new(&env.ops, &mc, &env.mgr))
		return -1;
	env.ctx.mgr = env.mgr;
	env.ctx.client = env.client;
	env.ctx.ops = manager_kubeops(env.mgr);
	env.ctx.events = manager_events(env.mgr);
	env.ctx.own_namespace = env.ns;
	env.ctx.workers = 1;
	if (operator_register_admissionpolicy(&env.ctx, &ac) || manager_start(env.mgr))
		return -1;
	return 0;
}

static int setup(void **state)
{
	(void)state;
	if (kubetest_connect(&env.client))
		return -1;
	kubeops_init_kube(&env.ops, env.client, NULL, NULL);
	snprintf(env.ns, sizeof(env.ns), "saqr-ap-%ld", (long)getpid());
	snprintf(env.name, sizeof(env.name), "saqr-ap-%ld", (long)getpid());
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
	operator_release(&env.ctx);
	kube_delete(env.client, &ap_resource, NULL, env.name, NULL, NULL);
	kube_delete(env.client, &namespaces, NULL, env.ns, NULL, NULL);
	kube_client_free(env.client);
	return 0;
}

/* ---- tests ---- */

static void test_valid_policy_is_written_and_accepted(void **state)
{
	json_t *ap =
	    json_pack("{s:s, s:s, s:{s:s}, s:{s:{s:s}, s:{s:b, s:[s]}}}", "apiVersion", AP_API_VERSION,
		      "kind", AP_KIND, "metadata", "name", env.name, "spec", "podSecurity", "enforcement",
		      "warn", "zeroTrust", "enabled", 1, "allowedRegistries", "ghcr.io/acme");
	struct kube_write_opts wo = {0};
	struct kube_status st = {0};
	long long one = 1;
	const json_t *entry;
	json_t *doc;
	char *text;
	struct policy *p = NULL;
	char err[512] = "";

	(void)state;
	if (kube_create(env.client, &ap_resource, NULL, ap, &wo, NULL, &st))
		fail_msg("create: %s", st.message);
	json_decref(ap);
	ap = expect_status(1, COND_TRUE, AP_REASON_LOADED);
	entry = ap_loaded_entry(json_object_get(ap, "status"), AP_LOADER_OPERATOR);
	assert_non_null(entry);
	assert_int_equal(json_path_int(entry, "generation", 0), 1);
	assert_true(json_path_bool(entry, "accepted", false, NULL));
	assert_true(kubetest_wait_for(configmap_at, &one, WAIT_LIMIT));
	doc = configmap_policy();
	assert_true(json_equal(json_object_get(doc, "spec"), json_object_get(ap, "spec")));
	assert_string_equal(json_path_str(doc, "metadata.name", ""), env.name);
	/* The file the webhook and the audit will read loads. */
	text = json_dumps(doc, 0);
	assert_int_equal(policy_load_buffer(text, strlen(text), "policy.yaml", &p, err, sizeof(err)), 0);
	policy_free(p);
	free(text);
	json_decref(doc);
	json_decref(ap);
}

/* Types are the CRD's: the API server refuses a wrong one, naming the field, before any reconcile. */
static void test_wrong_type_is_refused_by_the_api_server(void **state)
{
	json_t *patch = json_pack("{s:{s:{s:s}}}", "spec", "zeroTrust", "enabled", "yes");
	struct kube_write_opts wo = {0};
	struct kube_status st = {0};
	int rc =
	    kube_patch(env.client, &ap_resource, NULL, env.name, KUBE_PATCH_MERGE, patch, &wo, NULL, &st);

	(void)state;
	json_decref(patch);
	assert_int_equal(rc, SAQR_EINVALID);
	if (!strstr(st.message, "spec.zeroTrust.enabled"))
		fail_msg("the refusal does not name the field: %s", st.message);
}

/* What only the loader knows (a typo kept by x-kubernetes-preserve-unknown-fields): refused in the
 * status with the field named; the ConfigMap keeps generation 1. */
static void test_invalid_policy_is_refused_and_last_good_stays(void **state)
{
	long long one = 1;
	const json_t *entry;
	const char *msg;
	json_t *ap, *doc;

	(void)state;
	merge_patch_ap(json_pack("{s:{s:{s:b}}}", "spec", "zeroTrust", "requireDigets", 1));
	ap = expect_status(2, COND_FALSE, AP_REASON_INVALID);
	msg = cond_message(json_path(ap, "status.conditions"), AP_COND_ACCEPTED, "");
	if (!strstr(msg, "generation 2 refused: spec.zeroTrust.requireDigets: unknown field") ||
	    !strstr(msg, "the last good policy stays in force (generation 1 in ConfigMap"))
		fail_msg("message: %s", msg);
	entry = ap_loaded_entry(json_object_get(ap, "status"), AP_LOADER_OPERATOR);
	assert_int_equal(json_path_int(entry, "generation", 0), 1);
	assert_false(json_path_bool(entry, "accepted", true, NULL));
	assert_true(kubetest_wait_for(has_invalid_event, NULL, WAIT_LIMIT));
	assert_true(configmap_at(&one));
	doc = configmap_policy();
	assert_null(json_path(doc, "spec.zeroTrust.requireDigets"));
	json_decref(doc);
	json_decref(ap);
	/* Another loader-only error: a duration that is not ISO-8601. */
	merge_patch_ap(
	    json_pack("{s:{s:n, s:{s:s}}}", "spec", "zeroTrust", "compliance", "maxRetention", "1y"));
	ap = expect_status(3, COND_FALSE, AP_REASON_INVALID);
	msg = cond_message(json_path(ap, "status.conditions"), AP_COND_ACCEPTED, "");
	if (!strstr(msg, "spec.compliance.maxRetention: \"1y\" is not a positive ISO-8601 duration"))
		fail_msg("message: %s", msg);
	assert_true(configmap_at(&one));
	json_decref(ap);
}

static void test_fixed_policy_is_accepted_again(void **state)
{
	long long four = 4;
	const json_t *entry;
	json_t *ap, *doc;

	(void)state;
	merge_patch_ap(json_pack("{s:{s:{s:s}, s:{s:b}}}", "spec", "compliance", "maxRetention", "P30D",
				 "zeroTrust", "requireDigest", 1));
	ap = expect_status(4, COND_TRUE, AP_REASON_LOADED);
	entry = ap_loaded_entry(json_object_get(ap, "status"), AP_LOADER_OPERATOR);
	assert_int_equal(json_path_int(entry, "generation", 0), 4);
	assert_true(json_path_bool(entry, "accepted", false, NULL));
	assert_true(kubetest_wait_for(configmap_at, &four, WAIT_LIMIT));
	doc = configmap_policy();
	assert_string_equal(json_path_str(doc, "spec.compliance.maxRetention", ""), "P30D");
	assert_true(json_path_bool(doc, "spec.zeroTrust.requireDigest", false, NULL));
	json_decref(doc);
	json_decref(ap);
}

struct want_entry {
	const char *name;
	long long generation;
	bool accepted;
	const char *message_part;
};

static bool entry_is(void *arg)
{
	const struct want_entry *w = arg;
	json_t *ap = get_ap();
	const json_t *e = ap_loaded_entry(json_object_get(ap, "status"), w->name);
	bool ok = e && json_path_int(e, "generation", -1) == w->generation &&
		  json_path_bool(e, "accepted", !w->accepted, NULL) == w->accepted &&
		  strstr(json_path_str(e, "message", ""), w->message_part);

	json_decref(ap);
	return ok;
}

static void expect_entry(const char *name, long long generation, bool accepted, const char *message_part)
{
	struct want_entry w = {name, generation, accepted, message_part};
	json_t *ap;

	if (kubetest_wait_for(entry_is, &w, WAIT_LIMIT))
		return;
	ap = get_ap();
	fail_msg("want %s at generation %lld (accepted %d, \"%s\"); status: %s", name, generation, accepted,
		 message_part, json_dumps(json_object_get(ap, "status"), JSON_COMPACT));
}

/* The policy file as the webhook pod has it mounted: the ConfigMap's policy.yaml. */
static char *write_mounted_file(void)
{
	json_t *doc = configmap_policy();
	char *text = json_dumps(doc, JSON_INDENT(2)), *path = NULL;

	assert_non_null(text);
	assert_int_equal(kubetest_write_temp(text, strlen(text), &path), 0);
	free(text);
	json_decref(doc);
	return path;
}

/* Each webhook pod applies its own entry (field manager saqr-webhook/<pod>); the operator's
 * applies of its entry leave them alone, and theirs leave the operator's. */
static void test_webhook_pods_report_their_own_entries(void **state)
{
	char *file = write_mounted_file();
	struct apstatus_config c = {
	    .client = env.client, .resource = env.name, .policy_file = file, .retry = 0.2};
	struct apstatus *a = NULL, *b = NULL;
	json_t *ap;

	(void)state;
	c.pod = "pod-a";
	assert_int_equal(apstatus_new(&c, &a), 0);
	c.pod = "pod-b";
	assert_int_equal(apstatus_new(&c, &b), 0);
	apstatus_note(a, true, NULL);
	apstatus_note(b, true, NULL);
	expect_entry("saqr-webhook/pod-a", 4, true, "loaded ");
	expect_entry("saqr-webhook/pod-b", 4, true, "loaded ");
	apstatus_note(b, false, "spec.podSecurity.level: \"strict\" is not one of baseline, restricted");
	expect_entry("saqr-webhook/pod-b", 4, false,
		     "reload refused, generation 4 stays: spec.podSecurity.level");
	expect_entry("saqr-webhook/pod-a", 4, true, "loaded ");
	expect_entry(AP_LOADER_OPERATOR, 4, true, "written to ConfigMap");
	/* A new generation: the operator applies its entry again; the pods' entries stay theirs. */
	merge_patch_ap(json_pack("{s:{s:{s:s}}}", "spec", "podSecurity", "level", "baseline"));
	ap = expect_status(5, COND_TRUE, AP_REASON_LOADED);
	json_decref(ap);
	expect_entry(AP_LOADER_OPERATOR, 5, true, "written to ConfigMap");
	expect_entry("saqr-webhook/pod-a", 4, true, "loaded ");
	expect_entry("saqr-webhook/pod-b", 4, false, "reload refused");
	apstatus_free(a);
	apstatus_free(b);
	unlink(file);
	free(file);
}

/* Replace path with the mounted document at another generation (a new inode, as the kubelet's
 * ConfigMap volume swap). */
static void set_file_generation(const char *path, long long generation)
{
	json_t *doc = configmap_policy();
	char tmp[1100], *text;

	assert_non_null(doc);
	json_object_set_new(json_object_get(doc, "metadata"), "generation", json_integer(generation));
	text = json_dumps(doc, JSON_INDENT(2));
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	assert_int_equal(kubetest_write("", tmp, text), 0);
	assert_int_equal(rename(tmp, path), 0);
	free(text);
	json_decref(doc);
}

/* The real saqr-webhook with --policy-resource reports its first load and each reload. */
static void test_saqr_webhook_reports_its_loads(void **state)
{
	const char *dir = getenv("SAQR_SAN_BIN");
	char bin[600], log[700], *file = write_mounted_file();
	const char *argv[] = {bin,	   "--policy-file", file, "--policy-resource", env.name, "--address",
			      "127.0.0.1", "--port",	    "0",  "--log-level",       "warn",	 NULL};
	const char *envs[] = {"POD_NAME=pod-c", NULL};
	struct proc p = {0};

	(void)state;
	if (!dir)
		skip();
	snprintf(bin, sizeof(bin), "%s/saqr-webhook", dir);
	snprintf(log, sizeof(log), "%s.log", file);
	assert_int_equal(proc_start(&p, argv, envs, log), 0);
	expect_entry("saqr-webhook/pod-c", 5, true, "loaded ");
	set_file_generation(file, 6);
	expect_entry("saqr-webhook/pod-c", 6, true, "loaded ");
	assert_int_equal(proc_stop(&p, SIGTERM, 10000), 0);
	assert_int_equal(p.exit_code, 0); /* and no leak: ASan would say otherwise */
	unlink(log);
	unlink(file);
	free(file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_policy_is_written_and_accepted),
	    cmocka_unit_test(test_wrong_type_is_refused_by_the_api_server),
	    cmocka_unit_test(test_invalid_policy_is_refused_and_last_good_stays),
	    cmocka_unit_test(test_fixed_policy_is_accepted_again),
	    cmocka_unit_test(test_webhook_pods_report_their_own_entries),
	    cmocka_unit_test(test_saqr_webhook_reports_its_loads),
	};

	return cmocka_run_group_tests_name("admissionpolicy (integration)", tests, setup, teardown);
}
