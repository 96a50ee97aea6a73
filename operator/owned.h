/* Owned objects on the API server, for the ModelDeployment and TrainingJob controllers: apply an
 * owned object only when the live one (read from the informer cache) differs from the desired
 * one in what Saqr owns, delete what is no longer desired, and keep the cache small.
 *
 * No write when converged. Every applied object carries the annotation saqr.dev/applied-hash, a
 * hash of the desired object. A live object is in sync when
 *   1. its hash annotation equals the hash of the desired object (the desired state did not move),
 *   2. it has the desired labels and a controller ownerReference to the owner, and
 *   3. nobody changed its spec since Saqr applied it: for kinds whose metadata.generation moves on
 *      every spec change (Deployment, Job, HorizontalPodAutoscaler, NetworkPolicy,
 *      PodDisruptionBudget) its generation is the one Saqr's last apply returned (remembered in
 *      memory by the tracker; 1, as created, when nothing is remembered, e.g. after a restart);
 *      for Services, which have no generation, the desired spec is contained in the live spec
 *      (string maps such as the selector must be equal: they are atomic in the API).
 * Otherwise the object is applied again (server-side apply, force), which puts a hand change to
 * an owned field back; an apply that changes nothing is not a write on the server.
 * Right after an apply the cache may not show it yet: that is recognised (the tracker remembers
 * what was applied, for OWNED_CACHE_GRACE seconds) and not taken for drift. Once an object is
 * seen in sync, its record is kept only when it says more than the defaults (a generation
 * above 1), so the tracker stays small. */
#ifndef SAQR_OPERATOR_OWNED_H
#define SAQR_OPERATOR_OWNED_H

#include <jansson.h>
#include <stdbool.h>

#include "operator/runtime/informer.h"
#include "operator/runtime/kubeops.h"
#include "operator/objmeta.h"

#define OWNED_ANN_HASH "saqr.dev/applied-hash"
#define OWNED_LABEL_SELECTOR "app.kubernetes.io/managed-by=" OBJMETA_MANAGER
#define OWNED_HASH_BUF 17 /* 16 hex digits of SHA-256 and a NUL */
#define OWNED_CACHE_GRACE 10.0

/* What Saqr last applied to one object. */
struct owned_record {
	char uid[64];
	long long generation; /* as the apply returned it; 0 for kinds without one */
	char hash[OWNED_HASH_BUF];
	double applied_at; /* monotonic seconds */
};

/* The in-memory records of what this process applied, by kind/namespace/name. Thread-safe. */
struct owned_tracker;

/* 0 or SAQR_ENOMEM. */
int owned_tracker_new(struct owned_tracker **out);
/* NULL is a no-op. */
void owned_tracker_free(struct owned_tracker *t);
/* Copy the record of kind ns/name into *out. true when there is one. */
bool owned_tracker_get(struct owned_tracker *t, const char *kind, const char *ns, const char *name,
		       struct owned_record *out);
/* Remember rec for kind ns/name. 0, SAQR_EINVAL (names too long) or SAQR_ENOMEM. */
int owned_tracker_put(struct owned_tracker *t, const char *kind, const char *ns, const char *name,
		      const struct owned_record *rec);
/* Forget what is remembered of obj (by its kind, namespace and name). */
void owned_tracker_forget(struct owned_tracker *t, const json_t *obj);
/* Forget kind ns/name. */
void owned_tracker_drop(struct owned_tracker *t, const char *kind, const char *ns, const char *name);
size_t owned_tracker_len(struct owned_tracker *t);
/* Informer handlers that forget deleted objects: register them on each owned informer BEFORE the
 * manager's (manager_add_controller), so the record is gone when the owner is reconciled. */
struct informer_handlers owned_tracker_handlers(struct owned_tracker *t);

/* The informer transform for owned types: keeps apiVersion, kind, metadata (name, namespace, uid,
 * generation, resourceVersion, labels, annotations, ownerReferences, deletionTimestamp), status,
 * and of the spec only what the status functions read (replicas, suspend); Services keep their
 * whole spec, which the sync compares. */
int owned_cache_transform(json_t *obj);

/* The hash of desired (16 hex digits of SHA-256 over its canonical JSON, without the hash
 * annotation) into out. 0 or SAQR_ENOMEM. */
int owned_hash(const json_t *desired, char out[OWNED_HASH_BUF]);
/* Set metadata.annotations[OWNED_ANN_HASH] of desired to hash. 0 or SAQR_ENOMEM. */
int owned_stamp(json_t *desired, const char *hash);

/* Whether every member of want is in have with an equal value (objects recursively; arrays
 * element by element, have may be longer). NULL want is contained in anything. */
bool owned_contains(const json_t *have, const json_t *want);

enum owned_verdict {
	OWNED_IN_SYNC,	    /* nothing to write */
	OWNED_CACHE_BEHIND, /* our last apply is not in the cache yet: its watch event is coming */
	OWNED_APPLY,	    /* apply desired */
};

/* Decide for desired (stamped with hash) against live (from the cache; NULL when absent) of
 * owner. rec is what the tracker remembers of the object (may be NULL); now is monotonic. Pure. */
enum owned_verdict owned_decide(const json_t *live, const json_t *desired, const char *hash,
				const json_t *owner, const struct owned_record *rec, double now);

/* What owned_sync did. */
enum owned_outcome {
	OWNED_UNCHANGED, /* in sync, or applied without change, or nothing to delete */
	OWNED_WAITING,	 /* the cache lags our last apply; *live is NULL */
	OWNED_CREATED,
	OWNED_UPDATED,
	OWNED_DELETED,
};

struct owned_sync {
	const struct kubeops *ops;
	struct owned_tracker *tracker;
	const json_t *owner; /* the primary object (apiVersion, kind, metadata.uid) */
};

/* Bring one owned object to what o says, reading the live object from cache (the informer of
 * o->res): APPLY → server-side apply o->obj (stamped with its hash, so o->obj is modified) when
 * owned_decide says so; DELETE → delete the object when it exists and is controlled by the owner
 * (precondition on its uid); LEAVE → nothing. *live (may be NULL) gets a new reference to the
 * object as it now stands — the apply's answer, or the cached object — or NULL when it is absent
 * or the cache lags. 0, or the failed call's error with st filled (*outcome and *live untouched). */
int owned_sync(const struct owned_sync *s, struct informer *cache, struct objmeta_owned *o,
	       enum owned_outcome *outcome, json_t **live, struct kube_status *st);

/* The live object as the status functions need it when the cache holds only its metadata and
 * status: live's apiVersion, kind, metadata and status with desired's spec, overlaid by what the
 * cache kept of live's spec (replicas, suspend). New reference or NULL. */
json_t *owned_view(const json_t *live, const json_t *desired);

#endif
