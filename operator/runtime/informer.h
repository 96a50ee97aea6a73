/* An informer: list then watch one resource type, keep a local cache of the objects by
 * "namespace/name", and call event handlers as objects are added, updated and deleted (the
 * C shape of client-go's SharedIndexInformer, without resync).
 *
 * - The watch resumes from the last resourceVersion seen (bookmarks included), so a dropped
 *   connection or an API server restart costs no relist; an expired version (410 Gone) or any
 *   other API error relists, and the relist replaces the cache, firing updates for changed
 *   objects and deletes for vanished ones. Transport errors back off (capped, jittered) and
 *   keep the cache, so readers see the last known state while the API server is away.
 * - Memory: cached objects have metadata.managedFields removed (controller-runtime's default
 *   transform); server-side apply bookkeeping is often the largest part of an object and no
 *   reconciler reads it. keep_managed_fields turns this off. A jansson tree costs 5-15 times the
 *   object's JSON text; `compact` keeps each object as compact JSON text instead, packed
 *   (common/jsonpack.h), and parses it on every read (a few microseconds for a typical object). Lists go page
 * by page (the kubeops `list` call), at most INFORMER_LIST_CONCURRENCY informers of the process at a time, so
 * that a relist of thousands of objects never holds them all as trees at once.
 * - A transform hook (informer_config.transform) may cut objects down further before they are
 *   cached, e.g. to the metadata and status of objects a reconciler only owns.
 * - Cached objects are shared, immutable jansson values: readers get new references (incref'd)
 *   and must not modify them (json_deep_copy first). jansson's refcounts are atomic. (With
 *   `compact`, each read returns a private tree; the rule stays the same.)
 * - Handlers run on the informer's thread, one event at a time, without the cache lock held
 *   (they may read the cache). Objects passed to them are borrowed for the call.
 *
 * The informer talks to the API server through a struct kubeops (kubeops.h). */
#ifndef SAQR_CONTROLLER_INFORMER_H
#define SAQR_CONTROLLER_INFORMER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "operator/runtime/kubeops.h"

#define INFORMER_MAX_HANDLERS 16
#define INFORMER_KEY_MAX 330 /* "namespace/name": 63 + 1 + 253, and a NUL */
#define INFORMER_PAGE_SIZE 500
#define INFORMER_BACKOFF_INITIAL 0.8
#define INFORMER_BACKOFF_MAX 30.0
#define INFORMER_LIST_CONCURRENCY 2 /* informers listing at once, process-wide */

struct informer_handlers {
	void (*on_add)(void *ud, json_t *obj);
	void (*on_update)(void *ud, json_t *old_obj, json_t *new_obj);
	void (*on_delete)(void *ud, json_t *obj); /* the object's last state */
	void *ud;
};

/* Reduce what the cache keeps of an object (client-go's TransformFunc). Called on the informer's
 * thread for every listed or watched object, after managedFields are dropped and before the
 * object is cached and handed to handlers (list items have kind and apiVersion filled in).
 * obj is the informer's own shallow copy: the hook may set or delete members of obj and of its
 * "metadata" object, but must not change deeper values in place (they may be shared with the
 * decoded watch event). 0, or SAQR_ENOMEM (the list or watch fails and is retried). */
typedef int (*informer_transform_fn)(json_t *obj);

/* Strings are copied. Zero fields take the defaults above. */
struct informer_config {
	struct kube_resource res;
	const char *namespace;	    /* NULL or "": every namespace */
	const char *label_selector; /* NULL: everything */
	const char *field_selector;
	long page_size;		   /* list page size */
	int watch_timeout_seconds; /* 0: a random 300-599 s per watch, like client-go */
	double backoff_initial;	   /* seconds, after a failed list or watch */
	double backoff_max;
	bool keep_managed_fields;
	informer_transform_fn transform; /* NULL: cache objects whole */
	bool compact;			 /* cache compact JSON text, parsed on each read */
};

struct informer;

/* A stopped informer. ops is borrowed and must outlive it. 0, SAQR_EINVAL or SAQR_ENOMEM. */
int informer_new(const struct kubeops *ops, const struct informer_config *cfg, struct informer **out);
/* Stop (if running) and free, dropping the cache. NULL is a no-op. */
void informer_free(struct informer *inf);
/* Register handlers (copied) before start. 0, SAQR_EBUSY once started, SAQR_ETOOBIG when full. */
int informer_add_handlers(struct informer *inf, const struct informer_handlers *h);

/* Run list-and-watch on a new thread until informer_stop. 0 or SAQR_ENOMEM; SAQR_EBUSY if started. */
int informer_start(struct informer *inf);
/* Ask the thread to stop (a watch in progress ends promptly), wake it from any backoff sleep,
 * and join it. Idempotent; the cache stays readable. */
void informer_stop(struct informer *inf);
/* One round of what the thread repeats, on the calling thread (tests, tools): list and
 * replace the cache when needed, then one watch until it ends. Returns the list's error, or
 * the watch's: 0 (the server closed it), SAQR_EGONE (the next round relists),
 * SAQR_ETRANSPORT/SAQR_EBUSY/SAQR_ETIMEDOUT (the next round resumes the watch), SAQR_ECLOSED
 * (stopped), or another error (the next round relists). Not with the thread running. */
int informer_run_once(struct informer *inf);

/* True once the first list has been cached and its add events delivered. */
bool informer_has_synced(struct informer *inf);
/* Wait until synced. 0, SAQR_ETIMEDOUT after timeout seconds, or SAQR_ECLOSED when stopped. */
int informer_wait_synced(struct informer *inf, double timeout);

/* ---- the cache ---- */

/* A new reference to the cached object ns/name (ns NULL or "" for cluster-scoped), read-only.
 * 0 or SAQR_ENOTFOUND (*out untouched). */
int informer_get(struct informer *inf, const char *ns, const char *name, json_t **out);
/* The same by key ("ns/name" or "name"). */
int informer_get_key(struct informer *inf, const char *key, json_t **out);
/* A new array holding references to every cached object in ns (NULL: all). 0 or SAQR_ENOMEM. */
int informer_list(struct informer *inf, const char *ns, json_t **out);
size_t informer_len(struct informer *inf);
/* The last resourceVersion seen ("" before the first list) into out. 0 or SAQR_ETOOBIG. */
int informer_resource_version(struct informer *inf, char *out, size_t outlen);

/* ---- keys ---- */

/* The cache key of obj: "namespace/name", or "name" without a namespace.
 * 0, SAQR_EINVAL (no metadata.name) or SAQR_ETOOBIG. */
int informer_object_key(const json_t *obj, char *out, size_t outlen);
/* Split a key into namespace ("" when none) and name. 0, SAQR_EINVAL or SAQR_ETOOBIG. */
int informer_split_key(const char *key, char *ns, size_t nslen, char *name, size_t namelen);
/* The key of obj's controller owner: the ownerReference with controller=true, of kind `kind`
 * (and API group `group`, when not NULL; "" is the core group), in obj's namespace.
 * 0, SAQR_ENOTFOUND (no such owner) or SAQR_ETOOBIG. */
int informer_controller_owner_key(const json_t *obj, const char *group, const char *kind, char *out,
				  size_t outlen);

#endif
