/* Unit tests for operator/modeloverride.c: when spec.modelOverride is in force (its base is
 * spec.model) and when a new spec.model supersedes it; the effective ModelDeployment every
 * builder reads; the patches; status.modelSource. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "common/jsonutil.h"
#include "operator/modeloverride.h"

#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"
#define D4 "sha256:4444444444444444444444444444444444444444444444444444444444444444"
#define S(obj, path) json_path_str((obj), (path), "<missing>")

static json_t *md_v3(void)
{
	json_t *md = json_pack("{s:{s:s, s:s}, s:{s:{s:s, s:s, s:s, s:s, s:s, s:s}}}", "metadata", "name",
			       "fraud", "namespace", "ml", "spec", "model", "name", "fraud", "version", "v3",
			       "uri", "s3://m/v3/model.onnx", "format", "onnx", "digest", D3, "signature",
			       "s3://m/v3/model.sig");

	assert_non_null(md);
	return md;
}

static json_t *v4(void)
{
	return json_pack("{s:s, s:s, s:s}", "version", "v4", "uri", "s3://m/v4/model.onnx", "digest", D4);
}

/* md with the override patch applied (a merge of spec.modelOverride) */
static void apply(json_t *md, json_t *patch)
{
	assert_non_null(patch);
	assert_int_equal(
	    json_object_set(json_object_get(md, "spec"), MO_FIELD, json_path(patch, "spec." MO_FIELD)), 0);
	json_decref(patch);
}

static void test_no_override(void **state)
{
	json_t *md = md_v3(), *eff, *src;

	(void)state;
	assert_int_equal(mo_state(md), MO_NONE);
	assert_ptr_equal(mo_model(md), json_path(md, "spec.model"));
	eff = mo_effective(md);
	assert_true(json_equal(eff, md));
	src = mo_source(md);
	assert_string_equal(S(src, "type"), "Spec");
	assert_string_equal(S(src, "message"), "serving spec.model version v3");
	json_decref(src);
	json_decref(eff);
	json_decref(md);
}

static void test_override_in_force(void **state)
{
	json_t *md = md_v3(), *model = v4(), *patch, *eff, *src;

	(void)state;
	patch = mo_patch(md, model, MO_REASON_PROMOTION, "TrainingJob/fraud-train");
	/* the model as given; what it lacks (name, format, signature) is removed */
	assert_string_equal(S(patch, "spec.modelOverride.model.version"), "v4");
	assert_true(json_is_null(json_path(patch, "spec.modelOverride.model.signature")));
	assert_string_equal(S(patch, "spec.modelOverride.base.version"), "v3");
	assert_string_equal(S(patch, "spec.modelOverride.base.digest"), D3);
	assert_string_equal(S(patch, "spec.modelOverride.reason"), "Promotion");
	assert_null(json_path(patch, "spec.model"));
	apply(md, patch);
	assert_int_equal(mo_state(md), MO_ACTIVE);
	assert_string_equal(S(mo_model(md), "version"), "v4");
	eff = mo_effective(md);
	assert_string_equal(S(eff, "spec.model.version"), "v4");
	assert_string_equal(S(eff, "spec.model.digest"), D4);
	assert_null(json_path(eff, "spec.modelOverride"));
	assert_string_equal(S(md, "spec.model.version"), "v3"); /* md itself untouched */
	src = mo_source(md);
	assert_string_equal(S(src, "type"), "Promotion");
	assert_string_equal(S(src, "source"), "TrainingJob/fraud-train");
	assert_non_null(strstr(S(src, "message"), "serving version v4 from spec.modelOverride (promoted by "
						  "TrainingJob/fraud-train) over spec.model version v3"));
	json_decref(src);
	json_decref(eff);
	json_decref(model);
	json_decref(md);
}

/* A sync that re-applies the same spec.model keeps the override; a new one supersedes it. */
static void test_superseded_by_git(void **state)
{
	json_t *md = md_v3(), *model = v4(), *eff, *src, *clear;

	(void)state;
	apply(md, mo_patch(md, model, MO_REASON_ROLLBACK, "incident inc-1"));
	json_object_set_new(json_path(md, "spec.model"), "format", json_string("onnx")); /* same model */
	assert_int_equal(mo_state(md), MO_ACTIVE);
	json_object_set_new(json_path(md, "spec.model"), "version", json_string("v5"));
	json_object_set_new(json_path(md, "spec.model"), "uri", json_string("s3://m/v5/model.onnx"));
	assert_int_equal(mo_state(md), MO_STALE);
	assert_string_equal(S(mo_model(md), "version"), "v5");
	eff = mo_effective(md);
	assert_string_equal(S(eff, "spec.model.version"), "v5");
	assert_null(json_path(eff, "spec.modelOverride"));
	src = mo_source(md);
	assert_string_equal(S(src, "type"), "Spec");
	assert_non_null(strstr(S(src, "message"), "serving spec.model version v5: it changed since "
						  "spec.modelOverride (Rollback by incident inc-1)"));
	clear = mo_clear_patch();
	assert_true(json_is_null(json_path(clear, "spec.modelOverride")));
	json_decref(clear);
	json_decref(src);
	json_decref(eff);
	json_decref(model);
	json_decref(md);
}

/* Malformed overrides (hand-written, or cut) are never in force. */
static void test_malformed(void **state)
{
	json_t *md = md_v3();
	json_t *spec = json_object_get(md, "spec");

	(void)state;
	json_object_set_new(spec, MO_FIELD, json_null());
	assert_int_equal(mo_state(md), MO_NONE);
	json_object_set_new(spec, MO_FIELD, json_pack("{s:s}", "reason", "Promotion"));
	assert_int_equal(mo_state(md), MO_STALE);
	json_object_set_new(spec, MO_FIELD, json_pack("{s:{s:s}}", "model", "version", "v4"));
	assert_int_equal(mo_state(md), MO_STALE); /* no uri, no base */
	json_object_set_new(
	    spec, MO_FIELD,
	    json_pack("{s:{s:s}, s:s}", "model", "uri", "s3://m/v4/model.onnx", "base", "v3"));
	assert_int_equal(mo_state(md), MO_STALE);
	assert_string_equal(S(mo_model(md), "version"), "v3");
	json_decref(md);
	assert_int_equal(mo_state(NULL), MO_NONE);
	assert_null(mo_model(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_no_override),
	    cmocka_unit_test(test_override_in_force),
	    cmocka_unit_test(test_superseded_by_git),
	    cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests_name("modeloverride", tests, NULL, NULL);
}
