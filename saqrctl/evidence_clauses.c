/* Which provision each rule helps to evidence: a static table, worded modestly. A rule supports
 * a control an auditor looks for; it does not by itself make a system compliant. Sources: UAE
 * Federal Decree-Law No. 45 of 2021 (PDPL) Art. 4-6, 20, 22-23; DIFC Data Protection Law No. 5
 * of 2020 Art. 26-27; ADGM Data Protection Regulations 2021 Part 5; NIST SP 800-207 Sect. 2.1
 * (the tenets of zero trust, numbered as there); the Kubernetes Pod Security Standards. */
#include <string.h>

#include "saqrctl/evidence_clauses.h"

#define PDPL "UAE PDPL (Federal Decree-Law No. 45 of 2021)"
#define PDPL_XB "Art. 22-23 (cross-border transfer of personal data)"
#define FREE_ZONES "DIFC DP Law No. 5 of 2020; ADGM DP Regulations 2021"
#define FREE_ZONES_XB "DIFC Art. 26-27; ADGM Part 5 (transfers outside the free zone)"
#define ZTA "NIST SP 800-207 (Zero Trust Architecture)"
#define PSS "Kubernetes Pod Security Standards"
#define GOV "Data governance (organisational control)"

static const struct evidence_clause evidence__table[] = {
    {"dataResidency.label", PDPL, PDPL_XB,
     "each object declares where its data must stay (the residency label)"},
    {"dataResidency.location", PDPL, PDPL_XB,
     "storage locations are checked against allowed (provider, region) pairs in the UAE"},
    {"dataResidency.placement", PDPL, PDPL_XB, "pods are pinned to allowed regions"},
    {"dataResidency.jurisdiction", FREE_ZONES, FREE_ZONES_XB,
     "data declares the regime it falls under: onshore PDPL, DIFC or ADGM"},
    {"dataResidency.transferBasis", FREE_ZONES, FREE_ZONES_XB,
     "DIFC or ADGM data names its transfer basis (for them onshore UAE is a third country)"},
    {"dataResidency.", PDPL, PDPL_XB, "a residency setting of the policy"},
    {"compliance.classification", GOV, "data classification", "each object carries a classification"},
    {"compliance.owner", GOV, "accountability (a named owner)",
     "each object names the team accountable for it"},
    {"compliance.personalData", PDPL, "Art. 4-5 (lawful processing; processing controls)",
     "objects declare whether they process personal data"},
    {"compliance.lawfulBasis", PDPL, "Art. 4 and 6 (processing without consent; conditions of consent)",
     "personal data names its lawful basis"},
    {"compliance.retention", PDPL, "Art. 5 (processing controls: not kept beyond the purpose)",
     "personal data declares a retention period within the policy's maximum"},
    {"compliance.encryption", PDPL, "Art. 20 (security of personal data)",
     "model storage holding personal data is encrypted at rest"},
    {"compliance.", GOV, "data governance", "a compliance setting of the policy"},
    {"zeroTrust.imageRegistry", ZTA, "Sect. 2.1, tenet 5 (integrity and security posture of assets)",
     "images come only from allowed registries"},
    {"zeroTrust.imageDigest", ZTA, "Sect. 2.1, tenet 5 (integrity and security posture of assets)",
     "images are pinned by digest"},
    {"zeroTrust.imageLatest", ZTA, "Sect. 2.1, tenet 5 (integrity and security posture of assets)",
     "no mutable :latest images"},
    {"zeroTrust.modelDigest", ZTA, "Sect. 2.1, tenet 5 (integrity and security posture of assets)",
     "served models are pinned by digest"},
    {"zeroTrust.serviceAccount", ZTA, "Sect. 2.1, tenets 3 and 6 (per-session, strictly enforced access)",
     "each workload has an identity of its own, not the default ServiceAccount"},
    {"zeroTrust.automountToken", ZTA, "Sect. 2.1, tenets 3 and 6 (per-session, strictly enforced access)",
     "no API token mounted unless asked for"},
    {"zeroTrust.secretNamespace", ZTA, "Sect. 2.1, tenets 3 and 6 (per-session, strictly enforced access)",
     "Secret references stay within their namespace"},
    {"zeroTrust.modelTLS", ZTA, "Sect. 2.1, tenet 2 (all communication secured)",
     "model servers are served over TLS"},
    {"zeroTrust.endpoint", ZTA, "Sect. 2.1, tenet 2 (all communication secured)",
     "alerts and metrics go only to https or listed endpoints"},
    {"zeroTrust.", ZTA, "Sect. 2.1 (tenets of zero trust)", "a zero-trust setting of the policy"},
    {"podSecurity.baseline.", PSS, "Baseline profile", "the Baseline control of the same name"},
    {"podSecurity.restricted.", PSS, "Restricted profile", "the Restricted control of the same name"},
    {"exemptions.breakGlass", "Emergency access (organisational control)", "break-glass",
     "break-glass is time-bound, limited to listed groups and logged"},
};

#define EVIDENCE_NCLAUSES (sizeof(evidence__table) / sizeof(evidence__table[0]))

/* An exact entry first, then the longest prefix entry. */
bool evidence_clause_for(const char *rule, struct evidence_clause *out)
{
	const struct evidence_clause *best = NULL;
	size_t best_len = 0;

	for (size_t i = 0; rule && i < EVIDENCE_NCLAUSES; i++) {
		const struct evidence_clause *c = &evidence__table[i];
		size_t n = strlen(c->rule);

		if (strcmp(c->rule, rule) == 0) {
			best = c;
			break;
		}
		if (c->rule[n - 1] == '.' && strncmp(c->rule, rule, n) == 0 && n > best_len) {
			best = c;
			best_len = n;
		}
	}
	if (!best)
		return false;
	*out = *best;
	return true;
}

const struct evidence_clause *evidence_clauses(size_t *n)
{
	*n = EVIDENCE_NCLAUSES;
	return evidence__table;
}
