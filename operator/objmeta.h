/* Metadata of the objects the operator owns: names that always fit Kubernetes' limits,
 * recommended labels, the controller ownerReference, and the "apply or delete" description
 * of an owned object that the reconcilers hand to the controller. Pure functions, no I/O. */
#ifndef SAQR_OPERATOR_OBJMETA_H
#define SAQR_OPERATOR_OBJMETA_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "kube/client.h"

#define OBJMETA_NAME_MAX 63 /* a DNS-1035 label: Service names, pod hostnames */
#define OBJMETA_NAME_BUF (OBJMETA_NAME_MAX + 1)
#define OBJMETA_MANAGER "saqr-operator" /* the fieldManager and app.kubernetes.io/managed-by */
#define OBJMETA_PART_OF "saqr"
#define OBJMETA_API_VERSION "saqr.dev/v1alpha1"

/* Selector labels naming the custom resource a pod belongs to. Stable for the life of the
 * resource (they never carry a model name or version). */
#define OBJMETA_LABEL_MD "saqr.dev/modeldeployment"
#define OBJMETA_LABEL_TJ "saqr.dev/trainingjob"

/* A name built from base and suffix that is a valid DNS-1035 label ([a-z]([-a-z0-9]*[a-z0-9])?)
 * of at most max characters. When base+suffix already is one it is used unchanged; otherwise it
 * is lower-cased, invalid characters become '-', it is cut, and "-<8 hex of SHA-256(base+suffix)>"
 * is appended so that distinct inputs give distinct names. suffix may be NULL.
 * out must hold max+1 bytes. 0, SAQR_EINVAL (empty base, max < 16 or > 63), SAQR_ETOOBIG. */
int objmeta_name(const char *base, const char *suffix, size_t max, char *out, size_t outlen);

/* A valid label value for v: v itself when it is one (at most 63 characters of [A-Za-z0-9._-],
 * alphanumeric at both ends, or empty), else a sanitised, cut form with a hash suffix as above.
 * out must hold OBJMETA_NAME_BUF bytes. 0, SAQR_EINVAL (v NULL), SAQR_ETOOBIG. */
int objmeta_label_value(const char *v, char *out, size_t outlen);

/* Whether s is a valid DNS-1035 label of at most max characters. */
bool objmeta_is_dns_label(const char *s, size_t max);

/* The recommended labels app.kubernetes.io/{name,instance,component,managed-by,part-of} plus
 * owner_key=instance (owner_key may be NULL). Values are made valid with objmeta_label_value.
 * New reference, or NULL on allocation failure or NULL arguments. */
json_t *objmeta_labels(const char *app_name, const char *instance, const char *component,
		       const char *owner_key);

/* The controller ownerReference pointing at owner (apiVersion, kind, name, uid, controller and
 * blockOwnerDeletion true). New reference, or NULL when owner lacks one of those fields. */
json_t *objmeta_owner_ref(const json_t *owner);

/* An apply-ready object skeleton: apiVersion, kind, metadata {name, namespace, labels,
 * ownerReferences [controller ref to owner]}. labels is stolen (also on failure).
 * New reference, or NULL (allocation failure, owner without name/uid/namespace). */
json_t *objmeta_object(const char *api_version, const char *kind, const char *name, json_t *labels,
		       const json_t *owner);

/* Whether obj carries a controller ownerReference to owner (by uid). The controller deletes an
 * absent-by-design object only when this holds, so it never removes someone else's object. */
bool objmeta_is_controlled_by(const json_t *obj, const json_t *owner);

/* What the controller must do with one owned object. */
enum objmeta_action {
	OBJMETA_APPLY,	/* server-side apply obj (fieldManager OBJMETA_MANAGER, force) */
	OBJMETA_DELETE, /* delete res/name if it exists and objmeta_is_controlled_by(it, owner) */
	OBJMETA_LEAVE,	/* touch nothing (e.g. a finished TrainingJob's Job, which TTL may remove) */
};

/* One owned object. res holds static strings; obj is owned and set only for OBJMETA_APPLY. */
struct objmeta_owned {
	struct kube_resource res;
	const char *kind;
	enum objmeta_action action;
	char name[OBJMETA_NAME_BUF];
	json_t *obj;
};

/* Drop obj and reset the entry to LEAVE with an empty name. NULL is a no-op. */
void objmeta_owned_release(struct objmeta_owned *o);

/* Static resource descriptions of the kinds Saqr owns (namespaced). */
extern const struct kube_resource objmeta_res_deployments;
extern const struct kube_resource objmeta_res_services;
extern const struct kube_resource objmeta_res_hpas;
extern const struct kube_resource objmeta_res_networkpolicies;
extern const struct kube_resource objmeta_res_pdbs;
extern const struct kube_resource objmeta_res_jobs;

#endif
