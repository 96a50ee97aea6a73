/* Zero Trust rules: image registries, digests and tags; ServiceAccounts and their tokens;
 * a ModelDeployment's TLS secret, model digests and signatures; plain http:// storage URIs. */
#ifndef SAQR_POLICY_ZEROTRUST_H
#define SAQR_POLICY_ZEROTRUST_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/podspec.h"
#include "policy/policy_internal.h"

/* Pod-level rules (image volumes, ServiceAccount, token automount) and the own fields of a
 * ModelDeployment (TLS, model digests and signatures, URIs) or TrainingJob (dataset and output
 * URIs). */
void zerotrust_pod(struct policy_eval_ctx *ev);
/* Image rules for one container of ev->pod. */
void zerotrust_container(struct policy_eval_ctx *ev, const struct podspec_container *c);

/* Whether image (a container image reference) is pinned by a sha256 digest. */
bool zerotrust_image_pinned(const char *image);
/* The registry-qualified repository of image without tag or digest ("nginx" becomes
 * "docker.io/library/nginx"), written into out (truncated to n). */
void zerotrust_image_repository(const char *image, char *out, size_t n);

#endif
