/* A recording HTTP/1.1 receiver for tests: listens on 127.0.0.1 (a free port), accepts any
 * method (PATCH too, which lib/httpd does not serve), records each request (method, path with
 * query, headers, body) and answers with the status and body the test set, one connection at a
 * time, closing it after the answer. Stands in for the sinks of a DriftPolicy (Alertmanager,
 * webhook, ServiceNow, PagerDuty) and for a Prometheus API. Thread-safe. */
#ifndef SAQR_TESTS_HTTPRECV_H
#define SAQR_TESTS_HTTPRECV_H

#include <jansson.h>
#include <stddef.h>

struct httprecv;

/* Start on a free port answering 200 with an empty body. 0 or -1. */
int httprecv_start(struct httprecv **out);
/* Stop the thread and free everything. NULL is a no-op. */
void httprecv_stop(struct httprecv *r);
int httprecv_port(const struct httprecv *r);
/* "http://127.0.0.1:<port>" into out. */
void httprecv_url(const struct httprecv *r, char *out, size_t outlen);

/* Answer the next requests with status and body (copied; NULL: empty). */
void httprecv_reply(struct httprecv *r, int status, const char *body);
/* Refuse connections (close the listening socket) or accept them again: a sink that is down. */
void httprecv_set_down(struct httprecv *r, int down);

/* How many requests were recorded (answered with any status). */
size_t httprecv_count(struct httprecv *r);
/* A copy of request i: {"method", "path", "headers": {lower-case name: value}, "body",
 * "status": what was answered}. New reference, or NULL when there is no such request. */
json_t *httprecv_request(struct httprecv *r, size_t i);
/* Forget the recorded requests. */
void httprecv_clear(struct httprecv *r);

#endif
