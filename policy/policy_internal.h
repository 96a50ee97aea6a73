/* Internal to policy/: the loaded policy (plain C data, immutable after load) and the
 * evaluation context that the check modules add their findings to (policy/finding.h). */
#ifndef SAQR_POLICY_INTERNAL_H
#define SAQR_POLICY_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "oms/digest.h"
#include "policy/podspec.h"
#include "policy/policy.h"

/* Most findings kept for one object; the rest are counted (object sizes are capped upstream). */
#define POLICY_MAX_VIOLATIONS 1000

struct policy_strlist {
	char **v;
	size_t n;
};

struct policy_location {
	char *provider;
	char *region;
};

struct policy_loclist {
	struct policy_location *v;
	size_t n;
};

/* A storage host that no recognised endpoint form places, and where the policy says it is. */
struct policy_endpoint {
	char *host; /* normalised: lower case, no port, no trailing dot */
	struct policy_location loc;
};

struct policy_endpointlist {
	struct policy_endpoint *v;
	size_t n;
};

/* A public key saqr-fetch may trust for spec.model.signature: inline PEM, or a Secret of the
 * ModelDeployment's namespace (which the webhook cannot read, so only its name is checked). */
struct policy_trusted_key {
	char *pem;		 /* an ECDSA P-256/P-384 public key, checked at load; NULL for a secretRef */
	char *secret_name;	 /* secretRef.name (a DNS subdomain); NULL for pem */
	char *secret_key;	 /* secretRef.key (a Secret data key) */
	char id[OMS_SHA256_HEX]; /* pem: the key id (hex SHA-256 of the DER public key), as in OMS bundles */
};

struct policy_keylist {
	struct policy_trusted_key *v;
	size_t n;
};

struct policy_group {
	bool enabled;
	enum policy_enforcement enforcement;
};

enum policy_pss_level { POLICY_PSS_BASELINE, POLICY_PSS_RESTRICTED };

/* A kind the policy declares by the paths of its pods and URIs (spec.customKinds). */
struct policy_kind {
	char *group;
	char *kind;
	struct policy_strlist templates, pod_specs, uris;
	struct podspec_paths paths; /* views of the above, for podspec_find_paths */
};

struct policy_kindlist {
	struct policy_kind *v;
	size_t n;
};

struct policy {
	struct policy_pod_security {
		struct policy_group g;
		enum policy_pss_level level;
	} pod_security;
	struct policy_zero_trust {
		struct policy_group g;
		struct policy_strlist allowed_registries; /* empty: any registry */
		struct policy_strlist allowed_endpoints;  /* hosts or URL prefixes; empty: any https URL */
		bool require_digest;
		bool forbid_latest;
		bool forbid_default_sa;
		bool require_automount_disabled;
		bool require_model_tls;
		bool require_model_digest;
		bool forbid_insecure_transport; /* no plain http:// model, dataset or output URIs */
		struct policy_model_signature {
			bool required;
			struct policy_keylist trusted_keys;
		} model_signature;
	} zero_trust;
	struct policy_residency {
		struct policy_group g;
		char *label;
		struct policy_strlist allowed_values;
		struct policy_loclist allowed_locations;
		bool has_cluster_location;
		struct policy_location cluster_location;
		bool require_placement;
		struct policy_strlist transfer_bases;
		struct policy_endpointlist trusted_endpoints; /* empty: no unrecognised host is trusted */
	} residency;
	struct policy_compliance {
		struct policy_group g;
		bool require_classification;
		bool require_owner;
		long long max_retention; /* seconds */
		bool require_lawful_basis;
		struct policy_strlist lawful_bases;
		bool require_retention;
		bool require_encryption;
	} compliance;
	struct policy_exemptions {
		struct policy_group g;
		struct policy_strlist namespaces;
		struct policy_strlist users;
		struct policy_strlist groups;
		struct policy_strlist break_glass_groups; /* empty: break-glass disabled */
		long long break_glass_max;		  /* seconds */
	} exemptions;
	struct policy_kindlist custom_kinds; /* checked before the built-in kinds */
};

/* Everything one policy_eval call reads and writes; lives on the caller's stack. */
struct policy_eval_ctx {
	const struct policy *p;
	const struct policy_input *in;
	const json_t *obj;
	enum podspec_kind kind;
	const json_t *labels;	   /* metadata.labels or NULL */
	const json_t *annotations; /* metadata.annotations or NULL */
	/* During the template pass (engine.c): the pod template's metadata path, where labels and
	 * annotations above were read from; NULL for the object's own metadata. */
	const char *meta_prefix;
	/* For a nested evaluation (policy__eval_nested): the path that "spec" stands for in the
	 * object the findings are reported against, e.g. "spec.actions.retrain.template". */
	const char *spec_rebase;
	bool dedupe; /* skip a finding equal to one already kept (a kind's second and later pods) */
	struct podspec pod;
	bool has_pod;
	struct policy_decision *d;
	size_t dropped;		/* findings beyond POLICY_MAX_VIOLATIONS */
	size_t dropped_denials; /* of those, deny-mode ones (only when every kept finding denies) */
	int err;		/* first allocation failure, reported by policy_eval */
};

/* Defaults (what manifests/policy/default.yaml spells out). 0 or SAQR_ENOMEM. */
int policy__set_defaults(struct policy *p);
void policy__release(struct policy *p);
/* A canonical, line-per-setting description of p (tests compare policies with it); give b
 * room for 64 KiB. */
int policy__describe(const struct policy *p, struct buf *out);

/* The embedded copy of manifests/policy/default.yaml. */
extern const char policy__default_yaml[];
extern const size_t policy__default_yaml_len;

#endif
