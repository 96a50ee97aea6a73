/* Integration tests for saqr-operator (build/san/bin/saqr-operator, run as a process) against
 * the real local kube-apiserver: the CRDs are applied, each kind is created and its owned
 * objects are checked field by field; spec changes, removed autoscaling/canary and hand edits
 * are followed; the tests play the missing controllers by patching Deployment and Job status and
 * watch the custom resources' status follow; a succeeded TrainingJob promotes its model once;
 * invalid specs are reported; no writes happen in a quiet window after convergence; a standby
 * with --leader-elect takes over when the leader stops, and a leader that loses its Lease exits
 * 1; the operator recovers from an API server restart.
 * Needs KUBECONFIG, SAQR_ROOT, SAQR_TOOLS_BIN, SAQR_SAN_BIN and SAQR_CLUSTER_DIR
 * (hack/run-tests.sh sets them). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../support/kubetest.h"
#include "../support/proc.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/jsonutil.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"

#define WAIT_LIMIT 90.0 /* seconds before a wait gives up: generous, never a measure */
#define QUIET_WINDOW 20 /* seconds without writes after convergence */
#define DIGEST "sha256:abababababababababababababababababababababababababababababababab"
#define TRAINED_DIGEST "sha256:9befe7b03298f6103c3108be73410c344934f3a5fe5397d4c632c6d6ff2a6af9"
#define S(obj, path) json_path_str((obj), (path), "<missing>")
#define I(obj, path) json_path_int((obj), (path), -12345)

static const struct kube_resource r_ns = {"", "v1", "namespaces", false};
static const struct kube_resource r_md = {"saqr.dev", "v1alpha1", "modeldeployments", true};
static const struct kube_resource r_tj = {"saqr.dev", "v1alpha1", "trainingjobs", true};
static const struct kube_resource r_dep = {"apps", "v1", "deployments", true};
static const struct kube_resource r_svc = {"", "v1", "services", true};
static const struct kube_resource r_hpa = {"autoscaling", "v2", "horizontalpodautoscalers", true};
static const struct kube_resource r_np = {"networking.k8s.io", "v1", "networkpolicies", true};
static const struct kube_resource r_pdb = {"policy", "v1", "poddisruptionbudgets", true};
static const struct kube_resource r_job = {"batch", "v1", "jobs", true};
static const struct kube_resource r_pod = {"", "v1", "pods", true};
static const struct kube_resource r_ev = {"events.k8s.io", "v1", "events", true};
static const struct kube_resource r_lease = {"coordination.k8s.io", "v1", "leases", true};

struct env {
	struct kube_client *c;
	char ns[64], ns_le[64];
	char *dir;
	char operator_bin[1024], kubectl[1024], root[1024];
	struct proc op; /* the main operator, watching ns */
	long port;
};

static struct env env;

/* ---- time ---- */

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

/* ---- API helpers ---- */

static json_t *get_obj(const struct kube_resource *res, const char *ns, const char *name)
{
	json_t *obj = NULL;

	return kube_get(env.c, res, ns, name, &obj, NULL) == 0 ? obj : NULL;
}

static void create_obj(const struct kube_resource *res, const char *ns, json_t *obj)
{
	struct kube_write_opts wo = {0};
	struct kube_status st = {0};
	int rc = kube_create(env.c, res, ns, obj, &wo, NULL, &st);

	if (rc)
		fail_msg("create %s %s: %s: %s", res->resource, S(obj, "metadata.name"), saqr_strerror(rc),
			 st.message);
	json_decref(obj);
}

/* create_obj, retrying while the connection to a restarted API server is re-established. */
static void create_retrying(const struct kube_resource *res, const char *ns, json_t *obj)
{
	struct kube_write_opts wo = {0};
	double deadline = now_mono() + WAIT_LIMIT;
	struct kube_status st = {0};
	int rc;

	while ((rc = kube_create(env.c, res, ns, obj, &wo, NULL, &st)) == SAQR_ETRANSPORT &&
	       now_mono() < deadline)
		pause_ms(200);
	if (rc)
		fail_msg("create %s %s: %s: %s", res->resource, S(obj, "metadata.name"), saqr_strerror(rc),
			 st.message);
	json_decref(obj);
}

/* Patch (merge or JSON patch) as a person would, under the field manager "hand"; status
 * true patches the status subresource. */
static void patch_obj(const struct kube_resource *res, const char *ns, const char *name,
		      enum kube_patch_type type, json_t *patch, bool status)
{
	struct kube_write_opts wo = {.field_manager = "hand", .subresource = status ? "status" : NULL};
	struct kube_status st = {0};
	int rc = kube_patch(env.c, res, ns, name, type, patch, &wo, NULL, &st);

	if (rc)
		fail_msg("patch %s %s: %s: %s", res->resource, name, saqr_strerror(rc), st.message);
	json_decref(patch);
}

/* The value at path as text ("" when absent): strings as they are, numbers and booleans
 * printed. "cond:Type.field" reads the status condition of that type. */
static const char *text_at(const json_t *obj, const char *path, char *buf, size_t len)
{
	const json_t *v;

	if (strncmp(path, "cond:", 5) == 0) {
		char type[64];
		const char *dot = strchr(path + 5, '.');
		size_t i;
		json_t *c;

		snprintf(type, sizeof(type), "%.*s", dot ? (int)(dot - path - 5) : 0, path + 5);
		v = NULL;
		json_array_foreach(json_path(obj, "status.conditions"), i,
				   c) if (strcmp(S(c, "type"), type) == 0) v =
		    json_object_get(c, dot ? dot + 1 : "status");
	} else {
		v = json_path(obj, path);
	}
	if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false");
	else
		snprintf(buf, len, "%s", v ? "<value>" : "");
	return buf;
}

/* Wait until object name has want at path (want NULL: until the object is absent; path NULL:
 * until it exists). Returns the object (new reference; NULL when waiting for absence). */
static json_t *wait_obj(const struct kube_resource *res, const char *ns, const char *name, const char *path,
			const char *want)
{
	double deadline = now_mono() + WAIT_LIMIT;
	char buf[512] = "";

	for (;;) {
		json_t *obj = get_obj(res, ns, name);

		if (!want && !obj && path)
			return NULL;
		if (obj && (!path || (want && strcmp(text_at(obj, path, buf, sizeof(buf)), want) == 0)))
			return obj;
		if (now_mono() > deadline) {
			if (obj)
				text_at(obj, path ? path : "metadata.name", buf, sizeof(buf));
			json_decref(obj);
			fail_msg("%s %s/%s: %s is \"%s\", waited for \"%s\"", res->resource, ns, name,
				 path ? path : "-", obj ? buf : "(absent)", want ? want : "(absent)");
		}
		json_decref(obj);
		pause_ms(100);
	}
}

static void wait_absent(const struct kube_resource *res, const char *ns, const char *name)
{
	wait_obj(res, ns, name, "metadata.name", NULL);
}

static void expect_text(const json_t *obj, const char *path, const char *want)
{
	char buf[512];

	if (strcmp(text_at(obj, path, buf, sizeof(buf)), want) != 0)
		fail_msg("%s %s: %s is \"%s\", want \"%s\"", S(obj, "kind"), S(obj, "metadata.name"), path,
			 buf, want);
}

/* The env entry name of a container. */
static const json_t *env_of(const json_t *container, const char *name)
{
	size_t i;
	json_t *e;

	json_array_foreach(json_object_get(container, "env"), i,
			   e) if (strcmp(S(e, "name"), name) == 0) return e;
	fail_msg("container %s has no env %s", S(container, "name"), name);
	return NULL;
}

/* Wait for an Event about name with reason (and, when not NULL, a note containing note). */
static void wait_event(const char *ns, const char *name, const char *reason, const char *note)
{
	double deadline = now_mono() + WAIT_LIMIT;

	while (now_mono() < deadline) {
		struct kube_list_opts lo = {0};
		json_t *list = NULL, *ev;
		bool found = false;
		size_t i;

		if (kube_list_all(env.c, &r_ev, ns, &lo, &list, NULL) == 0)
			json_array_foreach(json_object_get(list, "items"), i, ev) found =
			    found ||
			    (strcmp(S(ev, "regarding.name"), name) == 0 &&
			     strcmp(S(ev, "reason"), reason) == 0 && (!note || strstr(S(ev, "note"), note)) &&
			     strcmp(S(ev, "reportingController"), "saqr-operator") == 0);
		json_decref(list);
		if (found)
			return;
		pause_ms(200);
	}
	fail_msg("no Event %s about %s/%s", reason, ns, name);
}

/* ---- the operator's metrics ---- */

static size_t sink(char *p, size_t sz, size_t n, void *ud)
{
	return buf_add(ud, p, sz * n) == 0 ? sz * n : 0;
}

/* GET http://127.0.0.1:port/path into out. The HTTP status, or -1. */
static long http_get(long port, const char *path, struct buf *out)
{
	char url[128];
	CURL *h = curl_easy_init();
	long code = -1;

	snprintf(url, sizeof(url), "http://127.0.0.1:%ld%s", port, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(h);
	return code;
}

/* Sum of the samples of metric whose line contains every one of the (up to 3) parts. */
static double metric(long port, const char *name, const char *part1, const char *part2)
{
	struct buf body;
	const char *line;
	double sum = 0;

	buf_init(&body, 16u << 20);
	assert_int_equal(http_get(port, "/metrics", &body), 200);
	for (line = buf_str(&body); line && *line;
	     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		const char *end = strchr(line, '\n'), *sp;
		char one[1024];

		snprintf(one, sizeof(one), "%.*s", end ? (int)(end - line) : (int)strlen(line), line);
		sp = strrchr(one, ' ');
		if (strncmp(one, name, strlen(name)) != 0 ||
		    (one[strlen(name)] != '{' && one[strlen(name)] != ' ') ||
		    (part1 && !strstr(one, part1)) || (part2 && !strstr(one, part2)) || !sp)
			continue;
		sum += strtod(sp + 1, NULL);
	}
	buf_release(&body);
	return sum;
}

/* Writes the operator made: create, update, patch and delete requests (Events included). */
static double writes(long port)
{
	return metric(port, "saqr_api_requests_total", "verb=\"create\"", NULL) +
	       metric(port, "saqr_api_requests_total", "verb=\"update\"", NULL) +
	       metric(port, "saqr_api_requests_total", "verb=\"patch\"", NULL) +
	       metric(port, "saqr_api_requests_total", "verb=\"delete\"", NULL);
}

/* ---- processes ---- */

static long start_operator(struct proc *p, const char *log_name, const char *const *extra_args,
			   const char *const *env_extra)
{
	const char *argv[24] = {env.operator_bin, "--metrics-addr", "127.0.0.1:0", "--workers", "2"};
	char log[1200];
	int n = 5;

	for (size_t i = 0; extra_args && extra_args[i] && n < 22; i++)
		argv[n++] = extra_args[i];
	argv[n] = NULL;
	snprintf(log, sizeof(log), "%s/%s", env.dir, log_name);
	long port = -1;

	assert_int_equal(proc_start(p, argv, env_extra, log), 0);
	if (proc_log_number(p, "\"port\":\"", 30000, &port) != 0)
		return -1;
	return port;
}

/* SIGTERM and the exit status (fails after WAIT_LIMIT). */
static int stop_operator(struct proc *p)
{
	if (proc_stop(p, SIGTERM, (int)(WAIT_LIMIT * 1000)) != 0)
		fail_msg("the operator did not stop on SIGTERM (log %s)", p->log_path);
	return p->exit_code;
}

static int run_quiet(const char *const argv[])
{
	struct buf out;
	int code = -1, rc;

	buf_init(&out, 1u << 20);
	rc = proc_run(argv, NULL, &out, &code);
	if (rc || code != 0)
		fprintf(stderr, "%s: %s\n", argv[0], buf_str(&out));
	buf_release(&out);
	return rc ? rc : code;
}

/* ---- objects ---- */

static json_t *model(const char *name, const char *version)
{
	char uri[256];

	snprintf(uri, sizeof(uri), "s3://uae-models/%s/%s/model.onnx", name, version);
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "name", name, "version", version, "uri", uri, "format",
			 "onnx", "digest", DIGEST);
}

static json_t *md_obj(const char *ns, const char *name, int replicas)
{
	return json_pack(
	    "{s:s, s:s, s:{s:s, s:s}, s:{s:o, s:{s:s, s:i, s:s, s:[{s:s, s:s}], s:{s:{s:s}}}, s:i, "
	    "s:{s:s, s:s, s:[s]}, s:{s:{s:s}}}}",
	    "apiVersion", "saqr.dev/v1alpha1", "kind", "ModelDeployment", "metadata", "name", name,
	    "namespace", ns, "spec", "model", model(name, "v1"), "server", "image",
	    "registry.example.ae/ml/onnx-server:1.18", "port", 8080, "readinessPath", "/v2/health/ready",
	    "env", "name", "LOG_LEVEL", "value", "info", "resources", "requests", "cpu", "500m", "replicas",
	    replicas, "security", "serviceAccountName", name, "tlsSecretName", "fraud-tls",
	    "allowedNamespaces", "payments", "scheduling", "nodeSelector", "topology.kubernetes.io/region",
	    "uaenorth");
}

/* A TrainingJob; framework NULL: a single-process job without `distributed`. */
static json_t *tj_obj(const char *name, int replicas, const char *framework)
{
	char out[256];
	json_t *tj;

	snprintf(out, sizeof(out), "s3://uae-models/%s/out/model.onnx", name);
	tj = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:[s], s:[s], s:i, s:{s:s, s:s, s:s}, s:s}}",
		       "apiVersion", "saqr.dev/v1alpha1", "kind", "TrainingJob", "metadata", "name", name,
		       "namespace", env.ns, "spec", "image", "registry.example.ae/ml/trainer:2.3", "command",
		       "torchrun", "args", "train.py", "replicas", replicas, "output", "uri", out, "provider",
		       "aws", "region", "me-central-1", "serviceAccountName", "trainer");
	if (framework)
		json_object_set_new(json_object_get(tj, "spec"), "distributed",
				    json_pack("{s:s, s:i}", "framework", framework, "nprocPerNode", 1));
	return tj;
}

/* The Deployment's status as its controller would write it once the rollout of its current
 * generation is done (ready available replicas). */
static void deployment_rolled_out(const char *ns, const char *name, int ready)
{
	json_t *dep = wait_obj(&r_dep, ns, name, NULL, NULL);
	long long gen = I(dep, "metadata.generation");
	long long want = json_path_int(dep, "spec.replicas", 1);

	json_decref(dep);
	patch_obj(&r_dep, ns, name, KUBE_PATCH_MERGE,
		  json_pack("{s:{s:I, s:I, s:I, s:i, s:i, s:[{s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s}]}}",
			    "status", "observedGeneration", (json_int_t)gen, "replicas", (json_int_t)want,
			    "updatedReplicas", (json_int_t)want, "readyReplicas", ready, "availableReplicas",
			    ready, "conditions", "type", "Available", "status", "True", "reason",
			    "MinimumReplicasAvailable", "message", "Deployment has minimum availability.",
			    "type", "Progressing", "status", "True", "reason", "NewReplicaSetAvailable",
			    "message", "ReplicaSet has successfully progressed."),
		  true);
}

/* Wait until the Deployment's pod template carries model version. */
static void wait_template_version(const char *ns, const char *name, const char *version)
{
	double deadline = now_mono() + WAIT_LIMIT;

	for (;;) {
		json_t *dep = get_obj(&r_dep, ns, name);
		const char *v = json_string_value(json_object_get(
		    json_path(dep, "spec.template.metadata.annotations"), "saqr.dev/model-version"));
		bool done = v && strcmp(v, version) == 0;

		json_decref(dep);
		if (done)
			return;
		if (now_mono() > deadline)
			fail_msg("Deployment %s/%s never got model version %s", ns, name, version);
		pause_ms(100);
	}
}

static void job_started(const char *name, int active)
{
	patch_obj(&r_job, env.ns, name, KUBE_PATCH_MERGE,
		  json_pack("{s:{s:s, s:i, s:i}}", "status", "startTime", "2024-05-01T10:00:05Z", "active",
			    active, "ready", active),
		  true);
}

static void job_succeeded(const char *name, int n)
{
	char indexes[32];

	snprintf(indexes, sizeof(indexes), n > 1 ? "0-%d" : "0", n - 1);
	job_started(name, n);
	patch_obj(&r_job, env.ns, name, KUBE_PATCH_MERGE,
		  json_pack("{s:{s:i, s:i, s:i, s:s, s:s, s:[{s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s}]}}",
			    "status", "active", 0, "ready", 0, "succeeded", n, "completedIndexes", indexes,
			    "completionTime", "2024-05-01T14:31:52Z", "conditions", "type",
			    "SuccessCriteriaMet", "status", "True", "reason", "CompletionsReached", "message",
			    "Reached expected number of succeeded pods", "type", "Complete", "status", "True",
			    "reason", "CompletionsReached", "message",
			    "Reached expected number of succeeded pods"),
		  true);
}

/* The Job's pod of completion index 0, as the Job controller creates it, and its trainer's
 * termination as the kubelet reports it (status subresource): exit 0 with message. */
static void job_pod_terminated(const char *job_name, const char *message)
{
	json_t *job = wait_obj(&r_job, env.ns, job_name, NULL, NULL);
	char pod[128];

	snprintf(pod, sizeof(pod), "%s-0-abcde", job_name);
	create_obj(
	    &r_pod, env.ns,
	    json_pack("{s:s, s:s, s:{s:s, s:{s:s, s:s, s:s}, s:{s:s}, s:[{s:s, s:s, s:s, s:s, s:b, s:b}]}, "
		      "s:{s:s, s:b, s:[{s:s, s:s}]}}",
		      "apiVersion", "v1", "kind", "Pod", "metadata", "name", pod, "labels",
		      "batch.kubernetes.io/job-name", job_name, "job-name", job_name,
		      "batch.kubernetes.io/job-completion-index", "0", "annotations",
		      "batch.kubernetes.io/job-completion-index", "0", "ownerReferences", "apiVersion",
		      "batch/v1", "kind", "Job", "name", job_name, "uid", S(job, "metadata.uid"),
		      "controller", 1, "blockOwnerDeletion", 1, "spec", "restartPolicy", "Never",
		      "automountServiceAccountToken", 0, "containers", "name", "trainer", "image",
		      "registry.example.ae/ml/trainer:2.3"));
	patch_obj(&r_pod, env.ns, pod, KUBE_PATCH_MERGE,
		  json_pack("{s:{s:s, s:[{s:s, s:b, s:i, s:s, s:s, s:{s:{s:i, s:s, s:s, s:s, s:s}}}]}}",
			    "status", "phase", "Succeeded", "containerStatuses", "name", "trainer", "ready",
			    0, "restartCount", 0, "image", "registry.example.ae/ml/trainer:2.3", "imageID",
			    "registry.example.ae/ml/trainer@" DIGEST, "state", "terminated", "exitCode", 0,
			    "reason", "Completed", "message", message, "startedAt", "2024-05-01T10:00:07Z",
			    "finishedAt", "2024-05-01T14:31:50Z"),
		  true);
	json_decref(job);
}

/* ---- setup ---- */

static int make_namespace(const char *name)
{
	struct kube_write_opts wo = {0};
	json_t *ns = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata",
			       "name", name);
	int rc = kube_create(env.c, &r_ns, NULL, ns, &wo, NULL, NULL);

	json_decref(ns);
	return rc;
}

static int apply_crds(void)
{
	char crds[1100];
	const char *apply[] = {env.kubectl, "apply", "--server-side", "-f", crds, NULL};
	const char *wait[] = {env.kubectl,
			      "wait",
			      "--for",
			      "condition=Established",
			      "--timeout=60s",
			      "crd/modeldeployments.saqr.dev",
			      "crd/trainingjobs.saqr.dev",
			      NULL};

	snprintf(crds, sizeof(crds), "%s/crds", env.root);
	return run_quiet(apply) || run_quiet(wait) ? -1 : 0;
}

static int setup_env(void)
{
	const char *bin = getenv("SAQR_SAN_BIN"), *tools = getenv("SAQR_TOOLS_BIN"),
		   *root = getenv("SAQR_ROOT");
	struct kube_config *cfg = NULL;
	char err[256];

	if (!bin || !tools || !root || !getenv("SAQR_CLUSTER_DIR")) {
		fprintf(stderr,
			"test_operator: needs SAQR_SAN_BIN, SAQR_TOOLS_BIN, SAQR_ROOT, SAQR_CLUSTER_DIR\n");
		return -1;
	}
	snprintf(env.operator_bin, sizeof(env.operator_bin), "%s/saqr-operator", bin);
	snprintf(env.kubectl, sizeof(env.kubectl), "%s/kubectl", tools);
	snprintf(env.root, sizeof(env.root), "%s", root);
	if (kube_config_load_default(NULL, &cfg, err, sizeof(err)) || kube_client_new(cfg, &env.c)) {
		fprintf(stderr, "test_operator: kubeconfig: %s\n", err);
		kube_config_free(cfg);
		return -1;
	}
	kube_config_free(cfg);
	snprintf(env.ns, sizeof(env.ns), "saqr-op-%ld", (long)getpid());
	snprintf(env.ns_le, sizeof(env.ns_le), "saqr-op-le-%ld", (long)getpid());
	env.dir = kubetest_tmpdir();
	return env.dir ? 0 : -1;
}

static int setup_all(void **state)
{
	const char *args[] = {"--namespace", env.ns, NULL};

	(void)state;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (setup_env() || apply_crds() || make_namespace(env.ns) || make_namespace(env.ns_le))
		return -1;
	env.port = start_operator(&env.op, "operator.log", args, NULL);
	if (env.port <= 0) {
		fprintf(stderr, "test_operator: the operator did not start; log in %s\n", env.op.log_path);
		return -1;
	}
	return 0;
}

static int teardown_all(void **state)
{
	(void)state;
	proc_kill(&env.op);
	/* No controller-manager: namespaces stay Terminating; the cluster is thrown away. */
	kube_delete(env.c, &r_ns, NULL, env.ns, NULL, NULL);
	kube_delete(env.c, &r_ns, NULL, env.ns_le, NULL, NULL);
	kube_client_free(env.c);
	if (getenv("SAQR_KEEP_LOGS"))
		fprintf(stderr, "test_operator: logs kept in %s\n", env.dir);
	else
		kubetest_rmtree(env.dir);
	free(env.dir);
	curl_global_cleanup();
	return 0;
}

/* ---- ModelDeployment ---- */

static void check_hardened_pod(const json_t *dep)
{
	const json_t *pod = json_path(dep, "spec.template.spec");
	const json_t *c = json_path(pod, "containers.0");

	expect_text(pod, "securityContext.runAsNonRoot", "true");
	expect_text(pod, "securityContext.seccompProfile.type", "RuntimeDefault");
	expect_text(pod, "automountServiceAccountToken", "false");
	expect_text(c, "securityContext.allowPrivilegeEscalation", "false");
	expect_text(c, "securityContext.privileged", "false");
	expect_text(c, "securityContext.readOnlyRootFilesystem", "true");
	expect_text(c, "securityContext.capabilities.drop.0", "ALL");
}

static void test_md_creates_owned_objects(void **state)
{
	json_t *md, *dep, *svc, *np, *pdb;
	const json_t *c;
	char url[256];

	(void)state;
	create_obj(&r_md, env.ns, md_obj(env.ns, "fraud", 3));
	md = wait_obj(&r_md, env.ns, "fraud", "status.observedGeneration", "1");
	dep = wait_obj(&r_dep, env.ns, "fraud", NULL, NULL);
	/* Deployment: owner, labels, hash, replicas, selector, hardened pod, model env, probe, TLS */
	expect_text(dep, "metadata.ownerReferences.0.uid", S(md, "metadata.uid"));
	expect_text(dep, "metadata.ownerReferences.0.controller", "true");
	assert_string_equal(json_string_value(json_object_get(json_path(dep, "metadata.labels"),
							      "app.kubernetes.io/managed-by")),
			    "saqr-operator");
	assert_non_null(json_object_get(json_path(dep, "metadata.annotations"), "saqr.dev/applied-hash"));
	expect_text(dep, "spec.replicas", "3");
	assert_string_equal(json_string_value(json_object_get(json_path(dep, "spec.selector.matchLabels"),
							      "saqr.dev/modeldeployment")),
			    "fraud");
	check_hardened_pod(dep);
	c = json_path(dep, "spec.template.spec.containers.0");
	expect_text(c, "image", "registry.example.ae/ml/onnx-server:1.18");
	expect_text(env_of(c, "SAQR_MODEL_URI"), "value", "s3://uae-models/fraud/v1/model.onnx");
	expect_text(env_of(c, "SAQR_MODEL_DIGEST"), "value", DIGEST);
	expect_text(env_of(c, "SAQR_MODEL_FORMAT"), "value", "onnx");
	expect_text(env_of(c, "LOG_LEVEL"), "value", "info");
	expect_text(env_of(c, "SAQR_MODEL_PATH"), "value", "/models");
	expect_text(c, "readinessProbe.httpGet.path", "/v2/health/ready");
	expect_text(c, "readinessProbe.httpGet.scheme", "HTTP"); /* plain HTTP behind saqr-agent */
	expect_text(c, "ports.0.name", "server");
	expect_text(c, "resources.requests.cpu", "500m");
	expect_text(c, "volumeMounts.1.mountPath", "/models");
	expect_text(c, "volumeMounts.1.readOnly", "true");
	expect_text(dep, "spec.template.spec.serviceAccountName", "fraud");
	expect_text(dep, "spec.template.spec.volumes.1.secret.secretName", "fraud-tls");
	/* saqr-agent terminates TLS on 8443; saqr-fetch fetches and verifies the model first */
	c = json_path(dep, "spec.template.spec.containers.1");
	expect_text(c, "name", "saqr-agent");
	expect_text(c, "ports.0.name", "https");
	expect_text(c, "ports.0.containerPort", "8443");
	expect_text(c, "volumeMounts.1.mountPath", "/etc/saqr/tls");
	expect_text(c, "volumeMounts.1.readOnly", "true");
	c = json_path(dep, "spec.template.spec.initContainers.0");
	expect_text(c, "name", "saqr-fetch");
	expect_text(c, "args.1", "s3://uae-models/fraud/v1/model.onnx");
	expect_text(c, "volumeMounts.1.mountPath", "/models");
	/* Service, NetworkPolicy, PDB (3 replicas); no HPA */
	svc = wait_obj(&r_svc, env.ns, "fraud", NULL, NULL);
	expect_text(svc, "spec.type", "ClusterIP");
	expect_text(svc, "spec.ports.0.port", "8080");
	expect_text(svc, "spec.ports.0.targetPort", "https");
	expect_text(svc, "metadata.ownerReferences.0.uid", S(md, "metadata.uid"));
	np = wait_obj(&r_np, env.ns, "fraud", NULL, NULL);
	expect_text(np, "spec.policyTypes.0", "Ingress");
	expect_text(np, "spec.ingress.0.ports.0.port", "8443"); /* the agent's port */
	expect_text(np, "spec.ingress.0.from.1.namespaceSelector.matchExpressions.0.values.0", "payments");
	pdb = wait_obj(&r_pdb, env.ns, "fraud", NULL, NULL);
	expect_text(pdb, "spec.maxUnavailable", "1");
	assert_null(get_obj(&r_hpa, env.ns, "fraud"));
	/* status: not ready (no Deployment controller here), the URL */
	snprintf(url, sizeof(url), "https://fraud.%s.svc:8080", env.ns);
	json_decref(md);
	md = wait_obj(&r_md, env.ns, "fraud", "status.url", url);
	expect_text(md, "cond:Ready.status", "False");
	expect_text(md, "cond:Degraded.status", "False");
	wait_event(env.ns, "fraud", "Created", "Deployment/fraud");
	json_decref(md);
	json_decref(dep);
	json_decref(svc);
	json_decref(np);
	json_decref(pdb);
}

static void test_md_autoscaling_and_canary_come_and_go(void **state)
{
	json_t *hpa, *canary;

	(void)state;
	patch_obj(&r_md, env.ns, "fraud", KUBE_PATCH_MERGE,
		  json_pack("{s:{s:n, s:{s:i, s:i, s:i}, s:{s:{s:s, s:s, s:s, s:s}, s:i}}}", "spec",
			    "replicas", "autoscaling", "minReplicas", 2, "maxReplicas", 5,
			    "targetCPUUtilizationPercentage", 60, "canary", "model", "name", "fraud",
			    "version", "v2", "uri", "s3://uae-models/fraud/v2/model.onnx", "format", "onnx",
			    "weight", 50),
		  false);
	hpa = wait_obj(&r_hpa, env.ns, "fraud", "spec.maxReplicas", "4");
	expect_text(hpa, "spec.minReplicas", "1");
	expect_text(hpa, "spec.scaleTargetRef.name", "fraud");
	expect_text(hpa, "spec.metrics.0.resource.target.averageUtilization", "60");
	canary = wait_obj(&r_dep, env.ns, "fraud-canary", "spec.replicas", "1");
	expect_text(env_of(json_path(canary, "spec.template.spec.containers.0"), "SAQR_MODEL_URI"), "value",
		    "s3://uae-models/fraud/v2/model.onnx");
	check_hardened_pod(canary);
	json_decref(hpa);
	json_decref(canary);
	/* back to one replica: HPA, canary and PDB go */
	patch_obj(&r_md, env.ns, "fraud", KUBE_PATCH_MERGE,
		  json_pack("{s:{s:i, s:n, s:n}}", "spec", "replicas", 1, "autoscaling", "canary"), false);
	wait_absent(&r_hpa, env.ns, "fraud");
	wait_absent(&r_dep, env.ns, "fraud-canary");
	wait_absent(&r_pdb, env.ns, "fraud");
	json_decref(wait_obj(&r_dep, env.ns, "fraud", "spec.replicas", "1"));
	wait_event(env.ns, "fraud", "Deleted", "HorizontalPodAutoscaler/fraud");
}

static void test_md_hand_edits_are_put_back(void **state)
{
	json_t *np, *dep;
	char uid[64];

	(void)state;
	patch_obj(&r_dep, env.ns, "fraud", KUBE_PATCH_JSON,
		  json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:b}]", "op", "replace", "path",
			    "/spec/template/spec/containers/0/image", "value", "evil:latest", "op", "replace",
			    "path", "/spec/template/spec/containers/0/securityContext/readOnlyRootFilesystem",
			    "value", 0),
		  false);
	dep = wait_obj(&r_dep, env.ns, "fraud", "spec.template.spec.containers.0.image",
		       "registry.example.ae/ml/onnx-server:1.18");
	check_hardened_pod(dep);
	json_decref(dep);
	/* a selector key added by hand to the Service (its selector is atomic) */
	patch_obj(&r_svc, env.ns, "fraud", KUBE_PATCH_MERGE,
		  json_pack("{s:{s:{s:s}}}", "spec", "selector", "x", "y"), false);
	json_decref(wait_obj(&r_svc, env.ns, "fraud", "spec.selector.x", ""));
	/* a deleted NetworkPolicy comes back */
	np = wait_obj(&r_np, env.ns, "fraud", NULL, NULL);
	snprintf(uid, sizeof(uid), "%s", S(np, "metadata.uid"));
	json_decref(np);
	assert_int_equal(kube_delete(env.c, &r_np, env.ns, "fraud", NULL, NULL), 0);
	for (double deadline = now_mono() + WAIT_LIMIT;; pause_ms(100)) {
		np = get_obj(&r_np, env.ns, "fraud");
		if (np && strcmp(S(np, "metadata.uid"), uid) != 0)
			break;
		json_decref(np);
		if (now_mono() > deadline)
			fail_msg("the NetworkPolicy was not recreated");
	}
	json_decref(np);
	wait_event(env.ns, "fraud", "Updated", "Deployment/fraud");
}

static void test_md_status_follows_the_deployment(void **state)
{
	json_t *md;

	(void)state;
	deployment_rolled_out(env.ns, "fraud", 1);
	md = wait_obj(&r_md, env.ns, "fraud", "cond:Ready.status", "True");
	expect_text(md, "cond:Ready.reason", "RolloutComplete");
	expect_text(md, "cond:Available.status", "True");
	expect_text(md, "status.readyReplicas", "1");
	expect_text(md, "status.currentModel.version", "v1");
	expect_text(md, "status.history.0.version", "v1");
	json_decref(md);
	/* a new model rolls out: not ready until the Deployment reports the new generation */
	patch_obj(&r_md, env.ns, "fraud", KUBE_PATCH_MERGE,
		  json_pack("{s:{s:o}}", "spec", "model", model("fraud", "v1.1")), false);
	md = wait_obj(&r_md, env.ns, "fraud", "cond:Ready.reason", "RollingOut");
	expect_text(md, "status.currentModel.version", "v1");
	json_decref(md);
	wait_template_version(env.ns, "fraud", "v1.1");
	deployment_rolled_out(env.ns, "fraud", 1);
	md = wait_obj(&r_md, env.ns, "fraud", "status.currentModel.version", "v1.1");
	expect_text(md, "cond:Ready.status", "True");
	expect_text(md, "status.history.0.version", "v1.1");
	expect_text(md, "status.history.1.version", "v1");
	json_decref(md);
	wait_event(env.ns, "fraud", "RolledOut", "v1.1");
}

static void test_md_invalid_spec_is_reported(void **state)
{
	json_t *md = md_obj(env.ns, "bad", 1), *got;

	(void)state;
	/* a canary cannot be split off one replica: the CRD accepts it, the operator cannot */
	json_object_set_new(json_object_get(md, "spec"), "canary",
			    json_pack("{s:o, s:i}", "model", model("bad", "v2"), "weight", 30));
	create_obj(&r_md, env.ns, md);
	got = wait_obj(&r_md, env.ns, "bad", "cond:Ready.reason", "InvalidSpec");
	expect_text(got, "cond:Ready.status", "False");
	expect_text(got, "cond:Degraded.status", "True");
	assert_non_null(strstr(S(got, "status.conditions.0.message"), "2 or more replicas"));
	assert_null(get_obj(&r_dep, env.ns, "bad"));
	wait_event(env.ns, "bad", "InvalidSpec", "2 or more replicas");
	json_decref(got);
}

/* ---- TrainingJob ---- */

static void test_tj_creates_indexed_job_and_service(void **state)
{
	json_t *tj, *job, *svc;
	const json_t *c;

	(void)state;
	create_obj(&r_tj, env.ns, tj_obj("pt", 2, "pytorch"));
	tj = wait_obj(&r_tj, env.ns, "pt", "cond:Created.status", "True");
	expect_text(tj, "cond:Ready.reason", "Pending");
	expect_text(tj, "status.jobName", "pt");
	job = wait_obj(&r_job, env.ns, "pt", NULL, NULL);
	expect_text(job, "metadata.ownerReferences.0.uid", S(tj, "metadata.uid"));
	expect_text(job, "spec.completionMode", "Indexed");
	expect_text(job, "spec.completions", "2");
	expect_text(job, "spec.parallelism", "2");
	expect_text(job, "spec.backoffLimit", "3");
	expect_text(job, "spec.template.spec.restartPolicy", "Never");
	expect_text(job, "spec.template.spec.subdomain", "pt");
	check_hardened_pod(job);
	c = json_path(job, "spec.template.spec.containers.0");
	expect_text(env_of(c, "MASTER_ADDR"), "value", "pt-0.pt");
	expect_text(env_of(c, "MASTER_PORT"), "value", "29500");
	expect_text(env_of(c, "WORLD_SIZE"), "value", "2");
	expect_text(env_of(c, "NNODES"), "value", "2");
	expect_text(env_of(c, "PET_NNODES"), "value", "2");
	expect_text(env_of(c, "NODE_RANK"), "valueFrom.fieldRef.fieldPath",
		    "metadata.annotations['batch.kubernetes.io/job-completion-index']");
	expect_text(env_of(c, "SAQR_OUTPUT_URI"), "value", "s3://uae-models/pt/out/model.onnx");
	svc = wait_obj(&r_svc, env.ns, "pt", NULL, NULL);
	expect_text(svc, "spec.clusterIP", "None");
	expect_text(svc, "spec.publishNotReadyAddresses", "true");
	expect_text(svc, "spec.ports.0.port", "29500");
	/* running, then done: the status follows the Job, the rendezvous Service goes */
	job_started("pt", 2);
	json_decref(wait_obj(&r_tj, env.ns, "pt", "cond:Ready.reason", "Running"));
	job_succeeded("pt", 2);
	json_decref(tj);
	tj = wait_obj(&r_tj, env.ns, "pt", "cond:Ready.reason", "Succeeded");
	expect_text(tj, "cond:Succeeded.status", "True");
	expect_text(tj, "status.succeeded", "2");
	expect_text(tj, "status.outputModel.uri", "s3://uae-models/pt/out/model.onnx");
	expect_text(tj, "status.startTime", "2024-05-01T10:00:05Z");
	expect_text(tj, "status.completionTime", "2024-05-01T14:31:52Z");
	wait_absent(&r_svc, env.ns, "pt");
	wait_event(env.ns, "pt", "Succeeded", NULL);
	json_decref(tj);
	json_decref(job);
	json_decref(svc);
}

static void test_tj_failure(void **state)
{
	json_t *tj;

	(void)state;
	create_obj(&r_tj, env.ns, tj_obj("fails", 1, NULL));
	json_decref(wait_obj(&r_job, env.ns, "fails", NULL, NULL));
	job_started("fails", 1);
	patch_obj(&r_job, env.ns, "fails", KUBE_PATCH_MERGE,
		  json_pack("{s:{s:i, s:i, s:i, s:[{s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s}]}}", "status",
			    "active", 0, "ready", 0, "failed", 4, "conditions", "type", "FailureTarget",
			    "status", "True", "reason", "BackoffLimitExceeded", "message",
			    "Job has reached the specified backoff limit", "type", "Failed", "status", "True",
			    "reason", "BackoffLimitExceeded", "message",
			    "Job has reached the specified backoff limit"),
		  true);
	tj = wait_obj(&r_tj, env.ns, "fails", "cond:Ready.reason", "Failed");
	expect_text(tj, "cond:Failed.status", "True");
	expect_text(tj, "cond:Failed.reason", "BackoffLimitExceeded");
	expect_text(tj, "status.failed", "4");
	wait_event(env.ns, "fails", "Failed", "BackoffLimitExceeded");
	json_decref(tj);
}

static void test_tj_promotes_once(void **state)
{
	json_t *tj = tj_obj("ranker-train", 1, NULL), *md;
	double reconciles;

	(void)state;
	create_obj(&r_md, env.ns, md_obj(env.ns, "ranker", 1));
	json_object_set_new(json_object_get(tj, "spec"), "promote",
			    json_pack("{s:s, s:s}", "modelDeployment", "ranker", "version", "v2"));
	create_obj(&r_tj, env.ns, tj);
	json_decref(wait_obj(&r_job, env.ns, "ranker-train", NULL, NULL));
	job_pod_terminated("ranker-train",
			   "{\"output\":{\"uri\":\"s3://uae-models/ranker-train/out/model.onnx\","
			   "\"digest\":\"" TRAINED_DIGEST "\"}}");
	job_succeeded("ranker-train", 1);
	tj = wait_obj(&r_tj, env.ns, "ranker-train", "cond:Promoted.status", "True");
	expect_text(tj, "cond:Ready.reason", "Succeeded");
	expect_text(tj, "status.outputModel.digest", TRAINED_DIGEST);
	/* spec.model stays Git's: the promoted model is spec.modelOverride */
	md = wait_obj(&r_md, env.ns, "ranker", "spec.modelOverride.model.version", "v2");
	expect_text(md, "spec.model.version", "v1");
	expect_text(md, "spec.modelOverride.model.uri", "s3://uae-models/ranker-train/out/model.onnx");
	expect_text(md, "spec.modelOverride.model.digest", TRAINED_DIGEST); /* the pin follows the model */
	expect_text(md, "spec.modelOverride.reason", "Promotion");
	wait_template_version(env.ns, "ranker", "v2");
	assert_string_equal(json_string_value(json_object_get(json_path(md, "metadata.annotations"),
							      "saqr.dev/promoted-from")),
			    "ranker-train");
	wait_event(env.ns, "ranker-train", "Promoted", "ModelDeployment ranker");
	wait_event(env.ns, "ranker", "Promoted", "TrainingJob ranker-train");
	json_decref(md);
	json_decref(tj);
	/* Once: a later reconcile of the TrainingJob leaves a hand-changed model alone. */
	patch_obj(&r_md, env.ns, "ranker", KUBE_PATCH_MERGE,
		  json_pack("{s:{s:o}}", "spec", "model", model("ranker", "v3")), false);
	reconciles = metric(env.port, "saqr_reconcile_total", "controller=\"trainingjob\"", NULL);
	patch_obj(&r_tj, env.ns, "ranker-train", KUBE_PATCH_MERGE,
		  json_pack("{s:{s:{s:s}}}", "metadata", "labels", "touched", "yes"), false);
	for (double deadline = now_mono() + WAIT_LIMIT;
	     metric(env.port, "saqr_reconcile_total", "controller=\"trainingjob\"", NULL) <= reconciles;
	     pause_ms(100))
		if (now_mono() > deadline)
			fail_msg("the TrainingJob was not reconciled after a change");
	md = wait_obj(&r_md, env.ns, "ranker", NULL, NULL);
	expect_text(md, "spec.model.version", "v3");
	json_decref(md);
	/* the hand-changed spec.model superseded the override, which the operator removed */
	json_decref(wait_obj(&r_md, env.ns, "ranker", "spec.modelOverride", ""));
	wait_template_version(env.ns, "ranker", "v3");
}

/* Server-side apply of the Git manifest, as Argo CD does (ServerSideApply=true, self-heal). */
static void argocd_apply(const char *name, const char *version)
{
	struct kube_write_opts wo = {.field_manager = "argocd-controller", .force = true};
	struct kube_status st = {0};
	json_t *manifest = md_obj(env.ns, name, 1);
	int rc;

	json_object_set_new(json_object_get(manifest, "spec"), "model", model(name, version));
	rc = kube_patch(env.c, &r_md, env.ns, name, KUBE_PATCH_APPLY, manifest, &wo, NULL, &st);
	if (rc)
		fail_msg("argocd apply %s: %s: %s", name, saqr_strerror(rc), st.message);
	json_decref(manifest);
}

/* GitOps: Git (Argo CD, a second field manager re-applying the manifest) owns spec.model; a
 * promotion holds across syncs; a new version in Git supersedes it; the status says why. */
static void test_gitops_override_holds(void **state)
{
	json_t *tj = tj_obj("scorer-train", 1, NULL), *md;

	(void)state;
	argocd_apply("scorer", "v1");
	wait_template_version(env.ns, "scorer", "v1");
	json_object_set_new(json_object_get(tj, "spec"), "promote",
			    json_pack("{s:s, s:s}", "modelDeployment", "scorer", "version", "v2"));
	create_obj(&r_tj, env.ns, tj);
	json_decref(wait_obj(&r_job, env.ns, "scorer-train", NULL, NULL));
	job_pod_terminated("scorer-train", "{\"output\":{\"digest\":\"" TRAINED_DIGEST "\"}}");
	job_succeeded("scorer-train", 1);
	json_decref(wait_obj(&r_md, env.ns, "scorer", "spec.modelOverride.model.version", "v2"));
	wait_template_version(env.ns, "scorer", "v2");
	deployment_rolled_out(env.ns, "scorer", 1);
	md = wait_obj(&r_md, env.ns, "scorer", "status.currentModel.version", "v2");
	expect_text(md, "status.modelSource.type", "Promotion");
	expect_text(md, "status.modelSource.source", "TrainingJob/scorer-train");
	json_decref(md);

	/* Argo CD syncs the unchanged Git manifest (v1): the promotion holds */
	argocd_apply("scorer", "v1");
	pause_ms(1000);
	md = wait_obj(&r_md, env.ns, "scorer", NULL, NULL);
	expect_text(md, "spec.model.version", "v1");
	expect_text(md, "spec.modelOverride.model.version", "v2");
	json_decref(md);
	wait_template_version(env.ns, "scorer", "v2");

	/* a new version committed to Git supersedes the override */
	argocd_apply("scorer", "v3");
	json_decref(wait_obj(&r_md, env.ns, "scorer", "spec.modelOverride", ""));
	wait_template_version(env.ns, "scorer", "v3");
	deployment_rolled_out(env.ns, "scorer", 1);
	md = wait_obj(&r_md, env.ns, "scorer", "status.currentModel.version", "v3");
	expect_text(md, "status.modelSource.type", "Spec");
	json_decref(md);
	wait_event(env.ns, "scorer", "ModelOverrideSuperseded", "spec.model (version v3) changed");
}

/* A model pod of md whose saqr-fetch init container exited with message (its verdict). */
static void fetch_pod_terminated(const char *md, const char *pod, int code, const char *message)
{
	create_obj(&r_pod, env.ns,
		   json_pack("{s:s, s:s, s:{s:s, s:{s:s}, s:{s:s, s:s}}, s:{s:[{s:s, s:s}], s:[{s:s, s:s}]}}",
			     "apiVersion", "v1", "kind", "Pod", "metadata", "name", pod, "labels",
			     "saqr.dev/modeldeployment", md, "annotations", "saqr.dev/model-version", "v1",
			     "saqr.dev/model-digest", DIGEST, "spec", "initContainers", "name", "saqr-fetch",
			     "image", "saqr-fetch", "containers", "name", "model-server", "image", "server"));
	patch_obj(&r_pod, env.ns, pod, KUBE_PATCH_MERGE,
		  json_pack("{s:{s:s, s:[{s:s, s:b, s:i, s:s, s:s, s:{s:{s:i, s:s, s:s}}}]}}", "status",
			    "phase", "Pending", "initContainerStatuses", "name", "saqr-fetch", "ready", 0,
			    "restartCount", 1, "image", "saqr-fetch", "imageID", "saqr-fetch@" DIGEST,
			    "state", "terminated", "exitCode", code, "reason", "Error", "message", message),
		  true);
}

/* saqr-fetch refused the model in a pod (no Deployment change brings the reconcile back): the
 * ModelDeployment reads the pods' verdicts, says DigestMismatch, and records a Warning Event. */
static void test_md_fetch_refusal_is_reported(void **state)
{
	json_t *md;

	(void)state;
	create_obj(&r_md, env.ns, md_obj(env.ns, "tampered", 1));
	json_decref(wait_obj(&r_dep, env.ns, "tampered", NULL, NULL));
	json_decref(wait_obj(&r_md, env.ns, "tampered", "cond:ModelVerified.reason", "Verifying"));
	fetch_pod_terminated("tampered", "tampered-abc12", 1,
			     "{\"reason\":\"DigestMismatch\",\"message\":\"model digest sha256:00 is not the "
			     "required " DIGEST "\"}");
	md = wait_obj(&r_md, env.ns, "tampered", "cond:ModelVerified.reason", "DigestMismatch");
	expect_text(md, "cond:ModelVerified.status", "False");
	assert_non_null(strstr(text_at(md, "cond:ModelVerified.message", (char[512]){0}, 512),
			       "pod tampered-abc12: model digest sha256:00 is not the required"));
	json_decref(md);
	wait_event(env.ns, "tampered", "DigestMismatch", "pod tampered-abc12");
}

/* A trainer that reports no digest: nothing is promoted, and the TrainingJob says what to write. */
static void test_tj_promotion_needs_digest(void **state)
{
	json_t *tj = tj_obj("nodigest-train", 1, NULL), *md;
	const char *msg;
	char buf[1024];

	(void)state;
	create_obj(&r_md, env.ns, md_obj(env.ns, "nodigest", 1));
	json_object_set_new(json_object_get(tj, "spec"), "promote",
			    json_pack("{s:s, s:s}", "modelDeployment", "nodigest", "version", "v2"));
	create_obj(&r_tj, env.ns, tj);
	json_decref(wait_obj(&r_job, env.ns, "nodigest-train", NULL, NULL));
	job_pod_terminated("nodigest-train",
			   "{\"output\":{\"uri\":\"s3://uae-models/nodigest-train/out/model.onnx\"}}");
	job_succeeded("nodigest-train", 1);
	tj = wait_obj(&r_tj, env.ns, "nodigest-train", "cond:Promoted.reason", "OutputDigestMissing");
	expect_text(tj, "cond:Promoted.status", "False");
	expect_text(tj, "cond:Ready.reason", "PromotionFailed");
	msg = text_at(tj, "cond:Promoted.message", buf, sizeof(buf));
	if (!strstr(msg, "output.digest is missing") || !strstr(msg, "/dev/termination-log"))
		fail_msg("the message does not say what is missing and what to write: %s", msg);
	assert_null(json_path(tj, "status.outputModel.digest"));
	wait_event(env.ns, "nodigest-train", "PromotionFailed", "/dev/termination-log");
	md = wait_obj(&r_md, env.ns, "nodigest", NULL, NULL);
	expect_text(md, "spec.model.version", "v1");
	expect_text(md, "spec.model.digest", DIGEST);
	json_decref(md);
	json_decref(tj);
}

/* ---- steady state ---- */

/* Wait until the operator has made no write for `stable` seconds. */
static double settle(long port, int stable)
{
	double deadline = now_mono() + WAIT_LIMIT, last = writes(port), since = now_mono();

	while (now_mono() - since < stable) {
		double w;

		if (now_mono() > deadline)
			fail_msg("the operator kept writing (%.0f writes so far)", last);
		pause_ms(250);
		w = writes(port);
		if (w != last) {
			last = w;
			since = now_mono();
		}
	}
	return last;
}

static void test_no_writes_when_converged(void **state)
{
	double before, after, errors;

	(void)state;
	before = settle(env.port, 3);
	errors = metric(env.port, "saqr_reconcile_total", "result=\"error\"", NULL);
	sleep(QUIET_WINDOW);
	after = writes(env.port);
	if (after != before)
		fail_msg("%.0f writes in a quiet window of %d s", after - before, QUIET_WINDOW);
	assert_true(metric(env.port, "saqr_reconcile_total", "result=\"error\"", NULL) == errors);
	assert_true(
	    metric(env.port, "saqr_api_requests_total", "verb=\"patch\"", "resource=\"deployments\"") > 0);
}

static void test_endpoints(void **state)
{
	struct buf body;

	(void)state;
	buf_init(&body, 1u << 20);
	assert_int_equal(http_get(env.port, "/healthz", &body), 200);
	assert_int_equal(http_get(env.port, "/readyz", &body), 200);
	assert_int_equal(http_get(env.port, "/nope", &body), 404);
	buf_reset(&body);
	assert_int_equal(http_get(env.port, "/metrics", &body), 200);
	assert_non_null(strstr(buf_str(&body), "saqr_reconcile_total{controller=\"modeldeployment\""));
	assert_non_null(strstr(buf_str(&body), "saqr_workqueue_depth{controller=\"trainingjob\"}"));
	buf_release(&body);
}

/* ---- leader election ---- */

static const char *lease_holder(char *buf, size_t len)
{
	json_t *lease = get_obj(&r_lease, env.ns_le, "saqr-operator");

	snprintf(buf, len, "%s", lease ? json_path_str(lease, "spec.holderIdentity", "") : "");
	json_decref(lease);
	return buf;
}

static void wait_leader(long port, const char *identity)
{
	char label[128], holder[128];
	double deadline = now_mono() + WAIT_LIMIT;

	snprintf(label, sizeof(label), "identity=\"%s\"", identity);
	while (metric(port, "saqr_leader", label, NULL) != 1 ||
	       strcmp(lease_holder(holder, sizeof(holder)), identity))
		if (now_mono() > deadline)
			fail_msg("%s did not become the leader (Lease holder \"%s\")", identity, holder);
		else
			pause_ms(100);
}

static void wait_ready(long port)
{
	double deadline = now_mono() + WAIT_LIMIT;
	struct buf body;
	long code;

	buf_init(&body, 1u << 16);
	while ((code = http_get(port, "/readyz", &body)) != 200) {
		if (now_mono() > deadline)
			fail_msg("/readyz answers %ld", code);
		buf_reset(&body);
		pause_ms(100);
	}
	buf_release(&body);
}

static void test_standby_takes_over(void **state)
{
	const char *args[] = {"--namespace", env.ns_le, "--leader-elect", "--leader-election-namespace",
			      env.ns_le,     NULL};
	const char *env_b[] = {"POD_NAME=op-b", NULL}, *env_c[] = {"POD_NAME=op-c", NULL};
	struct proc b = {0}, c = {0};
	long port_b, port_c;
	char holder[128];

	(void)state;
	port_b = start_operator(&b, "op-b.log", args, env_b);
	assert_true(port_b > 0);
	wait_leader(port_b, "op-b");
	port_c = start_operator(&c, "op-c.log", args, env_c);
	assert_true(port_c > 0);
	/* c is a standby: ready (warm cache) but not leading */
	wait_ready(port_c);
	assert_true(metric(port_c, "saqr_leader", "identity=\"op-c\"", NULL) == 0);
	create_obj(&r_md, env.ns_le, md_obj(env.ns_le, "le-1", 1));
	json_decref(wait_obj(&r_dep, env.ns_le, "le-1", NULL, NULL));
	assert_true(metric(port_c, "saqr_reconcile_total", NULL, NULL) == 0);
	/* SIGTERM releases the Lease: c takes over at its next try */
	assert_int_equal(stop_operator(&b), 0);
	wait_leader(port_c, "op-c");
	create_obj(&r_md, env.ns_le, md_obj(env.ns_le, "le-2", 1));
	json_decref(wait_obj(&r_dep, env.ns_le, "le-2", NULL, NULL));
	/* a leader that loses its Lease exits 1, so Kubernetes restarts it as a standby */
	patch_obj(
	    &r_lease, env.ns_le, "saqr-operator", KUBE_PATCH_MERGE,
	    json_pack("{s:{s:s, s:i}}", "spec", "holderIdentity", "thief", "leaseDurationSeconds", 3600),
	    false);
	if (proc_wait(&c, (int)(WAIT_LIMIT * 1000)) != 0) {
		proc_kill(&c);
		fail_msg("the operator kept running after losing its Lease");
	}
	assert_int_equal(c.exit_code, 1);
	assert_string_equal(lease_holder(holder, sizeof(holder)), "thief");
}

/* ---- API server restart ---- */

static void test_recovers_after_apiserver_restart(void **state)
{
	char script[1100];
	const char *argv[] = {script, "restart-apiserver", NULL};
	json_t *dep;

	(void)state;
	snprintf(script, sizeof(script), "%s/hack/local-cluster.sh", env.root);
	assert_int_equal(run_quiet(argv), 0);
	create_retrying(&r_md, env.ns, md_obj(env.ns, "after-restart", 2));
	dep = wait_obj(&r_dep, env.ns, "after-restart", NULL, NULL);
	expect_text(dep, "spec.replicas", "2");
	json_decref(dep);
	json_decref(wait_obj(&r_md, env.ns, "after-restart", "status.observedGeneration", "1"));
	json_decref(wait_obj(&r_pdb, env.ns, "after-restart", NULL, NULL));
}

static void test_flags(void **state)
{
	const char *help[] = {env.operator_bin, "--help", NULL};
	const char *bad[] = {env.operator_bin, "--workers", "0", NULL};
	const char *unknown[] = {env.operator_bin, "--bogus", NULL};
	struct buf out;
	int code = -1;

	(void)state;
	buf_init(&out, 1u << 20);
	assert_int_equal(proc_run(help, NULL, &out, &code), 0);
	assert_int_equal(code, 0);
	assert_non_null(strstr(buf_str(&out), "--leader-elect"));
	buf_reset(&out);
	assert_int_equal(proc_run(bad, NULL, &out, &code), 0);
	assert_int_equal(code, 2);
	assert_non_null(strstr(buf_str(&out), "bad value for --workers: 0"));
	buf_reset(&out);
	assert_int_equal(proc_run(unknown, NULL, &out, &code), 0);
	assert_int_equal(code, 2);
	buf_release(&out);
}

static void test_stops_cleanly(void **state)
{
	(void)state;
	assert_int_equal(stop_operator(&env.op), 0);
	assert_int_equal(proc_wait_log(&env.op, "\"msg\":\"stopped\"", 1000), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_md_creates_owned_objects),
	    cmocka_unit_test(test_md_autoscaling_and_canary_come_and_go),
	    cmocka_unit_test(test_md_hand_edits_are_put_back),
	    cmocka_unit_test(test_md_status_follows_the_deployment),
	    cmocka_unit_test(test_md_invalid_spec_is_reported),
	    cmocka_unit_test(test_md_fetch_refusal_is_reported),
	    cmocka_unit_test(test_tj_creates_indexed_job_and_service),
	    cmocka_unit_test(test_tj_failure),
	    cmocka_unit_test(test_tj_promotes_once),
	    cmocka_unit_test(test_tj_promotion_needs_digest),
	    cmocka_unit_test(test_gitops_override_holds),
	    cmocka_unit_test(test_no_writes_when_converged),
	    cmocka_unit_test(test_endpoints),
	    cmocka_unit_test(test_flags),
	    cmocka_unit_test(test_standby_takes_over),
	    cmocka_unit_test(test_recovers_after_apiserver_restart),
	    cmocka_unit_test(test_stops_cleanly),
	};

	return cmocka_run_group_tests_name("operator", tests, setup_all, teardown_all);
}
