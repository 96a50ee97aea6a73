/* The default binding of struct kubeops to the REST client: each entry forwards to the kube_*
 * call of the same name and reports the outcome to the observe hook. Kept in its own file so
 * that programs which never call it (the unit tests) link without the client. */
#include "operator/runtime/kubeops.h"

#include <string.h>

static int kubeops_observed(const struct kubeops *ops, const char *verb, const struct kube_resource *res,
			    int rc)
{
	if (ops->observe)
		ops->observe(ops->observe_ud, verb, res, rc);
	return rc;
}

static int kubeops_kube_list_all(const struct kubeops *ops, const struct kube_resource *res, const char *ns,
				 const struct kube_list_opts *opts, json_t **out, struct kube_status *st)
{
	return kubeops_observed(ops, "list", res, kube_list_all(ops->ctx, res, ns, opts, out, st));
}

static int kubeops_kube_list(const struct kubeops *ops, const struct kube_resource *res, const char *ns,
			     const struct kube_list_opts *opts, json_t **out, struct kube_status *st)
{
	return kubeops_observed(ops, "list", res, kube_list(ops->ctx, res, ns, opts, out, st));
}

static int kubeops_kube_watch(const struct kubeops *ops, const struct kube_resource *res, const char *ns,
			      const struct kube_watch_opts *opts, kube_watch_fn fn, void *ud,
			      struct kube_status *st)
{
	return kubeops_observed(ops, "watch", res, kube_watch(ops->ctx, res, ns, opts, fn, ud, st));
}

static int kubeops_kube_get(const struct kubeops *ops, const struct kube_resource *res, const char *ns,
			    const char *name, json_t **out, struct kube_status *st)
{
	return kubeops_observed(ops, "get", res, kube_get(ops->ctx, res, ns, name, out, st));
}

static int kubeops_kube_create(const struct kubeops *ops, const struct kube_resource *res, const char *ns,
			       const json_t *obj, const struct kube_write_opts *opts, json_t **out,
			       struct kube_status *st)
{
	return kubeops_observed(ops, "create", res, kube_create(ops->ctx, res, ns, obj, opts, out, st));
}

static int kubeops_kube_update(const struct kubeops *ops, const struct kube_resource *res, const char *ns,
			       const json_t *obj, const struct kube_write_opts *opts, json_t **out,
			       struct kube_status *st)
{
	return kubeops_observed(ops, "update", res, kube_update(ops->ctx, res, ns, obj, opts, out, st));
}

static int kubeops_kube_patch(const struct kubeops *ops, const struct kube_resource *res, const char *ns,
			      const char *name, enum kube_patch_type type, const json_t *patch,
			      const struct kube_write_opts *opts, json_t **out, struct kube_status *st)
{
	return kubeops_observed(ops, "patch", res,
				kube_patch(ops->ctx, res, ns, name, type, patch, opts, out, st));
}

static int kubeops_kube_del(const struct kubeops *ops, const struct kube_resource *res, const char *ns,
			    const char *name, const struct kube_delete_opts *opts, struct kube_status *st)
{
	return kubeops_observed(ops, "delete", res, kube_delete(ops->ctx, res, ns, name, opts, st));
}

void kubeops_init_kube(struct kubeops *ops, struct kube_client *c, kubeops_observe_fn observe,
		       void *observe_ud)
{
	memset(ops, 0, sizeof(*ops));
	ops->ctx = c;
	ops->list_all = kubeops_kube_list_all;
	ops->list = kubeops_kube_list;
	ops->watch = kubeops_kube_watch;
	ops->get = kubeops_kube_get;
	ops->create = kubeops_kube_create;
	ops->update = kubeops_kube_update;
	ops->patch = kubeops_kube_patch;
	ops->del = kubeops_kube_del;
	ops->observe = observe;
	ops->observe_ud = observe_ud;
}
