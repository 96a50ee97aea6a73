/* The DriftPolicy controller: registration with the manager and the reconcile loop (when to
 * evaluate, what to write). It calls the steps in controller_eval.c and controller_act.c, which
 * share only controller_common.c; the decisions themselves are pure (drifteval, driftactions,
 * incident). */
#include "operator/driftpolicy/driftpolicy.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "operator/runtime/ctrltime.h"
#include "operator/conditions.h"
#include "operator/driftpolicy/controller_internal.h"

#define DP_MIN_REQUEUE 0.5

/* ---- when to evaluate ---- */

static struct driftpolicy__last *dp_last_get(struct driftpolicy_controller *c, const char *key,
					     const char *uid, struct driftpolicy__last *copy)
{
	struct driftpolicy__last *l;

	pthread_mutex_lock(&c->mu);
	l = strmap_get(&c->last, key);
	if (l && strcmp(l->uid, uid) == 0)
		*copy = *l;
	else
		l = NULL;
	pthread_mutex_unlock(&c->mu);
	return l ? copy : NULL;
}

static void dp_last_set(struct driftpolicy_controller *c, const char *key, const char *uid, double at,
			long long gen)
{
	struct driftpolicy__last *l = calloc(1, sizeof(*l));
	void *old = NULL;

	if (!l)
		return;
	snprintf(l->uid, sizeof(l->uid), "%s", uid);
	l->at = at;
	l->generation = gen;
	pthread_mutex_lock(&c->mu);
	if (strmap_put(&c->last, key, l, &old))
		free(l);
	pthread_mutex_unlock(&c->mu);
	free(old);
}

static void dp_forget(struct driftpolicy_controller *c, const char *key)
{
	pthread_mutex_lock(&c->mu);
	free(strmap_remove(&c->last, key));
	free(strmap_remove(&c->expect, key));
	pthread_mutex_unlock(&c->mu);
	driftsource_store_forget(c->store, key);
}

/* ---- the cache behind our own writes ---- */

#define DP_EXPECT_SECONDS 5.0 /* trust the cache after this long, whatever it shows */
#define DP_EXPECT_RETRY 0.2   /* how soon to look again while it lags */

static void dp_expect_clear_locked(struct driftpolicy_controller *c, const char *key, const char *rv)
{
	struct driftpolicy__expect *e = strmap_get(&c->expect, key);

	if (e && (!rv || strcmp(e->rv, rv) == 0))
		free(strmap_remove(&c->expect, key));
}

/* Informer handlers: the cache now shows resourceVersion rv of the policy. */
static void dp_seen(void *ud, json_t *obj, bool deleted)
{
	struct driftpolicy_controller *c = ud;
	char key[INFORMER_KEY_MAX];

	if (informer_object_key(obj, key, sizeof(key)))
		return;
	pthread_mutex_lock(&c->mu);
	dp_expect_clear_locked(c, key, deleted ? NULL : json_path_str(obj, "metadata.resourceVersion", ""));
	pthread_mutex_unlock(&c->mu);
}

static void dp_on_add(void *ud, json_t *obj)
{
	dp_seen(ud, obj, false);
}

static void dp_on_update(void *ud, json_t *old_obj, json_t *new_obj)
{
	(void)old_obj;
	dp_seen(ud, new_obj, false);
}

static void dp_on_delete(void *ud, json_t *obj)
{
	dp_seen(ud, obj, true);
}

/* Remember the resourceVersion our write produced, unless the cache shows it already. */
static void dp_expect(struct driftpolicy__run *run, const json_t *written)
{
	struct driftpolicy_controller *c = run->c;
	const char *rv = json_path_str(written, "metadata.resourceVersion", "");
	struct driftpolicy__expect *e = calloc(1, sizeof(*e));
	json_t *cached = NULL;
	void *old = NULL;

	if (!e || !*rv) {
		free(e);
		return;
	}
	snprintf(e->rv, sizeof(e->rv), "%s", rv);
	e->until = ctrltime_mono() + DP_EXPECT_SECONDS;
	pthread_mutex_lock(&c->mu);
	if (strmap_put(&c->expect, run->key, e, &old))
		free(e);
	free(old);
	if (informer_get(c->dps, run->ns, run->name, &cached) == 0 &&
	    strcmp(json_path_str(cached, "metadata.resourceVersion", ""), rv) == 0)
		dp_expect_clear_locked(c, run->key, rv);
	pthread_mutex_unlock(&c->mu);
	json_decref(cached);
}

/* Whether the cache still lags behind a write of ours to the policy. */
static bool dp_cache_lags(struct driftpolicy_controller *c, const char *key)
{
	struct driftpolicy__expect *e;
	bool lags = false;

	pthread_mutex_lock(&c->mu);
	e = strmap_get(&c->expect, key);
	if (e && ctrltime_mono() < e->until)
		lags = true;
	else if (e)
		free(strmap_remove(&c->expect, key));
	pthread_mutex_unlock(&c->mu);
	return lags;
}

/* When the policy was last evaluated: by this process, else its status's lastEvaluationTime.
 * 0 when never. */
static double dp_last_evaluation(struct driftpolicy__run *run, long long *gen)
{
	struct driftpolicy__last copy;
	const char *uid = json_path_str(run->dp, "metadata.uid", "");
	time_t t;

	if (dp_last_get(run->c, run->key, uid, &copy)) {
		*gen = copy.generation;
		return copy.at;
	}
	*gen = json_path_int(run->status, "observedGeneration", -1);
	if (incident_time_parse(json_path_str(run->status, "lastEvaluationTime", NULL), &t))
		return 0;
	return (double)t;
}

/* Seconds until the next evaluation (<= 0: now). */
static double dp_until_due(struct driftpolicy__run *run)
{
	long long gen = -1;
	double last = dp_last_evaluation(run, &gen);

	if (last <= 0 || gen != json_path_int(run->dp, "metadata.generation", 0))
		return 0;
	return last + run->interval - run->now;
}

/* Seconds until the earliest pending notification is due (HUGE_VAL when none). */
static double dp_until_pending(const struct driftpolicy__run *run)
{
	double best = HUGE_VAL;
	size_t i;
	json_t *e;

	json_array_foreach(run->pending, i, e)
	{
		time_t t;

		if (incident_time_parse(json_path_str(e, "nextAttemptAt", NULL), &t))
			return 0;
		if ((double)t - run->now < best)
			best = (double)t - run->now;
	}
	return best;
}

/* ---- status ---- */

/* PUT status (the object the last write returned, else the cached one, with status st).
 * Skipped when st equals what the object holds. */
static int dp_write(struct driftpolicy__run *run, json_t *st)
{
	const struct kubeops *ops = run->c->ops;
	struct kube_write_opts wo = {.subresource = "status"};
	struct kube_status ks = {0};
	json_t *base = run->written ? run->written : run->dp, *obj, *out = NULL;
	int rc;

	if (cond_status_equal(st, json_object_get(base, "status")))
		return 0;
	obj = json_copy(base);
	if (!obj || json_object_set(obj, "status", st))
		rc = SAQR_ENOMEM;
	else
		rc = ops->update(ops, &driftpolicy__res_dp, run->ns, obj, &wo, &out, &ks);
	json_decref(obj);
	if (rc) {
		driftpolicy__log(run, LOG_LVL_WARN, "status write failed", "error",
				 ks.message[0] ? ks.message : saqr_strerror(rc), (char *)NULL);
		return rc;
	}
	dp_expect(run, out);
	json_decref(run->written);
	run->written = out;
	return 0;
}

/* Notifications that keep failing make the policy Degraded. */
static void dp_note_failing(struct driftpolicy__run *run)
{
	size_t i;
	json_t *e;

	json_array_foreach(run->pending, i, e)
	{
		if (json_path_int(e, "attempts", 0) > 0) {
			driftpolicy__degrade(run, "NotificationFailing", "%s sink %lld: %s",
					     json_path_str(e, "type", ""), json_path_int(e, "sink", 0),
					     json_path_str(e, "lastError", ""));
			return;
		}
	}
}

static int dp_write_report(struct driftpolicy__run *run, bool evaluated)
{
	struct drifteval_report rep = {
	    .state = run->state,
	    .dp = run->dp,
	    .result = run->state == DRIFTEVAL_EVALUATED ? &run->result : NULL,
	    .message = run->message,
	    .window_seconds = run->window.seconds,
	    .pods = run->window.pods,
	    .degraded_reason = run->degraded_reason[0] ? run->degraded_reason : NULL,
	    .degraded_message = run->degraded_message,
	    .incidents = run->incidents,
	    .pending = run->pending,
	    .evaluated_at = evaluated ? run->now_s : NULL,
	    .generation = json_path_int(run->dp, "metadata.generation", 0),
	};
	json_t *st = NULL;
	int rc;

	dp_note_failing(run);
	rep.degraded_reason = run->degraded_reason[0] ? run->degraded_reason : NULL;
	rc = drifteval_status(run->status, &rep, run->now_s, &st);

	if (rc == 0)
		rc = dp_write(run, st);
	json_decref(st);
	return rc;
}

/* The last written (or cached) status with the new incident and pending lists. */
static int dp_write_lists(struct driftpolicy__run *run)
{
	const json_t *base = json_object_get(run->written ? run->written : run->dp, "status");
	json_t *st = base ? json_deep_copy(base) : json_object();
	int rc = st ? 0 : SAQR_ENOMEM;

	if (rc == 0) {
		json_object_del(st, "incidents");
		json_object_del(st, "pendingNotifications");
		if (json_array_size(run->incidents) && json_object_set(st, "incidents", run->incidents))
			rc = SAQR_ENOMEM;
		if (json_array_size(run->pending) &&
		    json_object_set(st, "pendingNotifications", run->pending))
			rc = SAQR_ENOMEM;
	}
	if (rc == 0)
		rc = dp_write(run, st);
	json_decref(st);
	return rc;
}

/* ---- one reconcile ---- */

static void dp_run_release(struct driftpolicy__run *run)
{
	json_decref(run->dp);
	json_decref(run->md);
	json_decref(run->written);
	json_decref(run->configmaps);
	json_decref(run->captured);
	json_decref(run->incidents);
	json_decref(run->pending);
	driftsource_data_release(&run->window);
	drifteval_result_release(&run->result);
}

static int dp_run_init(struct driftpolicy__run *run, const char *ns, const char *name)
{
	const json_t *st;

	snprintf(run->key, sizeof(run->key), "%s/%s", ns, name);
	if (informer_get(run->c->dps, ns, name, &run->dp))
		return SAQR_ENOTFOUND;
	run->ns = ns;
	run->name = name;
	run->status = json_object_get(run->dp, "status");
	run->now = ctrltime_wall();
	incident_time_format((time_t)run->now, run->now_s, sizeof(run->now_s));
	run->interval = drifteval_interval(run->dp);
	st = run->status;
	run->incidents = json_is_array(json_object_get(st, "incidents"))
			     ? json_deep_copy(json_object_get(st, "incidents"))
			     : json_array();
	run->pending = json_is_array(json_object_get(st, "pendingNotifications"))
			   ? json_deep_copy(json_object_get(st, "pendingNotifications"))
			   : json_array();
	return run->incidents && run->pending ? 0 : SAQR_ENOMEM;
}

static struct workqueue_result dp_requeue(const struct driftpolicy__run *run, double until_eval, int err)
{
	double wait = fmin(until_eval, dp_until_pending(run));

	if (err)
		return (struct workqueue_result){.err = err};
	if (!isfinite(wait))
		return (struct workqueue_result){0};
	return (struct workqueue_result){.requeue_after = wait < DP_MIN_REQUEUE ? DP_MIN_REQUEUE : wait};
}

static int dp_suspended(struct driftpolicy__run *run)
{
	dp_forget(run->c, run->key);
	run->state = DRIFTEVAL_SUSPENDED;
	snprintf(run->message, sizeof(run->message), "spec.suspend is true: no evaluation, no action");
	return dp_write_report(run, false);
}

/* Evaluate, advance incidents, act, write. */
static int dp_evaluate_and_write(struct driftpolicy__run *run)
{
	int rc = 0;

	driftpolicy__evaluate(run);
	dp_last_set(run->c, run->key, json_path_str(run->dp, "metadata.uid", ""), run->now,
		    json_path_int(run->dp, "metadata.generation", 0));
	if (run->state == DRIFTEVAL_EVALUATED) {
		rc = driftpolicy__incidents(run);
		if (rc == 0)
			driftpolicy__actions(run);
	}
	return rc ? rc : dp_write_report(run, run->state == DRIFTEVAL_EVALUATED);
}

static struct workqueue_result dp_reconcile(void *ud, const char *ns, const char *name)
{
	struct driftpolicy__run run = {.c = ud};
	struct workqueue_result res;
	double until = 0;
	bool changed = false;
	int rc;

	/* Before reading the cache: once the expectation is gone the cache holds our write. */
	snprintf(run.key, sizeof(run.key), "%s/%s", ns, name);
	if (dp_cache_lags(run.c, run.key))
		return (struct workqueue_result){.requeue_after = DP_EXPECT_RETRY};
	rc = dp_run_init(&run, ns, name);
	if (rc == SAQR_ENOTFOUND) {
		dp_forget(run.c, run.key);
		return (struct workqueue_result){0};
	}
	if (rc == 0 && json_path_bool(run.dp, "spec.suspend", false, NULL)) {
		rc = dp_suspended(&run);
		dp_run_release(&run);
		return (struct workqueue_result){.err = rc};
	}
	if (rc == 0) {
		until = dp_until_due(&run);
		if (until <= 0) {
			rc = dp_evaluate_and_write(&run);
			until = run.interval;
		}
	}
	if (rc == 0) {
		driftpolicy__deliver(&run, &changed);
		if (changed)
			rc = dp_write_lists(&run);
	}
	res = dp_requeue(&run, until, rc);
	dp_run_release(&run);
	return res;
}

/* ---- registration ---- */

/* The outbound policy without configuration: the strictest. */
static const struct http_netpolicy dp_strict_outbound;

int driftpolicy_controller_new(const struct operator_ctx *ctx, struct driftpolicy_controller **out)
{
	struct driftpolicy_controller *c;
	struct controller_config cc = {.name = DRIFTPOLICY_CONTROLLER,
				       .primary = driftpolicy__res_dp,
				       .group = "saqr.dev",
				       .kind = "DriftPolicy",
				       .owned = &driftpolicy__res_tj,
				       .nowned = 1,
				       .reconcile = dp_reconcile};
	int rc;

	if (!ctx || !ctx->mgr || !ctx->ops || !ctx->events)
		return SAQR_EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return SAQR_ENOMEM;
	c->mgr = ctx->mgr;
	c->ops = ctx->ops;
	c->events = ctx->events;
	c->net = ctx->outbound ? ctx->outbound : &dp_strict_outbound;
	pthread_mutex_init(&c->mu, NULL);
	strmap_init(&c->last);
	strmap_init(&c->expect);
	rc = driftsource_store_new(&c->store);
	cc.workers = ctx->workers > 0 ? ctx->workers : 1;
	cc.ud = c;
	if (rc == 0)
		rc = manager_add_controller(ctx->mgr, &cc);
	if (rc == 0) {
		c->dps = manager_informer(ctx->mgr, &driftpolicy__res_dp);
		c->mds = manager_informer(ctx->mgr, &driftpolicy__res_md);
		c->tjs = manager_informer(ctx->mgr, &driftpolicy__res_tj);
		rc = c->dps && c->mds && c->tjs ? 0 : SAQR_ENOMEM;
	}
	if (rc == 0) {
		struct informer_handlers h = {dp_on_add, dp_on_update, dp_on_delete, c};

		rc = informer_add_handlers(c->dps, &h);
	}
	if (rc) {
		driftpolicy_controller_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void driftpolicy_controller_free(struct driftpolicy_controller *c)
{
	if (!c)
		return;
	strmap_release(&c->last, free);
	strmap_release(&c->expect, free);
	driftsource_store_free(c->store);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

static void dp_release(void *ud)
{
	driftpolicy_controller_free(ud);
}

int operator_register_driftpolicy(struct operator_ctx *ctx)
{
	struct driftpolicy_controller *c = NULL;
	int rc = driftpolicy_controller_new(ctx, &c);

	if (rc)
		return rc;
	/* Freed by operator_release() after the manager has stopped. */
	return operator_defer_release(ctx, dp_release, c);
}
