/* Integration tests for the pure reconcilers against a real kube-apiserver (through kubectl):
 * every desired object is accepted by server-side apply, a second apply of the same objects is a
 * no-op (resourceVersion unchanged), and the status functions read what the API server returns
 * after the tests play the controllers' part by patching the status subresource.
 * Needs KUBECONFIG and SAQR_TOOLS_BIN (hack/run-tests.sh sets them). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../support/opfixture.h"
#include "common/buf.h"
#include "common/jsonutil.h"
#include "operator/conditions.h"
#include "operator/modeldeployment/modeldeployment.h"
#include "operator/trainingjob/trainingjob.h"

#define NS "saqr-it-reconcile"
#define OUT_MAX (8u << 20)
#define T0 "2024-05-02T08:00:00Z"
#define T1 "2024-05-02T09:00:00Z"
#define S(obj, path) json_path_str((obj), (path), "<missing>")

static char kubectl_bin[1024];
static char tmpdir[] = "/tmp/saqr-reconcile-XXXXXX";

/* Run "kubectl <args>" (args are fixed strings and paths under tmpdir: no quoting needed).
 * stdout is parsed into *out when it is not NULL and kubectl succeeded; stderr goes to err. */
static int kubectl(const char *args, struct buf *err, json_t **out)
{
	char cmd[4096], errpath[512], chunk[8192];
	struct buf o;
	FILE *p, *e;
	size_t n;
	int status;

	snprintf(errpath, sizeof(errpath), "%s/stderr", tmpdir);
	snprintf(cmd, sizeof(cmd), "%s %s 2>%s", kubectl_bin, args, errpath);
	buf_init(&o, OUT_MAX);
	p = popen(cmd, "r");
	assert_non_null(p);
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
		assert_int_equal(buf_add(&o, chunk, n), 0);
	status = pclose(p);
	e = fopen(errpath, "r");
	while (e && err && (n = fread(chunk, 1, sizeof(chunk), e)) > 0)
		buf_add(err, chunk, n);
	if (e)
		fclose(e);
	status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	if (out)
		*out = status == 0 ? json_loads(buf_str(&o), 0, NULL) : NULL;
	buf_release(&o);
	return status;
}

static const char *write_tmp(const char *name, const json_t *v)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	assert_int_equal(json_dump_file(v, path, JSON_INDENT(1)), 0);
	return path;
}

/* Server-side apply obj as the operator would; returns the object the server answers. */
static json_t *apply(const json_t *obj, struct buf *err, int *code)
{
	char args[1024];
	json_t *out = NULL;

	snprintf(args, sizeof(args),
		 "apply --server-side --force-conflicts --field-manager=saqr-operator -o json -f %s",
		 write_tmp("obj.json", obj));
	*code = kubectl(args, err, &out);
	return out;
}

static json_t *apply_ok(const json_t *obj)
{
	struct buf err;
	int code;
	json_t *out;

	buf_init(&err, OUT_MAX);
	out = apply(obj, &err, &code);
	if (code != 0 || !out)
		fail_msg("apply of %s %s failed (%d): %s", S(obj, "kind"), S(obj, "metadata.name"), code,
			 buf_str(&err));
	buf_release(&err);
	return out;
}

static json_t *patch_status(const char *kind, const char *name, json_t *status)
{
	char args[1024];
	json_t *patch = json_pack("{s:o}", "status", status), *out = NULL;
	struct buf err;

	buf_init(&err, OUT_MAX);
	snprintf(args, sizeof(args),
		 "patch %s %s -n %s --subresource=status --type=merge -o json --patch-file %s", kind, name,
		 NS, write_tmp("patch.json", patch));
	if (kubectl(args, &err, &out) != 0 || !out)
		fail_msg("status patch of %s %s failed: %s", kind, name, buf_str(&err));
	buf_release(&err);
	json_decref(patch);
	return out;
}

static json_t *load_into_ns(const char *fixture)
{
	json_t *v = opfix_load(fixture);

	assert_non_null(v);
	assert_int_equal(json_object_set_new(json_object_get(v, "metadata"), "namespace", json_string(NS)),
			 0);
	return v;
}

/* Apply every APPLY entry twice: accepted, and the second apply changes nothing. */
static void apply_twice(struct objmeta_owned *owned, int count, json_t **first)
{
	for (int i = 0; i < count; i++) {
		json_t *a, *b;

		first[i] = NULL;
		if (owned[i].action != OBJMETA_APPLY)
			continue;
		a = apply_ok(owned[i].obj);
		b = apply_ok(owned[i].obj);
		assert_string_equal(S(a, "metadata.name"), owned[i].name);
		assert_string_equal(S(a, "metadata.resourceVersion"), S(b, "metadata.resourceVersion"));
		json_decref(b);
		first[i] = a;
	}
}

static void free_all(json_t **objs, int count)
{
	for (int i = 0; i < count; i++)
		json_decref(objs[i]);
}

static int setup(void **state)
{
	const char *bin = getenv("SAQR_TOOLS_BIN");
	json_t *ns;

	(void)state;
	snprintf(kubectl_bin, sizeof(kubectl_bin), "%s%skubectl", bin ? bin : "", bin ? "/" : "");
	if (!getenv("KUBECONFIG") || !mkdtemp(tmpdir)) {
		fprintf(stderr, "test_reconcile_apply: needs KUBECONFIG and a writable /tmp\n");
		return -1;
	}
	ns =
	    json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata", "name", NS);
	json_decref(apply_ok(ns));
	json_decref(ns);
	/* start from an empty namespace when a cluster is reused (a namespace never finishes
	 * deleting without a controller-manager, its objects do) */
	return kubectl("delete deployments,services,jobs,horizontalpodautoscalers,poddisruptionbudgets,"
		       "networkpolicies --all --wait=false -n " NS,
		       NULL, NULL) == 0
		   ? 0
		   : -1;
}

static int teardown(void **state)
{
	char cmd[600];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* The Deployment controller's part: the rollout of the current generation is complete. */
static json_t *rolled_out(const json_t *dep, long long replicas)
{
	return json_pack(
	    "{s:I, s:I, s:I, s:I, s:I, s:[{s:s, s:s, s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s, s:s, s:s}]}",
	    "observedGeneration", (json_int_t)json_path_int(dep, "metadata.generation", 0), "replicas",
	    (json_int_t)replicas, "updatedReplicas", (json_int_t)replicas, "readyReplicas",
	    (json_int_t)replicas, "availableReplicas", (json_int_t)replicas, "conditions", "type",
	    "Available", "status", "True", "reason", "MinimumReplicasAvailable", "message",
	    "Deployment has minimum availability.", "lastUpdateTime", T0, "lastTransitionTime", T0, "type",
	    "Progressing", "status", "True", "reason", "NewReplicaSetAvailable", "message",
	    "ReplicaSet has successfully progressed.", "lastUpdateTime", T0, "lastTransitionTime", T0);
}

static void test_md_objects_apply_and_status(void **state)
{
	json_t *md = load_into_ns("md_fraud.json"), *applied[MD_OWNED_COUNT], *dep, *st = NULL, *again;
	struct md_observed obs = {0};
	struct md_desired d;
	long long gen;
	struct buf err;

	(void)state;
	assert_int_equal(md_desired(md, NULL, &d), 0);
	apply_twice(d.owned, MD_OWNED_COUNT, applied);
	/* what the server stored keeps Saqr's env order and hardening */
	assert_string_equal(S(applied[MD_OWNED_DEPLOYMENT], "spec.template.spec.containers.0.env.0.name"),
			    "SAQR_MODEL_URI");
	assert_true(json_is_false(
	    json_path(applied[MD_OWNED_DEPLOYMENT],
		      "spec.template.spec.containers.0.securityContext.allowPrivilegeEscalation")));
	/* objects meant to be absent were never created */
	buf_init(&err, OUT_MAX);
	assert_int_not_equal(kubectl("get hpa fraud -n " NS, &err, NULL), 0);
	assert_non_null(strstr(buf_str(&err), "NotFound"));
	buf_release(&err);

	/* the Deployment controller finishes the rollout; md_status reads the server's object */
	gen = json_path_int(applied[MD_OWNED_DEPLOYMENT], "metadata.generation", 0);
	dep = patch_status("deployment", "fraud", rolled_out(applied[MD_OWNED_DEPLOYMENT], 3));
	obs.deployment = dep;
	assert_int_equal(md_status(md, &obs, T0, &st), 0);
	assert_true(cond_has_status(json_object_get(st, "conditions"), "Ready", COND_TRUE));
	assert_string_equal(S(st, "currentModel.version"), "1.4.0");
	assert_string_equal(S(st, "url"), "https://fraud." NS ".svc:8080");
	json_object_set_new(md, "status", st);
	json_decref(dep);

	/* a new model version: the apply bumps the Deployment's generation, not yet observed */
	md_desired_release(&d);
	json_object_set_new(json_path(md, "spec.model"), "version", json_string("1.5.0"));
	json_object_set_new(json_path(md, "spec.model"), "uri", json_string("s3://saqr-models/fraud/1.5.0/"));
	json_object_del(json_path(md, "spec.model"), "digest");
	assert_int_equal(md_desired(md, NULL, &d), 0);
	dep = apply_ok(d.owned[MD_OWNED_DEPLOYMENT].obj);
	assert_int_equal(json_path_int(dep, "metadata.generation", 0), gen + 1);
	obs.deployment = dep;
	assert_int_equal(md_status(md, &obs, T1, &again), 0);
	assert_true(cond_has_status(json_object_get(again, "conditions"), "Ready", COND_FALSE));
	assert_string_equal(cond_reason(json_object_get(again, "conditions"), "Ready", ""), "RollingOut");
	assert_string_equal(S(again, "currentModel.version"), "1.4.0"); /* still serving */
	json_decref(again);
	json_decref(dep);
	free_all(applied, MD_OWNED_COUNT);
	md_desired_release(&d);
	json_decref(md);
}

static void test_md_canary_hpa_pdb_apply(void **state)
{
	json_t *md = load_into_ns("md_ranker_canary.json"), *applied[MD_OWNED_COUNT];
	struct md_desired d;

	(void)state;
	assert_int_equal(md_desired(md, NULL, &d), 0);
	for (int i = 0; i < MD_OWNED_COUNT; i++)
		assert_int_equal(d.owned[i].action, OBJMETA_APPLY);
	apply_twice(d.owned, MD_OWNED_COUNT, applied);
	assert_string_equal(S(applied[MD_OWNED_HPA], "apiVersion"), "autoscaling/v2");
	assert_int_equal(json_path_int(applied[MD_OWNED_HPA], "spec.minReplicas", 0), 3);
	/* the primary leaves replicas to the HPA: the server defaults it, Saqr does not own it */
	assert_int_equal(json_path_int(applied[MD_OWNED_DEPLOYMENT], "spec.replicas", 0), 1);
	assert_int_equal(json_path_int(applied[MD_OWNED_CANARY], "spec.replicas", 0), 1);
	free_all(applied, MD_OWNED_COUNT);
	md_desired_release(&d);
	json_decref(md);
}

/* Why md_validate refuses repeated env names: server-side apply rejects them. */
static void test_ssa_refuses_duplicate_env(void **state)
{
	json_t *md = load_into_ns("md_fraud.json"), *env, *out;
	struct md_desired d;
	struct buf err;
	int code;

	(void)state;
	json_object_set_new(json_object_get(md, "metadata"), "name", json_string("dup-env"));
	assert_int_equal(md_desired(md, NULL, &d), 0);
	env = json_path(d.owned[MD_OWNED_DEPLOYMENT].obj, "spec.template.spec.containers.0.env");
	json_array_append_new(env, json_pack("{s:s, s:s}", "name", "LOG_LEVEL", "value", "debug"));
	buf_init(&err, OUT_MAX);
	out = apply(d.owned[MD_OWNED_DEPLOYMENT].obj, &err, &code);
	assert_int_not_equal(code, 0);
	assert_null(out);
	if (!strstr(buf_str(&err), "duplicate"))
		fail_msg("unexpected error: %s", buf_str(&err));
	buf_release(&err);
	md_desired_release(&d);
	json_decref(md);
}

static void test_tj_objects_apply_and_status(void **state)
{
	json_t *tj = load_into_ns("tj_fraud.json"), *applied[TJ_OWNED_COUNT], *job, *st = NULL;
	struct tj_observed obs = {0};
	struct tj_desired d;

	(void)state;
	assert_int_equal(tj_desired(tj, &d), 0);
	apply_twice(d.owned, TJ_OWNED_COUNT, applied);
	assert_string_equal(S(applied[TJ_OWNED_JOB], "spec.completionMode"), "Indexed");
	assert_string_equal(S(applied[TJ_OWNED_SERVICE], "spec.clusterIP"), "None");

	job = patch_status(
	    "job", "fraud-train",
	    json_pack("{s:s, s:i, s:i}", "startTime", "2024-05-01T10:00:05Z", "active", 4, "ready", 4));
	obs.job = job;
	assert_int_equal(tj_status(tj, &obs, T0, &st), 0);
	assert_true(cond_has_status(json_object_get(st, "conditions"), "Running", COND_TRUE));
	assert_int_equal(json_path_int(st, "active", 0), 4);
	json_decref(st);
	json_decref(job);

	job = patch_status(
	    "job", "fraud-train",
	    json_pack("{s:i, s:i, s:i, s:s, s:s, s:[{s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s}]}", "active",
		      0, "ready", 0, "succeeded", 4, "completedIndexes", "0-3", "completionTime",
		      "2024-05-01T14:31:52Z", "conditions", "type", "SuccessCriteriaMet", "status", "True",
		      "reason", "CompletionsReached", "message", "Reached expected number of succeeded pods",
		      "type", "Complete", "status", "True", "reason", "CompletionsReached", "message",
		      "Reached expected number of succeeded pods"));
	obs.job = job;
	assert_int_equal(tj_status(tj, &obs, T1, &st), 0);
	assert_true(tj_finished(st));
	assert_true(tj_promotion_pending(tj, st));
	assert_string_equal(S(st, "outputModel.version"), "1.5.0");
	json_decref(st);
	json_decref(job);
	free_all(applied, TJ_OWNED_COUNT);
	tj_desired_release(&d);
	json_decref(tj);
}

/* A running Job's pod template is immutable: the apply fails and the status says so. */
static void test_tj_changed_template_is_refused(void **state)
{
	json_t *tj = load_into_ns("tj_fraud.json"), *out, *job, *st = NULL;
	struct tj_observed obs = {0};
	struct tj_desired d;
	struct buf err;
	int code;

	(void)state;
	json_object_set_new(json_object_get(tj, "metadata"), "name", json_string("tf-train"));
	json_object_set_new(json_object_get(tj, "spec"), "distributed",
			    json_pack("{s:s, s:i}", "framework", "tensorflow", "port", 2222));
	assert_int_equal(tj_desired(tj, &d), 0);
	job = apply_ok(d.owned[TJ_OWNED_JOB].obj);
	json_decref(apply_ok(d.owned[TJ_OWNED_SERVICE].obj));
	tj_desired_release(&d);
	json_object_set_new(json_path(tj, "spec.env.0"), "value", json_string("20"));
	assert_int_equal(tj_desired(tj, &d), 0);
	buf_init(&err, OUT_MAX);
	out = apply(d.owned[TJ_OWNED_JOB].obj, &err, &code);
	assert_int_not_equal(code, 0);
	assert_null(out);
	if (!strstr(buf_str(&err), "immutable"))
		fail_msg("unexpected error: %s", buf_str(&err));
	obs.job = job;
	obs.apply_error = buf_str(&err);
	assert_int_equal(tj_status(tj, &obs, T0, &st), 0);
	assert_string_equal(cond_reason(json_object_get(st, "conditions"), "Ready", ""), "ApplyFailed");
	json_decref(st);
	buf_release(&err);
	json_decref(job);
	tj_desired_release(&d);
	json_decref(tj);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_md_objects_apply_and_status),
	    cmocka_unit_test(test_md_canary_hpa_pdb_apply),
	    cmocka_unit_test(test_ssa_refuses_duplicate_env),
	    cmocka_unit_test(test_tj_objects_apply_and_status),
	    cmocka_unit_test(test_tj_changed_template_is_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
