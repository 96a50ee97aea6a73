/* The shared HTTP(S) server, on libwebsockets 4.1.
 *
 * Debian builds lws with one service thread per context (LWS_MAX_SMP 1), so each worker thread
 * owns a whole lws_context with its own listening socket on the same address and port
 * (SO_REUSEPORT; lws 4.1 sets that only for multi-threaded contexts, so the socket is ours and
 * lws watches it as a raw descriptor whose connections we accept and hand to lws). The kernel
 * spreads connections over the workers; a request is handled on the thread that owns its
 * connection. The serving certificate is not given to lws: OpenSSL's certificate callback
 * installs, per handshake, the pair httpd_reload_tls last checked and swapped in under a mutex,
 * so a rotation needs nothing from the service threads. */
#include "httpd/httpd.h"

#include <errno.h>
#include <libwebsockets.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "httpd/tls.h"

#define HTTPD_DEFAULT_MAX_BODY ((size_t)3 << 20)
#define HTTPD_MAX_RESPONSE ((size_t)32 << 20)
#define HTTPD_HEADER_MAX 8192
#define HTTPD_PATH_MAX 1024
#define HTTPD_QUERY_MAX 1024
#define HTTPD_CTYPE_MAX 128
#define HTTPD_HEAD_ROOM 1024			/* status line and headers */
#define HTTPD_POOL_MAX 64			/* idle exchanges kept per worker */
#define HTTPD_KEEP_BODY_BUF ((size_t)256 << 10) /* larger body buffers are not kept idle */
#define HTTPD_KEEPALIVE_SECS 120		/* beyond Go's 90 s idle timeout: the client closes first */
#define HTTPD_TIMEOUT_SECS 10
#define HTTPD_FD_LIMIT 8192
#define HTTPD_READ_BUF 16384
#define HTTPD_BACKLOG 1024
#define HTTPD_ACCEPT_BATCH 64

#define HTTPD_TLS12_CIPHERS                                                                                  \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"           \
	"ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

/* One request being received or answered; pooled per worker so that buffers are reused. */
struct httpd_exchange {
	struct httpd_exchange *next;
	struct buf body;
	const char *method;
	char path[HTTPD_PATH_MAX];
	char query[HTTPD_QUERY_MAX];
	char content_type[HTTPD_CTYPE_MAX];
	size_t reserved; /* body bytes counted in httpd.inflight_bytes */
	bool receiving;	 /* headers read, body not yet complete: the body deadline runs */
};

/* lws's per-transaction user data. */
struct httpd_pss {
	struct httpd_exchange *ex;
};

/* One service thread and its lws_context. The first group is set up before the thread starts;
 * the second is touched only by the service thread itself. */
struct httpd_worker {
	struct httpd *h;
	struct lws_context *ctx;
	struct lws_vhost *vhost;
	pthread_t thread;
	bool running;

	int listen_fd;		/* owned by listen_wsi once adopted */
	struct lws *listen_wsi; /* NULL once closed */
	bool deprecated;	/* listening stopped for shutdown */
	int inflight;		/* exchanges between request and response */
	struct httpd_exchange *pool;
	size_t npool;
	unsigned char *out; /* LWS_PRE + headers + body */
	size_t out_cap;
	struct httpd_response resp;
};

struct httpd {
	char *address;
	char *cert_file;
	char *key_file;
	char *client_ca_file;
	size_t max_body;
	size_t max_inflight;	/* body bytes across all connections */
	size_t small_reserve;	/* of which this much only for bodies <= HTTPD_SMALL_BODY */
	atomic_size_t inflight; /* body bytes reserved now */
	int body_timeout;	/* seconds */
	httpd_handler_fn handler;
	void *ud;
	int port;
	atomic_bool stopping;
	pthread_mutex_t certs_lock;
	struct httpd__certs *certs; /* NULL for plain HTTP */
	SSL_CTX *client_ctx;	    /* given to lws so that it makes none of its own (see httpd__info) */
	struct httpd_worker *workers;
	int nworkers;
};

static char *httpd__strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* lws's own log lines become ours: errors as warnings (a client that hangs up mid-handshake is
 * not our error), the rest only at debug. */
static void httpd__lws_log(int level, const char *line)
{
	char msg[512];
	size_t n;

	snprintf(msg, sizeof(msg), "%s", line);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_kv(level == LLL_ERR ? LOG_LVL_WARN : LOG_LVL_DEBUG, "libwebsockets", "detail", msg, (char *)NULL);
}

static void httpd__lws_log_init(void)
{
	lws_set_log_level(LLL_ERR | LLL_WARN, httpd__lws_log);
}

static struct httpd_worker *httpd__worker(struct lws *wsi)
{
	return lws_context_user(lws_get_context(wsi));
}

/* ---- exchanges ---- */

static struct httpd_exchange *httpd__exchange_get(struct httpd_worker *w)
{
	struct httpd_exchange *ex = w->pool;

	if (ex) {
		w->pool = ex->next;
		w->npool--;
	} else {
		ex = malloc(sizeof(*ex));
		if (!ex)
			return NULL;
		buf_init(&ex->body, w->h->max_body);
	}
	ex->next = NULL;
	buf_reset(&ex->body);
	ex->method = "";
	ex->path[0] = ex->query[0] = ex->content_type[0] = '\0';
	ex->reserved = 0;
	ex->receiving = false;
	w->inflight++;
	return ex;
}

static void httpd__exchange_free(struct httpd_exchange *ex)
{
	buf_release(&ex->body);
	free(ex);
}

static void httpd__exchange_done(struct httpd_worker *w, struct httpd_pss *pss)
{
	struct httpd_exchange *ex = pss ? pss->ex : NULL;

	if (!ex)
		return;
	pss->ex = NULL;
	w->inflight--;
	atomic_fetch_sub(&w->h->inflight, ex->reserved);
	if (w->npool >= HTTPD_POOL_MAX) {
		httpd__exchange_free(ex);
		return;
	}
	if (ex->body.cap > HTTPD_KEEP_BODY_BUF)
		buf_release(&ex->body);
	ex->next = w->pool;
	w->pool = ex;
	w->npool++;
}

/* ---- responses ---- */

static int httpd__out_reserve(struct httpd_worker *w, size_t need)
{
	unsigned char *p;

	if (need <= w->out_cap)
		return 0;
	p = realloc(w->out, need);
	if (!p)
		return SAQR_ENOMEM;
	w->out = p;
	w->out_cap = need;
	return 0;
}

static int httpd__headers(struct lws *wsi, int status, const char *ctype, size_t len, bool close,
			  unsigned char **p, unsigned char *end)
{
	static const char conn_close[] = "close";
	static const char allow[] = "GET, POST";

	if (lws_add_http_common_headers(wsi, (unsigned int)status, ctype, len, p, end))
		return -1;
	if (status == 405 &&
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"allow:", (const unsigned char *)allow,
					(int)strlen(allow), p, end))
		return -1;
	if (close &&
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION, (const unsigned char *)conn_close,
					 (int)strlen(conn_close), p, end))
		return -1;
	return lws_finalize_http_header(wsi, p, end) ? -1 : 0;
}

/* Write status line, headers and body in one lws_write; lws keeps what the socket does not
 * take at once and flushes it before anything else (and before a close). */
static int httpd__write(struct httpd_worker *w, struct lws *wsi, int status, const char *ctype,
			const char *body, size_t len, bool close)
{
	unsigned char *start, *p, *end;
	size_t total;

	if (httpd__out_reserve(w, LWS_PRE + HTTPD_HEAD_ROOM + len))
		return -1;
	start = p = w->out + LWS_PRE;
	end = w->out + LWS_PRE + HTTPD_HEAD_ROOM;
	if (httpd__headers(wsi, status, ctype, len, close, &p, end))
		return -1;
	if (len)
		memcpy(p, body, len);
	total = (size_t)(p - start) + len;
	return lws_write(wsi, start, total, LWS_WRITE_HTTP_FINAL) == (int)total ? 0 : -1;
}

/* Answer, release the exchange and either keep the connection for the next request or close it
 * (return -1: lws flushes what is pending, then closes). */
static int httpd__finish(struct httpd_worker *w, struct lws *wsi, struct httpd_pss *pss, int status,
			 const char *ctype, const struct buf *body, bool close)
{
	int rc;

	close = close || atomic_load(&w->h->stopping);
	if (pss && pss->ex && pss->ex->receiving)
		lws_set_timer_usecs(wsi, LWS_SET_TIMER_USEC_CANCEL);
	rc = httpd__write(w, wsi, status, ctype, buf_str(body), body->len, close);
	httpd__exchange_done(w, pss);
	if (rc || close)
		return -1;
	/* pss is freed by lws from here on */
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* A metav1.Status-shaped JSON error, which is what Kubernetes clients expect to read. */
static void httpd__status_body(struct buf *out, int code, const char *reason, const char *message)
{
	json_t *st =
	    json_pack("{s:s, s:s, s:{}, s:s, s:s, s:s, s:i}", "kind", "Status", "apiVersion", "v1",
		      "metadata", "status", "Failure", "message", message, "reason", reason, "code", code);
	char *text = st ? json_dumps(st, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	buf_reset(out);
	if (!text || buf_adds(out, text))
		buf_reset(out);
	free(text);
	json_decref(st);
}

static int httpd__fail(struct httpd_worker *w, struct lws *wsi, struct httpd_pss *pss, int code,
		       const char *reason, const char *message, bool close)
{
	httpd__status_body(&w->resp.body, code, reason, message);
	return httpd__finish(w, wsi, pss, code, "application/json", &w->resp.body, close);
}

/* ---- requests ---- */

static const char *httpd__method(struct lws *wsi)
{
	if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI))
		return "GET";
	if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI))
		return "POST";
	return NULL;
}

static void httpd__copy_query(struct lws *wsi, char *out, size_t outlen)
{
	char frag[HTTPD_QUERY_MAX];
	size_t used = 0;

	out[0] = '\0';
	for (int i = 0; lws_hdr_copy_fragment(wsi, frag, sizeof(frag), WSI_TOKEN_HTTP_URI_ARGS, i) > 0; i++) {
		int w = snprintf(out + used, outlen - used, "%s%s", used ? "&" : "", frag);

		if (w < 0 || (size_t)w >= outlen - used)
			break;
		used += (size_t)w;
	}
}

static void httpd__fill(struct httpd_exchange *ex, struct lws *wsi, const char *method, const char *uri)
{
	ex->method = method;
	snprintf(ex->path, sizeof(ex->path), "%s", uri ? uri : "/");
	httpd__copy_query(wsi, ex->query, sizeof(ex->query));
	if (lws_hdr_copy(wsi, ex->content_type, sizeof(ex->content_type), WSI_TOKEN_HTTP_CONTENT_TYPE) < 0)
		ex->content_type[0] = '\0';
}

static int httpd__dispatch(struct httpd_worker *w, struct lws *wsi, struct httpd_pss *pss)
{
	struct httpd_exchange *ex = pss->ex;
	struct httpd_response *resp = &w->resp;
	struct httpd_request req = {
	    .method = ex->method,
	    .path = ex->path,
	    .query = ex->query,
	    .content_type = ex->content_type,
	    .body = buf_str(&ex->body),
	    .body_len = ex->body.len,
	};

	resp->status = 200;
	resp->content_type = "application/json";
	buf_reset(&resp->body);
	w->h->handler(w->h->ud, &req, resp);
	if (resp->status < 100 || resp->status > 599)
		resp->status = 500;
	return httpd__finish(w, wsi, pss, resp->status, resp->content_type, &resp->body, false);
}

/* Count n more body bytes in flight, unless that passes the limit: the whole budget for a small
 * body, all but the small-body reserve for a larger one. */
static bool httpd__reserve(struct httpd *h, struct httpd_exchange *ex, size_t n)
{
	size_t limit = n <= HTTPD_SMALL_BODY ? h->max_inflight : h->max_inflight - h->small_reserve;
	size_t cur = atomic_load(&h->inflight);

	do {
		if (n > limit || cur > limit - n)
			return false;
	} while (!atomic_compare_exchange_weak(&h->inflight, &cur, cur + n));
	ex->reserved = n;
	return true;
}

static int httpd__too_busy(struct httpd_worker *w, struct lws *wsi, struct httpd_pss *pss,
			   unsigned long long n)
{
	char msg[256];

	snprintf(msg, sizeof(msg),
		 "a request body of %llu bytes would pass the limit of %zu bytes in flight across all "
		 "connections (--max-inflight-bytes); retry later",
		 n, n <= HTTPD_SMALL_BODY ? w->h->max_inflight : w->h->max_inflight - w->h->small_reserve);
	return httpd__fail(w, wsi, pss, 429, "TooManyRequests", msg, true);
}

/* A POST: check the announced length before any of the body is read. A body refused here
 * (413, 429) is answered at once and its connection closed rather than kept: libwebsockets 4.1
 * (Debian's) can spin forever on a service thread while it discards an unread body that is
 * already in its input buffer, and every connection of that thread then stalls (timers too).
 * A client that gets 413 or 429 opens a new connection, which costs it little. */
static int httpd__expect_body(struct httpd_worker *w, struct lws *wsi, struct httpd_pss *pss)
{
	char cl[32], msg[160], *end;
	unsigned long long n;

	if (lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0)
		return httpd__fail(w, wsi, pss, 411, "LengthRequired", "a POST must carry a Content-Length",
				   true);
	errno = 0;
	n = strtoull(cl, &end, 10);
	if (errno || end == cl || *end)
		return httpd__fail(w, wsi, pss, 400, "BadRequest", "Content-Length is not a number", true);
	if (n > w->h->max_body) {
		snprintf(msg, sizeof(msg), "request body of %llu bytes exceeds the limit of %zu bytes", n,
			 w->h->max_body);
		return httpd__fail(w, wsi, pss, 413, "RequestEntityTooLarge", msg, true);
	}
	if (!httpd__reserve(w->h, pss->ex, (size_t)n))
		return httpd__too_busy(w, wsi, pss, n);
	pss->ex->receiving = true;
	lws_set_timer_usecs(wsi, (lws_usec_t)w->h->body_timeout * LWS_US_PER_SEC);
	return 0; /* the body arrives through LWS_CALLBACK_HTTP_BODY */
}

static int httpd__on_request(struct httpd_worker *w, struct lws *wsi, struct httpd_pss *pss, const char *uri)
{
	const char *method = httpd__method(wsi);

	if (!pss)
		return -1;
	pss->ex = httpd__exchange_get(w);
	if (!pss->ex)
		return -1;
	if (!method)
		return httpd__fail(w, wsi, pss, 405, "MethodNotAllowed", "only GET and POST are served",
				   true);
	if (uri && strlen(uri) >= HTTPD_PATH_MAX)
		return httpd__fail(w, wsi, pss, 414, "RequestURITooLong", "the path is too long", true);
	httpd__fill(pss->ex, wsi, method, uri);
	if (strcmp(method, "POST") == 0)
		return httpd__expect_body(w, wsi, pss);
	return httpd__dispatch(w, wsi, pss);
}

static int httpd__on_body(struct httpd_worker *w, struct lws *wsi, struct httpd_pss *pss, const void *in,
			  size_t len)
{
	int rc;

	if (!pss || !pss->ex || !len)
		return 0;
	rc = buf_add(&pss->ex->body, in, len);
	if (rc == SAQR_ETOOBIG)
		return httpd__fail(w, wsi, pss, 413, "RequestEntityTooLarge",
				   "request body exceeds the limit", true);
	return rc ? -1 : 0;
}

static int httpd__on_body_done(struct httpd_worker *w, struct lws *wsi, struct httpd_pss *pss)
{
	if (!pss || !pss->ex)
		return 0;
	pss->ex->receiving = false;
	lws_set_timer_usecs(wsi, LWS_SET_TIMER_USEC_CANCEL);
	return httpd__dispatch(w, wsi, pss);
}

/* The body deadline passed: a client this slow holds its reservation no longer. */
static int httpd__on_timer(struct httpd_worker *w, struct lws *wsi, struct httpd_pss *pss)
{
	char msg[160];

	if (!pss || !pss->ex || !pss->ex->receiving)
		return 0;
	snprintf(msg, sizeof(msg), "the request body did not arrive within %d seconds", w->h->body_timeout);
	return httpd__fail(w, wsi, pss, 408, "RequestTimeout", msg, true);
}

/* ---- TLS ---- */

static int httpd__cert_cb(SSL *ssl, void *arg)
{
	struct httpd *h = arg;
	int ok;

	pthread_mutex_lock(&h->certs_lock);
	ok = h->certs ? httpd__certs_apply(h->certs, ssl) : 0;
	pthread_mutex_unlock(&h->certs_lock);
	return ok;
}

static int httpd__ssl_ctx_setup(struct httpd *h, SSL_CTX *ctx)
{
	if (!ctx)
		return 0;
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
		return -1;
	SSL_CTX_set_cert_cb(ctx, httpd__cert_cb, h);
	return 0;
}

/* ---- listening ---- */

static void httpd__accept(struct httpd_worker *w)
{
	static const int one = 1;
	int fd;

	for (int i = 0; i < HTTPD_ACCEPT_BATCH; i++) {
		fd = accept4(w->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN, or a transient failure that the next wake retries */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		/* lws closes fd when it fails, which with TLS includes a peer that already gave up on
		 * the handshake: routine, so only at debug level */
		if (!lws_adopt_socket_vhost(w->vhost, fd))
			log_debug("connection dropped at accept", "error", "lws_adopt_socket_vhost failed");
	}
}

/* On the service thread: stop listening once httpd_stop asked for it. */
static void httpd__on_wake(struct httpd_worker *w)
{
	if (!atomic_load(&w->h->stopping) || w->deprecated)
		return;
	w->deprecated = true;
	if (w->listen_wsi)
		lws_set_timeout(w->listen_wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_SYNC);
}

static int httpd__listen_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
				  size_t len)
{
	struct httpd_worker *w = httpd__worker(wsi);

	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		httpd__accept(w);
		return 0;
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		w->listen_wsi = NULL;
		w->listen_fd = -1;
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

static int httpd__callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
			   size_t len)
{
	struct httpd_pss *pss = user;

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		return httpd__on_request(httpd__worker(wsi), wsi, pss, in);
	case LWS_CALLBACK_HTTP_BODY:
		return httpd__on_body(httpd__worker(wsi), wsi, pss, in, len);
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return httpd__on_body_done(httpd__worker(wsi), wsi, pss);
	case LWS_CALLBACK_TIMER:
		return httpd__on_timer(httpd__worker(wsi), wsi, pss);
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
	case LWS_CALLBACK_CLOSED_HTTP:
		httpd__exchange_done(httpd__worker(wsi), pss);
		return 0;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		httpd__on_wake(httpd__worker(wsi));
		return 0;
	case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
		return httpd__ssl_ctx_setup(httpd__worker(wsi)->h, user);
	case LWS_CALLBACK_OPENSSL_PERFORM_CLIENT_CERT_VERIFICATION:
		return len ? 0 : 1; /* len carries OpenSSL's verdict; nonzero here refuses the peer */
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

static const struct lws_protocols httpd__protocols[] = {
    {"saqr-http", httpd__callback, sizeof(struct httpd_pss), 0, 0, NULL, 0},
    {"saqr-listen", httpd__listen_callback, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* A listening socket of our own; with several workers each has one on the same port. */
static int httpd__bind(const struct addrinfo *ai, bool share, int *out)
{
	static const int one = 1;
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);

	if (fd < 0)
		return SAQR_EIO;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if ((share && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one))) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, HTTPD_BACKLOG)) {
		close(fd);
		return SAQR_EIO;
	}
	*out = fd;
	return 0;
}

static int httpd__bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &sl))
		return -1;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static int httpd__listen(const struct httpd *h, int port, int *fd_out, int *port_out)
{
	struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	char service[16];
	int rc = SAQR_EIO;

	snprintf(service, sizeof(service), "%d", port);
	if (getaddrinfo(h->address, service, &hints, &res))
		return SAQR_EIO;
	for (const struct addrinfo *ai = res; ai && rc; ai = ai->ai_next)
		rc = httpd__bind(ai, h->nworkers > 1, fd_out);
	freeaddrinfo(res);
	if (!rc)
		*port_out = httpd__bound_port(*fd_out);
	return rc;
}

/* ---- workers ---- */

static void httpd__info(const struct httpd *h, struct httpd_worker *w, struct lws_context_creation_info *info)
{
	memset(info, 0, sizeof(*info));
	info->options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
	info->user = w;
	info->count_threads = 1;
	info->fd_limit_per_thread = HTTPD_FD_LIMIT;
	info->max_http_header_data = HTTPD_HEADER_MAX;
	info->pt_serv_buf_size = HTTPD_READ_BUF;
	info->timeout_secs = HTTPD_TIMEOUT_SECS;
	info->keepalive_timeout = HTTPD_KEEPALIVE_SECS;
	info->server_string = "saqr";
	info->vhost_name = "saqr";
	info->protocols = httpd__protocols;
	info->port = CONTEXT_PORT_NO_LISTEN_SERVER;
	if (!h->certs)
		return;
	info->options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_CREATE_VHOST_SSL_CTX;
	info->ssl_options_set = SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 | SSL_OP_NO_RENEGOTIATION;
	info->ssl_cipher_list = HTTPD_TLS12_CIPHERS;
	info->alpn = "http/1.1";
	/* lws 4.1 keeps the index of its SSL_CTX ex_data in one static that every new context
	 * overwrites, so a client SSL_CTX it made for any context but the last would never be
	 * found again to be freed. We never act as a client: hand it one we own. */
	info->provided_client_ssl_ctx = h->client_ctx;
	if (h->client_ca_file) {
		info->options |= LWS_SERVER_OPTION_REQUIRE_VALID_OPENSSL_CLIENT_CERT;
		info->ssl_ca_filepath = h->client_ca_file;
	}
}

static int httpd__worker_create(struct httpd *h, struct httpd_worker *w, int fd)
{
	struct lws_context_creation_info info;
	lws_sock_file_fd_type lfd = {.filefd = fd};

	w->h = h;
	w->listen_fd = fd;
	buf_init(&w->resp.body, HTTPD_MAX_RESPONSE);
	httpd__info(h, w, &info);
	w->ctx = lws_create_context(&info);
	if (w->ctx)
		w->vhost = lws_create_vhost(w->ctx, &info);
	if (w->vhost)
		w->listen_wsi =
		    lws_adopt_descriptor_vhost(w->vhost, LWS_ADOPT_RAW_FILE_DESC, lfd, "saqr-listen", NULL);
	if (!w->listen_wsi) {
		close(fd);
		w->listen_fd = -1;
		return SAQR_EIO;
	}
	return 0;
}

static void *httpd__serve(void *arg)
{
	struct httpd_worker *w = arg;

	while (!(w->deprecated && w->inflight == 0))
		if (lws_service(w->ctx, 0) < 0)
			break;
	return NULL;
}

static void httpd__worker_release(struct httpd_worker *w)
{
	struct httpd_exchange *ex;

	if (w->ctx)
		lws_context_destroy(w->ctx); /* closes what is left; exchanges return to the pool */
	w->ctx = NULL;
	while ((ex = w->pool) != NULL) {
		w->pool = ex->next;
		httpd__exchange_free(ex);
	}
	free(w->out);
	buf_release(&w->resp.body);
}

static void httpd__free(struct httpd *h)
{
	for (int i = 0; i < h->nworkers; i++)
		httpd__worker_release(&h->workers[i]);
	free(h->workers);
	httpd__certs_free(h->certs);
	SSL_CTX_free(h->client_ctx);
	pthread_mutex_destroy(&h->certs_lock);
	free(h->address);
	free(h->cert_file);
	free(h->key_file);
	free(h->client_ca_file);
	free(h);
}

static int httpd__config(struct httpd *h, const struct httpd_opts *opts)
{
	char err[512];
	int rc;

	if (!opts->handler || !opts->cert_file != !opts->key_file ||
	    (opts->client_ca_file && !opts->cert_file) || h->max_inflight - h->small_reserve < h->max_body)
		return SAQR_EINVAL;
	h->address = httpd__strdup(opts->address);
	h->cert_file = httpd__strdup(opts->cert_file);
	h->key_file = httpd__strdup(opts->key_file);
	h->client_ca_file = httpd__strdup(opts->client_ca_file);
	if ((opts->address && !h->address) || (opts->cert_file && (!h->cert_file || !h->key_file)) ||
	    (opts->client_ca_file && !h->client_ca_file))
		return SAQR_ENOMEM;
	if (!h->cert_file)
		return 0;
	h->client_ctx = SSL_CTX_new(TLS_client_method());
	if (!h->client_ctx)
		return SAQR_ENOMEM;
	rc = httpd__certs_load(h->cert_file, h->key_file, &h->certs, err, sizeof(err));
	if (!rc && h->client_ca_file)
		rc = httpd__ca_check(h->client_ca_file, err, sizeof(err));
	if (rc)
		log_error("cannot use the TLS files", "error", err);
	return rc;
}

static int httpd__start_workers(struct httpd *h)
{
	char port_text[16];
	int rc, fd;

	for (int i = 0; i < h->nworkers; i++) {
		/* the first socket may pick the port (0); the others share it */
		rc = httpd__listen(h, h->port, &fd, &h->port);
		if (!rc)
			rc = httpd__worker_create(h, &h->workers[i], fd);
		if (rc) {
			snprintf(port_text, sizeof(port_text), "%d", h->port);
			log_error("cannot listen", "address", h->address ? h->address : "*", "port",
				  port_text);
			return rc;
		}
	}
	for (int i = 0; i < h->nworkers; i++) {
		if (pthread_create(&h->workers[i].thread, NULL, httpd__serve, &h->workers[i]))
			return SAQR_ENOMEM;
		h->workers[i].running = true;
	}
	return 0;
}

/* lws 4.1 keeps the OpenSSL ex_data indexes it uses to find a connection from an SSL in statics
 * that every new TLS context resets. Start TLS servers before any of them serves connections
 * that present client certificates (saqr-webhook starts its one TLS server first). */
int httpd_start(const struct httpd_opts *opts, struct httpd **out)
{
	static pthread_once_t log_once = PTHREAD_ONCE_INIT;
	struct httpd *h;
	int rc;

	pthread_once(&log_once, httpd__lws_log_init);
	h = calloc(1, sizeof(*h));
	if (!h)
		return SAQR_ENOMEM;
	pthread_mutex_init(&h->certs_lock, NULL);
	atomic_init(&h->stopping, false);
	h->handler = opts->handler;
	h->ud = opts->ud;
	h->port = opts->port;
	h->max_body = opts->max_body ? opts->max_body : HTTPD_DEFAULT_MAX_BODY;
	h->max_inflight = opts->max_inflight_bytes ? opts->max_inflight_bytes : HTTPD_DEFAULT_MAX_INFLIGHT;
	h->small_reserve = h->max_inflight / 4;
	h->body_timeout = opts->body_timeout > 0 ? opts->body_timeout : HTTPD_DEFAULT_BODY_TIMEOUT;
	atomic_init(&h->inflight, 0);
	h->nworkers = opts->threads > 0 ? opts->threads : 1;
	h->workers = calloc((size_t)h->nworkers, sizeof(*h->workers));
	rc = h->workers ? httpd__config(h, opts) : SAQR_ENOMEM;
	if (!rc)
		rc = httpd__start_workers(h);
	if (rc) {
		httpd_stop(h);
		return rc;
	}
	*out = h;
	return 0;
}

int httpd_port(const struct httpd *h)
{
	return h->port;
}

size_t httpd_inflight_bytes(const struct httpd *h)
{
	return atomic_load(&((struct httpd *)h)->inflight);
}

int httpd_reload_tls(struct httpd *h)
{
	struct httpd__certs *fresh = NULL, *old;
	char err[512];
	int rc;

	if (!h->cert_file)
		return SAQR_ECONFIG;
	rc = httpd__certs_load(h->cert_file, h->key_file, &fresh, err, sizeof(err));
	if (rc) {
		log_error("rotated certificate refused; the previous one stays in use", "error", err);
		return SAQR_ECONFIG;
	}
	pthread_mutex_lock(&h->certs_lock);
	old = h->certs;
	h->certs = fresh;
	pthread_mutex_unlock(&h->certs_lock);
	httpd__certs_free(old);
	return 0;
}

void httpd_stop(struct httpd *h)
{
	if (!h)
		return;
	atomic_store(&h->stopping, true);
	for (int i = 0; i < h->nworkers; i++)
		if (h->workers[i].running)
			lws_cancel_service(h->workers[i].ctx);
	for (int i = 0; i < h->nworkers; i++)
		if (h->workers[i].running)
			pthread_join(h->workers[i].thread, NULL);
	httpd__free(h);
}
