/* The DriftPolicy loop with the real observability stack, against the real local kube-apiserver:
 *   traffic (KServe V1 and Open Inference Protocol V2, over TLS) ─▶ saqr-agent ─▶ saqr-demo-server
 *   Prometheus ─(scrapes every second)─▶ saqr-agent's /metrics
 *   DriftPolicy controller ─(PromQL, source.prometheus)─▶ Prometheus
 *   DriftPolicy controller ─(alertmanager sink)─▶ Alertmanager ─(webhook receiver)─▶ a recorder
 * The test steers the traffic's feature values (baseline, then drift, then baseline again) and
 * reads what each real server did: the drift in the policy's status, the alert in Alertmanager's
 * API (/api/v2/alerts, /api/v2/alerts/groups) and its resolution. Prometheus and Alertmanager are
 * built from their Go modules by hack/observability.sh (bindir; SAQR_OBSERVABILITY_BIN overrides).
 * Waits poll with a deadline; nothing is timed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/jsonutil.h"
#include "http/http.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "operator/conditions.h"
#include "operator/driftpolicy/driftpolicy.h"
#include "operator/runtime/kubeops.h"
#include "operator/runtime/manager.h"
#include "../support/certgen.h"
#include "../support/httprecv.h"
#include "../support/kubetest.h"
#include "../support/proc.h"

#define WAIT_LIMIT 90.0 /* seconds before a wait gives up; generous, never a measure */
#define MD_NAME "fraud-detector"
#define DP_NAME "fraud-drift"
#define ROWS 10 /* rows per inference request */

static const struct kube_resource namespaces = {"", "v1", "namespaces", false};
static const struct kube_resource mds = {"saqr.dev", "v1alpha1", "modeldeployments", true};
static const struct kube_resource dps = {"saqr.dev", "v1alpha1", "driftpolicies", true};

/* Per 100 rows: how many fall in each amount_aed bin (edges 50, 200, 1000, 5000) and each channel. */
static const int amount_base[5] = {18, 41, 26, 12, 3}, amount_drift[5] = {5, 15, 30, 35, 15};
static const int channel_base[3] = {62, 23, 15}, channel_drift[3] = {20, 65, 15};
static const char *const amount_value[5] = {"25", "120", "480", "2400", "9000"};
static const char *const channel_value[3] = {"card", "wallet", "transfer"};

struct env {
	struct kube_client *client;
	struct kubeops ops;
	char ns[64];
	char *dir;
	char obs_bin[1024];
	struct proc demo, agent, prom, am;
	char agent_url[128], prom_url[128], am_url[128];
	struct httprecv *am_receiver; /* Alertmanager's webhook receiver */
	pthread_t traffic;
	bool traffic_running;
	pthread_mutex_t mu;
	bool drift, stop;
	unsigned long sent, failed;
	struct manager *mgr;
	struct driftpolicy_controller *dpc;
	/* Prometheus and Alertmanager run on 127.0.0.1; the API server's address stays refused */
	struct http_netpolicy outbound;
	struct http_netrules apiserver;
};

static struct env env = {.mu = PTHREAD_MUTEX_INITIALIZER};

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

/* ---- HTTP to the servers ---- */

/* GET or POST url; the JSON answer of a 2xx, else NULL. New reference. */
static json_t *http_json(const char *method, const char *url, const char *body)
{
	static const char *const json_hdr[] = {"Content-Type: application/json", NULL};
	struct http_request req = {
	    .method = method, .url = url, .body = body, .headers = body ? json_hdr : NULL};
	struct http_opts o = {.timeout_ms = 10000};
	struct http_response *r = NULL;
	json_t *out = NULL;
	char err[256];

	if (http_do(&req, &o, &r, err, sizeof(err)) == 0 && http_status_ok(r->status))
		out = json_loads(buf_str(&r->body), 0, NULL);
	http_response_free(r);
	return out;
}

/* The value of a PromQL instant query whose answer has one sample; NAN when it has none. */
static double prom_value(const char *promql)
{
	struct buf url;
	json_t *ans;
	double v = NAN;

	buf_init(&url, 8192);
	buf_addf(&url, "%s/api/v1/query?query=", env.prom_url);
	http_add_escaped(&url, promql);
	ans = http_json("GET", buf_str(&url), NULL);
	if (json_array_size(json_path(ans, "data.result")) == 1)
		v = strtod(json_path_str(ans, "data.result.0.value.1", "nan"), NULL);
	json_decref(ans);
	buf_release(&url);
	return v;
}

/* ---- the traffic: inference requests through the agent ---- */

/* Row i (0..99) of a distribution: the bins are spread over the 100 rows (37 and 61 are prime to
 * 100), so any run of rows is close to the distribution. */
static int pick(const int *per100, int nbins, int i, int stride)
{
	int j = (i * stride) % 100, cum = 0;

	for (int b = 0; b < nbins; b++) {
		cum += per100[b];
		if (j < cum)
			return b;
	}
	return nbins - 1;
}

/* One request of ROWS rows starting at row `first`: KServe V1 (`instances`, a row per instance)
 * on even requests, Open Inference Protocol V2 (a BYTES tensor of shape [ROWS, 2]) on odd ones. */
static void traffic_body(bool drift, unsigned long seq, struct buf *body, struct buf *url)
{
	const int *amount = drift ? amount_drift : amount_base,
		  *channel = drift ? channel_drift : channel_base;
	bool v2 = seq % 2;

	buf_addf(url, "%s%s", env.agent_url, v2 ? "/v2/models/fraud/infer" : "/v1/models/fraud:predict");
	buf_adds(body,
		 v2 ? "{\"inputs\":[{\"name\":\"input\",\"datatype\":\"BYTES\",\"shape\":[10,2],\"data\":["
		    : "{\"instances\":[");
	for (int r = 0; r < ROWS; r++) {
		int i = (int)((seq * ROWS + (unsigned long)r) % 100);
		const char *a = amount_value[pick(amount, 5, i, 37)],
			   *c = channel_value[pick(channel, 3, i, 61)];

		if (v2)
			buf_addf(body, "%s\"%s\",\"%s\"", r ? "," : "", a, c);
		else
			buf_addf(body, "%s[%s,\"%s\"]", r ? "," : "", a, c);
	}
	buf_adds(body, v2 ? "]}]}" : "]}");
}

static void *traffic_run(void *arg)
{
	static const char *const hdr[] = {"Content-Type: application/json", NULL};
	char ca[1100], err[256];
	unsigned long seq = 0;

	(void)arg;
	snprintf(ca, sizeof(ca), "%s/ca.crt", env.dir);
	for (;;) {
		struct buf body, url;
		struct http_opts o = {.timeout_ms = 10000, .tls.ca_file = ca};
		struct http_request req = {.method = "POST", .headers = hdr};
		struct http_response *r = NULL;
		bool drift, stop, ok;

		pthread_mutex_lock(&env.mu);
		drift = env.drift;
		stop = env.stop;
		pthread_mutex_unlock(&env.mu);
		if (stop)
			break;
		buf_init(&body, 1 << 16);
		buf_init(&url, 512);
		traffic_body(drift, seq++, &body, &url);
		req.url = buf_str(&url);
		req.body = buf_str(&body);
		ok = http_do(&req, &o, &r, err, sizeof(err)) == 0 && http_status_ok(r->status);
		http_response_free(r);
		buf_release(&body);
		buf_release(&url);
		pthread_mutex_lock(&env.mu);
		env.sent += ok;
		env.failed += !ok;
		pthread_mutex_unlock(&env.mu);
		pause_ms(50);
	}
	return NULL;
}

static void traffic_set_drift(bool drift)
{
	pthread_mutex_lock(&env.mu);
	env.drift = drift;
	pthread_mutex_unlock(&env.mu);
}

/* ---- the servers ---- */

/* V1 rows are arrays (the feature's index); V2 requests carry one BYTES tensor called "input",
 * [rows, 2], read by column (index) too. */
static const char agent_config[] = "features:\n"
				   "  - name: amount_aed\n"
				   "    type: numerical\n"
				   "    edges: [50, 200, 1000, 5000]\n"
				   "    index: 0\n"
				   "    input: input\n"
				   "  - name: channel\n"
				   "    type: categorical\n"
				   "    categories: [card, wallet, transfer]\n"
				   "    index: 1\n"
				   "    input: input\n";

static int path_in(char *out, size_t n, const char *file)
{
	return snprintf(out, n, "%s/%s", env.dir, file) < (int)n ? 0 : -1;
}

static void print_log(const struct proc *p, const char *what)
{
	struct buf b;

	buf_init(&b, 1 << 20);
	proc_log(p, &b);
	fprintf(stderr, "%s did not start: %s\n", what, buf_str(&b));
	buf_release(&b);
}

/* Start a server and read the port it listens on from its log, after needle. */
static int start_server(struct proc *p, const char *const argv[], const char *log, const char *needle,
			int *port)
{
	char path[1100];
	long v = 0;

	path_in(path, sizeof(path), log);
	if (proc_start(p, argv, NULL, path) || proc_log_number(p, needle, 60000, &v) || v <= 0) {
		print_log(p, argv[0]);
		return -1;
	}
	*port = (int)v;
	return 0;
}

/* Start Prometheus or Alertmanager on 127.0.0.1:0 and read its port from the exporter-toolkit
 * line `msg="Listening on" ... address=127.0.0.1:<port>`. */
static int start_prom_server(struct proc *p, const char *const argv[], const char *log, char *url,
			     size_t urllen)
{
	char path[1100];
	const char *at;
	struct buf b;
	long port = 0;

	path_in(path, sizeof(path), log);
	if (proc_start(p, argv, NULL, path) || proc_wait_log(p, "msg=\"Listening on\"", 60000)) {
		print_log(p, argv[0]);
		return -1;
	}
	buf_init(&b, 1 << 20);
	proc_log(p, &b);
	at = strstr(buf_str(&b), "msg=\"Listening on\"");
	at = at ? strstr(at, "address=127.0.0.1:") : NULL;
	if (at)
		port = strtol(at + strlen("address=127.0.0.1:"), NULL, 10);
	buf_release(&b);
	if (port <= 0) {
		print_log(p, argv[0]);
		return -1;
	}
	snprintf(url, urllen, "http://127.0.0.1:%ld", port);
	return 0;
}

static int start_demo_and_agent(void)
{
	char demo[1100], agent[1100], rec[1100], cfg[1100], crt[1100], key[1100], ca[1100], up[64];
	struct certgen_ca *cagen = NULL;
	int port = 0, mport = 0, rc;
	long proxy_port = 0;

	snprintf(demo, sizeof(demo), "%s/build/rel/tools/saqr-demo-server", kubetest_root());
	snprintf(agent, sizeof(agent), "%s/saqr-agent",
		 getenv("SAQR_SAN_BIN") ? getenv("SAQR_SAN_BIN") : "build/san/bin");
	path_in(rec, sizeof(rec), "demo-record.jsonl");
	path_in(cfg, sizeof(cfg), "agent.yaml");
	path_in(crt, sizeof(crt), "agent.crt");
	path_in(key, sizeof(key), "agent.key");
	path_in(ca, sizeof(ca), "ca.crt");
	rc = certgen_ca_new("saqr-observability-test", &cagen) || certgen_ca_write(cagen, ca) ||
	     certgen_leaf(cagen, "localhost", "IP:127.0.0.1,DNS:localhost", false, crt, key) ||
	     kubetest_write(env.dir, "agent.yaml", agent_config);
	certgen_ca_free(cagen);
	if (rc || start_server(&env.demo, (const char *const[]){demo, "--record", rec, NULL}, "demo.log",
			       "port=", &port))
		return -1;
	snprintf(up, sizeof(up), "127.0.0.1:%d", port);
	if (start_server(&env.agent,
			 (const char *const[]){agent, "--upstream", up, "--address", "127.0.0.1", "--port",
					       "0", "--metrics-address", "127.0.0.1", "--metrics-port", "0",
					       "--cert-file", crt, "--key-file", key, "--config-file", cfg,
					       NULL},
			 "agent.log", "\"metricsPort\":\"", &mport) ||
	    proc_log_number(&env.agent, "\"msg\":\"serving\",\"port\":\"", 1000, &proxy_port))
		return -1;
	snprintf(env.agent_url, sizeof(env.agent_url), "https://127.0.0.1:%ld", proxy_port);
	return mport;
}

static int start_prometheus(int agent_metrics_port)
{
	char bin[1100], cfg[1100], data[1100], conf[1024];

	snprintf(conf, sizeof(conf),
		 "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
		 "scrape_configs:\n  - job_name: saqr-agent\n    static_configs:\n"
		 "      - targets: ['127.0.0.1:%d']\n        labels: {namespace: '%s', service: '%s'}\n",
		 agent_metrics_port, env.ns, MD_NAME);
	snprintf(bin, sizeof(bin), "%s/prometheus", env.obs_bin);
	path_in(cfg, sizeof(cfg), "prometheus.yml");
	path_in(data, sizeof(data), "prometheus-data");
	if (kubetest_write(env.dir, "prometheus.yml", conf) ||
	    start_prom_server(&env.prom,
			      (const char *const[]){bin, "--config.file", cfg, "--storage.tsdb.path", data,
						    "--web.listen-address", "127.0.0.1:0", NULL},
			      "prometheus.log", env.prom_url, sizeof(env.prom_url)))
		return -1;
	return 0;
}

static int start_alertmanager(void)
{
	char bin[1100], cfg[1100], data[1100], conf[1024], recv[128];

	if (httprecv_start(&env.am_receiver))
		return -1;
	httprecv_url(env.am_receiver, recv, sizeof(recv));
	/* one group per policy; notifications at once; a long resolve_timeout: Saqr resolves */
	snprintf(conf, sizeof(conf),
		 "global:\n  resolve_timeout: 1h\n"
		 "route:\n  receiver: saqr-test\n  group_by: [alertname, driftpolicy]\n"
		 "  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\n"
		 "receivers:\n  - name: saqr-test\n    webhook_configs:\n"
		 "      - url: '%s/alerts'\n        send_resolved: true\n",
		 recv);
	snprintf(bin, sizeof(bin), "%s/alertmanager", env.obs_bin);
	path_in(cfg, sizeof(cfg), "alertmanager.yml");
	path_in(data, sizeof(data), "alertmanager-data");
	if (kubetest_write(env.dir, "alertmanager.yml", conf) ||
	    start_prom_server(&env.am,
			      (const char *const[]){bin, "--config.file", cfg, "--storage.path", data,
						    "--web.listen-address", "127.0.0.1:0",
						    "--cluster.listen-address=", NULL},
			      "alertmanager.log", env.am_url, sizeof(env.am_url)))
		return -1;
	return 0;
}

/* hack/observability.sh bindir (instant once built; `make test-integration` builds it first). */
static int find_observability_bin(void)
{
	const char *over = getenv("SAQR_OBSERVABILITY_BIN");
	char script[1100];
	struct buf out, err;
	struct proc_opts po = {.timeout_ms = 3600 * 1000, .err = &err};
	int code = -1;

	if (over && *over) {
		snprintf(env.obs_bin, sizeof(env.obs_bin), "%s", over);
		return 0;
	}
	snprintf(script, sizeof(script), "%s/hack/observability.sh", kubetest_root());
	buf_init(&out, 1 << 20);
	buf_init(&err, 1 << 20);
	if (proc_run_opts((const char *const[]){script, "bindir", NULL}, &po, &out, &code) == 0 &&
	    code == 0) {
		size_t n = strcspn(buf_str(&out), "\n");

		snprintf(env.obs_bin, sizeof(env.obs_bin), "%.*s", (int)n, buf_str(&out));
	} else {
		fprintf(stderr, "hack/observability.sh bindir failed (%d): %s\n", code, buf_str(&err));
	}
	buf_release(&err);
	buf_release(&out);
	return code == 0 ? 0 : -1;
}

/* ---- the cluster side ---- */

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

static int setup_cluster_objects(void)
{
	char root[1100];
	json_t *ns = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata",
			       "name", env.ns);
	struct kube_write_opts wo = {0};
	int rc = kube_create(env.client, &namespaces, NULL, ns, &wo, NULL, NULL);

	json_decref(ns);
	snprintf(root, sizeof(root), "%s/crds", kubetest_root());
	if (rc || kubectl((const char *const[]){"apply", "--server-side", "-f", root, NULL}) ||
	    kubectl((const char *const[]){"wait", "--for=condition=established", "--timeout=60s",
					  "crd/driftpolicies.saqr.dev", "crd/modeldeployments.saqr.dev",
					  NULL}))
		return -1;
	return 0;
}

static int start_manager(void)
{
	struct manager_config mc = {.identity = "observability-test", .namespace = env.ns};
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
	env.outbound.deny = env.apiserver.rule;
	ctx.outbound = &env.outbound;
	if (driftpolicy_controller_new(&ctx, &env.dpc) || manager_start(env.mgr))
		return -1;
	return 0;
}

static int setup_kube(void)
{
	struct kube_config *cfg = NULL;
	char err[256];

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
	snprintf(env.ns, sizeof(env.ns), "saqr-obs-%ld", (long)getpid());
	return setup_cluster_objects();
}

static int setup(void **state)
{
	int mport;

	(void)state;
	env.dir = kubetest_tmpdir();
	if (!env.dir || find_observability_bin() || setup_kube())
		return -1;
	mport = start_demo_and_agent();
	if (mport <= 0 || start_prometheus(mport) || start_alertmanager())
		return -1;
	if (pthread_create(&env.traffic, NULL, traffic_run, NULL))
		return -1;
	env.traffic_running = true;
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
	if (env.traffic_running) {
		pthread_mutex_lock(&env.mu);
		env.stop = true;
		pthread_mutex_unlock(&env.mu);
		pthread_join(env.traffic, NULL);
	}
	proc_stop(&env.prom, SIGTERM, 10000);
	proc_stop(&env.am, SIGTERM, 10000);
	proc_stop(&env.agent, SIGTERM, 10000);
	proc_stop(&env.demo, SIGTERM, 10000);
	httprecv_stop(env.am_receiver);
	/* No controller-manager: the namespace stays Terminating; the cluster is thrown away. */
	if (env.client)
		kube_delete(env.client, &namespaces, NULL, env.ns, NULL, NULL);
	kube_client_free(env.client);
	if (env.dir && !getenv("SAQR_KEEP_TMP"))
		kubetest_rmtree(env.dir);
	free(env.dir);
	return 0;
}

/* ---- the policy ---- */

static json_t *model_deployment(void)
{
	return json_pack("{s:s, s:s, s:{s:s}, s:{s:{s:s, s:s, s:s, s:s}, s:{s:s, s:i}}}", "apiVersion",
			 "saqr.dev/v1alpha1", "kind", "ModelDeployment", "metadata", "name", MD_NAME, "spec",
			 "model", "name", "fraud", "version", "v3", "uri", "s3://models/fraud/v3", "format",
			 "onnx", "server", "image",
			 "registry.example.ae/ml/"
			 "server@sha256:abababababababababababababababababababababababababababababababab",
			 "port", 8080);
}

static json_t *policy(void)
{
	json_t *features =
	    json_pack("[{s:s, s:s, s:s, s:f, s:{s:{s:[i,i,i,i], s:[i,i,i,i,i]}}},"
		      " {s:s, s:s, s:s, s:f, s:{s:{s:i, s:i, s:i}}}]",
		      "name", "amount_aed", "type", "numerical", "method", "psi", "threshold", 0.2,
		      "baseline", "bins", "edges", 50, 200, 1000, 5000, "counts", 1830, 4120, 2610, 1150, 290,
		      "name", "channel", "type", "categorical", "method", "js", "threshold", 0.1, "baseline",
		      "categories", "card", 6200, "wallet", 2300, "transfer", 1500);
	json_t *actions = json_pack("{s:{s:s, s:[{s:s, s:s}]}, s:s}", "alert", "severity", "critical",
				    "sinks", "type", "alertmanager", "url", env.am_url, "cooldown", "1h");

	return json_pack("{s:s, s:s, s:{s:s}, s:{s:{s:s}, s:s, s:{s:{s:s}}, s:o, s:{s:i, s:i}, s:o}}",
			 "apiVersion", "saqr.dev/v1alpha1", "kind", "DriftPolicy", "metadata", "name",
			 DP_NAME, "spec", "targetRef", "name", MD_NAME, "interval", "4s", "source",
			 "prometheus", "url", env.prom_url, "features", features, "slo", "latencyP99Ms",
			 10000, "errorRatePercent", 5, "actions", actions);
}

/* ---- reading what the servers and the controller did ---- */

struct cond_want {
	const char *type, *status, *reason;
};

static bool dp_condition_is(void *arg)
{
	struct cond_want *w = arg;
	json_t *dp = get(&dps, DP_NAME);
	json_t *c = cond_find(json_path(dp, "status.conditions"), w->type);
	bool ok = c && strcmp(json_path_str(c, "status", ""), w->status) == 0 &&
		  (!w->reason || strcmp(json_path_str(c, "reason", ""), w->reason) == 0);

	json_decref(dp);
	return ok;
}

static void expect_condition(const char *type, const char *status, const char *reason)
{
	struct cond_want w = {type, status, reason};

	if (!wait_for(dp_condition_is, &w)) {
		json_t *obj = get(&dps, DP_NAME);
		char *s = json_dumps(json_object_get(obj, "status"), JSON_INDENT(1));

		fail_msg("condition %s never became %s/%s; status: %s", type, status, reason ? reason : "*",
			 s ? s : "null");
	}
}

/* The first incident of the policy, or NULL. New reference. */
static json_t *incident0(void)
{
	json_t *dp = get(&dps, DP_NAME), *inc = json_incref(json_path(dp, "status.incidents.0"));

	json_decref(dp);
	return inc;
}

static bool incident_notified(void *arg)
{
	json_t *inc = incident0();
	bool ok = inc && json_path_bool(inc, "notified", false, NULL);

	(void)arg;
	json_decref(inc);
	return ok;
}

static bool incident_resolved(void *arg)
{
	json_t *dp = get(&dps, DP_NAME);
	bool ok = json_object_get(json_path(dp, "status.incidents.0"), "resolvedAt") &&
		  json_array_size(json_path(dp, "status.pendingNotifications")) == 0;

	(void)arg;
	json_decref(dp);
	return ok;
}

static bool prom_has_traffic(void *arg)
{
	char q[512];
	double v;

	(void)arg;
	snprintf(q, sizeof(q),
		 "sum(saqr_feature_value_count{namespace=\"%s\",service=\"%s\",feature=\"amount_aed\"})",
		 env.ns, MD_NAME);
	v = prom_value(q);
	return !isnan(v) && v > 0;
}

/* Alertmanager's alerts (or groups) for the incident (NULL: any): how many; *first (may be NULL)
 * gets the first. */
struct am_want {
	const char *path, *incident;
	size_t n;
};

static size_t am_matching(const char *path, const char *incident, json_t **first)
{
	char url[256];
	json_t *list, *e;
	size_t i, n = 0;

	snprintf(url, sizeof(url), "%s%s", env.am_url, path);
	list = http_json("GET", url, NULL);
	json_array_foreach(list, i, e)
	{
		json_t *alert = strstr(path, "groups") ? json_path(e, "alerts.0") : e;

		if (incident && strcmp(json_path_str(alert, "labels.incident", ""), incident) != 0)
			continue;
		if (n++ == 0 && first)
			*first = json_incref(e);
	}
	json_decref(list);
	return n;
}

static bool am_count_is(void *arg)
{
	struct am_want *w = arg;

	return am_matching(w->path, w->incident, NULL) == w->n;
}

/* The webhook notifications Alertmanager sent with status `status` for the incident. New
 * reference to the last, or NULL. */
static json_t *am_notification(const char *status, const char *incident)
{
	json_t *found = NULL;

	for (size_t i = 0; i < httprecv_count(env.am_receiver); i++) {
		json_t *r = httprecv_request(env.am_receiver, i);
		json_t *body = json_loads(json_path_str(r, "body", ""), 0, NULL);

		if (strcmp(json_path_str(body, "status", ""), status) == 0 &&
		    strcmp(json_path_str(body, "alerts.0.labels.incident", ""), incident) == 0) {
			json_decref(found);
			found = json_incref(body);
		}
		json_decref(body);
		json_decref(r);
	}
	return found;
}

struct notif_want {
	const char *status, *incident;
};

static bool am_notified(void *arg)
{
	struct notif_want *w = arg;
	json_t *n = am_notification(w->status, w->incident);

	json_decref(n);
	return n != NULL;
}

/* ---- tests ---- */

static void test_prometheus_scrapes_the_agent(void **state)
{
	char q[256];
	double rows;

	(void)state;
	assert_true(wait_for(prom_has_traffic, NULL));
	snprintf(q, sizeof(q), "up{job=\"saqr-agent\",namespace=\"%s\"}", env.ns);
	assert_true(prom_value(q) == 1);
	/* both protocols were inspected: every request recorded its rows, none malformed */
	assert_true(prom_value("sum(saqr_agent_inspections_total{direction=\"request\",result=\"ok\"})") > 1);
	assert_true(
	    prom_value("sum(saqr_agent_inspections_total{direction=\"request\",result=\"malformed\"})") == 0);
	assert_true(prom_value("sum(saqr_agent_invalid_values_total)") == 0);
	snprintf(q, sizeof(q), "sum(saqr_feature_category_total{namespace=\"%s\",feature=\"channel\"})",
		 env.ns);
	assert_true(prom_value(q) > 0);
	/* every row of both protocols was recorded: ROWS values per answered request, in one scrape */
	rows = prom_value("sum(saqr_feature_value_count{feature=\"amount_aed\"}) / "
			  "sum(saqr_inference_requests_total{code=\"200\"})");
	if (!(rows > ROWS - 0.5 && rows < ROWS + 0.5))
		fail_msg("%g rows per request", rows);
	pthread_mutex_lock(&env.mu);
	assert_true(env.sent > 0);
	assert_int_equal(env.failed, 0);
	pthread_mutex_unlock(&env.mu);
}

static void test_baseline_traffic_is_no_drift(void **state)
{
	json_t *dp;

	(void)state;
	create(&mds, model_deployment());
	create(&dps, policy());
	expect_condition("Ready", "True", "Evaluated");
	expect_condition("DriftDetected", "False", "NoDrift");
	expect_condition("SLOBreached", "False", "WithinObjectives");
	expect_condition("Degraded", "False", "AsExpected");
	dp = get(&dps, DP_NAME);
	assert_string_equal(json_path_str(dp, "status.features.0.name", ""), "amount_aed");
	assert_false(json_path_bool(dp, "status.features.0.drifted", true, NULL));
	/* latency and errors came from the agent's histograms through PromQL */
	assert_non_null(json_path(dp, "status.latencyP99Ms"));
	assert_true(json_number_value(json_path(dp, "status.errorRatePercent")) < 0.001);
	assert_null(json_path(dp, "status.incidents"));
	json_decref(dp);
	assert_int_equal(am_matching("/api/v2/alerts", NULL, NULL), 0);
}

static char incident_id[320];

static void test_drift_alerts_in_alertmanager(void **state)
{
	struct am_want alerts = {"/api/v2/alerts", incident_id, 1},
		       groups = {"/api/v2/alerts/groups", incident_id, 1};
	struct notif_want firing = {"firing", incident_id};
	json_t *inc, *alert = NULL, *group = NULL, *note;

	(void)state;
	traffic_set_drift(true);
	expect_condition("DriftDetected", "True", "FeatureDrift");
	assert_true(wait_for(incident_notified, NULL));
	inc = incident0();
	snprintf(incident_id, sizeof(incident_id), "%s", json_path_str(inc, "id", ""));
	assert_string_equal(json_path_str(inc, "reason", ""), "DriftDetected");
	json_decref(inc);
	/* the alert, as Alertmanager holds it */
	assert_true(wait_for(am_count_is, &alerts));
	am_matching("/api/v2/alerts", incident_id, &alert);
	assert_string_equal(json_path_str(alert, "labels.alertname", ""), "DriftDetected");
	assert_string_equal(json_path_str(alert, "labels.driftpolicy", ""), DP_NAME);
	assert_string_equal(json_path_str(alert, "labels.namespace", ""), env.ns);
	assert_string_equal(json_path_str(alert, "labels.modeldeployment", ""), MD_NAME);
	assert_string_equal(json_path_str(alert, "labels.severity", ""), "critical");
	assert_string_equal(json_path_str(alert, "labels.source", ""), "saqr");
	assert_non_null(strstr(json_path_str(alert, "annotations.summary", ""), "amount_aed"));
	assert_string_equal(json_path_str(alert, "receivers.0.name", ""), "saqr-test");
	json_decref(alert);
	/* grouped by the route's labels */
	assert_true(wait_for(am_count_is, &groups));
	am_matching("/api/v2/alerts/groups", incident_id, &group);
	assert_string_equal(json_path_str(group, "labels.alertname", ""), "DriftDetected");
	assert_string_equal(json_path_str(group, "labels.driftpolicy", ""), DP_NAME);
	assert_string_equal(json_path_str(group, "receiver.name", ""), "saqr-test");
	assert_int_equal(json_array_size(json_object_get(group, "alerts")), 1);
	json_decref(group);
	/* and sent on by Alertmanager to its receiver */
	assert_true(wait_for(am_notified, &firing));
	note = am_notification("firing", incident_id);
	assert_string_equal(json_path_str(note, "groupLabels.driftpolicy", ""), DP_NAME);
	assert_string_equal(json_path_str(note, "alerts.0.status", ""), "firing");
	json_decref(note);
}

static void test_recovery_resolves_the_alert(void **state)
{
	struct am_want alerts = {"/api/v2/alerts", incident_id, 0},
		       groups = {"/api/v2/alerts/groups", incident_id, 0};
	struct notif_want resolved = {"resolved", incident_id};
	json_t *inc, *note;
	struct tm tm = {0};
	time_t resolved_at, ends_at;

	(void)state;
	assert_true(*incident_id);
	traffic_set_drift(false);
	expect_condition("DriftDetected", "False", "NoDrift");
	assert_true(wait_for(incident_resolved, NULL));
	inc = incident0();
	assert_string_equal(json_path_str(inc, "id", ""), incident_id);
	assert_non_null(strptime(json_path_str(inc, "resolvedAt", ""), "%Y-%m-%dT%H:%M:%SZ", &tm));
	resolved_at = timegm(&tm);
	json_decref(inc);
	/* Alertmanager took the endsAt: the alert and its group are gone from the active view ... */
	assert_true(wait_for(am_count_is, &alerts));
	assert_true(wait_for(am_count_is, &groups));
	/* ... and it told its receiver the alert resolved, ending when the incident did */
	assert_true(wait_for(am_notified, &resolved));
	note = am_notification("resolved", incident_id);
	assert_string_equal(json_path_str(note, "alerts.0.status", ""), "resolved");
	memset(&tm, 0, sizeof(tm));
	assert_non_null(strptime(json_path_str(note, "alerts.0.endsAt", ""), "%Y-%m-%dT%H:%M:%S", &tm));
	ends_at = timegm(&tm);
	assert_true(ends_at == resolved_at);
	json_decref(note);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_prometheus_scrapes_the_agent),
	    cmocka_unit_test(test_baseline_traffic_is_no_drift),
	    cmocka_unit_test(test_drift_alerts_in_alertmanager),
	    cmocka_unit_test(test_recovery_resolves_the_alert),
	};

	return cmocka_run_group_tests_name("observability (integration)", tests, setup, teardown);
}
