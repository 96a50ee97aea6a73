/* The controller manager: the glue between the machinery and Saqr's reconcilers (the C shape
 * of controller-runtime's Manager). It holds one shared informer per resource type, one work
 * queue and a pool of workers per controller, the event recorder, the metrics, and leader
 * election:
 *  - a primary object's add/update/delete queues its own key; an owned object's queues the key
 *    of its controller owner (metadata.ownerReferences[controller=true] of the primary kind);
 *  - informers run on every replica (a standby keeps a warm cache and queued keys); workers run
 *    only on the leader. Losing the lease stops the workers and makes manager_wait() return
 *    SAQR_ECLOSED: the process should exit and start again as a standby, as controller-runtime
 *    operators do;
 *  - metrics: saqr_reconcile_total{controller,result}, saqr_reconcile_duration_seconds{controller},
 *    saqr_workqueue_depth{controller}, saqr_workqueue_retries_total{controller},
 *    saqr_leader{identity}, saqr_api_requests_total{verb,resource,result} (calls made through
 *    manager_kubeops()), saqr_events_total{result};
 *  - manager_http_handler() answers /metrics, /healthz and /readyz for lib/httpd. */
#ifndef SAQR_CONTROLLER_MANAGER_H
#define SAQR_CONTROLLER_MANAGER_H

#include <stdbool.h>

#include "common/metrics.h"
#include "operator/runtime/events.h"
#include "operator/runtime/informer.h"
#include "operator/runtime/kubeops.h"
#include "operator/runtime/workqueue.h"
#include "httpd/httpd.h"

#define MANAGER_LEASE_NAME "saqr-operator"
#define MANAGER_MAX_CONTROLLERS 16
#define MANAGER_MAX_INFORMERS 32
#define MANAGER_SYNC_TIMEOUT 120.0

/* Strings are copied. */
struct manager_config {
	const char *identity; /* this replica (pod name): Lease holder, reportingInstance. Required. */
	bool leader_election;
	const char *lease_namespace; /* required with leader election */
	const char *lease_name;	     /* NULL: MANAGER_LEASE_NAME */
	double lease_duration;	     /* 0: leaderelection.h defaults */
	double renew_deadline;
	double retry_period;
	const char *namespace;	 /* watch only this namespace; NULL: all */
	double sync_timeout;	 /* manager_start waits this long for caches (0: 120 s) */
	struct metrics *metrics; /* borrowed; NULL: the manager makes its own */
	bool compact_cache;	 /* informers keep compact JSON text (informer_config.compact) */
	long list_page_size;	 /* informers list in pages of this many objects (0: default) */
};

/* Reconcile the object ns/name (ns "" when cluster-scoped); it may be gone from the cache
 * (deleted). Called on a worker thread; never twice at once for one key. */
typedef struct workqueue_result (*manager_reconcile_fn)(void *ud, const char *ns, const char *name);

/* Strings and the owned array are copied. */
struct controller_config {
	const char *name; /* "modeldeployment": metrics label, log field */
	struct kube_resource primary;
	const char *group;		   /* primary's API group ("saqr.dev"), to match ownerReferences */
	const char *kind;		   /* primary's kind ("ModelDeployment") */
	const struct kube_resource *owned; /* types whose controller owner is a primary object */
	size_t nowned;
	int workers; /* 0: 1 */
	manager_reconcile_fn reconcile;
	void *ud;
	/* How the owned types are cached (both NULL: every object, whole): only objects matching
	 * the label selector, cut down by the transform. Owned informers are shared by every
	 * controller that asks for the same type and selector, which must then pass the same
	 * transform. */
	const char *owned_label_selector;
	informer_transform_fn owned_transform;
};

struct manager;

/* ops is copied; its client (ctx) must outlive the manager. When ops->observe is NULL the copy
 * counts requests into saqr_api_requests_total. 0, SAQR_EINVAL or SAQR_ENOMEM. */
int manager_new(const struct kubeops *ops, const struct manager_config *cfg, struct manager **out);
/* Stop (if running) and free. NULL is a no-op. */
void manager_free(struct manager *m);

/* Register a controller before manager_start. 0, SAQR_EINVAL, SAQR_EBUSY (started),
 * SAQR_EEXIST (name taken), SAQR_ETOOBIG or SAQR_ENOMEM. */
int manager_add_controller(struct manager *m, const struct controller_config *cc);
/* The shared informer for res (created on first use before start; reconcilers read their cache
 * from it, and may add handlers to it before start). NULL after start when there is none, or
 * when out of memory. */
struct informer *manager_informer(struct manager *m, const struct kube_resource *res);
/* The shared informer for res restricted to label_selector (NULL: all objects) and cut down by
 * transform (NULL: none); manager_informer(m, res) is manager_informer_with(m, res, NULL, NULL).
 * Informers are keyed by type and selector. NULL when an informer of that key exists with
 * another transform, after start when there is none, or when out of memory or slots. */
struct informer *manager_informer_with(struct manager *m, const struct kube_resource *res,
				       const char *label_selector, informer_transform_fn transform);
/* Queue key ("ns/name") for the named controller after delay seconds (0: now).
 * 0, SAQR_ENOTFOUND (no such controller), SAQR_ECLOSED or SAQR_ENOMEM. */
int manager_enqueue(struct manager *m, const char *controller, const char *key, double delay);

/* Borrowed, valid until manager_free. */
struct events_recorder *manager_events(struct manager *m);
struct metrics *manager_metrics(struct manager *m);
/* The manager's copy of the API calls (counted in saqr_api_requests_total). */
const struct kubeops *manager_kubeops(struct manager *m);

/* Start the event recorder and informers, wait for the caches to sync, then run leader election
 * (or, without it, the workers at once). 0, SAQR_EBUSY (started), SAQR_ETIMEDOUT (caches did
 * not sync; the manager is stopped) or SAQR_ENOMEM. */
int manager_start(struct manager *m);
/* Block until manager_stop (0) or until leadership is lost (SAQR_ECLOSED). */
int manager_wait(struct manager *m);
/* Stop workers (in-flight reconciles finish), release the Lease, stop informers, flush and
 * stop the event recorder. Idempotent; not from a reconcile or a handler. */
void manager_stop(struct manager *m);

bool manager_is_leader(struct manager *m);
/* Started, not stopping, and every informer synced. */
bool manager_ready(struct manager *m);

/* httpd handler (ud: the manager): GET /metrics (Prometheus text), /healthz (200 unless
 * leadership was lost), /readyz (200 when manager_ready, else 503). Others: 404 or 405. */
void manager_http_handler(void *ud, const struct httpd_request *req, struct httpd_response *resp);
/* For httpd-less callers and tests: the kubeops observe hook the manager installs. */
void manager_observe_api(void *ud, const char *verb, const struct kube_resource *res, int rc);

#endif
