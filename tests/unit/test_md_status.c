/* Unit tests for operator/modeldeployment/status.c: ModelDeployment status computed from
 * Deployment objects in the shapes the API server returns (tests/data/operator/deploy_*.json):
 * available, progressing, ProgressDeadlineExceeded, ReplicaFailure (quota), stale generation,
 * canary; idempotence, lastTransitionTime carry-over, currentModel and the bounded history. */
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
#include "operator/modeldeployment/modeldeployment.h"

#define T0 "2024-05-02T08:00:00Z"
#define T1 "2024-05-02T09:30:00Z"
#define S(obj, path) json_path_str((obj), (path), "<missing>")
#define I(obj, path) json_path_int((obj), (path), -12345)
#define URI14 "s3://saqr-models/fraud/1.4.0/model.onnx"
#define URI13 "s3://saqr-models/fraud/1.3.2/model.onnx"

static json_t *load(const char *name)
{
	json_t *v = opfix_load(name);

	assert_non_null(v);
	return v;
}

/* Status of md with the given Deployment fixtures (NULL: absent). */
static json_t *status_of(const json_t *md, const char *dep, const char *canary, const char *now)
{
	json_t *d = dep ? load(dep) : NULL, *c = canary ? load(canary) : NULL, *st = NULL;
	struct md_observed obs = {.deployment = d, .canary = c};

	assert_int_equal(md_status(md, &obs, now, &st), 0);
	assert_non_null(st);
	json_decref(d);
	json_decref(c);
	return st;
}

static const json_t *cond(const json_t *st, const char *type)
{
	const json_t *c = cond_find(json_object_get(st, "conditions"), type);

	if (!c)
		fail_msg("no %s condition in %s", type, opfix_dump(st));
	return c;
}

static void expect_cond(const json_t *st, const char *type, const char *status, const char *reason,
			const char *msg_part)
{
	const json_t *c = cond(st, type);

	assert_string_equal(S(c, "status"), status);
	assert_string_equal(S(c, "reason"), reason);
	if (msg_part && !strstr(S(c, "message"), msg_part))
		fail_msg("%s message \"%s\" lacks \"%s\"", type, S(c, "message"), msg_part);
}

static void adopt_status(json_t *md, json_t *st)
{
	assert_int_equal(json_object_set_new(md, "status", st), 0);
}

static void test_no_deployment_yet(void **state)
{
	json_t *md = load("md_fraud.json");
	json_t *st = status_of(md, NULL, NULL, T0);
	size_t i;
	json_t *c;

	(void)state;
	assert_int_equal(I(st, "observedGeneration"), 3);
	assert_int_equal(I(st, "replicas"), 0);
	assert_int_equal(I(st, "readyReplicas"), 0);
	assert_string_equal(S(st, "url"), "https://fraud.ml.svc:8080");
	assert_null(json_object_get(st, "currentModel"));
	assert_null(json_object_get(st, "history"));
	assert_int_equal(json_array_size(json_object_get(st, "conditions")), 5); /* s3://: saqr-fetch runs */
	assert_string_equal(S(st, "conditions.0.type"), "Ready");		 /* the summary comes first */
	expect_cond(st, "ModelVerified", "Unknown", "Verifying", "fetch and verify model version 1.4.0");
	expect_cond(st, "Ready", "False", "DeploymentNotFound", "Deployment fraud does not exist yet");
	expect_cond(st, "Available", "Unknown", "DeploymentNotFound", NULL);
	expect_cond(st, "Progressing", "True", "RollingOut", NULL);
	expect_cond(st, "Degraded", "False", "AsExpected", NULL);
	json_array_foreach(json_object_get(st, "conditions"), i, c)
	{
		assert_int_equal(I(c, "observedGeneration"), 3);
		assert_string_equal(S(c, "lastTransitionTime"), T0);
	}
	json_decref(st);
	json_decref(md);
}

static void test_just_created(void **state)
{
	json_t *md = load("md_fraud.json");
	json_t *st = status_of(md, "deploy_new.json", NULL, T0);

	(void)state;
	expect_cond(st, "Available", "Unknown", "AwaitingStatus", "has not reported availability");
	expect_cond(st, "Ready", "False", "NotAvailable", "Deployment fraud is not available");
	expect_cond(st, "Progressing", "True", "RollingOut", "to observe its latest spec");
	json_decref(st);
	json_decref(md);
}

static void test_available(void **state)
{
	json_t *md = load("md_fraud.json");
	json_t *st = status_of(md, "deploy_available.json", NULL, T0);
	const json_t *cur, *h;

	(void)state;
	assert_int_equal(I(st, "replicas"), 3);
	assert_int_equal(I(st, "readyReplicas"), 3);
	expect_cond(st, "Ready", "True", "RolloutComplete",
		    "model version 1.4.0 is serving at https://fraud.ml.svc:8080");
	expect_cond(st, "Available", "True", "MinimumReplicasAvailable",
		    "Deployment has minimum availability.");
	expect_cond(st, "Progressing", "False", "NewReplicaSetAvailable", "rolled out model version 1.4.0");
	expect_cond(st, "Degraded", "False", "AsExpected", NULL);
	cur = json_object_get(st, "currentModel");
	assert_int_equal(json_object_size(cur), 3);
	assert_string_equal(S(cur, "version"), "1.4.0");
	assert_string_equal(S(cur, "uri"), URI14);
	assert_string_equal(S(cur, "digest"), S(md, "spec.model.digest"));
	assert_int_equal(json_array_size(json_object_get(st, "history")), 1);
	h = json_path(st, "history.0");
	assert_int_equal(json_object_size(h), 5);
	assert_string_equal(S(h, "version"), "1.4.0");
	assert_string_equal(S(h, "uri"), URI14);
	assert_string_equal(S(h, "digest"), S(md, "spec.model.digest"));
	assert_string_equal(S(h, "format"), "onnx");
	assert_string_equal(S(h, "deployedAt"), T0);
	json_decref(st);
	json_decref(md);
}

/* A status in which 1.3.2 is serving, with that one history entry. */
/* The signature saqr-fetch verifies (its --signature) is part of the model served and recorded. */
static void test_signature_recorded(void **state)
{
	json_t *md = load("md_fraud.json"), *d = load("deploy_available.json"), *st = NULL;
	json_t *init =
	    json_pack("[{s:s, s:s, s:[s, s, s, s]}]", "name", "saqr-fetch", "image", "saqr-fetch", "args",
		      "--digest", "sha256:x", "--signature", "s3://models/fraud/1.4.0/model.sig");
	struct md_observed obs = {.deployment = d};

	(void)state;
	assert_int_equal(json_object_set_new(json_path(d, "spec.template.spec"), "initContainers", init), 0);
	assert_int_equal(md_status(md, &obs, T0, &st), 0);
	assert_string_equal(S(st, "currentModel.signature"), "s3://models/fraud/1.4.0/model.sig");
	assert_string_equal(S(st, "history.0.signature"), "s3://models/fraud/1.4.0/model.sig");
	json_decref(st);
	json_decref(d);
	json_decref(md);
}

static json_t *serving_132(void)
{
	return json_pack("{s:i, s:{s:s, s:s}, s:[{s:s, s:s, s:s, s:s}], s:[]}", "observedGeneration", 2,
			 "currentModel", "version", "1.3.2", "uri", URI13, "history", "version", "1.3.2",
			 "uri", URI13, "format", "onnx", "deployedAt", "2024-04-01T00:00:00Z", "conditions");
}

static void test_progressing_keeps_current_model(void **state)
{
	json_t *md = load("md_fraud.json"), *st;

	(void)state;
	adopt_status(md, serving_132());
	st = status_of(md, "deploy_progressing.json", NULL, T0);
	expect_cond(st, "Ready", "False", "RollingOut", "Deployment fraud: 1 of 3 new replicas updated");
	expect_cond(st, "Progressing", "True", "RollingOut", "1 of 3 new replicas updated");
	expect_cond(st, "Available", "True", "MinimumReplicasAvailable", NULL);
	expect_cond(st, "Degraded", "False", "AsExpected", NULL);
	assert_int_equal(I(st, "replicas"), 4);
	assert_string_equal(S(st, "currentModel.version"), "1.3.2");
	assert_int_equal(json_array_size(json_object_get(st, "history")), 1);
	assert_string_equal(S(st, "history.0.version"), "1.3.2");
	json_decref(st);
	json_decref(md);
}

static void test_progress_deadline_exceeded(void **state)
{
	json_t *md = load("md_fraud.json");
	json_t *st = status_of(md, "deploy_deadline_exceeded.json", NULL, T0);

	(void)state;
	expect_cond(st, "Degraded", "True", "ProgressDeadlineExceeded",
		    "Deployment fraud: ReplicaSet \"fraud-5f7b9c4d8\" has timed out progressing.");
	expect_cond(st, "Progressing", "False", "ProgressDeadlineExceeded", "has timed out progressing");
	expect_cond(st, "Ready", "False", "ProgressDeadlineExceeded", "has timed out progressing");
	expect_cond(st, "Available", "True", "MinimumReplicasAvailable", NULL);
	assert_null(json_object_get(st, "currentModel"));
	json_decref(st);
	json_decref(md);
}

static void test_replica_failure_quota(void **state)
{
	json_t *md = load("md_fraud.json");
	json_t *st = status_of(md, "deploy_replica_failure.json", NULL, T0);

	(void)state;
	expect_cond(st, "Degraded", "True", "FailedCreate", "exceeded quota: ml-quota");
	expect_cond(st, "Ready", "False", "FailedCreate", "is forbidden: exceeded quota");
	expect_cond(st, "Available", "False", "MinimumReplicasUnavailable",
		    "Deployment does not have minimum availability.");
	expect_cond(st, "Progressing", "True", "RollingOut", "0 of 3 new replicas updated");
	assert_int_equal(I(st, "replicas"), 0);
	json_decref(st);
	json_decref(md);
}

static void test_stale_generation_not_ready(void **state)
{
	json_t *md = load("md_fraud.json");
	json_t *st = status_of(md, "deploy_stale_generation.json", NULL, T0);

	(void)state;
	expect_cond(st, "Ready", "False", "RollingOut",
		    "waiting for Deployment fraud to observe its latest spec");
	assert_null(json_object_get(st, "currentModel"));
	json_decref(st);
	json_decref(md);
}

static void test_deployment_still_on_old_model(void **state)
{
	json_t *md = load("md_fraud.json");
	json_t *st = status_of(md, "deploy_available_old_model.json", NULL, T0);

	(void)state;
	/* the old model is fully rolled out and serving: it is current, but md is not Ready */
	expect_cond(st, "Ready", "False", "RollingOut",
		    "waiting for Deployment fraud to run model version 1.4.0");
	expect_cond(st, "Progressing", "True", "RollingOut", NULL);
	assert_string_equal(S(st, "currentModel.version"), "1.3.2");
	assert_string_equal(S(st, "currentModel.uri"), URI13);
	assert_string_equal(S(st, "history.0.version"), "1.3.2");
	json_decref(st);
	json_decref(md);
}

static void test_idempotent_byte_identical(void **state)
{
	json_t *md = load("md_fraud.json"), *s1, *s2;
	char *d1, *d2;

	(void)state;
	s1 = status_of(md, "deploy_available.json", NULL, T0);
	d1 = json_dump_canonical(s1);
	adopt_status(md, s1);
	s2 = status_of(md, "deploy_available.json", NULL, T1); /* later, nothing changed */
	d2 = json_dump_canonical(s2);
	assert_string_equal(d1, d2);
	assert_true(cond_status_equal(json_object_get(md, "status"), s2));
	assert_string_equal(S(cond(s2, "Ready"), "lastTransitionTime"), T0);
	assert_string_equal(S(s2, "history.0.deployedAt"), T0);
	assert_int_equal(json_array_size(json_object_get(s2, "history")), 1);
	/* the new status shares nothing with the old one */
	json_object_set_new(json_path(s2, "history.0"), "version", json_string("edited"));
	json_object_set_new(json_path(s2, "currentModel"), "version", json_string("edited"));
	assert_string_equal(S(md, "status.history.0.version"), "1.4.0");
	assert_string_equal(S(md, "status.currentModel.version"), "1.4.0");
	free(d1);
	free(d2);
	json_decref(s2);
	json_decref(md);
}

static void test_transition_times_per_condition(void **state)
{
	json_t *md = load("md_fraud.json"), *s1, *s2;

	(void)state;
	s1 = status_of(md, "deploy_progressing.json", NULL, T0);
	adopt_status(md, s1);
	s2 = status_of(md, "deploy_available.json", NULL, T1);
	assert_false(cond_status_equal(s1, s2));
	/* Ready and Progressing flipped; Available and Degraded did not */
	assert_string_equal(S(cond(s2, "Ready"), "lastTransitionTime"), T1);
	assert_string_equal(S(cond(s2, "Progressing"), "lastTransitionTime"), T1);
	assert_string_equal(S(cond(s2, "Available"), "lastTransitionTime"), T0);
	assert_string_equal(S(cond(s2, "Degraded"), "lastTransitionTime"), T0);
	assert_string_equal(S(s2, "history.0.deployedAt"), T1);
	json_decref(s2);
	json_decref(md);
}

static void test_history_capped_at_ten(void **state)
{
	json_t *md = load("md_fraud.json"), *prev = json_object(), *hist = json_array(), *st;
	char v[16], uri[64];

	(void)state;
	for (int i = 12; i >= 1; i--) { /* 12 entries, newest first: more than the cap */
		snprintf(v, sizeof(v), "0.%d.0", i);
		snprintf(uri, sizeof(uri), "s3://saqr-models/fraud/0.%d.0/", i);
		json_array_append_new(
		    hist, json_pack("{s:s, s:s, s:s}", "version", v, "uri", uri, "deployedAt", T0));
	}
	json_object_set_new(
	    prev, "currentModel",
	    json_pack("{s:s, s:s}", "version", "0.12.0", "uri", "s3://saqr-models/fraud/0.12.0/"));
	json_object_set_new(prev, "history", hist);
	adopt_status(md, prev);
	st = status_of(md, "deploy_available.json", NULL, T1);
	hist = json_object_get(st, "history");
	assert_int_equal(json_array_size(hist), MD_HISTORY_MAX);
	assert_string_equal(S(hist, "0.version"), "1.4.0");
	assert_string_equal(S(hist, "0.deployedAt"), T1);
	assert_string_equal(S(hist, "1.version"), "0.12.0");
	assert_string_equal(S(hist, "9.version"), "0.4.0");
	json_decref(st);
	/* unchanged model: the over-long history is still cut to the cap */
	st = status_of(md, "deploy_available.json", NULL, T1);
	json_decref(st);
	json_object_set_new(json_object_get(md, "status"), "currentModel",
			    json_pack("{s:s, s:s, s:s}", "version", "1.4.0", "uri", URI14, "digest",
				      S(md, "spec.model.digest")));
	st = status_of(md, "deploy_available.json", NULL, T1);
	assert_int_equal(json_array_size(json_object_get(st, "history")), MD_HISTORY_MAX);
	assert_string_equal(S(st, "history.0.version"), "0.12.0");
	json_decref(st);
	json_decref(md);
}

static void test_rollback_moves_entry_to_front(void **state)
{
	json_t *md = load("md_fraud.json"), *prev, *st, *hist;

	(void)state;
	prev =
	    json_pack("{s:{s:s, s:s, s:s}, s:[{s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s}, {s:s, s:s, s:s}]}",
		      "currentModel", "version", "1.4.0", "uri", URI14, "digest", S(md, "spec.model.digest"),
		      "history", "version", "1.4.0", "uri", URI14, "digest", S(md, "spec.model.digest"),
		      "deployedAt", "2024-05-01T00:00:00Z", "version", "1.3.2", "uri", URI13, "digest",
		      "sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", "deployedAt",
		      "2024-04-01T00:00:00Z", "version", "1.2.0", "uri", "s3://saqr-models/fraud/1.2.0/",
		      "deployedAt", "2024-03-01T00:00:00Z");
	adopt_status(md, prev);
	/* roll back: the spec and the Deployment now carry 1.3.2 */
	json_object_set_new(json_path(md, "spec.model"), "version", json_string("1.3.2"));
	json_object_set_new(json_path(md, "spec.model"), "uri", json_string(URI13));
	json_object_set_new(
	    json_path(md, "spec.model"), "digest",
	    json_string("sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"));
	st = status_of(md, "deploy_available_old_model.json", NULL, T1);
	expect_cond(st, "Ready", "True", "RolloutComplete", "1.3.2");
	hist = json_object_get(st, "history");
	assert_int_equal(json_array_size(hist), 3);
	assert_string_equal(S(hist, "0.version"), "1.3.2");
	assert_string_equal(S(hist, "0.deployedAt"), T1);
	assert_string_equal(S(hist, "1.version"), "1.4.0");
	assert_string_equal(S(hist, "2.version"), "1.2.0");
	assert_string_equal(S(st, "currentModel.version"), "1.3.2");
	json_decref(st);
	json_decref(md);
}

static void test_canary(void **state)
{
	json_t *md = load("md_ranker_canary.json"), *st;

	(void)state;
	st = status_of(md, "deploy_ranker_available.json", NULL, T0);
	expect_cond(st, "Ready", "False", "RollingOut", "Deployment ranker-canary does not exist yet");
	assert_string_equal(S(st, "url"), "ranker.search.svc:9000");
	assert_string_equal(S(st, "currentModel.version"), "2.0.0"); /* the primary's model */
	json_decref(st);

	st = status_of(md, "deploy_ranker_available.json", "deploy_ranker_canary_available.json", T0);
	expect_cond(st, "Ready", "True", "RolloutComplete", "2.0.0");
	assert_int_equal(I(st, "replicas"), 6);
	assert_int_equal(I(st, "readyReplicas"), 6);
	assert_string_equal(S(st, "currentModel.version"), "2.0.0");
	assert_null(json_path(st, "currentModel.digest"));
	json_decref(st);

	st = status_of(md, "deploy_ranker_available.json", "deploy_ranker_canary_deadline.json", T0);
	expect_cond(st, "Degraded", "True", "ProgressDeadlineExceeded",
		    "canary Deployment ranker-canary: ReplicaSet");
	expect_cond(st, "Progressing", "False", "ProgressDeadlineExceeded", "ranker-canary-6c8d7f9b5");
	expect_cond(st, "Ready", "False", "ProgressDeadlineExceeded", NULL);
	expect_cond(st, "Available", "True", "MinimumReplicasAvailable", NULL); /* the primary serves */
	json_decref(st);
	json_decref(md);
}

static void test_invalid_spec(void **state)
{
	json_t *md = load("md_fraud.json"), *st;

	(void)state;
	json_object_set_new(json_object_get(md, "spec"), "replicas", json_integer(1));
	json_object_set_new(json_object_get(md, "spec"), "canary",
			    json_pack("{s:{s:s}, s:i}", "model", "uri", "s3://x/", "weight", 10));
	st = status_of(md, "deploy_available.json", NULL, T0);
	expect_cond(st, "Ready", "False", "InvalidSpec", "raise spec.replicas");
	expect_cond(st, "Degraded", "True", "InvalidSpec", "canary needs 2 or more replicas");
	json_decref(st);
	json_decref(md);
}

static void test_apply_error(void **state)
{
	json_t *md = load("md_fraud.json"), *dep = load("deploy_available.json"), *st = NULL;
	struct md_observed obs = {.deployment = dep,
				  .apply_error = "Deployment.apps \"fraud\" is invalid: "
						 "spec.template.spec.containers[0].image: Required value"};

	(void)state;
	assert_int_equal(md_status(md, &obs, T0, &st), 0);
	expect_cond(st, "Ready", "False", "ApplyFailed",
		    "spec.template.spec.containers[0].image: Required value");
	expect_cond(st, "Degraded", "True", "ApplyFailed", "is invalid");
	json_decref(st);
	json_decref(dep);
	json_decref(md);
}

static void test_errors(void **state)
{
	json_t *md = load("md_fraud.json"), *st = (json_t *)0x1;

	(void)state;
	assert_int_equal(md_status(NULL, NULL, T0, &st), SAQR_EINVAL);
	assert_int_equal(md_status(md, NULL, NULL, &st), SAQR_EINVAL);
	assert_int_equal(md_status(md, NULL, T0, NULL), SAQR_EINVAL);
	json_object_del(json_object_get(md, "metadata"), "name");
	assert_int_equal(md_status(md, NULL, T0, &st), SAQR_EINVAL);
	assert_ptr_equal(st, (json_t *)0x1); /* untouched on error */
	json_decref(md);
}

/* ---- ModelVerified (saqr-fetch) ---- */

/* A pod of the fraud model 1.4.0 (or another version) whose saqr-fetch container is in state. */
static json_t *fetch_pod(const char *name, const char *version, const char *state, json_t *terminated)
{
	json_t *md = load("md_fraud.json");
	json_t *pod = json_pack("{s:{s:s, s:{s:s, s:s}}, s:{s:[{s:s, s:{s:o}}]}}", "metadata", "name", name,
				"annotations", "saqr.dev/model-version", version, "saqr.dev/model-digest",
				S(md, "spec.model.digest"), "status", "initContainerStatuses", "name",
				"saqr-fetch", state, "terminated", terminated);

	assert_non_null(pod);
	json_decref(md);
	return pod;
}

static void test_fetch_result(void **state)
{
	char reason[64], msg[256];
	json_t *pod;

	(void)state;
	pod = fetch_pod(
	    "p", "1.4.0", "state",
	    json_pack("{s:i, s:s}", "exitCode", 3, "message",
		      "{\"reason\":\"DigestMismatch\",\"message\":\"model digest is sha256:00, want "
		      "sha256:3f\",\"files\":1}"));
	assert_true(md_fetch_result(pod, reason, sizeof(reason), msg, sizeof(msg)));
	assert_string_equal(reason, "DigestMismatch");
	assert_string_equal(msg, "model digest is sha256:00, want sha256:3f");
	json_decref(pod);
	/* restarting after a failure: the last termination; a message that is not JSON */
	pod = fetch_pod("p", "1.4.0", "lastState",
			json_pack("{s:i, s:s}", "exitCode", 2, "message", "bad flags"));
	assert_true(md_fetch_result(pod, reason, sizeof(reason), msg, sizeof(msg)));
	assert_string_equal(reason, "FetchFailed");
	assert_string_equal(msg, "saqr-fetch exited with code 2: bad flags");
	json_decref(pod);
	/* an unknown reason is not trusted; exit 0 without a message is a verified model */
	pod = fetch_pod("p", "1.4.0", "state",
			json_pack("{s:i, s:s}", "exitCode", 0, "message", "{\"reason\":\"Whatever\"}"));
	assert_true(md_fetch_result(pod, reason, sizeof(reason), msg, sizeof(msg)));
	assert_string_equal(reason, "ModelVerified");
	json_decref(pod);
	/* still running, or no saqr-fetch */
	pod = fetch_pod("p", "1.4.0", "running", json_object());
	assert_false(md_fetch_result(pod, reason, sizeof(reason), msg, sizeof(msg)));
	json_decref(pod);
	assert_false(md_fetch_result(NULL, reason, sizeof(reason), msg, sizeof(msg)));
}

static void test_model_verified(void **state)
{
	json_t *md = load("md_fraud.json"), *dep = load("deploy_progressing.json"), *pods, *st = NULL;
	struct md_observed obs = {.deployment = dep};

	(void)state;
	/* from the Deployment alone: rolled out means every pod passed saqr-fetch */
	st = status_of(md, "deploy_available.json", NULL, T0);
	expect_cond(st, "ModelVerified", "True", "ModelVerified",
		    "verified model version 1.4.0 (digest sha256:3f");
	json_decref(st);
	/* a signed model: the message names the signature verified too */
	json_object_set_new(json_path(md, "spec.model"), "signature", json_string("s3://m/1.4.0/model.sig"));
	st = status_of(md, "deploy_available.json", NULL, T0);
	expect_cond(st, "ModelVerified", "True", "ModelVerified", ", signature s3://m/1.4.0/model.sig)");
	json_object_del(json_path(md, "spec.model"), "signature");
	json_decref(st);
	st = status_of(md, "deploy_deadline_exceeded.json", NULL, T0);
	expect_cond(st, "ModelVerified", "Unknown", "ProgressDeadlineExceeded", "-c saqr-fetch");
	json_decref(st);
	/* a pod of the spec's model refused it (a pod of an older model is not counted) */
	pods = json_pack(
	    "[o, o]",
	    fetch_pod("old", "1.3.2", "state",
		      json_pack("{s:i, s:s}", "exitCode", 4, "message", "{\"reason\":\"SignatureInvalid\"}")),
	    fetch_pod("fraud-abc", "1.4.0", "lastState",
		      json_pack("{s:i, s:s}", "exitCode", 3, "message",
				"{\"reason\":\"DigestMismatch\",\"message\":\"digest differs\"}")));
	obs.pods = pods;
	assert_int_equal(md_status(md, &obs, T0, &st), 0);
	expect_cond(st, "ModelVerified", "False", "DigestMismatch", "pod fraud-abc: digest differs");
	json_decref(st);
	json_decref(pods);
	/* no saqr-fetch (gs://, or fetch off): no condition */
	json_object_set_new(json_path(md, "spec.model"), "uri", json_string("gs://m/model.onnx"));
	st = status_of(md, "deploy_available.json", NULL, T0);
	assert_null(cond_find(json_object_get(st, "conditions"), "ModelVerified"));
	json_decref(st);
	json_decref(dep);
	json_decref(md);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_no_deployment_yet),
	    cmocka_unit_test(test_just_created),
	    cmocka_unit_test(test_available),
	    cmocka_unit_test(test_signature_recorded),
	    cmocka_unit_test(test_progressing_keeps_current_model),
	    cmocka_unit_test(test_progress_deadline_exceeded),
	    cmocka_unit_test(test_replica_failure_quota),
	    cmocka_unit_test(test_stale_generation_not_ready),
	    cmocka_unit_test(test_deployment_still_on_old_model),
	    cmocka_unit_test(test_idempotent_byte_identical),
	    cmocka_unit_test(test_transition_times_per_condition),
	    cmocka_unit_test(test_history_capped_at_ten),
	    cmocka_unit_test(test_rollback_moves_entry_to_front),
	    cmocka_unit_test(test_canary),
	    cmocka_unit_test(test_invalid_spec),
	    cmocka_unit_test(test_apply_error),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_fetch_result),
	    cmocka_unit_test(test_model_verified),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
