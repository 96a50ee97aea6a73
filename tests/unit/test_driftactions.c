/* Unit tests for operator/driftpolicy/driftactions.c: incident settings, the retraining TrainingJob
 * (naming, ownership, at most one running), rollback decisions and patches, sink credentials
 * and URLs, notification events and what a delivery changes in status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "operator/driftpolicy/driftactions.h"
#include "operator/driftpolicy/drifteval.h"
#include "../support/kubetest.h"

static json_t *load_json(const char *name)
{
	char path[256];
	char *text;
	json_t *v;

	snprintf(path, sizeof(path), "tests/data/driftpolicy/%s", name);
	text = kubetest_read(path, NULL);
	assert_non_null(text);
	v = json_loads(text, 0, NULL);
	free(text);
	assert_non_null(v);
	return v;
}

/* A TrainingJob named name, controlled by owner_uid (NULL: none), finished or not. */
static json_t *tj(const char *name, const char *owner_uid, bool finished)
{
	json_t *t =
	    json_pack("{s:{s:s, s:[]}, s:{s:[{s:s, s:s}]}}", "metadata", "name", name, "ownerReferences",
		      "status", "conditions", "type", "Succeeded", "status", finished ? "True" : "False");

	if (owner_uid)
		json_array_append_new(json_path(t, "metadata.ownerReferences"),
				      json_pack("{s:s, s:s, s:s, s:b}", "kind", "DriftPolicy", "name",
						"fraud-drift", "uid", owner_uid, "controller", 1));
	return t;
}

static const char *dp_uid = "0f6e7a3c-4a55-4f7e-9a51-0d3c2b1a9e01";

static void test_incident_settings(void **state)
{
	json_t *dp = load_json("dp_scrape.json");
	struct driftactions_incident inc;

	(void)state;
	driftactions_incident_cfg(dp, &inc);
	assert_string_equal(inc.cfg.policy_name, "fraud-drift");
	assert_int_equal(inc.cfg.cooldown_seconds, 3600);
	assert_int_equal(inc.cfg.nsinks, 4);
	assert_string_equal(inc.cfg.sink_types[2], "servicenow");
	assert_true(inc.cfg.retrain);
	assert_true(inc.cfg.rollback);
	json_object_set_new(json_path(dp, "spec.actions"), "cooldown", json_string("90m"));
	json_object_del(json_path(dp, "spec.actions"), "retrain");
	driftactions_incident_cfg(dp, &inc);
	assert_int_equal(inc.cfg.cooldown_seconds, 5400);
	assert_false(inc.cfg.retrain);
	json_decref(dp);
}

/* An evaluation that shows exactly the breach named by reason ("" shows none). */
static struct drifteval_result breach(const char *reason)
{
	struct drifteval_result r;

	memset(&r, 0, sizeof(r));
	r.drift = strcmp(reason, "DriftDetected") == 0;
	r.quality_breach = strcmp(reason, "QualitySLO") == 0;
	r.latency_breach = strcmp(reason, "LatencySLO") == 0;
	r.error_breach = strcmp(reason, "ErrorRateSLO") == 0;
	r.slo_breach = r.quality_breach || r.latency_breach || r.error_breach;
	return r;
}

static bool due(const json_t *dp, const char *reason)
{
	struct drifteval_result r = breach(reason);

	return driftactions_retrain_due(dp, &r);
}

static void test_retrain_on_default(void **state)
{
	json_t *dp = load_json("dp_scrape.json");

	(void)state;
	/* without spec.actions.retrain.on: drift and quality, never latency or errors */
	assert_true(due(dp, "DriftDetected"));
	assert_true(due(dp, "QualitySLO"));
	assert_false(due(dp, "LatencySLO"));
	assert_false(due(dp, "ErrorRateSLO"));
	assert_false(due(dp, ""));
	assert_false(driftactions_retrain_due(dp, NULL));
	json_object_del(json_path(dp, "spec.actions"), "retrain");
	assert_false(due(dp, "DriftDetected"));
	json_decref(dp);
}

static void test_retrain_on_each_reason(void **state)
{
	static const char *const reasons[] = {"DriftDetected", "QualitySLO", "LatencySLO", "ErrorRateSLO"};
	json_t *dp = load_json("dp_scrape.json");
	json_t *retrain = json_path(dp, "spec.actions.retrain");

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		json_object_set_new(retrain, "on", json_pack("[s]", reasons[i]));
		for (size_t j = 0; j < 4; j++)
			assert_int_equal(due(dp, reasons[j]), i == j);
		assert_false(due(dp, ""));
	}
	json_object_set_new(retrain, "on", json_pack("[s, s]", "LatencySLO", "ErrorRateSLO"));
	assert_false(due(dp, "DriftDetected"));
	assert_true(due(dp, "LatencySLO"));
	assert_true(due(dp, "ErrorRateSLO"));
	/* an empty list (the CRD refuses it) or unknown names retrain on nothing */
	json_object_set_new(retrain, "on", json_pack("[s, i]", "Unknown", 3));
	assert_false(due(dp, "DriftDetected"));
	json_object_set_new(retrain, "on", json_array());
	assert_false(due(dp, "QualitySLO"));
	json_decref(dp);
}

static void test_retrain_at_most_one_running(void **state)
{
	json_t *dp = load_json("dp_scrape.json");
	json_t *tjs = json_pack("[o, o, o]", tj("fraud-drift-retrain-1", dp_uid, true),
				tj("other", NULL, false), tj("someone-elses", "another-uid", false));
	json_t *failed;

	(void)state;
	/* finished or not ours: nothing running */
	assert_null(driftactions_running_retrain(dp, tjs));
	/* a failed one has finished too (tj_finished, the TrainingJob controller's rule) */
	failed = tj("fraud-drift-retrain-0", dp_uid, false);
	json_object_set_new(json_path(failed, "status.conditions.0"), "type", json_string("Failed"));
	json_object_set_new(json_path(failed, "status.conditions.0"), "status", json_string("True"));
	json_array_append_new(tjs, failed);
	assert_null(driftactions_running_retrain(dp, tjs));
	json_array_remove(tjs, 3);
	json_array_append_new(tjs, tj("fraud-drift-retrain-2", dp_uid, false));
	assert_string_equal(driftactions_running_retrain(dp, tjs), "fraud-drift-retrain-2");
	json_object_set_new(json_path(json_array_get(tjs, 3), "metadata"), "annotations",
			    json_pack("{s:s}", DRIFTACTIONS_ANN_INCIDENT, "fraud-drift-20260110-100000"));
	assert_string_equal(driftactions_retrain_for(dp, tjs, "fraud-drift-20260110-100000"),
			    "fraud-drift-retrain-2");
	assert_null(driftactions_retrain_for(dp, tjs, "fraud-drift-20260110-110000"));
	json_decref(tjs);
	json_decref(dp);
}

static void test_retrain_object(void **state)
{
	json_t *dp = load_json("dp_scrape.json");
	json_t *tjs = json_pack("[o, o]", tj("fraud-drift-retrain-1", dp_uid, true),
				tj("fraud-drift-retrain-2", NULL, true));
	json_t *obj = NULL;

	(void)state;
	json_object_set_new(json_path(dp, "metadata"), "labels",
			    json_pack("{s:s, s:s, s:s}", "saqr.dev/data-classification", "confidential",
				      "saqr.dev/owner", "risk-ml", "team", "payments"));
	json_object_set_new(
	    json_path(dp, "metadata"), "annotations",
	    json_pack("{s:s, s:s}", "saqr.dev/break-glass", "{}", "saqr.dev/retention", "P1Y"));
	assert_int_equal(driftactions_retrain_object(dp, tjs, "inc-1", &obj), 0);
	/* the DriftPolicy's saqr.dev/ keys, as its admission judged the template; not its break-glass */
	{
		const json_t *l = json_path(obj, "metadata.labels"),
			     *a = json_path(obj, "metadata.annotations");

		assert_string_equal(json_string_value(json_object_get(l, "saqr.dev/owner")), "risk-ml");
		assert_string_equal(json_string_value(json_object_get(l, "saqr.dev/data-classification")),
				    "confidential");
		assert_null(json_object_get(l, "team"));
		assert_string_equal(json_string_value(json_object_get(a, "saqr.dev/retention")), "P1Y");
		assert_null(json_object_get(a, "saqr.dev/break-glass"));
	}
	/* one owned job: n = 2, but that name is taken (not ours): 3 */
	assert_string_equal(json_path_str(obj, "metadata.name", ""), "fraud-drift-retrain-3");
	assert_string_equal(json_path_str(obj, "metadata.namespace", ""), "payments");
	assert_string_equal(json_path_str(obj, "kind", ""), "TrainingJob");
	assert_string_equal(json_path_str(obj, "metadata.ownerReferences.0.uid", ""), dp_uid);
	assert_true(json_path_bool(obj, "metadata.ownerReferences.0.controller", false, NULL));
	assert_string_equal(
	    json_string_value(json_object_get(json_path(obj, "metadata.labels"), DRIFTACTIONS_LABEL_POLICY)),
	    "fraud-drift");
	assert_string_equal(json_string_value(json_object_get(json_path(obj, "metadata.annotations"),
							      DRIFTACTIONS_ANN_INCIDENT)),
			    "inc-1");
	assert_true(json_same(json_object_get(obj, "spec"), json_path(dp, "spec.actions.retrain.template")));
	json_decref(obj);
	/* the policy's compliance labels and annotations travel to the TrainingJob (and so to its
	 * pods); other labels do not */
	json_object_set_new(json_path(dp, "metadata"), "labels",
			    json_pack("{s:s, s:s, s:s, s:s}", "saqr.dev/data-residency", "uae",
				      "saqr.dev/owner", "payments-ml", "saqr.dev/data-classification",
				      "confidential", "team", "x"));
	json_object_set_new(json_path(dp, "metadata"), "annotations",
			    json_pack("{s:s}", "saqr.dev/retention", "P30D"));
	assert_int_equal(driftactions_retrain_object(dp, tjs, "inc-1", &obj), 0);
	assert_string_equal(
	    json_string_value(json_object_get(json_path(obj, "metadata.labels"), "saqr.dev/owner")),
	    "payments-ml");
	assert_string_equal(json_string_value(json_object_get(json_path(obj, "metadata.labels"),
							      "saqr.dev/data-classification")),
			    "confidential");
	assert_null(json_object_get(json_path(obj, "metadata.labels"), "team"));
	assert_string_equal(
	    json_string_value(json_object_get(json_path(obj, "metadata.annotations"), "saqr.dev/retention")),
	    "P30D");
	assert_string_equal(json_string_value(json_object_get(json_path(obj, "metadata.annotations"),
							      DRIFTACTIONS_ANN_INCIDENT)),
			    "inc-1");
	json_decref(obj);
	/* no template */
	json_object_del(json_path(dp, "spec.actions"), "retrain");
	assert_int_equal(driftactions_retrain_object(dp, tjs, "inc-1", &obj), SAQR_EINVAL);
	json_decref(tjs);
	json_decref(dp);
}

static void test_rollback_target(void **state)
{
	json_t *md = load_json("md_history.json"), *spec_model = json_path(md, "spec.model");
	const json_t *t;

	(void)state;
	/* serving history[0]: back to history[1] */
	t = driftactions_rollback_target(md);
	assert_non_null(t);
	assert_string_equal(json_path_str(t, "version", ""), "v2");
	/* a new model not rolled out yet: back to the last one that served */
	json_object_set_new(spec_model, "version", json_string("v4"));
	json_object_set_new(spec_model, "uri", json_string("s3://models/fraud/v4"));
	t = driftactions_rollback_target(md);
	assert_string_equal(json_path_str(t, "version", ""), "v3");
	/* nothing earlier */
	json_array_remove(json_path(md, "status.history"), 1);
	json_object_set_new(spec_model, "version", json_string("v3"));
	json_object_set_new(spec_model, "uri", json_string("s3://models/fraud/v3"));
	assert_null(driftactions_rollback_target(md));
	json_object_del(md, "status");
	assert_null(driftactions_rollback_target(md));
	json_decref(md);
}

/* After a rollback (an override in force on top of spec.model), the next rollback goes back from
 * the model in force, not from spec.model. */
static void test_rollback_target_under_override(void **state)
{
	json_t *md = load_json("md_history.json"), *patch = NULL;
	const json_t *t;

	(void)state;
	json_array_append_new(json_path(md, "status.history"),
			      json_pack("{s:s, s:s, s:s}", "version", "v1", "uri", "s3://models/fraud/v1",
					"deployedAt", "2025-11-01T08:00:00Z"));
	t = driftactions_rollback_target(md);
	assert_int_equal(driftactions_rollback_patch(md, t, "inc-1", &patch), 0);
	json_object_set(json_object_get(md, "spec"), "modelOverride", json_path(patch, "spec.modelOverride"));
	json_decref(patch);
	/* v2 in force now: the newest history entry that is not v2 is v3 */
	t = driftactions_rollback_target(md);
	assert_string_equal(json_path_str(t, "version", ""), "v3");
	json_decref(md);
}

/* A signed entry: the rollback restores its signature with the model. */
static void test_rollback_restores_signature(void **state)
{
	json_t *entry =
	    json_pack("{s:s, s:s, s:s, s:s}", "version", "v2", "uri", "s3://models/fraud/v2", "digest",
		      "sha256:2222222222222222222222222222222222222222222222222222222222222222", "signature",
		      "s3://models/fraud/v2.sig");
	json_t *md = load_json("md_history.json"), *patch = NULL;

	(void)state;
	assert_int_equal(driftactions_rollback_patch(md, entry, "inc-8", &patch), 0);
	assert_string_equal(json_path_str(patch, "spec.modelOverride.model.signature", ""),
			    "s3://models/fraud/v2.sig");
	/* name and format were not in the entry: spec.model's */
	assert_string_equal(json_path_str(patch, "spec.modelOverride.model.name", ""), "fraud-detector");
	assert_string_equal(json_path_str(patch, "spec.modelOverride.model.format", ""), "onnx");
	json_decref(patch);
	json_decref(entry);
	json_decref(md);
}

static void test_rollback_patch_and_marker(void **state)
{
	json_t *md = load_json("md_history.json"), *patch = NULL;
	const json_t *t = driftactions_rollback_target(md);
	char label[128];

	(void)state;
	assert_int_equal(driftactions_rollback_patch(md, t, "inc-7", &patch), 0);
	/* spec.model stays Git's: the rollback is an override on top of it */
	assert_null(json_path(patch, "spec.model"));
	assert_string_equal(json_path_str(patch, "spec.modelOverride.model.version", ""), "v2");
	assert_string_equal(json_path_str(patch, "spec.modelOverride.model.uri", ""), "s3://models/fraud/v2");
	/* v2 had no digest: removed from the override */
	assert_true(json_is_null(json_path(patch, "spec.modelOverride.model.digest")));
	/* nor a signature: the current model's must not stay on v2 */
	assert_true(json_is_null(json_path(patch, "spec.modelOverride.model.signature")));
	assert_string_equal(json_path_str(patch, "spec.modelOverride.model.format", ""), "onnx");
	assert_string_equal(json_path_str(patch, "spec.modelOverride.reason", ""), "Rollback");
	assert_string_equal(json_path_str(patch, "spec.modelOverride.source", ""), "incident inc-7");
	assert_string_equal(json_path_str(patch, "spec.modelOverride.base.version", ""), "v3");
	assert_string_equal(json_path_str(patch, "spec.modelOverride.base.uri", ""), "s3://models/fraud/v3");
	assert_string_equal(json_string_value(json_object_get(json_path(patch, "metadata.annotations"),
							      DRIFTACTIONS_ANN_ROLLED_BACK_FOR)),
			    "inc-7");
	driftactions_model_label(t, label, sizeof(label));
	assert_string_equal(label, "v2 (s3://models/fraud/v2)");
	assert_false(driftactions_rolled_back_for(md, "inc-7"));
	json_object_set_new(json_object_get(md, "metadata"), "annotations",
			    json_deep_copy(json_path(patch, "metadata.annotations")));
	assert_true(driftactions_rolled_back_for(md, "inc-7"));
	assert_false(driftactions_rolled_back_for(md, "inc-8"));
	json_decref(patch);
	json_decref(md);
}

static void test_secret_values(void **state)
{
	/* token "t0k\n" (a file with a newline), hmacKey "key", routingKey not base64 */
	json_t *s = json_pack("{s:{s:s, s:s}}", "data", "token", "dDBrCg==", "hmacKey", "a2V5");
	struct driftactions_secret sec;
	char *v = NULL;

	(void)state;
	assert_int_equal(driftactions_secret_decode(s, &sec), 0);
	assert_string_equal(sec.token, "t0k");
	assert_string_equal(sec.hmac_key, "key");
	assert_null(sec.username);
	driftactions_secret_release(&sec);
	driftactions_secret_release(NULL);
	assert_int_equal(driftactions_secret_value(s, "hmacKey", &v), 0);
	assert_string_equal(v, "key");
	free(v);
	assert_int_equal(driftactions_secret_value(s, "absent", &v), 0);
	assert_null(v);
	json_object_set_new(json_object_get(s, "data"), "routingKey", json_string("not base64!"));
	assert_int_equal(driftactions_secret_decode(s, &sec), SAQR_EINVAL);
	assert_int_equal(driftactions_secret_decode(NULL, &sec), 0);
	assert_null(sec.token);
	json_decref(s);
}

static void test_sinks(void **state)
{
	json_t *dp = load_json("dp_scrape.json"), *pd = json_path(dp, "spec.actions.alert.sinks.3");
	struct driftactions_secret sec = {.routing_key = "R", .username = "u", .password = "p"};
	struct driftactions_sink s;

	(void)state;
	assert_int_equal(driftactions_sink(dp, 3, &sec, &s), 0);
	assert_int_equal(s.sink.type, NOTIFY_PAGERDUTY);
	assert_string_equal(s.sink.url, DRIFTACTIONS_PAGERDUTY_URL);
	assert_string_equal(s.sink.routing_key, "R");
	json_object_set_new(pd, "url", json_string("https://events.eu.pagerduty.com"));
	assert_int_equal(driftactions_sink(dp, 3, &sec, &s), 0);
	assert_string_equal(s.sink.url, "https://events.eu.pagerduty.com/v2/enqueue");
	json_object_set_new(pd, "url", json_string("http://127.0.0.1:9/"));
	assert_int_equal(driftactions_sink(dp, 3, &sec, &s), 0);
	assert_string_equal(s.sink.url, "http://127.0.0.1:9/v2/enqueue");
	json_object_set_new(pd, "url", json_string("http://proxy/pd/enqueue"));
	assert_int_equal(driftactions_sink(dp, 3, &sec, &s), 0);
	assert_string_equal(s.sink.url, "http://proxy/pd/enqueue");
	assert_int_equal(driftactions_sink(dp, 2, &sec, &s), 0);
	assert_int_equal(s.sink.type, NOTIFY_SERVICENOW);
	assert_string_equal(s.sink.url, "https://acme.service-now.com");
	assert_string_equal(s.sink.username, "u");
	assert_int_equal(driftactions_sink(dp, 0, NULL, &s), 0);
	assert_null(s.sink.token);
	assert_int_equal(driftactions_sink(dp, 4, NULL, &s), SAQR_ENOTFOUND);
	json_object_set_new(pd, "type", json_string("carrier-pigeon"));
	assert_int_equal(driftactions_sink(dp, 3, NULL, &s), SAQR_EINVAL);
	json_decref(dp);
}

static void test_stale_pending(void **state)
{
	json_t *dp = load_json("dp_scrape.json");
	json_t *e = json_pack("{s:s, s:i, s:s, s:s}", "id", "i/1/trigger", "sink", 1, "type", "webhook",
			      "action", "trigger");

	(void)state;
	assert_false(driftactions_pending_stale(dp, e));
	json_object_set_new(e, "type", json_string("alertmanager"));
	assert_true(driftactions_pending_stale(dp, e));
	json_object_set_new(e, "type", json_string("webhook"));
	json_object_set_new(e, "sink", json_integer(7));
	assert_true(driftactions_pending_stale(dp, e));
	json_decref(e);
	json_decref(dp);
}

static void test_event_and_details(void **state)
{
	json_t *dp = load_json("dp_scrape.json");
	json_t *inc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s}, s:s}", "id", "fraud-drift-1", "reason",
				"SLOBreached", "summary", "latency p99 900 ms > 250 ms", "openedAt",
				"2026-01-10T10:00:00Z", "resolvedAt", "2026-01-10T11:00:00Z", "externalIds",
				"2", "abc123", "trainingJob", "fraud-drift-retrain-1");
	json_t *e = json_pack("{s:s, s:i, s:s, s:s}", "id", "fraud-drift-1/2/resolve", "sink", 2, "type",
			      "servicenow", "action", "resolve");
	json_t *st = json_pack("{s:[{s:s, s:b}, {s:s, s:b}], s:f}", "features", "name", "amount_aed",
			       "drifted", 1, "name", "channel", "drifted", 0, "latencyP99Ms", 900.0);
	json_t *details = driftactions_details(st, inc);
	struct notify_event ev;

	(void)state;
	assert_int_equal(json_array_size(json_object_get(details, "driftedFeatures")), 1);
	assert_true(json_number_value(json_object_get(details, "latencyP99Ms")) == 900.0);
	assert_string_equal(json_path_str(details, "trainingJob", ""), "fraud-drift-retrain-1");
	driftactions_event(dp, inc, e, details, &ev);
	assert_string_equal(ev.incident_id, "fraud-drift-1");
	assert_string_equal(ev.reason, "SLOBreached");
	assert_string_equal(ev.severity, "error");
	assert_string_equal(ev.namespace, "payments");
	assert_string_equal(ev.policy, "fraud-drift");
	assert_string_equal(ev.target, "fraud-detector");
	assert_string_equal(ev.external_id, "abc123");
	assert_string_equal(ev.delivery_id, "fraud-drift-1/2/resolve");
	assert_true(ev.resolved);
	json_decref(details);
	json_decref(st);
	json_decref(e);
	json_decref(inc);
	json_decref(dp);
}

static void test_delivered(void **state)
{
	json_t *incs = json_pack("[{s:s, s:b}]", "id", "i", "notified", 0);
	json_t *pending = json_pack(
	    "[{s:s, s:s, s:i, s:s}, {s:s, s:s, s:i, s:s}, {s:s, s:s, s:i, s:s}]", "id", "i/0/trigger",
	    "incident", "i", "sink", 0, "action", "trigger", "id", "i/2/trigger", "incident", "i", "sink", 2,
	    "action", "trigger", "id", "gone/0/trigger", "incident", "gone", "sink", 0, "action", "trigger");

	(void)state;
	assert_int_equal(driftactions_delivered(incs, pending, 1, "abc123"), 0);
	assert_int_equal(json_array_size(pending), 2);
	assert_string_equal(json_path_str(incs, "0.externalIds.2", ""), "abc123");
	assert_false(json_path_bool(incs, "0.notified", true, NULL)); /* a trigger is left */
	assert_int_equal(driftactions_delivered(incs, pending, 0, NULL), 0);
	assert_true(json_path_bool(incs, "0.notified", false, NULL));
	/* an entry of an incident that is no longer kept just leaves */
	assert_int_equal(driftactions_delivered(incs, pending, 0, NULL), 0);
	assert_int_equal(json_array_size(pending), 0);
	assert_int_equal(driftactions_delivered(incs, pending, 0, NULL), SAQR_EINVAL);
	assert_non_null(driftactions_incident(incs, "i"));
	assert_null(driftactions_incident(incs, "x"));
	json_decref(pending);
	json_decref(incs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_incident_settings),
	    cmocka_unit_test(test_retrain_on_default),
	    cmocka_unit_test(test_retrain_on_each_reason),
	    cmocka_unit_test(test_retrain_at_most_one_running),
	    cmocka_unit_test(test_retrain_object),
	    cmocka_unit_test(test_rollback_target),
	    cmocka_unit_test(test_rollback_patch_and_marker),
	    cmocka_unit_test(test_rollback_target_under_override),
	    cmocka_unit_test(test_rollback_restores_signature),
	    cmocka_unit_test(test_secret_values),
	    cmocka_unit_test(test_sinks),
	    cmocka_unit_test(test_stale_pending),
	    cmocka_unit_test(test_event_and_details),
	    cmocka_unit_test(test_delivered),
	};

	return cmocka_run_group_tests_name("driftactions", tests, NULL, NULL);
}
