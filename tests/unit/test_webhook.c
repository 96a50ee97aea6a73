/* Unit tests for webhook/webhook.c with the real policy engine and its built-in policy:
 * a privileged Pod is denied with 403 and its violations, a hardened Pod is allowed, the reply
 * always says what the engine decided, bad requests get 400 with the reason, and the probe and
 * metrics routes answer; exempt and break-glass requests keep the engine's decision and the
 * waived findings in their audit annotations, and the decision log says why they were exempt;
 * a large review costs time linear in its size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "common/metrics.h"
#include "webhook/admission.h"
#include "webhook/webhook.h"

struct fixture {
	struct metrics *metrics;
	struct reload *reload;
	struct webhook *wh;
	struct policy *policy; /* the same built-in policy, to compare with */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct reload_opts ro = {0};
	struct webhook_opts wo = {0};
	char err[256];

	log_set_level(LOG_LVL_ERROR);
	f->metrics = metrics_new();
	ro.metrics = f->metrics;
	if (!f->metrics || reload_new(&ro, &f->reload, err, sizeof(err)) || policy_load_default(&f->policy))
		return -1;
	wo.reload = f->reload;
	wo.metrics = f->metrics;
	if (webhook_new(&wo, &f->wh))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	webhook_free(f->wh);
	reload_free(f->reload);
	policy_free(f->policy);
	metrics_free(f->metrics);
	free(f);
	return 0;
}

static char *read_fixture(const char *name, size_t *len)
{
	const char *root = getenv("SAQR_ROOT");
	char path[512];
	FILE *f;
	char *data;
	long n;

	snprintf(path, sizeof(path), "%s/tests/data/webhook/%s", root ? root : ".", name);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = malloc((size_t)n + 1);
	assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
	data[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return data;
}

/* Send one request through the httpd handler; returns the parsed JSON body (or NULL for text). */
static json_t *call(struct fixture *f, const char *method, const char *path, const char *ctype,
		    const char *body, size_t len, struct httpd_response *resp)
{
	struct httpd_request req = {.method = method,
				    .path = path,
				    .query = "",
				    .content_type = ctype,
				    .body = body ? body : "",
				    .body_len = len};

	resp->status = 200;
	resp->content_type = "application/json";
	buf_init(&resp->body, 1 << 22);
	webhook_handle(f->wh, &req, resp);
	return json_loads(buf_str(&resp->body), 0, NULL);
}

static json_t *review(struct fixture *f, const char *fixture, struct httpd_response *resp)
{
	size_t len;
	char *body = read_fixture(fixture, &len);
	json_t *j = call(f, "POST", "/validate", "application/json", body, len, resp);

	free(body);
	assert_int_equal(resp->status, 200);
	assert_non_null(j);
	return j;
}

/* What the engine itself says about the fixture's object. */
static void engine_decision(struct fixture *f, const char *fixture, struct policy_decision *d)
{
	size_t len;
	char *body = read_fixture(fixture, &len);
	json_t *root = json_loads(body, 0, NULL);
	json_t *req = json_object_get(root, "request");
	struct policy_input in = {.object = json_object_get(req, "object"),
				  .operation = json_string_value(json_object_get(req, "operation")),
				  .namespace = json_string_value(json_object_get(req, "namespace")),
				  .now = 0};

	in.now = time(NULL);
	policy_decision_init(d);
	assert_int_equal(policy_eval(f->policy, &in, d), 0);
	json_decref(root);
	free(body);
}

static void print_findings(const json_t *resp)
{
	const json_t *st = json_object_get(resp, "status");

	fprintf(stderr, "status: %s\n", json_string_value(json_object_get(st, "message")));
}

static void test_privileged_pod_denied(void **state)
{
	struct fixture *f = *state;
	struct httpd_response resp;
	json_t *j = review(f, "pod-privileged-review.json", &resp), *r = json_object_get(j, "response");
	const json_t *st = json_object_get(r, "status");
	const json_t *aa = json_object_get(r, "auditAnnotations");

	assert_string_equal(json_string_value(json_object_get(j, "apiVersion")), "admission.k8s.io/v1");
	assert_string_equal(json_string_value(json_object_get(r, "uid")),
			    "d3f0c4e2-2f8e-4d4f-9b4e-6c1a1b2c3d4e");
	assert_true(json_is_false(json_object_get(r, "allowed")));
	assert_int_equal(json_integer_value(json_object_get(st, "code")), 403);
	assert_string_equal(json_string_value(json_object_get(st, "reason")), "Forbidden");
	assert_non_null(strstr(json_string_value(json_object_get(st, "message")), "privileged"));
	assert_string_equal(json_string_value(json_object_get(aa, "decision")), "deny");
	assert_string_equal(json_string_value(json_object_get(aa, "dry-run")), "true");
	assert_non_null(json_string_value(json_object_get(aa, "violations")));
	assert_true(metrics_value(f->metrics, "saqr_admission_requests_total",
				  "kind=\"Pod\",operation=\"CREATE\",decision=\"deny\"") >= 1);
	json_decref(j);
	buf_release(&resp.body);
}

static void test_compliant_pod_allowed(void **state)
{
	struct fixture *f = *state;
	struct httpd_response resp;
	json_t *j = review(f, "pod-compliant-review.json", &resp), *r = json_object_get(j, "response");

	if (!json_is_true(json_object_get(r, "allowed")))
		print_findings(r);
	assert_true(json_is_true(json_object_get(r, "allowed")));
	assert_null(json_object_get(r, "status"));
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(r, "auditAnnotations"), "decision")), "allow");
	json_decref(j);
	buf_release(&resp.body);
}

/* Whatever the policy says of a fixture, the reply says the same: allowed, the denial message,
 * one warning per warn-mode finding. */
static void check_reply_matches_engine(struct fixture *f, const char *fixture)
{
	struct httpd_response resp;
	struct policy_decision d;
	struct buf msg;
	size_t warns = 0;
	json_t *j = review(f, fixture, &resp), *r = json_object_get(j, "response");

	engine_decision(f, fixture, &d);
	assert_int_equal(json_is_true(json_object_get(r, "allowed")), d.allowed);
	for (size_t i = 0; i < d.nviolations; i++)
		warns += d.violations[i].enforcement == POLICY_ENFORCE_WARN;
	assert_int_equal(json_array_size(json_object_get(r, "warnings")), warns);
	if (!d.allowed) {
		buf_init(&msg, 1 << 20);
		assert_int_equal(policy_decision_deny_message(&d, &msg), 0);
		assert_string_equal(
		    json_string_value(json_object_get(json_object_get(r, "status"), "message")),
		    buf_str(&msg));
		buf_release(&msg);
	}
	policy_decision_release(&d);
	json_decref(j);
	buf_release(&resp.body);
}

static void test_reply_matches_the_engine(void **state)
{
	check_reply_matches_engine(*state, "deployment-review.json");
	check_reply_matches_engine(*state, "pod-privileged-review.json");
	check_reply_matches_engine(*state, "pod-compliant-review.json");
}

static void test_delete_is_allowed_without_evaluation(void **state)
{
	struct fixture *f = *state;
	const char *s =
	    "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":"
	    "{\"uid\":\"del-1\",\"kind\":{\"kind\":\"Pod\"},\"operation\":\"DELETE\",\"oldObject\":"
	    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"spec\":{\"hostNetwork\":true}}}}";
	struct httpd_response resp;
	json_t *j = call(f, "POST", "/validate", "application/json", s, strlen(s), &resp);

	assert_int_equal(resp.status, 200);
	assert_true(json_is_true(json_object_get(json_object_get(j, "response"), "allowed")));
	json_decref(j);
	buf_release(&resp.body);
}

static void test_unknown_kinds_do_not_grow_the_metrics(void **state)
{
	struct fixture *f = *state;
	const char *s = "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":"
			"{\"uid\":\"w-1\",\"kind\":{\"group\":\"example.com\",\"version\":\"v1\",\"kind\":"
			"\"Widget\"},\"operation\":\"PATCH\",\"object\":{\"apiVersion\":\"example.com/v1\","
			"\"kind\":\"Widget\",\"metadata\":{\"name\":\"w\"}}}}";
	struct httpd_response resp;
	json_t *j = call(f, "POST", "/validate", "application/json", s, strlen(s), &resp);

	assert_int_equal(resp.status, 200);
	assert_true(metrics_value(f->metrics, "saqr_admission_requests_total",
				  "kind=\"other\",operation=\"other\",decision=\"allow\"") == 1);
	json_decref(j);
	buf_release(&resp.body);
}

static void expect_status(struct fixture *f, const char *method, const char *path, const char *ctype,
			  const char *body, int code, const char *want)
{
	struct httpd_response resp;
	json_t *j = call(f, method, path, ctype, body, body ? strlen(body) : 0, &resp);

	assert_int_equal(resp.status, code);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "kind")), "Status");
	if (!strstr(json_string_value(json_object_get(j, "message")), want))
		fail_msg("%s %s: message \"%s\" lacks \"%s\"", method, path,
			 json_string_value(json_object_get(j, "message")), want);
	json_decref(j);
	buf_release(&resp.body);
}

static void test_bad_requests(void **state)
{
	struct fixture *f = *state;
	double before = metrics_value(f->metrics, "saqr_admission_requests_total",
				      "kind=\"unknown\",operation=\"unknown\",decision=\"error\"");

	expect_status(f, "POST", "/validate", "application/json", "{not json", 400, "malformed JSON");
	expect_status(f, "POST", "/validate", "application/json",
		      "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{}}",
		      400, "request.uid is missing");
	expect_status(f, "POST", "/validate", "application/json",
		      "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"}", 400,
		      "request is missing");
	expect_status(f, "POST", "/validate", "", "{\"apiVersion\":\"admission.k8s.io/v1beta1\"}", 400,
		      "admission.k8s.io/v1beta1 is not served");
	expect_status(f, "POST", "/validate", "text/plain", "{}", 415, "application/json");
	expect_status(f, "GET", "/validate", "", NULL, 405, "POST");
	expect_status(f, "POST", "/healthz", "", "{}", 405, "GET");
	expect_status(f, "GET", "/nope", "", NULL, 404, "no such path");
	assert_true(metrics_value(f->metrics, "saqr_admission_requests_total",
				  "kind=\"unknown\",operation=\"unknown\",decision=\"error\"") == before + 4);
}

static void test_probes_and_metrics(void **state)
{
	struct fixture *f = *state;
	struct httpd_response resp;
	json_t *j;

	j = call(f, "GET", "/healthz", "", NULL, 0, &resp);
	assert_int_equal(resp.status, 200);
	json_decref(j);
	buf_release(&resp.body);

	webhook_set_serving(f->wh, false);
	j = call(f, "GET", "/readyz", "", NULL, 0, &resp);
	assert_int_equal(resp.status, 503);
	json_decref(j);
	buf_release(&resp.body);
	webhook_set_serving(f->wh, true);
	j = call(f, "GET", "/readyz", "", NULL, 0, &resp);
	assert_int_equal(resp.status, 200);
	json_decref(j);
	buf_release(&resp.body);

	json_decref(review(f, "pod-privileged-review.json", &resp));
	buf_release(&resp.body);
	j = call(f, "GET", "/metrics", "", NULL, 0, &resp);
	assert_int_equal(resp.status, 200);
	assert_non_null(strstr(resp.content_type, "text/plain"));
	assert_non_null(strstr(buf_str(&resp.body), "saqr_admission_requests_total{kind=\"Pod\""));
	assert_non_null(strstr(buf_str(&resp.body), "saqr_admission_duration_seconds_bucket"));
	assert_non_null(strstr(buf_str(&resp.body), "saqr_policy_violations_total{rule="));
	json_decref(j);
	buf_release(&resp.body);

	/* the plain-HTTP operations port never judges AdmissionReviews */
	resp.status = 200;
	buf_init(&resp.body, 4096);
	{
		struct httpd_request req = {.method = "POST",
					    .path = "/validate",
					    .query = "",
					    .content_type = "application/json",
					    .body = "{}",
					    .body_len = 2};

		webhook_handle_ops(f->wh, &req, &resp);
	}
	assert_int_equal(resp.status, 405);
	buf_release(&resp.body);
}

/* The Deployment fixture grown to about `bytes` bytes with env entries in its first container. */
static char *big_review(size_t bytes, size_t *len)
{
	size_t flen;
	char *fixture = read_fixture("deployment-review.json", &flen), *text;
	json_t *root = json_loads(fixture, 0, NULL);
	json_t *c = json_array_get(
	    json_object_get(
		json_object_get(
		    json_object_get(
			json_object_get(json_object_get(json_object_get(root, "request"), "object"), "spec"),
			"template"),
		    "spec"),
		"containers"),
	    0);
	json_t *env = json_array();
	size_t n =
	    bytes > flen ? (bytes - flen) / 52 : 0; /* {"name":"FEATURE_FLAG_000000000","value":"enabled"}, */

	for (size_t i = 0; i < n; i++)
		json_array_append_new(
		    env, json_pack("{s:s, s:s}", "name", "FEATURE_FLAG_000000000", "value", "enabled"));
	assert_non_null(c);
	json_object_set_new(c, "env", env);
	text = json_dumps(root, JSON_COMPACT);
	*len = strlen(text);
	json_decref(root);
	free(fixture);
	return text;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Seconds to answer one review of about `bytes` bytes (best of 3). */
static double time_review(struct fixture *f, size_t bytes)
{
	size_t len;
	char *body = big_review(bytes, &len);
	double best = 1e9;

	for (int i = 0; i < 3; i++) {
		struct httpd_response resp;
		double t0 = now_s(), t;

		buf_init(&resp.body, 1 << 22);
		webhook_review(f->wh, body, len, &resp);
		t = now_s() - t0;
		if (resp.status != 200)
			fail_msg("%zu bytes: %d %s", len, resp.status, buf_str(&resp.body));
		buf_release(&resp.body);
		best = t < best ? t : best;
	}
	free(body);
	return best;
}

/* Parsing, judging and freeing a review cost time linear in its size. */
static void test_large_reviews_cost_linear_time(void **state)
{
	struct fixture *f = *state;
	double small = time_review(f, (size_t)1 << 20), large = time_review(f, ((size_t)3 << 20) - 4096);

	/* three times the bytes (both well past the caches): about three times the time, with room
	 * for noise; the quadratic free this guards against made it 10 to 15 times */
	if (large > 8 * small + 0.01)
		fail_msg("a 3 MiB review took %.3f s, a 1 MiB one %.3f s: not linear", large, small);
}

/* The privileged Pod fixture in another namespace, by a user with one more group, with or
 * without a break-glass annotation good for 30 minutes, as a body. */
static char *privileged_review_with(const char *namespace, const char *break_glass_group, bool break_glass)
{
	size_t len;
	char *fixture = read_fixture("pod-privileged-review.json", &len), *text, when[64], value[128];
	json_t *root = json_loads(fixture, 0, NULL), *req = json_object_get(root, "request");
	json_t *meta = json_object_get(json_object_get(req, "object"), "metadata");
	time_t later = time(NULL) + 1800;
	struct tm tm;

	json_object_set_new(req, "namespace", json_string(namespace));
	json_object_set_new(meta, "namespace", json_string(namespace));
	if (break_glass_group)
		json_array_append_new(json_object_get(json_object_get(req, "userInfo"), "groups"),
				      json_string(break_glass_group));
	if (break_glass) {
		gmtime_r(&later, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		snprintf(value, sizeof(value), "INC-42 model outage; expires=%s", when);
		json_object_set_new(meta, "annotations", json_pack("{s:s}", "saqr.dev/break-glass", value));
	}
	text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	free(fixture);
	return text;
}

static json_t *annotations_of(struct fixture *f, char *body, bool *allowed)
{
	struct httpd_response resp;
	json_t *j = call(f, "POST", "/validate", "application/json", body, strlen(body), &resp);
	json_t *r = json_object_get(j, "response"), *aa;

	assert_int_equal(resp.status, 200);
	*allowed = json_is_true(json_object_get(r, "allowed"));
	aa = json_incref(json_object_get(r, "auditAnnotations"));
	assert_non_null(aa);
	json_decref(j);
	buf_release(&resp.body);
	free(body);
	return aa;
}

static const char *ann(const json_t *aa, const char *key)
{
	const char *v = json_string_value(json_object_get(aa, key));

	if (!v)
		fail_msg("no audit annotation %s", key);
	return v;
}

/* Exempt and break-glass requests are admitted, and their audit annotations keep what the
 * policy would have decided and what was waived. */
static void test_exemptions_keep_the_engine_decision(void **state)
{
	struct fixture *f = *state;
	bool allowed;
	json_t *aa;

	/* an exempt namespace */
	aa = annotations_of(f, privileged_review_with("kube-system", NULL, false), &allowed);
	assert_true(allowed);
	assert_string_equal(ann(aa, "decision"), "allow");
	assert_string_equal(ann(aa, "engine-decision"), "deny");
	assert_non_null(strstr(ann(aa, "exempt"), "kube-system"));
	assert_non_null(strstr(ann(aa, "waived-violations"), "podSecurity."));
	json_decref(aa);

	/* break-glass by a member of the break-glass group */
	aa = annotations_of(f, privileged_review_with("ml-dev", "saqr:break-glass", true), &allowed);
	assert_true(allowed);
	assert_string_equal(ann(aa, "decision"), "allow");
	assert_string_equal(ann(aa, "engine-decision"), "deny");
	assert_non_null(strstr(ann(aa, "waived-violations"), "podSecurity."));
	assert_non_null(strstr(ann(aa, "violations"), "podSecurity."));
	assert_non_null(json_object_get(aa, "break-glass"));
	json_decref(aa);

	/* break-glass by anyone else: refused, and nothing is waived */
	aa = annotations_of(f, privileged_review_with("ml-dev", NULL, true), &allowed);
	assert_false(allowed);
	assert_string_equal(ann(aa, "decision"), "deny");
	assert_string_equal(ann(aa, "engine-decision"), "deny");
	assert_null(json_object_get(aa, "waived-violations"));
	json_decref(aa);
}

/* The decisions of a webhook of its own, as its decision log writes them to stderr (sent to a
 * file meanwhile): one parsed line per body. */
static json_t *decision_lines(struct fixture *f, char **bodies, size_t n)
{
	struct webhook_opts wo = {.reload = f->reload, .metrics = f->metrics};
	struct webhook *wh = NULL;
	FILE *log = tmpfile();
	int saved = dup(2);
	char line[8192];
	json_t *lines = json_array();

	assert_non_null(log);
	log_set_level(LOG_LVL_INFO);
	fflush(stderr);
	assert_true(dup2(fileno(log), 2) >= 0);
	assert_int_equal(webhook_new(&wo, &wh), 0);
	for (size_t i = 0; i < n; i++) {
		struct httpd_response resp;

		buf_init(&resp.body, 1 << 20);
		webhook_review(wh, bodies[i], strlen(bodies[i]), &resp);
		buf_release(&resp.body);
		free(bodies[i]);
	}
	webhook_free(wh); /* writes what is queued */
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	log_set_level(LOG_LVL_ERROR);
	rewind(log);
	while (fgets(line, sizeof(line), log))
		if (strstr(line, "\"admission decision\""))
			json_array_append_new(lines, json_loads(line, 0, NULL));
	fclose(log);
	assert_int_equal(json_array_size(lines), n);
	return lines;
}

/* The decision log says why a request was exempt: the exemption, or the break-glass with its
 * reason, status and what it waived (what `saqrctl report` lists for auditors). */
static void test_decision_log_says_why_exempt(void **state)
{
	char *bodies[] = {privileged_review_with("kube-system", NULL, false),
			  privileged_review_with("ml-dev", "saqr:break-glass", true),
			  privileged_review_with("ml-dev", NULL, true)};
	json_t *lines = decision_lines(*state, bodies, 3), *l;

	l = json_array_get(lines, 0);
	assert_true(json_is_true(json_object_get(l, "exempt")));
	assert_non_null(strstr(json_string_value(json_object_get(l, "exemptReason")), "kube-system"));
	assert_null(json_object_get(l, "breakGlass"));
	l = json_array_get(lines, 1);
	assert_true(json_is_true(json_object_get(l, "exempt")));
	assert_string_equal(json_string_value(json_object_get(l, "breakGlass")), "INC-42 model outage");
	assert_string_equal(json_string_value(json_object_get(l, "breakGlassStatus")), "honoured");
	assert_non_null(json_string_value(json_object_get(l, "breakGlassExpires")));
	assert_non_null(strstr(json_string_value(json_object_get(l, "waived")), "podSecurity."));
	l = json_array_get(lines, 2);
	assert_string_equal(json_string_value(json_object_get(l, "decision")), "deny");
	assert_string_equal(json_string_value(json_object_get(l, "breakGlassStatus")), "refused");
	assert_null(json_object_get(l, "waived"));
	json_decref(lines);
}

static void test_new_needs_reload_and_metrics(void **state)
{
	struct webhook_opts wo = {0};
	struct webhook *wh = NULL;

	(void)state;
	assert_int_equal(webhook_new(&wo, &wh), SAQR_EINVAL);
	assert_null(wh);
	webhook_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_privileged_pod_denied),
	    cmocka_unit_test(test_decision_log_says_why_exempt),
	    cmocka_unit_test(test_compliant_pod_allowed),
	    cmocka_unit_test(test_reply_matches_the_engine),
	    cmocka_unit_test(test_delete_is_allowed_without_evaluation),
	    cmocka_unit_test(test_unknown_kinds_do_not_grow_the_metrics),
	    cmocka_unit_test(test_bad_requests),
	    cmocka_unit_test(test_probes_and_metrics),
	    cmocka_unit_test(test_new_needs_reload_and_metrics),
	    cmocka_unit_test(test_large_reviews_cost_linear_time),
	    cmocka_unit_test(test_exemptions_keep_the_engine_decision),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
