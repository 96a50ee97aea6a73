/* Saqr's one outbound HTTP client, over libcurl: a request (method, URL, header lines, an
 * optional body) with TLS (peer and host verified unless told otherwise, a CA bundle in memory
 * or in a file, a client certificate), connect and total timeouts and a hard cap on the
 * response body. http_do() returns the answer in an owned http_response.
 *
 * Callers that drive libcurl themselves (the Kubernetes client's pooled handles and its watch
 * streams) share the same handle set-up through http_setup() and http_outcome().
 *
 * An http_opts may carry an outbound policy (struct http_netpolicy): then every connection is
 * checked against the address it is about to open, after DNS, so that a name which resolves (or
 * re-resolves) to a refused address cannot reach it; and a credential is not sent over plain
 * http://. The callers that go where a user's object points (DriftPolicy sinks, Prometheus,
 * scrapes) set one; the Kubernetes client does not.
 *
 * Ownership: every pointer in http_tls, http_opts and http_request is borrowed for the call
 * (PEM data is copied into curl). An http_response is owned by the caller: http_response_free.
 * Error messages name the URL's host and the cause, never a header value (credentials). */
#ifndef SAQR_HTTP_HTTP_H
#define SAQR_HTTP_HTTP_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "http/netpolicy.h"

#define HTTP_CONNECT_TIMEOUT_MS 10000L	 /* default connect timeout */
#define HTTP_TIMEOUT_MS 30000L		 /* default time for the whole exchange */
#define HTTP_MAX_BODY ((size_t)16 << 20) /* default response body cap */
#define HTTP_MAX_HEADERS 100		 /* response headers kept by http_do */

/* Trust and identity. With a CA (ca_pem, else ca_file) only that bundle is trusted, not the
 * system's CA directory. Without one, the system store is used. */
struct http_tls {
	const char *ca_pem;   /* PEM bundle in memory; takes precedence over ca_file */
	size_t ca_len;	      /* bytes of ca_pem; 0: strlen(ca_pem) */
	const char *ca_file;  /* PEM bundle file */
	const char *cert_pem; /* client certificate (PEM in memory), else cert_file */
	const char *cert_file;
	const char *key_pem; /* its private key (PEM in memory), else key_file */
	const char *key_file;
	bool insecure;	    /* verify neither the chain nor the name (insecure-skip-tls-verify) */
	bool skip_hostname; /* verify the chain but not the name (pods reached by address) */
};

struct http_opts {
	struct http_tls tls;
	const struct http_netpolicy *net; /* NULL: no outbound policy (the API server's client) */
	long connect_timeout_ms;	  /* 0: HTTP_CONNECT_TIMEOUT_MS */
	long timeout_ms;		  /* whole exchange; 0: HTTP_TIMEOUT_MS; negative: none (streams) */
	size_t max_body;		  /* response body cap; 0: HTTP_MAX_BODY */
	const char *user_agent;		  /* NULL: none sent */
	bool compressed;		  /* offer gzip/deflate/br (Accept-Encoding) */
	bool keepalive;			  /* TCP keepalive probes, for long-lived connections */
};

struct http_request {
	const char *method;	    /* NULL: GET */
	const char *url;	    /* http:// or https:// only */
	const char *const *headers; /* "Name: value" lines, NULL-terminated; NULL: none */
	const char *body;	    /* NULL: none (POST/PUT/PATCH then send an empty body) */
	size_t body_len;	    /* bytes of body; 0 with a body: strlen(body) */
	bool credential;	    /* the body or a header carries a secret (see http_netpolicy) */
};

struct http_header {
	char *name;
	char *value;
};

/* An answer. Owns everything; free with http_response_free. */
struct http_response {
	long status;		     /* the HTTP status of the final response */
	struct buf body;	     /* NUL-terminated; at most the cap */
	struct http_header *headers; /* the final response's headers, at most HTTP_MAX_HEADERS */
	size_t nheaders;
};

/* Send req and wait for the whole answer. 0 when a response arrived, whatever its status
 * (see http_status_ok), with *out a new response. Otherwise *out is untouched and err holds
 * "<host>: <cause>": SAQR_EINVAL (no URL), SAQR_ENOMEM, SAQR_ECONFIG (libcurl refused an
 * option), SAQR_ETOOBIG (the body passed the cap), SAQR_EFORBIDDEN (opts->net refused the
 * address, or a credential over http://; nothing was sent) or SAQR_ETRANSPORT (DNS,
 * connection, TLS, timeout). opts may be NULL for the defaults. */
int http_do(const struct http_request *req, const struct http_opts *opts, struct http_response **out,
	    char *err, size_t errlen);
/* NULL is a no-op. */
void http_response_free(struct http_response *r);
/* The value of header name (case-insensitive) in r, or NULL. Borrowed from r. */
const char *http_response_header(const struct http_response *r, const char *name);
/* A 2xx status. */
bool http_status_ok(long status);

/* Append "Bearer <token>" (a header value) to v. SAQR_EINVAL when the token is NULL or has
 * control characters; SAQR_ENOMEM or SAQR_ETOOBIG from the buffer. */
int http_auth_bearer(const char *token, struct buf *v);
/* Append "Basic <base64(user:password)>" to v; the plain text is wiped after use. */
int http_auth_basic(const char *user, const char *password, struct buf *v);
/* A header value may not hold control characters (they would split the header). */
bool http_header_value_ok(const char *v);
/* Append s percent-escaped (RFC 3986 unreserved characters kept) to b. */
int http_add_escaped(struct buf *b, const char *s);
/* The host[:port] of url, for messages (never the path, query or user info). */
void http_url_host(const char *url, char *out, size_t outlen);

/* ---- for callers that drive libcurl themselves ---- */

/* Where a transfer's body goes: a capped buffer; too_big records that the cap was hit.
 * http_setup sets net from the options; refused records the first address it refused. */
struct http_sink {
	struct buf body;
	bool too_big;
	const struct http_netpolicy *net;
	char refused[160];
};

/* libcurl's global set-up, once per process. 0 or SAQR_ENOMEM. */
int http_global_init(void);
/* Append line to the list *l. 0 or SAQR_ENOMEM (*l unchanged). */
int http_slist_add(struct curl_slist **l, const char *line);
/* Set up h (fresh or reset) for url: protocols, no signals, errbuf (CURL_ERROR_SIZE bytes,
 * borrowed for the transfer), header list, user agent, timeouts, keepalive, compression, TLS
 * and the body into sink (whose buffer's max is set to the cap; the caller initialised it).
 * A caller may replace the write function afterwards (streams). CURLE_OK or what curl refused. */
CURLcode http_setup(CURL *h, const char *url, const struct http_opts *opts, struct curl_slist *hdrs,
		    struct http_sink *sink, char *errbuf);
/* Method and body of h: GET, HEAD, or any other method with body (body_len bytes; NULL: an
 * empty body for methods that carry one). body is borrowed for the transfer. */
CURLcode http_setup_method(CURL *h, const char *method, const char *body, size_t body_len);
/* libcurl write callback for an http_sink. */
size_t http_sink_write(char *p, size_t size, size_t n, void *sink);
/* What a finished transfer means: 0 (a response arrived), SAQR_ETOOBIG (sink over its cap),
 * SAQR_EFORBIDDEN (the policy refused every address) or SAQR_ETRANSPORT, with the cause in err
 * (no host). */
int http_outcome(CURLcode cc, const struct http_sink *sink, const char *errbuf, char *err, size_t errlen);

#endif
