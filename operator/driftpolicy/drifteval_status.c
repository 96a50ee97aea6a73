/* The status of a DriftPolicy after one reconcile: conditions Ready, DriftDetected,
 * SLOBreached and Degraded, the last evaluation's numbers, incidents and pending
 * notifications. Pure; built fresh each time from the previous status so that an unchanged
 * world gives an equal status (no write). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/jsonutil.h"
#include "operator/conditions.h"
#include "operator/driftpolicy/drifteval.h"

/* Ready's status and reason for each state. */
static const struct {
	const char *status, *reason;
} de_ready[] = {
    [DRIFTEVAL_EVALUATED] = {COND_TRUE, "Evaluated"},
    [DRIFTEVAL_WAITING_FOR_WINDOW] = {COND_UNKNOWN, "WaitingForWindow"},
    [DRIFTEVAL_WAITING_FOR_BASELINE] = {COND_UNKNOWN, "WaitingForBaseline"},
    [DRIFTEVAL_SOURCE_UNAVAILABLE] = {COND_FALSE, "SourceUnavailable"},
    [DRIFTEVAL_TARGET_NOT_FOUND] = {COND_FALSE, "TargetNotFound"},
    [DRIFTEVAL_INVALID] = {COND_FALSE, "InvalidSpec"},
    [DRIFTEVAL_SUSPENDED] = {COND_FALSE, "Suspended"},
};

struct de_conds {
	json_t *conds;
	const json_t *prev;
	const char *now;
	long long gen;
};

static int de_set(struct de_conds *c, const char *type, const char *status, const char *reason,
		  const char *msg)
{
	struct cond cd = {type, status, reason, msg, c->gen};

	return cond_set(c->conds, c->prev, &cd, c->now);
}

/* Keep the previous verdict (True or False) of type as it is, or set Unknown with reason. */
static int de_keep(struct de_conds *c, const char *type, const char *reason, const char *msg)
{
	json_t *old = cond_find(c->prev, type);

	if (old && !cond_has_status(c->prev, type, COND_UNKNOWN))
		return json_array_append_new(c->conds, json_deep_copy(old)) ? SAQR_ENOMEM : 0;
	return de_set(c, type, COND_UNKNOWN, reason, msg);
}

static int de_ready_cond(struct de_conds *c, const struct drifteval_report *rep)
{
	const struct drifteval_result *r = rep->result;
	char msg[512];

	if (rep->state != DRIFTEVAL_EVALUATED)
		return de_set(c, DRIFTEVAL_COND_READY, de_ready[rep->state].status,
			      de_ready[rep->state].reason, rep->message);
	snprintf(msg, sizeof(msg), "scored %zu of %zu features over %.0f s", r->nscored, r->nfeatures,
		 rep->window_seconds);
	if (rep->pods) {
		size_t n = strlen(msg);

		snprintf(msg + n, sizeof(msg) - n, " from %zu pod%s", rep->pods, rep->pods == 1 ? "" : "s");
	}
	return de_set(c, DRIFTEVAL_COND_READY, COND_TRUE, "Evaluated", msg);
}

static int de_drift_cond(struct de_conds *c, const struct drifteval_report *rep)
{
	const struct drifteval_result *r = rep->result;

	if (rep->state != DRIFTEVAL_EVALUATED)
		return de_keep(c, DRIFTEVAL_COND_DRIFT, de_ready[rep->state].reason, rep->message);
	if (r->drift)
		return de_set(c, DRIFTEVAL_COND_DRIFT, COND_TRUE, "FeatureDrift", r->drift_summary);
	if (r->nscored == 0 && r->nfeatures > 0)
		return de_set(c, DRIFTEVAL_COND_DRIFT, COND_UNKNOWN, "InsufficientData",
			      "no feature had observations in the window");
	return de_set(c, DRIFTEVAL_COND_DRIFT, COND_FALSE, "NoDrift", "");
}

static const char *de_first_slo(const struct drifteval_result *r)
{
	if (r->latency_breach)
		return "LatencySLO";
	if (r->error_breach)
		return "ErrorRateSLO";
	return "QualitySLO";
}

static int de_slo_cond(struct de_conds *c, const struct drifteval_report *rep, const json_t *dp_slo)
{
	const struct drifteval_result *r = rep->result;
	const char *sep = "";
	struct buf msg;
	int rc;

	if (rep->state != DRIFTEVAL_EVALUATED)
		return de_keep(c, DRIFTEVAL_COND_SLO, de_ready[rep->state].reason, rep->message);
	if (r->slo_breach)
		return de_set(c, DRIFTEVAL_COND_SLO, COND_TRUE, de_first_slo(r), r->slo_summary);
	if (json_object_size(dp_slo) == 0)
		return de_set(c, DRIFTEVAL_COND_SLO, COND_FALSE, "NoObjectives",
			      "spec.slo sets no objective");
	buf_init(&msg, 512);
	if (r->has_latency && json_object_get(dp_slo, "latencyP99Ms") &&
	    buf_addf(&msg, "latency p99 %.1f ms", r->latency_p99_ms) == 0)
		sep = "; ";
	if (r->has_error_rate && json_object_get(dp_slo, "errorRatePercent") &&
	    buf_addf(&msg, "%serror rate %.2f%%", sep, r->error_rate_percent) == 0)
		sep = "; ";
	if (r->has_quality && json_object_get(dp_slo, "minQuality"))
		buf_addf(&msg, "%squality %.4g", sep, r->quality);
	rc = de_set(c, DRIFTEVAL_COND_SLO, COND_FALSE, "WithinObjectives", buf_str(&msg));
	buf_release(&msg);
	return rc;
}

static int de_degraded_cond(struct de_conds *c, const struct drifteval_report *rep)
{
	const struct drifteval_result *r = rep->result;
	const char *reason = NULL;
	struct buf msg;
	int rc;

	buf_init(&msg, DRIFTEVAL_MESSAGE_MAX);
	if (rep->state == DRIFTEVAL_SOURCE_UNAVAILABLE || rep->state == DRIFTEVAL_TARGET_NOT_FOUND ||
	    rep->state == DRIFTEVAL_INVALID) {
		reason = de_ready[rep->state].reason;
		buf_adds(&msg, rep->message ? rep->message : "");
	}
	if (rep->degraded_reason) {
		reason = reason ? reason : rep->degraded_reason;
		buf_addf(&msg, "%s%s", msg.len ? "; " : "",
			 rep->degraded_message ? rep->degraded_message : "");
	}
	if (rep->state == DRIFTEVAL_EVALUATED && r->nmissing) {
		reason = reason ? reason : "MetricsIncomplete";
		buf_addf(&msg, "%s%s", msg.len ? "; " : "", r->problems);
	}
	rc = reason ? de_set(c, DRIFTEVAL_COND_DEGRADED, COND_TRUE, reason, buf_str(&msg))
		    : de_set(c, DRIFTEVAL_COND_DEGRADED, COND_FALSE, "AsExpected", "");
	buf_release(&msg);
	return rc;
}

static json_t *de_features_json(const struct drifteval_result *r)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < r->nfeatures && i < DRIFTEVAL_MAX_FEATURES; i++) {
		const struct drifteval_feature *f = &r->features[i];
		json_t *o =
		    json_pack("{s:s, s:s, s:f, s:b}", "name", f->name, "method", drift_method_name(f->method),
			      "threshold", f->threshold, "drifted", f->drifted);

		if (o && f->scored)
			json_object_set_new(o, "score", json_real(f->score));
		if (!o || json_array_append_new(arr, o)) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* A rounded value so that noise below the printed precision does not force a write. */
static json_t *de_round(double v, double unit)
{
	return json_real(round(v / unit) * unit);
}

static int de_numbers(json_t *st, const json_t *prev, const struct drifteval_report *rep)
{
	const struct drifteval_result *r = rep->result;
	static const char *const keys[] = {"features", "latencyP99Ms", "errorRatePercent"};
	int rc = 0;

	if (rep->state != DRIFTEVAL_EVALUATED) {
		for (size_t i = 0; rc == 0 && i < 3; i++)
			if (json_object_get(prev, keys[i]))
				rc = json_object_set_new(st, keys[i],
							 json_deep_copy(json_object_get(prev, keys[i])));
		return rc ? SAQR_ENOMEM : 0;
	}
	if (json_object_set_new(st, "features", de_features_json(r)))
		return SAQR_ENOMEM;
	if (r->has_latency && json_object_set_new(st, "latencyP99Ms", de_round(r->latency_p99_ms, 0.001)))
		return SAQR_ENOMEM;
	if (r->has_error_rate &&
	    json_object_set_new(st, "errorRatePercent", de_round(r->error_rate_percent, 0.0001)))
		return SAQR_ENOMEM;
	return 0;
}

/* key from the report (a non-empty array), else the previous status's; absent when empty. */
static int de_list(json_t *st, const json_t *prev, const char *key, const json_t *given)
{
	const json_t *v = given ? given : json_object_get(prev, key);

	if (json_array_size(v) == 0)
		return 0;
	return json_object_set_new(st, key, json_deep_copy(v)) ? SAQR_ENOMEM : 0;
}

static int de_times(json_t *st, const json_t *prev, const struct drifteval_report *rep)
{
	const char *at =
	    rep->evaluated_at ? rep->evaluated_at : json_path_str(prev, "lastEvaluationTime", NULL);

	if (json_object_set_new(st, "observedGeneration", json_integer(rep->generation)))
		return SAQR_ENOMEM;
	if (at && json_object_set_new(st, "lastEvaluationTime", json_string(at)))
		return SAQR_ENOMEM;
	return 0;
}

int drifteval_status(const json_t *prev, const struct drifteval_report *rep, const char *now, json_t **out)
{
	struct de_conds c = {json_array(), json_object_get(prev, "conditions"), now, rep->generation};
	json_t *st = json_object();
	int rc = (st && c.conds) ? 0 : SAQR_ENOMEM;

	if ((unsigned)rep->state > DRIFTEVAL_SUSPENDED ||
	    (rep->state == DRIFTEVAL_EVALUATED && !rep->result) || !now)
		rc = rc ? rc : SAQR_EINVAL;
	rc = rc ? rc : de_times(st, prev, rep);
	rc = rc ? rc : de_ready_cond(&c, rep);
	rc = rc ? rc : de_drift_cond(&c, rep);
	rc = rc ? rc : de_slo_cond(&c, rep, json_path(rep->dp, "spec.slo"));
	rc = rc ? rc : de_degraded_cond(&c, rep);
	rc = rc ? rc : (json_object_set(st, "conditions", c.conds) ? SAQR_ENOMEM : 0);
	rc = rc ? rc : de_numbers(st, prev, rep);
	rc = rc ? rc : de_list(st, prev, "incidents", rep->incidents);
	rc = rc ? rc : de_list(st, prev, "pendingNotifications", rep->pending);
	json_decref(c.conds);
	if (rc) {
		json_decref(st);
		return rc;
	}
	*out = st;
	return 0;
}
