/* Unit tests for lib/notify: the request each sink gets, signatures, and missing credentials. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "operator/driftpolicy/notify.h"

static struct notify_event sample_event(bool resolved)
{
	struct notify_event ev = {
	    .incident_id = "fraud-drift-20261126t1500z",
	    .reason = "DriftDetected",
	    .severity = "critical",
	    .summary = "feature age drifted (psi 0.31 >= 0.1)",
	    .namespace = "ml",
	    .policy = "fraud-drift",
	    .target = "fraud",
	    .opened_at = "2026-11-26T15:00:00Z",
	    .resolved_at = resolved ? "2026-11-26T16:00:00Z" : NULL,
	    .resolved = resolved,
	};
	return ev;
}

static const char *header(const struct notify_request *r, const char *name)
{
	size_t n = strlen(name);

	for (int i = 0; r->headers[i]; i++)
		if (strncmp(r->headers[i], name, n) == 0 && r->headers[i][n] == ':')
			return r->headers[i] + n + 2;
	return NULL;
}

static json_t *body(const struct notify_request *r)
{
	json_t *v = json_loads(r->body, 0, NULL);

	assert_non_null(v);
	return v;
}

static void test_alertmanager_trigger_and_resolve(void **state)
{
	struct notify_sink sink = {.type = NOTIFY_ALERTMANAGER, .url = "http://am:9093/", .token = "t0k"};
	struct notify_event ev = sample_event(false);
	struct notify_request r;
	char err[256];
	json_t *b;

	(void)state;
	assert_int_equal(notify_build(&sink, &ev, &r, err, sizeof(err)), 0);
	assert_string_equal(r.method, "POST");
	assert_string_equal(r.url, "http://am:9093/api/v2/alerts");
	assert_string_equal(header(&r, "Authorization"), "Bearer t0k");
	b = body(&r);
	assert_string_equal(json_path_str(b, "0.labels.alertname", ""), "DriftDetected");
	assert_string_equal(json_path_str(b, "0.labels.incident", ""), "fraud-drift-20261126t1500z");
	assert_string_equal(json_path_str(b, "0.labels.severity", ""), "critical");
	assert_string_equal(json_path_str(b, "0.startsAt", ""), "2026-11-26T15:00:00Z");
	assert_null(json_path(b, "0.endsAt"));
	json_decref(b);
	notify_request_release(&r);

	ev = sample_event(true);
	assert_int_equal(notify_build(&sink, &ev, &r, err, sizeof(err)), 0);
	b = body(&r);
	assert_string_equal(json_path_str(b, "0.endsAt", ""), "2026-11-26T16:00:00Z");
	json_decref(b);
	notify_request_release(&r);
}

static void test_webhook_is_signed(void **state)
{
	struct notify_sink sink = {.type = NOTIFY_WEBHOOK, .url = "http://hooks/saqr", .hmac_key = "k3y"};
	struct notify_event ev = sample_event(false);
	struct notify_request r;
	char err[256], hex[65], want[80];
	json_t *b;

	(void)state;
	ev.timestamp = 1795705200;
	assert_int_equal(notify_build(&sink, &ev, &r, err, sizeof(err)), 0);
	assert_string_equal(r.url, "http://hooks/saqr");
	assert_false(r.credential);
	/* the signature covers the timestamp and the delivery id, not the body alone */
	notify_hmac_sha256_hex("k3y", r.body, strlen(r.body), hex);
	snprintf(want, sizeof(want), "sha256=%s", hex);
	assert_string_not_equal(header(&r, "X-Saqr-Signature-256"), want);
	assert_int_equal(notify_webhook_sign("k3y", "1795705200", "fraud-drift-20261126t1500z", r.body,
					     strlen(r.body), hex),
			 0);
	snprintf(want, sizeof(want), "sha256=%s", hex);
	assert_string_equal(header(&r, "X-Saqr-Signature-256"), want);
	assert_string_equal(header(&r, "X-Saqr-Timestamp"), "1795705200");
	assert_string_equal(header(&r, "X-Saqr-Delivery"), "fraud-drift-20261126t1500z");
	b = body(&r);
	assert_string_equal(json_path_str(b, "event", ""), "incident.opened");
	assert_string_equal(json_path_str(b, "driftPolicy.name", ""), "fraud-drift");
	assert_string_equal(json_path_str(b, "modelDeployment.name", ""), "fraud");
	json_decref(b);
	notify_request_release(&r);
	/* A delivery id, when given, tells the trigger and the resolve of one incident apart. */
	ev.delivery_id = "fraud-drift-20261126t1500z/1/trigger";
	assert_int_equal(notify_build(&sink, &ev, &r, err, sizeof(err)), 0);
	assert_string_equal(header(&r, "X-Saqr-Delivery"), "fraud-drift-20261126t1500z/1/trigger");
	notify_request_release(&r);
}

/* A retry keeps the delivery id and signs its own time; a receiver that remembers delivery ids
 * and bounds the clock skew refuses a replay. A delivery id that would split a header is refused. */
static void test_webhook_retry_and_replay(void **state)
{
	struct notify_sink sink = {.type = NOTIFY_WEBHOOK, .url = "https://hooks/saqr", .hmac_key = "k3y"};
	struct notify_event ev = sample_event(false);
	struct notify_request a, b;
	char err[256], hex[65], want[80];

	(void)state;
	ev.delivery_id = "fraud-drift-20261126t1500z/0/trigger";
	ev.timestamp = 1795705200;
	assert_int_equal(notify_build(&sink, &ev, &a, err, sizeof(err)), 0);
	ev.timestamp = 1795705260;
	assert_int_equal(notify_build(&sink, &ev, &b, err, sizeof(err)), 0);
	assert_string_equal(header(&a, "X-Saqr-Delivery"), header(&b, "X-Saqr-Delivery"));
	assert_string_equal(header(&b, "X-Saqr-Timestamp"), "1795705260");
	assert_string_equal(a.body, b.body);
	assert_string_not_equal(header(&a, "X-Saqr-Signature-256"), header(&b, "X-Saqr-Signature-256"));
	/* an old signature does not verify under a new timestamp */
	assert_int_equal(notify_webhook_sign("k3y", "1795705260", header(&a, "X-Saqr-Delivery"), a.body,
					     strlen(a.body), hex),
			 0);
	snprintf(want, sizeof(want), "sha256=%s", hex);
	assert_string_not_equal(header(&a, "X-Saqr-Signature-256"), want);
	assert_string_equal(header(&b, "X-Saqr-Signature-256"), want);
	notify_request_release(&a);
	notify_request_release(&b);
	/* no key: still the delivery id and the timestamp, no signature */
	sink.hmac_key = NULL;
	assert_int_equal(notify_build(&sink, &ev, &a, err, sizeof(err)), 0);
	assert_non_null(header(&a, "X-Saqr-Timestamp"));
	assert_null(header(&a, "X-Saqr-Signature-256"));
	notify_request_release(&a);
	ev.delivery_id = "x\r\nX-Evil: 1";
	assert_int_equal(notify_build(&sink, &ev, &a, err, sizeof(err)), SAQR_ECONFIG);
	assert_non_null(strstr(err, "delivery id"));
}

/* Which requests carry a credential: they are never sent over http:// (lib/http refuses them). */
static void test_credentials_marked(void **state)
{
	struct notify_sink am = {.type = NOTIFY_ALERTMANAGER, .url = "http://am:9093", .token = "t0k"};
	struct notify_sink am_open = {.type = NOTIFY_ALERTMANAGER, .url = "http://am:9093"};
	struct notify_sink sn = {
	    .type = NOTIFY_SERVICENOW, .url = "http://sn", .username = "u", .password = "p"};
	struct notify_sink pd = {
	    .type = NOTIFY_PAGERDUTY, .url = "http://127.0.0.1:9/v2/enqueue", .routing_key = "R0UT1NG"};
	struct http_netpolicy loop = {.allow_loopback = true};
	struct notify_event ev = sample_event(false);
	struct notify_request r;
	char err[256] = "";
	long code = -1;

	(void)state;
	assert_int_equal(notify_build(&am, &ev, &r, err, sizeof(err)), 0);
	assert_true(r.credential);
	notify_request_release(&r);
	assert_int_equal(notify_build(&am_open, &ev, &r, err, sizeof(err)), 0);
	assert_false(r.credential);
	notify_request_release(&r);
	assert_int_equal(notify_build(&sn, &ev, &r, err, sizeof(err)), 0);
	assert_true(r.credential);
	notify_request_release(&r);
	assert_int_equal(notify_build(&pd, &ev, &r, err, sizeof(err)), 0);
	assert_true(r.credential);
	/* refused before any connection: the error names the URL's host, not the key */
	assert_int_equal(notify_send(&r, &loop, 2000, &code, NULL, err, sizeof(err)), SAQR_EFORBIDDEN);
	assert_non_null(strstr(err, "127.0.0.1:9"));
	assert_non_null(strstr(err, "plain http://"));
	assert_null(strstr(err, "R0UT1NG"));
	notify_request_release(&r);
}

static void test_hmac_known_vector(void **state)
{
	char hex[65];

	(void)state;
	/* RFC 4231, test case 2. */
	notify_hmac_sha256_hex("Jefe", "what do ya want for nothing?", 28, hex);
	assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void test_servicenow_create_and_resolve(void **state)
{
	struct notify_sink sink = {.type = NOTIFY_SERVICENOW,
				   .url = "https://acme.service-now.com",
				   .username = "u",
				   .password = "p"};
	struct notify_event ev = sample_event(false);
	struct notify_request r;
	char err[256];
	json_t *b;

	(void)state;
	assert_int_equal(notify_build(&sink, &ev, &r, err, sizeof(err)), 0);
	assert_string_equal(r.url, "https://acme.service-now.com/api/now/table/incident");
	assert_string_equal(header(&r, "Authorization"), "Basic dTpw"); /* base64("u:p") */
	b = body(&r);
	assert_string_equal(json_path_str(b, "urgency", ""), "1");
	assert_string_equal(json_path_str(b, "correlation_id", ""), "fraud-drift-20261126t1500z");
	json_decref(b);
	notify_request_release(&r);

	ev = sample_event(true);
	assert_int_equal(notify_build(&sink, &ev, &r, err, sizeof(err)), SAQR_ECONFIG);
	assert_non_null(strstr(err, "sys_id"));
	ev.external_id = "abc123";
	assert_int_equal(notify_build(&sink, &ev, &r, err, sizeof(err)), 0);
	assert_string_equal(r.method, "PATCH");
	assert_string_equal(r.url, "https://acme.service-now.com/api/now/table/incident/abc123");
	notify_request_release(&r);
}

static void test_servicenow_needs_credentials(void **state)
{
	struct notify_sink sink = {.type = NOTIFY_SERVICENOW, .url = "https://sn"};
	struct notify_event ev = sample_event(false);
	struct notify_request r;
	char err[256];

	(void)state;
	assert_int_equal(notify_build(&sink, &ev, &r, err, sizeof(err)), SAQR_ECONFIG);
	assert_non_null(strstr(err, "username and password"));
	assert_null(r.body);
}

static void test_pagerduty(void **state)
{
	struct notify_sink sink = {
	    .type = NOTIFY_PAGERDUTY, .url = "http://pd/v2/enqueue", .routing_key = "R1"};
	struct notify_event ev = sample_event(false);
	struct notify_request r;
	char err[256];
	json_t *b;

	(void)state;
	assert_int_equal(notify_build(&sink, &ev, &r, err, sizeof(err)), 0);
	b = body(&r);
	assert_string_equal(json_path_str(b, "routing_key", ""), "R1");
	assert_string_equal(json_path_str(b, "event_action", ""), "trigger");
	assert_string_equal(json_path_str(b, "dedup_key", ""), "fraud-drift-20261126t1500z");
	assert_string_equal(json_path_str(b, "payload.severity", ""), "critical");
	json_decref(b);
	notify_request_release(&r);

	ev = sample_event(true);
	assert_int_equal(notify_build(&sink, &ev, &r, err, sizeof(err)), 0);
	b = body(&r);
	assert_string_equal(json_path_str(b, "event_action", ""), "resolve");
	assert_null(json_path(b, "payload"));
	json_decref(b);
	notify_request_release(&r);

	sink.routing_key = NULL;
	assert_int_equal(notify_build(&sink, &ev, &r, err, sizeof(err)), SAQR_ECONFIG);
	assert_non_null(strstr(err, "routingKey"));
}

static void test_missing_url_and_type_names(void **state)
{
	struct notify_sink sink = {.type = NOTIFY_WEBHOOK};
	struct notify_event ev = sample_event(false);
	struct notify_request r;
	enum notify_sink_type t;
	char err[256];

	(void)state;
	assert_int_equal(notify_build(&sink, &ev, &r, err, sizeof(err)), SAQR_ECONFIG);
	assert_string_equal(err, "webhook: url is required");
	assert_int_equal(notify_sink_type_parse("pagerduty", &t), 0);
	assert_int_equal(t, NOTIFY_PAGERDUTY);
	assert_int_equal(notify_sink_type_parse("slack", &t), SAQR_EINVAL);
	assert_string_equal(notify_sink_type_name(NOTIFY_ALERTMANAGER), "alertmanager");
}

static void test_external_id(void **state)
{
	char *id;

	(void)state;
	id = notify_external_id(NOTIFY_SERVICENOW, "{\"result\":{\"sys_id\":\"9d3\",\"number\":\"INC001\"}}");
	assert_string_equal(id, "9d3");
	free(id);
	assert_null(notify_external_id(NOTIFY_SERVICENOW, "not json"));
	assert_null(notify_external_id(NOTIFY_WEBHOOK, "{}"));
}

static void test_send_transport_error(void **state)
{
	static const struct http_netpolicy strict;
	struct notify_sink sink = {.type = NOTIFY_WEBHOOK, .url = "http://127.0.0.1:9/closed"};
	struct notify_event ev = sample_event(false);
	struct notify_request r;
	char err[256] = "";
	long code = -1;

	(void)state;
	assert_int_equal(notify_build(&sink, &ev, &r, err, sizeof(err)), 0);
	assert_int_equal(notify_send(&r, NULL, 2000, &code, NULL, err, sizeof(err)), SAQR_ETRANSPORT);
	assert_int_equal(code, 0);
	assert_true(strlen(err) > 0);
	/* the default policy refuses loopback: nothing is attempted */
	assert_int_equal(notify_send(&r, &strict, 2000, &code, NULL, err, sizeof(err)), SAQR_EFORBIDDEN);
	assert_non_null(strstr(err, "loopback"));
	notify_request_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_alertmanager_trigger_and_resolve),
	    cmocka_unit_test(test_webhook_is_signed),
	    cmocka_unit_test(test_webhook_retry_and_replay),
	    cmocka_unit_test(test_credentials_marked),
	    cmocka_unit_test(test_hmac_known_vector),
	    cmocka_unit_test(test_servicenow_create_and_resolve),
	    cmocka_unit_test(test_servicenow_needs_credentials),
	    cmocka_unit_test(test_pagerduty),
	    cmocka_unit_test(test_missing_url_and_type_names),
	    cmocka_unit_test(test_external_id),
	    cmocka_unit_test(test_send_transport_error),
	};

	return cmocka_run_group_tests_name("notify", tests, NULL, NULL);
}
