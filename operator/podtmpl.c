/* Hardened pod templates: restricted Pod Security by default, scheduling copied from the
 * custom resource, env helpers. */
#include "operator/podtmpl.h"

#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonutil.h"

#define TMP_VOLUME "tmp"

static json_t *container_security(void)
{
	return json_pack("{s:b, s:b, s:b, s:{s:[s]}}", "allowPrivilegeEscalation", 0, "privileged", 0,
			 "readOnlyRootFilesystem", 1, "capabilities", "drop", "ALL");
}

/* dst[key] = copy of src[key] when present. */
static int copy_key(json_t *dst, const json_t *src, const char *key)
{
	json_t *v = json_object_get(src, key);

	if (!v)
		return 0;
	return json_object_set_new(dst, key, json_deep_copy(v)) ? SAQR_ENOMEM : 0;
}

const char *const podtmpl_compliance_keys[] = {
    "saqr.dev/data-residency", "saqr.dev/data-classification",
    "saqr.dev/owner",	       "saqr.dev/personal-data",
    "saqr.dev/lawful-basis",   "saqr.dev/retention",
    "saqr.dev/jurisdiction",   "saqr.dev/transfer-basis",
    "saqr.dev/break-glass",    NULL,
};

/* The map meta[key], created when missing. */
static json_t *meta_map(json_t *meta, const char *key)
{
	json_t *m = json_object_get(meta, key);

	if (json_is_object(m))
		return m;
	m = json_object();
	if (!m || json_object_set_new(meta, key, m))
		return NULL;
	return m;
}

static int inherit_into(const json_t *owner_meta, json_t *meta, const char *key)
{
	const json_t *src = json_object_get(owner_meta, key);
	json_t *dst = NULL;
	size_t i;

	for (i = 0; podtmpl_compliance_keys[i]; i++) {
		if (!json_is_string(json_object_get(src, podtmpl_compliance_keys[i])))
			continue;
		if (!dst && !(dst = meta_map(meta, key)))
			return SAQR_ENOMEM;
		if (copy_key(dst, src, podtmpl_compliance_keys[i]))
			return SAQR_ENOMEM;
	}
	return 0;
}

int podtmpl_inherit_meta(const json_t *owner, json_t *obj)
{
	const json_t *om = json_object_get(owner, "metadata");
	json_t *meta = json_object_get(obj, "metadata");

	if (!json_is_object(meta))
		return SAQR_EINVAL;
	if (inherit_into(om, meta, "labels") || inherit_into(om, meta, "annotations"))
		return SAQR_ENOMEM;
	return 0;
}

int podtmpl_inherit(const json_t *owner, json_t *obj)
{
	const json_t *om = json_object_get(owner, "metadata");
	json_t *meta = json_object_get(obj, "metadata");
	json_t *tmpl = json_path(obj, "spec.template");
	json_t *tmeta;

	if (!json_is_object(meta) || !json_is_object(tmpl))
		return SAQR_EINVAL;
	tmeta = meta_map(tmpl, "metadata");
	if (!tmeta)
		return SAQR_ENOMEM;
	if (inherit_into(om, meta, "labels") || inherit_into(om, meta, "annotations") ||
	    inherit_into(om, tmeta, "labels") || inherit_into(om, tmeta, "annotations"))
		return SAQR_ENOMEM;
	return 0;
}

json_t *podtmpl_container(const char *name, const char *image, const json_t *src, json_t *env)
{
	json_t *c;

	if (!env)
		env = json_array();
	c = json_pack("{s:s, s:s, s:o, s:o, s:[{s:s, s:s}]}", "name", name ? name : "", "image",
		      image ? image : "", "securityContext", container_security(), "env", env, "volumeMounts",
		      "name", TMP_VOLUME, "mountPath", PODSPEC_TMP_PATH);
	if (!c)
		return NULL;
	if (copy_key(c, src, "command") || copy_key(c, src, "args") || copy_key(c, src, "resources")) {
		json_decref(c);
		return NULL;
	}
	return c;
}

static int copy_scheduling(json_t *pod, const json_t *sched)
{
	static const char *const keys[] = {"nodeSelector", "tolerations", "affinity", "priorityClassName"};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (copy_key(pod, sched, keys[i]))
			return SAQR_ENOMEM;
	return 0;
}

json_t *podtmpl_pod(json_t *container, const char *service_account, const json_t *scheduling)
{
	json_t *pod;

	pod = json_pack("{s:b, s:{s:b, s:{s:s}}, s:[o], s:[{s:s, s:{}}]}", "automountServiceAccountToken", 0,
			"securityContext", "runAsNonRoot", 1, "seccompProfile", "type", "RuntimeDefault",
			"containers", container, "volumes", "name", TMP_VOLUME, "emptyDir");
	if (!pod)
		return NULL;
	if ((service_account &&
	     json_object_set_new(pod, "serviceAccountName", json_string(service_account))) ||
	    copy_scheduling(pod, scheduling)) {
		json_decref(pod);
		return NULL;
	}
	return pod;
}

int podtmpl_add_volume(json_t *pod, json_t *volume, const char *mount_path, bool read_only)
{
	json_t *c = json_path(pod, "containers.0");
	json_t *vols = json_object_get(pod, "volumes");
	json_t *mounts = json_object_get(c, "volumeMounts");
	const char *name = json_string_value(json_object_get(volume, "name"));
	json_t *mount;

	if (!json_is_array(vols) || !json_is_array(mounts) || !name || !mount_path) {
		json_decref(volume);
		return SAQR_EINVAL;
	}
	mount = json_pack("{s:s, s:s}", "name", name, "mountPath", mount_path);
	if (!mount || (read_only && json_object_set_new(mount, "readOnly", json_true())) ||
	    json_array_append_new(mounts, mount)) {
		json_decref(volume);
		return SAQR_ENOMEM;
	}
	return json_array_append_new(vols, volume) ? SAQR_ENOMEM : 0;
}

int podtmpl_env(json_t *env, const char *name, const char *value)
{
	return json_array_append_new(env, json_pack("{s:s, s:s}", "name", name, "value", value)) ? SAQR_ENOMEM
												 : 0;
}

int podtmpl_env_field(json_t *env, const char *name, const char *field_path)
{
	json_t *e =
	    json_pack("{s:s, s:{s:{s:s}}}", "name", name, "valueFrom", "fieldRef", "fieldPath", field_path);

	return json_array_append_new(env, e) ? SAQR_ENOMEM : 0;
}

int podtmpl_env_user(json_t *env, const json_t *user)
{
	size_t i;
	json_t *e;

	if (json_array_size(user) > PODSPEC_ENV_MAX)
		return SAQR_ETOOBIG;
	json_array_foreach(user, i, e)
	{
		if (json_array_append_new(env, json_deep_copy(e)))
			return SAQR_ENOMEM;
	}
	return 0;
}

static bool is_reserved(const char *name, const char *const *reserved)
{
	for (; reserved && *reserved; reserved++)
		if (strcmp(name, *reserved) == 0)
			return true;
	return false;
}

/* Index of the first entry before limit named name, or limit when none. */
static size_t first_named(const json_t *user, size_t limit, const char *name)
{
	for (size_t j = 0; j < limit; j++) {
		const char *n = json_string_value(json_object_get(json_array_get(user, j), "name"));

		if (n && strcmp(n, name) == 0)
			return j;
	}
	return limit;
}

bool podtmpl_env_check(const json_t *user, const char *const *reserved, const char *where, char *msg,
		       size_t msglen)
{
	size_t i;
	json_t *e;

	if (json_array_size(user) > PODSPEC_ENV_MAX) {
		snprintf(msg, msglen, "%s has %zu entries; at most %d are allowed", where,
			 json_array_size(user), PODSPEC_ENV_MAX);
		return false;
	}
	json_array_foreach(user, i, e)
	{
		const char *name = json_string_value(json_object_get(e, "name"));

		if (!name || !*name) {
			snprintf(msg, msglen, "%s[%zu] has no name; give every variable a name", where, i);
			return false;
		}
		if (is_reserved(name, reserved)) {
			snprintf(msg, msglen, "%s[%zu] sets %s, which Saqr sets itself; remove it", where, i,
				 name);
			return false;
		}
		if (first_named(user, i, name) < i) {
			snprintf(msg, msglen, "%s[%zu] repeats the variable %s; keep one entry per name",
				 where, i, name);
			return false;
		}
	}
	return true;
}
