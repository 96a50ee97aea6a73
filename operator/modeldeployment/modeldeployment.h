/* The pure part of the ModelDeployment reconciler: from a ModelDeployment (and the Deployments
 * observed in the cluster) to the owned objects to apply or delete and to the status to write.
 * No I/O; every function is deterministic in its inputs (the time comes in as `now`).
 *
 * Wiring (one reconcile of md):
 *   if (md_validate(md, reason, .., msg, ..)) → skip md_desired; status only (Ready=False)
 *   md_desired(md, &opts, &d); for each d.owned[i]: APPLY → server-side apply d.owned[i].obj,
 *       DELETE → delete res/name when objmeta_is_controlled_by(live, md); md_desired_release(&d)
 *   obs.deployment / obs.canary = the Deployments as returned by the apply (or read from cache)
 *   md_status(md, &obs, now, &st); if (!cond_status_equal(st, md.status)) write status subresource
 */
#ifndef SAQR_OPERATOR_MODELDEPLOYMENT_H
#define SAQR_OPERATOR_MODELDEPLOYMENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "operator/objmeta.h"

#define MD_KIND "ModelDeployment"
#define MD_DEFAULT_PORT 8080
#define MD_DEFAULT_CPU_TARGET 80 /* targetCPUUtilizationPercentage when unset */
#define MD_HISTORY_MAX 10
#define MD_TLS_DIR "/etc/saqr/tls"
#define MD_CONTAINER "model-server"
#define MD_COMPONENT "model-server"
#define MD_COMPONENT_CANARY "canary"
#define MD_CANARY_SUFFIX "-canary"
#define MD_ANN_MODEL_VERSION "saqr.dev/model-version"
#define MD_ANN_MODEL_DIGEST "saqr.dev/model-digest"
#define MD_REASON_INVALID "InvalidSpec"
#define MD_REASON_APPLY_FAILED "ApplyFailed"

/* The saqr-agent sidecar (docs/agent.md) and the saqr-fetch init container
 * (docs/model-integrity.md); sidecars.c. */
#define MD_AGENT_CONTAINER "saqr-agent"
#define MD_AGENT_DEFAULT_IMAGE "ghcr.io/saqr-dev/saqr-agent:0.1.0"
#define MD_AGENT_DEFAULT_PORT 8443
#define MD_AGENT_DEFAULT_METRICS_PORT 9090
#define MD_AGENT_CONFIG_DIR "/etc/saqr-agent"
#define MD_AGENT_CONFIG_KEY "agent.yaml" /* the key of spec.agent.config's ConfigMap */
#define MD_FETCH_CONTAINER "saqr-fetch"
#define MD_FETCH_DEFAULT_IMAGE "ghcr.io/saqr-dev/saqr-fetch:0.1.0"
#define MD_MODEL_DIR "/models" /* SAQR_MODEL_PATH: the fetched model, read-only in the server */
#define MD_CREDENTIALS_DIR "/etc/saqr/credentials"
#define MD_TRUSTED_KEYS_DIR "/etc/saqr/trusted-keys"
#define MD_TRUSTED_KEYS_DEFAULT "signing.pub"
#define MD_PVC_ROOT "/mnt/pvc"
#define MD_COND_MODEL_VERIFIED "ModelVerified"

/* Indexes into md_desired.owned. */
enum md_owned_index {
	MD_OWNED_DEPLOYMENT,	/* always APPLY */
	MD_OWNED_CANARY,	/* APPLY with spec.canary and weight > 0, else DELETE */
	MD_OWNED_SERVICE,	/* always APPLY */
	MD_OWNED_HPA,		/* APPLY with spec.autoscaling, else DELETE */
	MD_OWNED_NETWORKPOLICY, /* always APPLY */
	MD_OWNED_PDB,		/* APPLY with 2+ replicas (or autoscaling.minReplicas >= 2), else DELETE */
	MD_OWNED_COUNT
};

struct md_desired {
	struct objmeta_owned owned[MD_OWNED_COUNT];
};

struct md_options {
	/* A namespace (the operator's own) allowed to reach the model port in addition to
	 * spec.security.allowedNamespaces, so that a DriftPolicy in scrape mode can read the
	 * model pods' /metrics. NULL: none. */
	const char *extra_ingress_namespace;
	/* Images of the saqr-agent sidecar and saqr-fetch init container when the spec names none.
	 * NULL: MD_AGENT_DEFAULT_IMAGE, MD_FETCH_DEFAULT_IMAGE. */
	const char *agent_image;
	const char *fetch_image;
	/* Secret (in each ModelDeployment's namespace) holding the public keys saqr-fetch trusts
	 * for spec.model.signature, and its keys, comma-separated (NULL: MD_TRUSTED_KEYS_DEFAULT).
	 * NULL secret: no keys are mounted, so a signed model cannot be verified (saqr-fetch fails
	 * closed). */
	const char *trusted_keys_secret;
	const char *trusted_key_names;
};

/* Replica split for a canary (traffic split by replica ratio, an approximation without a mesh):
 * canary = round(total * weight / 100), at least 1 when weight > 0;
 * primary = total - canary, at least 1. weight is clamped to 0..100, total to >= 1. */
void md_split_replicas(long long total, long long weight, long long *primary, long long *canary);

/* Check what the CRD schema cannot: a canary that cannot be split off one replica, a canary
 * without a model, autoscaling min > max, user env that collides with Saqr's variables or
 * repeats a name. Returns true when md is valid; else false with reason (MD_REASON_INVALID) and a
 * message saying what to change. */
bool md_validate(const json_t *md, char *reason, size_t reasonlen, char *msg, size_t msglen);

/* Desired owned objects of md (a ModelDeployment with apiVersion, kind, metadata.name,
 * namespace, uid, spec). Each APPLY entry is an apply-ready object (apiVersion, kind, metadata
 * {name, namespace, labels, ownerReferences with controller and blockOwnerDeletion}); each
 * DELETE entry names the object that must not exist. opts may be NULL.
 * On success *out is filled and owned by the caller (md_desired_release); on error it is left
 * empty. 0, SAQR_EINVAL (invalid md: see md_validate, or missing metadata), SAQR_ENOMEM. */
int md_desired(const json_t *md, const struct md_options *opts, struct md_desired *out);

/* Free the objects of d. NULL is a no-op. */
void md_desired_release(struct md_desired *d);

/* What the controller observed for md. All borrowed; any may be NULL. */
struct md_observed {
	const json_t *deployment; /* the primary Deployment as read back after apply */
	const json_t *canary;	  /* the canary Deployment, when it exists */
	const char *apply_error;  /* what failed while applying owned objects, or NULL */
	/* The primary's Pods (a JSON array), for the saqr-fetch termination messages of the
	 * ModelVerified condition; NULL when the controller does not watch Pods (then the condition
	 * comes from the Deployment alone). */
	const json_t *pods;
};

/* The full status md should have: observedGeneration, conditions (Ready, Available,
 * Progressing, Degraded, and ModelVerified when saqr-fetch verifies the primary's model), replicas,
 * readyReplicas, url, currentModel (once a model has rolled out completely) and history (newest first, at
 * most MD_HISTORY_MAX, no duplicates). md's current status supplies lastTransitionTime of unchanged
 * conditions, currentModel and history, so unchanged inputs give an equal status. now is RFC 3339.
 * *status_out is a new reference (written only on success). 0, SAQR_EINVAL, SAQR_ENOMEM. */
int md_status(const json_t *md, const struct md_observed *obs, const char *now, json_t **status_out);

/* What the saqr-fetch init container of pod reported for its last run: reason (ModelVerified,
 * DigestMismatch, SignatureInvalid, FetchFailed) and message from its termination message JSON
 * (docs/model-integrity.md), copied into the buffers. False when pod has no terminated
 * saqr-fetch container (still running, or none); a termination without a readable message gives
 * FetchFailed (exit code != 0) or ModelVerified (exit code 0). */
bool md_fetch_result(const json_t *pod, char *reason, size_t reasonlen, char *msg, size_t msglen);

/* The Service URL of md into out: "http(s)://<svc>.<ns>.svc:<port>", or "<svc>.<ns>.svc:<port>"
 * for gRPC (https when security.tlsSecretName is set). 0, SAQR_EINVAL, SAQR_ETOOBIG. */
int md_url(const json_t *md, char *out, size_t outlen);

/* Whether the saqr-agent sidecar fronts the pods of a ModelDeployment spec: spec.agent.enabled
 * (default true) and an http server (the agent speaks HTTP/1.1 only; gRPC servers are left
 * without it). */
bool md_agent_enabled(const json_t *spec);

/* Names of md's owned objects (NULL names are skipped). 0 or SAQR_EINVAL. */
int md_names(const json_t *md, char deployment[OBJMETA_NAME_BUF], char canary[OBJMETA_NAME_BUF]);

#endif
