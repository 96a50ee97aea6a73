/* Names, labels and ownerReferences of owned objects. Long or invalid names are cut and given a
 * hash suffix, so every generated name is valid and stays the same from one reconcile to the next. */
#include "operator/objmeta.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonutil.h"

#define HASH_HEX 8

const struct kube_resource objmeta_res_deployments = {"apps", "v1", "deployments", true};
const struct kube_resource objmeta_res_services = {"", "v1", "services", true};
const struct kube_resource objmeta_res_hpas = {"autoscaling", "v2", "horizontalpodautoscalers", true};
const struct kube_resource objmeta_res_networkpolicies = {"networking.k8s.io", "v1", "networkpolicies", true};
const struct kube_resource objmeta_res_pdbs = {"policy", "v1", "poddisruptionbudgets", true};
const struct kube_resource objmeta_res_jobs = {"batch", "v1", "jobs", true};

/* First HASH_HEX hex digits of SHA-256(a || b). */
static int hash_hex(const char *a, const char *b, char out[HASH_HEX + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	if (!ctx)
		return SAQR_ENOMEM;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) && EVP_DigestUpdate(ctx, a, strlen(a)) &&
	     EVP_DigestUpdate(ctx, b, strlen(b)) && EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	if (!ok || mdlen < HASH_HEX / 2)
		return SAQR_ENOMEM;
	for (size_t i = 0; i < HASH_HEX / 2; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[HASH_HEX] = '\0';
	return 0;
}

bool objmeta_is_dns_label(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > max || !islower((unsigned char)s[0]) || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!(islower(c) || isdigit(c) || c == '-'))
			return false;
	}
	return true;
}

/* Lower-case s into out (at most keep chars), mapping anything outside [a-z0-9-] to '-'. */
static size_t dns_sanitise(const char *s, size_t keep, char *out)
{
	size_t n = 0;

	for (; *s && n < keep; s++) {
		unsigned char c = (unsigned char)tolower((unsigned char)*s);

		out[n++] = (islower(c) || isdigit(c)) ? (char)c : '-';
	}
	while (n > 0 && out[n - 1] == '-')
		n--;
	out[n] = '\0';
	return n;
}

int objmeta_name(const char *base, const char *suffix, size_t max, char *out, size_t outlen)
{
	char full[512], cut[OBJMETA_NAME_BUF], hash[HASH_HEX + 1];
	const char *prefix = "";
	int n, rc;

	if (!base || !*base || max < 16 || max > OBJMETA_NAME_MAX)
		return SAQR_EINVAL;
	if (outlen < max + 1)
		return SAQR_ETOOBIG;
	n = snprintf(full, sizeof(full), "%s%s", base, suffix ? suffix : "");
	if (n < 0 || (size_t)n >= sizeof(full))
		return SAQR_ETOOBIG;
	if (objmeta_is_dns_label(full, max)) {
		memcpy(out, full, (size_t)n + 1);
		return 0;
	}
	rc = hash_hex(base, suffix ? suffix : "", hash);
	if (rc)
		return rc;
	if (!islower((unsigned char)tolower((unsigned char)full[0])))
		prefix = "n-"; /* a DNS-1035 label starts with a letter */
	dns_sanitise(full, max - HASH_HEX - 1 - strlen(prefix), cut);
	snprintf(out, outlen, "%s%s%s%s", prefix, cut, *cut ? "-" : "", hash);
	return 0;
}

static bool label_char(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '_' || c == '.';
}

static bool is_label_value(const char *v)
{
	size_t n = strlen(v);

	if (n == 0)
		return true;
	if (n > OBJMETA_NAME_MAX || !isalnum((unsigned char)v[0]) || !isalnum((unsigned char)v[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!label_char((unsigned char)v[i]))
			return false;
	return true;
}

int objmeta_label_value(const char *v, char *out, size_t outlen)
{
	char cut[OBJMETA_NAME_BUF], hash[HASH_HEX + 1];
	size_t n = 0, keep = OBJMETA_NAME_MAX - HASH_HEX - 1;
	const char *s;
	int rc;

	if (!v)
		return SAQR_EINVAL;
	if (outlen < OBJMETA_NAME_BUF)
		return SAQR_ETOOBIG;
	if (is_label_value(v)) {
		snprintf(out, outlen, "%s", v);
		return 0;
	}
	rc = hash_hex(v, "", hash);
	if (rc)
		return rc;
	for (s = v; *s && n < keep; s++) {
		unsigned char c = (unsigned char)*s;

		if (n == 0 && !isalnum(c))
			continue; /* the value must start alphanumeric */
		cut[n++] = label_char(c) ? (char)c : '-';
	}
	while (n > 0 && !isalnum((unsigned char)cut[n - 1]))
		n--;
	cut[n] = '\0';
	snprintf(out, outlen, "%s%s%s", cut, n ? "-" : "", hash);
	return 0;
}

/* obj[key] = a valid label value for v. */
static int set_label(json_t *obj, const char *key, const char *v)
{
	char val[OBJMETA_NAME_BUF];

	if (objmeta_label_value(v, val, sizeof(val)))
		return SAQR_EINVAL;
	return json_object_set_new(obj, key, json_string(val)) ? SAQR_ENOMEM : 0;
}

json_t *objmeta_labels(const char *app_name, const char *instance, const char *component,
		       const char *owner_key)
{
	json_t *l;

	if (!app_name || !instance || !component)
		return NULL;
	l = json_object();
	if (!l || set_label(l, "app.kubernetes.io/name", app_name) ||
	    set_label(l, "app.kubernetes.io/instance", instance) ||
	    set_label(l, "app.kubernetes.io/component", component) ||
	    set_label(l, "app.kubernetes.io/managed-by", OBJMETA_MANAGER) ||
	    set_label(l, "app.kubernetes.io/part-of", OBJMETA_PART_OF) ||
	    (owner_key && set_label(l, owner_key, instance))) {
		json_decref(l);
		return NULL;
	}
	return l;
}

json_t *objmeta_owner_ref(const json_t *owner)
{
	const char *api = json_path_str(owner, "apiVersion", NULL);
	const char *kind = json_path_str(owner, "kind", NULL);
	const char *name = json_path_str(owner, "metadata.name", NULL);
	const char *uid = json_path_str(owner, "metadata.uid", NULL);

	if (!api || !kind || !name || !uid)
		return NULL;
	return json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}", "apiVersion", api, "kind", kind, "name", name,
			 "uid", uid, "controller", 1, "blockOwnerDeletion", 1);
}

json_t *objmeta_object(const char *api_version, const char *kind, const char *name, json_t *labels,
		       const json_t *owner)
{
	const char *ns = json_path_str(owner, "metadata.namespace", NULL);
	json_t *ref = objmeta_owner_ref(owner);

	if (!ref || !ns || !labels || !api_version || !kind || !name) {
		json_decref(ref);
		json_decref(labels);
		return NULL;
	}
	return json_pack("{s:s, s:s, s:{s:s, s:s, s:o, s:[o]}}", "apiVersion", api_version, "kind", kind,
			 "metadata", "name", name, "namespace", ns, "labels", labels, "ownerReferences", ref);
}

bool objmeta_is_controlled_by(const json_t *obj, const json_t *owner)
{
	const char *uid = json_path_str(owner, "metadata.uid", NULL);
	json_t *refs = json_path(obj, "metadata.ownerReferences");
	size_t i;
	json_t *r;

	if (!uid)
		return false;
	json_array_foreach(refs, i, r)
	{
		const char *ruid = json_path_str(r, "uid", "");

		if (json_is_true(json_object_get(r, "controller")) && strcmp(ruid, uid) == 0)
			return true;
	}
	return false;
}

void objmeta_owned_release(struct objmeta_owned *o)
{
	if (!o)
		return;
	json_decref(o->obj);
	o->obj = NULL;
	o->action = OBJMETA_LEAVE;
	o->name[0] = '\0';
}
