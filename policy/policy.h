/* The admission policy engine shared by saqr-webhook and `saqrctl check`: loads an
 * AdmissionPolicy file and evaluates one Kubernetes object against it.
 *
 * Thread-safety: a loaded struct policy is immutable; any number of threads may call
 * policy_eval on it at once. Each policy_decision belongs to one caller. */
#ifndef SAQR_POLICY_POLICY_H
#define SAQR_POLICY_POLICY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "common/buf.h"

#define POLICY_MAX_FILE_BYTES (1024u * 1024)

enum policy_enforcement { POLICY_ENFORCE_DENY, POLICY_ENFORCE_WARN, POLICY_ENFORCE_AUDIT };

struct policy;

/* Load and validate a policy from YAML. Missing fields take the documented defaults.
 * On error returns SAQR_EIO, SAQR_EPARSE, SAQR_ECONFIG or SAQR_ETOOBIG and writes a message
 * naming the line and field into err; *out is untouched. name is used in messages. */
int policy_load_buffer(const char *data, size_t len, const char *name, struct policy **out, char *err,
		       size_t errlen);
int policy_load_file(const char *path, struct policy **out, char *err, size_t errlen);
/* The built-in default policy (same as manifests/policy/default.yaml). */
int policy_load_default(struct policy **out);
/* NULL is a no-op. */
void policy_free(struct policy *p);

struct policy_user {
	const char *username;
	const char *const *groups;
	size_t ngroups;
};

struct policy_input {
	const json_t *object;		/* the object as admitted (borrowed) */
	const char *operation;		/* CREATE, UPDATE, ... (NULL: CREATE) */
	const char *namespace;		/* request namespace (NULL: the object's) */
	const struct policy_user *user; /* NULL for offline checks */
	time_t now;			/* for break-glass expiry */
};

struct policy_violation {
	char *rule;    /* "podSecurity.restricted.runAsNonRoot", "zeroTrust.imageDigest", ... */
	char *path;    /* "spec.template.spec.containers[0].image" */
	char *message; /* what is wrong and what is allowed */
	enum policy_enforcement enforcement;
};

struct policy_decision {
	bool allowed;			     /* false when any deny-mode violation stands */
	struct policy_violation *violations; /* every finding, all modes */
	size_t nviolations;
	json_t *audit_annotations; /* object of string values (owned) */
	bool exempt;		   /* an exemption or break-glass applied */
};

void policy_decision_init(struct policy_decision *d);
void policy_decision_release(struct policy_decision *d);

/* Evaluate in against p into d (initialised by the caller). 0, or SAQR_ENOMEM / SAQR_EINVAL
 * (the object is not an object or has no kind). Unknown kinds are allowed with no findings. */
int policy_eval(const struct policy *p, const struct policy_input *in, struct policy_decision *d);

/* "[rule] path: message" lines of the deny-mode violations, joined by "; ". */
int policy_decision_deny_message(const struct policy_decision *d, struct buf *out);

/* What p puts in force, for reports: {"groups": [{name, enabled, enforcement, level?}, ...] in
 * the order podSecurity, zeroTrust, dataResidency, compliance, exemptions; "allowedLocations":
 * ["provider/region", ...]; "exemptions": {namespaces, users, groups, breakGlass: {groups,
 * maxDuration}}}. *out is a new reference. 0, SAQR_EINVAL (p NULL) or SAQR_ENOMEM. */
int policy_summary(const struct policy *p, json_t **out);

/* The YAML text of the built-in policy (what policy_load_default loads); *len its length. Static. */
const char *policy_default_text(size_t *len);

#endif
