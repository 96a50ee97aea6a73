/* The pure decisions behind a DriftPolicy's actions: the incident configuration, the
 * retraining TrainingJob (at most one running, linked to its incident), the rollback of the
 * ModelDeployment (to the newest earlier model in its history, once per incident), and the
 * notifications (sink, credentials and event of a queued entry; what a delivery changes in
 * status). No I/O; the controller reads the objects and makes the calls. */
#ifndef SAQR_OPERATOR_DRIFTACTIONS_H
#define SAQR_OPERATOR_DRIFTACTIONS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "operator/driftpolicy/notify.h"
#include "operator/driftpolicy/incident.h"

#define DRIFTACTIONS_LABEL_POLICY "saqr.dev/driftpolicy"
#define DRIFTACTIONS_ANN_INCIDENT "saqr.dev/incident"		    /* on a retraining TrainingJob */
#define DRIFTACTIONS_ANN_ROLLED_BACK_FOR "saqr.dev/rolled-back-for" /* on a rolled-back ModelDeployment */
#define DRIFTACTIONS_MAX_SINKS 10
#define DRIFTACTIONS_PAGERDUTY_URL "https://events.pagerduty.com/v2/enqueue"

struct drifteval_result;

/* ---- incidents ---- */

/* What incident_step needs from dp. The strings point into dp and into types. */
struct driftactions_incident {
	struct incident_cfg cfg;
	const char *types[DRIFTACTIONS_MAX_SINKS];
};

/* Fill inc from dp (cooldown, sinks, retrain, rollback). inc must outlive the cfg's use. */
void driftactions_incident_cfg(const json_t *dp, struct driftactions_incident *inc);

/* ---- retrain ---- */

/* Whether r (the evaluation that finds dp's incident open) shows a breach that
 * spec.actions.retrain.on lists: DriftDetected (a feature drifted), QualitySLO, LatencySLO,
 * ErrorRateSLO (the SLOBreached condition's reasons). Without `on`: DriftDetected and
 * QualitySLO. false without actions.retrain.template. */
bool driftactions_retrain_due(const json_t *dp, const struct drifteval_result *r);

/* Among tjs (an array of TrainingJobs), the name of one controlled by dp and not finished
 * (tj_finished), or NULL. Borrowed. */
const char *driftactions_running_retrain(const json_t *dp, const json_t *tjs);
/* Among tjs, the name of the one dp created for incident_id (annotation saqr.dev/incident),
 * or NULL. Borrowed. */
const char *driftactions_retrain_for(const json_t *dp, const json_t *tjs, const char *incident_id);
/* The TrainingJob to create for incident_id: spec = actions.retrain.template, named
 * <dp>-retrain-<n> with n one more than the TrainingJobs dp owns (higher while the name is
 * taken in tjs), controller-owned by dp, labelled, annotated with the incident.
 * 0, SAQR_EINVAL (no template, dp without name/uid), SAQR_ENOMEM. */
int driftactions_retrain_object(const json_t *dp, const json_t *tjs, const char *incident_id, json_t **out);

/* ---- rollback ---- */

/* The newest entry of md's status.history whose model (uri, version, digest) differs from the
 * model in force (spec.modelOverride or spec.model, operator/modeloverride.h): what a rollback
 * restores. NULL when there is none. Borrowed. */
const json_t *driftactions_rollback_target(const json_t *md);
/* Whether md was already rolled back for incident_id (its annotation says so). */
bool driftactions_rolled_back_for(const json_t *md, const char *incident_id);
/* The merge patch for md that puts entry's model in force without rewriting spec.model, which
 * Git owns: spec.modelOverride {model: entry's version, uri, digest, signature (those entry
 * lacks removed) with entry's name and format or else spec.model's, reason "Rollback", source
 * "incident <id>", base: spec.model}, and the annotation saqr.dev/rolled-back-for=incident_id.
 * 0 or SAQR_ENOMEM. */
int driftactions_rollback_patch(const json_t *md, const json_t *entry, const char *incident_id, json_t **out);
/* "version (uri)" of a model entry into out. */
void driftactions_model_label(const json_t *model, char *out, size_t outlen);

/* ---- notifications ---- */

/* Credentials decoded from a Secret's data (owned, wiped on release). Any may be NULL. */
struct driftactions_secret {
	char *token, *hmac_key, *username, *password, *routing_key;
};

/* The value of key in a Secret's data, base64-decoded, trailing newlines dropped, into *out
 * (caller frees, after OPENSSL_cleanse for a credential); *out is NULL when the key is absent.
 * 0, SAQR_EINVAL (not base64), SAQR_ENOMEM. */
int driftactions_secret_value(const json_t *secret, const char *key, char **out);
/* Decode the keys a sink may need from secret (a v1 Secret; NULL gives an empty result).
 * Trailing newlines are dropped. 0, SAQR_EINVAL (a value is not base64), SAQR_ENOMEM. */
int driftactions_secret_decode(const json_t *secret, struct driftactions_secret *out);
void driftactions_secret_release(struct driftactions_secret *s);

/* One sink ready for notify_build: type, URL (PagerDuty's default or /v2/enqueue added), and
 * the credentials (borrowed from sec). */
struct driftactions_sink {
	struct notify_sink sink;
	char url[2100];
};

/* Sink `index` of dp's spec.actions.alert.sinks. sec may be NULL (no secretRef).
 * 0, SAQR_ENOTFOUND (no such sink), SAQR_EINVAL (unknown type). */
int driftactions_sink(const json_t *dp, size_t index, const struct driftactions_secret *sec,
		      struct driftactions_sink *out);
/* Whether a pending entry no longer matches the spec (its sink is gone or changed type): it is
 * dropped instead of sent. */
bool driftactions_pending_stale(const json_t *dp, const json_t *entry);
/* The event for a pending entry about incident (from dp's incidents), with details (borrowed,
 * may be NULL). Strings borrowed from the arguments. */
void driftactions_event(const json_t *dp, const json_t *incident, const json_t *entry, const json_t *details,
			struct notify_event *out);
/* Extra JSON for the sinks: the drifted features, latency and error rate from status, and
 * the incident's trainingJob and rolledBackTo. New reference (NULL when out of memory). */
json_t *driftactions_details(const json_t *status, const json_t *incident);

/* Record that pending[index] was accepted: remove it; for a trigger keep external_id (may be
 * NULL) in the incident's externalIds under the sink index, and mark the incident notified once
 * no trigger of it is left. 0, SAQR_EINVAL (no such entry), SAQR_ENOMEM. */
int driftactions_delivered(json_t *incidents, json_t *pending, size_t index, const char *external_id);
/* The incident (in incidents) with that id, or NULL. Borrowed. */
json_t *driftactions_incident(const json_t *incidents, const char *id);

#endif
