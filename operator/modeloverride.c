/* spec.modelOverride: the model Saqr's promotion and rollback put in force without rewriting
 * the spec.model that Git owns; see modeloverride.h. */
#include "operator/modeloverride.h"

#include <stdio.h>
#include <string.h>

#include "common/jsonutil.h"

#define MO_MSG_MAX 512

static const char *const mo_base_keys[] = {"uri", "version", "digest", NULL};
static const char *const mo_model_keys[] = {"name", "version", "uri", "format", "digest", "signature", NULL};

static bool mo_same(const json_t *a, const json_t *b, const char *const keys[])
{
	for (int i = 0; keys[i]; i++)
		if (strcmp(json_path_str(a, keys[i], ""), json_path_str(b, keys[i], "")) != 0)
			return false;
	return true;
}

enum mo_state mo_state(const json_t *md)
{
	const json_t *o = json_path(md, "spec." MO_FIELD);

	if (!o || json_is_null(o))
		return MO_NONE;
	if (!json_is_object(json_object_get(o, "model")) || !*json_path_str(o, "model.uri", "") ||
	    !json_is_object(json_object_get(o, "base")))
		return MO_STALE;
	return mo_same(json_object_get(o, "base"), json_path(md, "spec.model"), mo_base_keys) ? MO_ACTIVE
											      : MO_STALE;
}

const json_t *mo_model(const json_t *md)
{
	if (mo_state(md) == MO_ACTIVE)
		return json_path(md, "spec." MO_FIELD ".model");
	return json_path(md, "spec.model");
}

json_t *mo_effective(const json_t *md)
{
	json_t *eff = json_deep_copy(md);
	json_t *spec = json_object_get(eff, "spec");
	const json_t *model = mo_model(md);

	if (!eff || !json_is_object(spec))
		return eff;
	if (mo_state(md) == MO_ACTIVE && json_object_set_new(spec, "model", json_deep_copy(model))) {
		json_decref(eff);
		return NULL;
	}
	json_object_del(spec, MO_FIELD);
	return eff;
}

/* The keys of from into to; a key from lacks becomes null (removed by the merge patch). */
static int mo_copy(json_t *to, const json_t *from, const char *const keys[])
{
	for (int i = 0; keys[i]; i++) {
		const json_t *v = json_object_get(from, keys[i]);

		if (json_object_set_new(to, keys[i], json_is_string(v) ? json_deep_copy(v) : json_null()))
			return -1;
	}
	return 0;
}

json_t *mo_patch(const json_t *md, const json_t *model, const char *reason, const char *source)
{
	json_t *m = json_object(), *base = json_object();
	json_t *patch;

	if (!m || !base || mo_copy(m, model, mo_model_keys) ||
	    mo_copy(base, json_path(md, "spec.model"), mo_base_keys)) {
		json_decref(m);
		json_decref(base);
		return NULL;
	}
	patch = json_pack("{s:{s:{s:o, s:s, s:s, s:o}}}", "spec", MO_FIELD, "model", m, "reason", reason,
			  "source", source ? source : "", "base", base);
	return patch;
}

json_t *mo_clear_patch(void)
{
	return json_pack("{s:{s:n}}", "spec", MO_FIELD);
}

json_t *mo_source(const json_t *md)
{
	const json_t *o = json_path(md, "spec." MO_FIELD);
	const char *reason = json_path_str(o, "reason", MO_REASON_PROMOTION);
	const char *source = json_path_str(o, "source", "");
	char msg[MO_MSG_MAX];

	switch (mo_state(md)) {
	case MO_ACTIVE:
		snprintf(msg, sizeof(msg),
			 "serving version %s from spec.modelOverride (%s by %s) over spec.model version %s; "
			 "commit it to spec.model in Git to make it permanent",
			 json_path_str(o, "model.version", "(unset)"),
			 strcmp(reason, MO_REASON_ROLLBACK) == 0 ? "rolled back" : "promoted",
			 *source ? source : "Saqr", json_path_str(md, "spec.model.version", "(unset)"));
		return json_pack("{s:s, s:s, s:s}", "type", reason, "source", source, "message", msg);
	case MO_STALE:
		snprintf(msg, sizeof(msg),
			 "serving spec.model version %s: it changed since spec.modelOverride (%s by %s) was "
			 "written, which no longer applies",
			 json_path_str(md, "spec.model.version", "(unset)"), reason,
			 *source ? source : "Saqr");
		break;
	default:
		snprintf(msg, sizeof(msg), "serving spec.model version %s",
			 json_path_str(md, "spec.model.version", "(unset)"));
	}
	return json_pack("{s:s, s:s}", "type", "Spec", "message", msg);
}
