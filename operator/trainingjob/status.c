/* TrainingJob status from its Job, and the one-time promotion of the trained model into a
 * ModelDeployment. Once the training has finished, the outcome recorded in the status survives
 * the Job's removal by ttlSecondsAfterFinished. */
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "operator/conditions.h"
#include "operator/modeloverride.h"
#include "operator/trainingjob/trainingjob.h"

#define MSG_MAX 1024
#define MSG_SUCCEEDED "training succeeded"
#define MSG_PROMOTED "training succeeded; the model was promoted"

/* The Job as the status sees it: live, or (gone after finishing) as last recorded. */
struct tj_view {
	bool exists, gone;
	bool complete, failed, suspended;
	const char *complete_reason, *complete_msg, *fail_reason, *fail_msg, *suspend_reason;
	long long active, ready, succeeded, failed_pods;
	const char *start, *completion;
};

struct tj_eval {
	const json_t *tj, *spec, *prev;
	const struct tj_observed *obs;
	const char *now;
	long long generation, replicas;
	bool valid;
	struct tj_view v;
	char job[OBJMETA_NAME_BUF];
	char invalid_msg[MSG_MAX];
};

static void view_from_job(const json_t *job, struct tj_view *v)
{
	const json_t *st = json_object_get(job, "status");
	const json_t *conds = json_object_get(st, "conditions");

	v->exists = true;
	v->complete = cond_has_status(conds, "Complete", COND_TRUE);
	v->failed = cond_has_status(conds, "Failed", COND_TRUE);
	v->complete_reason = cond_reason_or(cond_reason(conds, "Complete", NULL), "Completed");
	v->complete_msg = cond_message(conds, "Complete", "");
	v->fail_reason = cond_reason_or(cond_reason(conds, "Failed", NULL), "JobFailed");
	v->fail_msg = cond_message(conds, "Failed", "");
	v->suspended = !v->complete && !v->failed &&
		       (json_path_bool(job, "spec.suspend", false, NULL) ||
			cond_has_status(conds, "Suspended", COND_TRUE));
	v->suspend_reason = cond_has_status(conds, "Suspended", COND_TRUE)
				? cond_reason_or(cond_reason(conds, "Suspended", NULL), "JobSuspended")
				: "JobSuspended";
	v->active = json_path_int(st, "active", 0);
	v->ready = json_path_int(st, "ready", 0);
	v->succeeded = json_path_int(st, "succeeded", 0);
	v->failed_pods = json_path_int(st, "failed", 0);
	v->start = json_path_str(st, "startTime", NULL);
	v->completion = json_path_str(st, "completionTime", NULL);
}

/* The Job is gone but the previous status recorded its outcome. */
static void view_from_status(const json_t *prev, struct tj_view *v)
{
	const json_t *conds = json_object_get(prev, "conditions");

	v->exists = v->gone = true;
	v->complete = cond_has_status(conds, "Succeeded", COND_TRUE);
	v->failed = cond_has_status(conds, "Failed", COND_TRUE);
	v->complete_reason = cond_reason(conds, "Succeeded", "Completed");
	v->complete_msg = cond_message(conds, "Succeeded", "");
	v->fail_reason = cond_reason(conds, "Failed", "JobFailed");
	v->fail_msg = cond_message(conds, "Failed", "");
	v->succeeded = json_path_int(prev, "succeeded", 0);
	v->failed_pods = json_path_int(prev, "failed", 0);
	v->start = json_path_str(prev, "startTime", NULL);
	v->completion = json_path_str(prev, "completionTime", NULL);
}

/* ---- conditions ---- */

static int put(json_t *conds, const struct tj_eval *e, const char *type, const char *status,
	       const char *reason, const char *msg)
{
	struct cond c = {type, status, reason, msg, e->generation};

	return cond_set(conds, json_object_get(e->prev, "conditions"), &c, e->now);
}

static bool promotion_waiting(const struct tj_eval *e)
{
	return e->valid && tj_promotion_target(e->tj) &&
	       !cond_has_status(json_object_get(e->prev, "conditions"), TJ_COND_PROMOTED, COND_TRUE);
}

static int set_ready(json_t *conds, const struct tj_eval *e)
{
	char msg[MSG_MAX];

	if (!e->valid)
		return put(conds, e, "Ready", COND_FALSE, TJ_REASON_INVALID, e->invalid_msg);
	if (e->obs->apply_error)
		return put(conds, e, "Ready", COND_FALSE, TJ_REASON_APPLY_FAILED, e->obs->apply_error);
	/* Ready's reason is the printer column STATUS (docs/api.md): Pending, Running, Suspended,
	 * Succeeded or Failed; the Job's own reason stays on the Failed condition. */
	if (e->v.failed) {
		snprintf(msg, sizeof(msg), "%s: %s", e->v.fail_reason, e->v.fail_msg);
		return put(conds, e, "Ready", COND_FALSE, "Failed", msg);
	}
	if (e->v.complete && promotion_waiting(e)) {
		snprintf(msg, sizeof(msg), "training succeeded; promoting the model into ModelDeployment %s",
			 tj_promotion_target(e->tj));
		return put(conds, e, "Ready", COND_FALSE, "PromotionPending", msg);
	}
	if (e->v.complete)
		return put(conds, e, "Ready", COND_TRUE, "Succeeded",
			   tj_promotion_target(e->tj) ? MSG_PROMOTED : MSG_SUCCEEDED);
	if (!e->v.exists) {
		snprintf(msg, sizeof(msg), "Job %s does not exist yet", e->job);
		return put(conds, e, "Ready", COND_FALSE, "Pending", msg);
	}
	if (e->v.suspended)
		return put(conds, e, "Ready", COND_FALSE, "Suspended", "the Job is suspended");
	snprintf(msg, sizeof(msg), "training: %lld of %lld pods active, %lld succeeded", e->v.active,
		 e->replicas, e->v.succeeded);
	return put(conds, e, "Ready", COND_FALSE, e->v.active > 0 ? "Running" : "Pending", msg);
}

static int set_created(json_t *conds, const struct tj_eval *e)
{
	char msg[MSG_MAX];

	if (!e->v.exists) {
		snprintf(msg, sizeof(msg), "Job %s does not exist yet", e->job);
		return put(conds, e, "Created", COND_FALSE, "JobNotFound", msg);
	}
	snprintf(msg, sizeof(msg),
		 e->v.gone ? "Job %s was created; it was removed after it finished" : "Job %s was created",
		 e->job);
	return put(conds, e, "Created", COND_TRUE, "JobCreated", msg);
}

static int set_running(json_t *conds, const struct tj_eval *e)
{
	char msg[MSG_MAX];
	const char *reason = "PodsPending";

	snprintf(msg, sizeof(msg), "%lld of %lld pods active, %lld ready", e->v.active, e->replicas,
		 e->v.ready);
	if (e->v.active > 0 && !e->v.complete && !e->v.failed && !e->v.suspended)
		return put(conds, e, "Running", COND_TRUE, "PodsActive", msg);
	if (!e->v.exists)
		reason = "JobNotFound";
	else if (e->v.complete || e->v.failed)
		reason = "JobFinished";
	else if (e->v.suspended)
		reason = "JobSuspended";
	return put(conds, e, "Running", COND_FALSE, reason, msg);
}

static int set_suspended(json_t *conds, const struct tj_eval *e)
{
	const char *queue = json_path_str(e->spec, "queueName", "");
	char msg[MSG_MAX];

	if (!e->v.suspended)
		return put(conds, e, "Suspended", COND_FALSE, "NotSuspended", "the Job is not suspended");
	if (*queue && !json_path_bool(e->spec, "suspend", false, NULL))
		snprintf(msg, sizeof(msg), "the Job waits for Kueue to admit it from queue %s", queue);
	else
		snprintf(msg, sizeof(msg), "the Job is suspended (spec.suspend is true)");
	return put(conds, e, "Suspended", COND_TRUE, e->v.suspend_reason, msg);
}

static int set_outcome(json_t *conds, const struct tj_eval *e)
{
	int rc;

	if (e->v.complete)
		rc = put(conds, e, "Succeeded", COND_TRUE, e->v.complete_reason, e->v.complete_msg);
	else
		rc = put(conds, e, "Succeeded", COND_FALSE, "NotCompleted", "the Job has not completed");
	if (rc)
		return rc;
	if (e->v.failed)
		return put(conds, e, "Failed", COND_TRUE, e->v.fail_reason, e->v.fail_msg);
	return put(conds, e, "Failed", COND_FALSE, "NotFailed", "the Job has not failed");
}

/* Promoted is set by tj_set_promoted only; carry it unchanged. */
static int carry_promoted(json_t *conds, const struct tj_eval *e)
{
	json_t *p = cond_find(json_object_get(e->prev, "conditions"), TJ_COND_PROMOTED);

	return p && json_array_append_new(conds, json_deep_copy(p)) ? SAQR_ENOMEM : 0;
}

static json_t *conditions(const struct tj_eval *e)
{
	json_t *conds = json_array();

	if (!conds || set_ready(conds, e) || set_created(conds, e) || set_running(conds, e) ||
	    set_suspended(conds, e) || set_outcome(conds, e) || carry_promoted(conds, e)) {
		json_decref(conds);
		return NULL;
	}
	return conds;
}

/* ---- tj_status ---- */

static int set_str_opt(json_t *obj, const char *key, const char *v)
{
	return v && *v ? json_object_set_new(obj, key, json_string(v)) : 0;
}

/* The status recorded before, when it was for the same output (else NULL). */
static const json_t *prev_output(const struct tj_eval *e, const char *uri)
{
	return strcmp(json_path_str(e->prev, "outputModel.uri", ""), uri) == 0 ? e->prev : NULL;
}

/* The digest the trainer reported now, else the one recorded for the same output. */
static const char *output_digest(const struct tj_eval *e, const char *uri)
{
	if (e->obs->output_digest)
		return e->obs->output_digest;
	return prev_output(e, uri) ? tj_output_digest(e->prev) : NULL;
}

/* The signature that goes with output_digest's digest. */
static const char *output_signature(const struct tj_eval *e, const char *uri)
{
	if (e->obs->output_digest)
		return e->obs->output_signature;
	return prev_output(e, uri) ? tj_output_signature(e->prev) : NULL;
}

static int set_output_model(json_t *st, const struct tj_eval *e)
{
	const char *uri = json_path_str(e->spec, "output.uri", "");
	json_t *m;

	if (!e->v.complete || !*uri)
		return 0;
	m = json_pack("{s:s}", "uri", uri);
	if (!m || set_str_opt(m, "version", json_path_str(e->spec, "promote.version", NULL)) ||
	    set_str_opt(m, "digest", output_digest(e, uri)) ||
	    set_str_opt(m, "signature", output_signature(e, uri))) {
		json_decref(m);
		return SAQR_ENOMEM;
	}
	return json_object_set_new(st, "outputModel", m) ? SAQR_ENOMEM : 0;
}

static json_t *build_status(const struct tj_eval *e)
{
	json_t *st =
	    json_pack("{s:I, s:s}", "observedGeneration", (json_int_t)e->generation, "jobName", e->job);

	if (!st || set_str_opt(st, "startTime", e->v.start) ||
	    set_str_opt(st, "completionTime", e->v.completion) ||
	    json_object_set_new(st, "active", json_integer(e->v.active)) ||
	    json_object_set_new(st, "succeeded", json_integer(e->v.succeeded)) ||
	    json_object_set_new(st, "failed", json_integer(e->v.failed_pods)) || set_output_model(st, e) ||
	    json_object_set_new(st, "conditions", conditions(e))) {
		json_decref(st);
		return NULL;
	}
	return st;
}

int tj_status(const json_t *tj, const struct tj_observed *obs, const char *now, json_t **status_out)
{
	static const struct tj_observed none;
	char reason[64];
	struct tj_eval e;
	json_t *st;

	memset(&e, 0, sizeof(e));
	if (!tj || !now || !status_out || tj_job_name(tj, e.job, sizeof(e.job)))
		return SAQR_EINVAL;
	e.tj = tj;
	e.spec = json_object_get(tj, "spec");
	e.prev = json_object_get(tj, "status");
	e.obs = obs ? obs : &none;
	e.now = now;
	e.generation = json_path_int(tj, "metadata.generation", 0);
	e.replicas = json_path_int(e.spec, "replicas", 1);
	e.valid = tj_validate(tj, reason, sizeof(reason), e.invalid_msg, sizeof(e.invalid_msg));
	if (e.obs->job)
		view_from_job(e.obs->job, &e.v);
	else if (tj_finished(e.prev))
		view_from_status(e.prev, &e.v);
	st = build_status(&e);
	if (!st)
		return SAQR_ENOMEM;
	*status_out = st;
	return 0;
}

/* ---- promotion ---- */

const char *tj_promotion_target(const json_t *tj)
{
	const char *t = json_path_str(tj, "spec.promote.modelDeployment", NULL);

	return t && *t ? t : NULL;
}

bool tj_promotion_pending(const json_t *tj, const json_t *status)
{
	const json_t *conds = json_object_get(status, "conditions");
	char reason[64], msg[MSG_MAX];

	return tj_promotion_target(tj) && tj_validate(tj, reason, sizeof(reason), msg, sizeof(msg)) &&
	       cond_has_status(conds, "Succeeded", COND_TRUE) &&
	       !cond_has_status(conds, TJ_COND_PROMOTED, COND_TRUE);
}

bool tj_output_wanted(const json_t *tj, const json_t *job)
{
	const json_t *prev = json_object_get(tj, "status");
	const json_t *conds = json_object_get(prev, "conditions");

	if (!job || !*json_path_str(tj, "spec.output.uri", "") || tj_output_digest(prev) ||
	    !cond_has_status(json_path(job, "status.conditions"), "Complete", COND_TRUE))
		return false;
	/* Read once when the success is first seen; again only while a promotion waits for it. */
	return !cond_has_status(conds, "Succeeded", COND_TRUE) ||
	       (tj_promotion_target(tj) && !cond_has_status(conds, TJ_COND_PROMOTED, COND_TRUE));
}

static bool is_target(const json_t *tj, const json_t *md)
{
	const char *target = tj_promotion_target(tj);
	const char *ns = json_path_str(tj, "metadata.namespace", "");

	return target && strcmp(json_path_str(md, "metadata.name", ""), target) == 0 &&
	       strcmp(json_path_str(md, "metadata.namespace", ""), ns) == 0;
}

/* Whether md's model in force (spec.modelOverride or spec.model) is that one. */
static bool serves(const json_t *md, const char *uri, const char *version, const char *digest,
		   const char *signature)
{
	const json_t *m = mo_model(md);

	return strcmp(json_path_str(m, "uri", ""), uri) == 0 &&
	       strcmp(json_path_str(m, "version", ""), version) == 0 &&
	       strcmp(json_path_str(m, "digest", ""), digest) == 0 &&
	       strcmp(json_path_str(m, "signature", ""), signature ? signature : "") == 0;
}

int tj_promotion(const json_t *tj, const json_t *status, const json_t *md, json_t **patch)
{
	const char *uri = json_path_str(tj, "spec.output.uri", "");
	const char *version = json_path_str(tj, "spec.promote.version", "");
	const char *name = json_path_str(tj, "metadata.name", "");
	const char *digest = tj_output_digest(status);
	const char *signature = tj_output_signature(status);
	char source[288]; /* "TrainingJob/" and a name of at most 253 */
	json_t *p, *model;

	if (!patch || !*uri || !*version || !*name || !tj_promotion_target(tj))
		return SAQR_EINVAL;
	if (!digest)
		return SAQR_EEMPTY;
	if (!md)
		return SAQR_ENOTFOUND;
	if (!is_target(tj, md))
		return SAQR_EINVAL;
	if (serves(md, uri, version, digest, signature)) {
		*patch = NULL;
		return 0;
	}
	/* spec.model stays Git's: the promoted model goes into spec.modelOverride, with its name and
	 * format; a signature of the model replaced does not stay */
	model = json_deep_copy(json_path(md, "spec.model"));
	if (!model || json_object_set_new(model, "uri", json_string(uri)) ||
	    json_object_set_new(model, "version", json_string(version)) ||
	    json_object_set_new(model, "digest", json_string(digest))) {
		json_decref(model);
		return SAQR_ENOMEM;
	}
	if (signature)
		json_object_set_new(model, "signature", json_string(signature));
	else
		json_object_del(model, "signature");
	snprintf(source, sizeof(source), "TrainingJob/%s", name);
	p = mo_patch(md, model, MO_REASON_PROMOTION, source);
	json_decref(model);
	if (!p || json_object_set_new(p, "metadata",
				      json_pack("{s:{s:s}}", "annotations", TJ_ANN_PROMOTED_FROM, name))) {
		json_decref(p);
		return SAQR_ENOMEM;
	}
	*patch = p;
	return 0;
}

static int set_promoted_conds(json_t *conds, const json_t *tj, const char *fail_reason, const char *message,
			      const char *now)
{
	const json_t *prev = json_path(tj, "status.conditions");
	long long gen = json_path_int(tj, "metadata.generation", 0);
	const char *target = tj_promotion_target(tj);
	char msg[MSG_MAX];
	struct cond c = {TJ_COND_PROMOTED, COND_TRUE, "ModelPromoted", msg, gen};
	int rc;

	if (!fail_reason) {
		snprintf(msg, sizeof(msg), "%s",
			 message && *message ? message : "the trained model was promoted");
		rc = cond_set(conds, prev, &c, now);
		c = (struct cond){"Ready", COND_TRUE, "Succeeded", MSG_PROMOTED, gen};
		return rc ? rc : cond_set(conds, prev, &c, now);
	}
	snprintf(msg, sizeof(msg), "%s", message ? message : "");
	c.status = COND_FALSE;
	c.reason = cond_reason_or(fail_reason, TJ_REASON_PROMOTION_FAILED);
	rc = cond_set(conds, prev, &c, now);
	snprintf(msg, sizeof(msg), "training succeeded but promotion into ModelDeployment %s failed: %s",
		 target ? target : "(none)", message ? message : "");
	c = (struct cond){"Ready", COND_FALSE, TJ_REASON_PROMOTION_FAILED, msg, gen};
	return rc ? rc : cond_set(conds, prev, &c, now);
}

int tj_set_promoted(json_t *status, const json_t *tj, const char *fail_reason, const char *message,
		    const char *now)
{
	json_t *conds = json_object_get(status, "conditions");
	json_t *work;
	int rc;

	if (!json_is_array(conds) || !tj || !now)
		return SAQR_EINVAL;
	work = json_deep_copy(conds); /* status stays unchanged on error */
	if (!work)
		return SAQR_ENOMEM;
	rc = set_promoted_conds(work, tj, fail_reason, message, now);
	if (!rc && json_object_set(status, "conditions", work))
		rc = SAQR_ENOMEM;
	json_decref(work);
	return rc;
}
