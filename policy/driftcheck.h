/* DriftPolicy admission: its retrain template is judged as the TrainingJob it will become (the
 * operator creates it under its own, exempt identity), its Prometheus and alert sink URLs
 * against zeroTrust.allowedEndpoints, and its Secret references stay in its namespace. */
#ifndef SAQR_POLICY_DRIFTCHECK_H
#define SAQR_POLICY_DRIFTCHECK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "policy/policy_internal.h"

/* Whether obj is a saqr.dev DriftPolicy. */
bool driftcheck_is_driftpolicy(const json_t *obj);

#define DRIFTCHECK_RETRAIN_PATH "spec.actions.retrain.template"

/* The TrainingJob the DriftPolicy in ev will create from its retrain template, with the
 * DriftPolicy's saqr.dev labels and annotations (but not its break-glass), for the engine to
 * judge with every TrainingJob rule. *out is NULL when there is no template. 0 or SAQR_ENOMEM. */
int driftcheck_retrain_job(const struct policy_eval_ctx *ev, json_t **out);

/* The endpoint and Secret reference rules for the DriftPolicy in ev. */
void driftcheck_check(struct policy_eval_ctx *ev);

/* Whether host (a URL's host: a name, an IPv4 address in any form inet_aton takes, or an
 * IPv6 address without brackets) is a link-local or cloud metadata address. */
bool driftcheck_forbidden_host(const char *host);

#endif
