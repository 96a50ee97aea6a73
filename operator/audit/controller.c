/* The audit controller: an index of the audited objects per namespace, fed by the informers;
 * one reconcile per namespace (evaluate each object, build the report, write it if it changed,
 * set the gauges, notify expired break-glass); and a policy tick that reloads the policy file
 * and queues every namespace when it changed. */
#include "operator/audit/internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "operator/runtime/ctrltime.h"

/* The key of the policy tick: not a namespace name (':' is not allowed in one). */
#define AUDIT_TICK_KEY "saqr:policy"
#define AUDIT_MIN_REQUEUE 1.0
#define AUDIT_NO_CRD_RETRY 60.0 /* seconds before writing again when the report CRD is missing */

static const struct kube_resource audit_res_namespaces = {"", "v1", "namespaces", false};

/* The audited kinds; the first ones are cached without status (no reconciler reads theirs). */
static const struct kube_resource audit_kinds[AUDIT_NKINDS] = {
    {"", "v1", "pods", true},
    {"apps", "v1", "deployments", true},
    {"apps", "v1", "statefulsets", true},
    {"apps", "v1", "daemonsets", true},
    {"apps", "v1", "replicasets", true},
    {"batch", "v1", "jobs", true},
    {"batch", "v1", "cronjobs", true},
    {"saqr.dev", "v1alpha1", "modeldeployments", true},
    {"saqr.dev", "v1alpha1", "trainingjobs", true},
    {"saqr.dev", "v1alpha1", "driftpolicies", true},
};

#define AUDIT_NBUILTIN 7

static char audit_present; /* the value of every index entry */

int audit_format_parse(const char *s, enum audit_format *out)
{
	if (s && strcmp(s, "openreports") == 0)
		*out = AUDIT_FORMAT_OPENREPORTS;
	else if (s && strcmp(s, "wgpolicy") == 0)
		*out = AUDIT_FORMAT_WGPOLICY;
	else
		return SAQR_EINVAL;
	return 0;
}

/* ---- the cache: what the policy reads, nothing else ---- */

static int audit_transform(json_t *obj)
{
	json_object_del(obj, "status");
	return 0;
}

/* ---- the index ---- */

static void audit_ns_free(void *v)
{
	struct audit__ns *n = v;

	if (!n)
		return;
	strmap_release(&n->objects, NULL);
	json_decref(n->gauges);
	free(n);
}

/* The entry of ns, made when missing; lock held. NULL when out of memory. */
static struct audit__ns *audit_ns_get(struct audit_controller *c, const char *ns)
{
	struct audit__ns *n = strmap_get(&c->index, ns);

	if (n)
		return n;
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	strmap_init(&n->objects);
	n->gauges = json_object();
	if (!n->gauges || strmap_put(&c->index, ns, n, NULL)) {
		audit_ns_free(n);
		return NULL;
	}
	return n;
}

static void audit_index(struct audit_controller *c, int kind, const json_t *obj, bool present)
{
	const char *ns = json_path_str(obj, "metadata.namespace", NULL),
		   *name = json_path_str(obj, "metadata.name", NULL);
	struct audit__ns *n;
	char key[INFORMER_KEY_MAX];

	if (!ns || !name || snprintf(key, sizeof(key), "%d/%s", kind, name) >= (int)sizeof(key))
		return;
	pthread_mutex_lock(&c->mu);
	n = present ? audit_ns_get(c, ns) : strmap_get(&c->index, ns);
	if (n && present)
		strmap_put(&n->objects, key, &audit_present, NULL);
	else if (n)
		strmap_remove(&n->objects, key);
	pthread_mutex_unlock(&c->mu);
	manager_enqueue(c->mgr, AUDIT_CONTROLLER, ns, c->cfg.batch_delay);
}

/* One handler table per kind, so that the handler knows the kind. */
struct audit_watch {
	struct audit_controller *c;
	int kind;
};

static void audit_on_add(void *ud, json_t *obj)
{
	struct audit_watch *w = ud;

	audit_index(w->c, w->kind, obj, true);
}

/* Only what the policy reads counts as a change. */
static bool audit_relevant_change(const json_t *a, const json_t *b)
{
	static const char *const paths[] = {"spec", "metadata.labels", "metadata.annotations",
					    "metadata.deletionTimestamp", "metadata.uid"};

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		const json_t *x = json_path(a, paths[i]), *y = json_path(b, paths[i]);

		if ((x == NULL) != (y == NULL) || (x && !json_equal((json_t *)x, (json_t *)y)))
			return true;
	}
	return false;
}

static void audit_on_update(void *ud, json_t *old_obj, json_t *new_obj)
{
	struct audit_watch *w = ud;

	if (audit_relevant_change(old_obj, new_obj))
		audit_index(w->c, w->kind, new_obj, true);
}

static void audit_on_delete(void *ud, json_t *obj)
{
	struct audit_watch *w = ud;

	audit_index(w->c, w->kind, obj, false);
}

/* The keys of ns's objects, a new array of strings; NULL when there are none (or no memory). */
static json_t *audit_ns_keys(struct audit_controller *c, const char *ns)
{
	struct audit__ns *n;
	struct strmap_iter it;
	const char *key;
	json_t *keys = NULL;

	pthread_mutex_lock(&c->mu);
	n = strmap_get(&c->index, ns);
	if (n && strmap_len(&n->objects)) {
		keys = json_array();
		strmap_iter_init(&it);
		while (keys && strmap_next(&n->objects, &it, &key, NULL))
			json_array_append_new(keys, json_string(key));
	}
	pthread_mutex_unlock(&c->mu);
	return keys;
}

/* ---- evaluating a namespace ---- */

struct audit_run {
	struct audit_controller *c;
	const char *ns;
	time_t now;
	struct audit_report report;
	double wake; /* seconds to the next break-glass expiry (HUGE_VAL: none) */
	struct audit__expired *expired;
	size_t nexpired, capexpired;
	size_t objects;
};

static void audit_run_release(struct audit_run *run)
{
	for (size_t i = 0; i < run->nexpired; i++)
		json_decref(run->expired[i].regarding);
	free(run->expired);
	audit_report_release(&run->report);
}

static void audit_rules_of(const struct policy_decision *d, char *out, size_t outlen)
{
	json_t *rules = json_object_get(d->audit_annotations, "rules");

	snprintf(out, outlen, "%s", json_string_value(rules) ? json_string_value(rules) : "");
}

static int audit_note_expired(struct audit_run *run, const json_t *obj, const struct policy_decision *d,
			      const struct audit_break_glass *bg)
{
	struct audit__expired *e;

	if (run->nexpired == run->capexpired) {
		size_t cap = run->capexpired ? run->capexpired * 2 : 8;
		struct audit__expired *v = realloc(run->expired, cap * sizeof(*v));

		if (!v)
			return SAQR_ENOMEM;
		run->expired = v;
		run->capexpired = cap;
	}
	e = &run->expired[run->nexpired];
	memset(e, 0, sizeof(*e));
	e->regarding = json_pack("{s:s, s:s, s:{s:s, s:s, s:s}}", "apiVersion",
				 json_path_str(obj, "apiVersion", ""), "kind", json_path_str(obj, "kind", ""),
				 "metadata", "name", json_path_str(obj, "metadata.name", ""), "namespace",
				 run->ns, "uid", json_path_str(obj, "metadata.uid", ""));
	if (!e->regarding)
		return SAQR_ENOMEM;
	snprintf(e->reason, sizeof(e->reason), "%s", bg->reason ? bg->reason : "");
	snprintf(e->expires, sizeof(e->expires), "%s", bg->expires_text ? bg->expires_text : "");
	audit_rules_of(d, e->rules, sizeof(e->rules));
	run->nexpired++;
	return 0;
}

/* Break-glass bookkeeping for one decision: when to look again, and what expired. */
static int audit_break_glass(struct audit_run *run, const json_t *obj, const struct policy_decision *d)
{
	struct audit_break_glass bg;

	audit_break_glass_read(d, run->now, &bg);
	if (bg.in_force)
		run->wake = fmin(run->wake, (double)(bg.expires - run->now));
	if (bg.present && bg.expired)
		return audit_note_expired(run, obj, d, &bg);
	return 0;
}

static int audit_eval_one(struct audit_run *run, const struct policy *p, const json_t *obj)
{
	struct policy_input in = {
	    .object = obj, .operation = "CREATE", .namespace = run->ns, .now = run->now};
	struct policy_decision d;
	int rc;

	if (json_path(obj, "metadata.deletionTimestamp"))
		return 0; /* on its way out: not reported */
	policy_decision_init(&d);
	rc = policy_eval(p, &in, &d);
	if (rc == 0)
		rc = audit_report_add(&run->report, obj, &d, run->now);
	if (rc == 0)
		rc = audit_break_glass(run, obj, &d);
	policy_decision_release(&d);
	return rc == SAQR_EINVAL ? 0 : rc; /* an object without kind or name is not reported */
}

/* Evaluate every object of the namespace, one cached object at a time. */
static int audit_eval_namespace(struct audit_run *run)
{
	struct audit_controller *c = run->c;
	json_t *keys = audit_ns_keys(c, run->ns), *k;
	struct reload_policy *rp = reload_policy_get(c->reload);
	size_t i;
	int rc = 0;

	json_array_foreach(keys, i, k)
	{
		const char *key = json_string_value(k), *slash = strchr(key, '/');
		int kind = (int)strtol(key, NULL, 10);
		json_t *obj = NULL;

		if (!slash || kind < 0 || kind >= AUDIT_NKINDS ||
		    informer_get(c->kinds[kind], run->ns, slash + 1, &obj))
			continue;
		rc = audit_eval_one(run, rp->policy, obj);
		json_decref(obj);
		if (rc)
			break;
		run->objects++;
	}
	reload_policy_put(rp);
	json_decref(keys);
	return rc;
}

/* ---- writing the report ---- */

static void audit_log(const struct audit_run *run, enum log_level lvl, const char *msg, const char *err)
{
	log_kv(lvl, msg, "controller", AUDIT_CONTROLLER, "namespace", run->ns, "error", err, (char *)NULL);
}

static struct kube_resource audit_report_res(const struct audit_controller *c)
{
	const char *api = audit_report_api_version(c->cfg.format);
	struct kube_resource r = {c->cfg.format == AUDIT_FORMAT_WGPOLICY ? "wgpolicyk8s.io"
									 : "openreports.io",
				  strchr(api, '/') + 1, audit_report_resource(c->cfg.format, true), true};

	return r;
}

static const char *audit_report_name(const struct audit_controller *c)
{
	return c->cfg.report_name ? c->cfg.report_name : AUDIT_REPORT_NAME;
}

/* The report in the cluster (NULL when there is none). 0 or the API error. */
static int audit_get_report(struct audit_run *run, json_t **prev)
{
	const struct kubeops *ops = run->c->ops;
	struct kube_resource res = audit_report_res(run->c);
	struct kube_status st = {0};
	int rc = ops->get(ops, &res, run->ns, audit_report_name(run->c), prev, &st);

	if (rc == SAQR_ENOTFOUND) {
		*prev = NULL;
		return 0;
	}
	if (rc)
		audit_log(run, LOG_LVL_WARN, "cannot read the policy report",
			  st.message[0] ? st.message : saqr_strerror(rc));
	return rc;
}

static int audit_put_report(struct audit_run *run, const json_t *prev, json_t *doc)
{
	const struct kubeops *ops = run->c->ops;
	struct kube_resource res = audit_report_res(run->c);
	struct kube_write_opts wo = {.field_manager = OPERATOR_FIELD_MANAGER};
	struct kube_status st = {0};
	int rc;

	if (prev) {
		json_object_set(json_object_get(doc, "metadata"), "resourceVersion",
				json_path(prev, "metadata.resourceVersion"));
		rc = ops->update(ops, &res, run->ns, doc, &wo, NULL, &st);
	} else {
		rc = ops->create(ops, &res, run->ns, doc, &wo, NULL, &st);
	}
	if (rc == SAQR_ENOTFOUND && !prev) {
		/* No such resource: the report CRDs are not installed. Look again later, quietly. */
		audit_log(run, LOG_LVL_WARN, "the policy report CRD is not installed (crds/openreports)",
			  st.message[0] ? st.message : saqr_strerror(rc));
		run->wake = fmin(run->wake, AUDIT_NO_CRD_RETRY);
		return 0;
	}
	if (rc)
		audit_log(run, LOG_LVL_WARN, "cannot write the policy report",
			  st.message[0] ? st.message : saqr_strerror(rc));
	return rc;
}

static int audit_delete_report(struct audit_run *run)
{
	const struct kubeops *ops = run->c->ops;
	struct kube_resource res = audit_report_res(run->c);
	int rc;

	if (!ops->del)
		return 0;
	rc = ops->del(ops, &res, run->ns, audit_report_name(run->c), NULL, NULL);
	return rc == SAQR_ENOTFOUND ? 0 : rc;
}

/* Write the report when its content changed; drop it when the namespace has nothing to audit. */
static int audit_sync_report(struct audit_run *run, const json_t *prev)
{
	struct audit_report_meta m = {run->c->cfg.format, audit_report_name(run->c), run->ns};
	json_t *doc = NULL;
	int rc;

	if (run->objects == 0)
		return prev ? audit_delete_report(run) : 0;
	rc = audit_report_build(&run->report, &m, prev, run->now, &doc);
	if (rc == 0 && audit_report_changed(prev, doc))
		rc = audit_put_report(run, prev, doc);
	json_decref(doc);
	return rc;
}

/* ---- gauges ---- */

static void audit_gauge(struct audit_controller *c, const char *ns, const char *rule, double v)
{
	char group[64], eg[128], er[512], en[256], labels[1024];

	audit_rule_group(rule, group, sizeof(group));
	metrics_escape_label(group, eg, sizeof(eg));
	metrics_escape_label(rule, er, sizeof(er));
	metrics_escape_label(ns, en, sizeof(en));
	snprintf(labels, sizeof(labels), "group=\"%s\",rule=\"%s\",namespace=\"%s\"", eg, er, en);
	metrics_gauge_set(c->metrics, "saqr_policy_violations",
			  "Objects in violation of each policy rule (fail and warn results), per namespace.",
			  labels, v);
}

/* Set this namespace's gauges to counts (NULL: all gone) and zero those no longer found. */
static void audit_set_gauges(struct audit_controller *c, const char *ns, const json_t *counts)
{
	struct audit__ns *n;
	const char *rule;
	json_t *v, *now = json_object();
	void *tmp;

	if (!c->metrics || !now)
		goto out;
	pthread_mutex_lock(&c->mu);
	n = strmap_get(&c->index, ns);
	if (n) {
		json_object_foreach_safe(n->gauges, tmp, rule, v)
		{
			if (!json_object_get(counts, rule))
				audit_gauge(c, ns, rule, 0);
		}
		json_object_foreach((json_t *)counts, rule, v)
		{
			audit_gauge(c, ns, rule, (double)json_integer_value(v));
			json_object_set(now, rule, json_true());
		}
		json_decref(n->gauges);
		n->gauges = now;
		now = NULL;
	}
	pthread_mutex_unlock(&c->mu);
out:
	json_decref(now);
}

/* ---- reconcile ---- */

static struct workqueue_result audit_policy_tick(struct audit_controller *c)
{
	struct reload_policy *rp;
	unsigned long gen;
	json_t *all = NULL, *ns;
	size_t i;

	reload_poll(c->reload);
	rp = reload_policy_get(c->reload);
	gen = rp->generation;
	reload_policy_put(rp);
	if (gen != c->policy_generation && informer_list(c->namespaces, NULL, &all) == 0) {
		log_kv(LOG_LVL_INFO, "policy changed: auditing every namespace again", "controller",
		       AUDIT_CONTROLLER, (char *)NULL);
		json_array_foreach(all, i, ns)
		{
			manager_enqueue(c->mgr, AUDIT_CONTROLLER, json_path_str(ns, "metadata.name", ""), 0);
		}
		c->policy_generation = gen;
	}
	json_decref(all);
	return (struct workqueue_result){.requeue_after = c->cfg.policy_poll};
}

static void audit_forget_namespace(struct audit_controller *c, const char *ns)
{
	audit_set_gauges(c, ns, NULL);
	pthread_mutex_lock(&c->mu);
	audit_ns_free(strmap_remove(&c->index, ns));
	pthread_mutex_unlock(&c->mu);
}

static struct workqueue_result audit_requeue(const struct audit_run *run, bool retry_notify, int rc)
{
	double wait = run->wake + AUDIT_MIN_REQUEUE;

	if (rc)
		return (struct workqueue_result){.err = rc};
	if (retry_notify)
		wait = fmin(wait, AUDIT_NOTIFY_RETRY);
	if (!isfinite(wait))
		return (struct workqueue_result){0};
	return (struct workqueue_result){.requeue_after = fmax(wait, AUDIT_MIN_REQUEUE)};
}

bool audit_skips_namespace(const struct audit_config *cfg, const char *name, const json_t *ns)
{
	const char *s = cfg ? cfg->skip_namespaces : NULL;
	size_t n = name ? strlen(name) : 0;

	if (!name)
		return false;
	while (s && *s) {
		size_t len = strcspn(s, ",");

		if (len == n && strncmp(s, name, n) == 0)
			return true;
		s += len + (s[len] == ',');
	}
	if (cfg && cfg->skip_label && *cfg->skip_label) {
		const char *v =
		    json_string_value(json_object_get(json_path(ns, "metadata.labels"), cfg->skip_label));

		return v && strcmp(v, "disabled") == 0;
	}
	return false;
}

static struct workqueue_result audit_reconcile(void *ud, const char *ns, const char *name)
{
	struct audit_run run = {.c = ud, .ns = name, .now = (time_t)ctrltime_wall(), .wake = HUGE_VAL};
	struct workqueue_result res;
	json_t *prev = NULL, *probe = NULL;
	bool retry = false;
	int rc;

	(void)ns;
	if (strcmp(name, AUDIT_TICK_KEY) == 0)
		return audit_policy_tick(run.c);
	if (run.c->cfg.namespace && strcmp(name, run.c->cfg.namespace) != 0)
		return (struct workqueue_result){0}; /* not watched: nothing cached, no rights there */
	if (informer_get(run.c->namespaces, NULL, name, &probe)) {
		audit_forget_namespace(run.c, name);
		return (struct workqueue_result){0};
	}
	if (audit_skips_namespace(&run.c->cfg, name, probe)) {
		json_decref(probe);
		audit_set_gauges(run.c, name, NULL); /* its objects stay cached: the label may go */
		/* a report written before the namespace was left out goes */
		rc = audit_get_report(&run, &prev);
		if (rc == 0 && prev)
			rc = audit_delete_report(&run);
		json_decref(prev);
		return (struct workqueue_result){.err = rc};
	}
	json_decref(probe);
	rc = audit_report_init(&run.report);
	if (rc == 0)
		rc = audit_eval_namespace(&run);
	if (rc == 0)
		rc = audit_get_report(&run, &prev);
	if (rc == 0) {
		retry = audit__break_glass_notify(run.c, prev, run.expired, run.nexpired, run.now);
		rc = audit_sync_report(&run, prev);
	}
	if (rc == 0)
		audit_set_gauges(run.c, run.ns, run.report.violations);
	res = audit_requeue(&run, retry, rc);
	json_decref(prev);
	audit_run_release(&run);
	return res;
}

/* ---- registration ---- */

static int audit_load_policy(struct audit_controller *c)
{
	struct reload_opts ro = {.policy_file = c->cfg.policy_file, .metrics = c->metrics};
	char err[512] = "";
	int rc = reload_new(&ro, &c->reload, err, sizeof(err));

	if (rc)
		log_kv(LOG_LVL_ERROR, "cannot load the policy", "controller", AUDIT_CONTROLLER, "file",
		       c->cfg.policy_file ? c->cfg.policy_file : "(built-in)", "error",
		       err[0] ? err : saqr_strerror(rc), (char *)NULL);
	return rc;
}

static struct informer *audit_kind_informer(struct manager *m, int kind)
{
	struct informer *inf = NULL;

	/* Saqr's kinds are its controllers' primaries, cached whole: share those. */
	if (kind < AUDIT_NBUILTIN)
		inf = manager_informer_with(m, &audit_kinds[kind], NULL, audit_transform);
	return inf ? inf : manager_informer(m, &audit_kinds[kind]);
}

static int audit_watch_kinds(struct audit_controller *c, struct audit_watch *watches)
{
	int rc = 0;

	for (int k = 0; k < AUDIT_NKINDS && rc == 0; k++) {
		struct informer_handlers h = {audit_on_add, audit_on_update, audit_on_delete, &watches[k]};

		watches[k] = (struct audit_watch){c, k};
		c->kinds[k] = audit_kind_informer(c->mgr, k);
		rc = c->kinds[k] ? informer_add_handlers(c->kinds[k], &h) : SAQR_ENOMEM;
	}
	return rc;
}

/* The controller and its handler tables, freed together. */
struct audit_alloc {
	struct audit_controller c;
	struct audit_watch watches[AUDIT_NKINDS];
};

static void audit_settle_config(struct audit_config *cfg)
{
	if (cfg->policy_poll <= 0)
		cfg->policy_poll = AUDIT_POLICY_POLL;
	if (cfg->batch_delay == 0)
		cfg->batch_delay = AUDIT_BATCH_DELAY;
	else if (cfg->batch_delay < 0)
		cfg->batch_delay = 0;
}

static int audit_register(struct audit_controller *c, const struct operator_ctx *ctx,
			  struct audit_watch *watches)
{
	struct controller_config cc = {.name = AUDIT_CONTROLLER,
				       .primary = audit_res_namespaces,
				       .group = "",
				       .kind = "Namespace",
				       .workers = ctx->workers > 0 ? ctx->workers : 1,
				       .reconcile = audit_reconcile,
				       .ud = c};
	int rc = audit_load_policy(c);

	if (rc == 0)
		rc = manager_add_controller(ctx->mgr, &cc);
	if (rc == 0) {
		c->namespaces = manager_informer(ctx->mgr, &audit_res_namespaces);
		rc = c->namespaces ? audit_watch_kinds(c, watches) : SAQR_ENOMEM;
	}
	if (rc == 0 && c->cfg.policy_file)
		rc = manager_enqueue(ctx->mgr, AUDIT_CONTROLLER, AUDIT_TICK_KEY, c->cfg.policy_poll);
	return rc;
}

int audit_controller_new(const struct operator_ctx *ctx, const struct audit_config *cfg,
			 struct audit_controller **out)
{
	struct audit_alloc *a;
	struct audit_controller *c;
	int rc;

	if (!ctx || !ctx->mgr || !ctx->ops || !ctx->events || !cfg)
		return SAQR_EINVAL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return SAQR_ENOMEM;
	c = &a->c;
	c->mgr = ctx->mgr;
	c->ops = ctx->ops;
	c->events = ctx->events;
	c->outbound = ctx->outbound;
	c->metrics = manager_metrics(ctx->mgr);
	c->cfg = *cfg;
	audit_settle_config(&c->cfg);
	c->policy_generation = 1;
	pthread_mutex_init(&c->mu, NULL);
	strmap_init(&c->index);
	strmap_init(&c->notified);
	rc = audit_register(c, ctx, a->watches);
	if (rc) {
		audit_controller_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void audit_controller_free(struct audit_controller *c)
{
	if (!c)
		return;
	strmap_release(&c->index, audit_ns_free);
	strmap_release(&c->notified, free);
	reload_free(c->reload);
	pthread_mutex_destroy(&c->mu);
	free((struct audit_alloc *)(void *)c); /* c is the first member */
}

static void audit_release(void *ud)
{
	audit_controller_free(ud);
}

int operator_register_audit(struct operator_ctx *ctx, const struct audit_config *cfg)
{
	struct audit_controller *c = NULL;
	int rc = audit_controller_new(ctx, cfg, &c);

	if (rc)
		return rc;
	return operator_defer_release(ctx, audit_release, c);
}
