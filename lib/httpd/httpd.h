/* The HTTP(S) server Saqr's daemons share (libwebsockets): the webhook's AdmissionReview
 * endpoint and every daemon's /metrics, /healthz and /readyz.
 *
 * Thread-safety: httpd_start runs the server on its own thread(s); the handler is called on
 * those threads and must be thread-safe. httpd_stop may be called from any thread. */
#ifndef SAQR_HTTPD_HTTPD_H
#define SAQR_HTTPD_HTTPD_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

struct httpd_request {
	const char *method;	  /* "GET", "POST" */
	const char *path;	  /* without the query */
	const char *query;	  /* "" when none */
	const char *content_type; /* "" when none */
	const char *body;	  /* NUL-terminated, body_len bytes */
	size_t body_len;
};

struct httpd_response {
	int status;		  /* default 200 */
	const char *content_type; /* default "application/json"; must be a static string */
	struct buf body;	  /* the handler appends to it */
};

typedef void (*httpd_handler_fn)(void *ud, const struct httpd_request *req, struct httpd_response *resp);

#define HTTPD_DEFAULT_MAX_INFLIGHT ((size_t)32 << 20)
#define HTTPD_SMALL_BODY ((size_t)64 << 10)
#define HTTPD_DEFAULT_BODY_TIMEOUT 10

struct httpd_opts {
	const char *address;   /* "127.0.0.1", "0.0.0.0"; NULL: all */
	int port;	       /* 0: pick a free port (see httpd_port) */
	const char *cert_file; /* PEM; NULL with key_file NULL: plain HTTP */
	const char *key_file;
	const char *client_ca_file; /* when set, clients must present a certificate it signed */
	size_t max_body;	    /* larger bodies get 413/400 without reaching the handler */
	/* Request body bytes held across all connections and threads at once (0: the default,
	 * HTTPD_DEFAULT_MAX_INFLIGHT). Each POST reserves its Content-Length when its headers
	 * arrive, and gets 429 when that would pass the limit. The last quarter is kept for bodies
	 * of at most HTTPD_SMALL_BODY, so that large or slow requests cannot shut small ones out;
	 * at least 4/3 of max_body (else httpd_start fails with SAQR_EINVAL). */
	size_t max_inflight_bytes;
	/* Seconds a request body may take to arrive in full (0: HTTPD_DEFAULT_BODY_TIMEOUT); a
	 * slower one gets 408 and the connection is closed, giving its reservation back. */
	int body_timeout;
	int threads; /* service threads (0: 1) */
	httpd_handler_fn handler;
	void *ud;
};

struct httpd;

/* Start serving. 0, SAQR_EIO (cannot bind), SAQR_ETLS-like SAQR_ECONFIG (bad certificate),
 * SAQR_EINVAL (inconsistent options). */
int httpd_start(const struct httpd_opts *opts, struct httpd **out);
/* The bound port. */
int httpd_port(const struct httpd *h);
/* Request body bytes reserved right now, across all connections (for tests and metrics). */
size_t httpd_inflight_bytes(const struct httpd *h);
/* Re-read the certificate and key files (after rotation). 0 or SAQR_ECONFIG (old ones stay). */
int httpd_reload_tls(struct httpd *h);
/* Stop accepting, finish in-flight requests, join the threads and free. NULL is a no-op. */
void httpd_stop(struct httpd *h);

#endif
