/* The DriftPolicy incident state machine, as pure functions over status JSON: when a breach
 * opens an incident (once per cooldown), when it resolves, which notifications are queued in
 * status.pendingNotifications, and when a queued delivery is due again (exponential backoff).
 * No I/O here; the reconciler sends and writes status. */
#ifndef SAQR_OPERATOR_INCIDENT_H
#define SAQR_OPERATOR_INCIDENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define INCIDENT_MAX_KEPT 20	 /* status.incidents is bounded; the oldest resolved go first */
#define INCIDENT_MAX_PENDING 100 /* status.pendingNotifications is bounded */
#define INCIDENT_RETRY_BASE 5	 /* seconds; doubles per failed attempt */
#define INCIDENT_RETRY_MAX 600

/* What one evaluation found. reason is DriftDetected or SLOBreached; summary one line. */
struct incident_eval {
	bool breached;
	const char *reason;
	const char *summary;
	const char *severity;
};

struct incident_cfg {
	const char *policy_name; /* used in incident ids */
	long cooldown_seconds;
	size_t nsinks;		       /* alert sinks, in spec order */
	const char *const *sink_types; /* their type names, nsinks of them */
	bool retrain;
	bool rollback;
};

/* The outcome of incident_step. incidents and pending are new references the caller owns
 * (the full new lists for status); the ids are borrowed from incidents. */
struct incident_plan {
	json_t *incidents;
	json_t *pending;
	const char *opened;   /* id of the incident opened now, or NULL */
	const char *resolved; /* id of the incident resolved now, or NULL */
	bool suppressed;      /* a breach inside the cooldown after an earlier incident */
	bool retrain;	      /* start a TrainingJob for `opened` */
	bool rollback;	      /* roll the model back for `opened` */
	size_t dropped;	      /* pending notifications dropped at the cap (should be 0) */
};

/* Advance the state: from the current status (incidents, pendingNotifications; may be NULL),
 * the evaluation and now. 0 or SAQR_ENOMEM. Release the plan with incident_plan_release. */
int incident_step(const json_t *status, const struct incident_eval *ev, const struct incident_cfg *cfg,
		  time_t now, struct incident_plan *plan);
void incident_plan_release(struct incident_plan *plan);

/* The open incident (no resolvedAt) in incidents, or NULL. Borrowed. */
json_t *incident_open(const json_t *incidents);

/* Is the pending entry due at now? */
bool incident_pending_due(const json_t *pending_entry, time_t now);
/* Record a failed attempt on a pending entry (in place): attempts+1, lastError, nextAttemptAt
 * with exponential backoff. */
int incident_pending_failed(json_t *pending_entry, const char *error, time_t now);

/* RFC 3339 UTC ("2026-11-26T15:00:00Z") into out (at least 21 bytes). */
void incident_time_format(time_t t, char *out, size_t outlen);
/* Parse RFC 3339 UTC (Z or +00:00, optional fraction). 0 or SAQR_EINVAL. */
int incident_time_parse(const char *s, time_t *out);

#endif
