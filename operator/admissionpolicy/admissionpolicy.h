/* The admission policy as a resource: a controller inside saqr-operator (leader only) that watches
 * one cluster-scoped AdmissionPolicy (crds/saqr.dev_admissionpolicies.yaml) and, on every change,
 * validates its policy document with the webhook's own loader (policy/policy.h):
 *  - valid: the document goes into the ConfigMap key policy.yaml (server-side apply, field manager
 *    saqr-operator), which saqr-webhook and the audit mount and hot-reload; status Accepted=True,
 *    reason Loaded, and the operator's entry in status.loaded;
 *  - invalid: the ConfigMap is left alone (the last good policy stays in force); Accepted=False,
 *    reason InvalidPolicy, the loader's message naming the field, and a Warning Event.
 * Status is written by server-side apply of the status subresource, so that each loader (the
 * operator, each webhook pod) owns its own entry of status.loaded (a list keyed by name).
 * The pure part (documents, status) is below the registration, for the unit tests. */
#ifndef SAQR_OPERATOR_ADMISSIONPOLICY_H
#define SAQR_OPERATOR_ADMISSIONPOLICY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "operator/operator.h"

#define AP_CONTROLLER "admissionpolicy"
#define AP_KIND "AdmissionPolicy"
#define AP_API_VERSION "saqr.dev/v1alpha1"
#define AP_CONFIGMAP_KEY "policy.yaml"
#define AP_COND_ACCEPTED "Accepted"
#define AP_REASON_LOADED "Loaded"
#define AP_REASON_INVALID "InvalidPolicy"
#define AP_REASON_WRITE_FAILED "WriteFailed"
#define AP_LOADER_OPERATOR "saqr-operator" /* the operator's name in status.loaded */
#define AP_DOC_MAX ((size_t)1024 * 1024)   /* the policy loader's cap, and a ConfigMap's */
#define AP_MSG_MAX 2048
#define AP_RESYNC 300.0 /* seconds between checks that the ConfigMap still holds the policy */

extern const struct kube_resource ap_resource; /* saqr.dev/v1alpha1 admissionpolicies */

/* Strings are borrowed for the controller's life. */
struct ap_config {
	const char *name;		 /* --policy-resource: the AdmissionPolicy to follow */
	const char *configmap_namespace; /* --policy-configmap NAMESPACE/NAME */
	const char *configmap_name;
};

/* Add the controller (and the AdmissionPolicy informer) to ctx->mgr before manager_start; its
 * state is freed by operator_release. 0, SAQR_EINVAL (a name missing) or manager_add_controller's. */
int operator_register_admissionpolicy(struct operator_ctx *ctx, const struct ap_config *cfg);

/* Split "NAMESPACE/NAME" into out_ns and out_name (each nslen/namelen bytes). 0, or SAQR_EINVAL
 * when s is not two non-empty parts that fit. */
int ap_configmap_ref_parse(const char *s, char *out_ns, size_t nslen, char *out_name, size_t namelen);

/* ---- the pure part ---- */

/* The policy document of the AdmissionPolicy ap, {apiVersion, kind, metadata: {name, generation},
 * spec}, as indented JSON text (JSON is YAML: the loader and the mounted file read it as is).
 * *out (NUL-terminated, *len bytes) is the caller's to free. 0, SAQR_EINVAL (no name, or spec is
 * not an object), SAQR_ETOOBIG (over AP_DOC_MAX) or SAQR_ENOMEM. */
int ap_document(const json_t *ap, char **out, size_t *len);

/* Load doc with the policy loader, as saqr-webhook and the audit will. 0, or the loader's error
 * (SAQR_ECONFIG, SAQR_EPARSE, SAQR_ETOOBIG, ...) with its message in err, starting at the field's
 * path ("spec.zeroTrust.enabled: expected true or false, ..."): the line number of a generated
 * document would mean nothing to the user. */
int ap_validate(const char *doc, size_t len, char *err, size_t errlen);

/* metadata.generation of a policy document (what ap_document wrote into the ConfigMap), or 0 when
 * it does not parse or records none (a hand-written file). */
long long ap_document_generation(const char *doc, size_t len);

/* What one reconcile found. Strings are borrowed for the call. */
struct ap_outcome {
	const char *reason;    /* AP_REASON_LOADED, AP_REASON_INVALID or AP_REASON_WRITE_FAILED */
	const char *detail;    /* Loaded: NULL; else the loader's or the API server's message */
	const char *configmap; /* "namespace/name" */
	long long in_force;    /* not Loaded: the generation the ConfigMap still holds (0: unknown) */
};

/* The part of ap's status that loader (AP_LOADER_OPERATOR) owns, to server-side apply:
 * {observedGeneration, conditions: [Accepted], loaded: [{name: loader, generation, loadedAt,
 * accepted, message}]}. The entry's generation is the one in force at the loader (ap's when
 * Loaded, else o->in_force), accepted says whether that is ap's current generation, and message
 * why not. lastTransitionTime stays the one of ap's status when the condition's status did not
 * change, loadedAt when the entry's generation did not. now is RFC 3339. *out is a new
 * reference. 0, SAQR_EINVAL or SAQR_ENOMEM. */
int ap_status(const json_t *ap, const struct ap_outcome *o, const char *loader, const char *now,
	      json_t **out);

/* Whether applying ours (from ap_status) would change prev (ap's status, may be NULL): the
 * observedGeneration, the Accepted condition or loader's entry in status.loaded differ. */
bool ap_status_changed(const json_t *prev, const json_t *ours, const char *loader);

/* The entry of status.loaded named loader (borrowed), or NULL. status may be NULL. */
const json_t *ap_loaded_entry(const json_t *status, const char *loader);

#endif
