/* make bench-operator (hack/bench-operator.sh starts a fresh control plane and runs this):
 * creates BENCH_MD ModelDeployments and BENCH_TJ TrainingJobs with BENCH_LOADERS concurrent
 * clients, then runs the release saqr-operator and measures
 *   - the time until every owned object exists and every status is written,
 *   - the operator's peak RSS (VmHWM) and CPU seconds (utime + stime),
 *   - the API requests it made per custom resource (from its saqr_api_requests_total),
 *   - the writes it makes during a quiet window after convergence (target 0),
 *   - the same after a restart against the converged cluster (relist of every owned object).
 * Prints a table; asserts nothing.
 *   bench_operator OPERATOR_BINARY LOGDIR     (KUBECONFIG names the cluster) */
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/jsonutil.h"
#include "operator/runtime/ctrltime.h"
#include "operator/runtime/informer.h"
#include "operator/runtime/kubeops.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "operator/objmeta.h"
#include "operator/owned.h"
#include "tests/support/proc.h"

#define NS "saqr-bench"
#define CONVERGE_LIMIT 900.0
#define DRAIN_LIMIT 600.0

static const struct kube_resource res_ns = {"", "v1", "namespaces", false};
static const struct kube_resource res_md = {"saqr.dev", "v1alpha1", "modeldeployments", true};
static const struct kube_resource res_tj = {"saqr.dev", "v1alpha1", "trainingjobs", true};

enum { K_DEP, K_SVC, K_HPA, K_NETPOL, K_PDB, K_JOB, K_COUNT };
static const char *const kind_names[K_COUNT] = {"Deployment",	 "Service", "HPA",
						"NetworkPolicy", "PDB",	    "Job"};

struct bench {
	struct kube_client *client;
	struct kubeops ops;
	int nmd, ntj, loaders, workers;
	double quiet;
	long expected[K_COUNT];
	struct informer *owned[K_COUNT], *mds, *tjs;
	const char *operator_bin, *logdir;
};

static int env_int(const char *name, int def)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (!v || !*v)
		return def;
	n = strtol(v, &end, 10);
	return *end || n < 0 ? def : (int)n;
}

/* ---- the objects ---- */

/* ModelDeployment i: a quarter each autoscaled, 2 replicas, 3 replicas with a canary, 1 replica. */
static json_t *make_md(int i)
{
	char name[64], uri[128], canary[128];
	json_t *md, *spec;

	snprintf(name, sizeof(name), "model-%05d", i);
	snprintf(uri, sizeof(uri), "s3://uae-models/model-%05d/v1/model.onnx", i);
	snprintf(canary, sizeof(canary), "s3://uae-models/model-%05d/v2/model.onnx", i);
	md = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:{s:s, s:s, s:s, s:s}, s:{s:s, s:[s], s:[{s:s, s:s}], "
		       "s:i, s:s, s:{s:{s:s, s:s}, s:{s:s}}}, s:{s:s, s:s}, s:{s:{s:s}}}}",
		       "apiVersion", OBJMETA_API_VERSION, "kind", "ModelDeployment", "metadata", "name", name,
		       "namespace", NS, "spec", "model", "name", name, "version", "v1", "uri", uri, "format",
		       "onnx", "server", "image", "registry.example.ae/ml/onnx-server:1.18", "args",
		       "--model-repository=/models", "env", "name", "LOG_LEVEL", "value", "info", "port",
		       8080, "readinessPath", "/v2/health/ready", "resources", "requests", "cpu", "500m",
		       "memory", "1Gi", "limits", "memory", "2Gi", "security", "serviceAccountName",
		       "model-server", "tlsSecretName", "model-tls", "scheduling", "nodeSelector",
		       "topology.kubernetes.io/region", "uaenorth");
	spec = json_object_get(md, "spec");
	switch (i % 4) {
	case 0:
		json_object_set_new(spec, "autoscaling",
				    json_pack("{s:i, s:i, s:i}", "minReplicas", 2, "maxReplicas", 6,
					      "targetCPUUtilizationPercentage", 70));
		break;
	case 1:
		json_object_set_new(spec, "replicas", json_integer(2));
		break;
	case 2:
		json_object_set_new(spec, "replicas", json_integer(3));
		json_object_set_new(spec, "canary",
				    json_pack("{s:{s:s, s:s, s:s, s:s}, s:i}", "model", "name", name,
					      "version", "v2", "uri", canary, "format", "onnx", "weight",
					      20));
		break;
	default:
		json_object_set_new(spec, "replicas", json_integer(1));
		break;
	}
	return md;
}

static void expect_md(struct bench *b, int i)
{
	b->expected[K_DEP] += i % 4 == 2 ? 2 : 1;
	b->expected[K_SVC]++;
	b->expected[K_NETPOL]++;
	b->expected[K_HPA] += i % 4 == 0;
	b->expected[K_PDB] += i % 4 != 3;
}

/* TrainingJob i: half distributed PyTorch on 2 pods (Job + headless Service), half single-pod. */
static json_t *make_tj(int i)
{
	char name[64], out[128];
	json_t *tj;

	snprintf(name, sizeof(name), "train-%05d", i);
	snprintf(out, sizeof(out), "s3://uae-models/train-%05d/model.onnx", i);
	tj = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:[s], s:[s, s], s:[{s:s, s:s}], s:{s:{s:s, s:s}}, "
		       "s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}, s:i, s:s}}",
		       "apiVersion", OBJMETA_API_VERSION, "kind", "TrainingJob", "metadata", "name", name,
		       "namespace", NS, "spec", "image", "registry.example.ae/ml/trainer:2.3", "command",
		       "torchrun", "args", "train.py", "--epochs=3", "env", "name", "AWS_REGION", "value",
		       "me-central-1", "resources", "requests", "cpu", "2", "memory", "8Gi", "dataset", "uri",
		       "s3://uae-data/set/", "provider", "aws", "region", "me-central-1", "output", "uri",
		       out, "provider", "aws", "region", "me-central-1", "backoffLimit", 2,
		       "serviceAccountName", "trainer");
	if (i % 2 == 0) {
		json_object_set_new(json_object_get(tj, "spec"), "replicas", json_integer(2));
		json_object_set_new(json_object_get(tj, "spec"), "distributed",
				    json_pack("{s:s, s:i}", "framework", "pytorch", "nprocPerNode", 1));
	}
	return tj;
}

static void expect_tj(struct bench *b, int i)
{
	b->expected[K_JOB]++;
	b->expected[K_SVC] += i % 2 == 0;
}

/* ---- loading ---- */

struct loader {
	struct bench *b;
	int first, step;
	atomic_int *failed;
	pthread_t t;
};

static void *loader_main(void *arg)
{
	struct loader *l = arg;
	struct kube_write_opts wo = {0};

	for (int i = l->first; i < l->b->nmd + l->b->ntj; i += l->step) {
		bool is_md = i < l->b->nmd;
		json_t *obj = is_md ? make_md(i) : make_tj(i - l->b->nmd);
		struct kube_status st = {0};
		int rc = kube_create(l->b->client, is_md ? &res_md : &res_tj, NS, obj, &wo, NULL, &st);

		if (rc && rc != SAQR_EEXIST) {
			if (atomic_fetch_add(l->failed, 1) < 3)
				fprintf(stderr, "bench-operator: create failed: %s: %s\n", saqr_strerror(rc),
					st.message);
		}
		json_decref(obj);
	}
	return NULL;
}

/* Seconds taken, or -1 when a create failed. */
static double load_objects(struct bench *b)
{
	struct loader *ls = calloc((size_t)b->loaders, sizeof(*ls));
	atomic_int failed = 0;
	double t0 = ctrltime_mono();

	for (int i = 0; i < b->loaders; i++) {
		ls[i] = (struct loader){b, i, b->loaders, &failed, 0};
		pthread_create(&ls[i].t, NULL, loader_main, &ls[i]);
	}
	for (int i = 0; i < b->loaders; i++)
		pthread_join(ls[i].t, NULL);
	free(ls);
	if (failed) {
		fprintf(stderr, "bench-operator: %d creates failed\n", (int)failed);
		return -1;
	}
	return ctrltime_mono() - t0;
}

/* ---- watching for convergence ---- */

static int slim_primary(json_t *obj)
{
	json_object_del(obj, "spec");
	return 0;
}

static int start_informer(struct bench *b, const struct kube_resource *res, const char *selector,
			  informer_transform_fn tf, struct informer **out)
{
	struct informer_config ic = {
	    .res = *res, .namespace = NS, .label_selector = selector, .transform = tf};

	if (informer_new(&b->ops, &ic, out) || informer_start(*out))
		return -1;
	return informer_wait_synced(*out, 120);
}

static int start_monitor(struct bench *b)
{
	const struct kube_resource *res[K_COUNT] = {&objmeta_res_deployments, &objmeta_res_services,
						    &objmeta_res_hpas,	      &objmeta_res_networkpolicies,
						    &objmeta_res_pdbs,	      &objmeta_res_jobs};

	for (int k = 0; k < K_COUNT; k++)
		if (start_informer(b, res[k], OWNED_LABEL_SELECTOR, owned_cache_transform, &b->owned[k]))
			return -1;
	if (start_informer(b, &res_md, NULL, slim_primary, &b->mds) ||
	    start_informer(b, &res_tj, NULL, slim_primary, &b->tjs))
		return -1;
	return 0;
}

static long with_status(struct informer *inf)
{
	json_t *all = NULL, *o;
	long n = 0;
	size_t i;

	if (informer_list(inf, NULL, &all))
		return 0;
	json_array_foreach(all, i, o)
	{
		long long gen = json_path_int(o, "metadata.generation", 0);

		n += gen > 0 && json_path_int(o, "status.observedGeneration", 0) == gen &&
		     json_array_size(json_path(o, "status.conditions")) > 0;
	}
	json_decref(all);
	return n;
}

static bool converged(struct bench *b, bool print)
{
	bool ok = true;

	for (int k = 0; k < K_COUNT; k++) {
		long n = (long)informer_len(b->owned[k]);

		ok = ok && n == b->expected[k];
		if (print)
			printf("  %-14s %6ld of %6ld\n", kind_names[k], n, b->expected[k]);
	}
	if (!ok && !print)
		return false;
	{
		long mds = with_status(b->mds), tjs = with_status(b->tjs);

		if (print)
			printf("  %-14s %6ld of %6d\n  %-14s %6ld of %6d\n", "MD status", mds, b->nmd,
			       "TJ status", tjs, b->ntj);
		return ok && mds == b->nmd && tjs == b->ntj;
	}
}

/* ---- the operator process ---- */

struct proc_sample {
	double cpu; /* utime + stime, seconds */
	long hwm_kb, rss_kb;
};

static void sample_proc(pid_t pid, struct proc_sample *s)
{
	char path[64], line[512], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;

	memset(s, 0, sizeof(*s));
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "VmHWM:", 6) == 0)
			s->hwm_kb = strtol(line + 6, NULL, 10);
		else if (strncmp(line, "VmRSS:", 6) == 0)
			s->rss_kb = strtol(line + 6, NULL, 10);
	}
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f && fgets(line, sizeof(line), f) && (p = strrchr(line, ')')) != NULL &&
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2)
		s->cpu = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	if (f)
		fclose(f);
}

/* API requests by the operator, from its /metrics. */
struct api_counts {
	double reads, writes, event_writes, conflicts, total;
	double by_verb[5]; /* create update patch delete, other */
};

static size_t sink(char *p, size_t sz, size_t n, void *ud)
{
	return buf_add(ud, p, sz * n) == 0 ? sz * n : 0;
}

/* The value of label name in a metrics line into out ("" when absent). */
static void label_value(const char *line, const char *name, char *out, size_t outlen)
{
	char key[64];
	const char *at, *end;

	snprintf(key, sizeof(key), "%s=\"", name);
	at = strstr(line, key);
	end = at ? strchr(at + strlen(key), '"') : NULL;
	out[0] = '\0';
	if (at && end && (size_t)(end - at - strlen(key)) < outlen)
		snprintf(out, outlen, "%.*s", (int)(end - at - strlen(key)), at + strlen(key));
}

static void count_line(struct api_counts *c, const char *line)
{
	static const char *const verbs[] = {"create", "update", "patch", "delete"};
	const char *sp = strrchr(line, ' ');
	double v = sp ? strtod(sp + 1, NULL) : 0;
	char verb[32], resource[64], result[32];
	bool write = false;

	label_value(line, "verb", verb, sizeof(verb));
	label_value(line, "resource", resource, sizeof(resource));
	label_value(line, "result", result, sizeof(result));
	c->total += v;
	for (int i = 0; i < 4; i++) {
		if (strcmp(verb, verbs[i]) == 0) {
			c->by_verb[i] += v;
			write = true;
		}
	}
	if (strcmp(result, "conflict") == 0)
		c->conflicts += v;
	if (write && strcmp(resource, "events") == 0)
		c->event_writes += v;
	else if (write)
		c->writes += v;
	else
		c->reads += v;
}

/* GET /metrics into body. 0 or -1. */
static int fetch_metrics(long port, struct buf *body)
{
	char url[128];
	CURL *h = curl_easy_init();
	int rc;

	snprintf(url, sizeof(url), "http://127.0.0.1:%ld/metrics", port);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
	rc = curl_easy_perform(h) == CURLE_OK ? 0 : -1;
	curl_easy_cleanup(h);
	return rc;
}

/* The sum of every sample of metric name. */
static double metric_sum(long port, const char *name)
{
	char *line, *save = NULL;
	struct buf body;
	double sum = 0;
	size_t n = strlen(name);

	buf_init(&body, 64u << 20);
	if (fetch_metrics(port, &body) == 0)
		for (line = strtok_r(body.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			if (strncmp(line, name, n) == 0 && (line[n] == '{' || line[n] == ' ') &&
			    strrchr(line, ' '))
				sum += strtod(strrchr(line, ' ') + 1, NULL);
	buf_release(&body);
	return sum;
}

/* Every custom resource reconciled at least once and nothing queued: the restarted operator
 * has looked at everything. */
static bool operator_idle(long port, int ncr)
{
	return metric_sum(port, "saqr_reconcile_total") >= ncr &&
	       metric_sum(port, "saqr_workqueue_depth") == 0;
}

static int scrape(long port, struct api_counts *c)
{
	char *line, *save = NULL;
	struct buf body;
	int rc;

	memset(c, 0, sizeof(*c));
	buf_init(&body, 64u << 20);
	rc = fetch_metrics(port, &body);
	for (line = strtok_r(body.data, "\n", &save); rc == 0 && line; line = strtok_r(NULL, "\n", &save))
		if (strncmp(line, "saqr_api_requests_total{", 24) == 0)
			count_line(c, line);
	buf_release(&body);
	return rc;
}

/* The operator now running, killed if the benchmark itself is interrupted. */
static struct proc *running;

static void on_signal(int sig)
{
	if (running && running->pid > 0)
		kill(running->pid, SIGKILL);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Start the operator (info logs, as in production) and find its metrics port in its log. */
static long start_operator(struct bench *b, struct proc *p, const char *log_name)
{
	char log[1024], workers[16];
	const char *argv[] = {b->operator_bin,	"--namespace", NS,  "--workers", workers,
			      "--metrics-addr", "127.0.0.1:0", NULL};

	snprintf(workers, sizeof(workers), "%d", b->workers);
	snprintf(log, sizeof(log), "%s/%s", b->logdir, log_name);
	long port = -1;

	if (proc_start(p, argv, NULL, log))
		return -1;
	running = p;
	if (proc_log_number(p, "\"port\":\"", 10000, &port) != 0)
		return -1;
	return port;
}

/* ---- phases ---- */

/* CPU seconds of the control plane (kube-apiserver and etcd, from BENCH_SERVER_PIDS). */
static double server_cpu(void)
{
	const char *pids = getenv("BENCH_SERVER_PIDS");
	double sum = 0;
	char *end;

	for (const char *p = pids ? pids : ""; *p; p = end) {
		long pid = strtol(p, &end, 10);
		struct proc_sample s;

		if (end == p)
			break;
		sample_proc((pid_t)pid, &s);
		sum += s.cpu;
	}
	return sum;
}

struct run {
	double server_cpu; /* control-plane CPU seconds while converging */
	double converge, drained, stop;
	struct proc_sample at_converge, at_drain, after_quiet;
	struct api_counts at_converge_api, at_drain_api, after_quiet_api;
	double events_dropped;
};

/* Wait until the operator's Event writes stop (the recorder posts at most 5 per second, so a
 * burst of creations leaves a backlog behind convergence). Seconds waited. */
static double wait_events_drained(long port)
{
	double t0 = ctrltime_mono(), last = -1, since = t0;

	while (ctrltime_mono() - t0 < DRAIN_LIMIT) {
		struct api_counts c;

		scrape(port, &c);
		if (c.event_writes != last) {
			last = c.event_writes;
			since = ctrltime_mono();
		} else if (ctrltime_mono() - since >= 3) {
			return since - t0;
		}
		usleep(250000);
	}
	return ctrltime_mono() - t0;
}

static int run_operator(struct bench *b, const char *log_name, struct run *r, bool expect_converged)
{
	struct proc p = {0};
	double t0 = ctrltime_mono(), next_print = t0 + 10, cpu0 = server_cpu();
	long port = start_operator(b, &p, log_name);

	if (port <= 0) {
		fprintf(stderr, "bench-operator: the operator did not start (see %s)\n", p.log_path);
		proc_kill(&p);
		running = NULL;
		return -1;
	}
	/* First run: until the cluster shows everything. Restart: the cluster already does, so
	 * until the operator has reconciled every custom resource and its queues are empty. */
	while (ctrltime_mono() - t0 < CONVERGE_LIMIT &&
	       !(expect_converged ? operator_idle(port, b->nmd + b->ntj) : converged(b, false))) {
		usleep(50000);
		if (ctrltime_mono() > next_print) {
			printf("  ... %.0f s\n", ctrltime_mono() - t0);
			next_print += 10;
		}
	}
	r->converge = ctrltime_mono() - t0;
	r->server_cpu = server_cpu() - cpu0;
	sample_proc(p.pid, &r->at_converge);
	scrape(port, &r->at_converge_api);
	r->drained = wait_events_drained(port);
	scrape(port, &r->at_drain_api);
	sample_proc(p.pid, &r->at_drain);
	r->events_dropped = metric_sum(port, "saqr_events_total{result=\"dropped\"}");
	sleep((unsigned)b->quiet);
	sample_proc(p.pid, &r->after_quiet);
	scrape(port, &r->after_quiet_api);
	t0 = ctrltime_mono();
	proc_stop(&p, SIGTERM, 30000);
	r->stop = ctrltime_mono() - t0;
	running = NULL;
	if (!converged(b, false)) {
		printf("bench-operator: did NOT converge within %.0f s:\n", CONVERGE_LIMIT);
		converged(b, true);
		return -1;
	}
	return p.exit_code;
}

static void print_run(const struct bench *b, const char *title, const struct run *r)
{
	double n = b->nmd + b->ntj;
	const struct api_counts *c = &r->at_converge_api, *q = &r->after_quiet_api;

	printf("\n%s\n", title);
	printf("  %-44s %10.2f s\n", "time to converge (from process start)", r->converge);
	printf("  %-44s %10.1f MiB\n", "peak RSS (VmHWM)", (double)r->after_quiet.hwm_kb / 1024.0);
	printf("  %-44s %10.1f MiB\n", "RSS after the quiet window", (double)r->after_quiet.rss_kb / 1024.0);
	printf("  %-44s %10.2f s\n", "CPU (user + system) to converge", r->at_converge.cpu);
	printf("  %-44s %10.2f s  (%.1f cores busy)\n", "kube-apiserver + etcd CPU meanwhile", r->server_cpu,
	       r->converge > 0 ? r->server_cpu / r->converge : 0);
	printf("  %-44s %10.0f\n", "API requests to converge", c->total);
	printf("  %-44s %10.2f\n", "  per custom resource", c->total / n);
	printf("  %-44s %10.0f  (%.2f per CR, %.0f/s)\n", "  writes (owned objects, status)", c->writes,
	       c->writes / n, r->converge > 0 ? c->writes / r->converge : 0);
	printf("  %-44s %10.0f  (create %.0f, update %.0f, patch %.0f, delete %.0f)\n",
	       "  by verb (incl. Events)", c->by_verb[0] + c->by_verb[1] + c->by_verb[2] + c->by_verb[3],
	       c->by_verb[0], c->by_verb[1], c->by_verb[2], c->by_verb[3]);
	printf("  %-44s %10.0f\n", "  Event writes", c->event_writes);
	printf("  %-44s %10.0f\n", "  409 conflicts", c->conflicts);
	printf("  %-44s %10.0f\n", "owned/status writes after convergence", q->writes - c->writes);
	printf("  %-44s %10.0f  (backlog posted in %.0f s; %.0f dropped)\n", "Event writes after convergence",
	       r->at_drain_api.event_writes - c->event_writes, r->drained, r->events_dropped);
	printf("  %-44s %10.0f  (%.0f s, after the Event backlog)\n",
	       "writes of any kind in the quiet window",
	       q->writes + q->event_writes - r->at_drain_api.writes - r->at_drain_api.event_writes, b->quiet);
	printf("  %-44s %10.2f s\n", "CPU in the quiet window", r->after_quiet.cpu - r->at_drain.cpu);
	printf("  %-44s %10.2f s\n", "stop (SIGTERM to exit)", r->stop);
}

static int setup(struct bench *b)
{
	struct kube_config *cfg = NULL;
	struct kube_write_opts wo = {0};
	char err[256];
	json_t *ns;
	int rc;

	if (kube_config_load_default(NULL, &cfg, err, sizeof(err)) || kube_client_new(cfg, &b->client)) {
		fprintf(stderr, "bench-operator: no cluster: %s\n", err);
		kube_config_free(cfg);
		return -1;
	}
	kube_config_free(cfg);
	kubeops_init_kube(&b->ops, b->client, NULL, NULL);
	ns =
	    json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata", "name", NS);
	rc = kube_create(b->client, &res_ns, NULL, ns, &wo, NULL, NULL);
	json_decref(ns);
	return rc && rc != SAQR_EEXIST ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct bench b = {0};
	struct run first = {0}, again = {0};
	double load;
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: bench_operator OPERATOR_BINARY LOGDIR\n");
		return 2;
	}
	b.operator_bin = argv[1];
	b.logdir = argv[2];
	b.nmd = env_int("BENCH_MD", 2000);
	b.ntj = env_int("BENCH_TJ", 1000);
	b.loaders = env_int("BENCH_LOADERS", 16);
	b.workers = env_int("BENCH_WORKERS", 8);
	b.quiet = env_int("BENCH_QUIET", 20);
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (setup(&b))
		return 1;
	for (int i = 0; i < b.nmd; i++)
		expect_md(&b, i);
	for (int i = 0; i < b.ntj; i++)
		expect_tj(&b, i);
	printf("bench-operator: %d ModelDeployments + %d TrainingJobs, %d loaders, operator --workers %d\n",
	       b.nmd, b.ntj, b.loaders, b.workers);
	load = load_objects(&b);
	if (load < 0)
		return 1;
	printf("  created in %.2f s: %.0f creates/s (what the API server accepts from %d clients)\n", load,
	       (b.nmd + b.ntj) / load, b.loaders);
	if (start_monitor(&b)) {
		fprintf(stderr, "bench-operator: cannot watch the cluster\n");
		return 1;
	}
	rc = run_operator(&b, "operator-1.log", &first, false);
	print_run(&b, "first run (creates every owned object and status)", &first);
	converged(&b, true);
	if (rc == 0) {
		rc = run_operator(&b, "operator-2.log", &again, true);
		print_run(&b,
			  "restart against the converged cluster (relist everything, reconcile every CR, "
			  "write nothing)",
			  &again);
	}
	for (int k = 0; k < K_COUNT; k++)
		informer_free(b.owned[k]);
	informer_free(b.mds);
	informer_free(b.tjs);
	kube_client_free(b.client);
	curl_global_cleanup();
	return rc ? 1 : 0;
}
