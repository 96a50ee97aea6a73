/* Manager: shared informers, per-controller queues and workers, leader gating, metrics and
 * the health endpoints. */
#include "operator/runtime/manager.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "operator/runtime/ctrltime.h"
#include "operator/runtime/leaderelection.h"

#define MGR_LABEL_MAX 320

static const double mgr_duration_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
					      1,     2.5,  5,	  10,	30,  60};

struct mgr_informer {
	char key[512]; /* group/version/resource?label-selector */
	informer_transform_fn transform;
	struct informer *inf;
};

struct mgr_controller {
	struct manager *m;
	char *name, *group, *kind;
	char label[MGR_LABEL_MAX]; /* controller="name", escaped */
	struct workqueue *q;
	struct workqueue_workers *workers;
	int nworkers;
	manager_reconcile_fn reconcile;
	void *ud;
};

/* What an informer handler enqueues into. */
struct mgr_watch {
	struct mgr_controller *c;
	bool owned;
};

struct manager {
	struct kubeops ops;
	char *identity, *lease_namespace, *lease_name, *namespace;
	struct manager_config cfg;
	struct metrics *metrics;
	bool own_metrics;
	char leader_label[MGR_LABEL_MAX];
	struct mgr_informer informers[MANAGER_MAX_INFORMERS];
	size_t ninformers;
	struct mgr_controller *controllers[MANAGER_MAX_CONTROLLERS];
	size_t ncontrollers;
	struct mgr_watch *watches[MANAGER_MAX_CONTROLLERS * (MANAGER_MAX_INFORMERS + 1)];
	size_t nwatches;
	struct leaderelection *le;
	struct events_recorder *events;
	pthread_mutex_t lock; /* guards the flags below and the workers */
	pthread_cond_t cond;
	bool started, stopping, stopped, lost, workers_running;
	atomic_bool leader;
};

/* ---- API request counting ---- */

static const char *mgr_result_name(int rc)
{
	switch (rc) {
	case 0:
		return "ok";
	case SAQR_ENOTFOUND:
		return "not_found";
	case SAQR_ECONFLICT:
		return "conflict";
	case SAQR_EEXIST:
		return "already_exists";
	case SAQR_EGONE:
		return "gone";
	case SAQR_ETRANSPORT:
		return "transport_error";
	case SAQR_EFORBIDDEN:
		return "forbidden";
	case SAQR_EBUSY:
		return "throttled";
	case SAQR_EINVALID:
		return "invalid";
	case SAQR_ECLOSED:
		return "closed";
	default:
		return "error";
	}
}

void manager_observe_api(void *ud, const char *verb, const struct kube_resource *res, int rc)
{
	struct manager *m = ud;
	char labels[MGR_LABEL_MAX], resource[128];

	metrics_escape_label(res && res->resource ? res->resource : "", resource, sizeof(resource));
	snprintf(labels, sizeof(labels), "verb=\"%s\",resource=\"%s\",result=\"%s\"", verb, resource,
		 mgr_result_name(rc));
	metrics_counter_add(m->metrics, "saqr_api_requests_total",
			    "Kubernetes API requests by verb, resource and result.", labels, 1);
}

/* ---- construction ---- */

static int mgr_dup(const char *s, char **out)
{
	*out = s ? strdup(s) : NULL;
	return s && !*out ? SAQR_ENOMEM : 0;
}

static int mgr_copy_config(struct manager *m, const struct manager_config *cfg)
{
	m->cfg = *cfg;
	if (mgr_dup(cfg->identity, &m->identity) || mgr_dup(cfg->lease_namespace, &m->lease_namespace) ||
	    mgr_dup(cfg->lease_name ? cfg->lease_name : MANAGER_LEASE_NAME, &m->lease_name) ||
	    mgr_dup(cfg->namespace && *cfg->namespace ? cfg->namespace : NULL, &m->namespace))
		return SAQR_ENOMEM;
	m->cfg.identity = m->identity;
	m->cfg.lease_namespace = m->lease_namespace;
	m->cfg.lease_name = m->lease_name;
	m->cfg.namespace = m->namespace;
	if (m->cfg.sync_timeout <= 0)
		m->cfg.sync_timeout = MANAGER_SYNC_TIMEOUT;
	return 0;
}

static void mgr_on_started_leading(void *ud);
static void mgr_on_stopped_leading(void *ud);

static int mgr_new_elector(struct manager *m)
{
	struct leaderelection_config lc = {.namespace = m->lease_namespace,
					   .name = m->lease_name,
					   .identity = m->identity,
					   .lease_duration = m->cfg.lease_duration,
					   .renew_deadline = m->cfg.renew_deadline,
					   .retry_period = m->cfg.retry_period,
					   .on_started_leading = mgr_on_started_leading,
					   .on_stopped_leading = mgr_on_stopped_leading,
					   .ud = m};

	return leaderelection_new(&m->ops, &lc, &m->le);
}

static int mgr_new_parts(struct manager *m)
{
	struct events_config ec = {.instance = m->identity, .metrics = m->metrics};
	char id[256];
	int rc;

	metrics_escape_label(m->identity, id, sizeof(id));
	snprintf(m->leader_label, sizeof(m->leader_label), "identity=\"%s\"", id);
	rc = events_recorder_new(&m->ops, &ec, &m->events);
	if (rc == 0 && m->cfg.leader_election)
		rc = mgr_new_elector(m);
	return rc;
}

int manager_new(const struct kubeops *ops, const struct manager_config *cfg, struct manager **out)
{
	struct manager *m;
	int rc;

	if (!ops || !cfg || !cfg->identity || !*cfg->identity ||
	    (cfg->leader_election && (!cfg->lease_namespace || !*cfg->lease_namespace)))
		return SAQR_EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return SAQR_ENOMEM;
	if (ctrltime_cond_init(&m->cond) != 0) {
		free(m);
		return SAQR_ENOMEM;
	}
	pthread_mutex_init(&m->lock, NULL);
	m->ops = *ops;
	m->metrics = cfg->metrics;
	if (!m->metrics) {
		m->metrics = metrics_new();
		m->own_metrics = true;
	}
	if (!m->ops.observe) {
		m->ops.observe = manager_observe_api;
		m->ops.observe_ud = m;
	}
	rc = m->metrics ? mgr_copy_config(m, cfg) : SAQR_ENOMEM;
	if (rc == 0)
		rc = mgr_new_parts(m);
	if (rc) {
		manager_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

static void mgr_controller_free(struct mgr_controller *c)
{
	if (!c)
		return;
	workqueue_free(c->q);
	free(c->name);
	free(c->group);
	free(c->kind);
	free(c);
}

void manager_free(struct manager *m)
{
	if (!m)
		return;
	if (m->started)
		manager_stop(m);
	leaderelection_free(m->le);
	for (size_t i = 0; i < m->ninformers; i++)
		informer_free(m->informers[i].inf);
	for (size_t i = 0; i < m->ncontrollers; i++)
		mgr_controller_free(m->controllers[i]);
	for (size_t i = 0; i < m->nwatches; i++)
		free(m->watches[i]);
	events_recorder_free(m->events);
	if (m->own_metrics)
		metrics_free(m->metrics);
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
	free(m->identity);
	free(m->lease_namespace);
	free(m->lease_name);
	free(m->namespace);
	free(m);
}

struct events_recorder *manager_events(struct manager *m)
{
	return m->events;
}

struct metrics *manager_metrics(struct manager *m)
{
	return m->metrics;
}

const struct kubeops *manager_kubeops(struct manager *m)
{
	return &m->ops;
}

/* ---- informers ---- */

static int mgr_res_key(const struct kube_resource *res, const char *selector, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s/%s/%s?%s", res->group ? res->group : "", res->version,
			 res->resource, selector ? selector : "");

	return n < 0 || (size_t)n >= outlen ? SAQR_ETOOBIG : 0;
}

static struct mgr_informer *mgr_find_informer(struct manager *m, const char *key)
{
	for (size_t i = 0; i < m->ninformers; i++)
		if (strcmp(m->informers[i].key, key) == 0)
			return &m->informers[i];
	return NULL;
}

/* A new informer in the next slot; lock held. */
static struct informer *mgr_new_informer(struct manager *m, const struct kube_resource *res, const char *key,
					 const char *selector, informer_transform_fn transform)
{
	struct informer_config ic = {.res = *res,
				     .label_selector = selector,
				     .transform = transform,
				     .compact = m->cfg.compact_cache,
				     .page_size = m->cfg.list_page_size};
	struct mgr_informer *slot;
	struct informer *inf;

	if (m->started || m->ninformers == MANAGER_MAX_INFORMERS)
		return NULL;
	ic.namespace = res->namespaced ? m->namespace : NULL;
	if (informer_new(&m->ops, &ic, &inf) != 0)
		return NULL;
	slot = &m->informers[m->ninformers++];
	snprintf(slot->key, sizeof(slot->key), "%s", key);
	slot->transform = transform;
	slot->inf = inf;
	return inf;
}

struct informer *manager_informer_with(struct manager *m, const struct kube_resource *res,
				       const char *label_selector, informer_transform_fn transform)
{
	struct mgr_informer *found;
	struct informer *inf = NULL;
	char key[512];

	if (!res || !res->version || !res->resource || mgr_res_key(res, label_selector, key, sizeof(key)))
		return NULL;
	pthread_mutex_lock(&m->lock);
	found = mgr_find_informer(m, key);
	if (found)
		inf = found->transform == transform ? found->inf : NULL;
	else
		inf = mgr_new_informer(m, res, key, label_selector, transform);
	pthread_mutex_unlock(&m->lock);
	return inf;
}

struct informer *manager_informer(struct manager *m, const struct kube_resource *res)
{
	return manager_informer_with(m, res, NULL, NULL);
}

/* ---- event handlers: objects to keys ---- */

/* The key obj maps to for w: its own, or its controller owner's. */
static int mgr_key_for(const struct mgr_watch *w, const json_t *obj, char *key, size_t keylen)
{
	if (!obj)
		return SAQR_EINVAL;
	if (w->owned)
		return informer_controller_owner_key(obj, w->c->group, w->c->kind, key, keylen);
	return informer_object_key(obj, key, keylen);
}

static void mgr_enqueue_obj(struct mgr_watch *w, const json_t *obj)
{
	char key[INFORMER_KEY_MAX];

	if (mgr_key_for(w, obj, key, sizeof(key)) == 0)
		workqueue_add(w->c->q, key);
}

static void mgr_on_add(void *ud, json_t *obj)
{
	mgr_enqueue_obj(ud, obj);
}

static void mgr_on_update(void *ud, json_t *old_obj, json_t *new_obj)
{
	struct mgr_watch *w = ud;
	char old_key[INFORMER_KEY_MAX], new_key[INFORMER_KEY_MAX];
	bool has_new = mgr_key_for(w, new_obj, new_key, sizeof(new_key)) == 0;

	if (has_new)
		workqueue_add(w->c->q, new_key);
	/* An owned object may have changed owner: the old one must hear of it too. */
	if (w->owned && mgr_key_for(w, old_obj, old_key, sizeof(old_key)) == 0 &&
	    (!has_new || strcmp(old_key, new_key) != 0))
		workqueue_add(w->c->q, old_key);
}

static void mgr_on_delete(void *ud, json_t *obj)
{
	mgr_enqueue_obj(ud, obj);
}

static int mgr_watch(struct manager *m, struct mgr_controller *c, const struct kube_resource *res,
		     const struct controller_config *cc, bool owned)
{
	struct informer *inf =
	    owned ? manager_informer_with(m, res, cc->owned_label_selector, cc->owned_transform)
		  : manager_informer(m, res);
	struct informer_handlers h = {mgr_on_add, mgr_on_update, mgr_on_delete, NULL};
	struct mgr_watch *w;
	int rc;

	if (!inf)
		return SAQR_ETOOBIG;
	if (m->nwatches == sizeof(m->watches) / sizeof(m->watches[0]))
		return SAQR_ETOOBIG;
	w = calloc(1, sizeof(*w));
	if (!w)
		return SAQR_ENOMEM;
	w->c = c;
	w->owned = owned;
	h.ud = w;
	rc = informer_add_handlers(inf, &h);
	if (rc) {
		free(w);
		return rc;
	}
	m->watches[m->nwatches++] = w;
	return 0;
}

/* ---- controllers ---- */

static void mgr_depth_hook(void *ud, size_t depth)
{
	struct mgr_controller *c = ud;

	metrics_gauge_set(c->m->metrics, "saqr_workqueue_depth",
			  "Keys waiting in each controller's work queue.", c->label, (double)depth);
}

static void mgr_retry_hook(void *ud, const char *key)
{
	struct mgr_controller *c = ud;

	(void)key;
	metrics_counter_add(c->m->metrics, "saqr_workqueue_retries_total",
			    "Keys requeued with backoff, per controller.", c->label, 1);
}

static int mgr_new_controller(struct manager *m, const struct controller_config *cc,
			      struct mgr_controller **out)
{
	struct mgr_controller *c = calloc(1, sizeof(*c));
	struct workqueue_opts qo = {0};
	char name[256];

	if (!c)
		return SAQR_ENOMEM;
	c->m = m;
	c->reconcile = cc->reconcile;
	c->ud = cc->ud;
	c->nworkers = cc->workers > 0 ? cc->workers : 1;
	qo.hooks = (struct workqueue_hooks){mgr_depth_hook, mgr_retry_hook, c};
	metrics_escape_label(cc->name, name, sizeof(name));
	snprintf(c->label, sizeof(c->label), "controller=\"%s\"", name);
	if (mgr_dup(cc->name, &c->name) || mgr_dup(cc->group ? cc->group : "", &c->group) ||
	    mgr_dup(cc->kind, &c->kind) || workqueue_new(&qo, &c->q) != 0) {
		mgr_controller_free(c);
		return SAQR_ENOMEM;
	}
	*out = c;
	return 0;
}

static struct mgr_controller *mgr_find_controller(struct manager *m, const char *name)
{
	for (size_t i = 0; i < m->ncontrollers; i++)
		if (strcmp(m->controllers[i]->name, name) == 0)
			return m->controllers[i];
	return NULL;
}

static int mgr_check_controller(struct manager *m, const struct controller_config *cc)
{
	if (!cc->name || !*cc->name || !cc->kind || !*cc->kind || !cc->reconcile || !cc->primary.version ||
	    !cc->primary.resource || (cc->nowned && !cc->owned))
		return SAQR_EINVAL;
	if (m->started)
		return SAQR_EBUSY;
	if (mgr_find_controller(m, cc->name))
		return SAQR_EEXIST;
	return m->ncontrollers == MANAGER_MAX_CONTROLLERS ? SAQR_ETOOBIG : 0;
}

int manager_add_controller(struct manager *m, const struct controller_config *cc)
{
	struct mgr_controller *c = NULL;
	int rc = mgr_check_controller(m, cc);

	if (rc == 0)
		rc = mgr_new_controller(m, cc, &c);
	if (rc)
		return rc;
	/* From here the controller is registered, so manager_free releases it on any error. */
	m->controllers[m->ncontrollers++] = c;
	rc = mgr_watch(m, c, &cc->primary, cc, false);
	for (size_t i = 0; rc == 0 && i < cc->nowned; i++)
		rc = mgr_watch(m, c, &cc->owned[i], cc, true);
	return rc;
}

int manager_enqueue(struct manager *m, const char *controller, const char *key, double delay)
{
	struct mgr_controller *c = mgr_find_controller(m, controller);

	if (!c)
		return SAQR_ENOTFOUND;
	return workqueue_add_after(c->q, key, delay);
}

/* ---- reconciling ---- */

static const char *mgr_outcome(const struct workqueue_result *res)
{
	if (res->err < 0)
		return "error";
	if (res->requeue_after > 0)
		return "requeue_after";
	return res->requeue ? "requeue" : "success";
}

static void mgr_observe_reconcile(struct mgr_controller *c, const struct workqueue_result *res, double secs)
{
	char labels[MGR_LABEL_MAX + 32];

	snprintf(labels, sizeof(labels), "%s,result=\"%s\"", c->label, mgr_outcome(res));
	metrics_counter_add(c->m->metrics, "saqr_reconcile_total", "Reconciles by controller and result.",
			    labels, 1);
	metrics_histogram_observe(c->m->metrics, "saqr_reconcile_duration_seconds",
				  "Time spent in one reconcile.", c->label, mgr_duration_buckets,
				  sizeof(mgr_duration_buckets) / sizeof(mgr_duration_buckets[0]), secs);
}

static struct workqueue_result mgr_reconcile(void *ud, const char *key)
{
	struct mgr_controller *c = ud;
	struct workqueue_result res = {0};
	char ns[64], name[254];
	double began;

	if (informer_split_key(key, ns, sizeof(ns), name, sizeof(name)) != 0) {
		log_error("dropping a malformed key", "controller", c->name, "key", key);
		return res;
	}
	began = ctrltime_mono();
	res = c->reconcile(c->ud, ns, name);
	mgr_observe_reconcile(c, &res, ctrltime_mono() - began);
	if (res.err < 0)
		log_error("reconcile failed", "controller", c->name, "namespace", ns, "name", name, "error",
			  saqr_strerror(res.err));
	return res;
}

/* ---- workers and leadership ---- */

static void mgr_set_leader(struct manager *m, bool leader)
{
	atomic_store(&m->leader, leader);
	metrics_gauge_set(m->metrics, "saqr_leader", "1 while this replica leads (runs the workers).",
			  m->leader_label, leader ? 1 : 0);
}

static void mgr_start_workers(struct manager *m)
{
	pthread_mutex_lock(&m->lock);
	if (m->stopping || m->lost || m->workers_running) {
		pthread_mutex_unlock(&m->lock);
		return;
	}
	mgr_set_leader(m, true);
	for (size_t i = 0; i < m->ncontrollers; i++) {
		struct mgr_controller *c = m->controllers[i];

		if (workqueue_run_workers(c->q, c->nworkers, mgr_reconcile, c, &c->workers) != 0)
			log_error("cannot start workers", "controller", c->name);
	}
	m->workers_running = true;
	pthread_mutex_unlock(&m->lock);
}

/* Shut the queues down and wait for in-flight reconciles. Queues cannot restart: a manager
 * that lost its lease is done (see manager_wait). */
static void mgr_stop_workers(struct manager *m)
{
	struct workqueue_workers *w[MANAGER_MAX_CONTROLLERS] = {0};

	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->ncontrollers; i++) {
		w[i] = m->controllers[i]->workers;
		m->controllers[i]->workers = NULL;
		workqueue_shut_down(m->controllers[i]->q);
	}
	m->workers_running = false;
	pthread_mutex_unlock(&m->lock);
	for (size_t i = 0; i < MANAGER_MAX_CONTROLLERS; i++)
		workqueue_workers_join(w[i]);
	mgr_set_leader(m, false);
}

static void mgr_on_started_leading(void *ud)
{
	mgr_start_workers(ud);
}

static void mgr_on_stopped_leading(void *ud)
{
	struct manager *m = ud;

	mgr_stop_workers(m);
	pthread_mutex_lock(&m->lock);
	if (!m->stopping) {
		m->lost = true;
		log_error("leadership lost: workers stopped", "identity", m->identity);
	}
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
}

/* ---- lifecycle ---- */

static int mgr_wait_synced(struct manager *m)
{
	double deadline = ctrltime_mono() + m->cfg.sync_timeout;

	for (size_t i = 0; i < m->ninformers; i++) {
		double left = deadline - ctrltime_mono();
		int rc = informer_wait_synced(m->informers[i].inf, left > 0 ? left : 0);

		if (rc) {
			log_error("cache did not sync", "resource", m->informers[i].key, "error",
				  saqr_strerror(rc));
			return rc;
		}
	}
	return 0;
}

static int mgr_start_parts(struct manager *m)
{
	int rc = events_recorder_start(m->events);

	for (size_t i = 0; rc == 0 && i < m->ninformers; i++)
		rc = informer_start(m->informers[i].inf);
	if (rc == 0)
		rc = mgr_wait_synced(m);
	if (rc == 0 && m->le)
		rc = leaderelection_start(m->le);
	else if (rc == 0)
		mgr_start_workers(m);
	return rc;
}

int manager_start(struct manager *m)
{
	int rc;

	pthread_mutex_lock(&m->lock);
	rc = m->started ? SAQR_EBUSY : 0;
	m->started = true;
	pthread_mutex_unlock(&m->lock);
	if (rc)
		return rc;
	mgr_set_leader(m, false);
	rc = mgr_start_parts(m);
	if (rc)
		manager_stop(m);
	return rc;
}

int manager_wait(struct manager *m)
{
	int rc;

	pthread_mutex_lock(&m->lock);
	while (!m->stopped && !m->lost)
		pthread_cond_wait(&m->cond, &m->lock);
	rc = m->lost ? SAQR_ECLOSED : 0;
	pthread_mutex_unlock(&m->lock);
	return rc;
}

void manager_stop(struct manager *m)
{
	pthread_mutex_lock(&m->lock);
	if (m->stopping) {
		pthread_mutex_unlock(&m->lock);
		return;
	}
	m->stopping = true;
	pthread_mutex_unlock(&m->lock);
	mgr_stop_workers(m);
	if (m->le)
		leaderelection_stop(m->le);
	for (size_t i = 0; i < m->ninformers; i++)
		informer_stop(m->informers[i].inf);
	events_recorder_flush(m->events, 2.0);
	events_recorder_stop(m->events);
	pthread_mutex_lock(&m->lock);
	m->stopped = true;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
}

bool manager_is_leader(struct manager *m)
{
	return atomic_load(&m->leader);
}

bool manager_ready(struct manager *m)
{
	bool ok;

	pthread_mutex_lock(&m->lock);
	ok = m->started && !m->stopping && !m->lost;
	pthread_mutex_unlock(&m->lock);
	for (size_t i = 0; ok && i < m->ninformers; i++)
		ok = informer_has_synced(m->informers[i].inf);
	return ok;
}

/* ---- HTTP ---- */

static void mgr_reply(struct httpd_response *resp, int status, const char *type, const char *text)
{
	resp->status = status;
	resp->content_type = type;
	buf_adds(&resp->body, text);
}

static void mgr_health(struct manager *m, struct httpd_response *resp)
{
	bool lost;

	pthread_mutex_lock(&m->lock);
	lost = m->lost;
	pthread_mutex_unlock(&m->lock);
	if (lost)
		mgr_reply(resp, 500, "text/plain; charset=utf-8", "leader election lost\n");
	else
		mgr_reply(resp, 200, "text/plain; charset=utf-8", "ok\n");
}

void manager_http_handler(void *ud, const struct httpd_request *req, struct httpd_response *resp)
{
	struct manager *m = ud;
	const char *text = "text/plain; charset=utf-8";

	if (strcmp(req->path, "/metrics") != 0 && strcmp(req->path, "/healthz") != 0 &&
	    strcmp(req->path, "/readyz") != 0) {
		mgr_reply(resp, 404, text, "not found\n");
	} else if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
		mgr_reply(resp, 405, text, "method not allowed\n");
	} else if (strcmp(req->path, "/metrics") == 0) {
		resp->status = 200;
		resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
		if (metrics_render(m->metrics, &resp->body) != 0)
			mgr_reply(resp, 500, text, "\nmetrics truncated\n");
	} else if (strcmp(req->path, "/healthz") == 0) {
		mgr_health(m, resp);
	} else if (manager_ready(m)) {
		mgr_reply(resp, 200, text, "ok\n");
	} else {
		mgr_reply(resp, 503, text, "not ready: caches not synced, or stopping\n");
	}
}
