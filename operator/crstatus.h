/* Writing a custom resource's status subresource without churn: only when the computed status
 * differs from the cached one (cond_status_equal), by PUT with the cached resourceVersion
 * (optimistic concurrency: a stale cache gets 409 Conflict, never overwrites a newer status),
 * and remembering each write so that a cache which has not yet caught up with it is not taken
 * for a change (which would only end in a 409). */
#ifndef SAQR_OPERATOR_CRSTATUS_H
#define SAQR_OPERATOR_CRSTATUS_H

#include <jansson.h>
#include <stdbool.h>

#include "operator/runtime/kubeops.h"

#define CRSTATUS_GRACE 10.0 /* seconds a write is remembered for */

/* What was written, by namespace/name. Thread-safe. */
struct crstatus_memo;

/* 0 or SAQR_ENOMEM. */
int crstatus_memo_new(struct crstatus_memo **out);
/* NULL is a no-op. */
void crstatus_memo_free(struct crstatus_memo *m);
/* Forget ns/name (the object is gone). */
void crstatus_memo_forget(struct crstatus_memo *m, const char *ns, const char *name);

/* Whether obj (as cached) is the version that our status write of the last CRSTATUS_GRACE
 * seconds replaced: the cache lags our own write, whose watch event is on its way. */
bool crstatus_cache_behind(struct crstatus_memo *m, const json_t *obj);

/* Write status as obj's status subresource when it differs from obj's current status.
 * *written says whether a write was made. 0, or the API error (SAQR_ECONFLICT when obj is stale)
 * with st filled. */
int crstatus_write(const struct kubeops *ops, const struct kube_resource *res, struct crstatus_memo *m,
		   const json_t *obj, const json_t *status, bool *written, struct kube_status *st);

#endif
