/* The ModelDeployment controller: one reconcile reads the ModelDeployment from the informer
 * cache, checks it, applies the owned objects that are out of sync (owned.h) and deletes those
 * no longer wanted, then writes the status when it changed; a converged ModelDeployment costs no
 * API write. The decisions themselves are the pure functions of modeldeployment.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "operator/conditions.h"
#include "operator/crstatus.h"
#include "operator/modeldeployment/modeldeployment.h"
#include "operator/modeloverride.h"
#include "operator/opctl.h"
#include "operator/operator.h"
#include "operator/owned.h"

#define MDC_NAME "modeldeployment"
#define MDC_MSG_MAX 1024
/* While saqr-fetch has not verified the model, look at the pods again this often: a pod stuck
 * in Init changes no Deployment, so no event would bring the reconcile back. */
#define MDC_VERIFY_RECHECK 10.0

static const struct kube_resource mdc_res = {"saqr.dev", "v1alpha1", "modeldeployments", true};
static const struct kube_resource mdc_pod_res = {"", "v1", "pods", true};

/* The type of each owned entry, index for index with enum md_owned_index. */
static const struct kube_resource *const mdc_owned_res[MD_OWNED_COUNT] = {
    &objmeta_res_deployments, &objmeta_res_deployments,	    &objmeta_res_services,
    &objmeta_res_hpas,	      &objmeta_res_networkpolicies, &objmeta_res_pdbs,
};

struct mdc {
	const struct kubeops *ops;
	struct events_recorder *events;
	struct informer *mds;
	struct informer *owned[MD_OWNED_COUNT];
	struct owned_tracker *tracker;
	struct crstatus_memo *memo;
	char *own_namespace;
	struct md_options opts; /* images and keys: borrowed from operator_ctx; namespace: own_namespace */
};

/* One reconcile. */
struct mdc_run {
	struct mdc *c;
	const json_t *md;   /* as read, with the model in force as spec.model (mo_effective) */
	const json_t *orig; /* as read */
	struct md_desired d;
	bool have_desired;
	json_t *live[MD_OWNED_COUNT]; /* as the objects now stand (apply answer or cache) */
	bool waiting;		      /* the cache lags one of our Deployment applies */
	bool verifying;		      /* ModelVerified is not True yet: look again later */
	int err;		      /* the first API error */
	char apply_error[MDC_MSG_MAX];
	struct opctl_changes ch;
};

/* ---- owned objects ---- */

static void mdc_apply_failed(struct mdc_run *r, const struct objmeta_owned *o, int rc,
			     const struct kube_status *st)
{
	if (!r->err)
		r->err = rc;
	if (rc == SAQR_ECONFLICT || !opctl_refused(rc, st))
		return;
	if (!r->apply_error[0])
		opctl_format(r->apply_error, sizeof(r->apply_error), "%s %s: %s", o->kind, o->name,
			     st->message[0] ? st->message : saqr_strerror(rc));
	(void)events_record(r->c->events, r->md, "Warning", MD_REASON_APPLY_FAILED, "Apply", "%s %s: %s",
			    o->kind, o->name, st->message[0] ? st->message : saqr_strerror(rc));
}

static void mdc_sync_owned(struct mdc_run *r)
{
	struct owned_sync s = {r->c->ops, r->c->tracker, r->md};

	for (int i = 0; i < MD_OWNED_COUNT; i++) {
		struct objmeta_owned *o = &r->d.owned[i];
		struct kube_status st = {0};
		enum owned_outcome outcome;
		int rc = owned_sync(&s, r->c->owned[i], o, &outcome, &r->live[i], &st);

		if (rc) {
			mdc_apply_failed(r, o, rc, &st);
			continue;
		}
		opctl_changes_note(&r->ch, outcome, o->kind, o->name);
		if (outcome == OWNED_WAITING && (i == MD_OWNED_DEPLOYMENT || i == MD_OWNED_CANARY))
			r->waiting = true;
	}
}

/* ---- status ---- */

/* The Deployments as md_status reads them: the cache keeps only their metadata, status and
 * replicas, so the pod template comes from the desired object it is in sync with. For an
 * invalid ModelDeployment (nothing applied) the cached objects as they are. */
static int mdc_observed(struct mdc_run *r, json_t **dep, json_t **canary)
{
	char dname[OBJMETA_NAME_BUF], cname[OBJMETA_NAME_BUF];
	const char *ns = json_path_str(r->md, "metadata.namespace", "");

	*dep = *canary = NULL;
	if (r->have_desired) {
		if (r->live[MD_OWNED_DEPLOYMENT])
			*dep = owned_view(r->live[MD_OWNED_DEPLOYMENT], r->d.owned[MD_OWNED_DEPLOYMENT].obj);
		if (r->live[MD_OWNED_CANARY] && r->d.owned[MD_OWNED_CANARY].obj)
			*canary = owned_view(r->live[MD_OWNED_CANARY], r->d.owned[MD_OWNED_CANARY].obj);
		return (r->live[MD_OWNED_DEPLOYMENT] && !*dep) ? SAQR_ENOMEM : 0;
	}
	if (md_names(r->md, dname, cname) != 0)
		return SAQR_EINVAL;
	if (informer_get(r->c->owned[MD_OWNED_DEPLOYMENT], ns, dname, dep) != 0)
		*dep = NULL;
	if (informer_get(r->c->owned[MD_OWNED_CANARY], ns, cname, canary) != 0)
		*canary = NULL;
	return 0;
}

static bool same_message(const json_t *a, const json_t *b, const char *type)
{
	return strcmp(cond_message(json_object_get(a, "conditions"), type, ""),
		      cond_message(json_object_get(b, "conditions"), type, "")) == 0;
}

/* Events for what changed in the status: an invalid spec, a new model serving. */
static void mdc_status_events(struct mdc_run *r, const json_t *prev, const json_t *st)
{
	const json_t *conds = json_object_get(st, "conditions");
	const char *reason = cond_reason(conds, "Ready", "");
	const json_t *cur = json_object_get(st, "currentModel");

	if (strcmp(reason, MD_REASON_INVALID) == 0 &&
	    (strcmp(cond_reason(json_object_get(prev, "conditions"), "Ready", ""), reason) != 0 ||
	     !same_message(prev, st, "Ready")))
		(void)events_record(r->c->events, r->md, "Warning", MD_REASON_INVALID, "Validate", "%s",
				    cond_message(conds, "Ready", ""));
	/* saqr-fetch refused the model: say so once per verdict */
	if (cond_has_status(conds, MD_COND_MODEL_VERIFIED, COND_FALSE) &&
	    (!cond_has_status(json_object_get(prev, "conditions"), MD_COND_MODEL_VERIFIED, COND_FALSE) ||
	     !same_message(prev, st, MD_COND_MODEL_VERIFIED)))
		(void)events_record(r->c->events, r->md, "Warning",
				    cond_reason(conds, MD_COND_MODEL_VERIFIED, "FetchFailed"), "Verify", "%s",
				    cond_message(conds, MD_COND_MODEL_VERIFIED, ""));
	if (json_is_object(cur) && !json_same(cur, json_object_get(prev, "currentModel")))
		(void)events_record(r->c->events, r->md, "Normal", "RolledOut", "Rollout",
				    "model version %s (%s) is serving",
				    json_path_str(cur, "version", "(unset)"), json_path_str(cur, "uri", ""));
}

/* The primary's pods (one LIST by the ModelDeployment's label), for saqr-fetch's verdicts in
 * their termination messages. NULL when the LIST fails (the condition then waits). */
static json_t *mdc_pods(struct mdc_run *r)
{
	char selector[OBJMETA_NAME_BUF + 64];
	struct kube_list_opts lo = {.label_selector = selector};
	struct kube_status kst = {0};
	json_t *list = NULL, *items;

	snprintf(selector, sizeof(selector), "%s=%s", OBJMETA_LABEL_MD,
		 json_path_str(r->md, "metadata.name", ""));
	if (r->c->ops->list_all(r->c->ops, &mdc_pod_res, json_path_str(r->md, "metadata.namespace", ""), &lo,
				&list, &kst) != 0) {
		log_warn("listing the model pods failed", "controller", MDC_NAME, "namespace",
			 json_path_str(r->md, "metadata.namespace", ""), "name",
			 json_path_str(r->md, "metadata.name", ""), "message", kst.message);
		return NULL;
	}
	items = json_incref(json_object_get(list, "items"));
	json_decref(list);
	return items;
}

/* Whether the status says saqr-fetch runs and has not verified the model (yet). */
static bool mdc_unverified(const json_t *st)
{
	const json_t *conds = json_object_get(st, "conditions");

	return cond_reason(conds, MD_COND_MODEL_VERIFIED, NULL) &&
	       !cond_has_status(conds, MD_COND_MODEL_VERIFIED, COND_TRUE);
}

static int mdc_write_status(struct mdc_run *r)
{
	struct md_observed obs = {.apply_error = r->apply_error[0] ? r->apply_error : NULL};
	struct kube_status kst = {0};
	char now[COND_TIME_BUF];
	json_t *dep = NULL, *canary = NULL, *st = NULL;
	bool written = false;
	int rc;

	/* Our last apply or status write is not in the cache yet: its event brings us back. */
	if (r->waiting || crstatus_cache_behind(r->c->memo, r->md))
		return 0;
	rc = mdc_observed(r, &dep, &canary);
	obs.deployment = dep;
	obs.canary = canary;
	opctl_now(now, sizeof(now));
	if (rc == 0)
		rc = md_status(r->md, &obs, now, &st);
	/* not verified by the Deployment alone: what saqr-fetch said in the pods */
	if (rc == 0 && mdc_unverified(st)) {
		json_t *pods = mdc_pods(r);

		obs.pods = pods;
		if (pods) {
			json_decref(st);
			st = NULL;
			rc = md_status(r->md, &obs, now, &st);
		}
		json_decref(pods);
		r->verifying = rc == 0 && mdc_unverified(st);
	}
	if (rc == 0 && json_object_set_new(st, "modelSource", mo_source(r->orig)))
		rc = SAQR_ENOMEM;
	if (rc == 0)
		rc = crstatus_write(r->c->ops, &mdc_res, r->c->memo, r->md, st, &written, &kst);
	if (rc == 0 && written)
		mdc_status_events(r, json_object_get(r->md, "status"), st);
	else if (rc && rc != SAQR_ECONFLICT)
		log_warn("status write failed", "controller", MDC_NAME, "namespace",
			 json_path_str(r->md, "metadata.namespace", ""), "name",
			 json_path_str(r->md, "metadata.name", ""), "error", saqr_strerror(rc), "message",
			 kst.message);
	json_decref(dep);
	json_decref(canary);
	json_decref(st);
	return rc;
}

/* ---- reconcile ---- */

static void mdc_run_release(struct mdc_run *r)
{
	if (r->have_desired)
		md_desired_release(&r->d);
	for (int i = 0; i < MD_OWNED_COUNT; i++)
		json_decref(r->live[i]);
	opctl_changes_release(&r->ch);
}

static int mdc_run(struct mdc_run *r)
{
	char reason[64], msg[MDC_MSG_MAX];
	int rc;

	if (md_validate(r->md, reason, sizeof(reason), msg, sizeof(msg))) {
		rc = md_desired(r->md, &r->c->opts, &r->d);
		if (rc)
			return rc;
		r->have_desired = true;
		mdc_sync_owned(r);
		opctl_changes_report(&r->ch, r->c->events, r->md, MDC_NAME);
	}
	/* A refused apply goes into the status; other errors are retried before the status moves. */
	if (r->err && !r->apply_error[0])
		return r->err;
	rc = mdc_write_status(r);
	return r->err ? r->err : rc;
}

/* spec.model changed since the override was written (Git moved on): remove the override, which
 * no longer applies. The reconcile goes on with spec.model; the patch's event brings it back. */
static void mdc_clear_stale_override(struct mdc *c, const json_t *md)
{
	struct kube_write_opts wo = {.field_manager = OBJMETA_MANAGER};
	struct kube_status kst = {0};
	json_t *patch = mo_clear_patch(), *out = NULL;
	int rc = patch ? c->ops->patch(c->ops, &mdc_res, json_path_str(md, "metadata.namespace", ""),
				       json_path_str(md, "metadata.name", ""), KUBE_PATCH_MERGE, patch, &wo,
				       &out, &kst)
		       : SAQR_ENOMEM;

	if (rc == 0)
		(void)events_record(
		    c->events, md, "Normal", "ModelOverrideSuperseded", "Reconcile",
		    "spec.model (version %s) changed since spec.modelOverride (%s, version %s) "
		    "was written: it is served instead and the override is removed",
		    json_path_str(md, "spec.model.version", "(unset)"),
		    json_path_str(md, "spec." MO_FIELD ".reason", "?"),
		    json_path_str(md, "spec." MO_FIELD ".model.version", "(unset)"));
	else
		log_warn("removing a stale modelOverride failed", "controller", MDC_NAME, "namespace",
			 json_path_str(md, "metadata.namespace", ""), "name",
			 json_path_str(md, "metadata.name", ""), "error", saqr_strerror(rc), "message",
			 kst.message);
	json_decref(patch);
	json_decref(out);
}

static struct workqueue_result mdc_reconcile(void *ud, const char *ns, const char *name)
{
	struct mdc *c = ud;
	struct mdc_run r = {.c = c};
	struct workqueue_result res;
	json_t *md = NULL, *eff;
	int rc;

	if (informer_get(c->mds, ns, name, &md) != 0) {
		crstatus_memo_forget(c->memo, ns, name); /* deleted: its owned objects go by GC */
		return opctl_result(0, false);
	}
	if (json_path(md, "metadata.deletionTimestamp")) {
		json_decref(md);
		return opctl_result(0, false);
	}
	if (mo_state(md) == MO_STALE)
		mdc_clear_stale_override(c, md);
	eff = mo_effective(md);
	if (!eff) {
		json_decref(md);
		return opctl_result(SAQR_ENOMEM, false);
	}
	r.md = eff;
	r.orig = md;
	opctl_changes_init(&r.ch);
	rc = mdc_run(&r);
	mdc_run_release(&r);
	json_decref(eff);
	json_decref(md);
	res = opctl_result(rc, r.waiting);
	if (!res.err && !res.requeue && !res.requeue_after && r.verifying)
		res.requeue_after = MDC_VERIFY_RECHECK;
	return res;
}

/* ---- registration ---- */

static void mdc_free(void *ud)
{
	struct mdc *c = ud;

	owned_tracker_free(c->tracker);
	crstatus_memo_free(c->memo);
	free(c->own_namespace);
	free(c);
}

static int mdc_add(struct operator_ctx *ctx, struct mdc *c)
{
	struct kube_resource owned[] = {objmeta_res_deployments, objmeta_res_services, objmeta_res_hpas,
					objmeta_res_networkpolicies, objmeta_res_pdbs};
	struct controller_config cc = {.name = MDC_NAME,
				       .primary = mdc_res,
				       .group = "saqr.dev",
				       .kind = MD_KIND,
				       .owned = owned,
				       .nowned = sizeof(owned) / sizeof(owned[0]),
				       .workers = ctx->workers,
				       .reconcile = mdc_reconcile,
				       .ud = c,
				       .owned_label_selector = OWNED_LABEL_SELECTOR,
				       .owned_transform = owned_cache_transform};
	int rc;

	c->mds = manager_informer(ctx->mgr, &mdc_res);
	if (!c->mds)
		return SAQR_ENOMEM;
	rc = opctl_owned_informers(ctx->mgr, c->tracker, mdc_owned_res, MD_OWNED_COUNT, c->owned);
	return rc ? rc : manager_add_controller(ctx->mgr, &cc);
}

int operator_register_modeldeployment(struct operator_ctx *ctx)
{
	struct mdc *c;
	int rc;

	if (!ctx || !ctx->mgr || !ctx->ops || !ctx->events)
		return SAQR_EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return SAQR_ENOMEM;
	c->ops = ctx->ops;
	c->events = ctx->events;
	c->own_namespace = ctx->own_namespace ? strdup(ctx->own_namespace) : NULL;
	c->opts = (struct md_options){.extra_ingress_namespace = c->own_namespace,
				      .agent_image = ctx->agent_image,
				      .fetch_image = ctx->fetch_image,
				      .trusted_keys_secret = ctx->trusted_keys_secret,
				      .trusted_key_names = ctx->trusted_key_names};
	rc = operator_defer_release(ctx, mdc_free, c);
	if (rc)
		return rc;
	if ((ctx->own_namespace && !c->own_namespace) || owned_tracker_new(&c->tracker) ||
	    crstatus_memo_new(&c->memo))
		return SAQR_ENOMEM;
	return mdc_add(ctx, c);
}
