/* Benchmarks for lib/controller (release build, `make bench-controller`): work queue
 * throughput with several workers, the informer's watch event rate, read latency from the
 * cache, and the memory a cached object costs with and without managedFields. Prints figures;
 * asserts nothing. */
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "operator/runtime/ctrltime.h"
#include "operator/runtime/informer.h"
#include "operator/runtime/workqueue.h"

#define NOBJ 10000

/* ---- work queue ---- */

static atomic_long reconciled;

static struct workqueue_result bench_reconcile(void *ud, const char *key)
{
	(void)ud;
	(void)key;
	reconciled++;
	return (struct workqueue_result){0};
}

static void bench_workqueue(int workers, int keys, int rounds)
{
	struct workqueue *q;
	struct workqueue_workers *w;
	char key[32];
	double t0, dt;
	long adds = 0;

	workqueue_new(NULL, &q);
	reconciled = 0;
	workqueue_run_workers(q, workers, bench_reconcile, NULL, &w);
	t0 = ctrltime_mono();
	for (int r = 0; r < rounds; r++)
		for (int i = 0; i < keys; i++, adds++) {
			snprintf(key, sizeof(key), "ns/obj-%d", i);
			workqueue_add(q, key);
		}
	/* Done when nothing is queued and a last add of every key has been reconciled. */
	while (workqueue_len(q) > 0 || reconciled < keys)
		;
	dt = ctrltime_mono() - t0;
	workqueue_shut_down(q);
	workqueue_workers_join(w);
	printf("workqueue: %d workers, %d keys x %d adds: %.2f s, %.0f adds/s, %.0f reconciles/s "
	       "(%ld reconciles, %.1f%% of adds de-duplicated)\n",
	       workers, keys, rounds, dt, (double)adds / dt, (double)reconciled / dt, (long)reconciled,
	       100.0 * (1.0 - (double)reconciled / (double)adds));
	workqueue_free(q);
}

/* ---- informer over in-memory answers ---- */

/* A Deployment as Saqr writes it: labels, owner, a hardened pod template. */
static const char bench_template[] =
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"model-%05d\","
    "\"namespace\":\"ml\",\"uid\":\"3f2a0c1e-8d4b-4e5f-9a6b-%012d\",\"resourceVersion\":\"%d\","
    "\"generation\":3,\"creationTimestamp\":\"2025-01-10T08:00:00Z\","
    "\"labels\":{\"app.kubernetes.io/name\":\"model\",\"app.kubernetes.io/instance\":\"model-%05d\","
    "\"app.kubernetes.io/managed-by\":\"saqr-operator\",\"app.kubernetes.io/part-of\":\"saqr\"},"
    "\"ownerReferences\":[{\"apiVersion\":\"saqr.dev/v1alpha1\",\"kind\":\"ModelDeployment\","
    "\"name\":\"model-%05d\",\"uid\":\"0b1c2d3e-0000-4000-8000-000000000001\",\"controller\":true}]},"
    "\"spec\":{\"replicas\":2,\"selector\":{\"matchLabels\":{\"app.kubernetes.io/instance\":\"model-%05d\"}},"
    "\"template\":{\"metadata\":{\"labels\":{\"app.kubernetes.io/instance\":\"model-%05d\"}},"
    "\"spec\":{\"automountServiceAccountToken\":false,\"securityContext\":{\"runAsNonRoot\":true,"
    "\"seccompProfile\":{\"type\":\"RuntimeDefault\"}},\"containers\":[{\"name\":\"server\","
    "\"image\":\"registry.example.ae/models/"
    "server@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\","
    "\"ports\":[{\"containerPort\":8080}],\"env\":[{\"name\":\"SAQR_MODEL_URI\",\"value\":\"s3://models/"
    "fraud/3\"}],"
    "\"resources\":{\"limits\":{\"cpu\":\"2\",\"memory\":\"4Gi\"}},\"securityContext\":{"
    "\"allowPrivilegeEscalation\":false,\"readOnlyRootFilesystem\":true,\"capabilities\":{\"drop\":[\"ALL\"]}"
    "}}]}}},"
    "\"status\":{\"replicas\":2,\"readyReplicas\":2,\"observedGeneration\":3}}";

static const char bench_managed[] =
    "[{\"manager\":\"saqr-operator\",\"operation\":\"Apply\",\"apiVersion\":\"apps/v1\","
    "\"time\":\"2025-01-10T08:00:00Z\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:metadata\":{"
    "\"f:labels\":{\"f:app.kubernetes.io/instance\":{},\"f:app.kubernetes.io/managed-by\":{},"
    "\"f:app.kubernetes.io/name\":{},\"f:app.kubernetes.io/part-of\":{}},\"f:ownerReferences\":{"
    "\"k:{\\\"uid\\\":\\\"0b1c2d3e-0000-4000-8000-000000000001\\\"}\":{}}},\"f:spec\":{\"f:replicas\":{},"
    "\"f:selector\":{},\"f:template\":{\"f:metadata\":{\"f:labels\":{\"f:app.kubernetes.io/instance\":{}}},"
    "\"f:spec\":{\"f:automountServiceAccountToken\":{},\"f:containers\":{\"k:{\\\"name\\\":\\\"server\\\"}\":"
    "{"
    "\".\":{},\"f:env\":{},\"f:image\":{},\"f:name\":{},\"f:ports\":{},\"f:resources\":{},"
    "\"f:securityContext\":{}}},\"f:securityContext\":{}}}}}},"
    "{\"manager\":\"kube-controller-manager\",\"operation\":\"Update\",\"apiVersion\":\"apps/v1\","
    "\"time\":\"2025-01-10T08:01:00Z\",\"fieldsType\":\"FieldsV1\",\"subresource\":\"status\","
    "\"fieldsV1\":{\"f:status\":{\"f:observedGeneration\":{},\"f:readyReplicas\":{},\"f:replicas\":{}}}}]";

static json_t *bench_object(int i, int rv, bool managed)
{
	char text[sizeof(bench_template) + 128];
	json_t *o;

	snprintf(text, sizeof(text), bench_template, i, i, rv, i, i, i, i);
	o = json_loads(text, 0, NULL);
	if (o && managed)
		json_object_set_new(json_object_get(o, "metadata"), "managedFields",
				    json_loads(bench_managed, 0, NULL));
	return o;
}

struct bench_ctx {
	bool managed;
	int rounds;
};

static int bench_list(const struct kubeops *ops, const struct kube_resource *res, const char *ns,
		      const struct kube_list_opts *opts, json_t **out, struct kube_status *st)
{
	const struct bench_ctx *c = ops->ctx;
	json_t *items = json_array();

	(void)res, (void)ns, (void)opts, (void)st;
	for (int i = 0; i < NOBJ; i++)
		json_array_append_new(items, bench_object(i, 1, c->managed));
	*out = json_pack("{s:s, s:s, s:{s:s}, s:o}", "apiVersion", "apps/v1", "kind", "DeploymentList",
			 "metadata", "resourceVersion", "1", "items", items);
	return 0;
}

static int bench_watch(const struct kubeops *ops, const struct kube_resource *res, const char *ns,
		       const struct kube_watch_opts *opts, kube_watch_fn fn, void *ud, struct kube_status *st)
{
	const struct bench_ctx *c = ops->ctx;

	(void)res, (void)ns, (void)opts, (void)st;
	for (int r = 0; r < c->rounds; r++)
		for (int i = 0; i < NOBJ; i++) {
			json_t *o = bench_object(i, 2 + r, c->managed);

			fn(ud, "MODIFIED", o);
			json_decref(o);
		}
	return 0;
}

static size_t heap_used(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

static void bench_informer(bool managed, bool keep)
{
	struct bench_ctx ctx = {managed, 0};
	struct kubeops ops = {.ctx = &ctx, .list_all = bench_list, .watch = bench_watch};
	struct informer_config cfg = {.res = {"apps", "v1", "deployments", true},
				      .keep_managed_fields = keep};
	struct informer *inf;
	size_t before = heap_used(), after;

	informer_new(&ops, &cfg, &inf);
	informer_run_once(inf);
	after = heap_used();
	printf("informer cache: %d Deployments%s%s: %.0f bytes per cached object\n", NOBJ,
	       managed ? " with managedFields" : "", managed ? (keep ? ", kept" : ", stripped") : "",
	       (double)(after - before) / NOBJ);
	informer_free(inf);
}

static void bench_events(void)
{
	struct bench_ctx ctx = {false, 10};
	struct kubeops ops = {.ctx = &ctx, .list_all = bench_list, .watch = bench_watch};
	struct informer_config cfg = {.res = {"apps", "v1", "deployments", true}};
	struct informer *inf;
	double t0, dt;

	informer_new(&ops, &cfg, &inf);
	t0 = ctrltime_mono();
	informer_run_once(inf);
	dt = ctrltime_mono() - t0;
	/* Building each event object is part of the figure (as parsing is in the real watch). */
	printf("informer events: %d list items + %d MODIFIED events applied in %.3f s: %.0f events/s\n", NOBJ,
	       NOBJ * ctx.rounds, dt, (double)NOBJ * (ctx.rounds + 1) / dt);
	informer_free(inf);
}

struct reader {
	struct informer *inf;
	long gets;
	double secs;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	char name[32];
	double t0 = ctrltime_mono();

	for (long i = 0; i < 1000000; i++) {
		json_t *o;

		snprintf(name, sizeof(name), "model-%05ld", i % NOBJ);
		if (informer_get(r->inf, "ml", name, &o) == 0)
			json_decref(o);
		r->gets++;
	}
	r->secs = ctrltime_mono() - t0;
	return NULL;
}

static void bench_reads(int threads)
{
	struct bench_ctx ctx = {false, 0};
	struct kubeops ops = {.ctx = &ctx, .list_all = bench_list, .watch = bench_watch};
	struct informer_config cfg = {.res = {"apps", "v1", "deployments", true}};
	struct informer *inf;
	struct reader r[8] = {0};
	pthread_t t[8];
	double total = 0;

	informer_new(&ops, &cfg, &inf);
	informer_run_once(inf);
	for (int i = 0; i < threads; i++) {
		r[i].inf = inf;
		pthread_create(&t[i], NULL, reader_main, &r[i]);
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		total += (double)r[i].gets / r[i].secs;
	}
	printf("informer_get: %d reader threads: %.0f gets/s in total (%.0f ns each per thread)\n", threads,
	       total, 1e9 * threads / total);
	informer_free(inf);
}

int main(void)
{
	bench_workqueue(1, 1000, 100);
	bench_workqueue(4, 1000, 100);
	bench_workqueue(4, 100000, 1);
	bench_informer(false, false);
	bench_informer(true, false);
	bench_informer(true, true);
	bench_events();
	bench_reads(1);
	bench_reads(4);
	return 0;
}
