/* The audit controller inside saqr-operator: re-evaluates the objects already in the cluster
 * against the admission policy in force and keeps one policy report per namespace
 * (operator/audit/report.h), on the leader only, like the other controllers.
 *
 *  - Audited kinds: Pods, Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs,
 *    ModelDeployments, TrainingJobs and DriftPolicies, read from the manager's shared informers
 *    (status cut away for the built-in kinds; compact caches when the manager keeps them).
 *  - The work unit is a namespace: any change to an audited object in it (spec, labels,
 *    annotations) queues the namespace once (batched for AUDIT_BATCH_DELAY); the reconcile
 *    evaluates its objects one at a time and writes its report only when the content changed.
 *  - The policy: a file (the mounted saqr-policy ConfigMap) polled for changes, or the built-in
 *    default. A new policy queues every namespace.
 *  - Break-glass: a namespace is queued again when the earliest break-glass in it expires; an
 *    expired one gets a BreakGlassExpired Event and one compliance incident (a webhook sink,
 *    operator/driftpolicy/notify.h), once.
 *  - Metrics: saqr_policy_violations{group,rule,namespace} (fail and warn results). */
#ifndef SAQR_OPERATOR_AUDIT_H
#define SAQR_OPERATOR_AUDIT_H

#include "operator/audit/report.h"
#include "operator/operator.h"

#define AUDIT_CONTROLLER "audit"
#define AUDIT_BATCH_DELAY 1.0 /* seconds a changed namespace waits for more changes */
#define AUDIT_POLICY_POLL 2.0 /* seconds between looks at the policy file */
#define AUDIT_NOTIFY_TIMEOUT_MS 10000L
#define AUDIT_NOTIFY_RETRY 30.0 /* seconds before a failed incident is sent again */

/* Strings are borrowed for the controller's life. */
struct audit_config {
	const char *policy_file; /* NULL: the built-in default policy */
	enum audit_format format;
	const char *compliance_sink; /* webhook URL for break-glass incidents; NULL: none */
	const char *report_name;     /* NULL: AUDIT_REPORT_NAME */
	const char *namespace;	     /* the manager watches only this one; NULL: all */
	double policy_poll;	     /* 0: AUDIT_POLICY_POLL */
	double batch_delay;	     /* 0: AUDIT_BATCH_DELAY; < 0: none */
	/* What the webhook's namespaceSelector leaves out, the audit leaves out too (no report):
	 * these namespaces (comma-separated; NULL: none), and those whose label skip_label is
	 * "disabled" (NULL: no label check). */
	const char *skip_namespaces;
	const char *skip_label;
};

/* Whether cfg leaves out the namespace ns (its Namespace object, for the label; may be NULL). */
bool audit_skips_namespace(const struct audit_config *cfg, const char *name, const json_t *ns);

struct audit_controller;

/* Load the policy, create the controller and add it (and the informers it reads) to ctx->mgr,
 * before manager_start. ctx is copied; cfg's strings are borrowed. 0, SAQR_EINVAL, SAQR_ENOMEM,
 * the policy loader's error (logged) or manager_add_controller's. */
int audit_controller_new(const struct operator_ctx *ctx, const struct audit_config *cfg,
			 struct audit_controller **out);
/* Free it once the manager is freed. NULL is a no-op. */
void audit_controller_free(struct audit_controller *c);

/* audit_controller_new for the life of the process (freed by operator_release). */
int operator_register_audit(struct operator_ctx *ctx, const struct audit_config *cfg);

/* Parse --report-format: "openreports" or "wgpolicy". 0 or SAQR_EINVAL. */
int audit_format_parse(const char *s, enum audit_format *out);

#endif
