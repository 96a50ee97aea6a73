/* Compliant by construction: every object saqr-operator writes for the shipped samples (the
 * ModelDeployment's Deployment, Service, NetworkPolicy, PDB and HPA, with the saqr-agent and
 * saqr-fetch containers; the TrainingJob's Job and Service; the DriftPolicy's retrain
 * TrainingJob) passes the default admission policy as an object from nobody in particular:
 * the operator's identity is not exempt, so these are what the webhook judges. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "common/jsonutil.h"
#include "operator/driftpolicy/driftactions.h"
#include "operator/modeldeployment/modeldeployment.h"
#include "operator/trainingjob/trainingjob.h"
#include "policy/policy.h"
#include "../support/policytest.h"

#define AGENT_IMAGE                                                                                          \
	"saqr.local/saqr-agent@sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define FETCH_IMAGE                                                                                          \
	"saqr.local/saqr-fetch@sha256:2222222222222222222222222222222222222222222222222222222222222222"

static struct policy *def;

static int setup(void **state)
{
	(void)state;
	return policy_load_default(&def);
}

static int teardown(void **state)
{
	(void)state;
	policy_free(def);
	return 0;
}

/* A sample as the API server stores it: namespace ml, a uid, generation 1. */
static json_t *sample(const char *file)
{
	char *text = policytest_read(file, NULL);
	json_t *obj;
	json_t *meta;

	assert_non_null(text);
	obj = policytest_yaml(text);
	free(text);
	meta = json_object_get(obj, "metadata");
	assert_int_equal(json_object_set_new(meta, "namespace", json_string("ml")), 0);
	assert_int_equal(
	    json_object_set_new(meta, "uid", json_string("7c1f9a52-0d4e-4a8e-9b1c-2f6d7e8a9b0c")), 0);
	assert_int_equal(json_object_set_new(meta, "generation", json_integer(1)), 0);
	return obj;
}

static void assert_admitted(const json_t *obj)
{
	struct policy_decision d;

	policytest_eval(def, obj, &d);
	if (!d.allowed) {
		fprintf(stderr, "refused: %s %s\n", json_path_str(obj, "kind", "?"),
			json_path_str(obj, "metadata.name", "?"));
		policytest_dump(&d);
	}
	assert_true(d.allowed);
	policy_decision_release(&d);
}

static void assert_owned_admitted(const struct objmeta_owned *owned, size_t n)
{
	size_t i, applied = 0;

	for (i = 0; i < n; i++) {
		if (owned[i].action != OBJMETA_APPLY || !owned[i].obj)
			continue;
		assert_admitted(owned[i].obj);
		applied++;
	}
	assert_true(applied > 0);
}

static void test_modeldeployment_objects(void **state)
{
	json_t *md = sample("manifests/samples/modeldeployment.yaml");
	struct md_options opts = {.extra_ingress_namespace = "saqr-system",
				  .agent_image = AGENT_IMAGE,
				  .fetch_image = FETCH_IMAGE,
				  .trusted_keys_secret = "saqr-trusted-keys"};
	struct md_desired d;

	(void)state;
	assert_admitted(md);
	assert_int_equal(md_desired(md, &opts, &d), 0);
	assert_owned_admitted(d.owned, MD_OWNED_COUNT);
	md_desired_release(&d);
	json_decref(md);
}

static void test_trainingjob_objects(void **state)
{
	json_t *tj = sample("manifests/samples/trainingjob.yaml");
	struct tj_desired d;

	(void)state;
	assert_admitted(tj);
	assert_int_equal(tj_desired(tj, &d), 0);
	assert_owned_admitted(d.owned, TJ_OWNED_COUNT);
	tj_desired_release(&d);
	json_decref(tj);
}

static void test_retrain_trainingjob(void **state)
{
	json_t *dp = sample("manifests/samples/driftpolicy.yaml");
	json_t *tjs = json_array();
	json_t *tj = NULL;
	struct tj_desired d;

	(void)state;
	assert_admitted(dp);
	assert_int_equal(driftactions_retrain_object(dp, tjs, "fraud-detector-drift-20261204-120000", &tj),
			 0);
	json_object_set_new(json_object_get(tj, "metadata"), "uid",
			    json_string("0b6c2d1e-5f4a-4b3c-8d2e-1f0a9b8c7d6e"));
	assert_admitted(tj);
	assert_int_equal(tj_desired(tj, &d), 0);
	assert_owned_admitted(d.owned, TJ_OWNED_COUNT);
	tj_desired_release(&d);
	json_decref(tj);
	json_decref(tjs);
	json_decref(dp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_modeldeployment_objects),
	    cmocka_unit_test(test_trainingjob_objects),
	    cmocka_unit_test(test_retrain_trainingjob),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
