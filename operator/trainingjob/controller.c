/* The TrainingJob controller: one reconcile reads the TrainingJob from the informer cache,
 * applies its Indexed Job (and headless Service) when out of sync (owned.h), mirrors the Job
 * into the status, promotes the trained model into the target ModelDeployment once the
 * training succeeded (once), and writes the status when it changed. The decisions are the
 * pure functions of trainingjob.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "operator/conditions.h"
#include "operator/crstatus.h"
#include "operator/opctl.h"
#include "operator/operator.h"
#include "operator/owned.h"
#include "operator/trainingjob/trainingjob.h"

#define TJC_NAME "trainingjob"
#define TJC_MSG_MAX 1024
#define TJC_TARGET_RETRY 30.0 /* seconds between looks for a missing promotion target */

static const struct kube_resource tjc_res = {"saqr.dev", "v1alpha1", "trainingjobs", true};
static const struct kube_resource tjc_md_res = {"saqr.dev", "v1alpha1", "modeldeployments", true};
static const struct kube_resource tjc_pod_res = {"", "v1", "pods", true};

/* The type of each owned entry, index for index with enum tj_owned_index. */
static const struct kube_resource *const tjc_owned_res[TJ_OWNED_COUNT] = {&objmeta_res_jobs,
									  &objmeta_res_services};

struct tjc {
	const struct kubeops *ops;
	struct events_recorder *events;
	struct informer *tjs, *mds;
	struct informer *owned[TJ_OWNED_COUNT];
	struct owned_tracker *tracker;
	struct crstatus_memo *memo;
};

/* One reconcile. */
struct tjc_run {
	struct tjc *c;
	const json_t *tj;
	const char *ns;
	struct tj_desired d;
	bool have_desired;
	json_t *live[TJ_OWNED_COUNT];
	bool waiting;	    /* the cache lags our apply of the Job */
	double retry_after; /* look again later (a missing promotion target) */
	int err;	    /* the first API error */
	bool output_unread; /* listing the Job's pods failed: no promotion this time */
	struct tj_output output;
	char output_error[TJC_MSG_MAX]; /* why the pods gave no digest */
	char apply_error[TJC_MSG_MAX];
	char now[COND_TIME_BUF];
	struct opctl_changes ch;
};

/* ---- owned objects ---- */

static void tjc_apply_failed(struct tjc_run *r, const struct objmeta_owned *o, int rc,
			     const struct kube_status *st)
{
	const char *why = st->message[0] ? st->message : saqr_strerror(rc);

	if (!r->err)
		r->err = rc;
	if (rc == SAQR_ECONFLICT || !opctl_refused(rc, st))
		return;
	if (!r->apply_error[0])
		opctl_format(r->apply_error, sizeof(r->apply_error), "%s %s: %s", o->kind, o->name, why);
	(void)events_record(r->c->events, r->tj, "Warning", TJ_REASON_APPLY_FAILED, "Apply", "%s %s: %s",
			    o->kind, o->name, why);
}

static void tjc_sync_owned(struct tjc_run *r)
{
	struct owned_sync s = {r->c->ops, r->c->tracker, r->tj};

	for (int i = 0; i < TJ_OWNED_COUNT; i++) {
		struct objmeta_owned *o = &r->d.owned[i];
		struct kube_status st = {0};
		enum owned_outcome outcome;
		int rc = owned_sync(&s, r->c->owned[i], o, &outcome, &r->live[i], &st);

		if (rc) {
			tjc_apply_failed(r, o, rc, &st);
			continue;
		}
		opctl_changes_note(&r->ch, outcome, o->kind, o->name);
		if (outcome == OWNED_WAITING && i == TJ_OWNED_JOB)
			r->waiting = true;
	}
}

/* The Job as the status reads it (its metadata, spec.suspend and status are all in the cache). */
static json_t *tjc_observed_job(struct tjc_run *r)
{
	char job[OBJMETA_NAME_BUF];
	json_t *live = NULL;

	if (r->have_desired)
		return json_incref(r->live[TJ_OWNED_JOB]);
	if (tj_job_name(r->tj, job, sizeof(job)) != 0 ||
	    informer_get(r->c->owned[TJ_OWNED_JOB], r->ns, job, &live))
		return NULL;
	return live;
}

/* ---- output ---- */

/* The digest the trainer of completion index 0 reported in its termination message, into
 * r->output (else why not into r->output_error). One LIST of the Job's index-0 pods. */
static void tjc_read_output(struct tjc_run *r, const json_t *job)
{
	char selector[2 * OBJMETA_NAME_BUF + 96];
	struct kube_list_opts lo = {.label_selector = selector};
	struct kube_status kst = {0};
	json_t *list = NULL;
	int rc;

	snprintf(selector, sizeof(selector), "batch.kubernetes.io/job-name=%s,%s=0",
		 json_path_str(job, "metadata.name", ""), TJ_ANN_INDEX);
	rc = r->c->ops->list_all(r->c->ops, &tjc_pod_res, r->ns, &lo, &list, &kst);
	if (rc) {
		r->output_unread = true;
		if (!r->err)
			r->err = rc;
		log_warn("listing the Job's pods failed", "controller", TJC_NAME, "namespace", r->ns, "name",
			 json_path_str(r->tj, "metadata.name", ""), "error", saqr_strerror(rc), "message",
			 kst.message);
		return;
	}
	if (tj_output_from_pods(r->tj, job, json_object_get(list, "items"), &r->output, r->output_error,
				sizeof(r->output_error)))
		r->output.digest[0] = '\0';
	json_decref(list);
}

/* ---- promotion ---- */

static void tjc_promoted_events(struct tjc_run *r, const json_t *md)
{
	const char *uri = json_path_str(r->tj, "spec.output.uri", "");
	const char *version = json_path_str(r->tj, "spec.promote.version", "");

	(void)events_record(r->c->events, r->tj, "Normal", "Promoted", "Promote",
			    "promoted model %s version %s into ModelDeployment %s", uri, version,
			    json_path_str(md, "metadata.name", ""));
	(void)events_record(r->c->events, md, "Normal", "Promoted", "Promote",
			    "model %s version %s promoted from TrainingJob %s", uri, version,
			    json_path_str(r->tj, "metadata.name", ""));
	log_info("model promoted", "controller", TJC_NAME, "namespace", r->ns, "name",
		 json_path_str(r->tj, "metadata.name", ""), "modelDeployment",
		 json_path_str(md, "metadata.name", ""), "version", version);
}

/* Merge-patch md with patch, telling both objects when it changed md. 0 or the API error. */
static int tjc_patch_target(struct tjc_run *r, const json_t *md, const json_t *patch, struct kube_status *st)
{
	struct kube_write_opts wo = {.field_manager = OBJMETA_MANAGER};
	json_t *out = NULL;
	int rc = r->c->ops->patch(r->c->ops, &tjc_md_res, r->ns, json_path_str(md, "metadata.name", ""),
				  KUBE_PATCH_MERGE, patch, &wo, &out, st);

	if (rc)
		return rc;
	/* An unchanged resourceVersion: an earlier reconcile already promoted (and told). */
	if (strcmp(json_path_str(out, "metadata.resourceVersion", ""),
		   json_path_str(md, "metadata.resourceVersion", "")) != 0)
		tjc_promoted_events(r, md);
	json_decref(out);
	return 0;
}

/* Point the target at the output (unless it already serves it). 0 when it does now; a refusal
 * of the API server is recorded in st as PatchFailed (and kept in r->err for the backoff);
 * other errors are returned, to retry before anything is recorded. */
static int tjc_promote_into(struct tjc_run *r, const json_t *md, json_t *st)
{
	struct kube_status kst = {0};
	char msg[TJC_MSG_MAX];
	json_t *patch = NULL;
	int rc = tj_promotion(r->tj, st, md, &patch);

	if (rc == 0 && patch)
		rc = tjc_patch_target(r, md, patch, &kst);
	json_decref(patch);
	if (rc && opctl_refused(rc, &kst)) {
		r->err = rc;
		return tj_set_promoted(st, r->tj, "PatchFailed",
				       kst.message[0] ? kst.message : saqr_strerror(rc), r->now);
	}
	if (rc)
		return rc;
	opctl_format(msg, sizeof(msg), "model %s version %s (%s) serves in ModelDeployment %s",
		     json_path_str(r->tj, "spec.output.uri", ""),
		     json_path_str(r->tj, "spec.promote.version", ""), tj_output_digest(st),
		     json_path_str(md, "metadata.name", ""));
	return tj_set_promoted(st, r->tj, NULL, msg, r->now);
}

/* A promotion without a digest would unpin the target (and the admission policy refuses it). */
static int tjc_digest_missing(struct tjc_run *r, json_t *st)
{
	char msg[TJC_MSG_MAX];

	opctl_format(msg, sizeof(msg),
		     "the trainer reported no digest of its output (%s); the " TJ_CONTAINER
		     " container of completion index 0 must write {\"output\":{\"uri\":\"%s\",\"digest\":"
		     "\"sha256:<64 hex>\"}} to " TJ_TERMINATION_PATH " before it exits 0",
		     r->output_error[0] ? r->output_error : "none recorded, and its pods are no longer read",
		     json_path_str(r->tj, "spec.output.uri", ""));
	return tj_set_promoted(st, r->tj, TJ_REASON_DIGEST_MISSING, msg, r->now);
}

/* Promote the output into the target and record the outcome in st (tj_set_promoted). */
static int tjc_promote(struct tjc_run *r, json_t *st)
{
	const char *target = tj_promotion_target(r->tj);
	char msg[TJC_MSG_MAX];
	json_t *md = NULL;
	int rc;

	if (!tj_output_digest(st))
		return tjc_digest_missing(r, st);
	if (informer_get(r->c->mds, r->ns, target, &md) != 0) {
		opctl_format(msg, sizeof(msg), "ModelDeployment %s does not exist in namespace %s", target,
			     r->ns);
		r->retry_after = TJC_TARGET_RETRY;
		return tj_set_promoted(st, r->tj, "TargetNotFound", msg, r->now);
	}
	rc = tjc_promote_into(r, md, st);
	json_decref(md);
	return rc;
}

/* ---- status ---- */

static bool became(const json_t *prev, const json_t *st, const char *type, const char *status)
{
	return cond_has_status(json_object_get(st, "conditions"), type, status) &&
	       !cond_has_status(json_object_get(prev, "conditions"), type, status);
}

static bool reason_became(const json_t *prev, const json_t *st, const char *type, const char *reason)
{
	const json_t *now = json_object_get(st, "conditions"), *before = json_object_get(prev, "conditions");

	return strcmp(cond_reason(now, type, ""), reason) == 0 &&
	       (strcmp(cond_reason(before, type, ""), reason) != 0 ||
		strcmp(cond_message(now, type, ""), cond_message(before, type, "")) != 0);
}

/* Events for what the new status says happened. */
static void tjc_status_events(struct tjc_run *r, const json_t *prev, const json_t *st)
{
	const json_t *conds = json_object_get(st, "conditions");
	struct events_recorder *ev = r->c->events;

	if (reason_became(prev, st, "Ready", TJ_REASON_INVALID))
		(void)events_record(ev, r->tj, "Warning", TJ_REASON_INVALID, "Validate", "%s",
				    cond_message(conds, "Ready", ""));
	if (became(prev, st, "Succeeded", COND_TRUE))
		(void)events_record(ev, r->tj, "Normal", "Succeeded", "Train", "training succeeded (Job %s)",
				    json_path_str(st, "jobName", ""));
	if (became(prev, st, "Failed", COND_TRUE))
		(void)events_record(ev, r->tj, "Warning", "Failed", "Train", "training failed: %s: %s",
				    cond_reason(conds, "Failed", ""), cond_message(conds, "Failed", ""));
	if (reason_became(prev, st, "Ready", TJ_REASON_PROMOTION_FAILED))
		(void)events_record(ev, r->tj, "Warning", TJ_REASON_PROMOTION_FAILED, "Promote", "%s",
				    cond_message(conds, TJ_COND_PROMOTED, ""));
}

static int tjc_write_status(struct tjc_run *r)
{
	struct tj_observed obs = {.apply_error = r->apply_error[0] ? r->apply_error : NULL};
	struct kube_status kst = {0};
	json_t *job, *st = NULL;
	bool written = false;
	int rc;

	if (r->waiting || crstatus_cache_behind(r->c->memo, r->tj))
		return 0;
	job = tjc_observed_job(r);
	obs.job = job;
	if (tj_output_wanted(r->tj, job))
		tjc_read_output(r, job);
	obs.output_digest = r->output.digest[0] ? r->output.digest : NULL;
	obs.output_signature = obs.output_digest && r->output.signature[0] ? r->output.signature : NULL;
	rc = tj_status(r->tj, &obs, r->now, &st);
	if (rc == 0 && !r->output_unread && tj_promotion_pending(r->tj, st))
		rc = tjc_promote(r, st);
	if (rc == 0)
		rc = crstatus_write(r->c->ops, &tjc_res, r->c->memo, r->tj, st, &written, &kst);
	if (rc == 0 && written)
		tjc_status_events(r, json_object_get(r->tj, "status"), st);
	else if (rc && rc != SAQR_ECONFLICT)
		log_warn("status write failed", "controller", TJC_NAME, "namespace", r->ns, "name",
			 json_path_str(r->tj, "metadata.name", ""), "error", saqr_strerror(rc), "message",
			 kst.message);
	json_decref(job);
	json_decref(st);
	return rc;
}

/* ---- reconcile ---- */

static int tjc_run(struct tjc_run *r)
{
	int rc = tj_desired(r->tj, &r->d);

	if (rc == 0) {
		r->have_desired = true;
		tjc_sync_owned(r);
		opctl_changes_report(&r->ch, r->c->events, r->tj, TJC_NAME);
	} else if (rc != SAQR_EINVAL) {
		return rc; /* SAQR_EINVAL: an invalid spec, which the status reports */
	}
	if (r->err && !r->apply_error[0])
		return r->err;
	rc = tjc_write_status(r);
	return r->err ? r->err : rc;
}

static void tjc_run_release(struct tjc_run *r)
{
	if (r->have_desired)
		tj_desired_release(&r->d);
	for (int i = 0; i < TJ_OWNED_COUNT; i++)
		json_decref(r->live[i]);
	opctl_changes_release(&r->ch);
}

static struct workqueue_result tjc_reconcile(void *ud, const char *ns, const char *name)
{
	struct tjc *c = ud;
	struct tjc_run r = {.c = c, .ns = ns};
	struct workqueue_result res;
	json_t *tj = NULL;
	int rc;

	if (informer_get(c->tjs, ns, name, &tj) != 0) {
		crstatus_memo_forget(c->memo, ns, name);
		return opctl_result(0, false);
	}
	if (json_path(tj, "metadata.deletionTimestamp")) {
		json_decref(tj);
		return opctl_result(0, false);
	}
	r.tj = tj;
	opctl_now(r.now, sizeof(r.now));
	opctl_changes_init(&r.ch);
	rc = tjc_run(&r);
	tjc_run_release(&r);
	json_decref(tj);
	res = opctl_result(rc, r.waiting);
	if (rc == 0 && r.retry_after > 0)
		res.requeue_after = r.retry_after;
	return res;
}

/* ---- registration ---- */

static void tjc_free(void *ud)
{
	struct tjc *c = ud;

	owned_tracker_free(c->tracker);
	crstatus_memo_free(c->memo);
	free(c);
}

static int tjc_add(struct operator_ctx *ctx, struct tjc *c)
{
	struct kube_resource owned[] = {objmeta_res_jobs, objmeta_res_services};
	struct controller_config cc = {.name = TJC_NAME,
				       .primary = tjc_res,
				       .group = "saqr.dev",
				       .kind = TJ_KIND,
				       .owned = owned,
				       .nowned = sizeof(owned) / sizeof(owned[0]),
				       .workers = ctx->workers,
				       .reconcile = tjc_reconcile,
				       .ud = c,
				       .owned_label_selector = OWNED_LABEL_SELECTOR,
				       .owned_transform = owned_cache_transform};
	int rc;

	c->tjs = manager_informer(ctx->mgr, &tjc_res);
	c->mds = manager_informer(ctx->mgr, &tjc_md_res); /* promotion targets */
	if (!c->tjs || !c->mds)
		return SAQR_ENOMEM;
	rc = opctl_owned_informers(ctx->mgr, c->tracker, tjc_owned_res, TJ_OWNED_COUNT, c->owned);
	return rc ? rc : manager_add_controller(ctx->mgr, &cc);
}

int operator_register_trainingjob(struct operator_ctx *ctx)
{
	struct tjc *c;
	int rc;

	if (!ctx || !ctx->mgr || !ctx->ops || !ctx->events)
		return SAQR_EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return SAQR_ENOMEM;
	c->ops = ctx->ops;
	c->events = ctx->events;
	rc = operator_defer_release(ctx, tjc_free, c);
	if (rc)
		return rc;
	if (owned_tracker_new(&c->tracker) || crstatus_memo_new(&c->memo))
		return SAQR_ENOMEM;
	return tjc_add(ctx, c);
}
