/* The Kubernetes Pod Security Standards (baseline and restricted), as the upstream
 * k8s.io/pod-security-admission checks them, one finding per offending field. */
#ifndef SAQR_POLICY_PODSECURITY_H
#define SAQR_POLICY_PODSECURITY_H

#include "policy/podspec.h"
#include "policy/policy_internal.h"

/* Pod-level checks on ev->pod (host namespaces, volumes, sysctls, pod securityContext,
 * AppArmor annotations). */
void podsecurity_pod(struct policy_eval_ctx *ev);
/* Container-level checks on c, which belongs to ev->pod. */
void podsecurity_container(struct policy_eval_ctx *ev, const struct podspec_container *c);

#endif
