/* Integration tests of the DriftPolicy controller against the real local kube-apiserver, with
 * only that controller running in a manager built here (no ModelDeployment or TrainingJob
 * controller, no kubelet):
 *  - a model "server" is a lib/httpd endpoint in this process whose /metrics the test steers
 *    (each scrape adds one batch of traffic, with or without drift);
 *  - the API server refuses loopback addresses in EndpointSlices, so the test's slice has
 *    addressType FQDN and the address "model.localhost": libcurl resolves *.localhost to the
 *    loopback itself (RFC 6761) without asking DNS;
 *  - four recording receivers stand in for Alertmanager, a webhook, ServiceNow and PagerDuty,
 *    and can fail (HTTP 503) or be down (connection refused) on demand.
 * Waits poll with a deadline; nothing is timed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/jsonutil.h"
#include "common/metrics.h"
#include "operator/runtime/events.h"
#include "operator/runtime/kubeops.h"
#include "operator/runtime/manager.h"
#include "httpd/httpd.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "operator/driftpolicy/notify.h"
#include "operator/conditions.h"
#include "operator/driftpolicy/driftpolicy.h"
#include "../support/httprecv.h"
#include "../support/proc.h"

#define WAIT_LIMIT 90.0 /* seconds before a wait gives up; generous, never a measure */
#define MD_NAME "fraud-detector"
#define DP_NAME "fraud-drift"
#define HMAC_KEY "webhook-signing-key"

static const struct kube_resource namespaces = {"", "v1", "namespaces", false};
static const struct kube_resource secrets = {"", "v1", "secrets", true};
static const struct kube_resource slices = {"discovery.k8s.io", "v1", "endpointslices", true};
static const struct kube_resource mds = {"saqr.dev", "v1alpha1", "modeldeployments", true};
static const struct kube_resource dps = {"saqr.dev", "v1alpha1", "driftpolicies", true};
static const struct kube_resource tjs = {"saqr.dev", "v1alpha1", "trainingjobs", true};

enum { SINK_AM, SINK_WEBHOOK, SINK_SNOW, SINK_PD, NSINKS };

/* ---- the model server: cumulative metrics, one batch of traffic per scrape ---- */

struct model {
	pthread_mutex_t mu;
	bool drift;
	double amount[5], channel[3], latency[6], ok, failed;
};

static const double amount_base[5] = {183, 412, 261, 115, 29}; /* the baseline / 10 */
static const double amount_drift[5] = {50, 150, 300, 350, 150};
static const double channel_base[3] = {620, 230, 150};
static const double channel_drift[3] = {200, 650, 150};
static const double latency_batch[6] = {900, 80, 15, 5, 0, 0}; /* p99 200 ms */

static void model_render(struct model *m, struct buf *out)
{
	static const char *const le[] = {"50", "200", "1000", "5000", "+Inf"};
	static const char *const lat_le[] = {"0.05", "0.1", "0.25", "0.5", "1", "+Inf"};
	static const char *const chan[] = {"card", "wallet", "transfer"};
	double cum = 0;

	buf_adds(out, "# TYPE saqr_feature_value histogram\n");
	for (int i = 0; i < 5; i++) {
		cum += m->amount[i];
		buf_addf(out, "saqr_feature_value_bucket{feature=\"amount_aed\",le=\"%s\"} %.0f\n", le[i],
			 cum);
	}
	buf_addf(out, "saqr_feature_value_count{feature=\"amount_aed\"} %.0f\n", cum);
	buf_adds(out, "# TYPE saqr_feature_category_total counter\n");
	for (int i = 0; i < 3; i++)
		buf_addf(out, "saqr_feature_category_total{feature=\"channel\",value=\"%s\"} %.0f\n", chan[i],
			 m->channel[i]);
	buf_adds(out, "# TYPE saqr_inference_latency_seconds histogram\n");
	cum = 0;
	for (int i = 0; i < 6; i++) {
		cum += m->latency[i];
		buf_addf(out, "saqr_inference_latency_seconds_bucket{le=\"%s\"} %.0f\n", lat_le[i], cum);
	}
	buf_addf(out, "saqr_inference_latency_seconds_count %.0f\n", cum);
	buf_addf(out,
		 "# TYPE saqr_inference_requests_total counter\n"
		 "saqr_inference_requests_total{code=\"200\"} %.0f\n"
		 "saqr_inference_requests_total{code=\"500\"} %.0f\n"
		 "# TYPE saqr_model_quality gauge\nsaqr_model_quality 0.95\n",
		 m->ok, m->failed);
}

static void model_handler(void *ud, const struct httpd_request *req, struct httpd_response *resp)
{
	struct model *m = ud;

	if (strcmp(req->path, "/metrics") != 0) {
		resp->status = 404;
		return;
	}
	pthread_mutex_lock(&m->mu);
	for (int i = 0; i < 5; i++)
		m->amount[i] += m->drift ? amount_drift[i] : amount_base[i];
	for (int i = 0; i < 3; i++)
		m->channel[i] += m->drift ? channel_drift[i] : channel_base[i];
	for (int i = 0; i < 6; i++)
		m->latency[i] += latency_batch[i];
	m->ok += 995;
	m->failed += 5;
	model_render(m, &resp->body);
	pthread_mutex_unlock(&m->mu);
	resp->content_type = "text/plain; version=0.0.4";
}

static void model_set_drift(struct model *m, bool drift)
{
	pthread_mutex_lock(&m->mu);
	m->drift = drift;
	pthread_mutex_unlock(&m->mu);
}

/* ---- the environment ---- */

struct env {
	struct kube_client *client;
	struct kubeops ops;
	char ns[64];
	struct model model;
	struct httpd *server;
	struct httprecv *sinks[NSINKS];
	struct manager *mgr;
	struct driftpolicy_controller *dpc;
	/* the receivers run on 127.0.0.1 over http://; the API server's address stays refused */
	struct http_netpolicy outbound;
	struct http_netrules apiserver;
};

static struct env env = {.model = {.mu = PTHREAD_MUTEX_INITIALIZER}};

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
		pause_ms(50);
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

static json_t *get(const struct kube_resource *res, const char *name)
{
	json_t *obj = NULL;

	if (kube_get(env.client, res, env.ns, name, &obj, NULL))
		return NULL;
	return obj;
}

static void merge_patch(const struct kube_resource *res, const char *name, const char *sub, json_t *patch)
{
	struct kube_write_opts wo = {.subresource = sub};
	struct kube_status st = {0};
	int rc = kube_patch(env.client, res, env.ns, name, KUBE_PATCH_MERGE, patch, &wo, NULL, &st);

	if (rc)
		fail_msg("patch %s/%s: %s %s", res->resource, name, saqr_strerror(rc), st.message);
	json_decref(patch);
}

static json_t *secret(const char *name, const char *k1, const char *v1, const char *k2, const char *v2)
{
	json_t *s = json_pack("{s:s, s:s, s:{s:s}, s:{s:s}}", "apiVersion", "v1", "kind", "Secret",
			      "metadata", "name", name, "stringData", k1, v1);

	if (k2)
		json_object_set_new(json_object_get(s, "stringData"), k2, json_string(v2));
	return s;
}

static int setup_cluster_objects(void)
{
	char root[1024];
	const char *r = getenv("SAQR_ROOT");
	json_t *ns = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata",
			       "name", env.ns);
	struct kube_write_opts wo = {0};
	int rc = kube_create(env.client, &namespaces, NULL, ns, &wo, NULL, NULL);

	json_decref(ns);
	snprintf(root, sizeof(root), "%s/crds", r ? r : ".");
	if (rc || kubectl((const char *const[]){"apply", "--server-side", "-f", root, NULL}) ||
	    kubectl((const char *const[]){"wait", "--for=condition=established", "--timeout=60s",
					  "crd/driftpolicies.saqr.dev", "crd/modeldeployments.saqr.dev",
					  "crd/trainingjobs.saqr.dev", NULL}))
		return -1;
	return 0;
}

static int start_servers(void)
{
	struct httpd_opts ho = {
	    .address = "127.0.0.1", .max_body = 1 << 20, .handler = model_handler, .ud = &env.model};

	if (httpd_start(&ho, &env.server))
		return -1;
	for (int i = 0; i < NSINKS; i++)
		if (httprecv_start(&env.sinks[i]))
			return -1;
	httprecv_reply(env.sinks[SINK_SNOW], 201,
		       "{\"result\":{\"sys_id\":\"abc123\",\"number\":\"INC0010001\"}}");
	httprecv_reply(env.sinks[SINK_PD], 202, "{\"status\":\"success\",\"dedup_key\":\"x\"}");
	return 0;
}

/* Without the saqr-agent sidecar, so that the scrape reads the server's own port (the stand-in). */
static json_t *model_deployment(const char *name, int port)
{
	return json_pack(
	    "{s:s, s:s, s:{s:s}, s:{s:{s:s, s:s, s:s, s:s, s:s}, s:{s:s, s:i}, s:{s:b}}}", "apiVersion",
	    "saqr.dev/v1alpha1", "kind", "ModelDeployment", "metadata", "name", name, "spec", "model", "name",
	    "fraud", "version", "v3", "uri", "s3://models/fraud/v3", "format", "onnx", "digest",
	    "sha256:3333333333333333333333333333333333333333333333333333333333333333", "server", "image",
	    "registry.example.ae/ml/"
	    "server@sha256:abababababababababababababababababababababababababababababababab",
	    "port", port, "agent", "enabled", 0);
}

/* The ModelDeployment, its rollout history (as its controller would write it), and the
 * EndpointSlice of its Service pointing at the model server. */
static void create_target(void)
{
	int port = httpd_port(env.server);

	create(&mds, model_deployment(MD_NAME, port));
	merge_patch(
	    &mds, MD_NAME, "status",
	    json_pack("{s:{s:[{s:s, s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s}]}}", "status", "history",
		      "version", "v3", "uri", "s3://models/fraud/v3", "format", "onnx", "digest",
		      "sha256:3333333333333333333333333333333333333333333333333333333333333333", "deployedAt",
		      "2026-01-10T08:00:00Z", "version", "v2", "uri", "s3://models/fraud/v2", "format",
		      "onnx", "deployedAt", "2025-12-01T08:00:00Z"));
	create(&slices,
	       json_pack("{s:s, s:s, s:{s:s, s:{s:s}}, s:s, s:[{s:s, s:i, s:s}], s:[{s:[s], s:{s:b}}]}",
			 "apiVersion", "discovery.k8s.io/v1", "kind", "EndpointSlice", "metadata", "name",
			 MD_NAME "-test", "labels", "kubernetes.io/service-name", MD_NAME, "addressType",
			 "FQDN", "ports", "name", "http", "port", port, "protocol", "TCP", "endpoints",
			 "addresses", "model.localhost", "conditions", "ready", 1));
}

static void create_secrets(void)
{
	create(&secrets, secret("am-token", "token", "am-bearer", NULL, NULL));
	create(&secrets, secret("webhook-key", "hmacKey", HMAC_KEY "\n", NULL, NULL));
	create(&secrets, secret("snow", "username", "saqr", "password", "sn-pass"));
	create(&secrets, secret("pd", "routingKey", "R0UT1NG", NULL, NULL));
}

static int start_manager(void)
{
	struct manager_config mc = {.identity = "drift-test", .namespace = env.ns};
	struct operator_ctx ctx = {0};

	if (manager_new(&env.ops, &mc, &env.mgr))
		return -1;
	ctx.mgr = env.mgr;
	ctx.client = env.client;
	ctx.ops = manager_kubeops(env.mgr);
	ctx.events = manager_events(env.mgr);
	ctx.own_namespace = env.ns;
	ctx.workers = 2;
	env.outbound.allow_loopback = true;
	env.outbound.allow_insecure_credentials = true;
	env.outbound.deny = env.apiserver.rule;
	ctx.outbound = &env.outbound;
	if (driftpolicy_controller_new(&ctx, &env.dpc) || manager_start(env.mgr))
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
	if (kube_client_new(cfg, &env.client) ||
	    http_netrules_add_url(&env.apiserver, cfg->server, "the API server's address")) {
		kube_config_free(cfg);
		return -1;
	}
	kube_config_free(cfg);
	kubeops_init_kube(&env.ops, env.client, NULL, NULL);
	snprintf(env.ns, sizeof(env.ns), "saqr-drift-%ld", (long)getpid());
	if (setup_cluster_objects() || start_servers())
		return -1;
	create_target();
	create_secrets();
	return start_manager();
}

static int teardown(void **state)
{
	(void)state;
	if (env.mgr) {
		manager_stop(env.mgr);
		manager_free(env.mgr);
	}
	driftpolicy_controller_free(env.dpc);
	httpd_stop(env.server);
	for (int i = 0; i < NSINKS; i++)
		httprecv_stop(env.sinks[i]);
	/* No controller-manager: the namespace stays Terminating; the cluster is thrown away. */
	kube_delete(env.client, &namespaces, NULL, env.ns, NULL, NULL);
	kube_client_free(env.client);
	return 0;
}

/* ---- the policy ---- */

static json_t *sink(const char *type, int i, const char *secret_name)
{
	char url[128];
	json_t *s;

	httprecv_url(env.sinks[i], url, sizeof(url));
	s = json_pack("{s:s, s:s}", "type", type, "url", url);
	if (secret_name)
		json_object_set_new(s, "secretRef", json_pack("{s:s}", "name", secret_name));
	return s;
}

static json_t *policy(const char *name, const char *target, const char *interval)
{
	json_t *features =
	    json_pack("[{s:s, s:s, s:s, s:f, s:{s:{s:[i,i,i,i], s:[i,i,i,i,i]}}},"
		      " {s:s, s:s, s:s, s:f, s:{s:{s:i, s:i, s:i}}}]",
		      "name", "amount_aed", "type", "numerical", "method", "psi", "threshold", 0.2,
		      "baseline", "bins", "edges", 50, 200, 1000, 5000, "counts", 1830, 4120, 2610, 1150, 290,
		      "name", "channel", "type", "categorical", "method", "chisquare", "threshold", 0.01,
		      "baseline", "categories", "card", 6200, "wallet", 2300, "transfer", 1500);
	json_t *actions =
	    json_pack("{s:{s:s, s:[o,o,o,o]}, s:{s:{s:s, s:[s,s], s:s}}, s:{s:b}, s:s}", "alert", "severity",
		      "critical", "sinks", sink("alertmanager", SINK_AM, "am-token"),
		      sink("webhook", SINK_WEBHOOK, "webhook-key"), sink("servicenow", SINK_SNOW, "snow"),
		      sink("pagerduty", SINK_PD, "pd"), "retrain", "template", "image",
		      "registry.example.ae/ml/"
		      "trainer@sha256:abababababababababababababababababababababababababababababababab",
		      "command", "python", "train.py", "serviceAccountName", "trainer", "rollback", "enabled",
		      1, "cooldown", "1h");

	return json_pack("{s:s, s:s, s:{s:s}, s:{s:{s:s}, s:s, s:{s:{}}, s:o, s:{s:i, s:i, s:f}, s:o}}",
			 "apiVersion", "saqr.dev/v1alpha1", "kind", "DriftPolicy", "metadata", "name", name,
			 "spec", "targetRef", "name", target, "interval", interval, "source", "scrape",
			 "features", features, "slo", "latencyP99Ms", 250, "errorRatePercent", 1,
			 "minQuality", 0.9, "actions", actions);
}

/* ---- reading what the controller did ---- */

struct cond_want {
	const char *dp, *type, *status, *reason;
};

static bool dp_condition_is(void *arg)
{
	struct cond_want *w = arg;
	json_t *dp = get(&dps, w->dp);
	json_t *c = cond_find(json_path(dp, "status.conditions"), w->type);
	bool ok = c && strcmp(json_path_str(c, "status", ""), w->status) == 0 &&
		  (!w->reason || strcmp(json_path_str(c, "reason", ""), w->reason) == 0);

	json_decref(dp);
	return ok;
}

static void expect_condition(const char *dp, const char *type, const char *status, const char *reason)
{
	struct cond_want w = {dp, type, status, reason};

	if (!wait_for(dp_condition_is, &w)) {
		json_t *obj = get(&dps, dp);
		char *s = json_dumps(json_object_get(obj, "status"), JSON_INDENT(1));

		fail_msg("%s: condition %s never became %s/%s; status: %s", dp, type, status,
			 reason ? reason : "*", s ? s : "null");
	}
}

/* The first incident of the main policy, or NULL. New reference. */
static json_t *incident0(void)
{
	json_t *dp = get(&dps, DP_NAME), *inc = json_incref(json_path(dp, "status.incidents.0"));

	json_decref(dp);
	return inc;
}

static size_t pending_count(void)
{
	json_t *dp = get(&dps, DP_NAME);
	size_t n = json_array_size(json_path(dp, "status.pendingNotifications"));

	json_decref(dp);
	return n;
}

static bool incident_settled(void *arg)
{
	json_t *inc = incident0();
	bool ok = inc && json_path_bool(inc, "notified", false, NULL) &&
		  json_object_get(inc, "trainingJob") && json_object_get(inc, "rolledBackTo") &&
		  pending_count() == 0;

	(void)arg;
	json_decref(inc);
	return ok;
}

static bool incident_resolved_and_delivered(void *arg)
{
	json_t *inc = incident0();
	bool ok = inc && json_object_get(inc, "resolvedAt") && pending_count() == 0;

	(void)arg;
	json_decref(inc);
	return ok;
}

/* Pending entries of the main policy that failed at least `attempts` times: at least `want`. */
struct failing_want {
	long long attempts;
	size_t want;
};

static bool failing_pending(void *arg)
{
	struct failing_want *w = arg;
	json_t *dp = get(&dps, DP_NAME), *e;
	size_t i, n = 0;

	json_array_foreach(json_path(dp, "status.pendingNotifications"), i, e) n +=
	    json_path_int(e, "attempts", 0) >= w->attempts;
	json_decref(dp);
	return n >= w->want;
}

/* Requests a sink answered with 2xx. */
static size_t accepted(int s)
{
	size_t n = 0;

	for (size_t i = 0; i < httprecv_count(env.sinks[s]); i++) {
		json_t *r = httprecv_request(env.sinks[s], i);

		n += json_path_int(r, "status", 0) / 100 == 2;
		json_decref(r);
	}
	return n;
}

/* The last request a sink answered with 2xx. New reference. */
static json_t *last_accepted(int s, json_t **body)
{
	json_t *found = NULL;

	for (size_t i = 0; i < httprecv_count(env.sinks[s]); i++) {
		json_t *r = httprecv_request(env.sinks[s], i);

		if (json_path_int(r, "status", 0) / 100 == 2) {
			json_decref(found);
			found = r;
		} else {
			json_decref(r);
		}
	}
	assert_non_null(found);
	*body = json_loads(json_path_str(found, "body", ""), 0, NULL);
	assert_non_null(*body);
	return found;
}

static bool has_event(const char *reason, const char *regarding)
{
	struct kube_list_opts lo = {0};
	json_t *list = NULL, *ev;
	bool found = false;
	size_t i;

	if (kube_list_all(env.client, &events_resource, env.ns, &lo, &list, NULL))
		return false;
	json_array_foreach(json_object_get(list, "items"), i, ev) found =
	    found || (strcmp(json_path_str(ev, "reason", ""), reason) == 0 &&
		      strcmp(json_path_str(ev, "regarding.name", ""), regarding) == 0);
	json_decref(list);
	return found;
}

struct event_want {
	const char *reason, *regarding;
};

static bool event_recorded(void *arg)
{
	struct event_want *w = arg;

	return has_event(w->reason, w->regarding);
}

/* Wait until the policy evaluated n more times (lastEvaluationTime moved n times). */
struct evals_want {
	const char *dp;
	char last[32];
	int left;
};

static bool evaluated_again(void *arg)
{
	struct evals_want *w = arg;
	json_t *dp = get(&dps, w->dp);
	const char *t = json_path_str(dp, "status.lastEvaluationTime", "");

	if (*t && strcmp(t, w->last) != 0) {
		snprintf(w->last, sizeof(w->last), "%s", t);
		w->left--;
	}
	json_decref(dp);
	return w->left <= 0;
}

static void wait_evaluations(const char *dp_name, int n)
{
	struct evals_want w = {dp_name, "", n + 1};

	assert_true(wait_for(evaluated_again, &w));
}

/* ---- tests ---- */

static void test_first_window_then_no_drift(void **state)
{
	json_t *dp;

	(void)state;
	create(&dps, policy(DP_NAME, MD_NAME, "2s"));
	/* the first scrape only records a reading */
	expect_condition(DP_NAME, "Ready", "Unknown", "WaitingForWindow");
	expect_condition(DP_NAME, "Ready", "True", "Evaluated");
	expect_condition(DP_NAME, "DriftDetected", "False", "NoDrift");
	expect_condition(DP_NAME, "SLOBreached", "False", "WithinObjectives");
	expect_condition(DP_NAME, "Degraded", "False", "AsExpected");
	dp = get(&dps, DP_NAME);
	assert_int_equal(json_path_int(dp, "status.observedGeneration", 0),
			 json_path_int(dp, "metadata.generation", -1));
	assert_string_equal(json_path_str(dp, "status.features.0.name", ""), "amount_aed");
	assert_true(json_number_value(json_path(dp, "status.latencyP99Ms")) > 199.9);
	assert_true(json_number_value(json_path(dp, "status.latencyP99Ms")) < 200.1);
	assert_true(json_number_value(json_path(dp, "status.errorRatePercent")) > 0.49);
	assert_null(json_path(dp, "status.incidents"));
	json_decref(dp);
	for (int i = 0; i < NSINKS; i++)
		assert_int_equal(httprecv_count(env.sinks[i]), 0);
}

static void check_trigger_payloads(const char *id)
{
	json_t *req, *body;
	char hex[65], want[80], delivery[400];
	const char *ts;

	req = last_accepted(SINK_AM, &body);
	assert_string_equal(json_path_str(req, "method", ""), "POST");
	assert_string_equal(json_path_str(req, "path", ""), "/api/v2/alerts");
	assert_string_equal(json_path_str(req, "headers.authorization", ""), "Bearer am-bearer");
	assert_string_equal(json_path_str(body, "0.labels.alertname", ""), "DriftDetected");
	assert_string_equal(json_path_str(body, "0.labels.incident", ""), id);
	assert_string_equal(json_path_str(body, "0.labels.severity", ""), "critical");
	assert_null(json_path(body, "0.endsAt"));
	json_decref(req);
	json_decref(body);
	req = last_accepted(SINK_WEBHOOK, &body);
	snprintf(delivery, sizeof(delivery), "%s/1/trigger", id);
	/* signed over timestamp, delivery id and body; the timestamp is this attempt's */
	ts = json_path_str(req, "headers.x-saqr-timestamp", "");
	assert_true(llabs(strtoll(ts, NULL, 10) - (long long)time(NULL)) < 300);
	assert_int_equal(notify_webhook_sign(HMAC_KEY, ts, delivery, json_path_str(req, "body", ""),
					     strlen(json_path_str(req, "body", "")), hex),
			 0);
	snprintf(want, sizeof(want), "sha256=%s", hex);
	assert_string_equal(json_path_str(req, "headers.x-saqr-signature-256", ""), want);
	assert_string_equal(json_path_str(req, "headers.x-saqr-delivery", ""), delivery);
	assert_string_equal(json_path_str(body, "event", ""), "incident.opened");
	assert_string_equal(json_path_str(body, "incident.id", ""), id);
	assert_string_equal(json_path_str(body, "details.driftedFeatures.0.name", ""), "amount_aed");
	json_decref(req);
	json_decref(body);
	req = last_accepted(SINK_SNOW, &body);
	assert_string_equal(json_path_str(req, "path", ""), "/api/now/table/incident");
	assert_string_equal(json_path_str(req, "headers.authorization", ""),
			    "Basic c2Fxcjpzbi1wYXNz"); /* saqr:sn-pass */
	assert_string_equal(json_path_str(body, "correlation_id", ""), id);
	assert_string_equal(json_path_str(body, "urgency", ""), "1");
	json_decref(req);
	json_decref(body);
	req = last_accepted(SINK_PD, &body);
	assert_string_equal(json_path_str(req, "path", ""), "/v2/enqueue");
	assert_string_equal(json_path_str(body, "routing_key", ""), "R0UT1NG");
	assert_string_equal(json_path_str(body, "event_action", ""), "trigger");
	assert_string_equal(json_path_str(body, "dedup_key", ""), id);
	assert_string_equal(json_path_str(body, "payload.severity", ""), "critical");
	json_decref(req);
	json_decref(body);
}

static void test_drift_opens_incident_and_acts(void **state)
{
	struct event_want ev = {"IncidentOpened", DP_NAME};
	struct kube_list_opts lo = {0};
	json_t *inc, *tj, *md, *list = NULL;
	char id[320], tj_name[128];

	(void)state;
	model_set_drift(&env.model, true);
	expect_condition(DP_NAME, "DriftDetected", "True", "FeatureDrift");
	assert_true(wait_for(incident_settled, NULL));
	inc = incident0();
	snprintf(id, sizeof(id), "%s", json_path_str(inc, "id", ""));
	snprintf(tj_name, sizeof(tj_name), "%s", json_path_str(inc, "trainingJob", ""));
	assert_string_equal(json_path_str(inc, "reason", ""), "DriftDetected");
	assert_string_equal(tj_name, DP_NAME "-retrain-1");
	assert_string_equal(json_path_str(inc, "rolledBackTo", ""), "v2 (s3://models/fraud/v2)");
	assert_string_equal(json_path_str(inc, "externalIds.2", ""), "abc123");
	assert_null(json_object_get(inc, "resolvedAt"));
	json_decref(inc);
	/* one notification per sink */
	for (int i = 0; i < NSINKS; i++)
		assert_int_equal(accepted(i), 1);
	check_trigger_payloads(id);
	/* the Event, the TrainingJob owned by the policy, the rolled-back model */
	assert_true(wait_for(event_recorded, &ev));
	ev.reason = "RolledBack";
	ev.regarding = MD_NAME;
	assert_true(wait_for(event_recorded, &ev));
	tj = get(&tjs, tj_name);
	assert_non_null(tj);
	assert_string_equal(json_path_str(tj, "metadata.ownerReferences.0.kind", ""), "DriftPolicy");
	assert_true(json_path_bool(tj, "metadata.ownerReferences.0.controller", false, NULL));
	assert_string_equal(
	    json_string_value(json_object_get(json_path(tj, "metadata.annotations"), "saqr.dev/incident")),
	    id);
	assert_string_equal(
	    json_path_str(tj, "spec.image", ""),
	    "registry.example.ae/ml/"
	    "trainer@sha256:abababababababababababababababababababababababababababababababab");
	json_decref(tj);
	md = get(&mds, MD_NAME);
	/* spec.model stays Git's (v3); the rollback is the override in force on top of it */
	assert_string_equal(json_path_str(md, "spec.model.version", ""), "v3");
	assert_string_equal(json_path_str(md, "spec.modelOverride.model.version", ""), "v2");
	assert_string_equal(json_path_str(md, "spec.modelOverride.model.uri", ""), "s3://models/fraud/v2");
	assert_null(json_path(md, "spec.modelOverride.model.digest"));
	assert_string_equal(json_path_str(md, "spec.modelOverride.reason", ""), "Rollback");
	assert_string_equal(json_path_str(md, "spec.modelOverride.base.version", ""), "v3");
	json_decref(md);
	/* Argo CD syncs the Git manifest (server-side apply by another field manager, forced): the
	 * rollback holds */
	{
		struct kube_write_opts wo = {.field_manager = "argocd-controller", .force = true};
		json_t *manifest = model_deployment(MD_NAME, httpd_port(env.server));

		json_object_set_new(json_object_get(manifest, "metadata"), "namespace", json_string(env.ns));
		assert_int_equal(kube_patch(env.client, &mds, env.ns, MD_NAME, KUBE_PATCH_APPLY, manifest,
					    &wo, NULL, NULL),
				 0);
		json_decref(manifest);
		md = get(&mds, MD_NAME);
		assert_string_equal(json_path_str(md, "spec.model.version", ""), "v3");
		assert_string_equal(json_path_str(md, "spec.modelOverride.model.version", ""), "v2");
		json_decref(md);
	}
	/* later evaluations of the same drift change nothing: no second notification, job or rollback */
	wait_evaluations(DP_NAME, 2);
	for (int i = 0; i < NSINKS; i++)
		assert_int_equal(httprecv_count(env.sinks[i]), 1);
	assert_int_equal(kube_list_all(env.client, &tjs, env.ns, &lo, &list, NULL), 0);
	assert_int_equal(json_array_size(json_object_get(list, "items")), 1);
	json_decref(list);
	md = get(&mds, MD_NAME);
	assert_string_equal(json_path_str(md, "spec.modelOverride.model.version", ""), "v2");
	json_decref(md);
}

static void test_resolve_reaches_sinks_after_an_outage(void **state)
{
	struct failing_want fw = {1, 2};
	struct event_want ev = {"IncidentResolved", DP_NAME};
	json_t *req, *body, *inc;
	char id[320], delivery[400];
	size_t webhook_seen;

	(void)state;
	inc = incident0();
	snprintf(id, sizeof(id), "%s", json_path_str(inc, "id", ""));
	json_decref(inc);
	/* the webhook fails, PagerDuty is unreachable */
	httprecv_reply(env.sinks[SINK_WEBHOOK], 503, "try later");
	httprecv_set_down(env.sinks[SINK_PD], 1);
	model_set_drift(&env.model, false);
	expect_condition(DP_NAME, "DriftDetected", "False", "NoDrift");
	assert_true(wait_for(event_recorded, &ev));
	/* the two stay queued, with their errors, and retry with backoff */
	assert_true(wait_for(failing_pending, &fw));
	expect_condition(DP_NAME, "Degraded", "True", "NotificationFailing");
	fw.attempts = 2;
	assert_true(wait_for(failing_pending, &fw));
	webhook_seen = httprecv_count(env.sinks[SINK_WEBHOOK]);
	assert_true(webhook_seen >= 3); /* the trigger, then two failed resolves */
	/* both come back: each resolve arrives once */
	httprecv_reply(env.sinks[SINK_WEBHOOK], 200, "");
	httprecv_set_down(env.sinks[SINK_PD], 0);
	assert_true(wait_for(incident_resolved_and_delivered, NULL));
	wait_evaluations(DP_NAME, 1);
	for (int i = 0; i < NSINKS; i++)
		assert_int_equal(accepted(i), 2);
	assert_int_equal(httprecv_count(env.sinks[SINK_PD]), 2);
	req = last_accepted(SINK_WEBHOOK, &body);
	snprintf(delivery, sizeof(delivery), "%s/1/resolve", id);
	assert_string_equal(json_path_str(req, "headers.x-saqr-delivery", ""), delivery);
	json_decref(req);
	/* every retry of the resolve carried the same delivery id (receivers dedup on it) */
	for (size_t i = 0; i < httprecv_count(env.sinks[SINK_WEBHOOK]); i++) {
		req = httprecv_request(env.sinks[SINK_WEBHOOK], i);
		if (strstr(json_path_str(req, "body", ""), "\"incident.resolved\""))
			assert_string_equal(json_path_str(req, "headers.x-saqr-delivery", ""), delivery);
		json_decref(req);
	}
	req = NULL;
	assert_string_equal(json_path_str(body, "event", ""), "incident.resolved");
	json_decref(req);
	json_decref(body);
	req = last_accepted(SINK_SNOW, &body);
	assert_string_equal(json_path_str(req, "method", ""), "PATCH");
	assert_string_equal(json_path_str(req, "path", ""), "/api/now/table/incident/abc123");
	assert_string_equal(json_path_str(body, "state", ""), "6");
	json_decref(req);
	json_decref(body);
	req = last_accepted(SINK_PD, &body);
	assert_string_equal(json_path_str(body, "event_action", ""), "resolve");
	assert_string_equal(json_path_str(body, "dedup_key", ""), id);
	json_decref(req);
	json_decref(body);
	req = last_accepted(SINK_AM, &body);
	assert_non_null(json_path(body, "0.endsAt"));
	json_decref(req);
	json_decref(body);
	expect_condition(DP_NAME, "Degraded", "False", "AsExpected");
}

static double metric(const char *name, const char *labels)
{
	return metrics_value(manager_metrics(env.mgr), name, labels);
}

struct reconciles_want {
	const char *result;
	double above;
};

static bool reconciled_more(void *arg)
{
	struct reconciles_want *w = arg;
	char labels[128];

	snprintf(labels, sizeof(labels), "controller=\"driftpolicy\",result=\"%s\"", w->result);
	return metric("saqr_reconcile_total", labels) > w->above;
}

static double reconciles(const char *result)
{
	char labels[128];

	snprintf(labels, sizeof(labels), "controller=\"driftpolicy\",result=\"%s\"", result);
	return metric("saqr_reconcile_total", labels);
}

static void touch(const char *dp_name, const char *value)
{
	merge_patch(&dps, dp_name, NULL, json_pack("{s:{s:{s:s}}}", "metadata", "labels", "touched", value));
}

static void test_suspend_stops_evaluations(void **state)
{
	struct reconciles_want rw = {"success", 0};
	json_t *dp;
	char before[32];

	(void)state;
	merge_patch(&dps, DP_NAME, NULL, json_pack("{s:{s:b}}", "spec", "suspend", 1));
	expect_condition(DP_NAME, "Ready", "False", "Suspended");
	dp = get(&dps, DP_NAME);
	snprintf(before, sizeof(before), "%s", json_path_str(dp, "status.lastEvaluationTime", ""));
	json_decref(dp);
	/* a suspended policy is reconciled (a label changed) but neither evaluated nor requeued */
	rw.above = reconciles("success");
	touch(DP_NAME, "1");
	assert_true(wait_for(reconciled_more, &rw));
	dp = get(&dps, DP_NAME);
	assert_string_equal(json_path_str(dp, "status.lastEvaluationTime", ""), before);
	json_decref(dp);
}

static void test_unrelated_event_does_not_write(void **state)
{
	struct reconciles_want rw = {"requeue_after", 0};
	double writes;
	json_t *dp;
	char before[64];

	(void)state;
	/* the suspended policy ends its reconciles with "success": requeue_after counts this one */
	rw.above = reconciles("requeue_after") + 1;
	create(&dps, policy("quiet-drift", MD_NAME, "1h"));
	expect_condition("quiet-drift", "Ready", "Unknown", "WaitingForWindow");
	/* its first reconcile wrote that; the update it caused was reconciled without a write */
	assert_true(wait_for(reconciled_more, &rw));
	writes =
	    metric("saqr_api_requests_total", "verb=\"update\",resource=\"driftpolicies\",result=\"ok\"");
	dp = get(&dps, "quiet-drift");
	snprintf(before, sizeof(before), "%s",
		 json_path_str(dp, "status.conditions.0.lastTransitionTime", ""));
	json_decref(dp);
	/* a label change queues the policy long before its interval is over: no write */
	rw.above = reconciles("requeue_after");
	touch("quiet-drift", "1");
	assert_true(wait_for(reconciled_more, &rw));
	assert_true(metric("saqr_api_requests_total",
			   "verb=\"update\",resource=\"driftpolicies\",result=\"ok\"") == writes);
	dp = get(&dps, "quiet-drift");
	assert_string_equal(json_path_str(dp, "status.conditions.0.lastTransitionTime", ""), before);
	json_decref(dp);
}

static void test_unreadable_source_is_not_no_drift(void **state)
{
	(void)state;
	/* a ModelDeployment without endpoints, and one that does not exist */
	create(&mds, model_deployment("no-endpoints", 8080));
	create(&dps, policy("blind-drift", "no-endpoints", "2s"));
	expect_condition("blind-drift", "Ready", "False", "SourceUnavailable");
	expect_condition("blind-drift", "DriftDetected", "Unknown", "SourceUnavailable");
	expect_condition("blind-drift", "Degraded", "True", "SourceUnavailable");
	create(&dps, policy("orphan-drift", "missing-model", "2s"));
	expect_condition("orphan-drift", "Ready", "False", "TargetNotFound");
}

static void test_baseline_capture(void **state)
{
	static const struct kube_resource configmaps = {"", "v1", "configmaps", true};
	json_t *dp = json_pack("{s:s, s:s, s:{s:s}, s:{s:{s:s}, s:s, s:{s:{}}, s:{s:b}}}", "apiVersion",
			       "saqr.dev/v1alpha1", "kind", "DriftPolicy", "metadata", "name",
			       "capture-drift", "spec", "targetRef", "name", MD_NAME, "interval", "2s",
			       "source", "scrape", "baseline", "capture", 1);
	struct event_want ev = {"BaselineCaptured", "capture-drift"};
	json_t *cm, *doc;

	(void)state;
	model_set_drift(&env.model, false);
	create(&dps, dp);
	expect_condition("capture-drift", "Ready", "True", "Evaluated");
	expect_condition("capture-drift", "DriftDetected", "False", "NoDrift");
	assert_true(wait_for(event_recorded, &ev));
	cm = get(&configmaps, "capture-drift-baseline");
	assert_non_null(cm);
	assert_string_equal(json_path_str(cm, "metadata.ownerReferences.0.name", ""), "capture-drift");
	doc = json_loads(json_string_value(json_object_get(json_object_get(cm, "data"), "baseline.json")), 0,
			 NULL);
	assert_non_null(doc);
	assert_int_equal(json_array_size(json_path(doc, "features.amount_aed.edges")), 4);
	assert_non_null(json_path(doc, "features.channel.categories.card"));
	json_decref(doc);
	json_decref(cm);
	dp = get(&dps, "capture-drift");
	assert_int_equal(json_array_size(json_path(dp, "status.features")), 2);
	assert_string_equal(json_path_str(dp, "status.features.0.method", ""), "psi");
	json_decref(dp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_first_window_then_no_drift),
	    cmocka_unit_test(test_drift_opens_incident_and_acts),
	    cmocka_unit_test(test_resolve_reaches_sinks_after_an_outage),
	    cmocka_unit_test(test_suspend_stops_evaluations),
	    cmocka_unit_test(test_unrelated_event_does_not_write),
	    cmocka_unit_test(test_unreadable_source_is_not_no_drift),
	    cmocka_unit_test(test_baseline_capture),
	};

	return cmocka_run_group_tests_name("driftpolicy (integration)", tests, setup, teardown);
}
