/* Compliance labels. Keys are read from the object's labels, then its annotations (values
 * such as a lawful basis may not fit label syntax). */
#include "policy/compliance.h"

#include <stdio.h>
#include <string.h>

#include "common/jsonutil.h"
#include "policy/finding.h"
#include "policy/iso8601.h"

#define CP_PATH_MAX 128

static const char *const cp_classes[] = {"public", "internal", "confidential", "restricted"};

static void cp_report(struct policy_eval_ctx *ev, const char *rule, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Report against the label or annotation key (or, when key is not a saqr.dev key, the path). */
static void cp_report(struct policy_eval_ctx *ev, const char *rule, const char *key, const char *fmt, ...)
{
	char path[CP_PATH_MAX];
	va_list ap;

	if (strncmp(key, "saqr.dev/", 9) == 0)
		policy__meta_path(ev, key, path, sizeof(path));
	else
		snprintf(path, sizeof(path), "%s", key);
	va_start(ap, fmt);
	policy__vviolation(ev, ev->p->compliance.g.enforcement, rule, path, fmt, ap);
	va_end(ap);
}

static void cp_classification(struct policy_eval_ctx *ev)
{
	const char *v = policy__meta_value(ev, "saqr.dev/data-classification");
	size_t i;

	for (i = 0; v && i < sizeof(cp_classes) / sizeof(cp_classes[0]); i++)
		if (strcmp(v, cp_classes[i]) == 0)
			return;
	if (v)
		cp_report(
		    ev, "compliance.classification", "saqr.dev/data-classification",
		    "\"%s\" is not a classification; allowed: public, internal, confidential, restricted", v);
	else
		cp_report(ev, "compliance.classification", "saqr.dev/data-classification",
			  "missing; label the object public, internal, confidential or restricted");
}

static void cp_owner(struct policy_eval_ctx *ev)
{
	const char *v = policy__meta_value(ev, "saqr.dev/owner");

	if (!v || v[0] == '\0')
		cp_report(ev, "compliance.owner", "saqr.dev/owner",
			  "missing; label the object with the team or person accountable for it");
}

static void cp_lawful_basis(struct policy_eval_ctx *ev)
{
	const char *v = policy__meta_value(ev, "saqr.dev/lawful-basis");
	struct buf allowed;

	if (v && policy__strlist_has(&ev->p->compliance.lawful_bases, v))
		return;
	buf_init(&allowed, 4096);
	policy__strlist_join(&ev->p->compliance.lawful_bases, &allowed);
	if (v)
		cp_report(ev, "compliance.lawfulBasis", "saqr.dev/lawful-basis",
			  "\"%s\" is not an allowed lawful basis for personal data; allowed: %s", v,
			  buf_str(&allowed));
	else
		cp_report(ev, "compliance.lawfulBasis", "saqr.dev/lawful-basis",
			  "missing; personal data needs a lawful basis, one of: %s", buf_str(&allowed));
	buf_release(&allowed);
}

static void cp_retention(struct policy_eval_ctx *ev)
{
	const char *v = policy__meta_value(ev, "saqr.dev/retention");
	long long secs, max = ev->p->compliance.max_retention;

	if (!v) {
		cp_report(ev, "compliance.retention", "saqr.dev/retention",
			  "missing; personal data needs a retention period (an ISO-8601 duration of at most "
			  "%lld days, "
			  "e.g. P90D)",
			  max / 86400);
	} else if (iso8601_duration_parse(v, &secs) != 0 || secs == 0) {
		cp_report(ev, "compliance.retention", "saqr.dev/retention",
			  "\"%s\" is not an ISO-8601 duration such as P90D, P1Y or PT720H", v);
	} else if (secs > max) {
		cp_report(ev, "compliance.retention", "saqr.dev/retention",
			  "\"%s\" (%lld days) is longer than the policy's maximum of %lld days", v,
			  secs / 86400, max / 86400);
	}
}

/* Encryption at rest is declared where the kind has storage fields (ModelDeployment). */
static void cp_encryption(struct policy_eval_ctx *ev)
{
	bool present = false;

	if (ev->kind != PODSPEC_KIND_MODEL_DEPLOYMENT ||
	    json_path_bool(ev->obj, "spec.storage.encrypted", false, &present))
		return;
	cp_report(
	    ev, "compliance.encryption", "spec.storage.encrypted",
	    "%s; personal data must be encrypted at rest: set spec.storage.encrypted: true (and a kmsKeyRef)",
	    present ? "false" : "unset");
}

static void cp_personal_data(struct policy_eval_ctx *ev)
{
	const struct policy_compliance *c = &ev->p->compliance;
	const char *v = policy__meta_value(ev, "saqr.dev/personal-data");

	if (!v || strcmp(v, "false") == 0)
		return;
	if (strcmp(v, "true") != 0) {
		cp_report(ev, "compliance.personalData", "saqr.dev/personal-data",
			  "\"%s\" must be \"true\" or \"false\"", v);
		return;
	}
	if (c->require_lawful_basis)
		cp_lawful_basis(ev);
	if (c->require_retention)
		cp_retention(ev);
	if (c->require_encryption)
		cp_encryption(ev);
}

void compliance_check(struct policy_eval_ctx *ev)
{
	if (ev->p->compliance.require_classification)
		cp_classification(ev);
	if (ev->p->compliance.require_owner)
		cp_owner(ev);
	cp_personal_data(ev);
}

void compliance_template_personal_data(struct policy_eval_ctx *ev, const char *parent)
{
	const char *v = policy__meta_value(ev, "saqr.dev/personal-data");

	if (!ev->p->compliance.g.enabled || !parent || strcmp(parent, "true") != 0 ||
	    (v && strcmp(v, "true") == 0))
		return;
	cp_report(ev, "compliance.personalData", "saqr.dev/personal-data",
		  "the object holds personal data (saqr.dev/personal-data: \"true\") but its pod template "
		  "says %s%s%s",
		  v ? "\"" : "nothing", v ? v : "", v ? "\"" : "");
}
