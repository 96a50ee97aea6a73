/* Unit tests for operator/runtime/workqueue.c: de-duplication, re-adding while processing,
 * the backoff sequence and its cap, the token bucket, delayed adds, workers under
 * concurrency, and shutdown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "operator/runtime/workqueue.h"

static double fake_now;

static double fake_clock(void)
{
	return fake_now;
}

static struct workqueue *new_queue(void)
{
	struct workqueue_opts o = {.clock = fake_clock};
	struct workqueue *q = NULL;

	fake_now = 1000;
	assert_int_equal(workqueue_new(&o, &q), 0);
	return q;
}

static char *get_key(struct workqueue *q)
{
	char *k = NULL;

	assert_int_equal(workqueue_get(q, &k), 0);
	return k;
}

static void expect_get(struct workqueue *q, const char *want)
{
	char *k = get_key(q);

	assert_string_equal(k, want);
	workqueue_done(q, k);
	free(k);
}

static void test_dedup(void **state)
{
	struct workqueue *q = new_queue();

	(void)state;
	assert_int_equal(workqueue_add(q, "ns/a"), 0);
	assert_int_equal(workqueue_add(q, "ns/b"), 0);
	assert_int_equal(workqueue_add(q, "ns/a"), 0);
	assert_int_equal(workqueue_len(q), 2);
	expect_get(q, "ns/a");
	expect_get(q, "ns/b");
	assert_int_equal(workqueue_len(q), 0);
	workqueue_shut_down(q);
	workqueue_free(q);
}

static void test_readd_while_processing(void **state)
{
	struct workqueue *q = new_queue();
	char *k;

	(void)state;
	workqueue_add(q, "ns/a");
	k = get_key(q);
	/* Added twice while processing: not handed to anyone else now, and queued once after done. */
	workqueue_add(q, "ns/a");
	workqueue_add(q, "ns/a");
	assert_int_equal(workqueue_len(q), 0);
	workqueue_done(q, k);
	free(k);
	assert_int_equal(workqueue_len(q), 1);
	expect_get(q, "ns/a");
	assert_int_equal(workqueue_len(q), 0);
	/* done() for a key nobody holds is harmless. */
	workqueue_done(q, "ns/zzz");
	workqueue_shut_down(q);
	workqueue_free(q);
}

static void test_backoff_sequence_and_cap(void **state)
{
	struct workqueue *q = new_queue();
	double want = 0.005;

	(void)state;
	for (unsigned i = 0; i < 25; i++) {
		double d = workqueue_rate_limit_delay(q, "ns/a");

		assert_true(d > want * 0.999 && d < want * 1.001);
		assert_int_equal(workqueue_num_requeues(q, "ns/a"), i + 1);
		want = want * 2 > 1000 ? 1000 : want * 2;
	}
	assert_true(want == 1000);
	/* Another key has its own count. */
	assert_true(workqueue_rate_limit_delay(q, "ns/b") < 0.0051);
	workqueue_forget(q, "ns/a");
	assert_int_equal(workqueue_num_requeues(q, "ns/a"), 0);
	assert_true(workqueue_rate_limit_delay(q, "ns/a") < 0.0051);
	workqueue_shut_down(q);
	workqueue_free(q);
}

static void test_token_bucket(void **state)
{
	struct workqueue *q = new_queue();
	char key[32];
	double d;

	(void)state;
	/* Burst 100: the first 100 distinct keys only pay their own 5 ms backoff. */
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "ns/k%d", i);
		assert_true(workqueue_rate_limit_delay(q, key) < 0.0051);
	}
	/* Then 10 qps: each further reservation waits 0.1 s more. */
	d = workqueue_rate_limit_delay(q, "ns/x1");
	assert_true(d > 0.099 && d < 0.101);
	d = workqueue_rate_limit_delay(q, "ns/x2");
	assert_true(d > 0.199 && d < 0.201);
	/* One second refills 10 tokens, two of which were already promised. */
	fake_now += 1;
	for (int i = 0; i < 8; i++) {
		snprintf(key, sizeof(key), "ns/y%d", i);
		assert_true(workqueue_rate_limit_delay(q, key) < 0.0051);
	}
	d = workqueue_rate_limit_delay(q, "ns/z");
	assert_true(d > 0.099 && d < 0.101);
	workqueue_shut_down(q);
	workqueue_free(q);
}

static void test_add_after_order(void **state)
{
	struct workqueue *q = new_queue();

	(void)state;
	assert_int_equal(workqueue_add_after(q, "ns/c", 0.030), 0);
	assert_int_equal(workqueue_add_after(q, "ns/b", 0.020), 0);
	assert_int_equal(workqueue_add_after(q, "ns/a", 0.010), 0);
	assert_int_equal(workqueue_waiting(q), 3);
	assert_int_equal(workqueue_len(q), 0);
	expect_get(q, "ns/a");
	expect_get(q, "ns/b");
	expect_get(q, "ns/c");
	assert_int_equal(workqueue_waiting(q), 0);
	/* A key already waiting keeps the earlier due time: this get does not wait 100 s. */
	workqueue_add_after(q, "ns/d", 100);
	workqueue_add_after(q, "ns/d", 0.001);
	workqueue_add_after(q, "ns/d", 50);
	expect_get(q, "ns/d");
	/* A zero delay is a plain add. */
	workqueue_add_after(q, "ns/e", 0);
	assert_int_equal(workqueue_len(q), 1);
	expect_get(q, "ns/e");
	workqueue_shut_down(q);
	workqueue_free(q);
}

static void test_add_rate_limited_requeues(void **state)
{
	struct workqueue *q = new_queue();
	char *k;

	(void)state;
	workqueue_add(q, "ns/a");
	k = get_key(q);
	assert_int_equal(workqueue_add_rate_limited(q, k), 0);
	workqueue_done(q, k);
	free(k);
	assert_int_equal(workqueue_num_requeues(q, "ns/a"), 1);
	expect_get(q, "ns/a"); /* after its 5 ms */
	workqueue_forget(q, "ns/a");
	assert_int_equal(workqueue_num_requeues(q, "ns/a"), 0);
	workqueue_shut_down(q);
	workqueue_free(q);
}

struct getter {
	struct workqueue *q;
	int rc;
};

static void *getter_main(void *arg)
{
	struct getter *g = arg;
	char *k = NULL;

	g->rc = workqueue_get(g->q, &k);
	free(k);
	return NULL;
}

static void test_shutdown_wakes_getters(void **state)
{
	struct workqueue *q = new_queue();
	struct getter g[3];
	pthread_t t[3];

	(void)state;
	/* One far-future item so some getters sleep in a timed wait, not only untimed. */
	workqueue_add_after(q, "ns/later", 3600);
	for (int i = 0; i < 3; i++) {
		g[i].q = q;
		g[i].rc = 1;
		assert_int_equal(pthread_create(&t[i], NULL, getter_main, &g[i]), 0);
	}
	workqueue_shut_down(q);
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(g[i].rc, SAQR_ECLOSED);
	}
	assert_true(workqueue_shutting_down(q));
	assert_int_equal(workqueue_add(q, "ns/a"), SAQR_ECLOSED);
	assert_int_equal(workqueue_add_after(q, "ns/a", 1), SAQR_ECLOSED);
	workqueue_free(q);
	workqueue_free(NULL);
}

static void test_max_keys(void **state)
{
	struct workqueue_opts o = {.max_keys = 2};
	struct workqueue *q;

	(void)state;
	assert_int_equal(workqueue_new(&o, &q), 0);
	assert_int_equal(workqueue_add(q, "a"), 0);
	assert_int_equal(workqueue_add(q, "b"), 0);
	assert_int_equal(workqueue_add(q, "c"), SAQR_ETOOBIG);
	assert_int_equal(workqueue_add(q, "a"), 0);
	expect_get(q, "a");
	/* "a" is gone once done, so there is room again. */
	assert_int_equal(workqueue_add(q, "c"), 0);
	workqueue_shut_down(q);
	workqueue_free(q);
}

struct hook_counts {
	atomic_size_t last_depth;
	atomic_size_t max_depth;
	atomic_int retries;
};

static void hook_depth(void *ud, size_t depth)
{
	struct hook_counts *h = ud;

	h->last_depth = depth;
	if (depth > h->max_depth)
		h->max_depth = depth;
}

static void hook_retry(void *ud, const char *key)
{
	struct hook_counts *h = ud;

	assert_string_equal(key, "ns/a");
	h->retries++;
}

static void test_hooks(void **state)
{
	struct hook_counts h = {0};
	struct workqueue_opts o = {.hooks = {hook_depth, hook_retry, &h}};
	struct workqueue *q;
	char *k;

	(void)state;
	assert_int_equal(workqueue_new(&o, &q), 0);
	workqueue_add(q, "ns/a");
	workqueue_add(q, "ns/b");
	workqueue_add(q, "ns/c");
	assert_int_equal(h.last_depth, 3);
	k = get_key(q);
	assert_int_equal(h.last_depth, 2);
	workqueue_add_rate_limited(q, k);
	workqueue_add_rate_limited(q, k);
	assert_int_equal(h.retries, 2);
	workqueue_done(q, k);
	free(k);
	assert_int_equal(h.max_depth, 3);
	workqueue_shut_down(q);
	workqueue_free(q);
}

/* ---- workers under concurrency ---- */

#define NKEYS 200
#define NPRODUCERS 3
#define ROUNDS 20

struct conc {
	struct workqueue *q;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	atomic_int in_flight[NKEYS];
	atomic_int gen[NKEYS]; /* bumped by producers before each add */
	int seen[NKEYS];       /* the generation a reconcile last saw (under mu) */
	atomic_int processed[NKEYS];
	atomic_bool overlap;
	atomic_int fail_left; /* the first reconciles of key 0 fail */
	atomic_int key0_runs;
};

static int key_index(const char *key)
{
	return (int)strtol(key + 2, NULL, 10);
}

static struct workqueue_result conc_reconcile(void *ud, const char *key)
{
	struct conc *c = ud;
	int i = key_index(key);
	struct workqueue_result res = {0};

	if (atomic_fetch_add(&c->in_flight[i], 1) != 0)
		c->overlap = true;
	if (i == 0) {
		c->key0_runs++;
		if (atomic_fetch_sub(&c->fail_left, 1) > 0)
			res.err = SAQR_EAPI;
	}
	atomic_fetch_sub(&c->in_flight[i], 1);
	c->processed[i]++;
	if (res.err == 0) {
		pthread_mutex_lock(&c->mu);
		c->seen[i] = c->gen[i];
		pthread_cond_broadcast(&c->cv);
		pthread_mutex_unlock(&c->mu);
	}
	return res;
}

static void *producer_main(void *arg)
{
	struct conc *c = arg;
	char key[16];

	for (int r = 0; r < ROUNDS; r++)
		for (int i = 0; i < NKEYS; i++) {
			snprintf(key, sizeof(key), "n/%d", i);
			c->gen[i]++;
			assert_int_equal(workqueue_add(c->q, key), 0);
		}
	return NULL;
}

static bool all_seen(struct conc *c)
{
	for (int i = 0; i < NKEYS; i++)
		if (c->seen[i] != c->gen[i])
			return false;
	return true;
}

static void test_workers_concurrency(void **state)
{
	static struct conc c;
	struct workqueue_workers *w;
	pthread_t prod[NPRODUCERS];

	(void)state;
	memset(&c, 0, sizeof(c));
	pthread_mutex_init(&c.mu, NULL);
	pthread_cond_init(&c.cv, NULL);
	c.fail_left = 2;
	assert_int_equal(workqueue_new(NULL, &c.q), 0);
	assert_int_equal(workqueue_run_workers(c.q, 0, conc_reconcile, &c, &w), SAQR_EINVAL);
	assert_int_equal(workqueue_run_workers(c.q, 4, conc_reconcile, &c, &w), 0);
	for (int i = 0; i < NPRODUCERS; i++)
		assert_int_equal(pthread_create(&prod[i], NULL, producer_main, &c), 0);
	for (int i = 0; i < NPRODUCERS; i++)
		pthread_join(prod[i], NULL);
	/* Every key's last add is reconciled (successfully) at some point after it. */
	pthread_mutex_lock(&c.mu);
	while (!all_seen(&c))
		pthread_cond_wait(&c.cv, &c.mu);
	pthread_mutex_unlock(&c.mu);
	workqueue_shut_down(c.q);
	workqueue_workers_join(w);
	assert_false(c.overlap);
	for (int i = 0; i < NKEYS; i++) {
		assert_true(c.processed[i] >= 1);
		/* De-duplication: never more runs than adds (plus key 0's two retries). */
		assert_true(c.processed[i] <= NPRODUCERS * ROUNDS + (i == 0 ? 2 : 0));
	}
	assert_true(c.key0_runs >= 3);
	assert_int_equal(workqueue_num_requeues(c.q, "n/0"), 0);
	workqueue_free(c.q);
	pthread_mutex_destroy(&c.mu);
	pthread_cond_destroy(&c.cv);
}

static int requeue_runs;

static struct workqueue_result requeue_reconcile(void *ud, const char *key)
{
	struct workqueue_result res = {0};

	(void)key;
	if (++requeue_runs < 3) {
		res.requeue_after = 0.001;
		return res;
	}
	workqueue_shut_down(ud);
	return res;
}

static void test_worker_requeue_after(void **state)
{
	struct workqueue *q;
	struct workqueue_workers *w;

	(void)state;
	assert_int_equal(workqueue_new(NULL, &q), 0);
	workqueue_add(q, "ns/a");
	assert_int_equal(workqueue_run_workers(q, 1, requeue_reconcile, q, &w), 0);
	workqueue_workers_join(w);
	assert_int_equal(requeue_runs, 3);
	assert_int_equal(workqueue_num_requeues(q, "ns/a"), 0);
	workqueue_free(q);
	workqueue_workers_join(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dedup),
	    cmocka_unit_test(test_readd_while_processing),
	    cmocka_unit_test(test_backoff_sequence_and_cap),
	    cmocka_unit_test(test_token_bucket),
	    cmocka_unit_test(test_add_after_order),
	    cmocka_unit_test(test_add_rate_limited_requeues),
	    cmocka_unit_test(test_shutdown_wakes_getters),
	    cmocka_unit_test(test_max_keys),
	    cmocka_unit_test(test_hooks),
	    cmocka_unit_test(test_workers_concurrency),
	    cmocka_unit_test(test_worker_requeue_after),
	};

	return cmocka_run_group_tests_name("workqueue", tests, NULL, NULL);
}
