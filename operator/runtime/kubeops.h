/* The Kubernetes calls the controller machinery makes, as a table of functions. The informer,
 * the leader elector, the event recorder and the manager take a `struct kubeops`, never a
 * client, so that unit tests can drive them with recorded answers and link without the REST
 * client. kubeops_init_kube() (kubeops_kube.c, the only file here that calls kube_*) binds the
 * table to a real client. Each function has the contract of the kube_* call it is named after
 * (lib/kube/client.h), with the table in place of the client. */
#ifndef SAQR_CONTROLLER_KUBEOPS_H
#define SAQR_CONTROLLER_KUBEOPS_H

#include <jansson.h>

#include "kube/client.h"

struct kubeops;

/* Called after each call made through a bound table: verb ("list", "watch", "get", "create",
 * "update", "patch", "delete"), the resource and the call's result. Must be thread-safe and quick. */
typedef void (*kubeops_observe_fn)(void *ud, const char *verb, const struct kube_resource *res, int rc);

struct kubeops {
	void *ctx; /* the client, or a test's state */
	int (*list_all)(const struct kubeops *ops, const struct kube_resource *res, const char *ns,
			const struct kube_list_opts *opts, json_t **out, struct kube_status *st);
	/* kube_list, one page; may be NULL (the informer then lists with list_all). */
	int (*list)(const struct kubeops *ops, const struct kube_resource *res, const char *ns,
		    const struct kube_list_opts *opts, json_t **out, struct kube_status *st);
	int (*watch)(const struct kubeops *ops, const struct kube_resource *res, const char *ns,
		     const struct kube_watch_opts *opts, kube_watch_fn fn, void *ud, struct kube_status *st);
	int (*get)(const struct kubeops *ops, const struct kube_resource *res, const char *ns,
		   const char *name, json_t **out, struct kube_status *st);
	int (*create)(const struct kubeops *ops, const struct kube_resource *res, const char *ns,
		      const json_t *obj, const struct kube_write_opts *opts, json_t **out,
		      struct kube_status *st);
	int (*update)(const struct kubeops *ops, const struct kube_resource *res, const char *ns,
		      const json_t *obj, const struct kube_write_opts *opts, json_t **out,
		      struct kube_status *st);
	int (*patch)(const struct kubeops *ops, const struct kube_resource *res, const char *ns,
		     const char *name, enum kube_patch_type type, const json_t *patch,
		     const struct kube_write_opts *opts, json_t **out, struct kube_status *st);
	/* kube_delete; may be NULL in tables that never delete (callers check). */
	int (*del)(const struct kubeops *ops, const struct kube_resource *res, const char *ns,
		   const char *name, const struct kube_delete_opts *opts, struct kube_status *st);
	kubeops_observe_fn observe; /* may be NULL */
	void *observe_ud;
};

/* Fill ops with calls on client c (borrowed: it must outlive every user of ops). observe may
 * be NULL; a manager installs its own to count API requests. */
void kubeops_init_kube(struct kubeops *ops, struct kube_client *c, kubeops_observe_fn observe,
		       void *observe_ud);

#endif
