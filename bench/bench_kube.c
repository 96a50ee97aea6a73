/* Benchmarks for lib/kube: the watch parser's throughput (always), and, when KUBECONFIG is
 * set, GET latency and multi-threaded throughput against the real API server (pooled handles
 * keep their connections). Prints figures; asserts nothing.
 *   bench_kube [seconds-per-figure]   (default 3) */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "kube/client.h"
#include "kube/watch.h"

#define BENCH_THREADS 8
#define BENCH_MAX_SAMPLES 200000

static const struct kube_resource bench_cms = {"", "v1", "configmaps", true};
static double bench_seconds = 3;

static double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int bench_count(void *ud, const char *type, json_t *obj)
{
	(void)type;
	(void)obj;
	++*(unsigned long *)ud;
	return 0;
}

/* A stream of realistic ~1 KiB ConfigMap events, fed in 16 KiB chunks as curl would. */
static void bench_watch_parser(void)
{
	struct kube_watch_parser p;
	unsigned long events = 0, rounds = 0;
	struct buf stream;
	double start, elapsed;
	char pad[800];

	memset(pad, 'x', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	buf_init(&stream, 64u << 20);
	for (int i = 0; i < 4096; i++)
		buf_addf(&stream,
			 "{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\","
			 "\"metadata\":"
			 "{\"name\":\"cm-%d\",\"namespace\":\"ml\",\"resourceVersion\":\"%d\",\"labels\":{"
			 "\"app\":\"x\"}},"
			 "\"data\":{\"payload\":\"%s\"}}}\n",
			 i, 1000 + i, pad);
	kube_watch_parser_init(&p, 0, bench_count, &events, NULL);
	start = bench_now();
	do {
		for (size_t at = 0; at < stream.len; at += 16384) {
			size_t n = stream.len - at < 16384 ? stream.len - at : 16384;

			if (kube_watch_parser_feed(&p, stream.data + at, n)) {
				fprintf(stderr, "bench: parser failed\n");
				exit(1);
			}
		}
		rounds++;
	} while ((elapsed = bench_now() - start) < bench_seconds);
	printf("watch parser: %.0f events/s, %.1f MiB/s (%zu-byte events, 16 KiB chunks)\n",
	       (double)events / elapsed, (double)stream.len * (double)rounds / elapsed / (1 << 20),
	       stream.len / 4096);
	kube_watch_parser_release(&p);
	buf_release(&stream);
}

static int bench_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void bench_sequential_get(struct kube_client *c, const char *ns)
{
	static double lat[BENCH_MAX_SAMPLES];
	struct kube_status st;
	double start = bench_now(), t;
	size_t n = 0;

	while (n < BENCH_MAX_SAMPLES && bench_now() - start < bench_seconds) {
		t = bench_now();
		if (kube_get(c, &bench_cms, ns, "bench", NULL, &st)) {
			fprintf(stderr, "bench: get failed: %s\n", st.message);
			exit(1);
		}
		lat[n++] = (bench_now() - t) * 1e3;
	}
	qsort(lat, n, sizeof(lat[0]), bench_cmp);
	printf("GET one thread: %.0f req/s, p50 %.2f ms, p99 %.2f ms (%zu requests)\n",
	       (double)n / (bench_now() - start), lat[n / 2], lat[n * 99 / 100], n);
}

struct bench_worker {
	struct kube_client *c;
	const char *ns;
	double until;
	unsigned long done;
};

static void *bench_worker_run(void *arg)
{
	struct bench_worker *w = arg;
	struct kube_status st;

	while (bench_now() < w->until)
		if (kube_get(w->c, &bench_cms, w->ns, "bench", NULL, &st) == 0)
			w->done++;
	return NULL;
}

static void bench_parallel_get(struct kube_client *c, const char *ns)
{
	struct bench_worker w[BENCH_THREADS];
	pthread_t th[BENCH_THREADS];
	double start = bench_now();
	unsigned long total = 0;

	for (int i = 0; i < BENCH_THREADS; i++) {
		w[i] = (struct bench_worker){c, ns, start + bench_seconds, 0};
		pthread_create(&th[i], NULL, bench_worker_run, &w[i]);
	}
	for (int i = 0; i < BENCH_THREADS; i++) {
		pthread_join(th[i], NULL);
		total += w[i].done;
	}
	printf("GET %d threads, one client: %.0f req/s\n", BENCH_THREADS,
	       (double)total / (bench_now() - start));
}

static void bench_api(void)
{
	struct kube_config *cfg = NULL;
	struct kube_client *c = NULL;
	struct kube_status st;
	char err[512];
	json_t *cm;

	if (!getenv("KUBECONFIG")) {
		printf("GET: skipped (KUBECONFIG not set)\n");
		return;
	}
	if (kube_config_load_default(NULL, &cfg, err, sizeof(err)) || kube_client_new(cfg, &c)) {
		fprintf(stderr, "bench: %s\n", err);
		exit(1);
	}
	cm = json_pack("{s:{s:s}, s:{s:s}}", "metadata", "name", "bench", "data", "k", "v");
	kube_create(c, &bench_cms, "default", cm, NULL, NULL, &st);
	bench_sequential_get(c, "default");
	bench_parallel_get(c, "default");
	kube_delete(c, &bench_cms, "default", "bench", NULL, &st);
	json_decref(cm);
	kube_client_free(c);
	kube_config_free(cfg);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		bench_seconds = strtod(argv[1], NULL);
	if (bench_seconds <= 0)
		bench_seconds = 3;
	bench_watch_parser();
	bench_api();
	return 0;
}
