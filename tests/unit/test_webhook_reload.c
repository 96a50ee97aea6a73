/* Unit tests for webhook/reload.c against the real policy engine: a good policy replaced
 * by a bad one keeps the last good one (counted as an error), in-flight references survive a
 * swap, the Kubernetes ConfigMap `..data` symlink swap is seen, certificate changes call the
 * TLS reload, and the watcher thread picks changes up on its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/metrics.h"
#include "webhook/reload.h"

#define ERR_LABELS "result=\"error\""
#define OK_LABELS "result=\"success\""

struct fixture {
	char dir[64];
	char policy[128];
	char *good; /* a policy the engine accepts: manifests/policy/default.yaml */
	size_t good_len;
	struct metrics *metrics;
};

static char *slurp(const char *path, size_t *len)
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
	if (data) {
		data[n] = '\0';
		*len = (size_t)n;
	}
	return data;
}

/* Replace path atomically (a new inode, as an editor or kubelet would). */
static void put_file(const char *path, const char *data, size_t len, const char *trailer)
{
	char tmp[256];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	if (trailer)
		fputs(trailer, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(rename(tmp, path), 0);
}

static int setup(void **state)
{
	const char *root = getenv("SAQR_ROOT");
	struct fixture *f = calloc(1, sizeof(*f));
	char path[512];

	snprintf(path, sizeof(path), "%s/manifests/policy/default.yaml", root ? root : ".");
	f->good = slurp(path, &f->good_len);
	if (!f->good) {
		fprintf(stderr, "cannot read %s\n", path);
		return -1;
	}
	snprintf(f->dir, sizeof(f->dir), "/tmp/saqr-reload-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->policy, sizeof(f->policy), "%s/policy.yaml", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f->good);
	free(f);
	return 0;
}

static int before(void **state)
{
	struct fixture *f = *state;

	f->metrics = metrics_new();
	put_file(f->policy, f->good, f->good_len, NULL);
	return f->metrics ? 0 : -1;
}

static int after(void **state)
{
	struct fixture *f = *state;

	metrics_free(f->metrics);
	f->metrics = NULL;
	return 0;
}

static struct reload *open_reload(struct fixture *f, const char *policy_file)
{
	struct reload_opts o = {.policy_file = policy_file, .metrics = f->metrics, .interval_ms = 10};
	struct reload *r = NULL;
	char err[256] = "";

	assert_int_equal(reload_new(&o, &r, err, sizeof(err)), 0);
	return r;
}

static unsigned long generation(struct reload *r)
{
	struct reload_policy *p = reload_policy_get(r);
	unsigned long g = p->generation;

	reload_policy_put(p);
	return g;
}

/* The policy still judges objects: evaluate a small Pod with it. */
static void assert_usable(const struct reload_policy *p)
{
	json_t *pod = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:[{s:s, s:s}]}}", "apiVersion", "v1", "kind",
				"Pod", "metadata", "name", "p", "namespace", "default", "spec", "containers",
				"name", "c", "image", "busybox");
	struct policy_input in = {.object = pod, .operation = "CREATE"};
	struct policy_decision d;

	policy_decision_init(&d);
	assert_int_equal(policy_eval(p->policy, &in, &d), 0);
	policy_decision_release(&d);
	json_decref(pod);
}

static void test_good_then_bad_keeps_the_last_good(void **state)
{
	struct fixture *f = *state;
	struct reload *r = open_reload(f, f->policy);
	struct reload_policy *p;

	assert_int_equal(generation(r), 1);
	assert_int_equal(reload_poll(r), 0); /* nothing changed */
	assert_int_equal(generation(r), 1);

	put_file(f->policy, f->good, f->good_len, "\n# second revision\n");
	assert_int_equal(reload_poll(r), 0);
	assert_int_equal(generation(r), 2);
	assert_true(metrics_value(f->metrics, "saqr_policy_reloads_total", OK_LABELS) == 1);

	put_file(f->policy, "podSecurity: [unclosed\n", 23, NULL);
	assert_true(reload_poll(r) < 0);
	assert_int_equal(generation(r), 2);
	assert_true(metrics_value(f->metrics, "saqr_policy_reloads_total", ERR_LABELS) == 1);
	assert_true(metrics_value(f->metrics, "saqr_policy_last_reload_successful", "") == 0);
	p = reload_policy_get(r);
	assert_usable(p);
	reload_policy_put(p);

	assert_int_equal(reload_poll(r), 0); /* the bad file is not retried until it changes */
	assert_true(metrics_value(f->metrics, "saqr_policy_reloads_total", ERR_LABELS) == 1);

	put_file(f->policy, f->good, f->good_len, "\n# third revision\n");
	assert_int_equal(reload_poll(r), 0);
	assert_int_equal(generation(r), 3);
	assert_true(metrics_value(f->metrics, "saqr_policy_reloads_total", OK_LABELS) == 2);
	assert_true(metrics_value(f->metrics, "saqr_policy_last_reload_successful", "") == 1);
	reload_free(r);
}

static void test_in_flight_reference_survives_a_swap(void **state)
{
	struct fixture *f = *state;
	struct reload *r = open_reload(f, f->policy);
	struct reload_policy *old = reload_policy_get(r), *fresh;

	put_file(f->policy, f->good, f->good_len, "\n# changed\n");
	assert_int_equal(reload_poll(r), 0);
	fresh = reload_policy_get(r);
	assert_int_equal(old->generation, 1);
	assert_int_equal(fresh->generation, 2);
	assert_ptr_not_equal(old->policy, fresh->policy);
	assert_usable(old); /* still alive: the request holding it finishes with it */
	reload_policy_put(old);
	reload_policy_put(fresh);
	reload_free(r); /* ASan's leak check proves both policies are freed */
}

static void test_missing_file_is_an_error(void **state)
{
	struct fixture *f = *state;
	struct reload *r = open_reload(f, f->policy);

	assert_int_equal(unlink(f->policy), 0);
	assert_true(reload_poll(r) < 0);
	assert_int_equal(generation(r), 1);
	put_file(f->policy, f->good, f->good_len, NULL);
	assert_int_equal(reload_poll(r), 0);
	assert_int_equal(generation(r), 2);
	reload_free(r);
}

/* The layout kubelet gives a ConfigMap volume: policy.yaml -> ..data/policy.yaml, ..data -> ..<ts>. */
static void test_configmap_symlink_swap(void **state)
{
	struct fixture *f = *state;
	char vol[128], v1[160], v2[160], data[160], tmp[160], link[160], file[200];
	struct reload *r;

	snprintf(vol, sizeof(vol), "%s/vol", f->dir);
	snprintf(v1, sizeof(v1), "%s/..2026_11_26_10_00_00.1", vol);
	snprintf(v2, sizeof(v2), "%s/..2026_11_26_10_05_00.2", vol);
	snprintf(data, sizeof(data), "%s/..data", vol);
	snprintf(tmp, sizeof(tmp), "%s/..data_tmp", vol);
	snprintf(link, sizeof(link), "%s/policy.yaml", vol);
	assert_int_equal(mkdir(vol, 0755) | mkdir(v1, 0755) | mkdir(v2, 0755), 0);
	snprintf(file, sizeof(file), "%s/policy.yaml", v1);
	put_file(file, f->good, f->good_len, NULL);
	snprintf(file, sizeof(file), "%s/policy.yaml", v2);
	put_file(file, f->good, f->good_len, "\n# from the updated ConfigMap\n");
	assert_int_equal(symlink("..2026_11_26_10_00_00.1", data), 0);
	assert_int_equal(symlink("..data/policy.yaml", link), 0);

	r = open_reload(f, link);
	assert_int_equal(reload_poll(r), 0);
	assert_int_equal(generation(r), 1);
	/* kubelet's atomic update: a new ..data symlink renamed over the old one */
	assert_int_equal(symlink("..2026_11_26_10_05_00.2", tmp), 0);
	assert_int_equal(rename(tmp, data), 0);
	assert_int_equal(reload_poll(r), 0);
	assert_int_equal(generation(r), 2);
	reload_free(r);
}

static int tls_calls, tls_result;

static int fake_reload_tls(void *ud)
{
	(void)ud;
	tls_calls++;
	return tls_result;
}

static void test_certificate_changes_reload_tls(void **state)
{
	struct fixture *f = *state;
	char cert[128], key[128], err[128];
	struct reload_opts o = {
	    .cert_file = cert, .key_file = key, .reload_tls = fake_reload_tls, .metrics = f->metrics};
	struct reload *r = NULL;

	snprintf(cert, sizeof(cert), "%s/tls.crt", f->dir);
	snprintf(key, sizeof(key), "%s/tls.key", f->dir);
	put_file(cert, "cert-1", 6, NULL);
	put_file(key, "key-1", 5, NULL);
	tls_calls = tls_result = 0;
	assert_int_equal(reload_new(&o, &r, err, sizeof(err)), 0); /* the built-in policy */
	assert_int_equal(reload_poll(r), 0);
	assert_int_equal(tls_calls, 0);

	put_file(cert, "cert-2", 6, NULL);
	put_file(key, "key-2", 5, NULL);
	assert_int_equal(reload_poll(r), 0);
	assert_int_equal(tls_calls, 1); /* one reload for the pair */
	assert_true(metrics_value(f->metrics, "saqr_tls_reloads_total", OK_LABELS) == 1);

	tls_result = SAQR_ECONFIG;
	put_file(key, "key-3!", 6, NULL);
	assert_int_equal(reload_poll(r), SAQR_ECONFIG);
	assert_int_equal(tls_calls, 2);
	assert_true(metrics_value(f->metrics, "saqr_tls_reloads_total", ERR_LABELS) == 1);
	reload_free(r);
}

static void test_bad_initial_policy(void **state)
{
	struct fixture *f = *state;
	struct reload_opts o = {.policy_file = f->policy};
	struct reload *r = NULL;
	char err[256] = "";

	put_file(f->policy, "podSecurity: [unclosed\n", 23, NULL);
	assert_true(reload_new(&o, &r, err, sizeof(err)) < 0);
	assert_null(r);
	assert_true(strlen(err) > 0);
	o.policy_file = "/nonexistent/policy.yaml";
	assert_true(reload_new(&o, &r, err, sizeof(err)) < 0);
	assert_null(r);
	o.policy_file = NULL;
	o.cert_file = "/tmp/only-a-cert";
	assert_int_equal(reload_new(&o, &r, err, sizeof(err)), SAQR_EINVAL);
	reload_free(NULL);
	reload_policy_put(NULL);
}

static void test_watcher_thread_reloads_by_itself(void **state)
{
	struct fixture *f = *state;
	struct reload *r = open_reload(f, f->policy);
	struct timespec pause = {0, 10 * 1000 * 1000};

	assert_int_equal(reload_start(r), 0);
	put_file(f->policy, f->good, f->good_len, "\n# picked up by the watcher\n");
	for (int i = 0; i < 1000 && generation(r) < 2; i++) /* waits for the event, bounded */
		nanosleep(&pause, NULL);
	assert_int_equal(generation(r), 2);
	reload_free(r); /* stops and joins the watcher */
}

/* on_policy hears of every load of the file: the first, each reload, and each refusal. */
struct told {
	int loaded, refused;
	char last[256];
};

static void note_load(void *ud, bool loaded, const char *message)
{
	struct told *t = ud;

	if (loaded)
		t->loaded++;
	else
		t->refused++;
	snprintf(t->last, sizeof(t->last), "%s", message ? message : "");
}

static void test_on_policy_is_told_of_each_load(void **state)
{
	struct fixture *f = *state;
	struct told t = {0};
	struct reload_opts o = {.policy_file = f->policy, .on_policy = note_load, .policy_ud = &t};
	struct reload *r = NULL;
	char err[256] = "";

	assert_int_equal(reload_new(&o, &r, err, sizeof(err)), 0);
	assert_int_equal(t.loaded, 1);
	put_file(f->policy, "spec: {podSecurity: {level: strict}}\n", 37, NULL);
	assert_true(reload_poll(r) < 0);
	assert_int_equal(t.refused, 1);
	assert_non_null(strstr(t.last, "spec.podSecurity.level"));
	put_file(f->policy, f->good, f->good_len, "\n# fixed\n");
	assert_int_equal(reload_poll(r), 0);
	assert_int_equal(t.loaded, 2);
	assert_string_equal(t.last, "");
	reload_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_good_then_bad_keeps_the_last_good, before, after),
	    cmocka_unit_test_setup_teardown(test_in_flight_reference_survives_a_swap, before, after),
	    cmocka_unit_test_setup_teardown(test_missing_file_is_an_error, before, after),
	    cmocka_unit_test_setup_teardown(test_configmap_symlink_swap, before, after),
	    cmocka_unit_test_setup_teardown(test_certificate_changes_reload_tls, before, after),
	    cmocka_unit_test_setup_teardown(test_bad_initial_policy, before, after),
	    cmocka_unit_test_setup_teardown(test_watcher_thread_reloads_by_itself, before, after),
	    cmocka_unit_test_setup_teardown(test_on_policy_is_told_of_each_load, before, after),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
