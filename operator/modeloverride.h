/* The model in force of a ModelDeployment, GitOps-safe. Git (Argo CD, Flux, kubectl apply)
 * owns spec.model; Saqr's own actions — a TrainingJob's promotion, a DriftPolicy's rollback —
 * never rewrite it. They write spec.modelOverride instead, a field no Git manifest carries, so a
 * sync neither reverts it nor shows it as drift:
 *
 *   spec.modelOverride: {model: {...as spec.model}, reason: Promotion|Rollback,
 *                        source: "TrainingJob/<name>" | "incident <id>",
 *                        base: {uri, version, digest}}   (spec.model when it was written)
 *
 * The override is in force while spec.model still equals its base. A new spec.model (a new
 * version committed to Git) supersedes it: the model served is spec.model again and the
 * operator removes the stale override. status.modelSource says which model serves and why.
 * Pure functions, no I/O. */
#ifndef SAQR_OPERATOR_MODELOVERRIDE_H
#define SAQR_OPERATOR_MODELOVERRIDE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define MO_FIELD "modelOverride"
#define MO_REASON_PROMOTION "Promotion"
#define MO_REASON_ROLLBACK "Rollback"

enum mo_state {
	MO_NONE,   /* no spec.modelOverride */
	MO_ACTIVE, /* in force: its base is spec.model */
	MO_STALE,  /* spec.model changed since (or the override is malformed): not in force */
};

/* The state of md's override. */
enum mo_state mo_state(const json_t *md);

/* The model in force: spec.modelOverride.model when active, else spec.model (NULL when md has
 * none). Borrowed from md. */
const json_t *mo_model(const json_t *md);

/* A deep copy of md whose spec.model is the model in force (and without spec.modelOverride),
 * which every builder and check of a ModelDeployment then reads as usual; NULL on ENOMEM. */
json_t *mo_effective(const json_t *md);

/* The merge patch that puts model (borrowed; version, uri, digest, signature, name, format are
 * taken, the missing ones removed) in force over md's spec.model: {"spec":{"modelOverride":
 * {"model":..., "reason":reason, "source":source, "base":{uri, version, digest of spec.model}}}}.
 * NULL on ENOMEM. */
json_t *mo_patch(const json_t *md, const json_t *model, const char *reason, const char *source);

/* The merge patch that removes the override: {"spec":{"modelOverride":null}}. */
json_t *mo_clear_patch(void);

/* status.modelSource of md: {"type": "Spec"|"Promotion"|"Rollback", "source": ..., "message":
 * a sentence naming the version served and why}. NULL on ENOMEM. */
json_t *mo_source(const json_t *md);

#endif
