/* What a DriftPolicy does about a breach: advance its incidents (incident.c) with an Event on
 * each transition, start the retraining TrainingJob and roll the model back for the open
 * incident, and deliver the queued notifications to the sinks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "operator/driftpolicy/notify.h"
#include "operator/driftpolicy/controller_internal.h"
#include "operator/modeloverride.h"

#define DP_MAX_DELIVERIES 50 /* per reconcile; the rest wait for the next one */

/* ---- incidents ---- */

int driftpolicy__incidents(struct driftpolicy__run *run)
{
	struct driftactions_incident inc;
	struct incident_eval ev = {
	    .breached = run->result.drift || run->result.slo_breach,
	    .reason = run->result.drift ? "DriftDetected" : "SLOBreached",
	    .summary = run->result.summary,
	    .severity = json_path_str(run->dp, "spec.actions.alert.severity", "warning"),
	};
	json_t *st =
	    json_pack("{s:O, s:O}", "incidents", run->incidents, "pendingNotifications", run->pending);
	struct incident_plan plan;
	int rc;

	driftactions_incident_cfg(run->dp, &inc);
	rc = st ? incident_step(st, &ev, &inc.cfg, (time_t)run->now, &plan) : SAQR_ENOMEM;
	json_decref(st);
	if (rc)
		return rc;
	if (plan.opened) {
		events_record(run->c->events, run->dp, "Warning", "IncidentOpened", "Evaluate",
			      "incident %s: %s", plan.opened, run->result.summary);
		driftpolicy__log(run, LOG_LVL_WARN, "incident opened", "incident", plan.opened, "summary",
				 run->result.summary, (char *)NULL);
	}
	if (plan.resolved) {
		events_record(run->c->events, run->dp, "Normal", "IncidentResolved", "Evaluate",
			      "incident %s resolved: no drift and every SLO met", plan.resolved);
		driftpolicy__log(run, LOG_LVL_INFO, "incident resolved", "incident", plan.resolved,
				 (char *)NULL);
	}
	if (plan.dropped)
		driftpolicy__degrade(run, "NotificationFailing",
				     "%zu notifications dropped: the queue is full", plan.dropped);
	json_decref(run->incidents);
	json_decref(run->pending);
	run->incidents = json_incref(plan.incidents);
	run->pending = json_incref(plan.pending);
	incident_plan_release(&plan);
	return 0;
}

/* ---- retrain ---- */

static void dp_retrain(struct driftpolicy__run *run, json_t *inc)
{
	const struct kubeops *ops = run->c->ops;
	const char *id = json_path_str(inc, "id", "");
	const char *name;
	struct kube_write_opts wo = {.field_manager = "saqr-operator"};
	struct kube_status st = {0};
	json_t *tjs = NULL, *tj = NULL;
	int rc;

	if (informer_list(run->c->tjs, run->ns, &tjs))
		return;
	name = driftactions_retrain_for(run->dp, tjs, id);
	if (!name && (name = driftactions_running_retrain(run->dp, tjs)) != NULL)
		events_record(run->c->events, run->dp, "Normal", "RetrainRunning", "Retrain",
			      "incident %s: TrainingJob %s is still running; not starting another", id, name);
	if (name) {
		json_object_set_new(inc, "trainingJob", json_string(name));
		json_decref(tjs);
		return;
	}
	rc = driftactions_retrain_object(run->dp, tjs, id, &tj);
	if (rc == 0)
		rc = ops->create(ops, &driftpolicy__res_tj, run->ns, tj, &wo, NULL, &st);
	if (rc == 0) {
		name = json_path_str(tj, "metadata.name", "");
		json_object_set_new(inc, "trainingJob", json_string(name));
		events_record(run->c->events, run->dp, "Normal", "RetrainStarted", "Retrain",
			      "incident %s: created TrainingJob %s", id, name);
	} else {
		driftpolicy__degrade(run, "ActionFailed", "retrain: %s",
				     st.message[0] ? st.message : saqr_strerror(rc));
		events_record(run->c->events, run->dp, "Warning", "RetrainFailed", "Retrain",
			      "incident %s: %s", id, st.message[0] ? st.message : saqr_strerror(rc));
	}
	json_decref(tj);
	json_decref(tjs);
}

/* ---- rollback ---- */

static void dp_rollback(struct driftpolicy__run *run, json_t *inc)
{
	const struct kubeops *ops = run->c->ops;
	const char *id = json_path_str(inc, "id", "");
	const char *md_name = json_path_str(run->md, "metadata.name", "");
	struct kube_write_opts wo = {.field_manager = "saqr-operator"};
	struct kube_status st = {0};
	const json_t *target;
	json_t *patch = NULL;
	char label[600];
	int rc;

	if (driftactions_rolled_back_for(run->md, id)) {
		driftactions_model_label(mo_model(run->md), label, sizeof(label));
		json_object_set_new(inc, "rolledBackTo", json_string(label));
		return;
	}
	target = driftactions_rollback_target(run->md);
	if (!target) {
		snprintf(label, sizeof(label), "no earlier model in the status.history of ModelDeployment %s",
			 md_name);
		json_object_set_new(inc, "rollbackSkipped", json_string(label));
		events_record(run->c->events, run->dp, "Warning", "RollbackSkipped", "Rollback",
			      "incident %s: %s", id, label);
		return;
	}
	driftactions_model_label(target, label, sizeof(label));
	rc = driftactions_rollback_patch(run->md, target, id, &patch);
	if (rc == 0)
		rc = ops->patch(ops, &driftpolicy__res_md, run->ns, md_name, KUBE_PATCH_MERGE, patch, &wo,
				NULL, &st);
	json_decref(patch);
	if (rc) {
		driftpolicy__degrade(run, "ActionFailed", "rollback: %s",
				     st.message[0] ? st.message : saqr_strerror(rc));
		events_record(run->c->events, run->dp, "Warning", "RollbackFailed", "Rollback",
			      "incident %s: %s", id, st.message[0] ? st.message : saqr_strerror(rc));
		return;
	}
	json_object_set_new(inc, "rolledBackTo", json_string(label));
	events_record(run->c->events, run->dp, "Warning", "RolledBack", "Rollback",
		      "incident %s: ModelDeployment %s rolled back to %s", id, md_name, label);
	events_record(run->c->events, run->md, "Warning", "RolledBack", "Rollback",
		      "DriftPolicy %s rolled the model back to %s (incident %s)", run->name, label, id);
	driftpolicy__log(run, LOG_LVL_WARN, "rolled back", "incident", id, "modelDeployment", md_name, "to",
			 label, (char *)NULL);
}

void driftpolicy__actions(struct driftpolicy__run *run)
{
	json_t *inc = incident_open(run->incidents);
	struct driftactions_incident cfg;

	if (!inc)
		return;
	driftactions_incident_cfg(run->dp, &cfg);
	/* The breaches that start a retrain: spec.actions.retrain.on. */
	if (cfg.cfg.retrain && !json_object_get(inc, "trainingJob") &&
	    driftactions_retrain_due(run->dp, &run->result))
		dp_retrain(run, inc);
	if (cfg.cfg.rollback && run->md && !json_object_get(inc, "rolledBackTo") &&
	    !json_object_get(inc, "rollbackSkipped"))
		dp_rollback(run, inc);
}

/* ---- notifications ---- */

/* "sink <i> (<type>): " before a refusal in err, so that the user sees which sink it was. */
static void dp_name_sink(const json_t *entry, char *err, size_t errlen)
{
	char msg[400];
	size_t n = strnlen(err, sizeof(msg) - 1);

	memcpy(msg, err, n);
	msg[n] = '\0';
	snprintf(err, errlen, "sink %lld (%.16s): %s", json_path_int(entry, "sink", 0),
		 json_path_str(entry, "type", "?"), msg);
}

/* Build and send one notification; *external gets the sink's id (caller frees). */
static int dp_send(struct driftpolicy__run *run, const json_t *entry, const json_t *inc, char **external,
		   char *err, size_t errlen)
{
	const json_t *sink_spec = json_array_get(json_path(run->dp, "spec.actions.alert.sinks"),
						 (size_t)json_path_int(entry, "sink", 0));
	const char *secret = json_path_str(sink_spec, "secretRef.name", NULL);
	struct driftactions_secret sec = {0};
	struct driftactions_sink sink;
	struct notify_event ev;
	struct notify_request req;
	struct buf resp;
	json_t *s = NULL, *details;
	long code = 0;
	int rc = 0;

	if (secret && strcmp(json_path_str(sink_spec, "secretRef.namespace", run->ns), run->ns) != 0) {
		snprintf(err, errlen, "sink secretRef names another namespace; Secrets are read only in %s",
			 run->ns);
		rc = SAQR_EFORBIDDEN;
	} else if (secret) {
		s = driftpolicy__get(run, &driftpolicy__res_secrets, secret, err, errlen);
		rc = s ? driftactions_secret_decode(s, &sec) : SAQR_ECONFIG;
		if (rc && s)
			snprintf(err, errlen, "secret %s: a value is not base64", secret);
		json_decref(s);
	}
	if (rc == 0 && driftactions_sink(run->dp, (size_t)json_path_int(entry, "sink", 0), &sec, &sink)) {
		snprintf(err, errlen, "sink %lld is not in the spec", json_path_int(entry, "sink", 0));
		rc = SAQR_EINVAL;
	}
	details = driftactions_details(json_object_get(run->written ? run->written : run->dp, "status"), inc);
	driftactions_event(run->dp, inc, entry, details, &ev);
	ev.timestamp = (long long)run->now;
	if (rc == 0)
		rc = notify_build(&sink.sink, &ev, &req, err, errlen);
	json_decref(details);
	if (rc == 0) {
		buf_init(&resp, 64 * 1024);
		rc = notify_send(&req, run->c->net, DRIFTPOLICY_NOTIFY_TIMEOUT_MS, &code, &resp, err, errlen);
		if (rc == SAQR_EFORBIDDEN)
			dp_name_sink(entry, err, errlen);
		if (rc == 0)
			*external = notify_external_id(sink.sink.type, buf_str(&resp));
		buf_release(&resp);
		notify_request_release(&req);
	}
	driftactions_secret_release(&sec);
	return rc;
}

/* Deliver entry i (due); true when it left the list. */
static bool dp_deliver_one(struct driftpolicy__run *run, size_t i, unsigned *failed_sinks)
{
	json_t *e = json_array_get(run->pending, i);
	json_t *inc = driftactions_incident(run->incidents, json_path_str(e, "incident", ""));
	long long sink = json_path_int(e, "sink", 0);
	char err[512] = "", *external = NULL;
	int rc;

	if (!inc) {
		json_array_remove(run->pending, i);
		return true;
	}
	rc = dp_send(run, e, inc, &external, err, sizeof(err));
	if (rc == 0) {
		driftpolicy__log(run, LOG_LVL_INFO, "notification delivered", "id",
				 json_path_str(e, "id", ""), "sink", json_path_str(e, "type", ""),
				 (char *)NULL);
		driftactions_delivered(run->incidents, run->pending, i, external);
		free(external);
		return true;
	}
	incident_pending_failed(e, err, (time_t)run->now);
	if (sink >= 0 && sink < 32)
		*failed_sinks |= 1u << sink;
	driftpolicy__log(run, LOG_LVL_WARN, "notification failed", "id", json_path_str(e, "id", ""), "error",
			 err, (char *)NULL);
	return false;
}

void driftpolicy__deliver(struct driftpolicy__run *run, bool *changed)
{
	unsigned failed_sinks = 0, sent = 0;
	size_t i = 0;

	while (i < json_array_size(run->pending) && sent < DP_MAX_DELIVERIES) {
		json_t *e = json_array_get(run->pending, i);
		long long sink = json_path_int(e, "sink", 0);

		if (driftactions_pending_stale(run->dp, e)) {
			driftpolicy__log(run, LOG_LVL_WARN, "notification dropped: its sink left the spec",
					 "id", json_path_str(e, "id", ""), (char *)NULL);
			json_array_remove(run->pending, i);
			*changed = true;
			continue;
		}
		/* one failure per sink and reconcile: a sink that is down costs one timeout */
		if (!incident_pending_due(e, (time_t)run->now) ||
		    (sink < 32 && (failed_sinks & (1u << sink)))) {
			i++;
			continue;
		}
		sent++;
		*changed = true;
		if (!dp_deliver_one(run, i, &failed_sinks))
			i++;
	}
}
