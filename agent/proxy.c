/* The connections of saqr-agent: accept, TLS handshake, then request after request: read the
 * head, forward head and body to the upstream as they arrive, forward the answer back as it
 * arrives, then count and inspect. Errors of the agent's own (bad request, upstream down) are
 * answered with a short text and Connection: close. */
#include "agent/agent_internal.h"

#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "agent/http1.h"
#include "agent/infer.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"

#define PX_BUF 16384
#define PX_STACK ((size_t)512 * 1024)

struct px_capture {
	struct buf body;
	size_t reserved; /* of the inspection budget */
	bool on;
	enum agent_inspect result;
};

struct px_conn {
	struct agent *a;
	int slot;
	int cfd, ufd;
	SSL *ssl;
	char in[PX_BUF];
	size_t in_len, in_off;
	char up[PX_BUF];
	struct buf out; /* what goes to the upstream next */
	struct http1 req, resp;
	enum infer_proto proto;
	struct px_capture creq, cresp;
	uint64_t body_seen;
	bool body_over;
	bool resp_started; /* bytes of the answer went to the client */
	bool up_close;	   /* the upstream connection ends after this answer */
	unsigned seed;
};

static double px_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- sockets ---- */

static void px_sockopts(int fd, int timeout_ms)
{
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int px_send(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return SAQR_EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int px_client_write(struct px_conn *c, const char *p, size_t n)
{
	if (!c->ssl)
		return px_send(c->cfd, p, n);
	while (n) {
		int w = SSL_write(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);

		if (w <= 0)
			return SAQR_EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* More bytes from the client into c->in. >0, or 0 when it closed, timed out or failed. */
static ssize_t px_client_read(struct px_conn *c)
{
	ssize_t n;

	if (c->in_off == c->in_len)
		c->in_off = c->in_len = 0;
	if (c->in_len == sizeof(c->in))
		return 0; /* cannot happen: the parser consumes what it is given */
	if (c->ssl) {
		n = SSL_read(c->ssl, c->in + c->in_len, (int)(sizeof(c->in) - c->in_len));
	} else {
		do
			n = recv(c->cfd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);
		while (n < 0 && errno == EINTR);
	}
	if (n > 0)
		c->in_len += (size_t)n;
	return n > 0 ? n : 0;
}

static void px_set_upstream(struct px_conn *c, int fd)
{
	pthread_mutex_lock(&c->a->conn_lock);
	c->a->conn_fds[2 * c->slot + 1] = fd;
	pthread_mutex_unlock(&c->a->conn_lock);
	c->ufd = fd;
}

static void px_close_upstream(struct px_conn *c)
{
	int fd = c->ufd;

	if (fd < 0)
		return;
	px_set_upstream(c, -1);
	close(fd);
}

/* Whether a kept upstream connection is still open (not closed by the server while idle). */
static bool px_upstream_alive(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char b;

	if (poll(&p, 1, 0) == 0)
		return true;
	return recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) > 0; /* data before a request: not ours either */
}

static int px_upstream_connect(struct px_conn *c)
{
	struct agent *a = c->a;
	struct sockaddr_in6 sa6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)a->upstream_port)};
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)a->upstream_port)};
	bool v6 = strchr(a->upstream_host, ':') != NULL;
	int fd;

	if (c->ufd >= 0 && px_upstream_alive(c->ufd))
		return 0;
	px_close_upstream(c);
	if (v6)
		inet_pton(AF_INET6, a->upstream_host, &sa6.sin6_addr);
	else
		inet_pton(AF_INET, a->upstream_host, &sa.sin_addr);
	fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return SAQR_ETRANSPORT;
	px_sockopts(fd, a->o.timeout_ms);
	if (connect(fd, v6 ? (struct sockaddr *)&sa6 : (struct sockaddr *)&sa,
		    v6 ? sizeof(sa6) : sizeof(sa)) != 0) {
		close(fd);
		return SAQR_ETRANSPORT;
	}
	px_set_upstream(c, fd);
	return 0;
}

/* ---- the agent's own answers ---- */

static void px_reply(struct px_conn *c, int status, const char *reason, const char *text)
{
	char head[256];
	int n =
	    snprintf(head, sizeof(head),
		     "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %zu\r\n"
		     "Connection: close\r\nServer: saqr-agent\r\n\r\n",
		     status, reason, strlen(text));

	if (px_client_write(c, head, (size_t)n) == 0)
		px_client_write(c, text, strlen(text));
}

/* ---- inspection ---- */

static bool px_reserve(struct agent *a, size_t n)
{
	size_t used = atomic_load(&a->inspect_used);

	do {
		if (used + n > a->o.inspect_budget)
			return false;
	} while (!atomic_compare_exchange_weak(&a->inspect_used, &used, used + n));
	return true;
}

/* Start capturing a payload of at most length bytes (unknown: -1) for inspection. */
static void px_capture_start(struct px_conn *c, struct px_capture *cap, int64_t length)
{
	size_t want = c->a->o.max_inspect;

	cap->on = false;
	cap->reserved = 0;
	buf_reset(&cap->body);
	if (length > (int64_t)c->a->o.max_inspect) {
		cap->result = AGENT_INSPECT_TOO_BIG;
		return;
	}
	if (length >= 0)
		want = (size_t)length;
	if (!px_reserve(c->a, want)) {
		cap->result = AGENT_INSPECT_BUSY;
		return;
	}
	cap->reserved = want;
	cap->body.max = want;
	cap->on = true;
	cap->result = AGENT_INSPECT_OK;
}

static void px_capture_add(struct px_capture *cap, const char *d, size_t n)
{
	if (cap->on && buf_add(&cap->body, d, n) != 0) {
		cap->on = false;
		cap->result = AGENT_INSPECT_TOO_BIG;
	}
}

static void px_capture_end(struct px_conn *c, struct px_capture *cap)
{
	atomic_fetch_sub(&c->a->inspect_used, cap->reserved);
	cap->reserved = 0;
	cap->on = false;
	if (cap->body.cap > 64 * 1024)
		buf_release(&cap->body); /* keep small buffers for the next request, not large ones */
	cap->body.max = 0;
}

static void px_req_body(void *ud, const char *d, size_t n)
{
	struct px_conn *c = ud;

	c->body_seen += n;
	if (c->body_seen > c->a->o.max_body)
		c->body_over = true;
	px_capture_add(&c->creq, d, n);
}

static void px_resp_body(void *ud, const char *d, size_t n)
{
	px_capture_add(&((struct px_conn *)ud)->cresp, d, n);
}

static void px_log_payload(struct px_conn *c, const char *target)
{
	struct agent *a = c->a;
	size_t n = c->creq.body.len < a->o.payload_log_max ? c->creq.body.len : a->o.payload_log_max;
	json_t *body;

	if (a->o.payload_log_rate <= 0 || (double)rand_r(&c->seed) / RAND_MAX >= a->o.payload_log_rate)
		return;
	body = json_stringn(buf_str(&c->creq.body), n);
	log_json(LOG_LVL_INFO, "payload sample",
		 json_pack("{s:s, s:I, s:o}", "target", target, "bytes", (json_int_t)c->creq.body.len, "body",
			   body ? body : json_string("(not UTF-8)")));
}

/* Record what the payloads of an answered request say. */
static void px_inspect(struct px_conn *c, int status)
{
	struct agent *a = c->a;
	size_t invalid = 0, more = 0;
	int rq = 0, rs = 0;

	if (c->proto == INFER_NONE || status < 200 || status > 299)
		return;
	pthread_rwlock_rdlock(&a->model_lock);
	if (c->creq.on)
		rq = infer_request(a->stats, c->proto, c->creq.body.data ? c->creq.body.data : "",
				   c->creq.body.len, &invalid);
	if (c->cresp.on)
		rs = infer_response(a->stats, c->proto, c->cresp.body.data ? c->cresp.body.data : "",
				    c->cresp.body.len, &more);
	pthread_rwlock_unlock(&a->model_lock);
	if (c->creq.on && rq)
		c->creq.result = AGENT_INSPECT_MALFORMED;
	if (c->cresp.on && rs)
		c->cresp.result = AGENT_INSPECT_MALFORMED;
	atomic_fetch_add(&a->traffic.inspect[c->creq.result][0], 1);
	if (c->cresp.on || c->cresp.result != AGENT_INSPECT_OK)
		atomic_fetch_add(&a->traffic.inspect[c->cresp.result][1], 1);
	atomic_fetch_add(&a->traffic.invalid_values, invalid + more);
}

/* ---- one exchange ---- */

/* Read up to the end of a request head. 0, SAQR_ECLOSED (the client left), or the parser's
 * error. */
static int px_read_head(struct px_conn *c)
{
	size_t used;
	int rc;

	for (;;) {
		rc = http1_feed(&c->req, c->in + c->in_off, c->in_len - c->in_off, &used);
		c->in_off += used;
		if (rc == HTTP1_HEAD)
			return 0;
		if (rc < 0)
			return rc;
		if (px_client_read(c) <= 0)
			return SAQR_ECLOSED;
	}
}

static int px_flush_upstream(struct px_conn *c)
{
	int rc = c->out.len ? px_send(c->ufd, c->out.data, c->out.len) : 0;

	buf_reset(&c->out);
	return rc ? SAQR_ETRANSPORT : 0;
}

/* Head and body to the upstream, the body as it arrives. 0, SAQR_ECLOSED (client left),
 * SAQR_ETOOBIG (over max_body), SAQR_EPARSE (bad chunking), SAQR_ETRANSPORT (upstream). */
static int px_forward_request(struct px_conn *c)
{
	const struct http1_head *h = http1_head(&c->req);
	size_t used;
	int rc = buf_add(&c->out, h->raw, h->raw_len);

	while (rc == 0) {
		rc = http1_feed(&c->req, c->in + c->in_off, c->in_len - c->in_off, &used);
		if (buf_add(&c->out, c->in + c->in_off, used) != 0)
			return SAQR_ENOMEM;
		c->in_off += used;
		if (rc < 0)
			return rc;
		if (c->body_over)
			return SAQR_ETOOBIG;
		if (rc == HTTP1_DONE)
			return px_flush_upstream(c);
		rc = px_flush_upstream(c);
		if (rc == 0 && px_client_read(c) <= 0)
			rc = SAQR_ECLOSED;
	}
	return rc;
}

static void px_response_head(struct px_conn *c)
{
	const struct http1_head *h = http1_head(&c->resp);
	bool predictions;

	if (http1_interim(&c->resp) || c->proto == INFER_NONE || c->cresp.reserved)
		return;
	pthread_rwlock_rdlock(&c->a->model_lock);
	predictions = c->a->cfg->predictions;
	pthread_rwlock_unlock(&c->a->model_lock);
	if (predictions && h->status >= 200 && h->status <= 299)
		px_capture_start(c, &c->cresp, h->has_length ? (int64_t)h->length : -1);
}

/* Feed what the upstream sent; *done when the final answer ended. */
static int px_feed_response(struct px_conn *c, size_t n, bool *done)
{
	size_t off = 0, used;
	int rc;

	while (off < n && !*done) {
		rc = http1_feed(&c->resp, c->up + off, n - off, &used);
		off += used;
		if (rc < 0)
			return rc;
		if (rc == HTTP1_HEAD)
			px_response_head(c);
		if (rc == HTTP1_DONE && http1_interim(&c->resp)) {
			bool no_body = c->resp.no_body;

			http1_init(&c->resp, HTTP1_RESPONSE, px_resp_body, c);
			if (no_body)
				http1_expect_no_body(&c->resp);
		} else if (rc == HTTP1_DONE) {
			*done = true;
			if (off < n)
				c->up_close = true; /* bytes nobody asked for: do not reuse */
		}
	}
	if (px_client_write(c, c->up, off) != 0)
		return SAQR_ECLOSED;
	c->resp_started = true;
	return 0;
}

/* The answer back to the client as it arrives. 0, SAQR_ETRANSPORT / SAQR_ETIMEDOUT /
 * SAQR_EPARSE (the upstream failed), SAQR_ECLOSED (the client left). */
static int px_forward_response(struct px_conn *c, bool head_request)
{
	bool done = false;
	ssize_t n;
	int rc = 0;

	http1_init(&c->resp, HTTP1_RESPONSE, px_resp_body, c);
	if (head_request)
		http1_expect_no_body(&c->resp);
	while (!done && rc == 0) {
		do
			n = recv(c->ufd, c->up, sizeof(c->up), 0);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? SAQR_ETIMEDOUT : SAQR_ETRANSPORT;
		if (n == 0) {
			c->up_close = true;
			return http1_eof(&c->resp) == HTTP1_DONE ? 0 : SAQR_ETRANSPORT;
		}
		rc = px_feed_response(c, (size_t)n, &done);
		if (rc < 0 && rc != SAQR_ECLOSED)
			rc = SAQR_ETRANSPORT; /* the upstream's answer is malformed */
	}
	if (c->resp.head.close)
		c->up_close = true;
	return rc;
}

/* The agent's answer when the exchange failed before the upstream's answer began. */
static int px_fail(struct px_conn *c, int rc)
{
	if (rc == SAQR_ECLOSED || c->resp_started)
		return SAQR_ECLOSED;
	if (rc == SAQR_ETOOBIG) {
		px_reply(c, 413, "Content Too Large", "request body too large\n");
		return 413;
	}
	if (rc == SAQR_EPARSE) {
		px_reply(c, 400, "Bad Request", "malformed request body\n");
		return 400;
	}
	if (rc == SAQR_ETIMEDOUT) {
		px_reply(c, 504, "Gateway Timeout", "the model server did not answer in time\n");
		return 504;
	}
	atomic_fetch_add(&c->a->traffic.upstream_errors, 1);
	px_reply(c, 502, "Bad Gateway", "the model server is unavailable\n");
	return 502;
}

/* Everything from the head on. 0 and *status, or a px_fail() answer (>0) / SAQR_ECLOSED. */
static int px_exchange(struct px_conn *c, const struct http1_head *h)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	int rc;

	if (h->has_length && h->length > c->a->o.max_body)
		return px_fail(c, SAQR_ETOOBIG);
	c->proto = infer_route(h->method, h->target);
	if (c->proto != INFER_NONE)
		px_capture_start(c, &c->creq, h->has_length ? (int64_t)h->length : -1);
	rc = px_upstream_connect(c);
	if (rc == 0 && h->expect_continue && px_client_write(c, cont, sizeof(cont) - 1) != 0)
		rc = SAQR_ECLOSED;
	if (rc == 0)
		rc = px_forward_request(c);
	if (rc == 0)
		rc = px_forward_response(c, strcmp(h->method, "HEAD") == 0);
	return rc ? px_fail(c, rc) : 0;
}

static void px_reset_exchange(struct px_conn *c)
{
	c->proto = INFER_NONE;
	c->body_seen = 0;
	c->body_over = false;
	c->resp_started = false;
	c->up_close = false;
	c->creq.result = c->cresp.result = AGENT_INSPECT_OK;
	buf_reset(&c->out);
	http1_init(&c->req, HTTP1_REQUEST, px_req_body, c);
	http1_init(&c->resp, HTTP1_RESPONSE, px_resp_body, c);
}

/* One request and its answer. 0: the connection goes on; else it ends. */
static int px_one(struct px_conn *c)
{
	const struct http1_head *h;
	double t0;
	int rc, status;

	px_reset_exchange(c);
	rc = px_read_head(c);
	if (rc == SAQR_ECLOSED)
		return rc;
	if (rc < 0) {
		px_reply(c, rc == SAQR_ETOOBIG ? 431 : 400,
			 rc == SAQR_ETOOBIG ? "Request Header Fields Too Large" : "Bad Request",
			 "malformed request\n");
		agent_traffic_request(&c->a->traffic, rc == SAQR_ETOOBIG ? 431 : 400, 0);
		return rc;
	}
	h = http1_head(&c->req);
	t0 = px_now();
	rc = px_exchange(c, h);
	status = rc > 0 ? rc : c->resp.head.status;
	if (rc != SAQR_ECLOSED)
		agent_traffic_request(&c->a->traffic, status, px_now() - t0);
	if (rc == 0) {
		px_inspect(c, status);
		if (c->creq.on)
			px_log_payload(c, h->target);
	}
	px_capture_end(c, &c->creq);
	px_capture_end(c, &c->cresp);
	if (c->up_close || rc)
		px_close_upstream(c);
	if (rc == 0 && (h->close || c->resp.head.close))
		rc = SAQR_ECLOSED;
	return rc;
}

/* ---- connection threads ---- */

static void px_conn_free(struct px_conn *c)
{
	struct agent *a = c->a;
	int slot = c->slot;

	pthread_mutex_lock(&a->conn_lock);
	a->conn_fds[2 * c->slot] = -1;
	a->conn_fds[2 * c->slot + 1] = -1;
	pthread_mutex_unlock(&a->conn_lock);
	if (c->ssl) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	if (c->ufd >= 0)
		close(c->ufd);
	close(c->cfd);
	buf_release(&c->out);
	buf_release(&c->creq.body);
	buf_release(&c->cresp.body);
	free(c);
	atomic_fetch_sub(&a->traffic.connections, 1);
	pthread_mutex_lock(&a->conn_lock);
	a->conn_used[slot] = false;
	a->nconns--;
	pthread_cond_broadcast(&a->conn_done);
	pthread_mutex_unlock(&a->conn_lock);
}

static int px_handshake(struct px_conn *c)
{
	SSL_CTX *ctx = agent__tls_get(c->a);

	if (!ctx)
		return 0;
	c->ssl = SSL_new(ctx);
	SSL_CTX_free(ctx);
	if (!c->ssl || SSL_set_fd(c->ssl, c->cfd) != 1 || SSL_accept(c->ssl) != 1) {
		SSL_free(c->ssl);
		c->ssl = NULL;
		return SAQR_ETRANSPORT;
	}
	return 0;
}

static void *px_conn_main(void *arg)
{
	struct px_conn *c = arg;

	if (px_handshake(c) == 0)
		while (!atomic_load(&c->a->stopping) && px_one(c) == 0)
			;
	px_conn_free(c);
	return NULL;
}

/* Take a free slot for fd. -1 when every slot is taken. */
static int px_slot(struct agent *a, int fd)
{
	int slot = -1;

	pthread_mutex_lock(&a->conn_lock);
	for (int i = 0; i < a->o.max_connections && slot < 0; i++)
		if (!a->conn_used[i])
			slot = i;
	if (slot >= 0) {
		a->conn_used[slot] = true;
		a->conn_fds[2 * slot] = fd;
		a->nconns++;
	}
	pthread_mutex_unlock(&a->conn_lock);
	return slot;
}

static struct px_conn *px_conn_new(struct agent *a, int fd, int slot)
{
	struct px_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->a = a;
	c->slot = slot;
	c->cfd = fd;
	c->ufd = -1;
	c->seed = (unsigned)fd ^ (unsigned)time(NULL);
	buf_init(&c->out, 2 * HTTP1_MAX_HEAD + 2 * PX_BUF);
	buf_init(&c->creq.body, 0);
	buf_init(&c->cresp.body, 0);
	return c;
}

static void px_spawn(struct agent *a, int fd)
{
	int slot = px_slot(a, fd);
	struct px_conn *c = slot >= 0 ? px_conn_new(a, fd, slot) : NULL;
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	if (!c) {
		close(fd);
		if (slot >= 0) {
			pthread_mutex_lock(&a->conn_lock);
			a->conn_used[slot] = false;
			a->conn_fds[2 * slot] = -1;
			a->nconns--;
			pthread_mutex_unlock(&a->conn_lock);
		}
		return;
	}
	atomic_fetch_add(&a->traffic.connections, 1);
	px_sockopts(fd, a->o.timeout_ms);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, PX_STACK);
	rc = pthread_create(&t, &attr, px_conn_main, c);
	pthread_attr_destroy(&attr);
	if (rc != 0)
		px_conn_free(c);
}

void *agent__accept_loop(void *arg)
{
	struct agent *a = arg;

	while (!atomic_load(&a->stopping)) {
		int fd = accept4(a->lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOMEM)
				usleep(10000);
			continue;
		}
		if (atomic_load(&a->stopping)) {
			close(fd);
			break;
		}
		px_spawn(a, fd);
	}
	return NULL;
}

void agent__close_connections(struct agent *a)
{
	pthread_mutex_lock(&a->conn_lock);
	for (int i = 0; i < 2 * a->o.max_connections; i++)
		if (a->conn_fds[i] >= 0)
			shutdown(a->conn_fds[i], SHUT_RDWR);
	pthread_mutex_unlock(&a->conn_lock);
}
