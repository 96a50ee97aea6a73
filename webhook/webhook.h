/* saqr-webhook's HTTP surface: POST /validate (AdmissionReview through the policy engine),
 * GET /healthz, GET /readyz and GET /metrics. One JSON log line per decision; never the object.
 *
 * Metrics: saqr_admission_requests_total{kind,operation,decision},
 * saqr_admission_duration_seconds, saqr_policy_violations_total{rule} (with the reloader's
 * saqr_policy_reloads_total{result}). Thread-safety: webhook_handle runs on any number of
 * httpd threads at once. */
#ifndef SAQR_WEBHOOK_WEBHOOK_H
#define SAQR_WEBHOOK_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>

#include "common/metrics.h"
#include "httpd/httpd.h"
#include "webhook/reload.h"

#define WEBHOOK_MAX_BODY ((size_t)3 << 20) /* the apiserver's own request limit */

struct webhook_opts {
	struct reload *reload;	 /* where the policy comes from (borrowed, outlives the webhook) */
	struct metrics *metrics; /* borrowed; may be shared with the reloader */
	size_t max_body;	 /* 0: WEBHOOK_MAX_BODY */
};

struct webhook;

/* 0 or SAQR_ENOMEM / SAQR_EINVAL (no reloader or metrics). */
int webhook_new(const struct webhook_opts *opts, struct webhook **out);
/* NULL is a no-op. */
void webhook_free(struct webhook *wh);

/* Readiness: /readyz answers 200 only while serving is true (set it once the server listens
 * with its certificate, clear it when shutdown begins). The policy is always loaded: a webhook
 * cannot be made without one. */
void webhook_set_serving(struct webhook *wh, bool serving);

/* The httpd handler; ud is the struct webhook. */
void webhook_handle(void *ud, const struct httpd_request *req, struct httpd_response *resp);
/* The same without /validate (404), for the plain-HTTP metrics and probe port. */
void webhook_handle_ops(void *ud, const struct httpd_request *req, struct httpd_response *resp);

/* Decide one AdmissionReview body into resp: 200 with the reply, or 400 with a metav1.Status
 * naming what is wrong, or 500. Counted, timed and logged as webhook_handle does. */
void webhook_review(struct webhook *wh, const char *body, size_t len, struct httpd_response *resp);

#endif
