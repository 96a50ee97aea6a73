/* saqr-webhook's routes, and an AdmissionReview decided by the policy engine: the request is
 * parsed, evaluated against the policy in use (held by reference for the whole request, so a
 * reload never pulls it away), answered, counted and logged.
 *
 * An exempt or break-glass request is admitted, but its audit annotations still say what the
 * policy would have decided without the exemption (`engine-decision`) and which deny-mode
 * findings were waived (`waived-violations`): the object is judged a second time, as though no
 * exemption applied, so that an auditor sees what was let through. */
#include "webhook/webhook.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/err.h"
#include "common/log.h"
#include "webhook/admission.h"
#include "webhook/arena.h"
#include "webhook/decisionlog.h"

#define WEBHOOK_LABEL_MAX 64

static const double webhook__buckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
					  0.01,	  0.025,   0.05,   0.1,	  0.25,	  1};

struct webhook {
	struct reload *reload;
	struct metrics *metrics;
	struct decisionlog *dlog;
	size_t max_body;
	atomic_bool serving;
};

/* What one review decided: the reply's parts, and what metrics and the log need. */
struct webhook__outcome {
	const char *decision; /* "allow", "deny" or "error" */
	struct buf message;   /* the denial */
	char **warnings;
	size_t nwarnings;
	json_t *annotations;	  /* auditAnnotations (owned) */
	json_t *rules;		  /* distinct rule ids of every finding (owned) */
	unsigned long generation; /* of the policy that decided */
	bool exempt;
	const char *engine_decision; /* "allow" or "deny" without any exemption */
	struct buf waived;	     /* deny-mode rule ids an exemption or break-glass waived */
};

int webhook_new(const struct webhook_opts *opts, struct webhook **out)
{
	struct webhook *wh;
	int rc;

	if (!opts->reload || !opts->metrics)
		return SAQR_EINVAL;
	arena_install();
	wh = calloc(1, sizeof(*wh));
	if (!wh)
		return SAQR_ENOMEM;
	wh->reload = opts->reload;
	wh->metrics = opts->metrics;
	wh->max_body = opts->max_body ? opts->max_body : WEBHOOK_MAX_BODY;
	atomic_init(&wh->serving, false);
	rc = decisionlog_new(0, wh->metrics, &wh->dlog);
	if (!rc)
		rc = decisionlog_start(wh->dlog);
	if (rc) {
		webhook_free(wh);
		return rc;
	}
	*out = wh;
	return 0;
}

void webhook_free(struct webhook *wh)
{
	if (!wh)
		return;
	decisionlog_free(wh->dlog); /* writes what is still queued */
	free(wh);
}

void webhook_set_serving(struct webhook *wh, bool serving)
{
	atomic_store(&wh->serving, serving);
}

static double webhook__now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- metrics and the decision log ---- */

/* A label value from a closed list, so that requests cannot grow the metrics without bound. */
static const char *webhook__known(const char *v, const char *const *known)
{
	if (!v || !*v)
		return "unknown";
	for (; *known; known++)
		if (strcmp(v, *known) == 0)
			return v;
	return "other";
}

static void webhook__count(struct webhook *wh, const char *kind, const char *operation, const char *decision,
			   double seconds)
{
	static const char *const kinds[] = {"Pod",	   "Deployment",  "StatefulSet", "DaemonSet",
					    "ReplicaSet",  "Job",	  "CronJob",	 "ModelDeployment",
					    "TrainingJob", "DriftPolicy", NULL};
	static const char *const operations[] = {"CREATE", "UPDATE", "DELETE", "CONNECT", NULL};
	char labels[160];

	snprintf(labels, sizeof(labels), "kind=\"%s\",operation=\"%s\",decision=\"%s\"",
		 webhook__known(kind, kinds), webhook__known(operation, operations), decision);
	metrics_counter_add(wh->metrics, "saqr_admission_requests_total", "AdmissionReviews answered.",
			    labels, 1);
	metrics_histogram_observe(wh->metrics, "saqr_admission_duration_seconds",
				  "Time to decide one AdmissionReview, from parse to reply.", "",
				  webhook__buckets, sizeof(webhook__buckets) / sizeof(webhook__buckets[0]),
				  seconds);
}

static void webhook__count_violations(struct webhook *wh, const struct policy_decision *d)
{
	char rule[WEBHOOK_LABEL_MAX * 2], labels[WEBHOOK_LABEL_MAX * 3];

	for (size_t i = 0; i < d->nviolations; i++) {
		metrics_escape_label(d->violations[i].rule, rule, sizeof(rule));
		snprintf(labels, sizeof(labels), "rule=\"%s\"", rule);
		metrics_counter_add(wh->metrics, "saqr_policy_violations_total",
				    "Policy findings in admitted or denied requests, by rule.", labels, 1);
	}
}

/* Why an exemption applied, for `saqrctl report`: exemptReason (namespace, user or group), the
 * object's break-glass (reason, expiry, honoured or refused) and the deny-mode rules waived. */
static int webhook__log_exemption(const struct webhook__outcome *o, json_t *f)
{
	static const char *const keys[][2] = {{"exempt", "exemptReason"},
					      {"break-glass", "breakGlass"},
					      {"break-glass-expires", "breakGlassExpires"},
					      {"break-glass-status", "breakGlassStatus"}};
	int rc = 0;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *v = json_object_get(o->annotations, keys[i][0]);

		if (json_is_string(v))
			rc |= json_object_set(f, keys[i][1], v);
	}
	if (o->waived.len)
		rc |= json_object_set_new(f, "waived", json_string(buf_str(&o->waived)));
	return rc ? SAQR_ENOMEM : 0;
}

/* One line per decision, written off the request path; never the object. */
static void webhook__log(struct webhook *wh, const struct admission_request *ar,
			 const struct webhook__outcome *o, double seconds)
{
	json_t *f;

	if (!log_enabled(LOG_LVL_INFO))
		return;
	f = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:O, s:i, s:b, s:b, s:I, s:I}", "uid",
		      ar->uid, "user", ar->username, "kind", ar->kind, "namespace", ar->namespace, "name",
		      ar->name, "operation", ar->operation, "decision", o->decision, "engineDecision",
		      o->engine_decision ? o->engine_decision : o->decision, "rules", o->rules, "warnings",
		      (int)o->nwarnings, "dryRun", ar->dry_run, "exempt", o->exempt, "policyGeneration",
		      (json_int_t)o->generation, "durationUs", (json_int_t)(seconds * 1e6));
	if (f && webhook__log_exemption(o, f) != 0) {
		json_decref(f);
		f = NULL;
	}
	if (f)
		decisionlog_push(wh->dlog, "admission decision", f);
}

/* ---- from a policy decision to a verdict ---- */

static char *webhook__finding(const struct policy_violation *v)
{
	struct buf b;

	buf_init(&b, (size_t)64 << 10);
	if (buf_addf(&b, "[%s] %s: %s", v->rule, v->path ? v->path : "", v->message ? v->message : "")) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b);
}

static int webhook__warnings(const struct policy_decision *d, struct webhook__outcome *o)
{
	size_t n = 0;

	for (size_t i = 0; i < d->nviolations; i++)
		n += d->violations[i].enforcement == POLICY_ENFORCE_WARN;
	if (!n)
		return 0;
	o->warnings = calloc(n, sizeof(*o->warnings));
	if (!o->warnings)
		return SAQR_ENOMEM;
	for (size_t i = 0; i < d->nviolations; i++) {
		if (d->violations[i].enforcement != POLICY_ENFORCE_WARN)
			continue;
		o->warnings[o->nwarnings] = webhook__finding(&d->violations[i]);
		if (!o->warnings[o->nwarnings])
			return SAQR_ENOMEM;
		o->nwarnings++;
	}
	return 0;
}

static bool webhook__has_rule(const json_t *rules, const char *rule)
{
	size_t i;
	json_t *v;

	json_array_foreach(rules, i, v) if (strcmp(json_string_value(v), rule) == 0) return true;
	return false;
}

static int webhook__rules(const struct policy_decision *d, struct webhook__outcome *o, struct buf *joined)
{
	for (size_t i = 0; i < d->nviolations; i++) {
		const char *rule = d->violations[i].rule ? d->violations[i].rule : "";

		if (webhook__has_rule(o->rules, rule))
			continue;
		if (json_array_append_new(o->rules, json_string(rule)))
			return SAQR_ENOMEM;
		if (buf_addf(joined, "%s%s", joined->len ? "," : "", rule) == SAQR_ENOMEM)
			return SAQR_ENOMEM;
	}
	return 0;
}

/* The engine's audit annotations, plus the decision, the rules found and dry-run. */
static int webhook__annotations(const struct admission_request *ar, const struct policy_decision *d,
				struct webhook__outcome *o)
{
	struct buf joined;
	int rc;

	buf_init(&joined, ADMISSION_ANNOTATION_VALUE_MAX);
	o->annotations = json_object();
	if (!o->annotations)
		return SAQR_ENOMEM;
	if (json_is_object(d->audit_annotations))
		json_object_update(o->annotations, d->audit_annotations);
	rc = webhook__rules(d, o, &joined);
	if (!rc && json_object_set_new(o->annotations, "decision", json_string(o->decision)))
		rc = SAQR_ENOMEM;
	if (!rc && joined.len &&
	    json_object_set_new(o->annotations, "violations", json_string(buf_str(&joined))))
		rc = SAQR_ENOMEM;
	if (!rc && o->engine_decision &&
	    json_object_set_new(o->annotations, "engine-decision", json_string(o->engine_decision)))
		rc = SAQR_ENOMEM;
	if (!rc && o->waived.len &&
	    json_object_set_new(o->annotations, "waived-violations", json_string(buf_str(&o->waived))))
		rc = SAQR_ENOMEM;
	if (!rc && ar->dry_run && json_object_set_new(o->annotations, "dry-run", json_string("true")))
		rc = SAQR_ENOMEM;
	buf_release(&joined);
	return rc;
}

static int webhook__outcome_fill(const struct admission_request *ar, const struct policy_decision *d,
				 struct webhook__outcome *o)
{
	int rc;

	o->decision = d->allowed ? "allow" : "deny";
	o->exempt = d->exempt;
	rc = webhook__warnings(d, o);
	if (!rc && !d->allowed)
		rc = policy_decision_deny_message(d, &o->message);
	if (!rc)
		rc = webhook__annotations(ar, d, o);
	return rc;
}

static void webhook__outcome_release(struct webhook__outcome *o)
{
	buf_release(&o->waived);
	for (size_t i = 0; i < o->nwarnings; i++)
		free(o->warnings[i]);
	free(o->warnings);
	json_decref(o->annotations);
	json_decref(o->rules);
	buf_release(&o->message);
}

/* ---- replies ---- */

static void webhook__status(struct httpd_response *resp, int code, const char *reason, const char *message)
{
	resp->status = code;
	resp->content_type = "application/json";
	buf_reset(&resp->body);
	if (admission_error_body(code, reason, message, &resp->body))
		buf_reset(&resp->body);
}

static int webhook__eval(const struct policy *p, const struct admission_request *ar,
			 struct policy_decision *d)
{
	struct policy_user user = {.username = ar->username, .groups = ar->groups, .ngroups = ar->ngroups};
	struct policy_input in = {
	    .object = ar->object,
	    .operation = ar->operation,
	    .namespace = ar->namespace[0] ? ar->namespace : NULL,
	    .user = &user,
	    .now = time(NULL),
	};

	/* only what creates or changes an object is judged; DELETE and CONNECT carry none */
	if (!ar->object) {
		d->allowed = true;
		return 0;
	}
	return policy_eval(p, &in, d);
}

/* The object as the engine would see it with no exemption: no break-glass annotation and no
 * namespace (the request's namespace and user are left out too). Shallow copies: the values
 * below are shared. NULL when out of memory. */
static json_t *webhook__unexempted(const json_t *object)
{
	json_t *obj = json_copy((json_t *)object), *meta, *ann;

	meta = obj ? json_object_get(obj, "metadata") : NULL;
	if (!json_is_object(meta))
		return obj;
	meta = json_copy(meta);
	if (!meta || json_object_set_new(obj, "metadata", meta)) {
		json_decref(obj);
		return NULL;
	}
	json_object_del(meta, "namespace");
	ann = json_object_get(meta, "annotations");
	if (!json_is_object(ann))
		return obj;
	ann = json_copy(ann);
	if (!ann || json_object_set_new(meta, "annotations", ann)) {
		json_decref(obj);
		return NULL;
	}
	json_object_del(ann, "saqr.dev/break-glass");
	return obj;
}

/* Whether rule is an item of the comma-separated list. */
static bool webhook__listed(const struct buf *list, const char *rule)
{
	size_t n = strlen(rule);

	for (const char *p = buf_str(list); p && (p = strstr(p, rule)) != NULL; p += n)
		if ((p == buf_str(list) || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

/* For an exempt request, what the policy decides without the exemption, and the deny-mode
 * findings that were waived. */
static int webhook__waived(const struct policy *p, const struct admission_request *ar,
			   struct webhook__outcome *o)
{
	struct policy_input in = {.operation = ar->operation, .now = time(NULL)};
	struct policy_decision shadow;
	int rc;

	in.object = webhook__unexempted(ar->object);
	if (!in.object)
		return SAQR_ENOMEM;
	policy_decision_init(&shadow);
	rc = policy_eval(p, &in, &shadow);
	if (!rc && shadow.exempt) /* exempt on grounds the copy cannot drop: nothing to compare */
		o->engine_decision = NULL;
	else if (!rc)
		o->engine_decision = shadow.allowed ? "allow" : "deny";
	for (size_t i = 0; !rc && i < shadow.nviolations; i++) {
		const struct policy_violation *v = &shadow.violations[i];

		if (v->enforcement == POLICY_ENFORCE_DENY && !webhook__listed(&o->waived, v->rule) &&
		    buf_addf(&o->waived, "%s%s", o->waived.len ? "," : "", v->rule) == SAQR_ENOMEM)
			rc = SAQR_ENOMEM;
	}
	policy_decision_release(&shadow);
	json_decref((json_t *)in.object);
	return rc;
}

/* Evaluate and fill o; on an engine failure the request is denied (fail closed). */
static int webhook__decide(struct webhook *wh, const struct admission_request *ar, struct webhook__outcome *o)
{
	struct reload_policy *rp = reload_policy_get(wh->reload);
	struct policy_decision d;
	int rc;

	policy_decision_init(&d);
	o->generation = rp->generation;
	rc = webhook__eval(rp->policy, ar, &d);
	o->engine_decision = d.allowed ? "allow" : "deny";
	if (!rc && d.exempt && ar->object)
		rc = webhook__waived(rp->policy, ar, o);
	if (!rc)
		rc = webhook__outcome_fill(ar, &d, o);
	if (!rc)
		webhook__count_violations(wh, &d);
	policy_decision_release(&d);
	reload_policy_put(rp);
	return rc;
}

static int webhook__reply(const struct admission_request *ar, const struct webhook__outcome *o, int eval_rc,
			  struct buf *out)
{
	char msg[160];
	struct admission_verdict v = {
	    .allowed = !eval_rc && strcmp(o->decision, "allow") == 0,
	    .code = 403,
	    .reason = "Forbidden",
	    .message = buf_str(&o->message),
	    .warnings = (const char *const *)o->warnings,
	    .nwarnings = o->nwarnings,
	    .audit_annotations = o->annotations,
	};

	if (eval_rc) {
		snprintf(msg, sizeof(msg), "saqr could not evaluate the policy: %s", saqr_strerror(eval_rc));
		v.code = 500;
		v.reason = "InternalError";
		v.message = msg;
	}
	return admission_response(ar, &v, out);
}

static void webhook__decide_and_reply(struct webhook *wh, const struct admission_request *ar,
				      struct httpd_response *resp, double t0)
{
	struct webhook__outcome o = {.decision = "error"};
	int rc;

	buf_init(&o.message, ADMISSION_MESSAGE_MAX * 2);
	buf_init(&o.waived, ADMISSION_ANNOTATION_VALUE_MAX);
	o.rules = json_array();
	rc = o.rules ? webhook__decide(wh, ar, &o) : SAQR_ENOMEM;
	if (rc)
		o.decision = "error";
	buf_reset(&resp->body);
	if (webhook__reply(ar, &o, rc, &resp->body)) {
		webhook__status(resp, 500, "InternalError", "saqr could not write the AdmissionReview reply");
		o.decision = "error";
	}
	webhook__count(wh, ar->kind, ar->operation, o.decision, webhook__now() - t0);
	webhook__log(wh, ar, &o, webhook__now() - t0);
	webhook__outcome_release(&o);
}

void webhook_review(struct webhook *wh, const char *body, size_t len, struct httpd_response *resp)
{
	struct admission_request ar;
	double t0 = webhook__now();
	char err[512];
	int rc;

	rc = admission_parse(body, len, wh->max_body, &ar, err, sizeof(err));
	if (rc) {
		webhook__status(resp, rc == SAQR_ETOOBIG ? 413 : 400,
				rc == SAQR_ETOOBIG ? "RequestEntityTooLarge" : "BadRequest", err);
		webhook__count(wh, NULL, NULL, "error", webhook__now() - t0);
		log_warn("AdmissionReview refused", "error", err);
		return;
	}
	resp->status = 200;
	resp->content_type = "application/json";
	webhook__decide_and_reply(wh, &ar, resp, t0);
	admission_request_release(&ar);
}

/* ---- routes ---- */

static void webhook__text(struct httpd_response *resp, int status, const char *text)
{
	resp->status = status;
	resp->content_type = "text/plain; charset=utf-8";
	buf_reset(&resp->body);
	buf_adds(&resp->body, text);
}

static bool webhook__json_body(const char *content_type)
{
	return !*content_type || strncasecmp(content_type, "application/json", 16) == 0;
}

static void webhook__validate(struct webhook *wh, const struct httpd_request *req,
			      struct httpd_response *resp)
{
	if (strcmp(req->method, "POST") != 0) {
		webhook__status(resp, 405, "MethodNotAllowed", "POST an AdmissionReview to /validate");
		return;
	}
	if (!webhook__json_body(req->content_type)) {
		webhook__status(resp, 415, "UnsupportedMediaType", "an AdmissionReview is application/json");
		return;
	}
	webhook_review(wh, req->body, req->body_len, resp);
}

static void webhook__metrics(struct webhook *wh, struct httpd_response *resp)
{
	buf_reset(&resp->body);
	if (metrics_render(wh->metrics, &resp->body)) {
		webhook__text(resp, 500, "metrics could not be rendered\n");
		return;
	}
	resp->status = 200;
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

void webhook_handle(void *ud, const struct httpd_request *req, struct httpd_response *resp)
{
	if (strcmp(req->path, "/validate") == 0)
		webhook__validate(ud, req, resp);
	else
		webhook_handle_ops(ud, req, resp);
}

void webhook_handle_ops(void *ud, const struct httpd_request *req, struct httpd_response *resp)
{
	struct webhook *wh = ud;

	if (strcmp(req->method, "GET") != 0) {
		webhook__status(resp, 405, "MethodNotAllowed", "only GET is served here");
		return;
	}
	if (strcmp(req->path, "/healthz") == 0 || strcmp(req->path, "/livez") == 0)
		webhook__text(resp, 200, "ok\n");
	else if (strcmp(req->path, "/readyz") == 0)
		webhook__text(resp, atomic_load(&wh->serving) ? 200 : 503,
			      atomic_load(&wh->serving) ? "ok\n" : "not serving\n");
	else if (strcmp(req->path, "/metrics") == 0)
		webhook__metrics(wh, resp);
	else
		webhook__status(resp, 404, "NotFound", "no such path");
}
