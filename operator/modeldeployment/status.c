/* ModelDeployment status from the observed Deployments: replica counts, URL, conditions
 * (Ready, Available, Progressing, Degraded), the model now serving and the rollout history.
 * Deterministic: `now` is only used for conditions that change status and for new history
 * entries, so the same world gives the same status. */
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "operator/conditions.h"
#include "operator/modeldeployment/internal.h"
#include "operator/modeldeployment/modeldeployment.h"

#define MSG_MAX 1024

/* What one Deployment says about its rollout (after `kubectl rollout status`). */
struct rollout {
	bool exists, complete, deadline, failure;
	const char *available; /* status of its Available condition, or NULL */
	const char *avail_reason, *avail_msg;
	const char *fail_reason, *fail_msg;
	long long replicas, ready;
	char msg[MSG_MAX]; /* why it is not complete */
};

struct md_eval {
	struct md__plan p;
	const struct md_observed *obs;
	const json_t *prev; /* md's current status, may be NULL */
	const char *now;
	struct rollout prim, can;
	bool valid, model_ok, rolled_out;
	json_t *deployed; /* model in the primary's pod template (owned), or NULL */
	char invalid_msg[MSG_MAX];
	char url[512];
};

/* A failure that makes md Degraded: what and why. */
struct md_failure {
	const char *reason;
	char msg[MSG_MAX];
};

static void rollout_failures(const json_t *conds, struct rollout *r)
{
	r->deadline = cond_has_status(conds, "Progressing", COND_FALSE) &&
		      strcmp(cond_reason(conds, "Progressing", ""), "ProgressDeadlineExceeded") == 0;
	r->failure = cond_has_status(conds, "ReplicaFailure", COND_TRUE);
	if (r->deadline) {
		r->fail_reason = "ProgressDeadlineExceeded";
		r->fail_msg = cond_message(conds, "Progressing", "");
	} else if (r->failure) {
		r->fail_reason = cond_reason_or(cond_reason(conds, "ReplicaFailure", NULL), "ReplicaFailure");
		r->fail_msg = cond_message(conds, "ReplicaFailure", "");
	}
}

static void rollout_of(const json_t *dep, const char *name, struct rollout *r)
{
	const json_t *st = json_object_get(dep, "status");
	const json_t *conds = json_object_get(st, "conditions");
	long long want = json_path_int(dep, "spec.replicas", 1);
	long long updated = json_path_int(st, "updatedReplicas", 0);
	long long avail = json_path_int(st, "availableReplicas", 0);

	memset(r, 0, sizeof(*r));
	r->exists = dep != NULL;
	r->replicas = json_path_int(st, "replicas", 0);
	r->ready = json_path_int(st, "readyReplicas", 0);
	r->available = json_string_value(json_object_get(cond_find(conds, "Available"), "status"));
	r->avail_reason = cond_reason(conds, "Available", NULL);
	r->avail_msg = cond_message(conds, "Available", "");
	rollout_failures(conds, r);
	if (!dep)
		snprintf(r->msg, sizeof(r->msg), "Deployment %s does not exist yet", name);
	else if (json_path_int(st, "observedGeneration", 0) < json_path_int(dep, "metadata.generation", 0))
		snprintf(r->msg, sizeof(r->msg), "waiting for Deployment %s to observe its latest spec",
			 name);
	else if (updated < want)
		snprintf(r->msg, sizeof(r->msg), "Deployment %s: %lld of %lld new replicas updated", name,
			 updated, want);
	else if (r->replicas > updated)
		snprintf(r->msg, sizeof(r->msg), "Deployment %s: %lld old replicas pending termination", name,
			 r->replicas - updated);
	else if (avail < updated)
		snprintf(r->msg, sizeof(r->msg), "Deployment %s: %lld of %lld updated replicas available",
			 name, avail, updated);
	else
		r->complete = !r->deadline;
}

/* ---- models ---- */

static const char *env_value(const json_t *env, const char *name)
{
	size_t i;
	json_t *e;

	json_array_foreach(env, i, e)
	{
		const char *n = json_string_value(json_object_get(e, "name"));

		if (n && strcmp(n, name) == 0)
			return json_string_value(json_object_get(e, "value"));
	}
	return NULL;
}

/* The value after flag in the args of the pod template's init container name, or NULL. */
static const char *init_arg(const json_t *tmpl, const char *name, const char *flag)
{
	size_t i, j;
	json_t *c, *a;

	json_array_foreach(json_path(tmpl, "spec.initContainers"), i, c)
	{
		const json_t *args = json_object_get(c, "args");

		if (strcmp(json_path_str(c, "name", ""), name) != 0)
			continue;
		json_array_foreach(args, j,
				   a) if (json_is_string(a) &&
					  strcmp(json_string_value(a), flag) ==
					      0) return json_string_value(json_array_get(args, j + 1));
	}
	return NULL;
}

static int set_opt(json_t *obj, const char *key, const char *v)
{
	return v && *v ? json_object_set_new(obj, key, json_string(v)) : 0;
}

/* The model a Deployment's pod template serves ({version, uri, digest, format, signature: what
 * saqr-fetch verifies}), or NULL. */
static json_t *deployed_model(const json_t *dep)
{
	const json_t *tmpl = json_path(dep, "spec.template");
	const json_t *env = json_path(tmpl, "spec.containers.0.env");
	const char *uri = env_value(env, "SAQR_MODEL_URI");
	json_t *m;

	if (!uri || !*uri)
		return NULL;
	m = json_object();
	if (!m ||
	    set_opt(m, "version",
		    json_string_value(
			json_object_get(json_path(tmpl, "metadata.annotations"), MD_ANN_MODEL_VERSION))) ||
	    set_opt(m, "uri", uri) || set_opt(m, "digest", env_value(env, "SAQR_MODEL_DIGEST")) ||
	    set_opt(m, "format", env_value(env, "SAQR_MODEL_FORMAT")) ||
	    set_opt(m, "signature", init_arg(tmpl, MD_FETCH_CONTAINER, "--signature"))) {
		json_decref(m);
		return NULL;
	}
	return m;
}

static bool same_str(const json_t *a, const json_t *b, const char *key)
{
	const char *x = json_path_str(a, key, ""), *y = json_path_str(b, key, "");

	return strcmp(x, y) == 0;
}

/* Same model: uri, version and digest all equal (missing equals empty). */
static bool same_model(const json_t *a, const json_t *b)
{
	return a && b && same_str(a, b, "uri") && same_str(a, b, "version") && same_str(a, b, "digest");
}

static json_t *model_subset(const json_t *m, bool with_format, const char *deployed_at)
{
	json_t *o = json_object();

	if (!o || set_opt(o, "version", json_path_str(m, "version", NULL)) ||
	    set_opt(o, "uri", json_path_str(m, "uri", NULL)) ||
	    set_opt(o, "digest", json_path_str(m, "digest", NULL)) ||
	    (with_format && set_opt(o, "format", json_path_str(m, "format", NULL))) ||
	    set_opt(o, "signature", json_path_str(m, "signature", NULL)) ||
	    set_opt(o, "deployedAt", deployed_at)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* history with cur in front (deployedAt now), earlier entries of the same model dropped,
 * at most MD_HISTORY_MAX entries. cur may be NULL: then a capped copy of prev. */
static json_t *history_with(const json_t *prev, const json_t *cur, const char *now)
{
	json_t *h = json_array(), *e;
	size_t i;

	if (h && cur && json_array_append_new(h, model_subset(cur, true, now))) {
		json_decref(h);
		return NULL;
	}
	json_array_foreach(prev, i, e)
	{
		if (!h || json_array_size(h) >= MD_HISTORY_MAX)
			break;
		if (json_is_object(e) && !(cur && same_model(cur, e)) &&
		    json_array_append_new(h, json_deep_copy(e))) {
			json_decref(h);
			return NULL;
		}
	}
	return h;
}

/* currentModel and history. A model becomes current once the primary has fully rolled it out;
 * until then the previous current model (still serving) is kept. */
static int set_models(json_t *st, const struct md_eval *e)
{
	const json_t *prev_cur = json_object_get(e->prev, "currentModel");
	bool rolled = e->prim.complete && e->deployed;
	bool is_new = rolled && !same_model(e->deployed, prev_cur);
	bool keep = rolled || json_is_object(prev_cur);
	json_t *cur = NULL, *hist;
	int rc = 0;

	if (rolled)
		cur = model_subset(e->deployed, false, NULL);
	else if (keep)
		cur = json_deep_copy(prev_cur);
	hist = history_with(json_object_get(e->prev, "history"), is_new ? e->deployed : NULL, e->now);
	if (!hist || (keep && !cur))
		rc = SAQR_ENOMEM;
	else if (json_is_object(cur) && json_object_set(st, "currentModel", cur))
		rc = SAQR_ENOMEM;
	else if (json_array_size(hist) > 0 && json_object_set(st, "history", hist))
		rc = SAQR_ENOMEM;
	json_decref(cur);
	json_decref(hist);
	return rc;
}

/* ---- conditions ---- */

/* The first failure, in order: invalid spec, apply error, primary then canary rollout failure. */
static bool find_failure(const struct md_eval *e, struct md_failure *f)
{
	const struct rollout *can = e->p.canary ? &e->can : NULL;

	if (!e->valid) {
		f->reason = MD_REASON_INVALID;
		snprintf(f->msg, sizeof(f->msg), "%s", e->invalid_msg);
	} else if (e->obs->apply_error) {
		f->reason = MD_REASON_APPLY_FAILED;
		snprintf(f->msg, sizeof(f->msg), "%s", e->obs->apply_error);
	} else if (e->prim.fail_reason) {
		f->reason = e->prim.fail_reason;
		snprintf(f->msg, sizeof(f->msg), "Deployment %s: %s", e->p.dep_name, e->prim.fail_msg);
	} else if (can && can->fail_reason) {
		f->reason = can->fail_reason;
		snprintf(f->msg, sizeof(f->msg), "canary Deployment %s: %s", e->p.canary_name, can->fail_msg);
	} else {
		return false;
	}
	return true;
}

static int cond_put(json_t *conds, const struct md_eval *e, const char *type, const char *status,
		    const char *reason, const char *msg)
{
	struct cond c = {type, status, reason, msg, e->p.generation};

	return cond_set(conds, json_object_get(e->prev, "conditions"), &c, e->now);
}

static int set_available(json_t *conds, const struct md_eval *e)
{
	char msg[MSG_MAX];
	bool yes;

	if (!e->prim.exists)
		return cond_put(conds, e, "Available", COND_UNKNOWN, "DeploymentNotFound", e->prim.msg);
	if (!e->prim.available) {
		snprintf(msg, sizeof(msg), "Deployment %s has not reported availability yet", e->p.dep_name);
		return cond_put(conds, e, "Available", COND_UNKNOWN, "AwaitingStatus", msg);
	}
	yes = strcmp(e->prim.available, COND_TRUE) == 0;
	return cond_put(conds, e, "Available", e->prim.available,
			cond_reason_or(e->prim.avail_reason,
				       yes ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable"),
			e->prim.avail_msg);
}

/* Why the rollout is not complete (primary, then the model it runs, then the canary). */
static void pending_message(const struct md_eval *e, char *msg, size_t len)
{
	if (!e->prim.complete)
		snprintf(msg, len, "%s", e->prim.msg);
	else if (!e->model_ok)
		snprintf(msg, len, "waiting for Deployment %s to run model version %s", e->p.dep_name,
			 json_path_str(e->p.spec, "model.version", "(unset)"));
	else
		snprintf(msg, len, "%s", e->can.msg);
}

static int set_progressing(json_t *conds, const struct md_eval *e)
{
	char msg[MSG_MAX];

	if (e->prim.deadline || (e->p.canary && e->can.deadline))
		return cond_put(conds, e, "Progressing", COND_FALSE, "ProgressDeadlineExceeded",
				e->prim.deadline ? e->prim.fail_msg : e->can.fail_msg);
	if (e->rolled_out) {
		snprintf(msg, sizeof(msg), "Deployment %s has rolled out model version %s", e->p.dep_name,
			 json_path_str(e->deployed, "version", "(unset)"));
		return cond_put(conds, e, "Progressing", COND_FALSE, "NewReplicaSetAvailable", msg);
	}
	pending_message(e, msg, sizeof(msg));
	return cond_put(conds, e, "Progressing", COND_TRUE, "RollingOut", msg);
}

static int set_degraded(json_t *conds, const struct md_eval *e)
{
	struct md_failure f;

	if (find_failure(e, &f))
		return cond_put(conds, e, "Degraded", COND_TRUE, f.reason, f.msg);
	return cond_put(conds, e, "Degraded", COND_FALSE, "AsExpected", "no failure reported");
}

static int set_ready(json_t *conds, const struct md_eval *e)
{
	struct md_failure f;
	char msg[MSG_MAX];

	if (find_failure(e, &f))
		return cond_put(conds, e, "Ready", COND_FALSE, f.reason, f.msg);
	if (!e->prim.exists)
		return cond_put(conds, e, "Ready", COND_FALSE, "DeploymentNotFound", e->prim.msg);
	if (!e->prim.available || strcmp(e->prim.available, COND_TRUE) != 0) {
		snprintf(msg, sizeof(msg), "Deployment %s is not available%s%s", e->p.dep_name,
			 *e->prim.avail_msg ? ": " : "", e->prim.avail_msg);
		return cond_put(conds, e, "Ready", COND_FALSE, "NotAvailable", msg);
	}
	if (!e->rolled_out) {
		pending_message(e, msg, sizeof(msg));
		return cond_put(conds, e, "Ready", COND_FALSE, "RollingOut", msg);
	}
	snprintf(msg, sizeof(msg), "model version %s is serving at %s",
		 json_path_str(e->deployed, "version", "(unset)"), e->url);
	return cond_put(conds, e, "Ready", COND_TRUE, "RolloutComplete", msg);
}

/* ---- ModelVerified (saqr-fetch) ---- */

static bool known_fetch_reason(const char *r)
{
	return strcmp(r, MD_COND_MODEL_VERIFIED) == 0 || strcmp(r, "DigestMismatch") == 0 ||
	       strcmp(r, "SignatureInvalid") == 0 || strcmp(r, "FetchFailed") == 0;
}

/* The refusal reason as a static string (f->reason outlives the buffer it was read into). */
static const char *fetch_refusal(const char *r)
{
	static const char *const refusals[] = {"DigestMismatch", "SignatureInvalid"};

	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++)
		if (strcmp(r, refusals[i]) == 0)
			return refusals[i];
	return "FetchFailed";
}

static const json_t *fetch_status(const json_t *pod)
{
	size_t i;
	json_t *s;

	json_array_foreach(json_path(pod, "status.initContainerStatuses"), i, s)
	{
		if (strcmp(json_path_str(s, "name", ""), MD_FETCH_CONTAINER) == 0)
			return s;
	}
	return NULL;
}

bool md_fetch_result(const json_t *pod, char *reason, size_t reasonlen, char *msg, size_t msglen)
{
	const json_t *st = fetch_status(pod);
	const json_t *term = json_path(st, "state.terminated");
	const char *text, *r;
	long long code;
	json_t *tm;
	char err[128];

	if (!json_is_object(term))
		term = json_path(st, "lastState.terminated"); /* waiting to restart after a failure */
	if (!json_is_object(term))
		return false;
	text = json_path_str(term, "message", "");
	code = json_path_int(term, "exitCode", 1);
	tm = json_parse_capped(text, strlen(text), MSG_MAX * 4, err, sizeof(err));
	r = json_path_str(tm, "reason", "");
	if (!known_fetch_reason(r))
		r = code == 0 ? MD_COND_MODEL_VERIFIED : "FetchFailed";
	snprintf(reason, reasonlen, "%s", r);
	if (*json_path_str(tm, "message", ""))
		snprintf(msg, msglen, "%s", json_path_str(tm, "message", ""));
	else
		snprintf(msg, msglen, "saqr-fetch exited with code %lld%s%s", code, *text ? ": " : "", text);
	json_decref(tm);
	return true;
}

/* A pod of md's primary that runs the model of the spec (by its template annotations). */
static bool pod_runs_spec_model(const json_t *pod, const json_t *model)
{
	const json_t *ann = json_path(pod, "metadata.annotations");
	const char *v = json_string_value(json_object_get(ann, MD_ANN_MODEL_VERSION));
	const char *d = json_string_value(json_object_get(ann, MD_ANN_MODEL_DIGEST));

	return strcmp(v ? v : "", json_path_str(model, "version", "")) == 0 &&
	       strcmp(d ? d : "", json_path_str(model, "digest", "")) == 0;
}

/* The first refusal saqr-fetch reported in a pod of the spec's model, else whether one verified. */
static bool pods_verdict(const struct md_eval *e, struct md_failure *f, bool *verified)
{
	const json_t *model = json_object_get(e->p.spec, "model");
	char reason[64], msg[MSG_MAX / 2]; /* room for the pod's name in f->msg */
	size_t i;
	json_t *pod;

	*verified = false;
	json_array_foreach(e->obs->pods, i, pod)
	{
		if (!pod_runs_spec_model(pod, model) ||
		    !md_fetch_result(pod, reason, sizeof(reason), msg, sizeof(msg)))
			continue;
		if (strcmp(reason, MD_COND_MODEL_VERIFIED) == 0) {
			*verified = true;
			continue;
		}
		f->reason = fetch_refusal(reason);
		snprintf(f->msg, sizeof(f->msg), "pod %s: %s", json_path_str(pod, "metadata.name", ""), msg);
		return true;
	}
	return false;
}

static int set_model_verified(json_t *conds, const struct md_eval *e)
{
	const json_t *model = json_object_get(e->p.spec, "model");
	const char *version = json_path_str(model, "version", "(unset)");
	struct md_failure f;
	bool verified;
	char msg[MSG_MAX];

	if (!md__fetch_wanted(e->p.spec, model))
		return 0; /* no saqr-fetch: the server loads the model itself */
	if (pods_verdict(e, &f, &verified))
		return cond_put(conds, e, MD_COND_MODEL_VERIFIED, COND_FALSE, f.reason, f.msg);
	if (verified || (e->prim.complete && e->model_ok)) {
		snprintf(msg, sizeof(msg),
			 "saqr-fetch verified model version %s (%s%s%s%s) before the server started", version,
			 *json_path_str(model, "digest", "") ? "digest " : "no digest given",
			 json_path_str(model, "digest", ""),
			 *json_path_str(model, "signature", "") ? ", signature " : "",
			 json_path_str(model, "signature", ""));
		return cond_put(conds, e, MD_COND_MODEL_VERIFIED, COND_TRUE, MD_COND_MODEL_VERIFIED, msg);
	}
	if (e->prim.deadline) {
		snprintf(msg, sizeof(msg),
			 "Deployment %s exceeded its progress deadline; if its pods wait in Init, saqr-fetch "
			 "refused the model: kubectl logs -l %s=%s -c %s",
			 e->p.dep_name, OBJMETA_LABEL_MD, e->p.name, MD_FETCH_CONTAINER);
		return cond_put(conds, e, MD_COND_MODEL_VERIFIED, COND_UNKNOWN, "ProgressDeadlineExceeded",
				msg);
	}
	snprintf(msg, sizeof(msg),
		 "waiting for the pods of Deployment %s to fetch and verify model version %s", e->p.dep_name,
		 version);
	return cond_put(conds, e, MD_COND_MODEL_VERIFIED, COND_UNKNOWN, "Verifying", msg);
}

static json_t *conditions(const struct md_eval *e)
{
	json_t *conds = json_array();

	if (!conds || set_ready(conds, e) || set_available(conds, e) || set_progressing(conds, e) ||
	    set_degraded(conds, e) || set_model_verified(conds, e)) {
		json_decref(conds);
		return NULL;
	}
	return conds;
}

/* ---- md_status ---- */

static int eval_init(struct md_eval *e, const json_t *md, const struct md_observed *obs, const char *now)
{
	char reason[64];

	memset(e, 0, sizeof(*e));
	if (md__plan_init(md, &e->p) || md_url(md, e->url, sizeof(e->url)))
		return SAQR_EINVAL;
	e->obs = obs;
	e->now = now;
	e->prev = json_object_get(md, "status");
	e->valid = md_validate(md, reason, sizeof(reason), e->invalid_msg, sizeof(e->invalid_msg));
	rollout_of(obs->deployment, e->p.dep_name, &e->prim);
	rollout_of(obs->canary, e->p.canary_name, &e->can);
	e->deployed = deployed_model(obs->deployment);
	e->model_ok = same_model(e->deployed, json_object_get(e->p.spec, "model"));
	e->rolled_out = e->prim.complete && e->model_ok && (!e->p.canary || e->can.complete);
	return 0;
}

static json_t *build_status(const struct md_eval *e)
{
	json_t *st = json_pack("{s:I, s:I, s:I, s:s}", "observedGeneration", (json_int_t)e->p.generation,
			       "replicas", (json_int_t)(e->prim.replicas + e->can.replicas), "readyReplicas",
			       (json_int_t)(e->prim.ready + e->can.ready), "url", e->url);

	if (!st || set_models(st, e) || json_object_set_new(st, "conditions", conditions(e))) {
		json_decref(st);
		return NULL;
	}
	return st;
}

int md_status(const json_t *md, const struct md_observed *obs, const char *now, json_t **status_out)
{
	static const struct md_observed none;
	struct md_eval e;
	json_t *st;

	if (!md || !now || !status_out)
		return SAQR_EINVAL;
	if (eval_init(&e, md, obs ? obs : &none, now))
		return SAQR_EINVAL;
	st = build_status(&e);
	json_decref(e.deployed);
	if (!st)
		return SAQR_ENOMEM;
	*status_out = st;
	return 0;
}
