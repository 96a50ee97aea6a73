/* The documented defaults of every policy field (manifests/policy/default.yaml spells the
 * same values out), and a canonical description used to compare policies. */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "policy/finding.h"
#include "policy/iso8601.h"
#include "policy/policy_internal.h"

#define PD_N(a) (sizeof(a) / sizeof((a)[0]))

static const char *const pd_residency_values[] = {"uae"};

static const char *const pd_locations[][2] = {
    {"aws", "me-central-1"}, {"azure", "uaenorth"},    {"azure", "uaecentral"},
    {"oci", "me-dubai-1"},   {"oci", "me-abudhabi-1"}, {"alibaba", "me-east-1"},
};

static const char *const pd_transfer_bases[] = {
    "adequacy-decision", "standard-contractual-clauses", "binding-corporate-rules", "explicit-consent",
    "derogation",
};

static const char *const pd_lawful_bases[] = {
    "consent", "contract", "legal-obligation", "vital-interests", "public-interest", "legitimate-interests",
};

static const char *const pd_namespaces[] = {"kube-system", "kube-public", "kube-node-lease"};
static const char *const pd_break_glass_groups[] = {"saqr:break-glass"};

static int pd_strlist(struct policy_strlist *l, const char *const *v, size_t n)
{
	l->v = calloc(n ? n : 1, sizeof(*l->v));
	if (!l->v)
		return SAQR_ENOMEM;
	for (l->n = 0; l->n < n; l->n++) {
		l->v[l->n] = strdup(v[l->n]);
		if (!l->v[l->n])
			return SAQR_ENOMEM; /* the caller releases what was made */
	}
	return 0;
}

static int pd_locations_set(struct policy_loclist *l)
{
	l->v = calloc(PD_N(pd_locations), sizeof(*l->v));
	if (!l->v)
		return SAQR_ENOMEM;
	for (l->n = 0; l->n < PD_N(pd_locations); l->n++) {
		l->v[l->n].provider = strdup(pd_locations[l->n][0]);
		l->v[l->n].region = strdup(pd_locations[l->n][1]);
		if (!l->v[l->n].provider || !l->v[l->n].region) {
			l->n++;
			return SAQR_ENOMEM;
		}
	}
	return 0;
}

static void pd_group(struct policy_group *g)
{
	g->enabled = true;
	g->enforcement = POLICY_ENFORCE_DENY;
}

int policy__set_defaults(struct policy *p)
{
	int rc = 0;

	memset(p, 0, sizeof(*p));
	pd_group(&p->pod_security.g);
	p->pod_security.level = POLICY_PSS_RESTRICTED;
	pd_group(&p->zero_trust.g);
	p->zero_trust.require_digest = p->zero_trust.forbid_latest = p->zero_trust.forbid_default_sa = true;
	p->zero_trust.require_automount_disabled = p->zero_trust.require_model_tls = true;
	p->zero_trust.require_model_digest = p->zero_trust.forbid_insecure_transport = true;
	pd_group(&p->residency.g);
	p->residency.require_placement = true;
	p->residency.label = strdup("saqr.dev/data-residency");
	pd_group(&p->compliance.g);
	p->compliance.require_classification = p->compliance.require_owner = true;
	p->compliance.max_retention = 365LL * 86400;
	p->compliance.require_lawful_basis = p->compliance.require_retention = true;
	p->compliance.require_encryption = true;
	pd_group(&p->exemptions.g);
	p->exemptions.break_glass_max = 4LL * 3600;
	if (!p->residency.label)
		rc = SAQR_ENOMEM;
	rc = rc ? rc
		: pd_strlist(&p->residency.allowed_values, pd_residency_values, PD_N(pd_residency_values));
	rc = rc ? rc : pd_locations_set(&p->residency.allowed_locations);
	rc = rc ? rc : pd_strlist(&p->residency.transfer_bases, pd_transfer_bases, PD_N(pd_transfer_bases));
	rc = rc ? rc : pd_strlist(&p->compliance.lawful_bases, pd_lawful_bases, PD_N(pd_lawful_bases));
	rc = rc ? rc : pd_strlist(&p->exemptions.namespaces, pd_namespaces, PD_N(pd_namespaces));
	rc = rc ? rc : pd_strlist(&p->exemptions.users, NULL, 0);
	rc = rc ? rc
		: pd_strlist(&p->exemptions.break_glass_groups, pd_break_glass_groups,
			     PD_N(pd_break_glass_groups));
	return rc;
}

static const char *pd_enf(enum policy_enforcement e)
{
	return e == POLICY_ENFORCE_DENY ? "deny" : e == POLICY_ENFORCE_WARN ? "warn" : "audit";
}

static void pd_group_describe(struct buf *b, const char *name, const struct policy_group *g)
{
	buf_addf(b, "%s.enabled=%d\n%s.enforcement=%s\n", name, g->enabled, name, pd_enf(g->enforcement));
}

static void pd_list_describe(struct buf *b, const char *name, const struct policy_strlist *l)
{
	buf_addf(b, "%s=[", name);
	policy__strlist_join(l, b);
	buf_adds(b, "]\n");
}

static void pd_duration_describe(struct buf *b, const char *name, long long secs)
{
	char d[48];

	iso8601_duration_format(secs, d, sizeof(d));
	buf_addf(b, "%s=%s\n", name, d);
}

int policy__describe(const struct policy *p, struct buf *b)
{
	const struct policy_zero_trust *zt = &p->zero_trust;
	const struct policy_residency *r = &p->residency;
	const struct policy_compliance *c = &p->compliance;
	size_t i;

	pd_group_describe(b, "podSecurity", &p->pod_security.g);
	buf_addf(b, "podSecurity.level=%s\n",
		 p->pod_security.level == POLICY_PSS_RESTRICTED ? "restricted" : "baseline");
	pd_group_describe(b, "zeroTrust", &zt->g);
	pd_list_describe(b, "zeroTrust.allowedRegistries", &zt->allowed_registries);
	pd_list_describe(b, "zeroTrust.allowedEndpoints", &zt->allowed_endpoints);
	buf_addf(b, "zeroTrust.flags=%d%d%d%d%d%d\n", zt->require_digest, zt->forbid_latest,
		 zt->forbid_default_sa, zt->require_automount_disabled, zt->require_model_tls,
		 zt->require_model_digest);
	buf_addf(b, "zeroTrust.forbidInsecureTransport=%d\nzeroTrust.modelSignature.required=%d\n",
		 zt->forbid_insecure_transport, zt->model_signature.required);
	buf_adds(b, "zeroTrust.modelSignature.trustedKeys=[");
	for (i = 0; i < zt->model_signature.trusted_keys.n; i++) {
		const struct policy_trusted_key *k = &zt->model_signature.trusted_keys.v[i];

		if (k->pem)
			buf_addf(b, "%spem:%s", i ? ", " : "", k->id);
		else
			buf_addf(b, "%ssecret:%s/%s", i ? ", " : "", k->secret_name, k->secret_key);
	}
	buf_adds(b, "]\n");
	pd_group_describe(b, "dataResidency", &r->g);
	buf_addf(b, "dataResidency.residencyLabel=%s\n", r->label);
	pd_list_describe(b, "dataResidency.allowedResidencyValues", &r->allowed_values);
	buf_adds(b, "dataResidency.allowedLocations=[");
	for (i = 0; i < r->allowed_locations.n; i++)
		buf_addf(b, "%s%s/%s", i ? ", " : "", r->allowed_locations.v[i].provider,
			 r->allowed_locations.v[i].region);
	buf_addf(b, "]\ndataResidency.clusterLocation=%s/%s\n",
		 r->has_cluster_location ? r->cluster_location.provider : "",
		 r->has_cluster_location ? r->cluster_location.region : "");
	buf_addf(b, "dataResidency.requirePlacement=%d\n", r->require_placement);
	pd_list_describe(b, "dataResidency.transferBases", &r->transfer_bases);
	buf_adds(b, "dataResidency.trustedEndpoints=[");
	for (i = 0; i < r->trusted_endpoints.n; i++)
		buf_addf(b, "%s%s=%s/%s", i ? ", " : "", r->trusted_endpoints.v[i].host,
			 r->trusted_endpoints.v[i].loc.provider, r->trusted_endpoints.v[i].loc.region);
	buf_adds(b, "]\n");
	pd_group_describe(b, "compliance", &c->g);
	buf_addf(b, "compliance.flags=%d%d%d%d%d\n", c->require_classification, c->require_owner,
		 c->require_lawful_basis, c->require_retention, c->require_encryption);
	pd_duration_describe(b, "compliance.maxRetention", c->max_retention);
	pd_list_describe(b, "compliance.personalData.allowedLawfulBases", &c->lawful_bases);
	pd_group_describe(b, "exemptions", &p->exemptions.g);
	pd_list_describe(b, "exemptions.namespaces", &p->exemptions.namespaces);
	pd_list_describe(b, "exemptions.users", &p->exemptions.users);
	pd_list_describe(b, "exemptions.groups", &p->exemptions.groups);
	pd_list_describe(b, "exemptions.breakGlass.groups", &p->exemptions.break_glass_groups);
	pd_duration_describe(b, "exemptions.breakGlass.maxDuration", p->exemptions.break_glass_max);
	for (i = 0; i < p->custom_kinds.n; i++) {
		const struct policy_kind *k = &p->custom_kinds.v[i];

		buf_addf(b, "customKinds[%zu]=%s/%s\n", i, k->group, k->kind);
		pd_list_describe(b, "customKinds.podTemplates", &k->templates);
		pd_list_describe(b, "customKinds.podSpecs", &k->pod_specs);
		pd_list_describe(b, "customKinds.uris", &k->uris);
	}
	return 0;
}
