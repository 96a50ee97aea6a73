/* Policy reports, as pure functions: the results of policy_eval decisions on the objects of one
 * scope (a namespace, or the cluster), their summary, and the report document to write —
 * openreports.io/v1alpha1 Report/ClusterReport or wgpolicyk8s.io/v1alpha2
 * PolicyReport/ClusterPolicyReport — with the timestamps of unchanged results carried over from
 * the report in the cluster, so that a report whose content did not change is never rewritten.
 * No I/O here; operator/audit/controller.c reads the caches and writes. */
#ifndef SAQR_OPERATOR_AUDIT_REPORT_H
#define SAQR_OPERATOR_AUDIT_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "policy/policy.h"

#define AUDIT_REPORT_NAME "saqr-policy"
#define AUDIT_SOURCE "saqr"
#define AUDIT_POLICY "saqr"
#define AUDIT_MAX_RESULTS 1000u /* results kept in one report (fail first); the summary counts all */
#define AUDIT_MESSAGE_MAX 2048u /* one result's message */
#define AUDIT_OWNER_LABEL "saqr.dev/owner" /* copied into a finding's properties.owner */

enum audit_format { AUDIT_FORMAT_OPENREPORTS, AUDIT_FORMAT_WGPOLICY };

/* The outcome of one result, in the order results are kept when a report is full. */
enum audit_outcome { AUDIT_FAIL, AUDIT_WARN, AUDIT_ERROR, AUDIT_SKIP, AUDIT_PASS, AUDIT_NOUTCOMES };

struct audit_summary {
	size_t n[AUDIT_NOUTCOMES];
};

/* The results of one scope. kept[o] holds at most AUDIT_MAX_RESULTS results of outcome o
 * (owned arrays of result objects, without timestamps); summary counts every result;
 * violations maps rule id to the number of fail and warn results (owned object). */
struct audit_report {
	json_t *kept[AUDIT_NOUTCOMES];
	struct audit_summary summary;
	json_t *violations;
};

/* What one object's decision says about break-glass (from its audit annotations). */
struct audit_break_glass {
	bool present;		  /* the object carries saqr.dev/break-glass */
	bool in_force;		  /* well-formed and not expired: findings are reported as warn */
	bool expired;		  /* its expiry is past */
	time_t expires;		  /* 0 when it could not be read */
	const char *reason;	  /* borrowed from the decision */
	const char *expires_text; /* borrowed from the decision */
};

/* 0 or SAQR_ENOMEM. NULL-safe release. */
int audit_report_init(struct audit_report *r);
void audit_report_release(struct audit_report *r);

/* "pass", "fail", ... and back (SAQR_EINVAL for another word). */
const char *audit_outcome_name(enum audit_outcome o);
int audit_outcome_parse(const char *s, enum audit_outcome *out);

/* Read the break-glass state of d (evaluated at now) into bg. Strings are borrowed from d. */
void audit_break_glass_read(const struct policy_decision *d, time_t now, struct audit_break_glass *bg);

/* Add the results of decision d on obj (borrowed): "skip" when an exemption applied, "pass"
 * when nothing was found, else one result per rule found — "fail" (deny and audit findings) or
 * "warn" (warn findings, and every finding while a break-glass is in force) — whose message
 * is the webhook's "[rule] path: message" lines for that rule joined by "; ".
 * A finding's properties carry the enforcement, the object's owner label (properties.owner)
 * when it has one, and the break-glass in force.
 * 0, SAQR_EINVAL (obj has no kind or name) or SAQR_ENOMEM. */
int audit_report_add(struct audit_report *r, const json_t *obj, const struct policy_decision *d, time_t now);

struct audit_report_meta {
	enum audit_format format;
	const char *name;      /* NULL: AUDIT_REPORT_NAME */
	const char *namespace; /* NULL: the cluster-scoped kind */
};

/* The report document for r: apiVersion, kind, metadata (name, namespace, labels), scope,
 * summary, results sorted (outcome, resource, rule) and cut at AUDIT_MAX_RESULTS. A result
 * equal to one in prev (the report in the cluster, may be NULL) keeps that one's timestamp;
 * new results get now. *out is a new reference. 0 or SAQR_ENOMEM. */
int audit_report_build(const struct audit_report *r, const struct audit_report_meta *m, const json_t *prev,
		       time_t now, json_t **out);

/* Whether doc (from audit_report_build) says anything prev does not: labels, annotations
 * Saqr sets, source, scope, configuration, summary or results. */
bool audit_report_changed(const json_t *prev, const json_t *doc);

/* The report's resource and kind for a format and scope. */
const char *audit_report_kind(enum audit_format f, bool namespaced);
const char *audit_report_api_version(enum audit_format f);
const char *audit_report_resource(enum audit_format f, bool namespaced);

/* The group of a rule id: what comes before its first '.' ("podSecurity"), into out. */
void audit_rule_group(const char *rule, char *out, size_t outlen);

#endif
