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
	EXEMPTIONS_BG_REFUSED,	  /* a finding says why */
	EXEMPTIONS_BG_UNVERIFIED, /* offline (no user): well-formed, but nobody to check */
};

/* Whether ev's object is the child of an admitted object being created by Kubernetes itself:
 * a Pod, ReplicaSet or Job with a controller ownerReference, requested by
 * system:kube-controller-manager or system:serviceaccount:kube-system:<name>-controller. */
bool exemptions_controller_child(const struct policy_eval_ctx *ev);

/* Read and judge the object's break-glass annotation, and its pod template's (which every
 * child inherits). Groups are checked against the requester, except for a controller child
 * (exemptions_controller_child), whose inherited annotation is honoured while in time: the
 * group check was made when its parent was admitted. A refused request adds an
 * exemptions.breakGlass finding; every state but ABSENT adds audit annotations
 * (break-glass, -expires, -user, -status, and -inherited for a controller child; the same
 * with the prefix template-break-glass for the template's) to ann. The template's state does
 * not exempt the object: the returned state is the object's own. */
enum exemptions_break_glass_state exemptions_break_glass(struct policy_eval_ctx *ev, json_t *ann);

#endif
