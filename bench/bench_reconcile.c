/* Benchmark of the pure reconcilers: how long one ModelDeployment or TrainingJob reconcile
 * spends building desired objects and status (no I/O). Prints one line per step. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "operator/conditions.h"
#include "operator/modeldeployment/modeldeployment.h"
#include "operator/trainingjob/trainingjob.h"

#define NOW "2024-05-02T08:00:00Z"

static json_t *load(const char *name)
{
	const char *root = getenv("SAQR_ROOT");
	char path[1024];
	json_t *v;

	snprintf(path, sizeof(path), "%s/tests/data/operator/%s", root ? root : ".", name);
	v = json_load_file(path, 0, NULL);
	if (!v) {
		fprintf(stderr, "bench: cannot load %s\n", path);
		exit(1);
	}
	return v;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct ctx {
	json_t *md, *canary_md, *dep, *tj, *job;
};

static int step_md_desired(struct ctx *c)
{
	struct md_desired d;
	int rc = md_desired(c->canary_md, NULL, &d);

	md_desired_release(&d);
	return rc;
}

static int step_md_status(struct ctx *c)
{
	struct md_observed obs = {.deployment = c->dep};
	json_t *st = NULL;
	int rc = md_status(c->md, &obs, NOW, &st);

	if (!rc && !cond_status_equal(st, json_object_get(c->md, "status")))
		rc = -1; /* steady state: the status must not change */
	json_decref(st);
	return rc;
}

static int step_tj_desired(struct ctx *c)
{
	struct tj_desired d;
	int rc = tj_desired(c->tj, &d);

	tj_desired_release(&d);
	return rc;
}

static int step_tj_status(struct ctx *c)
{
	struct tj_observed obs = {c->job, NULL, NULL};
	json_t *st = NULL;
	int rc = tj_status(c->tj, &obs, NOW, &st);

	json_decref(st);
	return rc;
}

static void run(const char *name, int (*fn)(struct ctx *), struct ctx *c, long n)
{
	double t0 = now_s(), dt;

	for (long i = 0; i < n; i++)
		if (fn(c)) {
			fprintf(stderr, "bench: %s failed\n", name);
			exit(1);
		}
	dt = now_s() - t0;
	printf("%-44s %8ld ops  %9.0f ops/s  %7.2f us/op\n", name, n, (double)n / dt, dt * 1e6 / (double)n);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 20000;
	struct ctx c = {load("md_fraud.json"), load("md_ranker_canary.json"), load("deploy_available.json"),
			load("tj_fraud.json"), load("job_running.json")};
	struct md_observed obs = {.deployment = c.dep};
	json_t *st = NULL;

	if (md_status(c.md, &obs, NOW, &st))
		return 1;
	json_object_set_new(c.md, "status", st); /* steady state */
	run("md_desired (canary+HPA+PDB, 6 objects)", step_md_desired, &c, n);
	run("md_status + cond_status_equal (unchanged)", step_md_status, &c, n);
	run("tj_desired (PyTorch, 4 replicas)", step_tj_desired, &c, n);
	run("tj_status (running Job)", step_tj_status, &c, n);
	json_decref(c.md);
	json_decref(c.canary_md);
	json_decref(c.dep);
	json_decref(c.tj);
	json_decref(c.job);
	return 0;
}
