/* What a loaded policy puts in force, as JSON for reports (`saqrctl report`): each rule group
 * with its enforcement and main settings, and the exemptions. */
#include <stdbool.h>
#include <stdio.h>

#include "common/err.h"
#include "policy/iso8601.h"
#include "policy/policy_internal.h"

static const char *summary_enforcement(enum policy_enforcement e)
{
	return e == POLICY_ENFORCE_DENY ? "deny" : e == POLICY_ENFORCE_WARN ? "warn" : "audit";
}

static json_t *summary_list(const struct policy_strlist *l)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < l->n; i++)
		if (json_array_append_new(a, json_string(l->v[i]))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *summary_duration(long long seconds)
{
	char text[64];

	iso8601_duration_format(seconds, text, sizeof(text));
	return json_string(text);
}

static json_t *summary_group(const char *name, const struct policy_group *g)
{
	return json_pack("{s:s, s:b, s:s}", "name", name, "enabled", g->enabled, "enforcement",
			 summary_enforcement(g->enforcement));
}

static json_t *summary_groups(const struct policy *p)
{
	json_t *pss = summary_group("podSecurity", &p->pod_security.g);

	if (pss)
		json_object_set_new(
		    pss, "level",
		    json_string(p->pod_security.level == POLICY_PSS_RESTRICTED ? "restricted" : "baseline"));
	return json_pack("[o, o, o, o, o]", pss, summary_group("zeroTrust", &p->zero_trust.g),
			 summary_group("dataResidency", &p->residency.g),
			 summary_group("compliance", &p->compliance.g),
			 summary_group("exemptions", &p->exemptions.g));
}

static json_t *summary_exemptions(const struct policy_exemptions *x)
{
	return json_pack("{s:o, s:o, s:o, s:{s:o, s:o}}", "namespaces", summary_list(&x->namespaces), "users",
			 summary_list(&x->users), "groups", summary_list(&x->groups), "breakGlass", "groups",
			 summary_list(&x->break_glass_groups), "maxDuration",
			 summary_duration(x->break_glass_max));
}

/* "provider/region" strings. */
static json_t *summary_locations(const struct policy_loclist *l)
{
	json_t *a = json_array();
	char text[256];

	for (size_t i = 0; a && i < l->n; i++) {
		snprintf(text, sizeof(text), "%s/%s", l->v[i].provider, l->v[i].region);
		if (json_array_append_new(a, json_string(text))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

int policy_summary(const struct policy *p, json_t **out)
{
	json_t *s;

	if (!p)
		return SAQR_EINVAL;
	s = json_pack("{s:o, s:o, s:o}", "groups", summary_groups(p), "allowedLocations",
		      summary_locations(&p->residency.allowed_locations), "exemptions",
		      summary_exemptions(&p->exemptions));
	if (!s)
		return SAQR_ENOMEM;
	*out = s;
	return 0;
}

const char *policy_default_text(size_t *len)
{
	if (len)
		*len = policy__default_yaml_len;
	return policy__default_yaml;
}
