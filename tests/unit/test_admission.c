/* Unit tests for webhook/admission.c: AdmissionReview v1 parsing (every field Saqr reads,
 * every way a request can be refused) and the reply (uid echo, denial status, warnings fitted
 * to the apiserver's limits, audit annotations). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "webhook/admission.h"
#include "webhook/arena.h"

#define MAX_BODY (3u << 20)

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

static void parse_fixture(const char *name, struct admission_request *r)
{
	size_t len;
	char *body = read_fixture(name, &len), err[256] = "";

	assert_int_equal(admission_parse(body, len, MAX_BODY, r, err, sizeof(err)), 0);
	free(body);
}

/* Parse s, expecting failure rc with a message containing want. */
static void expect_refused(const char *s, int rc, const char *want)
{
	struct admission_request r;
	char err[512] = "";
	int got = admission_parse(s, strlen(s), MAX_BODY, &r, err, sizeof(err));

	if (got != rc || !strstr(err, want))
		fail_msg("for %s: got %d \"%s\", want %d \"%s\"", s, got, err, rc, want);
}

static json_t *reply(const struct admission_request *r, const struct admission_verdict *v)
{
	struct buf out;
	json_t *j;

	buf_init(&out, 1 << 20);
	assert_int_equal(admission_response(r, v, &out), 0);
	j = json_loads(buf_str(&out), 0, NULL);
	assert_non_null(j);
	buf_release(&out);
	return j;
}

static void test_parse_deployment(void **state)
{
	struct admission_request r;

	(void)state;
	parse_fixture("deployment-review.json", &r);
	assert_string_equal(r.uid, "705ab4f5-6393-11e8-b7cc-42010a800002");
	assert_string_equal(r.kind, "Deployment");
	assert_string_equal(r.group, "apps");
	assert_string_equal(r.version, "v1");
	assert_string_equal(r.resource, "deployments");
	assert_string_equal(r.sub_resource, "");
	assert_string_equal(r.namespace, "ml-prod");
	assert_string_equal(r.name, "fraud-scorer");
	assert_string_equal(r.operation, "CREATE");
	assert_string_equal(r.username, "system:serviceaccount:argocd:argocd-application-controller");
	assert_int_equal(r.ngroups, 3);
	assert_string_equal(r.groups[1], "system:serviceaccounts:argocd");
	assert_non_null(r.object);
	assert_string_equal(json_string_value(json_object_get(r.object, "kind")), "Deployment");
	assert_null(r.old_object);
	assert_false(r.dry_run);
	admission_request_release(&r);
	assert_null(r.review);
	admission_request_release(NULL);
}

static void test_parse_dry_run(void **state)
{
	struct admission_request r;

	(void)state;
	parse_fixture("pod-privileged-review.json", &r);
	assert_true(r.dry_run);
	assert_string_equal(r.kind, "Pod");
	assert_string_equal(r.group, "");
	assert_string_equal(r.username, "alice@example.ae");
	assert_int_equal(r.ngroups, 2);
	admission_request_release(&r);
}

static void test_delete_has_no_object(void **state)
{
	const char *s =
	    "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":"
	    "{\"uid\":\"u1\",\"kind\":{\"kind\":\"Pod\"},\"operation\":\"DELETE\",\"object\":null,"
	    "\"oldObject\":{\"kind\":\"Pod\"}}}";
	struct admission_request r;
	char err[128];

	(void)state;
	assert_int_equal(admission_parse(s, strlen(s), MAX_BODY, &r, err, sizeof(err)), 0);
	assert_null(r.object);
	assert_non_null(r.old_object);
	assert_string_equal(r.username, "");
	assert_int_equal(r.ngroups, 0);
	admission_request_release(&r);
}

static void test_allow_reply_echoes_uid(void **state)
{
	struct admission_request r;
	struct admission_verdict v = {.allowed = true};
	json_t *j, *resp;

	(void)state;
	parse_fixture("deployment-review.json", &r);
	j = reply(&r, &v);
	assert_string_equal(json_string_value(json_object_get(j, "apiVersion")), "admission.k8s.io/v1");
	assert_string_equal(json_string_value(json_object_get(j, "kind")), "AdmissionReview");
	resp = json_object_get(j, "response");
	assert_string_equal(json_string_value(json_object_get(resp, "uid")), r.uid);
	assert_true(json_is_true(json_object_get(resp, "allowed")));
	assert_null(json_object_get(resp, "status"));
	assert_null(json_object_get(resp, "warnings"));
	assert_null(json_object_get(resp, "auditAnnotations"));
	json_decref(j);
	admission_request_release(&r);
}

static void test_deny_reply_has_status(void **state)
{
	struct admission_request r;
	struct admission_verdict v = {.allowed = false,
				      .code = 403,
				      .reason = "Forbidden",
				      .message = "[podSecurity.baseline.privileged] spec.containers[0]: no"};
	json_t *j, *st;

	(void)state;
	parse_fixture("pod-privileged-review.json", &r);
	j = reply(&r, &v);
	assert_true(json_is_false(json_object_get(json_object_get(j, "response"), "allowed")));
	st = json_object_get(json_object_get(j, "response"), "status");
	assert_int_equal(json_integer_value(json_object_get(st, "code")), 403);
	assert_string_equal(json_string_value(json_object_get(st, "reason")), "Forbidden");
	assert_string_equal(json_string_value(json_object_get(st, "status")), "Failure");
	assert_string_equal(json_string_value(json_object_get(st, "message")), v.message);
	json_decref(j);
	admission_request_release(&r);
}

static void test_long_denial_is_cut(void **state)
{
	struct admission_request r;
	size_t n = ADMISSION_MESSAGE_MAX * 2;
	char *msg = malloc(n + 1);
	struct admission_verdict v = {.allowed = false, .code = 403, .message = msg};
	const char *got;
	json_t *j;

	(void)state;
	memset(msg, 'm', n);
	msg[n] = '\0';
	parse_fixture("pod-privileged-review.json", &r);
	j = reply(&r, &v);
	got = json_string_value(
	    json_object_get(json_object_get(json_object_get(j, "response"), "status"), "message"));
	assert_true(strlen(got) <= ADMISSION_MESSAGE_MAX + 32);
	assert_non_null(strstr(got, "(message truncated)"));
	json_decref(j);
	admission_request_release(&r);
	free(msg);
}

static void test_warning_fit(void **state)
{
	char out[ADMISSION_WARNING_MAX + 1], in[1024];
	json_t *utf8;
	size_t n;

	(void)state;
	assert_int_equal(admission_warning_fit("Warning: use a digest", out, sizeof(out)), 12);
	assert_string_equal(out, "use a digest");
	admission_warning_fit("  warning:x", out, sizeof(out));
	assert_string_equal(out, "x");
	admission_warning_fit("line one\nline\ttwo", out, sizeof(out));
	assert_string_equal(out, "line one line two");

	memset(in, 'w', 300);
	in[300] = '\0';
	n = admission_warning_fit(in, out, sizeof(out));
	assert_int_equal(n, ADMISSION_WARNING_MAX);
	assert_string_equal(out + n - 3, "...");

	/* two-byte characters: never cut in the middle of one */
	in[0] = '\0';
	for (int i = 0; i < 200; i++)
		memcpy(in + 2 * i, "\xc3\xa9", 3);
	n = admission_warning_fit(in, out, sizeof(out));
	assert_true(n <= ADMISSION_WARNING_MAX);
	assert_int_equal((n - 3) % 2, 0);
	utf8 = json_string(out); /* still valid UTF-8 */
	assert_non_null(utf8);
	json_decref(utf8);
}

static void test_warnings_fit_in_4k(void **state)
{
	struct admission_request r;
	enum { N = 40 };
	const char *ws[N];
	char text[N][260];
	struct admission_verdict v = {.allowed = true, .warnings = ws, .nwarnings = N};
	size_t total = 0, i;
	json_t *j, *arr, *w;

	(void)state;
	for (i = 0; i < N; i++) {
		snprintf(text[i], sizeof(text[i]),
			 "Warning: [zeroTrust.imageDigest] spec.containers[%zu].image: %0180d", i, 0);
		ws[i] = text[i];
	}
	parse_fixture("deployment-review.json", &r);
	j = reply(&r, &v);
	arr = json_object_get(json_object_get(j, "response"), "warnings");
	assert_true(json_array_size(arr) > 1 && json_array_size(arr) < N);
	json_array_foreach(arr, i, w)
	{
		assert_true(json_string_length(w) <= ADMISSION_WARNING_MAX);
		assert_null(strstr(json_string_value(w), "Warning:"));
		total += json_string_length(w);
	}
	assert_true(total <= ADMISSION_WARNINGS_TOTAL_MAX);
	assert_non_null(strstr(json_string_value(json_array_get(arr, json_array_size(arr) - 1)),
			       "more warnings omitted"));
	json_decref(j);

	/* when they all fit, all are kept */
	v.nwarnings = 16;
	j = reply(&r, &v);
	assert_int_equal(json_array_size(json_object_get(json_object_get(j, "response"), "warnings")), 16);
	json_decref(j);
	admission_request_release(&r);
}

static void test_audit_annotations(void **state)
{
	struct admission_request r;
	char long_value[3000];
	json_t *in = json_object(), *j, *aa;
	struct admission_verdict v = {.allowed = true, .audit_annotations = in};

	(void)state;
	memset(long_value, 'v', sizeof(long_value) - 1);
	long_value[sizeof(long_value) - 1] = '\0';
	json_object_set_new(in, "decision", json_string("allow"));
	json_object_set_new(in, "saqr.dev/break-glass",
			    json_string("incident 42; expires=2026-12-01T00:00:00Z"));
	json_object_set_new(in, "bad key!", json_string("dropped"));
	json_object_set_new(in, "count", json_integer(3));
	json_object_set_new(in, "long", json_string(long_value));
	parse_fixture("deployment-review.json", &r);
	j = reply(&r, &v);
	aa = json_object_get(json_object_get(j, "response"), "auditAnnotations");
	assert_string_equal(json_string_value(json_object_get(aa, "decision")), "allow");
	assert_non_null(strstr(json_string_value(json_object_get(aa, "break-glass")), "incident 42"));
	assert_null(json_object_get(aa, "bad key!"));
	assert_null(json_object_get(aa, "count"));
	assert_true(json_string_length(json_object_get(aa, "long")) <= ADMISSION_ANNOTATION_VALUE_MAX + 3);
	assert_int_equal(json_object_size(aa), 3);
	json_decref(j);
	json_decref(in);
	admission_request_release(&r);
}

static void test_annotation_keys(void **state)
{
	(void)state;
	assert_true(admission_annotation_key_valid("decision"));
	assert_true(admission_annotation_key_valid("break-glass.reason_1"));
	assert_false(admission_annotation_key_valid(""));
	assert_false(admission_annotation_key_valid("-leading"));
	assert_false(admission_annotation_key_valid("trailing."));
	assert_false(admission_annotation_key_valid("has/slash"));
	assert_false(admission_annotation_key_valid("space here"));
	assert_false(admission_annotation_key_valid(
	    "a234567890123456789012345678901234567890123456789012345678901234"));
}

static void test_malformed_json(void **state)
{
	(void)state;
	expect_refused("{\"apiVersion\":", SAQR_EPARSE, "malformed JSON: line 1 column");
	expect_refused("", SAQR_EPARSE, "malformed JSON");
	expect_refused("{\"a\":1}{", SAQR_EPARSE, "malformed JSON");
	expect_refused("{\"a\":1,\"a\":2}", SAQR_EPARSE, "duplicate");
}

#define REVIEW(req)                                                                                          \
	"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":" req "}"
#define REQ(extra)                                                                                           \
	"{\"uid\":\"u\",\"kind\":{\"kind\":\"Pod\"},\"operation\":\"CREATE\",\"object\":{}" extra "}"

static void test_missing_and_wrong_fields(void **state)
{
	(void)state;
	expect_refused("[]", SAQR_EINVAL, "the body is not a JSON object");
	expect_refused("{\"kind\":\"AdmissionReview\",\"request\":{}}", SAQR_EINVAL, "apiVersion is missing");
	expect_refused("{\"apiVersion\":\"admission.k8s.io/v1beta1\",\"kind\":\"AdmissionReview\"}",
		       SAQR_EINVAL, "apiVersion admission.k8s.io/v1beta1 is not served");
	expect_refused("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"Foo\"}", SAQR_EINVAL,
		       "kind Foo is not AdmissionReview");
	expect_refused("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"}", SAQR_EINVAL,
		       "request is missing");
	expect_refused(REVIEW("[]"), SAQR_EINVAL, "request must be a JSON object");
	expect_refused(REVIEW("{}"), SAQR_EINVAL, "request.uid is missing");
	expect_refused(REVIEW("{\"uid\":7}"), SAQR_EINVAL, "request.uid must be a string");
	expect_refused(REVIEW("{\"uid\":\"u\"}"), SAQR_EINVAL, "request.operation is missing");
	expect_refused(REVIEW("{\"uid\":\"u\",\"operation\":\"CREATE\"}"), SAQR_EINVAL,
		       "request.kind is missing");
	expect_refused(REVIEW("{\"uid\":\"u\",\"operation\":\"CREATE\",\"kind\":{}}"), SAQR_EINVAL,
		       "request.kind.kind is missing");
	expect_refused(REVIEW("{\"uid\":\"u\",\"operation\":\"CREATE\",\"kind\":{\"kind\":\"Pod\"}}"),
		       SAQR_EINVAL, "request.object is missing for a CREATE");
	expect_refused(
	    REVIEW("{\"uid\":\"u\",\"operation\":\"UPDATE\",\"kind\":{\"kind\":\"Pod\"},\"object\":[]}"),
	    SAQR_EINVAL, "request.object must be a JSON object");
	expect_refused(REVIEW(REQ(",\"userInfo\":{\"groups\":[\"a\",1]}")), SAQR_EINVAL,
		       "request.userInfo.groups must be a list of strings");
	expect_refused(REVIEW(REQ(",\"userInfo\":{\"username\":false}")), SAQR_EINVAL,
		       "request.userInfo.username must be a string");
	expect_refused(REVIEW(REQ(",\"dryRun\":\"yes\"")), SAQR_EINVAL, "request.dryRun must be a boolean");
	expect_refused(REVIEW(REQ(",\"namespace\":{}")), SAQR_EINVAL, "request.namespace must be a string");
}

static void test_oversized(void **state)
{
	struct admission_request r;
	char err[256] = "";
	const char *s = REVIEW(REQ(""));

	(void)state;
	assert_int_equal(admission_parse(s, strlen(s), 16, &r, err, sizeof(err)), SAQR_ETOOBIG);
	assert_non_null(strstr(err, "exceeds the limit of 16 bytes"));
	assert_int_equal(admission_parse(s, strlen(s), strlen(s), &r, err, sizeof(err)), 0);
	admission_request_release(&r);
}

static void test_error_body(void **state)
{
	struct buf out;
	json_t *j;

	(void)state;
	buf_init(&out, 4096);
	assert_int_equal(admission_error_body(400, "BadRequest", "request.uid is missing \xff\x01", &out), 0);
	j = json_loads(buf_str(&out), 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "kind")), "Status");
	assert_string_equal(json_string_value(json_object_get(j, "status")), "Failure");
	assert_int_equal(json_integer_value(json_object_get(j, "code")), 400);
	assert_string_equal(json_string_value(json_object_get(j, "message")), "request.uid is missing ??");
	json_decref(j);
	buf_release(&out);
}

static void test_reply_over_the_cap(void **state)
{
	struct admission_request r;
	struct admission_verdict v = {.allowed = true};
	struct buf out;

	(void)state;
	parse_fixture("deployment-review.json", &r);
	buf_init(&out, 16);
	assert_int_equal(admission_response(&r, &v, &out), SAQR_ETOOBIG);
	assert_int_equal(out.len, 0);
	buf_release(&out);
	admission_request_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_deployment),
	    cmocka_unit_test(test_parse_dry_run),
	    cmocka_unit_test(test_delete_has_no_object),
	    cmocka_unit_test(test_allow_reply_echoes_uid),
	    cmocka_unit_test(test_deny_reply_has_status),
	    cmocka_unit_test(test_long_denial_is_cut),
	    cmocka_unit_test(test_warning_fit),
	    cmocka_unit_test(test_warnings_fit_in_4k),
	    cmocka_unit_test(test_audit_annotations),
	    cmocka_unit_test(test_annotation_keys),
	    cmocka_unit_test(test_malformed_json),
	    cmocka_unit_test(test_missing_and_wrong_fields),
	    cmocka_unit_test(test_oversized),
	    cmocka_unit_test(test_error_body),
	    cmocka_unit_test(test_reply_over_the_cap),
	};

	arena_install(); /* as saqr-webhook runs: the review's values come from the arena */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
