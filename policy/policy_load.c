/* Loads an AdmissionPolicy from YAML with libyaml's document API, so that every error names
 * the file, the line and the field ("policy.yaml:12: spec.podSecurity.level: ..."). The
 * schema is a table; unknown fields are errors, which catches typos. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "common/err.h"
#include "oms/key.h"
#include "policy/iso8601.h"
#include "policy/policy_internal.h"
#include "policy/residency.h"

#define PL_PATH_MAX 256
#define PL_MAX_BYTES ((size_t)POLICY_MAX_FILE_BYTES)
#define PL_MAX_TRUSTED_KEYS 8 /* what the operator passes saqr-fetch (--trusted-key) */
#define PL_K8S_NAME_MAX 253

enum pl_type {
	PL_MAP,
	PL_CONST,
	PL_ANY,
	PL_BOOL,
	PL_ENFORCE,
	PL_LEVEL,
	PL_STR,
	PL_STRLIST,
	PL_DURATION,
	PL_LOCLIST,
	PL_CLUSTER_LOCATION,
	PL_ENDPOINTS,
	PL_KINDLIST,
	PL_KEYLIST,
};

struct pl_field {
	const char *name;
	enum pl_type type;
	size_t off;		    /* of the value in struct policy */
	const struct pl_field *sub; /* PL_MAP */
	const char *expect;	    /* PL_CONST */
};

#define PL_OFF(f) offsetof(struct policy, f)
/* Field designators cannot be parenthesised. */
/* NOLINTBEGIN(bugprone-macro-parentheses) */
#define PL_GROUP(grp)                                                                                        \
	{"enabled", PL_BOOL, PL_OFF(grp.g.enabled), NULL, NULL},                                             \
	{                                                                                                    \
		"enforcement", PL_ENFORCE, PL_OFF(grp.g.enforcement), NULL, NULL                             \
	}
#define PL_F(name, type, field)                                                                              \
	{                                                                                                    \
		name, type, PL_OFF(field), NULL, NULL                                                        \
	}
/* NOLINTEND(bugprone-macro-parentheses) */
#define PL_SUB(name, table)                                                                                  \
	{                                                                                                    \
		name, PL_MAP, 0, table, NULL                                                                 \
	}
#define PL_END                                                                                               \
	{                                                                                                    \
		NULL, PL_ANY, 0, NULL, NULL                                                                  \
	}

static const struct pl_field pl_pod_security[] = {
    PL_GROUP(pod_security),
    PL_F("level", PL_LEVEL, pod_security.level),
    PL_END,
};

static const struct pl_field pl_model_signature[] = {
    PL_F("required", PL_BOOL, zero_trust.model_signature.required),
    PL_F("trustedKeys", PL_KEYLIST, zero_trust.model_signature.trusted_keys),
    PL_END,
};

static const struct pl_field pl_zero_trust[] = {
    PL_GROUP(zero_trust),
    PL_F("allowedRegistries", PL_STRLIST, zero_trust.allowed_registries),
    PL_F("allowedEndpoints", PL_STRLIST, zero_trust.allowed_endpoints),
    PL_F("requireDigest", PL_BOOL, zero_trust.require_digest),
    PL_F("forbidLatest", PL_BOOL, zero_trust.forbid_latest),
    PL_F("forbidDefaultServiceAccount", PL_BOOL, zero_trust.forbid_default_sa),
    PL_F("requireAutomountDisabled", PL_BOOL, zero_trust.require_automount_disabled),
    PL_F("requireModelTLS", PL_BOOL, zero_trust.require_model_tls),
    PL_F("requireModelDigest", PL_BOOL, zero_trust.require_model_digest),
    PL_F("forbidInsecureTransport", PL_BOOL, zero_trust.forbid_insecure_transport),
    PL_SUB("modelSignature", pl_model_signature),
    PL_END,
};

static const struct pl_field pl_residency[] = {
    PL_GROUP(residency),
    PL_F("residencyLabel", PL_STR, residency.label),
    PL_F("allowedResidencyValues", PL_STRLIST, residency.allowed_values),
    PL_F("allowedLocations", PL_LOCLIST, residency.allowed_locations),
    PL_F("clusterLocation", PL_CLUSTER_LOCATION, residency.cluster_location),
    PL_F("requirePlacement", PL_BOOL, residency.require_placement),
    PL_F("transferBases", PL_STRLIST, residency.transfer_bases),
    PL_F("trustedEndpoints", PL_ENDPOINTS, residency.trusted_endpoints),
    PL_END,
};

static const struct pl_field pl_personal_data[] = {
    PL_F("requireLawfulBasis", PL_BOOL, compliance.require_lawful_basis),
    PL_F("allowedLawfulBases", PL_STRLIST, compliance.lawful_bases),
    PL_F("requireRetention", PL_BOOL, compliance.require_retention),
    PL_F("requireEncryption", PL_BOOL, compliance.require_encryption),
    PL_END,
};

static const struct pl_field pl_compliance[] = {
    PL_GROUP(compliance),
    PL_F("requireClassification", PL_BOOL, compliance.require_classification),
    PL_F("requireOwner", PL_BOOL, compliance.require_owner),
    PL_F("maxRetention", PL_DURATION, compliance.max_retention),
    PL_SUB("personalData", pl_personal_data),
    PL_END,
};

static const struct pl_field pl_break_glass[] = {
    PL_F("groups", PL_STRLIST, exemptions.break_glass_groups),
    PL_F("maxDuration", PL_DURATION, exemptions.break_glass_max),
    PL_END,
};

static const struct pl_field pl_exemptions[] = {
    PL_GROUP(exemptions),
    PL_F("namespaces", PL_STRLIST, exemptions.namespaces),
    PL_F("users", PL_STRLIST, exemptions.users),
    PL_F("groups", PL_STRLIST, exemptions.groups),
    PL_SUB("breakGlass", pl_break_glass),
    PL_END,
};

static const struct pl_field pl_spec[] = {
    PL_SUB("podSecurity", pl_pod_security),
    PL_SUB("zeroTrust", pl_zero_trust),
    PL_SUB("dataResidency", pl_residency),
    PL_SUB("compliance", pl_compliance),
    PL_SUB("exemptions", pl_exemptions),
    {"customKinds", PL_KINDLIST, PL_OFF(custom_kinds), NULL, NULL},
    PL_END,
};

static const struct pl_field pl_root[] = {
    {"apiVersion", PL_CONST, 0, NULL, "saqr.dev/v1alpha1"},
    {"kind", PL_CONST, 0, NULL, "AdmissionPolicy"},
    {"metadata", PL_ANY, 0, NULL, NULL},
    PL_SUB("spec", pl_spec),
    PL_END,
};

static const char *const pl_providers[] = {"aws", "azure", "oci", "alibaba", "gcp", "onprem"};

struct pl {
	const char *name;
	yaml_document_t *doc;
	struct policy *p;
	unsigned char *seen; /* per node: visited (a second visit means an alias) */
	size_t nnodes;
	char *err;
	size_t errlen;
};

static void pl_report(struct pl *pl, const yaml_node_t *node, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Write "name:line: path: message" into the caller's error buffer. */
static void pl_report(struct pl *pl, const yaml_node_t *node, const char *path, const char *fmt, ...)
{
	struct buf msg;
	va_list ap;

	if (!pl->err || pl->errlen == 0)
		return;
	buf_init(&msg, pl->errlen);
	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	snprintf(pl->err, pl->errlen, "%s:%zu: %s: %s", pl->name, node ? node->start_mark.line + 1 : 1, path,
		 buf_str(&msg));
	buf_release(&msg);
}

/* Report and evaluate to SAQR_ECONFIG (a macro so that analysers see the constant). */
#define PL_FAIL(pl, node, path, ...) (pl_report((pl), (node), (path), __VA_ARGS__), SAQR_ECONFIG)

/* The path of a field ("spec.podSecurity" + "level") or of a list item (index >= 0);
 * truncated to n bytes (paths are for messages only). */
static void pl_path(char *out, size_t n, const char *base, const char *field, long index)
{
	int r;

	if (index >= 0)
		r = snprintf(out, n, "%s[%ld]", base, index);
	else
		r = snprintf(out, n, "%s%s%s", base, base[0] ? "." : "", field);
	if (r < 0)
		out[0] = '\0';
}

static const char *pl_kind_name(const yaml_node_t *node)
{
	switch (node->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	default:
		return "a scalar";
	}
}

/* The node at index, refusing a second visit (YAML aliases). */
static int pl_node(struct pl *pl, int index, const char *path, yaml_node_t **out)
{
	yaml_node_t *node = yaml_document_get_node(pl->doc, index);

	if (!node)
		return PL_FAIL(pl, NULL, path, "missing value");
	if (pl->seen[index - 1])
		return PL_FAIL(pl, node, path, "YAML aliases are not supported");
	pl->seen[index - 1] = 1;
	*out = node;
	return 0;
}

static int pl_expect(struct pl *pl, const yaml_node_t *node, yaml_node_type_t type, const char *path)
{
	static const char *const names[] = {"", "a scalar", "a list", "a mapping"};

	if (node->type == type)
		return 0;
	return PL_FAIL(pl, node, path, "expected %s, found %s", names[type], pl_kind_name(node));
}

static const char *pl_scalar(const yaml_node_t *node)
{
	return (const char *)node->data.scalar.value;
}

static char *pl_strdup_checked(struct pl *pl, const yaml_node_t *node, const char *path, int *rc)
{
	char *s;

	*rc = pl_expect(pl, node, YAML_SCALAR_NODE, path);
	if (*rc)
		return NULL;
	if (node->data.scalar.length == 0 || strlen(pl_scalar(node)) != node->data.scalar.length) {
		*rc = PL_FAIL(pl, node, path, "expected a non-empty string");
		return NULL;
	}
	s = strdup(pl_scalar(node));
	if (!s)
		*rc = SAQR_ENOMEM;
	return s;
}

/* ---- lists ----
 * Every list in struct policy is {T *v; size_t n}; struct pl_list is that shape, copied in and
 * out with memcpy. pl_seq reads a YAML sequence into a new list, each element zeroed and then
 * filled by item; on success the old list is released and replaced, on failure the new one is
 * released (elem_free sees every element item was given, filled or not) and out is kept. */
struct pl_list {
	void *v;
	size_t n;
};

typedef int (*pl_item_fn)(struct pl *pl, const yaml_node_t *node, const char *path, void *elem);
typedef void (*pl_elem_free_fn)(void *elem);

_Static_assert(sizeof(struct policy_strlist) == sizeof(struct pl_list), "list shape");
_Static_assert(sizeof(struct policy_loclist) == sizeof(struct pl_list), "list shape");
_Static_assert(sizeof(struct policy_endpointlist) == sizeof(struct pl_list), "list shape");
_Static_assert(sizeof(struct policy_kindlist) == sizeof(struct pl_list), "list shape");
_Static_assert(sizeof(struct policy_keylist) == sizeof(struct pl_list), "list shape");

static void pl_list_release(struct pl_list *l, size_t esize, pl_elem_free_fn elem_free)
{
	size_t i;

	for (i = 0; l->v && i < l->n; i++)
		elem_free((char *)l->v + i * esize);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Release the list at list (a struct policy_*list). */
static void pl_list_free(void *list, size_t esize, pl_elem_free_fn elem_free)
{
	struct pl_list l;

	memcpy(&l, list, sizeof(l));
	pl_list_release(&l, esize, elem_free);
	memcpy(list, &l, sizeof(l));
}

static int pl_seq(struct pl *pl, const yaml_node_t *node, const char *path, void *out, size_t esize,
		  pl_item_fn item, pl_elem_free_fn elem_free)
{
	struct pl_list l = {NULL, 0};
	char ipath[PL_PATH_MAX];
	yaml_node_t *elem;
	size_t n;
	int rc = pl_expect(pl, node, YAML_SEQUENCE_NODE, path);

	if (rc)
		return rc;
	n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
	l.v = calloc(n ? n : 1, esize);
	if (!l.v)
		return SAQR_ENOMEM;
	for (; rc == 0 && l.n < n; l.n++) {
		pl_path(ipath, sizeof(ipath), path, "", (long)l.n);
		rc = pl_node(pl, node->data.sequence.items.start[l.n], ipath, &elem);
		if (rc == 0)
			rc = item(pl, elem, ipath, (char *)l.v + l.n * esize);
	}
	if (rc) {
		pl_list_release(&l, esize, elem_free);
		return rc;
	}
	pl_list_free(out, esize, elem_free);
	memcpy(out, &l, sizeof(l));
	return 0;
}

static void pl_str_free(void *elem)
{
	free(*(char **)elem);
}

static void pl_location_free(void *elem)
{
	struct policy_location *loc = elem;

	free(loc->provider);
	free(loc->region);
}

static void pl_strlist_free(struct policy_strlist *l)
{
	pl_list_free(l, sizeof(*l->v), pl_str_free);
}

static void pl_loclist_free(struct policy_loclist *l)
{
	pl_list_free(l, sizeof(*l->v), pl_location_free);
}

static int pl_one_of(struct pl *pl, const yaml_node_t *node, const char *path, const char *const *names,
		     size_t n, int *out)
{
	char list[160] = "";
	size_t i, len = 0;
	int rc = pl_expect(pl, node, YAML_SCALAR_NODE, path);

	if (rc)
		return rc;
	for (i = 0; i < n; i++) {
		if (strcmp(pl_scalar(node), names[i]) == 0) {
			*out = (int)i;
			return 0;
		}
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "", names[i]);
		if (len >= sizeof(list))
			break;
	}
	return PL_FAIL(pl, node, path, "\"%s\" is not one of %s", pl_scalar(node), list);
}

static int pl_bool(struct pl *pl, const yaml_node_t *node, const char *path, bool *out)
{
	static const char *const names[] = {"false", "true"};
	int v, rc;

	if (node->type == YAML_SCALAR_NODE && node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return PL_FAIL(pl, node, path, "expected true or false, found the string \"%s\"",
			       pl_scalar(node));
	rc = pl_one_of(pl, node, path, names, 2, &v);
	if (rc == 0)
		*out = v == 1;
	return rc;
}

static int pl_duration(struct pl *pl, const yaml_node_t *node, const char *path, long long *out)
{
	long long secs;
	int rc = pl_expect(pl, node, YAML_SCALAR_NODE, path);

	if (rc)
		return rc;
	if (iso8601_duration_parse(pl_scalar(node), &secs) != 0 || secs <= 0)
		return PL_FAIL(pl, node, path,
			       "\"%s\" is not a positive ISO-8601 duration (e.g. P365D, P1Y, PT4H)",
			       pl_scalar(node));
	*out = secs;
	return 0;
}

static int pl_str_item(struct pl *pl, const yaml_node_t *node, const char *path, void *elem)
{
	int rc = 0;

	*(char **)elem = pl_strdup_checked(pl, node, path, &rc);
	return rc;
}

static int pl_strlist(struct pl *pl, const yaml_node_t *node, const char *path, struct policy_strlist *out)
{
	return pl_seq(pl, node, path, out, sizeof(*out->v), pl_str_item, pl_str_free);
}

/* {provider, region}, both required; provider one of the providers Saqr knows. With host
 * non-NULL, also {host} (required), for trustedEndpoints. */
static int pl_location(struct pl *pl, const yaml_node_t *node, const char *path, struct policy_location *out,
		       char **host)
{
	struct policy_location loc = {NULL, NULL};
	char fpath[PL_PATH_MAX];
	yaml_node_pair_t *pair;
	int rc = pl_expect(pl, node, YAML_MAPPING_NODE, path), which;

	for (pair = node->data.mapping.pairs.start; rc == 0 && pair < node->data.mapping.pairs.top; pair++) {
		yaml_node_t *k, *v;
		char **slot;

		rc = pl_node(pl, pair->key, path, &k);
		if (rc || (rc = pl_expect(pl, k, YAML_SCALAR_NODE, path)))
			break;
		pl_path(fpath, sizeof(fpath), path, pl_scalar(k), -1);
		rc = pl_node(pl, pair->value, fpath, &v);
		if (rc)
			break;
		if (strcmp(pl_scalar(k), "provider") == 0) {
			rc = pl_one_of(pl, v, fpath, pl_providers, 6, &which);
			slot = &loc.provider;
		} else if (strcmp(pl_scalar(k), "region") == 0) {
			slot = &loc.region;
		} else if (host && strcmp(pl_scalar(k), "host") == 0) {
			slot = host;
		} else {
			rc = PL_FAIL(pl, k, fpath, "unknown field (expected %sprovider, region)",
				     host ? "host, " : "");
			break;
		}
		if (rc == 0 && *slot)
			rc = PL_FAIL(pl, k, fpath, "duplicate field");
		if (rc == 0)
			*slot = pl_strdup_checked(pl, v, fpath, &rc);
	}
	if (rc == 0 && (!loc.provider || !loc.region))
		rc = PL_FAIL(pl, node, path, "%s is required", loc.provider ? "region" : "provider");
	if (rc == 0 && host && !*host)
		rc = PL_FAIL(pl, node, path, "host is required");
	if (rc) {
		free(loc.provider);
		free(loc.region);
		return rc;
	}
	free(out->provider);
	free(out->region);
	*out = loc;
	return 0;
}

static int pl_location_item(struct pl *pl, const yaml_node_t *node, const char *path, void *elem)
{
	return pl_location(pl, node, path, elem, NULL);
}

static int pl_loclist(struct pl *pl, const yaml_node_t *node, const char *path, struct policy_loclist *out)
{
	return pl_seq(pl, node, path, out, sizeof(*out->v), pl_location_item, pl_location_free);
}

static void pl_endpoint_free(void *elem)
{
	struct policy_endpoint *e = elem;

	free(e->host);
	pl_location_free(&e->loc);
}

static void pl_endpoints_free(struct policy_endpointlist *l)
{
	pl_list_free(l, sizeof(*l->v), pl_endpoint_free);
}

static void pl_kind_free(void *elem)
{
	struct policy_kind *k = elem;

	free(k->group);
	free(k->kind);
	pl_strlist_free(&k->templates);
	pl_strlist_free(&k->pod_specs);
	pl_strlist_free(&k->uris);
	memset(k, 0, sizeof(*k));
}

static void pl_kindlist_free(struct policy_kindlist *l)
{
	pl_list_free(l, sizeof(*l->v), pl_kind_free);
}

/* {host, provider, region}: host as residency_parse_uri normalises it, so that it matches. */
static int pl_endpoint(struct pl *pl, const yaml_node_t *node, const char *path, struct policy_endpoint *out)
{
	char norm[RESIDENCY_HOST_MAX];
	const char *why = NULL;
	int rc = pl_location(pl, node, path, &out->loc, &out->host);

	if (rc)
		return rc;
	if (residency_host_normalize(out->host, strlen(out->host), norm, sizeof(norm), &why) != 0)
		return PL_FAIL(pl, node, path, "host \"%s\": %s", out->host, why);
	if (strcmp(norm, out->host) != 0)
		return PL_FAIL(pl, node, path,
			       "host \"%s\": write it as \"%s\" (lower case, no trailing dot)", out->host,
			       norm);
	return 0;
}

static int pl_endpoint_item(struct pl *pl, const yaml_node_t *node, const char *path, void *elem)
{
	return pl_endpoint(pl, node, path, elem);
}

static int pl_endpoints(struct pl *pl, const yaml_node_t *node, const char *path,
			struct policy_endpointlist *out)
{
	return pl_seq(pl, node, path, out, sizeof(*out->v), pl_endpoint_item, pl_endpoint_free);
}

static int pl_kind_field(struct pl *pl, const yaml_node_t *k, const yaml_node_t *v, const char *fpath,
			 struct policy_kind *out)
{
	const char *name = pl_scalar(k);
	int rc = 0;

	if (strcmp(name, "group") == 0) {
		rc = pl_expect(pl, v, YAML_SCALAR_NODE, fpath);
		if (rc == 0 && !out->group && !(out->group = strdup(pl_scalar(v))))
			rc = SAQR_ENOMEM;
		return rc;
	}
	if (strcmp(name, "kind") == 0) {
		free(out->kind);
		out->kind = pl_strdup_checked(pl, v, fpath, &rc);
		return rc;
	}
	if (strcmp(name, "podTemplates") == 0)
		return pl_strlist(pl, v, fpath, &out->templates);
	if (strcmp(name, "podSpecs") == 0)
		return pl_strlist(pl, v, fpath, &out->pod_specs);
	if (strcmp(name, "uris") == 0)
		return pl_strlist(pl, v, fpath, &out->uris);
	return PL_FAIL(pl, k, fpath, "unknown field (expected group, kind, podTemplates, podSpecs, uris)");
}

/* {group, kind, podTemplates, podSpecs, uris}: kind and one list required. */
static int pl_kind(struct pl *pl, const yaml_node_t *node, const char *path, struct policy_kind *out)
{
	char fpath[PL_PATH_MAX];
	yaml_node_pair_t *pair;
	int rc = pl_expect(pl, node, YAML_MAPPING_NODE, path);

	for (pair = rc ? NULL : node->data.mapping.pairs.start;
	     rc == 0 && pair < node->data.mapping.pairs.top; pair++) {
		yaml_node_t *k, *v;

		rc = pl_node(pl, pair->key, path, &k);
		if (rc || (rc = pl_expect(pl, k, YAML_SCALAR_NODE, path)))
			break;
		pl_path(fpath, sizeof(fpath), path, pl_scalar(k), -1);
		rc = pl_node(pl, pair->value, fpath, &v);
		if (rc == 0)
			rc = pl_kind_field(pl, k, v, fpath, out);
	}
	if (rc == 0 && !out->kind)
		rc = PL_FAIL(pl, node, path, "kind is required");
	if (rc == 0 && out->templates.n + out->pod_specs.n + out->uris.n == 0)
		rc = PL_FAIL(pl, node, path, "name at least one path in podTemplates, podSpecs or uris");
	if (rc == 0 && !out->group && !(out->group = strdup("")))
		rc = SAQR_ENOMEM;
	if (rc == 0)
		out->paths = (struct podspec_paths){out->group,
						    out->kind,
						    {(const char *const *)out->templates.v, out->templates.n},
						    {(const char *const *)out->pod_specs.v, out->pod_specs.n},
						    {(const char *const *)out->uris.v, out->uris.n}};
	return rc;
}

static int pl_kind_item(struct pl *pl, const yaml_node_t *node, const char *path, void *elem)
{
	return pl_kind(pl, node, path, elem);
}

static int pl_kindlist(struct pl *pl, const yaml_node_t *node, const char *path, struct policy_kindlist *out)
{
	return pl_seq(pl, node, path, out, sizeof(*out->v), pl_kind_item, pl_kind_free);
}

static void pl_trusted_key_free(void *elem)
{
	struct policy_trusted_key *k = elem;

	free(k->pem);
	free(k->secret_name);
	free(k->secret_key);
}

static void pl_keylist_free(struct policy_keylist *l)
{
	pl_list_free(l, sizeof(*l->v), pl_trusted_key_free);
}

/* A DNS-1123 subdomain, as Kubernetes names Secrets. */
static bool pl_dns_subdomain(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > PL_K8S_NAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		bool alnum = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9');

		if (!alnum && ((s[i] != '-' && s[i] != '.') || i == 0 || i == n - 1))
			return false;
		if (s[i] == '.' && (s[i - 1] == '.' || s[i - 1] == '-' || s[i + 1] == '-'))
			return false;
	}
	return true;
}

/* A key of a Secret's data: [-._a-zA-Z0-9]+, not "." or "..". */
static bool pl_secret_key(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > PL_K8S_NAME_MAX || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	return strspn(s, "-._abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == n;
}

/* secretRef: {name, key}, both required and well-formed. The webhook cannot read the Secret. */
static int pl_secret_ref(struct pl *pl, const yaml_node_t *node, const char *path,
			 struct policy_trusted_key *out)
{
	char fpath[PL_PATH_MAX];
	yaml_node_pair_t *pair;
	int rc = pl_expect(pl, node, YAML_MAPPING_NODE, path);

	for (pair = rc ? NULL : node->data.mapping.pairs.start;
	     rc == 0 && pair < node->data.mapping.pairs.top; pair++) {
		yaml_node_t *k, *v;
		char **slot;

		rc = pl_node(pl, pair->key, path, &k);
		if (rc || (rc = pl_expect(pl, k, YAML_SCALAR_NODE, path)))
			break;
		pl_path(fpath, sizeof(fpath), path, pl_scalar(k), -1);
		if (strcmp(pl_scalar(k), "name") == 0)
			slot = &out->secret_name;
		else if (strcmp(pl_scalar(k), "key") == 0)
			slot = &out->secret_key;
		else
			return PL_FAIL(pl, k, fpath,
				       "unknown field (expected name, key; the Secret is in the "
				       "ModelDeployment's namespace)");
		if (*slot)
			return PL_FAIL(pl, k, fpath, "duplicate field");
		if ((rc = pl_node(pl, pair->value, fpath, &v)) == 0)
			*slot = pl_strdup_checked(pl, v, fpath, &rc);
		if (rc == 0 && slot == &out->secret_name && !pl_dns_subdomain(*slot))
			rc = PL_FAIL(
			    pl, v, fpath,
			    "\"%s\" is not a Secret name (a DNS subdomain: lower-case letters, digits, '-' "
			    "and '.', at most 253 characters)",
			    *slot);
		if (rc == 0 && slot == &out->secret_key && !pl_secret_key(*slot))
			rc = PL_FAIL(
			    pl, v, fpath,
			    "\"%s\" is not a Secret key (letters, digits, '-', '_' and '.', at most 253 "
			    "characters)",
			    *slot);
	}
	if (rc == 0 && (!out->secret_name || !out->secret_key))
		rc = PL_FAIL(pl, node, path, "%s is required", out->secret_name ? "key" : "name");
	return rc;
}

/* pem: an ECDSA P-256 or P-384 public key, parsed with OpenSSL now so that a bad key is refused
 * at load; its id is kept for messages and policy__describe. */
static int pl_pem(struct pl *pl, const yaml_node_t *node, const char *path, struct policy_trusted_key *out)
{
	struct oms_key *key = NULL;
	char msg[256] = "";
	int rc = 0;

	out->pem = pl_strdup_checked(pl, node, path, &rc);
	if (rc)
		return rc;
	rc = oms_key_from_pem(out->pem, strlen(out->pem), false, &key, msg, sizeof(msg));
	if (rc == SAQR_ENOMEM)
		return rc;
	if (rc)
		return PL_FAIL(pl, node, path,
			       "%s; expected an ECDSA P-256 or P-384 public key in PEM "
			       "(-----BEGIN PUBLIC KEY-----)",
			       msg);
	if (key->is_private)
		rc = PL_FAIL(pl, node, path,
			     "a private key; give only its public half (openssl pkey -in KEY -pubout)");
	else
		memcpy(out->id, key->id, sizeof(out->id));
	oms_key_free(key);
	return rc;
}

/* One trustedKeys entry: {pem} or {secretRef: {name, key}}, exactly one of them. */
static int pl_trusted_key(struct pl *pl, const yaml_node_t *node, const char *path,
			  struct policy_trusted_key *out)
{
	char fpath[PL_PATH_MAX];
	yaml_node_pair_t *pair;
	int rc = pl_expect(pl, node, YAML_MAPPING_NODE, path);

	for (pair = rc ? NULL : node->data.mapping.pairs.start;
	     rc == 0 && pair < node->data.mapping.pairs.top; pair++) {
		yaml_node_t *k, *v;
		bool pem;

		rc = pl_node(pl, pair->key, path, &k);
		if (rc || (rc = pl_expect(pl, k, YAML_SCALAR_NODE, path)))
			break;
		pl_path(fpath, sizeof(fpath), path, pl_scalar(k), -1);
		pem = strcmp(pl_scalar(k), "pem") == 0;
		if (!pem && strcmp(pl_scalar(k), "secretRef") != 0)
			return PL_FAIL(pl, k, fpath, "unknown field (expected pem or secretRef)");
		if (pem ? out->pem != NULL : out->secret_name || out->secret_key)
			return PL_FAIL(pl, k, fpath, "duplicate field");
		if (out->pem || out->secret_name || out->secret_key)
			return PL_FAIL(pl, k, fpath, "give pem or secretRef, not both (one key per entry)");
		if ((rc = pl_node(pl, pair->value, fpath, &v)) == 0)
			rc = pem ? pl_pem(pl, v, fpath, out) : pl_secret_ref(pl, v, fpath, out);
	}
	if (rc == 0 && !out->pem && !out->secret_name)
		rc = PL_FAIL(pl, node, path, "pem or secretRef is required");
	return rc;
}

static int pl_trusted_key_item(struct pl *pl, const yaml_node_t *node, const char *path, void *elem)
{
	return pl_trusted_key(pl, node, path, elem);
}

static int pl_keylist(struct pl *pl, const yaml_node_t *node, const char *path, struct policy_keylist *out)
{
	size_t n;

	if (node->type == YAML_SEQUENCE_NODE &&
	    (n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start)) >
		PL_MAX_TRUSTED_KEYS)
		return PL_FAIL(pl, node, path, "%zu keys; at most %d (two during a key rotation is usual)", n,
			       PL_MAX_TRUSTED_KEYS);
	return pl_seq(pl, node, path, out, sizeof(*out->v), pl_trusted_key_item, pl_trusted_key_free);
}

static int pl_map(struct pl *pl, const yaml_node_t *node, const char *path, const struct pl_field *fields);

static int pl_value(struct pl *pl, const struct pl_field *f, const yaml_node_t *node, const char *path)
{
	static const char *const enforcements[] = {"deny", "warn", "audit"};
	static const char *const levels[] = {"baseline", "restricted"};
	char *base = (char *)pl->p + f->off;
	int rc = 0, v;

	switch (f->type) {
	case PL_MAP:
		return pl_map(pl, node, path, f->sub);
	case PL_ANY:
		return 0;
	case PL_CONST:
		rc = pl_expect(pl, node, YAML_SCALAR_NODE, path);
		if (rc == 0 && strcmp(pl_scalar(node), f->expect) != 0)
			rc = PL_FAIL(pl, node, path, "\"%s\" is not %s", pl_scalar(node), f->expect);
		return rc;
	case PL_BOOL:
		return pl_bool(pl, node, path, (bool *)base);
	case PL_ENFORCE:
		rc = pl_one_of(pl, node, path, enforcements, 3, &v);
		if (rc == 0)
			*(enum policy_enforcement *)base = (enum policy_enforcement)v;
		return rc;
	case PL_LEVEL:
		rc = pl_one_of(pl, node, path, levels, 2, &v);
		if (rc == 0)
			*(enum policy_pss_level *)base = (enum policy_pss_level)v;
		return rc;
	case PL_STR: {
		char *s = pl_strdup_checked(pl, node, path, &rc);

		if (s) {
			free(*(char **)base);
			*(char **)base = s;
		}
		return rc;
	}
	case PL_STRLIST:
		return pl_strlist(pl, node, path, (struct policy_strlist *)base);
	case PL_DURATION:
		return pl_duration(pl, node, path, (long long *)base);
	case PL_LOCLIST:
		return pl_loclist(pl, node, path, (struct policy_loclist *)base);
	case PL_ENDPOINTS:
		return pl_endpoints(pl, node, path, (struct policy_endpointlist *)base);
	case PL_KINDLIST:
		return pl_kindlist(pl, node, path, (struct policy_kindlist *)base);
	case PL_KEYLIST:
		return pl_keylist(pl, node, path, (struct policy_keylist *)base);
	case PL_CLUSTER_LOCATION:
		rc = pl_location(pl, node, path, (struct policy_location *)base, NULL);
		if (rc == 0)
			pl->p->residency.has_cluster_location = true;
		return rc;
	}
	return SAQR_EINVAL;
}

static const struct pl_field *pl_lookup(const struct pl_field *fields, const char *name)
{
	for (; fields->name; fields++)
		if (strcmp(fields->name, name) == 0)
			return fields;
	return NULL;
}

static int pl_unknown(struct pl *pl, const yaml_node_t *key, const char *path, const struct pl_field *fields)
{
	char list[512] = "";
	size_t len = 0;

	for (; fields->name && len < sizeof(list); fields++)
		len +=
		    (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", len ? ", " : "", fields->name);
	return PL_FAIL(pl, key, path, "unknown field (expected one of: %s)", list);
}

/* Whether an earlier key of the mapping has the same name. */
static bool pl_duplicate(struct pl *pl, const yaml_node_t *node, const yaml_node_pair_t *upto,
			 const char *name)
{
	const yaml_node_pair_t *p;

	for (p = node->data.mapping.pairs.start; p < upto; p++) {
		const yaml_node_t *k = yaml_document_get_node(pl->doc, p->key);

		if (k && k->type == YAML_SCALAR_NODE && strcmp(pl_scalar(k), name) == 0)
			return true;
	}
	return false;
}

static int pl_map(struct pl *pl, const yaml_node_t *node, const char *path, const struct pl_field *fields)
{
	char fpath[PL_PATH_MAX];
	yaml_node_pair_t *pair;
	int rc = pl_expect(pl, node, YAML_MAPPING_NODE, path);

	for (pair = node->data.mapping.pairs.start; rc == 0 && pair < node->data.mapping.pairs.top; pair++) {
		const struct pl_field *f;
		yaml_node_t *k, *v;

		rc = pl_node(pl, pair->key, path, &k);
		if (rc || (rc = pl_expect(pl, k, YAML_SCALAR_NODE, path)))
			break;
		pl_path(fpath, sizeof(fpath), path, pl_scalar(k), -1);
		f = pl_lookup(fields, pl_scalar(k));
		if (!f)
			rc = pl_unknown(pl, k, fpath, fields);
		else if (pl_duplicate(pl, node, pair, f->name))
			rc = PL_FAIL(pl, k, fpath, "duplicate field");
		else if ((rc = pl_node(pl, pair->value, fpath, &v)) == 0)
			rc = pl_value(pl, f, v, fpath);
	}
	return rc;
}

/* apiVersion and kind are required at the top. */
static int pl_root_required(struct pl *pl, const yaml_node_t *root)
{
	static const char *const required[] = {"apiVersion", "kind"};
	size_t i;

	for (i = 0; i < 2; i++)
		if (!pl_duplicate(pl, root, root->data.mapping.pairs.top, required[i]))
			return PL_FAIL(pl, root, required[i], "required (%s)",
				       pl_lookup(pl_root, required[i])->expect);
	return 0;
}

static int pl_document(struct pl *pl)
{
	yaml_node_t *root = yaml_document_get_root_node(pl->doc);
	int rc;

	if (!root) {
		if (pl->err)
			snprintf(pl->err, pl->errlen, "%s: empty document; expected an AdmissionPolicy",
				 pl->name);
		return SAQR_ECONFIG;
	}
	pl->nnodes = (size_t)(pl->doc->nodes.top - pl->doc->nodes.start);
	pl->seen = calloc(pl->nnodes, 1);
	if (!pl->seen)
		return SAQR_ENOMEM;
	pl->seen[0] = 1; /* the root */
	rc = pl_expect(pl, root, YAML_MAPPING_NODE, "(document)");
	if (rc == 0)
		rc = pl_map(pl, root, "", pl_root);
	if (rc == 0)
		rc = pl_root_required(pl, root);
	free(pl->seen);
	pl->seen = NULL;
	return rc;
}

static int pl_syntax(struct pl *pl, const yaml_parser_t *parser)
{
	if (pl->err)
		snprintf(pl->err, pl->errlen, "%s:%zu: %s%s%s", pl->name, parser->problem_mark.line + 1,
			 parser->problem ? parser->problem : "invalid YAML", parser->context ? " " : "",
			 parser->context ? parser->context : "");
	return SAQR_EPARSE;
}

/* Parse the one document of data into p (already holding the defaults). */
static int pl_parse(struct pl *pl, const char *data, size_t len)
{
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	int rc;

	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	if (!yaml_parser_load(&parser, &doc)) {
		rc = pl_syntax(pl, &parser);
		yaml_parser_delete(&parser);
		return rc;
	}
	pl->doc = &doc;
	rc = pl_document(pl);
	if (rc == 0) {
		if (!yaml_parser_load(&parser, &extra)) {
			rc = pl_syntax(pl, &parser);
		} else {
			if (yaml_document_get_root_node(&extra))
				rc = PL_FAIL(pl, yaml_document_get_root_node(&extra), "(document)",
					     "only one YAML document is allowed");
			yaml_document_delete(&extra);
		}
	}
	pl->doc = NULL;
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return rc;
}

int policy_load_buffer(const char *data, size_t len, const char *name, struct policy **out, char *err,
		       size_t errlen)
{
	struct pl pl = {name ? name : "policy", NULL, NULL, NULL, 0, err, errlen};
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (!data || !out)
		return SAQR_EINVAL;
	if (len > PL_MAX_BYTES) {
		if (err)
			snprintf(err, errlen, "%s: %zu bytes is over the %zu-byte limit for a policy",
				 pl.name, len, PL_MAX_BYTES);
		return SAQR_ETOOBIG;
	}
	pl.p = calloc(1, sizeof(*pl.p));
	if (!pl.p)
		return SAQR_ENOMEM;
	rc = policy__set_defaults(pl.p);
	if (rc == 0)
		rc = pl_parse(&pl, data, len);
	if (rc) {
		policy_free(pl.p);
		return rc;
	}
	*out = pl.p;
	return 0;
}

/* Read at most max bytes of fd; SAQR_ETOOBIG when there is more. */
static int pl_read_fd(int fd, size_t max, char **out, size_t *outlen)
{
	size_t len = 0, cap = 8192;
	char *data = malloc(cap), *grown;
	ssize_t n;

	if (!data)
		return SAQR_ENOMEM;
	for (;;) {
		if (len == cap) {
			if (cap > max) {
				free(data);
				return SAQR_ETOOBIG;
			}
			cap *= 2;
			grown = realloc(data, cap);
			if (!grown) {
				free(data);
				return SAQR_ENOMEM;
			}
			data = grown;
		}
		n = read(fd, data + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(data);
			return SAQR_EIO;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max) {
		free(data);
		return SAQR_ETOOBIG;
	}
	*out = data;
	*outlen = len;
	return 0;
}

int policy_load_file(const char *path, struct policy **out, char *err, size_t errlen)
{
	char *data = NULL;
	size_t len = 0;
	int fd, rc;

	if (!path || !out)
		return SAQR_EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (err)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return SAQR_EIO;
	}
	rc = pl_read_fd(fd, PL_MAX_BYTES, &data, &len);
	if (rc == SAQR_EIO && err)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	close(fd);
	if (rc == SAQR_ETOOBIG && err)
		snprintf(err, errlen, "%s: over the %zu-byte limit for a policy", path, PL_MAX_BYTES);
	if (rc == 0)
		rc = policy_load_buffer(data, len, path, out, err, errlen);
	free(data);
	return rc;
}

int policy_load_default(struct policy **out)
{
	return policy_load_buffer(policy__default_yaml, policy__default_yaml_len, "default.yaml", out, NULL,
				  0);
}

void policy__release(struct policy *p)
{
	pl_strlist_free(&p->zero_trust.allowed_registries);
	pl_strlist_free(&p->zero_trust.allowed_endpoints);
	pl_keylist_free(&p->zero_trust.model_signature.trusted_keys);
	pl_kindlist_free(&p->custom_kinds);
	free(p->residency.label);
	pl_strlist_free(&p->residency.allowed_values);
	pl_loclist_free(&p->residency.allowed_locations);
	free(p->residency.cluster_location.provider);
	free(p->residency.cluster_location.region);
	pl_strlist_free(&p->residency.transfer_bases);
	pl_endpoints_free(&p->residency.trusted_endpoints);
	pl_strlist_free(&p->compliance.lawful_bases);
	pl_strlist_free(&p->exemptions.namespaces);
	pl_strlist_free(&p->exemptions.users);
	pl_strlist_free(&p->exemptions.groups);
	pl_strlist_free(&p->exemptions.break_glass_groups);
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	policy__release(p);
	free(p);
}
