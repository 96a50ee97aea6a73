/* Hardened pod templates shared by the ModelDeployment and TrainingJob reconcilers: the
 * restricted Pod Security profile by default, a writable /tmp on a read-only root filesystem,
 * the user's scheduling constraints, and environment variable helpers. Pure, no I/O. */
#ifndef SAQR_OPERATOR_PODTMPL_H
#define SAQR_OPERATOR_PODTMPL_H

#include <jansson.h>
#include <stdbool.h>

#define PODSPEC_TMP_PATH "/tmp"
#define PODSPEC_ENV_MAX 1024 /* user env entries accepted */

/* A hardened container: name, image, securityContext (allowPrivilegeEscalation false,
 * privileged false, capabilities drop ALL, readOnlyRootFilesystem true), env (stolen, may be
 * NULL), and an emptyDir mount at /tmp. command, args and resources are copied when they are
 * present in src (an object holding those keys, e.g. spec.server). New reference or NULL. */
json_t *podtmpl_container(const char *name, const char *image, const json_t *src, json_t *env);

/* A hardened pod spec around container (stolen): securityContext {runAsNonRoot true,
 * seccompProfile RuntimeDefault}, automountServiceAccountToken false, serviceAccountName when
 * service_account is not NULL, the "tmp" emptyDir, and from scheduling (may be NULL)
 * nodeSelector, tolerations, affinity and priorityClassName. New reference or NULL. */
json_t *podtmpl_pod(json_t *container, const char *service_account, const json_t *scheduling);

/* Add a volume to pod and its mount to the pod's first container. volume is stolen.
 * 0, SAQR_EINVAL, SAQR_ENOMEM. */
int podtmpl_add_volume(json_t *pod, json_t *volume, const char *mount_path, bool read_only);

/* The saqr.dev compliance keys a workload's children must carry for the admission policy to
 * admit them (residency, classification, owner, personal data, lawful basis, retention,
 * jurisdiction, transfer basis, break-glass). NULL-terminated. */
extern const char *const podtmpl_compliance_keys[];

/* Copy owner's compliance keys (its labels as labels, its annotations as annotations) into
 * obj's metadata and into obj's pod template (spec.template.metadata), creating the maps as
 * needed, so that a Deployment or Job the operator writes, and every ReplicaSet and Pod
 * Kubernetes creates from it, carry what the admission policy checks. Keys already set are
 * overwritten. 0, SAQR_EINVAL (obj has no spec.template) or SAQR_ENOMEM. */
int podtmpl_inherit(const json_t *owner, json_t *obj);

/* The same for obj's own metadata only (an object without a pod template, such as the
 * TrainingJob a DriftPolicy starts, whose own children then inherit from it). 0, SAQR_EINVAL
 * (obj has no metadata) or SAQR_ENOMEM. */
int podtmpl_inherit_meta(const json_t *owner, json_t *obj);

/* Append {name, value} to env (a JSON array). 0 or SAQR_ENOMEM. */
int podtmpl_env(json_t *env, const char *name, const char *value);
/* Append {name, valueFrom: {fieldRef: {fieldPath}}}. 0 or SAQR_ENOMEM. */
int podtmpl_env_field(json_t *env, const char *name, const char *field_path);
/* Append copies of the user's EnvVar entries (user may be NULL). 0, SAQR_ENOMEM, SAQR_ETOOBIG. */
int podtmpl_env_user(json_t *env, const json_t *user);

/* Check a user env list against reserved names and duplicates (server-side apply refuses a list
 * keyed by name with two entries of one name). reserved ends with NULL. On a problem returns
 * false and writes what is wrong into msg. */
bool podtmpl_env_check(const json_t *user, const char *const *reserved, const char *where, char *msg,
		       size_t msglen);

#endif
