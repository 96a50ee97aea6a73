/* Unit tests for lib/kube/status.c: metav1.Status bodies recorded from a real kube-apiserver
 * (tests/data/kube/status/) and their HTTP codes map to SAQR_E* codes and struct kube_status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../support/kubetest.h"
#include "common/err.h"
#include "kube/status.h"

struct status_case {
	const char *fixture;
	long code;
	int want;
	const char *reason;
	const char *message_part;
};

static const struct status_case cases[] = {
    {"404-notfound.json", 404, SAQR_ENOTFOUND, "NotFound", "configmaps \"nope\" not found"},
    {"409-alreadyexists.json", 409, SAQR_EEXIST, "AlreadyExists", "configmaps \"a\" already exists"},
    {"409-conflict.json", 409, SAQR_ECONFLICT, "Conflict", "the object has been modified"},
    {"409-precondition.json", 409, SAQR_ECONFLICT, "Conflict", "the UID in the precondition"},
    {"410-expired.json", 410, SAQR_EGONE, "Expired", "too old"},
    {"422-invalid.json", 422, SAQR_EINVALID, "Invalid", "metadata.name: Invalid value"},
    {"401-unauthorized.json", 401, SAQR_EFORBIDDEN, "Unauthorized", "Unauthorized"},
    {"403-forbidden.json", 403, SAQR_EFORBIDDEN, "Forbidden", "User \"system:anonymous\" cannot list"},
    {"429-toomanyrequests.json", 429, SAQR_EBUSY, "TooManyRequests", "Too many requests"},
    {"400-badrequest.json", 400, SAQR_EAPI, "BadRequest", "invalid continue token"},
    {"500-internal.json", 500, SAQR_EAPI, "InternalError", "resource quota evaluation timed out"},
};

static void test_recorded_status_bodies(void **state)
{
	char rel[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct status_case *c = &cases[i];
		struct kube_status st;
		size_t len = 0;
		char *body;

		snprintf(rel, sizeof(rel), "tests/data/kube/status/%s", c->fixture);
		body = kubetest_read(rel, &len);
		assert_non_null(body);
		assert_int_equal(kube_status_from_response(c->code, body, len, NULL, &st), c->want);
		assert_int_equal(st.http_code, c->code);
		assert_string_equal(st.reason, c->reason);
		if (!strstr(st.message, c->message_part))
			fail_msg("%s: message \"%s\" lacks \"%s\"", c->fixture, st.message, c->message_part);
		free(body);
	}
}

static void test_success_codes(void **state)
{
	struct kube_status st;

	(void)state;
	memset(&st, 0x5a, sizeof(st));
	assert_int_equal(kube_status_from_response(200, "{}", 2, NULL, &st), 0);
	assert_int_equal(st.http_code, 200);
	assert_string_equal(st.reason, "");
	assert_string_equal(st.message, "");
	assert_int_equal(kube_status_from_response(201, NULL, 0, NULL, &st), 0);
	assert_int_equal(st.http_code, 201);
	assert_int_equal(kube_status_from_response(204, NULL, 0, NULL, NULL), 0);
}

static void test_transport_code_wins_over_body(void **state)
{
	const char *body = "{\"kind\":\"Status\",\"reason\":\"NotFound\",\"message\":\"m\",\"code\":404}";
	struct kube_status st;

	(void)state;
	/* a proxy answered 502 with a Status that claims 404: the HTTP code decides */
	assert_int_equal(kube_status_from_response(502, body, strlen(body), NULL, &st), SAQR_EAPI);
	assert_int_equal(st.http_code, 502);
	assert_string_equal(st.reason, "NotFound");
}

static void test_retry_after(void **state)
{
	const char *status = "{\"kind\":\"Status\",\"reason\":\"TooManyRequests\",\"details\":{"
			     "\"retryAfterSeconds\":3},\"code\":429}";
	struct kube_status st;
	char date[64];
	time_t later = time(NULL) + 120;
	struct tm tm;

	(void)state;
	assert_int_equal(kube_status_from_response(429, status, strlen(status), NULL, &st), SAQR_EBUSY);
	assert_int_equal(st.retry_after, 3);
	/* the header wins over the body */
	assert_int_equal(kube_status_from_response(429, status, strlen(status), " 7\r\n", &st), SAQR_EBUSY);
	assert_int_equal(st.retry_after, 7);
	assert_int_equal(kube_status_from_response(503, "", 0, "12", &st), SAQR_EBUSY);
	assert_int_equal(st.retry_after, 12);
	/* an HTTP date counts down from now */
	gmtime_r(&later, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	assert_int_equal(kube_status_from_response(503, "", 0, date, &st), SAQR_EBUSY);
	assert_in_range(st.retry_after, 100, 120);
	/* garbage and absurd values are ignored; other codes do not read it */
	assert_int_equal(kube_status_from_response(503, "", 0, "soon", &st), SAQR_EBUSY);
	assert_int_equal(st.retry_after, 0);
	assert_int_equal(kube_status_from_response(503, "", 0, "99999999", &st), SAQR_EBUSY);
	assert_int_equal(st.retry_after, 0);
	assert_int_equal(kube_status_from_response(500, "", 0, "5", &st), SAQR_EAPI);
	assert_int_equal(st.retry_after, 0);
}

static void test_bodies_that_are_not_status(void **state)
{
	const char *html = "<html>\r\n<body>502 Bad Gateway</body></html>";
	const char *list = "{\"kind\":\"ConfigMapList\",\"items\":[]}";
	struct kube_status st;

	(void)state;
	assert_int_equal(kube_status_from_response(502, html, strlen(html), NULL, &st), SAQR_EAPI);
	assert_string_equal(st.message, "<html>  <body>502 Bad Gateway</body></html>");
	assert_string_equal(st.reason, "");
	assert_int_equal(kube_status_from_response(404, "", 0, NULL, &st), SAQR_ENOTFOUND);
	assert_string_equal(st.message, "the server answered HTTP 404");
	assert_int_equal(kube_status_from_response(409, list, strlen(list), NULL, &st), SAQR_ECONFLICT);
	assert_int_equal(kube_status_from_response(418, "{", 1, NULL, NULL), SAQR_EAPI);
}

static void test_long_message_is_cut(void **state)
{
	struct kube_status st;
	char *body = malloc(5000);
	int n;

	(void)state;
	assert_non_null(body);
	n = snprintf(body, 5000,
		     "{\"kind\":\"Status\",\"reason\":\"%0100d\",\"message\":\"%04000d\",\"code\":422}", 1,
		     2);
	assert_int_equal(kube_status_from_response(422, body, (size_t)n, NULL, &st), SAQR_EINVALID);
	assert_int_equal(strlen(st.message), sizeof(st.message) - 1);
	assert_int_equal(strlen(st.reason), sizeof(st.reason) - 1);
	free(body);
}

static void test_status_object(void **state)
{
	json_t *obj = json_pack("{s:s, s:s, s:s, s:i}", "kind", "Status", "reason", "Expired", "message",
				"too old resource version: 5 (216)", "code", 410);
	struct kube_status st;

	(void)state;
	memset(&st, 0, sizeof(st));
	assert_int_equal(kube_status_from_object(obj, &st), 410);
	assert_int_equal(st.http_code, 410);
	assert_string_equal(st.reason, "Expired");
	assert_string_equal(st.message, "too old resource version: 5 (216)");
	assert_int_equal(kube_status_from_object(obj, NULL), 410);
	json_decref(obj);
	obj = json_object();
	assert_int_equal(kube_status_from_object(obj, &st), 0);
	json_decref(obj);
}

static void test_status_set(void **state)
{
	struct kube_status st;

	(void)state;
	memset(&st, 0x5a, sizeof(st));
	kube_status_set(&st, 0, "connect to %s failed", "127.0.0.1:1");
	assert_int_equal(st.http_code, 0);
	assert_string_equal(st.reason, "");
	assert_string_equal(st.message, "connect to 127.0.0.1:1 failed");
	assert_int_equal(st.retry_after, 0);
	kube_status_set(NULL, 0, "ignored");
	kube_status_clear(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_recorded_status_bodies),
	    cmocka_unit_test(test_success_codes),
	    cmocka_unit_test(test_transport_code_wins_over_body),
	    cmocka_unit_test(test_retry_after),
	    cmocka_unit_test(test_bodies_that_are_not_status),
	    cmocka_unit_test(test_long_message_is_cut),
	    cmocka_unit_test(test_status_object),
	    cmocka_unit_test(test_status_set),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
