/* Unit tests for operator/runtime/manager.c over scripted kubeops: primary and owned objects
 * queue the right keys, reconcile results and metrics, leader gating (workers only while
 * leading; a lost lease stops them and ends manager_wait), the Lease released on stop, and
 * the /metrics, /healthz and /readyz answers. */
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
#include "operator/runtime/manager.h"
#include "../support/ctrltest.h"

static const struct kube_resource modeldeployments = {"saqr.dev", "v1alpha1", "modeldeployments", true};
static const struct kube_resource deployments = {"apps", "v1", "deployments", true};

struct rec {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	json_t *keys;  /* "ns/name" per reconcile, in order */
	int fail_next; /* reconciles left that return an error */
};

static struct workqueue_result reconcile(void *ud, const char *ns, const char *name)
{
	struct rec *r = ud;
	struct workqueue_result res = {0};

	pthread_mutex_lock(&r->mu);
	json_array_append_new(r->keys, json_sprintf("%s/%s", ns, name));
	if (r->fail_next > 0) {
		r->fail_next--;
		res.err = SAQR_ECONFLICT;
	}
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	return res;
}

static void wait_reconciles(struct rec *r, size_t n)
{
	pthread_mutex_lock(&r->mu);
	while (json_array_size(r->keys) < n)
		pthread_cond_wait(&r->cv, &r->mu);
	pthread_mutex_unlock(&r->mu);
}

struct fx {
	struct ctrltest_ops f;
	struct rec rec;
	struct manager *m;
};

static void script_lists(struct ctrltest_ops *f)
{
	ctrltest_reply_for(f, CTRLTEST_LIST, "modeldeployments", 0,
			   ctrltest_fixture("modeldeployments_list.json"));
	ctrltest_reply_for(f, CTRLTEST_LIST, "deployments", 0, ctrltest_fixture("deployments_list.json"));
}

static struct fx *new_fx(bool leader_election)
{
	struct fx *x = calloc(1, sizeof(*x));
	struct manager_config mc = {.identity = "saqr-operator-7d9f-a",
				    .leader_election = leader_election,
				    .lease_namespace = "saqr-system",
				    .lease_duration = 0.3,
				    .renew_deadline = 0.2,
				    .retry_period = 0.01};
	struct controller_config cc = {.name = "modeldeployment",
				       .primary = modeldeployments,
				       .group = "saqr.dev",
				       .kind = "ModelDeployment",
				       .owned = &deployments,
				       .nowned = 1,
				       .workers = 2,
				       .reconcile = reconcile};

	assert_non_null(x);
	ctrltest_ops_init(&x->f);
	x->f.echo_writes = true;
	pthread_mutex_init(&x->rec.mu, NULL);
	pthread_cond_init(&x->rec.cv, NULL);
	x->rec.keys = json_array();
	cc.ud = &x->rec;
	assert_int_equal(manager_new(&x->f.ops, &mc, &x->m), 0);
	assert_int_equal(manager_add_controller(x->m, &cc), 0);
	assert_int_equal(manager_add_controller(x->m, &cc), SAQR_EEXIST);
	script_lists(&x->f);
	return x;
}

static void free_fx(struct fx *x)
{
	manager_free(x->m);
	ctrltest_ops_release(&x->f);
	json_decref(x->rec.keys);
	pthread_mutex_destroy(&x->rec.mu);
	pthread_cond_destroy(&x->rec.cv);
	free(x);
}

static int http(struct manager *m, const char *method, const char *path, char *body, size_t n)
{
	struct httpd_request req = {
	    .method = method, .path = path, .query = "", .content_type = "", .body = ""};
	struct httpd_response resp = {.status = 200};

	buf_init(&resp.body, 1 << 20);
	manager_http_handler(m, &req, &resp);
	snprintf(body, n, "%s", buf_str(&resp.body));
	buf_release(&resp.body);
	return resp.status;
}

static void test_config_errors(void **state)
{
	struct ctrltest_ops f;
	struct manager_config mc = {.identity = ""};
	struct controller_config cc = {.name = "x"};
	struct manager *m;

	(void)state;
	ctrltest_ops_init(&f);
	assert_int_equal(manager_new(&f.ops, &mc, &m), SAQR_EINVAL);
	mc.identity = "me";
	mc.leader_election = true;
	assert_int_equal(manager_new(&f.ops, &mc, &m), SAQR_EINVAL);
	mc.leader_election = false;
	assert_int_equal(manager_new(&f.ops, &mc, &m), 0);
	assert_int_equal(manager_add_controller(m, &cc), SAQR_EINVAL);
	assert_int_equal(manager_enqueue(m, "nope", "a/b", 0), SAQR_ENOTFOUND);
	assert_non_null(manager_events(m));
	assert_non_null(manager_metrics(m));
	manager_free(m);
	manager_free(NULL);
	ctrltest_ops_release(&f);
}

static void test_keys_metrics_and_http(void **state)
{
	struct fx *x = new_fx(false);
	char body[1 << 16];
	struct controller_config late = {
	    .name = "late", .primary = deployments, .kind = "X", .reconcile = reconcile};

	(void)state;
	assert_int_equal(http(x->m, "GET", "/readyz", body, sizeof(body)), 503);
	assert_int_equal(manager_start(x->m), 0);
	assert_int_equal(manager_start(x->m), SAQR_EBUSY);
	assert_int_equal(manager_add_controller(x->m, &late), SAQR_EBUSY);
	assert_true(manager_ready(x->m));
	assert_true(manager_is_leader(x->m));
	/* The list adds ml/fraud, and its owned Deployment maps to it too: de-duplicated or not,
	 * at least one reconcile of ml/fraud; the unowned Deployment queues nothing. */
	wait_reconciles(&x->rec, 1);
	assert_string_equal(json_string_value(json_array_get(x->rec.keys, 0)), "ml/fraud");
	/* A change to the owned Deployment reconciles its owner; one that fails is retried. */
	x->rec.fail_next = 1;
	pthread_mutex_lock(&x->rec.mu);
	json_array_clear(x->rec.keys);
	pthread_mutex_unlock(&x->rec.mu);
	ctrltest_push_event(&x->f, "deployments", "MODIFIED",
			    json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:[{s:s, s:s, s:s, s:b}]}}", "apiVersion",
				      "apps/v1", "kind", "Deployment", "metadata", "name", "fraud-model",
				      "namespace", "ml", "resourceVersion", "600", "ownerReferences",
				      "apiVersion", "saqr.dev/v1alpha1", "kind", "ModelDeployment", "name",
				      "fraud", "controller", 1));
	wait_reconciles(&x->rec, 2);
	assert_string_equal(json_string_value(json_array_get(x->rec.keys, 0)), "ml/fraud");
	assert_string_equal(json_string_value(json_array_get(x->rec.keys, 1)), "ml/fraud");
	/* manager_enqueue reaches the same queue. */
	assert_int_equal(manager_enqueue(x->m, "modeldeployment", "ml/other", 0), 0);
	wait_reconciles(&x->rec, 3);
	assert_string_equal(json_string_value(json_array_get(x->rec.keys, 2)), "ml/other");

	assert_int_equal(http(x->m, "GET", "/metrics", body, sizeof(body)), 200);
	assert_non_null(
	    strstr(body, "saqr_reconcile_total{controller=\"modeldeployment\",result=\"error\"} 1"));
	assert_non_null(
	    strstr(body, "saqr_reconcile_total{controller=\"modeldeployment\",result=\"success\"}"));
	assert_non_null(strstr(body, "saqr_workqueue_retries_total{controller=\"modeldeployment\"} 1"));
	assert_non_null(strstr(body, "saqr_workqueue_depth{controller=\"modeldeployment\"}"));
	assert_non_null(
	    strstr(body, "saqr_reconcile_duration_seconds_count{controller=\"modeldeployment\"}"));
	assert_non_null(strstr(body, "saqr_leader{identity=\"saqr-operator-7d9f-a\"} 1"));
	assert_non_null(strstr(
	    body, "saqr_api_requests_total{verb=\"list\",resource=\"modeldeployments\",result=\"ok\"} 1"));
	assert_int_equal(http(x->m, "GET", "/healthz", body, sizeof(body)), 200);
	assert_string_equal(body, "ok\n");
	assert_int_equal(http(x->m, "GET", "/readyz", body, sizeof(body)), 200);
	assert_int_equal(http(x->m, "POST", "/metrics", body, sizeof(body)), 405);
	assert_int_equal(http(x->m, "GET", "/nope", body, sizeof(body)), 404);

	manager_stop(x->m);
	assert_int_equal(manager_wait(x->m), 0);
	assert_false(manager_is_leader(x->m));
	assert_int_equal(http(x->m, "GET", "/readyz", body, sizeof(body)), 503);
	assert_int_equal(manager_enqueue(x->m, "modeldeployment", "ml/x", 0), SAQR_ECLOSED);
	free_fx(x);
}

static void test_informer_shared(void **state)
{
	struct fx *x = new_fx(false);
	struct informer *a, *b;

	(void)state;
	a = manager_informer(x->m, &deployments);
	b = manager_informer(x->m, &deployments);
	assert_non_null(a);
	assert_ptr_equal(a, b);
	assert_int_equal(manager_start(x->m), 0);
	assert_int_equal(informer_len(a), 2);
	assert_null(manager_informer(x->m, &(struct kube_resource){"", "v1", "services", true}));
	manager_stop(x->m);
	free_fx(x);
}

static int keep_name(json_t *obj)
{
	json_object_del(obj, "spec");
	return 0;
}

static int other_transform(json_t *obj)
{
	(void)obj;
	return 0;
}

/* Owned types cached with a label selector and a transform: keyed by type and selector, shared
 * only with the same transform; the list asks for the selector; the cache is compact. */
static void test_owned_informers_selector_and_transform(void **state)
{
	struct ctrltest_ops f;
	struct manager *m;
	struct rec r = {.keys = json_array()};
	struct manager_config mc = {.identity = "op", .compact_cache = true, .list_page_size = 7};
	struct controller_config cc = {.name = "modeldeployment",
				       .primary = modeldeployments,
				       .group = "saqr.dev",
				       .kind = "ModelDeployment",
				       .owned = &deployments,
				       .nowned = 1,
				       .reconcile = reconcile,
				       .ud = &r,
				       .owned_label_selector = "managed=saqr",
				       .owned_transform = keep_name};
	struct informer *owned, *plain;
	int selected = 0;
	json_t *obj;

	(void)state;
	pthread_mutex_init(&r.mu, NULL);
	pthread_cond_init(&r.cv, NULL);
	ctrltest_ops_init(&f);
	assert_int_equal(manager_new(&f.ops, &mc, &m), 0);
	owned = manager_informer_with(m, &deployments, "managed=saqr", keep_name);
	assert_non_null(owned);
	assert_ptr_equal(manager_informer_with(m, &deployments, "managed=saqr", keep_name), owned);
	assert_null(manager_informer_with(m, &deployments, "managed=saqr", other_transform));
	plain = manager_informer(m, &deployments);
	assert_non_null(plain);
	assert_ptr_not_equal(plain, owned);
	assert_int_equal(manager_add_controller(m, &cc), 0);
	/* another controller asking for the same owned type with another transform is refused */
	cc.name = "other";
	cc.owned_transform = other_transform;
	assert_int_not_equal(manager_add_controller(m, &cc), 0);
	ctrltest_reply_for(&f, CTRLTEST_LIST, "modeldeployments", 0,
			   ctrltest_fixture("modeldeployments_list.json"));
	ctrltest_reply_for(&f, CTRLTEST_LIST, "deployments", 0, ctrltest_fixture("deployments_list.json"));
	ctrltest_reply_for(&f, CTRLTEST_LIST, "deployments", 0, ctrltest_fixture("deployments_list.json"));
	assert_int_equal(manager_start(m), 0);
	for (size_t i = 0; i < ctrltest_ncalls(&f, CTRLTEST_LIST); i++) {
		const struct ctrltest_call *c = ctrltest_call(&f, CTRLTEST_LIST, i);

		if (strcmp(c->resource, "modeldeployments") == 0)
			assert_string_equal(c->label_selector, "");
		else
			selected += strcmp(c->label_selector, "managed=saqr") == 0;
	}
	assert_int_equal(selected, 1);
	assert_int_equal(informer_len(owned), 2);
	assert_int_equal(informer_list(owned, NULL, &obj), 0);
	assert_null(json_path(json_array_get(obj, 0), "spec"));
	json_decref(obj);
	assert_int_equal(informer_list(plain, NULL, &obj), 0);
	assert_non_null(json_path(json_array_get(obj, 0), "spec"));
	json_decref(obj);
	manager_stop(m);
	manager_free(m);
	ctrltest_ops_release(&f);
	json_decref(r.keys);
	pthread_mutex_destroy(&r.mu);
	pthread_cond_destroy(&r.cv);
}

static void test_leader_gating_and_release(void **state)
{
	struct fx *x = new_fx(true);
	char body[1 << 16];
	json_t *ours = ctrltest_fixture("lease_ours.json");

	(void)state;
	/* The Lease does not exist: the manager creates it and becomes leader; then renewals. */
	ctrltest_reply(&x->f, CTRLTEST_GET, SAQR_ENOTFOUND, NULL);
	for (int i = 0; i < 5000; i++)
		ctrltest_reply(&x->f, CTRLTEST_GET, 0, json_incref(ours));
	json_decref(ours);
	assert_int_equal(manager_start(x->m), 0);
	wait_reconciles(&x->rec, 1);
	assert_true(manager_is_leader(x->m));
	assert_int_equal(http(x->m, "GET", "/metrics", body, sizeof(body)), 200);
	assert_non_null(strstr(body, "saqr_leader{identity=\"saqr-operator-7d9f-a\"} 1"));
	assert_string_equal(ctrltest_call(&x->f, CTRLTEST_CREATE, 0)->resource, "leases");
	/* Stop releases the Lease: the last update empties holderIdentity. */
	manager_stop(x->m);
	assert_int_equal(manager_wait(x->m), 0);
	{
		size_t n = ctrltest_ncalls(&x->f, CTRLTEST_UPDATE);
		const struct ctrltest_call *c = ctrltest_call(&x->f, CTRLTEST_UPDATE, n - 1);

		assert_string_equal(c->resource, "leases");
		assert_string_equal(json_path_str(c->body, "spec.holderIdentity", "x"), "");
		assert_int_equal(json_path_int(c->body, "spec.leaseDurationSeconds", 0), 1);
	}
	assert_false(manager_is_leader(x->m));
	free_fx(x);
}

static void test_lost_lease_stops_workers(void **state)
{
	struct fx *x = new_fx(true);
	char body[256];

	(void)state;
	/* Acquire by create, then every read fails: past the renew deadline the lease is lost. */
	ctrltest_reply(&x->f, CTRLTEST_GET, SAQR_ENOTFOUND, NULL);
	assert_int_equal(manager_start(x->m), 0);
	assert_int_equal(manager_wait(x->m), SAQR_ECLOSED);
	assert_false(manager_is_leader(x->m));
	assert_int_equal(http(x->m, "GET", "/healthz", body, sizeof(body)), 500);
	assert_int_equal(http(x->m, "GET", "/readyz", body, sizeof(body)), 503);
	manager_stop(x->m);
	free_fx(x);
}

static void test_standby_never_reconciles(void **state)
{
	struct fx *x = new_fx(true);
	size_t gets;

	(void)state;
	/* Another replica holds a fresh lease throughout. */
	for (int i = 0; i < 20; i++)
		ctrltest_reply(&x->f, CTRLTEST_GET, 0, ctrltest_fixture("lease_other.json"));
	assert_int_equal(manager_start(x->m), 0);
	ctrltest_wait_calls(&x->f, CTRLTEST_GET, 5);
	assert_false(manager_is_leader(x->m));
	assert_true(manager_ready(x->m));
	manager_stop(x->m);
	gets = ctrltest_ncalls(&x->f, CTRLTEST_GET);
	assert_true(gets >= 5);
	assert_int_equal(json_array_size(x->rec.keys), 0);
	assert_int_equal(ctrltest_ncalls(&x->f, CTRLTEST_UPDATE), 0);
	free_fx(x);
}

static void test_sync_timeout(void **state)
{
	struct ctrltest_ops f;
	struct manager_config mc = {.identity = "me", .sync_timeout = 0.05};
	struct manager *m;

	(void)state;
	ctrltest_ops_init(&f);
	assert_int_equal(manager_new(&f.ops, &mc, &m), 0);
	assert_non_null(manager_informer(m, &deployments));
	/* Lists keep failing (unscripted: transport error). */
	assert_int_equal(manager_start(m), SAQR_ETIMEDOUT);
	assert_false(manager_ready(m));
	manager_free(m);
	ctrltest_ops_release(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config_errors),
	    cmocka_unit_test(test_keys_metrics_and_http),
	    cmocka_unit_test(test_informer_shared),
	    cmocka_unit_test(test_owned_informers_selector_and_transform),
	    cmocka_unit_test(test_leader_gating_and_release),
	    cmocka_unit_test(test_lost_lease_stops_workers),
	    cmocka_unit_test(test_standby_never_reconciles),
	    cmocka_unit_test(test_sync_timeout),
	};

	return cmocka_run_group_tests_name("manager", tests, NULL, NULL);
}
