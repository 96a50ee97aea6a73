/* Expired break-glass: a BreakGlassExpired Event on the object and one compliance incident to
 * the --compliance-sink webhook (the DriftPolicy sinks' request format, notify.h), once per
 * object and expiry. "Once" survives restarts through the report itself: a result marked
 * breakGlassExpired in the report in the cluster was notified before it was written. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "operator/audit/internal.h"
#include "operator/driftpolicy/incident.h"
#include "operator/driftpolicy/notify.h"

/* Whether prev (the report in the cluster) already shows this expiry of the object. */
static bool bg_in_report(const json_t *prev, const char *uid, const char *expires)
{
	const json_t *res;
	size_t i;

	json_array_foreach(json_object_get(prev, "results"), i, res)
	{
		const json_t *ref = json_array_get(json_object_get(res, "resources"), 0);

		if (strcmp(json_path_str(ref, "uid", ""), uid) == 0 &&
		    strcmp(json_path_str(res, "properties.breakGlassExpired", ""), "true") == 0 &&
		    strcmp(json_path_str(res, "properties.breakGlassExpires", ""), expires) == 0)
			return true;
	}
	return false;
}

/* The state kept for key, made when missing; lock held. NULL when out of memory. */
static struct audit__notified *bg_state(struct audit_controller *c, const char *key)
{
	struct audit__notified *n = strmap_get(&c->notified, key);

	if (n)
		return n;
	if (strmap_len(&c->notified) >= AUDIT_NOTIFIED_MAX)
		strmap_release(&c->notified, free); /* the reports remember what was sent */
	n = calloc(1, sizeof(*n));
	if (n && strmap_put(&c->notified, key, n, NULL)) {
		free(n);
		n = NULL;
	}
	return n;
}

static int bg_send_incident(const struct audit_controller *c, const struct audit__expired *e, time_t now)
{
	const json_t *md = json_object_get(e->regarding, "metadata");
	const char *kind = json_path_str(e->regarding, "kind", ""), *name = json_path_str(md, "name", "");
	struct notify_sink sink = {.type = NOTIFY_WEBHOOK, .url = c->cfg.compliance_sink};
	char id[512], summary[1536], target[320], at[32], err[512] = "";
	struct notify_request req;
	json_t *details = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "kind", kind, "name", name, "uid",
				    json_path_str(md, "uid", ""), "breakGlass", e->reason, "expires",
				    e->expires, "rules", e->rules);
	struct notify_event ev = {.incident_id = id,
				  .reason = "BreakGlassExpired",
				  .severity = "warning",
				  .summary = summary,
				  .namespace = json_path_str(md, "namespace", ""),
				  .policy = AUDIT_POLICY,
				  .target = target,
				  .opened_at = at,
				  .details = details};
	long code = 0;
	int rc;

	incident_time_format(now, at, sizeof(at));
	snprintf(id, sizeof(id), "saqr-break-glass-%s-%s", json_path_str(md, "uid", ""), e->expires);
	snprintf(target, sizeof(target), "%s/%s", kind, name);
	if (snprintf(summary, sizeof(summary), "break-glass on %s %s/%s expired at %s (%s); findings: %s",
		     kind, ev.namespace, name, e->expires, e->reason,
		     e->rules[0] ? e->rules : "none") >= (int)sizeof(summary))
		summary[sizeof(summary) - 1] = '\0';
	rc = details ? notify_build(&sink, &ev, &req, err, sizeof(err)) : SAQR_ENOMEM;
	json_decref(details);
	if (rc == 0) {
		rc = notify_send(&req, c->outbound, AUDIT_NOTIFY_TIMEOUT_MS, &code, NULL, err, sizeof(err));
		notify_request_release(&req);
	}
	if (rc)
		log_warn("compliance incident not delivered; trying again", "controller", AUDIT_CONTROLLER,
			 "incident", id, "error", err[0] ? err : saqr_strerror(rc));
	return rc;
}

static void bg_event(struct audit_controller *c, const struct audit__expired *e)
{
	events_record(c->events, e->regarding, "Warning", "BreakGlassExpired", "Audit",
		      "break-glass \"%s\" expired at %s: the object is audited under the policy again (%s)",
		      e->reason, e->expires, e->rules[0] ? e->rules : "no finding");
}

/* Event, then incident; each once. True when the incident must be tried again. */
static bool bg_notify_one(struct audit_controller *c, const json_t *prev, const struct audit__expired *e,
			  time_t now)
{
	const char *uid = json_path_str(e->regarding, "metadata.uid", "");
	struct audit__notified *st, copy = {0};
	char key[512];
	bool known;

	snprintf(key, sizeof(key), "%s|%s", uid, e->expires);
	pthread_mutex_lock(&c->mu);
	known = strmap_get(&c->notified, key) != NULL;
	st = bg_state(c, key);
	if (st && !known && bg_in_report(prev, uid, e->expires))
		st->event = st->incident = true;
	if (st)
		copy = *st;
	pthread_mutex_unlock(&c->mu);
	if (!st)
		return false;
	if (!copy.event)
		bg_event(c, e);
	if (!copy.incident)
		copy.incident = !c->cfg.compliance_sink || bg_send_incident(c, e, now) == 0;
	pthread_mutex_lock(&c->mu);
	st = bg_state(c, key);
	if (st) {
		st->event = true;
		st->incident = copy.incident;
	}
	pthread_mutex_unlock(&c->mu);
	if (!copy.event)
		log_info("break-glass expired", "controller", AUDIT_CONTROLLER, "namespace",
			 json_path_str(e->regarding, "metadata.namespace", ""), "name",
			 json_path_str(e->regarding, "metadata.name", ""), "expires", e->expires);
	return !copy.incident;
}

bool audit__break_glass_notify(struct audit_controller *c, const json_t *prev, struct audit__expired *v,
			       size_t n, time_t now)
{
	bool retry = false;

	for (size_t i = 0; i < n; i++)
		retry |= bg_notify_one(c, prev, &v[i], now);
	return retry;
}
