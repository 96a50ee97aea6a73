/* Unit tests for operator/trainingjob/status.c: TrainingJob status from Job objects in the
 * shapes the API server returns (tests/data/operator/job_*.json): created, running, succeeded,
 * failed (BackoffLimitExceeded, DeadlineExceeded), suspended by Kueue; the outcome kept after TTL
 * removes the Job; idempotence; promotion into a ModelDeployment exactly once, pinned to the
 * digest the trainer reported (and refused without one). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/opfixture.h"
#include "common/err.h"
#include "common/jsonutil.h"
#include "operator/conditions.h"
#include "operator/trainingjob/trainingjob.h"

#define T0 "2024-05-01T10:00:10Z"
#define T1 "2024-05-01T14:32:00Z"
#define T2 "2024-05-01T16:00:00Z"
#define DIGEST "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define S(obj, path) json_path_str((obj), (path), "<missing>")
#define I(obj, path) json_path_int((obj), (path), -12345)

static json_t *load(const char *name)
{
	json_t *v = opfix_load(name);

	assert_non_null(v);
	return v;
}

/* The status from a Job fixture, with the digest the trainer reported (NULL: none read). */
static json_t *status_digest(const json_t *tj, const char *job_fixture, const char *now, const char *digest)
{
	json_t *job = job_fixture ? load(job_fixture) : NULL, *st = NULL;
	struct tj_observed obs = {job, NULL, digest, NULL};

	assert_int_equal(tj_status(tj, &obs, now, &st), 0);
	assert_non_null(st);
	json_decref(job);
	return st;
}

static json_t *status_of(const json_t *tj, const char *job_fixture, const char *now)
{
	json_t *job = job_fixture ? load(job_fixture) : NULL, *st = NULL;
	struct tj_observed obs = {job, NULL, NULL, NULL};

	assert_int_equal(tj_status(tj, &obs, now, &st), 0);
	assert_non_null(st);
	json_decref(job);
	return st;
}

static void expect_cond(const json_t *st, const char *type, const char *status, const char *reason,
			const char *msg_part)
{
	const json_t *c = cond_find(json_object_get(st, "conditions"), type);

	if (!c)
		fail_msg("no %s condition in %s", type, opfix_dump(st));
	assert_string_equal(S(c, "status"), status);
	assert_string_equal(S(c, "reason"), reason);
	if (msg_part && !strstr(S(c, "message"), msg_part))
		fail_msg("%s message \"%s\" lacks \"%s\"", type, S(c, "message"), msg_part);
}

static void adopt(json_t *tj, json_t *st)
{
	assert_int_equal(json_object_set_new(tj, "status", st), 0);
}

static void test_no_job_yet(void **state)
{
	json_t *tj = load("tj_fraud.json"), *st = status_of(tj, NULL, T0);

	(void)state;
	assert_int_equal(I(st, "observedGeneration"), 2);
	assert_string_equal(S(st, "jobName"), "fraud-train");
	assert_int_equal(I(st, "active"), 0);
	assert_int_equal(I(st, "succeeded"), 0);
	assert_int_equal(I(st, "failed"), 0);
	assert_null(json_object_get(st, "startTime"));
	assert_null(json_object_get(st, "outputModel"));
	assert_int_equal(json_array_size(json_object_get(st, "conditions")), 6);
	assert_string_equal(S(st, "conditions.0.type"), "Ready");
	expect_cond(st, "Ready", "False", "Pending", "Job fraud-train does not exist yet");
	expect_cond(st, "Created", "False", "JobNotFound", NULL);
	expect_cond(st, "Running", "False", "JobNotFound", NULL);
	expect_cond(st, "Suspended", "False", "NotSuspended", NULL);
	expect_cond(st, "Succeeded", "False", "NotCompleted", NULL);
	expect_cond(st, "Failed", "False", "NotFailed", NULL);
	assert_int_equal(I(st, "conditions.3.observedGeneration"), 2);
	json_decref(st);
	json_decref(tj);
}

static void test_created_and_running(void **state)
{
	json_t *tj = load("tj_fraud.json"), *st;

	(void)state;
	st = status_of(tj, "job_new.json", T0);
	expect_cond(st, "Created", "True", "JobCreated", "Job fraud-train was created");
	expect_cond(st, "Running", "False", "PodsPending", "0 of 4 pods active");
	expect_cond(st, "Ready", "False", "Pending", NULL);
	json_decref(st);

	st = status_of(tj, "job_running.json", T0);
	expect_cond(st, "Running", "True", "PodsActive", "4 of 4 pods active, 3 ready");
	expect_cond(st, "Ready", "False", "Running", "4 of 4 pods active");
	expect_cond(st, "Suspended", "False", "NotSuspended", NULL);
	assert_string_equal(S(st, "startTime"), "2024-05-01T10:00:05Z");
	assert_null(json_object_get(st, "completionTime"));
	assert_int_equal(I(st, "active"), 4);
	json_decref(st);
	json_decref(tj);
}

static void test_succeeded(void **state)
{
	json_t *tj = load("tj_fraud.json"), *st;

	(void)state;
	st = status_of(tj, "job_succeeded.json", T1);
	expect_cond(st, "Succeeded", "True", "CompletionsReached",
		    "Reached expected number of succeeded pods");
	expect_cond(st, "Failed", "False", "NotFailed", NULL);
	expect_cond(st, "Running", "False", "JobFinished", NULL);
	/* promote is set: not Ready until the model is promoted */
	expect_cond(st, "Ready", "False", "PromotionPending", "ModelDeployment fraud");
	assert_string_equal(S(st, "completionTime"), "2024-05-01T14:31:52Z");
	assert_int_equal(I(st, "succeeded"), 4);
	assert_int_equal(I(st, "active"), 0);
	assert_int_equal(json_object_size(json_object_get(st, "outputModel")), 2);
	assert_string_equal(S(st, "outputModel.uri"), "s3://saqr-models/fraud/1.5.0/model.onnx");
	assert_string_equal(S(st, "outputModel.version"), "1.5.0");
	assert_true(tj_finished(st));
	json_decref(st);
	/* without promote: Ready at once */
	json_object_del(json_object_get(tj, "spec"), "promote");
	st = status_of(tj, "job_succeeded.json", T1);
	expect_cond(st, "Ready", "True", "Succeeded", NULL);
	assert_null(json_path(st, "outputModel.version"));
	json_decref(st);
	json_decref(tj);
}

static void test_failed_backoff_limit(void **state)
{
	json_t *tj = load("tj_fraud.json"), *st = status_of(tj, "job_failed_backoff.json", T1);

	(void)state;
	expect_cond(st, "Failed", "True", "BackoffLimitExceeded",
		    "Job has reached the specified backoff limit");
	expect_cond(st, "Ready", "False", "Failed",
		    "BackoffLimitExceeded: Job has reached the specified backoff limit");
	expect_cond(st, "Succeeded", "False", "NotCompleted", NULL);
	expect_cond(st, "Running", "False", "JobFinished", NULL);
	assert_int_equal(I(st, "failed"), 3);
	assert_null(json_object_get(st, "outputModel"));
	assert_true(tj_finished(st));
	assert_false(tj_promotion_pending(tj, st));
	json_decref(st);
	json_decref(tj);
}

static void test_failed_deadline(void **state)
{
	json_t *tj = load("tj_fraud.json"), *st = status_of(tj, "job_failed_deadline.json", T1);

	(void)state;
	expect_cond(st, "Failed", "True", "DeadlineExceeded",
		    "Job was active longer than specified deadline");
	expect_cond(st, "Ready", "False", "Failed", "DeadlineExceeded");
	assert_int_equal(I(st, "failed"), 4);
	json_decref(st);
	json_decref(tj);
}

static void test_suspended(void **state)
{
	json_t *tj = load("tj_fraud.json"), *st;

	(void)state;
	st = status_of(tj, "job_suspended.json", T0);
	expect_cond(st, "Suspended", "True", "JobSuspended", "waits for Kueue to admit it from queue ml-gpu");
	expect_cond(st, "Running", "False", "JobSuspended", NULL);
	expect_cond(st, "Ready", "False", "Suspended", NULL);
	assert_false(tj_finished(st));
	json_decref(st);
	json_object_set_new(json_object_get(tj, "spec"), "suspend", json_true());
	st = status_of(tj, "job_suspended.json", T0);
	expect_cond(st, "Suspended", "True", "JobSuspended", "spec.suspend is true");
	json_decref(st);
	json_decref(tj);
}

static void test_outcome_survives_ttl(void **state)
{
	json_t *tj = load("tj_fraud.json"), *st;
	struct tj_desired d;

	(void)state;
	json_object_del(json_object_get(tj, "spec"), "promote");
	adopt(tj, status_digest(tj, "job_succeeded.json", T1, DIGEST));
	st = status_of(tj, NULL, T2); /* the Job is gone */
	assert_string_equal(S(st, "outputModel.digest"), DIGEST);
	expect_cond(st, "Succeeded", "True", "CompletionsReached", "Reached expected number");
	expect_cond(st, "Ready", "True", "Succeeded", NULL);
	expect_cond(st, "Created", "True", "JobCreated", "removed after it finished");
	assert_int_equal(I(st, "succeeded"), 4);
	assert_string_equal(S(st, "startTime"), "2024-05-01T10:00:05Z");
	assert_string_equal(S(st, "completionTime"), "2024-05-01T14:31:52Z");
	assert_string_equal(S(st, "outputModel.uri"), "s3://saqr-models/fraud/1.5.0/model.onnx");
	assert_string_equal(
	    S(cond_find(json_object_get(st, "conditions"), "Succeeded"), "lastTransitionTime"), T1);
	json_decref(st);
	assert_int_equal(tj_desired(tj, &d), 0);
	assert_int_equal(d.owned[TJ_OWNED_JOB].action, OBJMETA_LEAVE);
	tj_desired_release(&d);
	json_decref(tj);

	tj = load("tj_fraud.json");
	adopt(tj, status_of(tj, "job_failed_backoff.json", T1));
	st = status_of(tj, NULL, T2);
	expect_cond(st, "Failed", "True", "BackoffLimitExceeded", "backoff limit");
	assert_int_equal(I(st, "failed"), 3);
	json_decref(st);
	json_decref(tj);
}

static void test_idempotent(void **state)
{
	static const char *const fixtures[] = {"job_running.json", "job_succeeded.json",
					       "job_failed_backoff.json", "job_suspended.json", NULL};

	(void)state;
	for (int i = 0; fixtures[i]; i++) {
		json_t *tj = load("tj_fraud.json"), *s1 = status_of(tj, fixtures[i], T0), *s2;
		char *d1 = json_dump_canonical(s1), *d2;

		adopt(tj, s1);
		s2 = status_of(tj, fixtures[i], T2);
		d2 = json_dump_canonical(s2);
		assert_string_equal(d1, d2);
		assert_true(cond_status_equal(json_object_get(tj, "status"), s2));
		free(d1);
		free(d2);
		json_decref(s2);
		json_decref(tj);
	}
}

static void test_transition_from_running_to_succeeded(void **state)
{
	json_t *tj = load("tj_fraud.json"), *st;
	const json_t *conds;

	(void)state;
	json_object_del(json_object_get(tj, "spec"), "promote");
	adopt(tj, status_of(tj, "job_running.json", T0));
	st = status_of(tj, "job_succeeded.json", T1);
	conds = json_object_get(st, "conditions");
	assert_string_equal(S(cond_find(conds, "Ready"), "lastTransitionTime"), T1);
	assert_string_equal(S(cond_find(conds, "Running"), "lastTransitionTime"), T1);
	assert_string_equal(S(cond_find(conds, "Created"), "lastTransitionTime"), T0);
	assert_string_equal(S(cond_find(conds, "Failed"), "lastTransitionTime"), T0);
	json_decref(st);
	json_decref(tj);
}

static void test_promotion_once(void **state)
{
	json_t *tj = load("tj_fraud.json"), *md = load("md_fraud.json"), *st, *patch = NULL, *again;

	(void)state;
	st = status_digest(tj, "job_succeeded.json", T1, DIGEST);
	assert_string_equal(S(st, "outputModel.digest"), DIGEST);
	assert_string_equal(tj_output_digest(st), DIGEST);
	assert_string_equal(tj_promotion_target(tj), "fraud");
	assert_true(tj_promotion_pending(tj, st));
	assert_int_equal(tj_promotion(tj, st, md, &patch), 0);
	assert_non_null(patch);
	assert_int_equal(json_object_size(patch), 2);
	assert_string_equal(json_string_value(json_object_get(json_path(patch, "metadata.annotations"),
							      "saqr.dev/promoted-from")),
			    "fraud-train");
	/* spec.model stays Git's: the promoted model is an override on top of it */
	assert_null(json_path(patch, "spec.model"));
	/* unsigned output: the previous model's signature is removed, never kept */
	assert_true(json_is_null(json_path(patch, "spec.modelOverride.model.signature")));
	assert_string_equal(S(patch, "spec.modelOverride.model.uri"),
			    "s3://saqr-models/fraud/1.5.0/model.onnx");
	assert_string_equal(S(patch, "spec.modelOverride.model.version"), "1.5.0");
	/* the pin follows the model */
	assert_string_equal(S(patch, "spec.modelOverride.model.digest"), DIGEST);
	assert_string_equal(S(patch, "spec.modelOverride.model.name"), S(md, "spec.model.name"));
	assert_string_equal(S(patch, "spec.modelOverride.reason"), "Promotion");
	assert_string_equal(S(patch, "spec.modelOverride.source"), "TrainingJob/fraud-train");
	assert_string_equal(S(patch, "spec.modelOverride.base.version"), S(md, "spec.model.version"));
	assert_string_equal(S(patch, "spec.modelOverride.base.uri"), S(md, "spec.model.uri"));
	json_decref(patch);

	/* the PATCH went through */
	assert_int_equal(tj_set_promoted(st, tj, NULL, "ModelDeployment fraud now serves version 1.5.0", T1),
			 0);
	expect_cond(st, "Promoted", "True", "ModelPromoted", "now serves version 1.5.0");
	expect_cond(st, "Ready", "True", "Succeeded", "promoted");
	adopt(tj, st);
	assert_false(tj_promotion_pending(tj, json_object_get(tj, "status")));

	/* the next reconcile (pods not read again): Promoted and the digest carried over, nothing
	 * pending, nothing to write */
	again = load("job_succeeded.json");
	assert_false(tj_output_wanted(tj, again));
	json_decref(again);
	again = status_of(tj, "job_succeeded.json", T2);
	assert_string_equal(S(again, "outputModel.digest"), DIGEST);
	assert_false(tj_promotion_pending(tj, again));
	expect_cond(again, "Promoted", "True", "ModelPromoted", NULL);
	expect_cond(again, "Ready", "True", "Succeeded", NULL);
	assert_true(cond_status_equal(json_object_get(tj, "status"), again));
	json_decref(again);
	json_decref(md);
	json_decref(tj);
}

/* A signed output: the signature is recorded with the digest and goes into spec.model. */
static void test_promotion_signed(void **state)
{
	json_t *tj = load("tj_fraud.json"), *md = load("md_fraud.json"), *job = load("job_succeeded.json");
	json_t *st = NULL, *again, *patch = NULL;
	struct tj_observed obs = {job, NULL, DIGEST, "s3://saqr-models/fraud/1.5.0/model.sig"};

	(void)state;
	assert_int_equal(tj_status(tj, &obs, T1, &st), 0);
	assert_string_equal(S(st, "outputModel.signature"), "s3://saqr-models/fraud/1.5.0/model.sig");
	assert_string_equal(tj_output_signature(st), "s3://saqr-models/fraud/1.5.0/model.sig");
	assert_int_equal(tj_promotion(tj, st, md, &patch), 0);
	assert_string_equal(S(patch, "spec.modelOverride.model.signature"),
			    "s3://saqr-models/fraud/1.5.0/model.sig");
	assert_string_equal(S(patch, "spec.modelOverride.model.digest"), DIGEST);
	json_decref(patch);
	/* recorded: carried over when the pods are not read again */
	json_object_set(tj, "status", st);
	again = status_of(tj, "job_succeeded.json", T2);
	assert_string_equal(S(again, "outputModel.signature"), "s3://saqr-models/fraud/1.5.0/model.sig");
	json_decref(again);
	/* the target serving that model with that signature needs no patch; another signature does */
	json_object_set_new(json_path(md, "spec.model"), "uri",
			    json_string("s3://saqr-models/fraud/1.5.0/model.onnx"));
	json_object_set_new(json_path(md, "spec.model"), "version", json_string("1.5.0"));
	json_object_set_new(json_path(md, "spec.model"), "digest", json_string(DIGEST));
	json_object_set_new(json_path(md, "spec.model"), "signature",
			    json_string("s3://saqr-models/fraud/1.5.0/model.sig"));
	assert_int_equal(tj_promotion(tj, st, md, &patch), 0);
	assert_null(patch);
	json_object_set_new(json_path(md, "spec.model"), "signature",
			    json_string("s3://elsewhere/model.sig"));
	assert_int_equal(tj_promotion(tj, st, md, &patch), 0);
	assert_non_null(patch);
	json_decref(patch);
	json_decref(st);
	json_decref(job);
	json_decref(md);
	json_decref(tj);
}

/* The promoted model in force through spec.modelOverride counts as served: no second patch. */
static void test_promotion_served_by_override(void **state)
{
	json_t *tj = load("tj_fraud.json"), *md = load("md_fraud.json"), *patch = NULL;
	json_t *st = status_digest(tj, "job_succeeded.json", T1, DIGEST);

	(void)state;
	assert_int_equal(tj_promotion(tj, st, md, &patch), 0);
	json_object_set(json_object_get(md, "spec"), "modelOverride", json_path(patch, "spec.modelOverride"));
	json_decref(patch);
	patch = (json_t *)0x1;
	assert_int_equal(tj_promotion(tj, st, md, &patch), 0);
	assert_null(patch);
	/* Git moved spec.model on: the override is stale, the output is promoted again over it */
	json_object_set_new(json_path(md, "spec.model"), "version", json_string("1.6.0"));
	assert_int_equal(tj_promotion(tj, st, md, &patch), 0);
	assert_non_null(patch);
	assert_string_equal(S(patch, "spec.modelOverride.base.version"), "1.6.0");
	json_decref(patch);
	json_decref(st);
	json_decref(md);
	json_decref(tj);
}

static void test_promotion_target_already_serving(void **state)
{
	json_t *tj = load("tj_fraud.json"), *md = load("md_fraud.json"), *patch = (json_t *)0x1;
	json_t *st = status_digest(tj, "job_succeeded.json", T1, DIGEST);

	(void)state;
	json_object_set_new(json_path(md, "spec.model"), "uri",
			    json_string("s3://saqr-models/fraud/1.5.0/model.onnx"));
	json_object_set_new(json_path(md, "spec.model"), "version", json_string("1.5.0"));
	json_object_set_new(json_path(md, "spec.model"), "digest", json_string(DIGEST));
	assert_int_equal(tj_promotion(tj, st, md, &patch), 0);
	assert_null(patch); /* a crash between PATCH and status write does not patch twice */
	/* the same uri and version with another digest is not the same model */
	json_object_set_new(
	    json_path(md, "spec.model"), "digest",
	    json_string("sha256:0000000000000000000000000000000000000000000000000000000000000000"));
	assert_int_equal(tj_promotion(tj, st, md, &patch), 0);
	assert_non_null(patch);
	assert_string_equal(S(patch, "spec.modelOverride.model.digest"), DIGEST);
	json_decref(patch);
	json_decref(st);
	json_decref(md);
	json_decref(tj);
}

static void test_promotion_without_digest(void **state)
{
	json_t *tj = load("tj_fraud.json"), *md = load("md_fraud.json"), *patch = (json_t *)0x1, *st;

	(void)state;
	st = status_of(tj, "job_succeeded.json", T1); /* the trainer reported nothing */
	assert_null(json_path(st, "outputModel.digest"));
	assert_null(tj_output_digest(st));
	assert_true(tj_promotion_pending(tj, st));
	assert_int_equal(tj_promotion(tj, st, md, &patch), SAQR_EEMPTY);
	assert_ptr_equal(patch, (json_t *)0x1);
	assert_int_equal(tj_set_promoted(st, tj, TJ_REASON_DIGEST_MISSING,
					 "the trainer reported no digest of its output", T1),
			 0);
	expect_cond(st, "Promoted", "False", "OutputDigestMissing", "no digest");
	expect_cond(st, "Ready", "False", "PromotionFailed", "no digest");
	adopt(tj, st);
	/* a digest recorded for another output does not carry over */
	json_object_set_new(json_path(tj, "status.outputModel"), "digest", json_string(DIGEST));
	json_object_set_new(json_path(tj, "status.outputModel"), "uri",
			    json_string("s3://saqr-models/old.onnx"));
	st = status_of(tj, "job_succeeded.json", T2);
	assert_null(json_path(st, "outputModel.digest"));
	json_decref(st);
	json_decref(md);
	json_decref(tj);
}

static void test_output_wanted(void **state)
{
	json_t *tj = load("tj_fraud.json"), *done = load("job_succeeded.json"),
	       *running = load("job_running.json");

	(void)state;
	assert_false(tj_output_wanted(tj, NULL));    /* the Job is gone: so are its pods */
	assert_false(tj_output_wanted(tj, running)); /* not complete yet */
	assert_true(tj_output_wanted(tj, done));     /* the success is new */
	adopt(tj, status_of(tj, "job_succeeded.json", T1));
	assert_true(tj_output_wanted(tj, done)); /* no digest, promotion waits */
	json_object_set_new(json_path(tj, "status.outputModel"), "digest", json_string(DIGEST));
	assert_false(tj_output_wanted(tj, done)); /* recorded */
	json_object_del(json_path(tj, "status.outputModel"), "digest");
	json_object_del(json_object_get(tj, "spec"), "promote");
	assert_false(tj_output_wanted(tj, done)); /* read once at the success, without promote */
	json_object_del(json_object_get(tj, "spec"), "output");
	json_object_del(tj, "status");
	assert_false(tj_output_wanted(tj, done)); /* no output */
	json_decref(running);
	json_decref(done);
	json_decref(tj);
}

static void test_promotion_failures(void **state)
{
	json_t *tj = load("tj_fraud.json"), *md = load("md_fraud.json"), *st, *patch = NULL;

	(void)state;
	st = status_digest(tj, "job_succeeded.json", T1, DIGEST);
	assert_int_equal(tj_promotion(tj, st, NULL, &patch), SAQR_ENOTFOUND);
	assert_int_equal(
	    tj_set_promoted(st, tj, "TargetNotFound", "ModelDeployment fraud does not exist in ml", T1), 0);
	expect_cond(st, "Promoted", "False", "TargetNotFound", "does not exist in ml");
	expect_cond(st, "Ready", "False", "PromotionFailed", "promotion into ModelDeployment fraud failed");
	assert_true(tj_promotion_pending(tj, st)); /* retried later */
	/* a reason that is not a valid condition reason falls back to PromotionFailed */
	assert_int_equal(tj_set_promoted(st, tj, "bad reason", "x", T1), 0);
	expect_cond(st, "Promoted", "False", "PromotionFailed", NULL);

	/* a ModelDeployment in another namespace is never the target */
	json_object_set_new(json_object_get(md, "metadata"), "namespace", json_string("other"));
	assert_int_equal(tj_promotion(tj, st, md, &patch), SAQR_EINVAL);
	assert_null(patch);
	json_decref(md);

	/* no promote: nothing pending, nothing to build */
	json_object_del(json_object_get(tj, "spec"), "promote");
	assert_false(tj_promotion_pending(tj, st));
	assert_null(tj_promotion_target(tj));
	assert_int_equal(tj_promotion(tj, st, NULL, &patch), SAQR_EINVAL);
	assert_int_equal(tj_promotion(tj, st, NULL, NULL), SAQR_EINVAL);
	json_decref(st);
	json_decref(tj);
}

static void test_not_pending_while_running(void **state)
{
	json_t *tj = load("tj_fraud.json"), *st = status_of(tj, "job_running.json", T0);

	(void)state;
	assert_false(tj_promotion_pending(tj, st));
	assert_false(tj_finished(st));
	json_decref(st);
	json_decref(tj);
}

static void test_set_promoted_errors(void **state)
{
	json_t *tj = load("tj_fraud.json"), *st = json_object();

	(void)state;
	assert_int_equal(tj_set_promoted(st, tj, NULL, NULL, T1), SAQR_EINVAL); /* no conditions */
	assert_int_equal(json_object_size(st), 0);
	json_object_set_new(st, "conditions", json_array());
	assert_int_equal(tj_set_promoted(st, tj, NULL, NULL, NULL), SAQR_EINVAL);
	assert_int_equal(tj_set_promoted(st, NULL, NULL, NULL, T1), SAQR_EINVAL);
	assert_int_equal(json_array_size(json_object_get(st, "conditions")), 0);
	json_decref(st);
	json_decref(tj);
}

static void test_invalid_and_apply_error(void **state)
{
	json_t *tj = load("tj_fraud.json"), *job = load("job_running.json"), *st = NULL;
	struct tj_observed obs = {
	    job, "Job.batch \"fraud-train\" is invalid: spec.template: field is immutable", NULL, NULL};

	(void)state;
	assert_int_equal(tj_status(tj, &obs, T0, &st), 0);
	expect_cond(st, "Ready", "False", "ApplyFailed", "field is immutable");
	expect_cond(st, "Running", "True", "PodsActive", NULL); /* the old Job still runs */
	json_decref(st);
	json_object_set_new(json_path(tj, "spec.promote"), "modelDeployment", json_string("prod/fraud"));
	assert_int_equal(tj_status(tj, &obs, T0, &st), 0);
	expect_cond(st, "Ready", "False", "InvalidSpec", "own namespace");
	json_decref(st);
	json_decref(job);
	json_decref(tj);
}

static void test_errors(void **state)
{
	json_t *tj = load("tj_fraud.json"), *st = (json_t *)0x1;

	(void)state;
	assert_int_equal(tj_status(NULL, NULL, T0, &st), SAQR_EINVAL);
	assert_int_equal(tj_status(tj, NULL, NULL, &st), SAQR_EINVAL);
	assert_int_equal(tj_status(tj, NULL, T0, NULL), SAQR_EINVAL);
	json_object_del(json_object_get(tj, "metadata"), "name");
	assert_int_equal(tj_status(tj, NULL, T0, &st), SAQR_EINVAL);
	assert_ptr_equal(st, (json_t *)0x1);
	assert_false(tj_finished(NULL));
	json_decref(tj);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_no_job_yet),
	    cmocka_unit_test(test_created_and_running),
	    cmocka_unit_test(test_succeeded),
	    cmocka_unit_test(test_failed_backoff_limit),
	    cmocka_unit_test(test_failed_deadline),
	    cmocka_unit_test(test_suspended),
	    cmocka_unit_test(test_outcome_survives_ttl),
	    cmocka_unit_test(test_idempotent),
	    cmocka_unit_test(test_transition_from_running_to_succeeded),
	    cmocka_unit_test(test_promotion_once),
	    cmocka_unit_test(test_promotion_signed),
	    cmocka_unit_test(test_promotion_served_by_override),
	    cmocka_unit_test(test_promotion_target_already_serving),
	    cmocka_unit_test(test_promotion_without_digest),
	    cmocka_unit_test(test_output_wanted),
	    cmocka_unit_test(test_promotion_failures),
	    cmocka_unit_test(test_not_pending_while_running),
	    cmocka_unit_test(test_set_promoted_errors),
	    cmocka_unit_test(test_invalid_and_apply_error),
	    cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
