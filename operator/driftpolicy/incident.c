/* DriftPolicy incidents: open once per cooldown, resolve when the breach clears, and queue one
 * notification per sink for each transition so that none is lost across restarts. */
#include "operator/driftpolicy/incident.h"

#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonutil.h"

void incident_time_format(time_t t, char *out, size_t outlen)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int incident_time_parse(const char *s, time_t *out)
{
	struct tm tm;
	const char *rest;

	memset(&tm, 0, sizeof(tm));
	rest = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	if (!rest)
		return SAQR_EINVAL;
	if (*rest == '.')
		for (rest++; *rest >= '0' && *rest <= '9'; rest++)
			;
	if (strcmp(rest, "Z") != 0 && strcmp(rest, "+00:00") != 0)
		return SAQR_EINVAL;
	*out = timegm(&tm);
	return 0;
}

json_t *incident_open(const json_t *incidents)
{
	size_t i;
	json_t *inc;

	json_array_foreach(incidents, i, inc) if (!json_object_get(inc, "resolvedAt")) return inc;
	return NULL;
}

/* Time of the newest incident's opening, or 0. */
static time_t incident_last_opened(const json_t *incidents)
{
	time_t last = 0, t;
	size_t i;
	json_t *inc;

	json_array_foreach(incidents, i,
			   inc) if (incident_time_parse(json_path_str(inc, "openedAt", NULL), &t) == 0 &&
				    t > last) last = t;
	return last;
}

static int incident_queue(json_t *pending, const char *incident, const struct incident_cfg *cfg,
			  const char *action, time_t now, size_t *dropped)
{
	char when[32], id[512];

	incident_time_format(now, when, sizeof(when));
	for (size_t s = 0; s < cfg->nsinks; s++) {
		json_t *e;

		if (json_array_size(pending) >= INCIDENT_MAX_PENDING) {
			(*dropped)++;
			continue;
		}
		snprintf(id, sizeof(id), "%s/%zu/%s", incident, s, action);
		e = json_pack("{s:s, s:s, s:I, s:s, s:s, s:i, s:s}", "id", id, "incident", incident, "sink",
			      (json_int_t)s, "type", cfg->sink_types[s], "action", action, "attempts", 0,
			      "nextAttemptAt", when);
		if (!e || json_array_append_new(pending, e))
			return SAQR_ENOMEM;
	}
	return 0;
}

/* Keep at most INCIDENT_MAX_KEPT incidents, dropping the oldest resolved ones first. */
static void incident_trim(json_t *incidents)
{
	while (json_array_size(incidents) > INCIDENT_MAX_KEPT) {
		size_t i, victim = 0;
		json_t *inc;

		json_array_foreach(incidents, i, inc)
		{
			if (json_object_get(inc, "resolvedAt")) {
				victim = i;
				break;
			}
		}
		json_array_remove(incidents, victim);
	}
}

static int incident_open_new(struct incident_plan *plan, const struct incident_eval *ev,
			     const struct incident_cfg *cfg, time_t now)
{
	char when[32], stamp[32], id[300];
	struct tm tm;
	json_t *inc;

	incident_time_format(now, when, sizeof(when));
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	snprintf(id, sizeof(id), "%s-%s", cfg->policy_name, stamp);
	inc = json_pack("{s:s, s:s, s:s, s:s, s:b}", "id", id, "reason",
			ev->reason ? ev->reason : "DriftDetected", "summary", ev->summary ? ev->summary : "",
			"openedAt", when, "notified", cfg->nsinks == 0);
	if (!inc || json_array_append_new(plan->incidents, inc))
		return SAQR_ENOMEM;
	plan->opened = json_string_value(json_object_get(inc, "id"));
	plan->retrain = cfg->retrain;
	plan->rollback = cfg->rollback;
	incident_trim(plan->incidents);
	return incident_queue(plan->pending, plan->opened, cfg, "trigger", now, &plan->dropped);
}

static int incident_resolve(struct incident_plan *plan, json_t *inc, const struct incident_cfg *cfg,
			    time_t now)
{
	char when[32];

	incident_time_format(now, when, sizeof(when));
	if (json_object_set_new(inc, "resolvedAt", json_string(when)))
		return SAQR_ENOMEM;
	plan->resolved = json_string_value(json_object_get(inc, "id"));
	return incident_queue(plan->pending, plan->resolved, cfg, "resolve", now, &plan->dropped);
}

int incident_step(const json_t *status, const struct incident_eval *ev, const struct incident_cfg *cfg,
		  time_t now, struct incident_plan *plan)
{
	json_t *open;
	const json_t *incs = json_object_get(status, "incidents");
	const json_t *pend = json_object_get(status, "pendingNotifications");

	memset(plan, 0, sizeof(*plan));
	plan->incidents = json_is_array(incs) ? json_deep_copy(incs) : json_array();
	plan->pending = json_is_array(pend) ? json_deep_copy(pend) : json_array();
	if (!plan->incidents || !plan->pending) {
		incident_plan_release(plan);
		return SAQR_ENOMEM;
	}
	open = incident_open(plan->incidents);
	if (ev->breached && !open) {
		time_t last = incident_last_opened(plan->incidents);

		if (last && now < last + cfg->cooldown_seconds) {
			plan->suppressed = true;
			return 0;
		}
		return incident_open_new(plan, ev, cfg, now);
	}
	if (!ev->breached && open)
		return incident_resolve(plan, open, cfg, now);
	return 0;
}

void incident_plan_release(struct incident_plan *plan)
{
	if (!plan)
		return;
	json_decref(plan->incidents);
	json_decref(plan->pending);
	memset(plan, 0, sizeof(*plan));
}

bool incident_pending_due(const json_t *pending_entry, time_t now)
{
	time_t t;

	if (incident_time_parse(json_path_str(pending_entry, "nextAttemptAt", NULL), &t))
		return true;
	return t <= now;
}

int incident_pending_failed(json_t *pending_entry, const char *error, time_t now)
{
	long long attempts = json_path_int(pending_entry, "attempts", 0) + 1;
	long delay = INCIDENT_RETRY_BASE;
	char when[32];

	for (long long i = 1; i < attempts && delay < INCIDENT_RETRY_MAX; i++)
		delay *= 2;
	if (delay > INCIDENT_RETRY_MAX)
		delay = INCIDENT_RETRY_MAX;
	incident_time_format(now + delay, when, sizeof(when));
	if (json_object_set_new(pending_entry, "attempts", json_integer(attempts)) ||
	    json_object_set_new(pending_entry, "nextAttemptAt", json_string(when)) ||
	    json_object_set_new(pending_entry, "lastError", json_string(error ? error : "")))
		return SAQR_ENOMEM;
	return 0;
}
