/* Micro-benchmark of the admission policy engine: reviews per second on one core for a
 * realistic ~4 KiB Deployment under the default policy (restricted, every group on), with the
 * object parsed once (what policy_eval costs) and parsed every time (what a webhook pays for
 * the object), plus a denied object whose findings are formatted (built with -D_GNU_SOURCE).
 *   bench_policy [SECONDS]   (run from the repository root; `make bench-policy`) */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/yamljson.h"
#include "policy/policy.h"

#define BENCH_FIXTURE "tests/data/policy/deployment-4k.yaml"

static double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *bench_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = malloc((size_t)n + 1);
	if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
		free(data);
		data = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return data;
}

/* One review: evaluate (parsing json first when obj is NULL). Returns the findings count. */
static size_t bench_review(const struct policy *p, const json_t *obj, const char *json, size_t len)
{
	json_t *parsed = obj ? NULL : json_loadb(json, len, 0, NULL);
	struct policy_input in = {obj ? obj : parsed, "CREATE", NULL, NULL, 1893456000};
	struct policy_decision d;
	size_t n;

	policy_decision_init(&d);
	if (policy_eval(p, &in, &d) != 0) {
		fprintf(stderr, "bench-policy: policy_eval failed\n");
		exit(1);
	}
	n = d.nviolations;
	if (!d.allowed) {
		struct buf msg;

		buf_init(&msg, 1 << 20);
		policy_decision_deny_message(&d, &msg);
		buf_release(&msg);
	}
	policy_decision_release(&d);
	json_decref(parsed);
	return n;
}

static void bench_run(const char *label, const struct policy *p, const json_t *obj, const char *json,
		      size_t len, double seconds)
{
	size_t iters = 0, batch = 1000, i, findings = 0;
	double start = bench_now(), elapsed;

	do {
		for (i = 0; i < batch; i++)
			findings = bench_review(p, obj, json, len);
		iters += batch;
		elapsed = bench_now() - start;
	} while (elapsed < seconds);
	printf("  %-34s %10.0f reviews/s  %7.2f us/review  (%zu findings)\n", label, (double)iters / elapsed,
	       elapsed * 1e6 / (double)iters, findings);
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? strtod(argv[1], NULL) : 2.0;
	struct policy *p;
	json_t *obj, *bad;
	char *yaml, *json, *bad_json, err[256];
	size_t len;
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(0, &one);
	sched_setaffinity(0, sizeof(one), &one); /* one core; best effort */
	yaml = bench_read(BENCH_FIXTURE, &len);
	if (!yaml || yaml_to_json(yaml, len, 1u << 20, &obj, err, sizeof(err)) != 0 ||
	    policy_load_default(&p) != 0) {
		fprintf(stderr,
			"bench-policy: cannot load %s or the default policy (run from the repository root)\n",
			BENCH_FIXTURE);
		return 1;
	}
	json = json_dumps(obj, JSON_COMPACT);
	bad = json_deep_copy(obj);
	json_object_set_new(
	    json_object_get(json_object_get(json_object_get(bad, "spec"), "template"), "spec"), "hostNetwork",
	    json_true());
	json_object_del(json_object_get(json_object_get(bad, "metadata"), "labels"), "saqr.dev/owner");
	bad_json = json_dumps(bad, JSON_COMPACT);
	printf("bench-policy: Deployment of %zu bytes (compact JSON), default policy (restricted, all "
	       "groups), one core\n",
	       strlen(json));
	bench_run("eval (object parsed once)", p, obj, NULL, 0, seconds);
	bench_run("parse + eval", p, NULL, json, strlen(json), seconds);
	bench_run("eval, denied + deny message", p, bad, NULL, 0, seconds);
	free(yaml);
	free(json);
	free(bad_json);
	json_decref(obj);
	json_decref(bad);
	policy_free(p);
	return 0;
}
