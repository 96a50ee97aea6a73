/* Exemptions: namespaces, users and groups the policy skips, and the break-glass annotation
 * `saqr.dev/break-glass: "<reason>; expires=<RFC3339>"`. */
#ifndef SAQR_POLICY_EXEMPTIONS_H
#define SAQR_POLICY_EXEMPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/policy_internal.h"

#define EXEMPTIONS_BREAK_GLASS_KEY "saqr.dev/break-glass"

/* Whether the request in ev is exempt by namespace, user or group; when it is, writes
 * "namespace kube-system", `user "x"` or `group "y"` into why. */
bool exemptions_match(const struct policy_eval_ctx *ev, char *why, size_t n);

enum exemptions_break_glass_state {
	EXEMPTIONS_BG_ABSENT = 0,
	EXEMPTIONS_BG_HONOURED,
	EXEMPTIONS_BG_REFUSED,  /* a finding says why */
	EXEMPTIONS_BG_UNVERIFIED, /* offline (no user): well-formed, but nobody to check */
};

/* Read and judge the object's break-glass annotation. A refused request adds an
 * exemptions.breakGlass finding; every state but ABSENT adds audit annotations
 * (break-glass, break-glass-expires, break-glass-user, break-glass-status) to ann. */
enum exemptions_break_glass_state exemptions_break_glass(struct policy_eval_ctx *ev, json_t *ann);

#endif
