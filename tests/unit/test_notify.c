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
	struct notify_sink sink = { .type = NOTIFY_ALERTMANAGER, .url = "http://am:9093/", .token = "t0k" };
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
	struct notify_sink sink = { .type = NOTIFY_WEBHOOK, .url = "http://hooks/saqr", .hmac_key = "k3y" };
	struct notify_event ev = sample_event(false);
	struct notify_request r;
	char err[256], hex[65], want[80];
	json_t *b;

	(void)state;
	assert_int_equal(notify_build(&sink, &ev, &r, err, sizeof(err)), 0);
	assert_string_equal(r.url, "http://hooks/saqr");
	notify_hmac_sha256_hex("k3y", r.body, strlen(r.body), hex);
	snprintf(want, sizeof(want), "sha256=%s", hex);
	assert_string_equal(header(&r, "X-Saqr-Signature-256"), want);
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
	struct notify_sink sink = { .type = NOTIFY_SERVICENOW, .url = "https://acme.service-now.com",
				    .username = "u", .password = "p" };
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
	struct notify_sink sink = { .type = NOTIFY_SERVICENOW, .url = "https://sn" };
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
	struct notify_sink sink = { .type = NOTIFY_PAGERDUTY, .url = "http://pd/v2/enqueue", .routing_key = "R1" };
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
	struct notify_sink sink = { .type = NOTIFY_WEBHOOK };
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
	struct notify_sink sink = { .type = NOTIFY_WEBHOOK, .url = "http://127.0.0.1:9/closed" };
	struct notify_event ev = sample_event(false);
	struct notify_request r;
	char err[256] = "";
	long code = -1;

	(void)state;
	assert_int_equal(notify_build(&sink, &ev, &r, err, sizeof(err)), 0);
	assert_int_equal(notify_send(&r, 2000, &code, NULL, err, sizeof(err)), SAQR_ETRANSPORT);
	assert_int_equal(code, 0);
	assert_true(strlen(err) > 0);
	notify_request_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alertmanager_trigger_and_resolve),
		cmocka_unit_test(test_webhook_is_signed),
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
