/* Unit tests for operator/runtime/leaderelection.c: the decisions over recorded Lease objects
 * (absent -> create; held by another and fresh -> wait; unchanged for its duration -> take
 * over with leaseTransitions+1; ours -> renew; released -> take over at once; renewal failing
 * past the deadline -> lost; release), then the elector's calls through scripted kubeops. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "operator/runtime/leaderelection.h"
#include "../support/ctrltest.h"

#define ME "saqr-operator-7d9f-a"
#define OTHER "saqr-operator-7d9f-b"
/* 2025-01-10T10:06:30.250000Z */
#define WALL 1736503590.25
#define WALL_TEXT "2025-01-10T10:06:30.250000Z"

static const struct leaderelection_params params = {ME, 15, 10, 2};

struct decision {
	enum leaderelection_action action;
	json_t *body;
};

static struct decision decide(struct leaderelection_state *st, const json_t *lease, double now)
{
	struct decision d = {LEADERELECTION_WAIT, NULL};

	assert_int_equal(leaderelection_decide(st, &params, "saqr-system", "saqr-operator", lease, now, WALL,
					       &d.action, &d.body),
			 0);
	return d;
}

static void test_absent_creates(void **state)
{
	struct leaderelection_state st;
	struct decision d;

	(void)state;
	leaderelection_state_init(&st);
	d = decide(&st, NULL, 100);
	assert_int_equal(d.action, LEADERELECTION_CREATE);
	assert_string_equal(json_path_str(d.body, "apiVersion", ""), "coordination.k8s.io/v1");
	assert_string_equal(json_path_str(d.body, "kind", ""), "Lease");
	assert_string_equal(json_path_str(d.body, "metadata.name", ""), "saqr-operator");
	assert_string_equal(json_path_str(d.body, "metadata.namespace", ""), "saqr-system");
	assert_string_equal(json_path_str(d.body, "spec.holderIdentity", ""), ME);
	assert_int_equal(json_path_int(d.body, "spec.leaseDurationSeconds", 0), 15);
	assert_int_equal(json_path_int(d.body, "spec.leaseTransitions", -1), 0);
	assert_string_equal(json_path_str(d.body, "spec.acquireTime", ""), WALL_TEXT);
	assert_string_equal(json_path_str(d.body, "spec.renewTime", ""), WALL_TEXT);
	assert_false(st.leading);
	json_decref(d.body);
	leaderelection_state_release(&st);
}

static void test_other_fresh_waits_then_expired_takes_over(void **state)
{
	json_t *lease = ctrltest_fixture("lease_other.json");
	struct leaderelection_state st;
	struct decision d;

	(void)state;
	leaderelection_state_init(&st);
	/* First sight at t=100: valid until 115 on our clock, whatever its timestamps say. */
	d = decide(&st, lease, 100);
	assert_int_equal(d.action, LEADERELECTION_WAIT);
	assert_null(d.body);
	d = decide(&st, lease, 114.9);
	assert_int_equal(d.action, LEADERELECTION_WAIT);
	/* Unchanged for 15 s: expired. Take over, one more transition, acquired now. */
	d = decide(&st, lease, 115.1);
	assert_int_equal(d.action, LEADERELECTION_UPDATE);
	assert_string_equal(json_path_str(d.body, "spec.holderIdentity", ""), ME);
	assert_int_equal(json_path_int(d.body, "spec.leaseTransitions", 0), 4);
	assert_string_equal(json_path_str(d.body, "spec.acquireTime", ""), WALL_TEXT);
	assert_string_equal(json_path_str(d.body, "spec.renewTime", ""), WALL_TEXT);
	assert_int_equal(json_path_int(d.body, "spec.leaseDurationSeconds", 0), 15);
	/* Optimistic concurrency: the update carries the version we read. */
	assert_string_equal(json_path_str(d.body, "metadata.resourceVersion", ""), "4211");
	json_decref(d.body);
	json_decref(lease);
	leaderelection_state_release(&st);
}

static void test_renewal_by_other_restarts_clock(void **state)
{
	json_t *lease = ctrltest_fixture("lease_other.json");
	json_t *renewed = ctrltest_fixture("lease_other_renewed.json");
	struct leaderelection_state st;
	struct decision d;

	(void)state;
	leaderelection_state_init(&st);
	assert_int_equal(decide(&st, lease, 100).action, LEADERELECTION_WAIT);
	/* The holder renewed at some point: seen at 114, so valid until 129 for us. */
	assert_int_equal(decide(&st, renewed, 114).action, LEADERELECTION_WAIT);
	assert_int_equal(decide(&st, renewed, 128.9).action, LEADERELECTION_WAIT);
	d = decide(&st, renewed, 129.1);
	assert_int_equal(d.action, LEADERELECTION_UPDATE);
	assert_string_equal(json_path_str(d.body, "metadata.resourceVersion", ""), "4219");
	json_decref(d.body);
	json_decref(lease);
	json_decref(renewed);
	leaderelection_state_release(&st);
}

static void test_ours_renews(void **state)
{
	json_t *lease = ctrltest_fixture("lease_ours.json");
	struct leaderelection_state st;
	struct decision d;

	(void)state;
	leaderelection_state_init(&st);
	d = decide(&st, lease, 100);
	assert_int_equal(d.action, LEADERELECTION_UPDATE);
	assert_string_equal(json_path_str(d.body, "spec.holderIdentity", ""), ME);
	/* A renewal keeps acquireTime and the transition count; only renewTime moves. */
	assert_string_equal(json_path_str(d.body, "spec.acquireTime", ""), "2025-01-10T10:00:00.000000Z");
	assert_int_equal(json_path_int(d.body, "spec.leaseTransitions", 0), 4);
	assert_string_equal(json_path_str(d.body, "spec.renewTime", ""), WALL_TEXT);
	assert_string_equal(json_path_str(d.body, "metadata.resourceVersion", ""), "5002");
	json_decref(d.body);
	json_decref(lease);
	leaderelection_state_release(&st);
}

static void test_released_taken_at_once(void **state)
{
	json_t *lease = ctrltest_fixture("lease_released.json");
	struct leaderelection_state st;
	struct decision d;

	(void)state;
	leaderelection_state_init(&st);
	/* Just seen, but nobody holds it: no need to wait. */
	d = decide(&st, lease, 100);
	assert_int_equal(d.action, LEADERELECTION_UPDATE);
	assert_string_equal(json_path_str(d.body, "spec.holderIdentity", ""), ME);
	assert_int_equal(json_path_int(d.body, "spec.leaseTransitions", 0), 5);
	assert_int_equal(json_path_int(d.body, "spec.leaseDurationSeconds", 0), 15);
	json_decref(d.body);
	json_decref(lease);
	leaderelection_state_release(&st);
}

static void test_record_duration_is_used(void **state)
{
	json_t *lease = ctrltest_fixture("lease_other.json");
	struct leaderelection_state st;
	struct decision d;

	(void)state;
	/* The holder wrote leaseDurationSeconds 1: that, not our 15, is how long we wait. */
	json_object_set_new(json_object_get(lease, "spec"), "leaseDurationSeconds", json_integer(1));
	leaderelection_state_init(&st);
	assert_int_equal(decide(&st, lease, 100).action, LEADERELECTION_WAIT);
	d = decide(&st, lease, 101.5);
	assert_int_equal(d.action, LEADERELECTION_UPDATE);
	json_decref(d.body);
	json_decref(lease);
	leaderelection_state_release(&st);
}

static void test_renew_deadline_and_release(void **state)
{
	json_t *lease = ctrltest_fixture("lease_ours.json");
	struct leaderelection_state st;
	struct decision d;
	json_t *rel;

	(void)state;
	leaderelection_state_init(&st);
	assert_int_equal(leaderelection_release_body(&st, &params, WALL, &rel), SAQR_EEMPTY);
	d = decide(&st, lease, 100);
	json_object_set_new(json_object_get(d.body, "metadata"), "resourceVersion", json_string("5003"));
	leaderelection_record_success(&st, d.body, 100);
	assert_true(st.leading);
	assert_false(leaderelection_renew_expired(&st, &params, 105));
	assert_false(leaderelection_renew_expired(&st, &params, 109.9));
	assert_true(leaderelection_renew_expired(&st, &params, 110.1));
	/* Release: empty holder, 1 s duration, transitions kept, our last version. */
	assert_int_equal(leaderelection_release_body(&st, &params, WALL + 1, &rel), 0);
	assert_string_equal(json_path_str(rel, "spec.holderIdentity", "x"), "");
	assert_int_equal(json_path_int(rel, "spec.leaseDurationSeconds", 0), 1);
	assert_int_equal(json_path_int(rel, "spec.leaseTransitions", 0), 4);
	assert_string_equal(json_path_str(rel, "spec.renewTime", ""), "2025-01-10T10:06:31.250000Z");
	assert_string_equal(json_path_str(rel, "metadata.resourceVersion", ""), "5003");
	json_decref(rel);
	/* A later read shows someone else holding it: releasing would clobber their lease. */
	json_decref(d.body);
	json_decref(lease);
	lease = ctrltest_fixture("lease_other.json");
	assert_int_equal(decide(&st, lease, 111).action, LEADERELECTION_WAIT);
	assert_true(st.leading); /* until the renew deadline */
	assert_int_equal(leaderelection_release_body(&st, &params, WALL, &rel), SAQR_EEMPTY);
	json_decref(lease);
	leaderelection_state_release(&st);
}

/* ---- the elector over scripted calls ---- */

struct calls {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int started, stopped;
};

static void on_started(void *ud)
{
	struct calls *c = ud;

	pthread_mutex_lock(&c->mu);
	c->started++;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

static void on_stopped(void *ud)
{
	struct calls *c = ud;

	pthread_mutex_lock(&c->mu);
	c->stopped++;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

static struct leaderelection *new_elector(struct ctrltest_ops *f, struct calls *c, double lease, double renew,
					  double retry)
{
	struct leaderelection_config cfg = {.namespace = "saqr-system",
					    .name = "saqr-operator",
					    .identity = ME,
					    .lease_duration = lease,
					    .renew_deadline = renew,
					    .retry_period = retry,
					    .on_started_leading = on_started,
					    .on_stopped_leading = on_stopped,
					    .ud = c};
	struct leaderelection *le = NULL;

	assert_int_equal(leaderelection_new(&f->ops, &cfg, &le), 0);
	return le;
}

static void test_bad_config(void **state)
{
	struct ctrltest_ops f;
	struct leaderelection_config cfg = {
	    .namespace = "ns", .name = "l", .identity = "me", .lease_duration = 5, .renew_deadline = 10};
	struct leaderelection *le;

	(void)state;
	ctrltest_ops_init(&f);
	assert_int_equal(leaderelection_new(&f.ops, &cfg, &le), SAQR_EINVAL);
	cfg.renew_deadline = 0;
	cfg.identity = "";
	assert_int_equal(leaderelection_new(&f.ops, &cfg, &le), SAQR_EINVAL);
	leaderelection_free(NULL);
	ctrltest_ops_release(&f);
}

static void test_try_create_wait_conflict(void **state)
{
	struct ctrltest_ops f;
	struct calls c = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
	struct leaderelection *le;

	(void)state;
	ctrltest_ops_init(&f);
	le = new_elector(&f, &c, 0, 0, 0);
	/* Held by another: wait, write nothing. */
	ctrltest_reply(&f, CTRLTEST_GET, 0, ctrltest_fixture("lease_other.json"));
	assert_int_equal(leaderelection_try(le), SAQR_EBUSY);
	assert_false(leaderelection_is_leader(le));
	/* Gone (NotFound): create; another replica created it first (AlreadyExists). */
	ctrltest_reply(&f, CTRLTEST_GET, SAQR_ENOTFOUND, NULL);
	ctrltest_reply(&f, CTRLTEST_CREATE, SAQR_EEXIST, NULL);
	assert_int_equal(leaderelection_try(le), SAQR_EEXIST);
	assert_false(leaderelection_is_leader(le));
	/* Released: update it; the update loses a race (Conflict). */
	ctrltest_reply(&f, CTRLTEST_GET, 0, ctrltest_fixture("lease_released.json"));
	ctrltest_reply(&f, CTRLTEST_UPDATE, SAQR_ECONFLICT, NULL);
	assert_int_equal(leaderelection_try(le), SAQR_ECONFLICT);
	assert_false(leaderelection_is_leader(le));
	/* The API server is unreachable: the error comes back. */
	assert_int_equal(leaderelection_try(le), SAQR_ETRANSPORT);
	/* Released, update succeeds: we lead. */
	f.echo_writes = true;
	ctrltest_reply(&f, CTRLTEST_GET, 0, ctrltest_fixture("lease_released.json"));
	assert_int_equal(leaderelection_try(le), 0);
	assert_true(leaderelection_is_leader(le));
	assert_string_equal(ctrltest_call(&f, CTRLTEST_UPDATE, 1)->name, "saqr-operator");
	assert_string_equal(ctrltest_call(&f, CTRLTEST_UPDATE, 1)->ns, "saqr-system");
	assert_string_equal(ctrltest_call(&f, CTRLTEST_GET, 0)->resource, "leases");
	/* Stop releases the lease and reports the end of leadership. */
	leaderelection_stop(le);
	assert_false(leaderelection_is_leader(le));
	assert_int_equal(ctrltest_ncalls(&f, CTRLTEST_UPDATE), 3);
	assert_string_equal(
	    json_path_str(ctrltest_call(&f, CTRLTEST_UPDATE, 2)->body, "spec.holderIdentity", "x"), "");
	assert_int_equal(c.stopped, 1);
	assert_int_equal(c.started, 0); /* callbacks of the thread only */
	leaderelection_stop(le);
	assert_int_equal(c.stopped, 1);
	leaderelection_free(le);
	ctrltest_ops_release(&f);
}

static void test_thread_acquires_then_loses(void **state)
{
	struct ctrltest_ops f;
	struct calls c = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
	struct leaderelection *le;

	(void)state;
	ctrltest_ops_init(&f);
	f.echo_writes = true;
	/* Short periods so the loop turns quickly; nothing below depends on how long it takes. */
	le = new_elector(&f, &c, 0.3, 0.2, 0.01);
	ctrltest_reply(&f, CTRLTEST_GET, SAQR_ENOTFOUND, NULL);
	assert_int_equal(leaderelection_start(le), 0);
	assert_int_equal(leaderelection_start(le), SAQR_EBUSY);
	pthread_mutex_lock(&c.mu);
	while (c.started == 0)
		pthread_cond_wait(&c.cv, &c.mu);
	pthread_mutex_unlock(&c.mu);
	assert_int_equal(ctrltest_ncalls(&f, CTRLTEST_CREATE), 1);
	/* Every later get fails (unscripted: transport error): past the renew deadline the
	 * elector gives up leadership on its own. */
	pthread_mutex_lock(&c.mu);
	while (c.stopped == 0)
		pthread_cond_wait(&c.cv, &c.mu);
	pthread_mutex_unlock(&c.mu);
	assert_false(leaderelection_is_leader(le));
	leaderelection_stop(le);
	/* Not leading at stop: no release, no second callback. */
	assert_int_equal(ctrltest_ncalls(&f, CTRLTEST_UPDATE), 0);
	assert_int_equal(c.stopped, 1);
	assert_int_equal(c.started, 1);
	leaderelection_free(le);
	ctrltest_ops_release(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_absent_creates),
	    cmocka_unit_test(test_other_fresh_waits_then_expired_takes_over),
	    cmocka_unit_test(test_renewal_by_other_restarts_clock),
	    cmocka_unit_test(test_ours_renews),
	    cmocka_unit_test(test_released_taken_at_once),
	    cmocka_unit_test(test_record_duration_is_used),
	    cmocka_unit_test(test_renew_deadline_and_release),
	    cmocka_unit_test(test_bad_config),
	    cmocka_unit_test(test_try_create_wait_conflict),
	    cmocka_unit_test(test_thread_acquires_then_loses),
	};

	return cmocka_run_group_tests_name("leaderelection", tests, NULL, NULL);
}
