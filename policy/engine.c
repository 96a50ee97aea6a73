/* policy_eval: runs every enabled group on one object, collects every finding, applies
 * exemptions and break-glass, and writes the decision with its audit annotations. */
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "policy/compliance.h"
#include "policy/driftcheck.h"
#include "policy/exemptions.h"
#include "policy/finding.h"
#include "policy/kinds.h"
#include "policy/podsecurity.h"
#include "policy/policy_internal.h"
#include "policy/residency.h"
#include "policy/zerotrust.h"

#define ENGINE_RULES_MAX 1024

/* One pass over every container (containers, initContainers, ephemeralContainers). */
static void engine_containers(struct policy_eval_ctx *ev, bool pss, bool zt)
{
	struct podspec_container c;
	size_t i;
	int l;

	for (l = 0; l < PODSPEC_NLISTS; l++)
		for (i = 0; i < podspec_count(&ev->pod, l); i++) {
			podspec_container(&ev->pod, l, i, &c);
			if (pss)
				podsecurity_container(ev, &c);
			if (zt)
				zerotrust_container(ev, &c);
		}
}

/* The metadata rules once more on metadata that children carry (meta at path): the pod
 * template of a workload controller, a CronJob's job template. Only the label and annotation
 * rules run: the pod and the object's own fields were judged above, so the pass hides them. */
static void engine_meta_pass(struct policy_eval_ctx *ev, const json_t *meta, const char *path)
{
	const json_t *labels = ev->labels, *annotations = ev->annotations;
	enum podspec_kind kind = ev->kind;
	bool has_pod = ev->has_pod;
	const char *personal = policy__meta_value(ev, "saqr.dev/personal-data");

	ev->labels = json_object_get(meta, "labels");
	ev->annotations = json_object_get(meta, "annotations");
	ev->meta_prefix = path;
	ev->has_pod = false;
	ev->kind = PODSPEC_KIND_OTHER;
	if (ev->p->residency.g.enabled)
		residency_check(ev);
	if (ev->p->compliance.g.enabled) {
		compliance_check(ev);
		compliance_template_personal_data(ev, personal);
	}
	ev->labels = labels;
	ev->annotations = annotations;
	ev->meta_prefix = NULL;
	ev->has_pod = has_pod;
	ev->kind = kind;
}

/* Autogen: what Kubernetes creates from a template is admitted by the same rules, so the
 * template must carry what they check. */
static void engine_templates(struct policy_eval_ctx *ev)
{
	const char *kind = json_string_value(json_object_get(ev->obj, "kind"));

	if (!policy__has_template(ev))
		return;
	if (strcmp(kind, "CronJob") == 0)
		engine_meta_pass(ev, json_path(ev->obj, "spec.jobTemplate.metadata"),
				 "spec.jobTemplate.metadata");
	engine_meta_pass(ev, ev->pod.meta, ev->pod.meta_path);
}

static void engine_groups(struct policy_eval_ctx *ev)
{
	const struct policy *p = ev->p;
	bool pss = ev->has_pod && p->pod_security.g.enabled;
	bool zt = ev->has_pod && p->zero_trust.g.enabled;

	if (pss)
		podsecurity_pod(ev);
	engine_containers(ev, pss, zt);
	if (zt)
		zerotrust_pod(ev);
	if (p->residency.g.enabled)
		residency_check(ev);
	if (p->compliance.g.enabled)
		compliance_check(ev);
	engine_templates(ev);
}

/* Evaluate obj, an object Saqr will create from part of the one being admitted, with every
 * check group into ev's decision; "spec" in its findings' paths becomes spec_path. */
static int engine_nested(struct policy_eval_ctx *ev, const json_t *obj, const char *spec_path)
{
	const json_t *meta = json_object_get(obj, "metadata");
	struct policy_eval_ctx sub;
	int rc;

	memset(&sub, 0, sizeof(sub));
	sub.p = ev->p;
	sub.in = ev->in;
	sub.obj = obj;
	sub.d = ev->d;
	sub.labels = json_object_get(meta, "labels");
	sub.annotations = json_object_get(meta, "annotations");
	sub.spec_rebase = spec_path;
	sub.kind = podspec_kind_of(obj);
	rc = podspec_find(obj, sub.kind, &sub.pod);
	if (rc < 0)
		return rc;
	sub.has_pod = rc == 1;
	if (sub.kind != PODSPEC_KIND_OTHER)
		engine_groups(&sub);
	podspec_release(&sub.pod);
	ev->dropped += sub.dropped;
	ev->dropped_denials += sub.dropped_denials;
	if (sub.err && !ev->err)
		ev->err = sub.err;
	return 0;
}

/* One more pod of a kind known by paths (the Worker after the Master, a worker group after
 * the head): its pod rules, its placement, and its template's metadata. Findings equal to
 * one already kept (the object's labels, for an inline pod spec) are not repeated. */
static void engine_extra_pod(struct policy_eval_ctx *ev)
{
	const json_t *labels = ev->labels, *annotations = ev->annotations;
	const char *personal = policy__meta_value(ev, "saqr.dev/personal-data");
	bool pss = ev->p->pod_security.g.enabled, zt = ev->p->zero_trust.g.enabled;

	if (pss)
		podsecurity_pod(ev);
	engine_containers(ev, pss, zt);
	if (zt)
		zerotrust_pod(ev);
	ev->dedupe = true;
	ev->kind = PODSPEC_KIND_OTHER;
	if (policy__has_template(ev)) {
		ev->labels = json_object_get(ev->pod.meta, "labels");
		ev->annotations = json_object_get(ev->pod.meta, "annotations");
		ev->meta_prefix = ev->pod.meta_path;
	}
	if (ev->p->residency.g.enabled)
		residency_check(ev);
	if (ev->p->compliance.g.enabled) {
		compliance_check(ev);
		if (ev->meta_prefix)
			compliance_template_personal_data(ev, personal);
	}
	ev->labels = labels;
	ev->annotations = annotations;
	ev->meta_prefix = NULL;
	ev->kind = PODSPEC_KIND_WORKLOAD;
	ev->dedupe = false;
}

/* Every pod after the first, then the storage URIs, of a kind known by paths. ev->pod is the
 * first pod again on return. */
static int engine_by_paths(struct policy_eval_ctx *ev, const struct podspec_paths *k)
{
	struct podspec first;
	bool has_pod = ev->has_pod;
	size_t n;
	int rc = 0;

	memcpy(&first, &ev->pod, sizeof(first));
	for (n = 1; has_pod && n < POLICY_MAX_VIOLATIONS; n++) {
		rc = podspec_find_paths(ev->obj, k, n, &ev->pod);
		if (rc <= 0)
			break;
		ev->has_pod = true;
		engine_extra_pod(ev);
		podspec_release(&ev->pod);
	}
	memcpy(&ev->pod, &first, sizeof(first));
	ev->has_pod = has_pod;
	kinds_uris(ev, k);
	return rc < 0 ? rc : 0;
}

/* A DriftPolicy: its retrain template as the TrainingJob it becomes, then its own rules. */
static void engine_driftpolicy(struct policy_eval_ctx *ev)
{
	json_t *tj = NULL;

	if (driftcheck_retrain_job(ev, &tj) != 0 ||
	    (tj && engine_nested(ev, tj, DRIFTCHECK_RETRAIN_PATH) != 0))
		ev->err = SAQR_ENOMEM;
	json_decref(tj);
	driftcheck_check(ev);
}

/* Operations and states the policy does not judge: deletes, connects, and updates to an
 * object that is being deleted (so that finalizers can always be removed). */
/* DELETE and CONNECT carry no new state; an UPDATE of an object being deleted must be able to
 * drop its finalizers. Nothing else skips: the API server clears deletionTimestamp on CREATE, so
 * an object that still carries it (saqrctl, a replayed review) is judged in full. */
static bool engine_skipped(const struct policy_eval_ctx *ev)
{
	const char *op = ev->in->operation;

	if (op && (strcmp(op, "DELETE") == 0 || strcmp(op, "CONNECT") == 0))
		return true;
	return op && strcmp(op, "UPDATE") == 0 &&
	       json_object_get(json_object_get(ev->obj, "metadata"), "deletionTimestamp") != NULL;
}

/* "rule-a,rule-b": the distinct rules in the order first found, at most ENGINE_RULES_MAX bytes. */
static void engine_rules(const struct policy_decision *d, struct buf *b)
{
	size_t i, j;

	for (i = 0; i < d->nviolations; i++) {
		for (j = 0; j < i && strcmp(d->violations[j].rule, d->violations[i].rule) != 0; j++)
			;
		if (j == i && buf_addf(b, "%s%s", b->len ? "," : "", d->violations[i].rule) != 0)
			return;
	}
}

static const char *engine_outcome(const struct policy_decision *d, enum exemptions_break_glass_state bg)
{
	if (bg == EXEMPTIONS_BG_HONOURED)
		return "break-glass";
	if (d->exempt)
		return "exempt";
	return d->allowed ? "allowed" : "denied";
}

static int engine_annotate(struct policy_eval_ctx *ev, enum exemptions_break_glass_state bg)
{
	struct policy_decision *d = ev->d;
	json_t *ann = d->audit_annotations;
	char count[32];
	struct buf rules;
	int rc = 0;

	snprintf(count, sizeof(count), "%zu", d->nviolations + ev->dropped);
	rc |= json_object_set_new(ann, "decision", json_string(engine_outcome(d, bg)));
	rc |= json_object_set_new(ann, "violations", json_string(count));
	if (d->nviolations > 0) {
		buf_init(&rules, ENGINE_RULES_MAX);
		engine_rules(d, &rules);
		rc |= json_object_set_new(ann, "rules", json_string(buf_str(&rules)));
		buf_release(&rules);
	}
	return rc ? SAQR_ENOMEM : 0;
}

/* An honoured break-glass keeps every finding for the audit trail but enforces none. */
static void engine_finish(struct policy_eval_ctx *ev, enum exemptions_break_glass_state bg)
{
	struct policy_decision *d = ev->d;
	size_t i;

	for (i = 0; i < d->nviolations; i++) {
		if (bg == EXEMPTIONS_BG_HONOURED)
			d->violations[i].enforcement = POLICY_ENFORCE_AUDIT;
		if (d->violations[i].enforcement == POLICY_ENFORCE_DENY)
			d->allowed = false;
	}
	if (ev->dropped_denials > 0 && bg != EXEMPTIONS_BG_HONOURED)
		d->allowed = false;
	if (bg == EXEMPTIONS_BG_HONOURED)
		d->exempt = true;
}

static void engine_init_ctx(struct policy_eval_ctx *ev, const struct policy *p, const struct policy_input *in,
			    struct policy_decision *d)
{
	const json_t *meta = json_object_get(in->object, "metadata");

	memset(ev, 0, sizeof(*ev));
	ev->p = p;
	ev->in = in;
	ev->obj = in->object;
	ev->d = d;
	ev->labels = json_object_get(meta, "labels");
	ev->annotations = json_object_get(meta, "annotations");
}

static int engine_run(struct policy_eval_ctx *ev)
{
	enum exemptions_break_glass_state bg = EXEMPTIONS_BG_ABSENT;
	const struct podspec_paths *paths;
	char why[320];
	int rc;

	if (engine_skipped(ev))
		return engine_annotate(ev, bg);
	if (exemptions_match(ev, why, sizeof(why))) {
		ev->d->exempt = true;
		if (json_object_set_new(ev->d->audit_annotations, "exempt", json_string(why)) != 0)
			return SAQR_ENOMEM;
		return engine_annotate(ev, bg);
	}
	paths = kinds_paths(ev->p, ev->obj);
	ev->kind = paths ? PODSPEC_KIND_WORKLOAD : podspec_kind_of(ev->obj);
	rc = paths ? podspec_find_paths(ev->obj, paths, 0, &ev->pod)
		   : podspec_find(ev->obj, ev->kind, &ev->pod);
	if (rc < 0)
		return rc;
	ev->has_pod = rc == 1;
	if (ev->kind != PODSPEC_KIND_OTHER)
		engine_groups(ev);
	if (paths && (rc = engine_by_paths(ev, paths)) < 0)
		return rc;
	else if (driftcheck_is_driftpolicy(ev->obj))
		engine_driftpolicy(ev);
	if ((ev->kind != PODSPEC_KIND_OTHER || driftcheck_is_driftpolicy(ev->obj)) &&
	    ev->p->exemptions.g.enabled)
		bg = exemptions_break_glass(ev, ev->d->audit_annotations);
	engine_finish(ev, bg);
	rc = engine_annotate(ev, bg);
	return ev->err ? ev->err : rc;
}

int policy_eval(const struct policy *p, const struct policy_input *in, struct policy_decision *d)
{
	struct policy_eval_ctx ev;
	int rc;

	if (!p || !in || !d || !json_is_object(in->object) ||
	    !json_is_string(json_object_get(in->object, "kind")))
		return SAQR_EINVAL;
	d->audit_annotations = json_object();
	if (!d->audit_annotations)
		return SAQR_ENOMEM;
	engine_init_ctx(&ev, p, in, d);
	rc = engine_run(&ev);
	podspec_release(&ev.pod);
	return rc;
}
