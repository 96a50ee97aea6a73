/* The DriftPolicy controller inside saqr-operator (wiring of drifteval, driftsource,
 * driftactions and incident to the API server). operator_register_driftpolicy (operator.h)
 * registers one with default settings for the life of the process; tests and tools that start
 * and stop managers use driftpolicy_controller_new / _free to own it.
 *
 * One reconcile of a DriftPolicy:
 *   1. suspended → status Suspended, readings dropped, nothing else;
 *   2. not due (interval since the last evaluation not over, spec unchanged) → only deliver
 *      the pending notifications that are due; no other write;
 *   3. due → read the metrics (scrape or Prometheus), score, check SLOs; advance the incident
 *      (open once per cooldown, resolve); Events; actions on the open incident (retrain,
 *      rollback); write status if it changed;
 *   4. deliver due notifications, then write status again at once (a delivered one is never
 *      kept as pending; a crash between sending and writing sends it again: at least once,
 *      with the incident id as the sinks' dedup key);
 *   5. requeue after the earlier of the next evaluation and the next delivery attempt. */
#ifndef SAQR_OPERATOR_DRIFTPOLICY_CONTROLLER_H
#define SAQR_OPERATOR_DRIFTPOLICY_CONTROLLER_H

#include "operator/operator.h"

#define DRIFTPOLICY_CONTROLLER "driftpolicy"
#define DRIFTPOLICY_NOTIFY_TIMEOUT_MS 10000L

struct driftpolicy_controller;

/* Create the controller and add it (and the informers it reads: DriftPolicies, ModelDeployments,
 * TrainingJobs) to ctx->mgr, before manager_start. ctx is copied; its pointers are borrowed.
 * 0, SAQR_EINVAL, SAQR_ENOMEM or manager_add_controller's error. */
int driftpolicy_controller_new(const struct operator_ctx *ctx, struct driftpolicy_controller **out);
/* Free it once the manager is stopped. NULL is a no-op. */
void driftpolicy_controller_free(struct driftpolicy_controller *c);

#endif
