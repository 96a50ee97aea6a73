/* Integration tests for lib/controller against the real local kube-apiserver
 * (hack/local-cluster.sh): an informer on ConfigMaps follows creates, updates and deletes and
 * recovers after the API server restarts; two leader electors share one Lease and hand it over
 * at once when the leader releases it; events are created and their series patched; a manager
 * wins its Lease, reconciles, counts its API calls and releases the Lease on stop. */
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
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "operator/runtime/events.h"
#include "operator/runtime/informer.h"
#include "operator/runtime/kubeops.h"
#include "operator/runtime/leaderelection.h"
#include "operator/runtime/manager.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"

#define WAIT_LIMIT 60.0 /* seconds before a wait gives up; generous, never a measure */

static const struct kube_resource namespaces = {"", "v1", "namespaces", false};
static const struct kube_resource configmaps = {"", "v1", "configmaps", true};

struct env {
	struct kube_client *client;
	struct kubeops ops;
	char ns[64];
};

static struct env env;

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

/* Poll pred until true or WAIT_LIMIT passes; returns its last answer. */
static bool wait_for(bool (*pred)(void *), void *arg)
{
	double deadline = now_mono() + WAIT_LIMIT;

	while (!pred(arg)) {
		if (now_mono() > deadline)
			return false;
		pause_ms(50);
	}
	return true;
}

static int setup_env(void **state)
{
	char err[256];
	struct kube_config *cfg = NULL;
	struct kube_write_opts wo = {0};
	json_t *ns;
	int rc;

	(void)state;
	rc = kube_config_load_default(NULL, &cfg, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "kubeconfig: %s\n", err);
		return -1;
	}
	rc = kube_client_new(cfg, &env.client);
	kube_config_free(cfg);
	if (rc)
		return -1;
	kubeops_init_kube(&env.ops, env.client, NULL, NULL);
	snprintf(env.ns, sizeof(env.ns), "saqr-ctrl-%ld", (long)getpid());
	ns = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata", "name",
		       env.ns);
	rc = kube_create(env.client, &namespaces, NULL, ns, &wo, NULL, NULL);
	json_decref(ns);
	return rc ? -1 : 0;
}

static int teardown_env(void **state)
{
	(void)state;
	/* No controller-manager: the namespace stays Terminating; the cluster is thrown away. */
	kube_delete(env.client, &namespaces, NULL, env.ns, NULL, NULL);
	kube_client_free(env.client);
	return 0;
}

/* ---- ConfigMap helpers ---- */

static json_t *configmap(const char *name, const char *value, bool labelled)
{
	json_t *cm =
	    json_pack("{s:s, s:s, s:{s:s, s:s, s:{}}, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
		      "metadata", "name", name, "namespace", env.ns, "labels", "data", "k", value);

	if (labelled)
		json_object_set_new(json_path(cm, "metadata.labels"), "saqr.dev/test",
				    json_string("informer"));
	return cm;
}

static void cm_create(const char *name, const char *value, bool labelled)
{
	struct kube_write_opts wo = {0};
	json_t *cm = configmap(name, value, labelled);

	assert_int_equal(kube_create(env.client, &configmaps, env.ns, cm, &wo, NULL, NULL), 0);
	json_decref(cm);
}

static void cm_set(const char *name, const char *value)
{
	struct kube_write_opts wo = {0};
	json_t *patch = json_pack("{s:{s:s}}", "data", "k", value);

	assert_int_equal(
	    kube_patch(env.client, &configmaps, env.ns, name, KUBE_PATCH_MERGE, patch, &wo, NULL, NULL), 0);
	json_decref(patch);
}

static void cm_delete(const char *name)
{
	assert_int_equal(kube_delete(env.client, &configmaps, env.ns, name, NULL, NULL), 0);
}

/* ---- informer ---- */

struct seen {
	pthread_mutex_t mu;
	json_t *log;
};

static void seen_note(struct seen *s, const char *what, const json_t *obj)
{
	pthread_mutex_lock(&s->mu);
	json_array_append_new(s->log, json_sprintf("%s %s", what, json_path_str(obj, "metadata.name", "?")));
	pthread_mutex_unlock(&s->mu);
}

static void on_add(void *ud, json_t *obj)
{
	seen_note(ud, "add", obj);
}

static void on_update(void *ud, json_t *old_obj, json_t *new_obj)
{
	(void)old_obj;
	seen_note(ud, "update", new_obj);
}

static void on_delete(void *ud, json_t *obj)
{
	seen_note(ud, "delete", obj);
}

static bool seen_has(struct seen *s, const char *line)
{
	bool found = false;
	size_t i;
	json_t *v;

	pthread_mutex_lock(&s->mu);
	json_array_foreach(s->log, i, v) found = found || strcmp(json_string_value(v), line) == 0;
	pthread_mutex_unlock(&s->mu);
	return found;
}

struct cache_want {
	struct informer *inf;
	const char *name;
	const char *value; /* NULL: must be absent */
};

static bool cache_is(void *arg)
{
	struct cache_want *w = arg;
	json_t *obj;
	bool ok;

	if (informer_get(w->inf, env.ns, w->name, &obj) != 0)
		return w->value == NULL;
	ok = w->value && strcmp(json_path_str(obj, "data.k", ""), w->value) == 0;
	json_decref(obj);
	return ok;
}

static void expect_cache(struct informer *inf, const char *name, const char *value)
{
	struct cache_want w = {inf, name, value};

	assert_true(wait_for(cache_is, &w));
}

static struct informer *start_informer(struct seen *s)
{
	struct informer_config cfg = {.res = configmaps,
				      .namespace = env.ns,
				      .label_selector = "saqr.dev/test=informer",
				      .backoff_max = 2};
	struct informer_handlers h = {on_add, on_update, on_delete, s};
	struct informer *inf;

	pthread_mutex_init(&s->mu, NULL);
	s->log = json_array();
	assert_int_equal(informer_new(&env.ops, &cfg, &inf), 0);
	assert_int_equal(informer_add_handlers(inf, &h), 0);
	assert_int_equal(informer_start(inf), 0);
	assert_int_equal(informer_wait_synced(inf, WAIT_LIMIT), 0);
	return inf;
}

static void stop_informer(struct informer *inf, struct seen *s)
{
	informer_free(inf);
	json_decref(s->log);
	pthread_mutex_destroy(&s->mu);
}

static void test_informer_follows_configmaps(void **state)
{
	struct seen s;
	struct informer *inf;
	json_t *obj;

	(void)state;
	cm_create("before", "0", true);
	inf = start_informer(&s);
	/* The initial list brought the existing object. */
	assert_int_equal(informer_get(inf, env.ns, "before", &obj), 0);
	assert_null(json_path(obj, "metadata.managedFields"));
	assert_string_equal(json_path_str(obj, "kind", ""), "ConfigMap");
	json_decref(obj);
	cm_create("a", "1", true);
	cm_create("b", "2", true);
	cm_create("unlabelled", "x", false);
	cm_set("a", "1-changed");
	cm_delete("b");
	expect_cache(inf, "a", "1-changed");
	expect_cache(inf, "b", NULL);
	assert_true(seen_has(&s, "add b"));
	assert_true(seen_has(&s, "delete b"));
	assert_true(seen_has(&s, "update a"));
	/* The selector keeps the unlabelled one out. */
	assert_int_equal(informer_get(inf, env.ns, "unlabelled", &obj), SAQR_ENOTFOUND);
	assert_int_equal(informer_len(inf), 2);
	stop_informer(inf, &s);
	cm_delete("a");
	cm_delete("before");
	cm_delete("unlabelled");
}

static void test_informer_recovers_after_apiserver_restart(void **state)
{
	const char *root = getenv("SAQR_ROOT");
	char cmd[1200];
	struct seen s;
	struct informer *inf;

	(void)state;
	if (!root || !getenv("SAQR_CLUSTER_DIR"))
		skip();
	inf = start_informer(&s);
	cm_create("r1", "1", true);
	expect_cache(inf, "r1", "1");
	snprintf(cmd, sizeof(cmd), "\"%s/hack/local-cluster.sh\" restart-apiserver >/dev/null 2>&1", root);
	assert_int_equal(system(cmd), 0);
	/* The cache outlived the outage; changes after it arrive through the resumed watch. */
	assert_int_equal(informer_len(inf), 1);
	cm_create("r2", "2", true);
	cm_set("r1", "1-after");
	expect_cache(inf, "r2", "2");
	expect_cache(inf, "r1", "1-after");
	cm_delete("r2");
	expect_cache(inf, "r2", NULL);
	assert_true(seen_has(&s, "delete r2"));
	stop_informer(inf, &s);
	cm_delete("r1");
}

/* ---- leader election ---- */

struct elector {
	struct leaderelection *le;
	struct kubeops ops; /* a copy that counts this elector's reads */
	atomic_int gets;
	atomic_bool leading;
	atomic_int started, stopped;
};

static void count_calls(void *ud, const char *verb, const struct kube_resource *res, int rc)
{
	struct elector *e = ud;

	(void)res;
	(void)rc;
	if (strcmp(verb, "get") == 0)
		e->gets++;
}

static void el_started(void *ud)
{
	struct elector *e = ud;

	e->leading = true;
	e->started++;
}

static void el_stopped(void *ud)
{
	struct elector *e = ud;

	e->leading = false;
	e->stopped++;
}

static void elector_start(struct elector *e, const char *identity)
{
	/* A long lease: a standby that had to wait for expiry would need a minute, so taking
	 * over within the wait limit shows the release worked. */
	struct leaderelection_config cfg = {.namespace = env.ns,
					    .name = "saqr-operator",
					    .identity = identity,
					    .lease_duration = 120,
					    .renew_deadline = 60,
					    .retry_period = 0.2,
					    .on_started_leading = el_started,
					    .on_stopped_leading = el_stopped,
					    .ud = e};

	kubeops_init_kube(&e->ops, env.client, count_calls, e);
	assert_int_equal(leaderelection_new(&e->ops, &cfg, &e->le), 0);
	assert_int_equal(leaderelection_start(e->le), 0);
}

static bool is_leading(void *arg)
{
	struct elector *e = arg;

	return e->leading;
}

static bool made_gets(void *arg)
{
	struct elector *e = arg;

	return e->gets >= 5;
}

static void test_two_electors_hand_over(void **state)
{
	static struct elector a, b;
	json_t *lease = NULL;

	(void)state;
	elector_start(&a, "replica-a");
	assert_true(wait_for(is_leading, &a));
	elector_start(&b, "replica-b");
	/* b keeps reading the Lease and keeps standing by. */
	assert_true(wait_for(made_gets, &b));
	assert_false(b.leading);
	assert_false(leaderelection_is_leader(b.le));
	assert_true(leaderelection_is_leader(a.le));
	/* a shuts down and releases; b takes over long before the lease could expire. */
	leaderelection_free(a.le);
	assert_int_equal(a.stopped, 1);
	assert_true(wait_for(is_leading, &b));
	assert_int_equal(kube_get(env.client, &leaderelection_leases, env.ns, "saqr-operator", &lease, NULL),
			 0);
	assert_string_equal(json_path_str(lease, "spec.holderIdentity", ""), "replica-b");
	assert_int_equal(json_path_int(lease, "spec.leaseTransitions", 0), 1);
	assert_int_equal(json_path_int(lease, "spec.leaseDurationSeconds", 0), 120);
	json_decref(lease);
	leaderelection_free(b.le);
	assert_int_equal(b.started, 1);
	assert_int_equal(b.stopped, 1);
	assert_int_equal(kube_get(env.client, &leaderelection_leases, env.ns, "saqr-operator", &lease, NULL),
			 0);
	assert_string_equal(json_path_str(lease, "spec.holderIdentity", "x"), "");
	json_decref(lease);
}

/* ---- events ---- */

static void test_events_created_and_aggregated(void **state)
{
	struct events_config cfg = {.instance = "replica-a"};
	struct events_recorder *r;
	struct events_stats st;
	struct kube_list_opts lo = {0};
	struct kube_write_opts wo = {0};
	json_t *cm = configmap("events-target", "v", false), *created = NULL, *list = NULL, *ev;

	(void)state;
	assert_int_equal(kube_create(env.client, &configmaps, env.ns, cm, &wo, &created, NULL), 0);
	assert_int_equal(events_recorder_new(&env.ops, &cfg, &r), 0);
	assert_int_equal(events_recorder_start(r), 0);
	assert_int_equal(
	    events_record(r, created, "Warning", "DriftDetected", "Evaluate", "psi %.2f > %.2f", 0.31, 0.1),
	    0);
	assert_int_equal(events_recorder_flush(r, WAIT_LIMIT), 0);
	assert_int_equal(
	    events_record(r, created, "Warning", "DriftDetected", "Evaluate", "psi %.2f > %.2f", 0.31, 0.1),
	    0);
	assert_int_equal(events_recorder_flush(r, WAIT_LIMIT), 0);
	events_recorder_stats(r, &st);
	assert_int_equal(st.created, 1);
	assert_int_equal(st.aggregated, 1);
	assert_int_equal(st.failed, 0);
	/* The API server accepted the body and the series patch. */
	assert_int_equal(kube_list_all(env.client, &events_resource, env.ns, &lo, &list, NULL), 0);
	assert_int_equal(json_array_size(json_object_get(list, "items")), 1);
	ev = json_array_get(json_object_get(list, "items"), 0);
	assert_string_equal(json_path_str(ev, "reason", ""), "DriftDetected");
	assert_string_equal(json_path_str(ev, "note", ""), "psi 0.31 > 0.10");
	assert_string_equal(json_path_str(ev, "reportingController", ""), "saqr-operator");
	assert_string_equal(json_path_str(ev, "regarding.name", ""), "events-target");
	assert_string_equal(json_path_str(ev, "regarding.uid", "x"),
			    json_path_str(created, "metadata.uid", "y"));
	assert_int_equal(json_path_int(ev, "series.count", 0), 2);
	events_recorder_free(r);
	json_decref(list);
	json_decref(created);
	json_decref(cm);
	cm_delete("events-target");
}

/* ---- manager ---- */

struct reconciled {
	pthread_mutex_t mu;
	json_t *keys;
};

static struct workqueue_result cm_reconcile(void *ud, const char *ns, const char *name)
{
	struct reconciled *r = ud;

	pthread_mutex_lock(&r->mu);
	json_array_append_new(r->keys, json_sprintf("%s/%s", ns, name));
	pthread_mutex_unlock(&r->mu);
	return (struct workqueue_result){0};
}

struct key_want {
	struct reconciled *r;
	char key[128];
};

static bool reconciled_key(void *arg)
{
	struct key_want *w = arg;
	bool found = false;
	size_t i;
	json_t *v;

	pthread_mutex_lock(&w->r->mu);
	json_array_foreach(w->r->keys, i, v) found = found || strcmp(json_string_value(v), w->key) == 0;
	pthread_mutex_unlock(&w->r->mu);
	return found;
}

static bool manager_leads(void *arg)
{
	return manager_is_leader(arg);
}

static void test_manager_reconciles_as_leader(void **state)
{
	struct manager_config mc = {.identity = "manager-a",
				    .leader_election = true,
				    .lease_namespace = env.ns,
				    .lease_name = "saqr-manager",
				    .retry_period = 0.2,
				    .namespace = env.ns};
	struct controller_config cc = {.name = "configmap",
				       .primary = configmaps,
				       .group = "",
				       .kind = "ConfigMap",
				       .reconcile = cm_reconcile};
	struct reconciled r = {PTHREAD_MUTEX_INITIALIZER, json_array()};
	struct key_want w = {&r, ""};
	struct httpd_request req = {
	    .method = "GET", .path = "/metrics", .query = "", .content_type = "", .body = ""};
	struct httpd_response resp = {.status = 200};
	struct manager *m;
	json_t *lease = NULL;

	(void)state;
	cc.ud = &r;
	assert_int_equal(manager_new(&env.ops, &mc, &m), 0);
	assert_int_equal(manager_add_controller(m, &cc), 0);
	assert_int_equal(manager_start(m), 0);
	assert_true(manager_ready(m));
	assert_true(wait_for(manager_leads, m));
	cm_create("managed", "1", false);
	snprintf(w.key, sizeof(w.key), "%s/managed", env.ns);
	assert_true(wait_for(reconciled_key, &w));
	buf_init(&resp.body, 1 << 20);
	manager_http_handler(m, &req, &resp);
	assert_int_equal(resp.status, 200);
	assert_non_null(
	    strstr(buf_str(&resp.body), "saqr_reconcile_total{controller=\"configmap\",result=\"success\"}"));
	assert_non_null(
	    strstr(buf_str(&resp.body),
		   "saqr_api_requests_total{verb=\"list\",resource=\"configmaps\",result=\"ok\"} 1"));
	assert_non_null(strstr(buf_str(&resp.body), "saqr_leader{identity=\"manager-a\"} 1"));
	buf_release(&resp.body);
	manager_stop(m);
	assert_int_equal(manager_wait(m), 0);
	/* Released on the way out. */
	assert_int_equal(kube_get(env.client, &leaderelection_leases, env.ns, "saqr-manager", &lease, NULL),
			 0);
	assert_string_equal(json_path_str(lease, "spec.holderIdentity", "x"), "");
	json_decref(lease);
	manager_free(m);
	json_decref(r.keys);
	cm_delete("managed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_informer_follows_configmaps),
	    cmocka_unit_test(test_two_electors_hand_over),
	    cmocka_unit_test(test_events_created_and_aggregated),
	    cmocka_unit_test(test_manager_reconciles_as_leader),
	    cmocka_unit_test(test_informer_recovers_after_apiserver_restart),
	};

	return cmocka_run_group_tests_name("controller (integration)", tests, setup_env, teardown_env);
}
