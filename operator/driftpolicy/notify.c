/* Builds and sends incident notifications. Each sink has a builder that fills method, URL,
 * headers and a JSON body from the event; notify_send is the only function that does I/O. */
#include "operator/driftpolicy/notify.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "http/http.h"

#define NOTIFY_MAX_RESPONSE (64u * 1024)

static const char *const notify_names[] = {"alertmanager", "webhook", "servicenow", "pagerduty"};

int notify_sink_type_parse(const char *s, enum notify_sink_type *out)
{
	for (int i = 0; i < 4; i++) {
		if (s && strcmp(s, notify_names[i]) == 0) {
			*out = (enum notify_sink_type)i;
			return 0;
		}
	}
	return SAQR_EINVAL;
}

const char *notify_sink_type_name(enum notify_sink_type t)
{
	return (unsigned)t < 4 ? notify_names[t] : "unknown";
}

void notify_request_release(struct notify_request *req)
{
	if (!req)
		return;
	free(req->method);
	free(req->url);
	free(req->body);
	for (size_t i = 0; i < sizeof(req->headers) / sizeof(req->headers[0]); i++)
		free(req->headers[i]);
	memset(req, 0, sizeof(*req));
}

static int notify_header(struct notify_request *req, const char *name, const char *value)
{
	struct buf b;
	size_t n = sizeof(req->headers) / sizeof(req->headers[0]);

	if (!http_header_value_ok(value))
		return SAQR_EINVAL;
	for (size_t i = 0; i + 1 < n; i++) {
		if (req->headers[i])
			continue;
		buf_init(&b, 8192);
		if (buf_addf(&b, "%s: %s", name, value)) {
			buf_release(&b);
			return SAQR_ENOMEM;
		}
		req->headers[i] = buf_detach(&b);
		return 0;
	}
	return SAQR_ETOOBIG;
}

/* Join a base URL and a path without doubling the slash. */
static char *notify_join(const char *base, const char *path)
{
	struct buf b;
	size_t n = strlen(base);

	buf_init(&b, 8192);
	while (n && base[n - 1] == '/')
		n--;
	if (buf_add(&b, base, n) || buf_adds(&b, path)) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b);
}

static const char *notify_str(const char *s)
{
	return s ? s : "";
}

static json_t *notify_alertmanager_body(const struct notify_event *ev)
{
	json_t *alert = json_pack(
	    "{s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s}, s:{s:s, s:s}, s:s}", "labels", "alertname",
	    ev->reason ? ev->reason : "SaqrIncident", "namespace", notify_str(ev->namespace), "driftpolicy",
	    notify_str(ev->policy), "modeldeployment", notify_str(ev->target), "severity",
	    ev->severity ? ev->severity : "warning", "incident", notify_str(ev->incident_id), "source",
	    "saqr", "annotations", "summary", notify_str(ev->summary), "description", notify_str(ev->summary),
	    "startsAt", notify_str(ev->opened_at));

	if (alert && ev->resolved)
		json_object_set_new(alert, "endsAt", json_string(notify_str(ev->resolved_at)));
	return alert ? json_pack("[o]", alert) : NULL;
}

static json_t *notify_webhook_body(const struct notify_event *ev)
{
	json_t *body = json_pack(
	    "{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s}, s:{s:s, s:s}, s:{s:s}}", "version", "saqr.dev/v1alpha1",
	    "event", ev->resolved ? "incident.resolved" : "incident.opened", "incident", "id",
	    notify_str(ev->incident_id), "reason", notify_str(ev->reason), "severity",
	    ev->severity ? ev->severity : "warning", "summary", notify_str(ev->summary), "openedAt",
	    notify_str(ev->opened_at), "driftPolicy", "namespace", notify_str(ev->namespace), "name",
	    notify_str(ev->policy), "modelDeployment", "name", notify_str(ev->target));

	if (body && ev->resolved)
		json_object_set_new(json_object_get(body, "incident"), "resolvedAt",
				    json_string(notify_str(ev->resolved_at)));
	if (body && ev->details)
		json_object_set(body, "details", (json_t *)ev->details);
	return body;
}

static const char *notify_sn_urgency(const char *severity)
{
	if (severity && strcmp(severity, "critical") == 0)
		return "1";
	if (severity && strcmp(severity, "info") == 0)
		return "3";
	return "2";
}

static json_t *notify_servicenow_body(const struct notify_event *ev)
{
	json_t *body;
	char *details = ev->details ? json_dumps(ev->details, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	if (ev->resolved)
		body = json_pack("{s:s, s:s, s:s}", "state", "6", "close_code", "Resolved by caller",
				 "close_notes", notify_str(ev->summary));
	else
		body =
		    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "short_description", notify_str(ev->summary),
			      "description", details ? details : notify_str(ev->summary), "urgency",
			      notify_sn_urgency(ev->severity), "impact", notify_sn_urgency(ev->severity),
			      "correlation_id", notify_str(ev->incident_id), "category", "software");
	free(details);
	return body;
}

static const char *notify_pd_severity(const char *severity)
{
	if (severity && (strcmp(severity, "critical") == 0 || strcmp(severity, "error") == 0 ||
			 strcmp(severity, "info") == 0))
		return severity;
	return "warning";
}

static json_t *notify_pagerduty_body(const struct notify_sink *sink, const struct notify_event *ev)
{
	json_t *body =
	    json_pack("{s:s, s:s, s:s}", "routing_key", notify_str(sink->routing_key), "event_action",
		      ev->resolved ? "resolve" : "trigger", "dedup_key", notify_str(ev->incident_id));

	if (body && !ev->resolved) {
		json_t *payload =
		    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "summary", notify_str(ev->summary), "source",
			      notify_str(ev->target), "severity", notify_pd_severity(ev->severity),
			      "component", notify_str(ev->target), "group", notify_str(ev->namespace),
			      "class", notify_str(ev->reason));

		if (payload && ev->details)
			json_object_set(payload, "custom_details", (json_t *)ev->details);
		json_object_set_new(body, "payload", payload);
	}
	return body;
}

static int notify_route(const struct notify_sink *sink, const struct notify_event *ev,
			struct notify_request *req, char *err, size_t errlen)
{
	struct buf path;
	int rc = 0;

	buf_init(&path, 4096);
	switch (sink->type) {
	case NOTIFY_ALERTMANAGER:
		rc = buf_adds(&path, "/api/v2/alerts");
		break;
	case NOTIFY_SERVICENOW:
		if (ev->resolved && !ev->external_id) {
			snprintf(err, errlen,
				 "servicenow: no sys_id recorded for incident %s; cannot resolve",
				 notify_str(ev->incident_id));
			rc = SAQR_ECONFIG;
			break;
		}
		rc = ev->resolved ? buf_addf(&path, "/api/now/table/incident/%s", ev->external_id)
				  : buf_adds(&path, "/api/now/table/incident");
		break;
	default:
		break;
	}
	if (!rc) {
		req->url = notify_join(sink->url, buf_str(&path));
		req->method = strdup(sink->type == NOTIFY_SERVICENOW && ev->resolved ? "PATCH" : "POST");
		if (!req->url || !req->method)
			rc = SAQR_ENOMEM;
	}
	buf_release(&path);
	return rc;
}

/* The webhook's delivery headers: its id (the same on every retry), the time of this attempt,
 * and with a key the signature over both and the body. */
static int notify_webhook_headers(const struct notify_sink *sink, const struct notify_event *ev,
				  struct notify_request *req)
{
	const char *delivery = ev->delivery_id ? ev->delivery_id : notify_str(ev->incident_id);
	char ts[32], hex[65], sig[80];
	int rc;

	snprintf(ts, sizeof(ts), "%lld", ev->timestamp > 0 ? ev->timestamp : (long long)time(NULL));
	rc = notify_header(req, "X-Saqr-Delivery", delivery);
	rc = rc ? rc : notify_header(req, "X-Saqr-Timestamp", ts);
	if (rc || !sink->hmac_key)
		return rc;
	rc = notify_webhook_sign(sink->hmac_key, ts, delivery, req->body, strlen(req->body), hex);
	snprintf(sig, sizeof(sig), "sha256=%s", hex);
	return rc ? rc : notify_header(req, "X-Saqr-Signature-256", sig);
}

static int notify_auth(const struct notify_sink *sink, struct notify_request *req, char *err, size_t errlen)
{
	struct buf v;
	int rc = 0;

	buf_init(&v, 8192);
	if (sink->type == NOTIFY_ALERTMANAGER && sink->token) {
		req->credential = true;
		rc = http_auth_bearer(sink->token, &v);
		if (rc == SAQR_EINVAL)
			rc = saqr_fail(SAQR_ECONFIG, err, errlen,
				       "alertmanager: the token has control characters");
		rc = rc ? rc : notify_header(req, "Authorization", buf_str(&v));
	} else if (sink->type == NOTIFY_SERVICENOW) {
		req->credential = true;
		if (!sink->username || !sink->password) {
			snprintf(err, errlen, "servicenow: the secret needs keys username and password");
			rc = SAQR_ECONFIG;
		} else {
			rc = http_auth_basic(sink->username, sink->password, &v);
			rc = rc ? rc : notify_header(req, "Authorization", buf_str(&v));
		}
	} else if (sink->type == NOTIFY_PAGERDUTY) {
		req->credential = true; /* the routing key is in the body */
		if (!sink->routing_key) {
			snprintf(err, errlen, "pagerduty: the secret needs key routingKey");
			rc = SAQR_ECONFIG;
		}
	}
	buf_release(&v);
	return rc;
}

int notify_build(const struct notify_sink *sink, const struct notify_event *ev, struct notify_request *req,
		 char *err, size_t errlen)
{
	json_t *body = NULL;
	int rc;

	memset(req, 0, sizeof(*req));
	if (!sink->url || !*sink->url) {
		snprintf(err, errlen, "%s: url is required", notify_sink_type_name(sink->type));
		return SAQR_ECONFIG;
	}
	switch (sink->type) {
	case NOTIFY_ALERTMANAGER:
		body = notify_alertmanager_body(ev);
		break;
	case NOTIFY_WEBHOOK:
		body = notify_webhook_body(ev);
		break;
	case NOTIFY_SERVICENOW:
		body = notify_servicenow_body(ev);
		break;
	case NOTIFY_PAGERDUTY:
		body = notify_pagerduty_body(sink, ev);
		break;
	}
	req->body = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(body);
	rc = req->body ? notify_route(sink, ev, req, err, errlen) : SAQR_ENOMEM;
	if (!rc)
		rc = notify_header(req, "Content-Type", "application/json");
	if (!rc)
		rc = notify_header(req, "User-Agent", "saqr-operator");
	if (!rc && sink->type == NOTIFY_WEBHOOK) {
		rc = notify_webhook_headers(sink, ev, req);
		if (rc == SAQR_EINVAL)
			rc = saqr_fail(SAQR_ECONFIG, err, errlen,
				       "webhook: the delivery id has control characters");
	}
	if (!rc)
		rc = notify_auth(sink, req, err, errlen);
	if (rc)
		notify_request_release(req);
	return rc;
}

int notify_webhook_sign(const char *key, const char *timestamp, const char *delivery, const char *body,
			size_t len, char out[65])
{
	struct buf signed_text;
	int rc;

	buf_init(&signed_text, len + 1024);
	rc = buf_addf(&signed_text, "%s.%s.", timestamp, delivery);
	rc = rc ? rc : buf_add(&signed_text, body, len);
	if (!rc)
		notify_hmac_sha256_hex(key, buf_str(&signed_text), signed_text.len, out);
	buf_release(&signed_text);
	return rc;
}

void notify_hmac_sha256_hex(const char *key, const char *body, size_t len, char out[65])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)body, len, mac, &maclen);
	for (unsigned int i = 0; i < maclen && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", mac[i]);
	out[64] = '\0';
}

int notify_send(const struct notify_request *req, const struct http_netpolicy *net, long timeout_ms,
		long *http_code, struct buf *resp, char *err, size_t errlen)
{
	struct http_request hr = {.method = req->method,
				  .url = req->url,
				  .body = req->body,
				  .headers = (const char *const *)req->headers,
				  .credential = req->credential};
	struct http_opts o = {.connect_timeout_ms = timeout_ms,
			      .timeout_ms = timeout_ms,
			      .max_body = NOTIFY_MAX_RESPONSE,
			      .net = net};
	struct http_response *r = NULL;
	int rc;

	if (http_code)
		*http_code = 0;
	rc = http_do(&hr, &o, &r, err, errlen);
	if (rc || !r)
		return rc ? rc : SAQR_ENOMEM;
	if (http_code)
		*http_code = r->status;
	if (resp && r->body.len)
		rc = buf_add(resp, r->body.data, r->body.len);
	if (!http_status_ok(r->status))
		rc = saqr_fail(SAQR_EAPI, err, errlen, "the sink answered HTTP %ld", r->status);
	http_response_free(r);
	return rc;
}

char *notify_external_id(enum notify_sink_type t, const char *response_body)
{
	json_t *v;
	const char *id;
	char *out = NULL;

	if (t != NOTIFY_SERVICENOW || !response_body)
		return NULL;
	v = json_loads(response_body, 0, NULL);
	id = json_string_value(json_object_get(json_object_get(v, "result"), "sys_id"));
	if (id)
		out = strdup(id);
	json_decref(v);
	return out;
}
