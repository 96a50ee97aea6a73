/* Incident notifications to ITSM and alerting tools: Alertmanager (API v2), a generic JSON
 * webhook signed with HMAC-SHA256, ServiceNow (Table API) and PagerDuty (Events API v2).
 * Building a request is pure (unit-tested); sending it is one http_do (lib/http).
 *
 * Ownership: strings in the inputs are borrowed for the call. A notify_request owns its
 * fields; release it with notify_request_release. Credentials never appear in logs or
 * error messages produced here. */
#ifndef SAQR_NOTIFY_NOTIFY_H
#define SAQR_NOTIFY_NOTIFY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "http/netpolicy.h"

enum notify_sink_type {
	NOTIFY_ALERTMANAGER,
	NOTIFY_WEBHOOK,
	NOTIFY_SERVICENOW,
	NOTIFY_PAGERDUTY,
};

/* A sink and its credentials (read from the Secret named by the sink's secretRef):
 * alertmanager: token (optional bearer); webhook: hmacKey (optional, signs each delivery, see
 * notify_webhook_sign); servicenow: username + password (required, sent as HTTP basic auth);
 * pagerduty: routingKey (required). */
struct notify_sink {
	enum notify_sink_type type;
	const char *url; /* base URL (alertmanager, servicenow) or full URL (webhook, pagerduty) */
	const char *token;
	const char *hmac_key;
	const char *username;
	const char *password;
	const char *routing_key;
};

/* What happened. resolved selects the "resolve" form of each sink. */
struct notify_event {
	const char *incident_id; /* stable id; the dedup key everywhere */
	const char *reason;	 /* DriftDetected, SLOBreached, QualityDegraded */
	const char *severity;	 /* critical, warning, info */
	const char *summary;	 /* one line */
	const char *namespace;
	const char *policy;	 /* DriftPolicy name */
	const char *target;	 /* ModelDeployment name */
	const char *opened_at;	 /* RFC 3339 */
	const char *resolved_at; /* RFC 3339, when resolved */
	const char *external_id; /* the sink's own id from the trigger (ServiceNow sys_id) */
	const char *delivery_id; /* this notification's id (webhook X-Saqr-Delivery), the same on
				    every retry; NULL: incident_id */
	long long timestamp;	 /* Unix seconds of this attempt (webhook X-Saqr-Timestamp); 0: now */
	const json_t *details;	 /* extra JSON (feature scores...), may be NULL */
	bool resolved;
};

struct notify_request {
	char *method;
	char *url;
	char *body;
	char *headers[8]; /* "Name: value" lines, NULL-terminated */
	bool credential;  /* a header or the body carries a secret (never over http://) */
};

/* Parse "alertmanager", "webhook", "servicenow" or "pagerduty". 0 or SAQR_EINVAL. */
int notify_sink_type_parse(const char *s, enum notify_sink_type *out);
const char *notify_sink_type_name(enum notify_sink_type t);

/* Build the HTTP request for ev on sink into req (initialised here).
 * 0, SAQR_ENOMEM, or SAQR_ECONFIG when the sink lacks what it needs (message in err). */
int notify_build(const struct notify_sink *sink, const struct notify_event *ev, struct notify_request *req,
		 char *err, size_t errlen);
void notify_request_release(struct notify_request *req);

/* Hex HMAC-SHA256 of body with key into out (65 bytes). */
void notify_hmac_sha256_hex(const char *key, const char *body, size_t len, char out[65]);
/* The webhook signature: hex HMAC-SHA256 with key of "<timestamp>.<delivery>.<body>" (the
 * values of X-Saqr-Timestamp and X-Saqr-Delivery, then the raw body), so that a receiver can
 * refuse a replayed or re-dated delivery. 0, SAQR_ENOMEM or SAQR_ETOOBIG. */
int notify_webhook_sign(const char *key, const char *timestamp, const char *delivery, const char *body,
			size_t len, char out[65]);

/* Send req with a timeout under the outbound policy net (lib/http; NULL: none). 0 on a 2xx
 * answer; the response body (capped at 64 KiB) goes to resp when not NULL. SAQR_ETRANSPORT,
 * SAQR_EFORBIDDEN (the policy refused the address, or a credential over http://; nothing was
 * sent), SAQR_ETOOBIG (a larger answer), or SAQR_EAPI with *http_code set, otherwise; err names
 * the sink URL's host and the cause, never a credential. */
int notify_send(const struct notify_request *req, const struct http_netpolicy *net, long timeout_ms,
		long *http_code, struct buf *resp, char *err, size_t errlen);

/* From a sink's successful trigger response, the id to quote on resolve (ServiceNow's
 * result.sys_id); NULL when the sink has none. Caller frees. */
char *notify_external_id(enum notify_sink_type t, const char *response_body);

#endif
