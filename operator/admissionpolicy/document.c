/* The pure part of the AdmissionPolicy controller: the policy document an AdmissionPolicy stands
 * for, its validation by the policy loader, and the status the operator applies. No I/O. */
#include "operator/admissionpolicy/admissionpolicy.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "common/yamljson.h"
#include "operator/conditions.h"
#include "policy/policy.h"

#define AP_DOC_NAME "AdmissionPolicy" /* the loader's name for the document, cut from messages */

const struct kube_resource ap_resource = {"saqr.dev", "v1alpha1", "admissionpolicies", false};

int ap_configmap_ref_parse(const char *s, char *out_ns, size_t nslen, char *out_name, size_t namelen)
{
	const char *slash = s ? strchr(s, '/') : NULL;
	size_t n;

	if (!slash || slash == s || !slash[1] || strchr(slash + 1, '/'))
		return SAQR_EINVAL;
	n = (size_t)(slash - s);
	if (n >= nslen || strlen(slash + 1) >= namelen)
		return SAQR_EINVAL;
	memcpy(out_ns, s, n);
	out_ns[n] = '\0';
	memcpy(out_name, slash + 1, strlen(slash + 1) + 1);
	return 0;
}

/* ---- the document ---- */

static json_t *ap_document_json(const json_t *ap)
{
	const char *name = json_path_str(ap, "metadata.name", NULL);
	const json_t *spec = json_object_get(ap, "spec");
	json_t *doc;

	if (!name || !*name || (spec && !json_is_object(spec)))
		return NULL;
	doc = json_pack("{s:s, s:s, s:{s:s, s:I}}", "apiVersion", AP_API_VERSION, "kind", AP_KIND, "metadata",
			"name", name, "generation", (json_int_t)json_path_int(ap, "metadata.generation", 0));
	if (doc && spec && json_object_set(doc, "spec", (json_t *)spec)) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

int ap_document(const json_t *ap, char **out, size_t *len)
{
	json_t *doc;
	char *text;
	size_t n;

	if (!json_path_str(ap, "metadata.name", NULL) ||
	    (json_object_get(ap, "spec") && !json_is_object(json_object_get(ap, "spec"))))
		return SAQR_EINVAL;
	doc = ap_document_json(ap);
	if (!doc)
		return SAQR_ENOMEM;
	text = json_dumps(doc, JSON_INDENT(2));
	json_decref(doc);
	if (!text)
		return SAQR_ENOMEM;
	n = strlen(text);
	if (n > AP_DOC_MAX) {
		free(text);
		return SAQR_ETOOBIG;
	}
	*out = text;
	*len = n;
	return 0;
}

/* Cut the loader's "AdmissionPolicy:<line>: " prefix off msg, in place. */
static void ap_cut_location(char *msg)
{
	size_t n = strlen(AP_DOC_NAME);
	char *p = msg + n;

	if (strncmp(msg, AP_DOC_NAME ":", n + 1) != 0)
		return;
	p++;
	while (isdigit((unsigned char)*p))
		p++;
	if (p[0] == ':' && p[1] == ' ')
		memmove(msg, p + 2, strlen(p + 2) + 1);
}

int ap_validate(const char *doc, size_t len, char *err, size_t errlen)
{
	struct policy *p = NULL;
	char msg[AP_MSG_MAX] = "";
	int rc = policy_load_buffer(doc, len, AP_DOC_NAME, &p, msg, sizeof(msg));

	policy_free(p);
	if (rc == 0)
		return 0;
	ap_cut_location(msg);
	if (err && errlen)
		snprintf(err, errlen, "%s", msg[0] ? msg : saqr_strerror(rc));
	return rc;
}

long long ap_document_generation(const char *doc, size_t len)
{
	json_t *v = NULL;
	long long gen;

	if (!doc || yaml_to_json(doc, len, AP_DOC_MAX, &v, NULL, 0) != 0)
		return 0;
	gen = json_path_int(v, "metadata.generation", 0);
	json_decref(v);
	return gen > 0 ? gen : 0;
}

/* ---- status ---- */

const json_t *ap_loaded_entry(const json_t *status, const char *loader)
{
	const json_t *e;
	size_t i;

	json_array_foreach(json_object_get(status, "loaded"), i, e)
	{
		if (strcmp(json_path_str(e, "name", ""), loader) == 0)
			return e;
	}
	return NULL;
}

/* What still holds when a generation is not in force. */
static void ap_in_force(const struct ap_outcome *o, char *out, size_t outlen)
{
	if (o->in_force > 0)
		snprintf(out, outlen, "the last good policy stays in force (generation %lld in ConfigMap %s)",
			 o->in_force, o->configmap);
	else
		snprintf(out, outlen, "the last good policy stays in force (ConfigMap %s unchanged)",
			 o->configmap);
}

static void ap_condition_message(const struct ap_outcome *o, long long gen, char *out, size_t outlen)
{
	char kept[512];

	if (strcmp(o->reason, AP_REASON_LOADED) == 0) {
		snprintf(out, outlen,
			 "generation %lld is valid and written to ConfigMap %s (key " AP_CONFIGMAP_KEY
			 "), which saqr-webhook and the audit reload",
			 gen, o->configmap);
		return;
	}
	ap_in_force(o, kept, sizeof(kept));
	if (strcmp(o->reason, AP_REASON_INVALID) == 0)
		snprintf(out, outlen, "generation %lld refused: %s; %s", gen, o->detail ? o->detail : "",
			 kept);
	else
		snprintf(out, outlen, "generation %lld could not be written to ConfigMap %s: %s; %s", gen,
			 o->configmap, o->detail ? o->detail : "", kept);
}

/* loader's entry: the generation in force there (this one when it loaded, else the last good one)
 * and since when (loadedAt stays the previous one while that generation does not change). */
static json_t *ap_entry(const json_t *prev_status, const struct ap_outcome *o, const char *loader,
			long long gen, const char *now)
{
	bool ok = strcmp(o->reason, AP_REASON_LOADED) == 0;
	long long in_force = ok ? gen : o->in_force;
	char msg[AP_MSG_MAX];
	const json_t *prev = ap_loaded_entry(prev_status, loader);
	json_t *e;

	if (ok)
		snprintf(msg, sizeof(msg), "written to ConfigMap %s", o->configmap);
	else
		snprintf(msg, sizeof(msg), "generation %lld not loaded: %s", gen,
			 o->detail ? o->detail : o->reason);
	e = json_pack("{s:s, s:I, s:s, s:b, s:s}", "name", loader, "generation", (json_int_t)in_force,
		      "loadedAt", now, "accepted", ok, "message", msg);
	if (e && prev && json_path_int(prev, "generation", -1) == in_force &&
	    json_path_str(prev, "loadedAt", NULL))
		json_object_set(e, "loadedAt", json_object_get(prev, "loadedAt"));
	return e;
}

int ap_status(const json_t *ap, const struct ap_outcome *o, const char *loader, const char *now, json_t **out)
{
	const json_t *prev = json_object_get(ap, "status");
	long long gen = json_path_int(ap, "metadata.generation", 0);
	char msg[AP_MSG_MAX];
	struct cond c = {AP_COND_ACCEPTED, COND_TRUE, NULL, msg, gen};
	json_t *st, *conds, *loaded;
	int rc;

	if (!o || !o->reason || !o->configmap || !loader || !now)
		return SAQR_EINVAL;
	c.reason = o->reason;
	if (strcmp(o->reason, AP_REASON_LOADED) != 0)
		c.status = COND_FALSE;
	ap_condition_message(o, gen, msg, sizeof(msg));
	conds = json_array();
	loaded = json_array();
	st = json_pack("{s:I, s:o, s:o}", "observedGeneration", (json_int_t)gen, "conditions", conds,
		       "loaded", loaded);
	if (!st)
		return SAQR_ENOMEM;
	rc = cond_set(conds, json_object_get(prev, "conditions"), &c, now);
	if (rc == 0 && json_array_append_new(loaded, ap_entry(prev, o, loader, gen, now)))
		rc = SAQR_ENOMEM;
	if (rc) {
		json_decref(st);
		return rc;
	}
	*out = st;
	return 0;
}

bool ap_status_changed(const json_t *prev, const json_t *ours, const char *loader)
{
	const json_t *a = cond_find(json_object_get(prev, "conditions"), AP_COND_ACCEPTED),
		     *b = cond_find(json_object_get(ours, "conditions"), AP_COND_ACCEPTED),
		     *ea = ap_loaded_entry(prev, loader), *eb = ap_loaded_entry(ours, loader);

	if (json_path_int(prev, "observedGeneration", -1) != json_path_int(ours, "observedGeneration", -1))
		return true;
	if (!a || !b || !json_equal((json_t *)a, (json_t *)b))
		return true;
	return !ea || !eb || !json_equal((json_t *)ea, (json_t *)eb);
}
