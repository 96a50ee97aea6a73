/* Kinds known by paths (podspec_paths): the ML ecosystem's built in, and the policy's
 * customKinds. Which entry applies to an object, and the residency of the storage URIs at
 * the kind's URI paths. */
#ifndef SAQR_POLICY_KINDS_H
#define SAQR_POLICY_KINDS_H

#include <jansson.h>

#include "policy/podspec.h"
#include "policy/policy_internal.h"

/* The policy's customKinds entry for obj, else the built-in one, else NULL. */
const struct podspec_paths *kinds_paths(const struct policy *p, const json_t *obj);

/* dataResidency.location for every URI at k's URI paths in ev's object: its (provider,
 * region), as residency_parse_uri reads it, must be an allowed pair; pvc:// is in-cluster. */
void kinds_uris(struct policy_eval_ctx *ev, const struct podspec_paths *k);

#endif
