/* The AdmissionPolicy controller: one reconcile reads the followed AdmissionPolicy from the
 * informer cache, builds and validates its policy document, writes it to the ConfigMap when valid
 * (and different), and applies the operator's part of the status when it changed; Events for what
 * changed. A periodic resync puts the policy back into a ConfigMap someone else changed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "operator/admissionpolicy/admissionpolicy.h"
#include "operator/conditions.h"
#include "operator/opctl.h"

#define APC_REF_MAX 320 /* "namespace/name" */

static const struct kube_resource apc_configmaps = {"", "v1", "configmaps", true};

struct apc {
	const struct kubeops *ops;
	struct events_recorder *events;
	struct informer *aps;
	struct ap_config cfg;
	char configmap[APC_REF_MAX]; /* "namespace/name" */
};

/* One reconcile. */
struct apc_run {
	struct apc *c;
	const json_t *ap;
	char *doc;
	size_t len;
	char detail[AP_MSG_MAX];
	struct ap_outcome o;
};

static void apc_log(const struct apc_run *r, enum log_level lvl, const char *msg, const char *err)
{
	log_kv(lvl, msg, "controller", AP_CONTROLLER, "name", r->c->cfg.name, "configMap", r->c->configmap,
	       "error", err, (char *)NULL);
}

/* ---- the ConfigMap ---- */

/* The policy text the ConfigMap holds now (*out NULL when none). 0 or the API error. */
static int apc_read_configmap(struct apc_run *r, char **out)
{
	struct kube_status st = {0};
	json_t *cm = NULL;
	const char *text;
	int rc = r->c->ops->get(r->c->ops, &apc_configmaps, r->c->cfg.configmap_namespace,
				r->c->cfg.configmap_name, &cm, &st);

	*out = NULL;
	if (rc == SAQR_ENOTFOUND)
		return 0;
	if (rc) {
		apc_log(r, LOG_LVL_WARN, "cannot read the policy ConfigMap",
			st.message[0] ? st.message : saqr_strerror(rc));
		return rc;
	}
	text = json_string_value(json_object_get(json_object_get(cm, "data"), AP_CONFIGMAP_KEY));
	if (text) {
		*out = strdup(text);
		rc = *out ? 0 : SAQR_ENOMEM;
	}
	json_decref(cm);
	return rc;
}

static int apc_write_configmap(struct apc_run *r, struct kube_status *st)
{
	struct kube_write_opts wo = {.field_manager = OPERATOR_FIELD_MANAGER, .force = true};
	json_t *cm = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s%}}", "apiVersion", "v1", "kind", "ConfigMap",
			       "metadata", "name", r->c->cfg.configmap_name, "namespace",
			       r->c->cfg.configmap_namespace, "data", AP_CONFIGMAP_KEY, r->doc, r->len);
	int rc;

	if (!cm)
		return SAQR_ENOMEM;
	rc = r->c->ops->patch(r->c->ops, &apc_configmaps, r->c->cfg.configmap_namespace,
			      r->c->cfg.configmap_name, KUBE_PATCH_APPLY, cm, &wo, NULL, st);
	json_decref(cm);
	return rc;
}

/* A valid document: into the ConfigMap unless it is there already. Fills r->o. 0, or an error to
 * retry (the status records refusals). */
static int apc_publish(struct apc_run *r, const char *current)
{
	struct kube_status st = {0};
	int rc = 0;

	r->o.reason = AP_REASON_LOADED;
	if (current && strcmp(current, r->doc) == 0)
		return 0;
	rc = apc_write_configmap(r, &st);
	if (rc == 0) {
		char gen[32];

		snprintf(gen, sizeof(gen), "%lld", json_path_int(r->ap, "metadata.generation", 0));
		log_kv(LOG_LVL_INFO, "policy written", "controller", AP_CONTROLLER, "name", r->c->cfg.name,
		       "configMap", r->c->configmap, "generation", gen, (char *)NULL);
		return 0;
	}
	apc_log(r, LOG_LVL_WARN, "cannot write the policy ConfigMap",
		st.message[0] ? st.message : saqr_strerror(rc));
	r->o.reason = AP_REASON_WRITE_FAILED;
	opctl_format(r->detail, sizeof(r->detail), "%s", st.message[0] ? st.message : saqr_strerror(rc));
	r->o.detail = r->detail;
	r->o.in_force = current ? ap_document_generation(current, strlen(current)) : 0;
	return rc;
}

/* ---- status ---- */

static void apc_events(struct apc_run *r, const json_t *prev, const json_t *ours)
{
	const json_t *now = json_object_get(ours, "conditions");
	const char *msg = cond_message(now, AP_COND_ACCEPTED, "");

	if (strcmp(cond_message(json_object_get(prev, "conditions"), AP_COND_ACCEPTED, ""), msg) == 0)
		return;
	if (strcmp(r->o.reason, AP_REASON_LOADED) == 0)
		(void)events_record(r->c->events, r->ap, "Normal", AP_REASON_LOADED, "Load", "%s", msg);
	else
		(void)events_record(r->c->events, r->ap, "Warning", r->o.reason, "Load", "%s", msg);
}

static int apc_apply_status(struct apc_run *r, json_t *ours, struct kube_status *st)
{
	struct kube_write_opts wo = {
	    .field_manager = OPERATOR_FIELD_MANAGER, .force = true, .subresource = "status"};
	json_t *body = json_pack("{s:s, s:s, s:{s:s}, s:O}", "apiVersion", AP_API_VERSION, "kind", AP_KIND,
				 "metadata", "name", r->c->cfg.name, "status", ours);
	int rc;

	if (!body)
		return SAQR_ENOMEM;
	rc = r->c->ops->patch(r->c->ops, &ap_resource, NULL, r->c->cfg.name, KUBE_PATCH_APPLY, body, &wo,
			      NULL, st);
	json_decref(body);
	return rc;
}

static int apc_write_status(struct apc_run *r)
{
	const json_t *prev = json_object_get(r->ap, "status");
	struct kube_status st = {0};
	char now[COND_TIME_BUF];
	json_t *ours = NULL;
	int rc;

	opctl_now(now, sizeof(now));
	rc = ap_status(r->ap, &r->o, AP_LOADER_OPERATOR, now, &ours);
	if (rc == 0 && ap_status_changed(prev, ours, AP_LOADER_OPERATOR)) {
		rc = apc_apply_status(r, ours, &st);
		if (rc == 0)
			apc_events(r, prev, ours);
		else
			apc_log(r, LOG_LVL_WARN, "status write failed",
				st.message[0] ? st.message : saqr_strerror(rc));
	}
	json_decref(ours);
	return rc;
}

/* ---- reconcile ---- */

static int apc_run(struct apc_run *r)
{
	char *current = NULL;
	int rc = ap_document(r->ap, &r->doc, &r->len), werr = 0;

	r->o.configmap = r->c->configmap;
	if (rc == SAQR_ENOMEM)
		return rc;
	if (rc == 0)
		rc = ap_validate(r->doc, r->len, r->detail, sizeof(r->detail));
	else
		opctl_format(r->detail, sizeof(r->detail), "%s",
			     rc == SAQR_ETOOBIG ? "spec: the policy document is larger than 1 MiB"
						: "spec: expected an object");
	if (rc == SAQR_ENOMEM)
		return rc;
	rc = apc_read_configmap(r, &current);
	if (rc)
		return rc;
	if (r->detail[0]) {
		r->o.reason = AP_REASON_INVALID;
		r->o.detail = r->detail;
		r->o.in_force = current ? ap_document_generation(current, strlen(current)) : 0;
	} else {
		werr = apc_publish(r, current);
	}
	free(current);
	rc = apc_write_status(r);
	return werr ? werr : rc;
}

static struct workqueue_result apc_reconcile(void *ud, const char *ns, const char *name)
{
	struct apc *c = ud;
	struct apc_run r = {.c = c};
	struct workqueue_result res;
	json_t *ap = NULL;
	int rc;

	(void)ns;
	if (strcmp(name, c->cfg.name) != 0 || informer_get(c->aps, NULL, name, &ap) != 0)
		return opctl_result(0, false); /* not followed, or deleted: the ConfigMap stays */
	if (json_path(ap, "metadata.deletionTimestamp")) {
		json_decref(ap);
		return opctl_result(0, false);
	}
	r.ap = ap;
	rc = apc_run(&r);
	free(r.doc);
	json_decref(ap);
	res = opctl_result(rc, false);
	if (rc == 0)
		res.requeue_after = AP_RESYNC;
	return res;
}

/* ---- registration ---- */

static void apc_free(void *ud)
{
	free(ud);
}

int operator_register_admissionpolicy(struct operator_ctx *ctx, const struct ap_config *cfg)
{
	struct controller_config cc = {.name = AP_CONTROLLER,
				       .primary = ap_resource,
				       .group = "saqr.dev",
				       .kind = AP_KIND,
				       .workers = 1,
				       .reconcile = apc_reconcile};
	struct apc *c;
	int rc;

	if (!ctx || !ctx->mgr || !ctx->ops || !ctx->events || !cfg || !cfg->name || !*cfg->name ||
	    !cfg->configmap_namespace || !*cfg->configmap_namespace || !cfg->configmap_name ||
	    !*cfg->configmap_name)
		return SAQR_EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return SAQR_ENOMEM;
	c->ops = ctx->ops;
	c->events = ctx->events;
	c->cfg = *cfg;
	snprintf(c->configmap, sizeof(c->configmap), "%s/%s", cfg->configmap_namespace, cfg->configmap_name);
	rc = operator_defer_release(ctx, apc_free, c);
	if (rc)
		return rc;
	c->aps = manager_informer(ctx->mgr, &ap_resource);
	if (!c->aps)
		return SAQR_ENOMEM;
	cc.ud = c;
	return manager_add_controller(ctx->mgr, &cc);
}
