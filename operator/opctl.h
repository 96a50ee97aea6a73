/* Pieces the ModelDeployment and TrainingJob controllers share: their owned informers, the
 * mapping of API errors to work-queue results, and the Events and logs about what a reconcile
 * created, updated or deleted. */
#ifndef SAQR_OPERATOR_OPCTL_H
#define SAQR_OPERATOR_OPCTL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "operator/runtime/events.h"
#include "operator/runtime/manager.h"
#include "operator/runtime/workqueue.h"
#include "kube/client.h"
#include "operator/owned.h"

#define OPCTL_LIST_MAX 1024 /* bytes of one "Deployment/x, Service/x" list */

/* The owned informers of a controller, restricted to Saqr's objects and trimmed by
 * owned_cache_transform, with t's forget handler registered on each (once). out[i] is the
 * informer of res[i]. Call before manager_add_controller. 0, SAQR_ETOOBIG or SAQR_ENOMEM. */
int opctl_owned_informers(struct manager *m, struct owned_tracker *t, const struct kube_resource *const *res,
			  size_t n, struct informer **out);

/* The work-queue result for a reconcile that ended with rc: 0 → done (or, when waiting, look
 * again after OWNED_CACHE_GRACE seconds in case the awaited event never comes); 409 Conflict →
 * requeue at once with the per-key backoff, without an error; others → error and backoff. */
struct workqueue_result opctl_result(int rc, bool waiting);

/* Whether the API server answered a write with an error that will not go away by itself
 * (400, 403, 404, 422, 500, e.g. "the Service IP range is full"): it belongs in the status and
 * an Event. Conflicts, throttling and transport errors are only retried. */
bool opctl_refused(int rc, const struct kube_status *st);

/* snprintf that cuts quietly (messages for conditions and Events may be cut). */
void opctl_format(char *out, size_t outlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The current time as RFC 3339 into out (COND_TIME_BUF bytes). */
void opctl_now(char *out, size_t outlen);

/* What a reconcile did to the owned objects. */
struct opctl_changes {
	struct buf created, updated, deleted;
};

void opctl_changes_init(struct opctl_changes *ch);
void opctl_changes_release(struct opctl_changes *ch);
/* Note "kind/name" under outcome (UNCHANGED and WAITING are not noted). */
void opctl_changes_note(struct opctl_changes *ch, enum owned_outcome outcome, const char *kind,
			const char *name);
/* One Normal Event per non-empty list (reasons Created, Updated, Deleted) on regarding, and an
 * info log line naming controller, namespace and name. */
void opctl_changes_report(const struct opctl_changes *ch, struct events_recorder *ev, const json_t *regarding,
			  const char *controller);

#endif
