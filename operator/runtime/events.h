/* An event recorder for events.k8s.io/v1 Events: what `kubectl describe` and `kubectl events`
 * show users about Saqr's objects.
 *
 * - events_record() never blocks on the API server: it appends to a bounded queue that one
 *   thread drains, and drops (and counts) events when the queue is full.
 * - Aggregation: an event with the same regarding object, type, reason and note as one posted
 *   less than `window` ago (10 min by default, sliding) is not posted again; the existing Event's
 *   series.count and series.lastObservedTime are patched instead (a merge patch). Repeats still
 *   waiting in the queue are folded into one item first, so a hot loop costs one write.
 * - Writes are rate limited by a token bucket (5 qps, burst 25 by default).
 * The recorder talks to the API server through a struct kubeops (kubeops.h). */
#ifndef SAQR_CONTROLLER_EVENTS_H
#define SAQR_CONTROLLER_EVENTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/metrics.h"
#include "operator/runtime/kubeops.h"

#define EVENTS_CONTROLLER "saqr-operator"
#define EVENTS_WINDOW 600.0
#define EVENTS_QUEUE_CAP 1024
#define EVENTS_CACHE_CAP 4096
#define EVENTS_QPS 5.0
#define EVENTS_BURST 25.0
#define EVENTS_NOTE_MAX 1024  /* the API server's limit on note, in bytes */
#define EVENTS_REASON_MAX 128 /* and on reason and action */

extern const struct kube_resource events_resource; /* events.k8s.io/v1 events */

/* Zero fields take the defaults above. Strings are copied. */
struct events_config {
	const char *controller; /* reportingController */
	const char *instance;	/* reportingInstance: this replica (required) */
	double window;		/* aggregation window, seconds */
	size_t queue_cap;
	size_t cache_cap;	 /* posted events remembered for aggregation */
	double qps, burst;	 /* API writes; qps < 0: unlimited */
	struct metrics *metrics; /* borrowed, may be NULL: saqr_events_total{result} */
	double (*clock)(void);	 /* monotonic seconds (tests pass a fake); NULL: real */
	double (*wall)(void);	 /* Unix seconds for timestamps; NULL: real */
};

struct events_stats {
	unsigned long long created;    /* new Event objects */
	unsigned long long aggregated; /* occurrences folded into an existing series */
	unsigned long long dropped;    /* queue full, or pending at stop */
	unsigned long long failed;     /* API errors */
};

struct events_recorder;

/* 0, SAQR_EINVAL (no instance, or no ops) or SAQR_ENOMEM. ops is borrowed. */
int events_recorder_new(const struct kubeops *ops, const struct events_config *cfg,
			struct events_recorder **out);
/* Start the posting thread. 0, SAQR_EBUSY or SAQR_ENOMEM. */
int events_recorder_start(struct events_recorder *r);
/* Wait until everything queued so far is posted (or failed). 0, or SAQR_ETIMEDOUT. */
int events_recorder_flush(struct events_recorder *r, double timeout);
/* Stop the thread; events still queued are dropped. Idempotent. */
void events_recorder_stop(struct events_recorder *r);
/* Stop and free. NULL is a no-op. */
void events_recorder_free(struct events_recorder *r);
void events_recorder_stats(struct events_recorder *r, struct events_stats *out);

/* Queue an event about regarding (any object with apiVersion, kind and metadata; not kept).
 * type is "Normal" or "Warning"; reason ("ScaledUp") and action ("Reconcile") are CamelCase and
 * at most 128 bytes; note is printf-formatted and cut at 1024 bytes.
 * 0, SAQR_EINVAL, SAQR_EBUSY (queue full: dropped), SAQR_ECLOSED (stopped) or SAQR_ENOMEM. */
int events_record(struct events_recorder *r, const json_t *regarding, const char *type, const char *reason,
		  const char *action, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* ---- building blocks (pure) ---- */

/* The ObjectReference for obj (apiVersion, kind, namespace, name, uid, resourceVersion).
 * 0, SAQR_EINVAL (no kind or name) or SAQR_ENOMEM. */
int events_reference(const json_t *obj, json_t **out);
/* The Event to create for count occurrences (series set when count >= 2), first seen at
 * first_wall and last at last_wall, in regarding's namespace ("default" when it has none),
 * named "<regarding name>.<first_wall in hex nanoseconds>". 0 or SAQR_ENOMEM. */
int events_build(const char *controller, const char *instance, const json_t *regarding_ref, const char *type,
		 const char *reason, const char *action, const char *note, double first_wall,
		 double last_wall, unsigned count, json_t **out);
/* The merge patch that records count occurrences, the last at last_wall. */
int events_series_patch(unsigned count, double last_wall, json_t **out);

#endif
