/* Unit tests for lib/httpd: plain HTTP and TLS on an ephemeral port, driven through libcurl:
 * routing of GET and POST, keep-alive reuse, the body cap, methods refused, client
 * certificates, certificate rotation, several service threads, graceful stop; the cap on body
 * bytes in flight across connections, which slow or large bodies cannot use to shut small
 * requests out, and the deadline on a slow body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../support/certgen.h"
#include "common/err.h"
#include "httpd/httpd.h"

struct fixture {
	char dir[64];
	char ca[128], cert[128], key[128];	/* CA 1 and a server certificate it signed */
	char ca2[128], cert2[128], key2[128];	/* CA 2 and another server certificate */
	char client_cert[128], client_key[128]; /* a client certificate from CA 1 */
	char rogue_cert[128], rogue_key[128];	/* a client certificate from CA 2 */
};

/* The test handler: echoes the request as JSON; /block waits until released; /big answers 1 MiB. */
static pthread_mutex_t block_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t block_cond = PTHREAD_COND_INITIALIZER;
static int block_entered, block_released;

static void block_until_released(void)
{
	pthread_mutex_lock(&block_lock);
	block_entered = 1;
	pthread_cond_broadcast(&block_cond);
	while (!block_released)
		pthread_cond_wait(&block_cond, &block_lock);
	pthread_mutex_unlock(&block_lock);
}

static void echo_handler(void *ud, const struct httpd_request *req, struct httpd_response *resp)
{
	json_t *o;
	char *text;

	(void)ud;
	if (strcmp(req->path, "/block") == 0)
		block_until_released();
	if (strcmp(req->path, "/big") == 0) {
		resp->content_type = "text/plain";
		for (int i = 0; i < 1024; i++)
			buf_addf(&resp->body, "%01023d\n", i);
		return;
	}
	if (strcmp(req->path, "/teapot") == 0)
		resp->status = 418;
	o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s%}", "method", req->method, "path", req->path, "query",
		      req->query, "contentType", req->content_type, "bodyLen", (json_int_t)req->body_len,
		      "body", req->body, req->body_len);
	text = json_dumps(o, JSON_COMPACT);
	buf_adds(&resp->body, text);
	free(text);
	json_decref(o);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct certgen_ca *ca1 = NULL, *ca2 = NULL;
	int rc = -1;

	snprintf(f->dir, sizeof(f->dir), "/tmp/saqr-httpd-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
#define P(field, name) snprintf(f->field, sizeof(f->field), "%s/%s", f->dir, name)
	P(ca, "ca.crt"), P(cert, "tls.crt"), P(key, "tls.key"), P(ca2, "ca2.crt"), P(cert2, "tls2.crt");
	P(key2, "tls2.key"), P(client_cert, "client.crt"), P(client_key, "client.key");
	P(rogue_cert, "rogue.crt"), P(rogue_key, "rogue.key");
#undef P
	if (certgen_ca_new("saqr test CA 1", &ca1) || certgen_ca_new("saqr test CA 2", &ca2) ||
	    certgen_ca_write(ca1, f->ca) || certgen_ca_write(ca2, f->ca2) ||
	    certgen_leaf(ca1, "server-one", "IP:127.0.0.1,DNS:localhost", false, f->cert, f->key) ||
	    certgen_leaf(ca2, "server-two", "IP:127.0.0.1,DNS:localhost", false, f->cert2, f->key2) ||
	    certgen_leaf(ca1, "alice", NULL, true, f->client_cert, f->client_key) ||
	    certgen_leaf(ca2, "mallory", NULL, true, f->rogue_cert, f->rogue_key))
		goto out;
	rc = 0;
	*state = f;
out:
	certgen_ca_free(ca1);
	certgen_ca_free(ca2);
	return rc;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	const char *names[] = {"ca.crt",   "tls.crt",	 "tls.key",    "ca2.crt",   "tls2.crt",
			       "tls2.key", "client.crt", "client.key", "rogue.crt", "rogue.key"};
	char path[160];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", f->dir, names[i]);
		unlink(path);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

/* ---- a small libcurl client ---- */

struct reply {
	long status;
	char body[2 << 20];
	size_t len;
	char connection[64];
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct reply *r = ud;
	size_t len = size * n;

	if (r->len + len >= sizeof(r->body))
		return 0;
	memcpy(r->body + r->len, p, len);
	r->len += len;
	r->body[r->len] = '\0';
	return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct reply *r = ud;
	size_t len = size * n;

	if (len > 11 && strncasecmp(p, "connection:", 11) == 0)
		snprintf(r->connection, sizeof(r->connection), "%.*s", (int)(len - 11), p + 11);
	return len;
}

static CURL *client(const char *ca)
{
	CURL *c = curl_easy_init();

	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	if (ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	return c;
}

/* Do one request; returns the curl result. body NULL means GET. */
static CURLcode request(CURL *c, const char *url, const char *method, const char *body, size_t len,
			struct reply *r)
{
	struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	CURLcode rc;

	memset(r, 0, sizeof(*r));
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
	} else {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	}
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
	return rc;
}

static struct httpd *start(const struct httpd_opts *base)
{
	struct httpd_opts o = *base;
	struct httpd *h = NULL;

	o.address = "127.0.0.1";
	o.handler = echo_handler;
	if (!o.max_body)
		o.max_body = 64 * 1024;
	assert_int_equal(httpd_start(&o, &h), 0);
	assert_true(httpd_port(h) > 0);
	return h;
}

static void url(char *out, size_t n, const struct httpd *h, bool tls, const char *path)
{
	snprintf(out, n, "%s://127.0.0.1:%d%s", tls ? "https" : "http", httpd_port(h), path);
}

static json_t *reply_json(const struct reply *r)
{
	json_t *v = json_loads(r->body, 0, NULL);

	assert_non_null(v);
	return v;
}

/* ---- tests ---- */

static void test_plain_get_and_post(void **state)
{
	struct httpd_opts o = {0};
	struct httpd *h = start(&o);
	struct reply *r = malloc(sizeof(*r));
	CURL *c = client(NULL);
	char u[128];
	json_t *v;

	(void)state;
	url(u, sizeof(u), h, false, "/some/path?a=1&b=two");
	assert_int_equal(request(c, u, "GET", NULL, 0, r), CURLE_OK);
	assert_int_equal(r->status, 200);
	v = reply_json(r);
	assert_string_equal(json_string_value(json_object_get(v, "method")), "GET");
	assert_string_equal(json_string_value(json_object_get(v, "path")), "/some/path");
	assert_string_equal(json_string_value(json_object_get(v, "query")), "a=1&b=two");
	json_decref(v);

	url(u, sizeof(u), h, false, "/validate");
	assert_int_equal(request(c, u, "POST", "{\"hello\":\"world\"}", 17, r), CURLE_OK);
	assert_int_equal(r->status, 200);
	v = reply_json(r);
	assert_string_equal(json_string_value(json_object_get(v, "method")), "POST");
	assert_string_equal(json_string_value(json_object_get(v, "contentType")), "application/json");
	assert_int_equal(json_integer_value(json_object_get(v, "bodyLen")), 17);
	assert_string_equal(json_string_value(json_object_get(v, "body")), "{\"hello\":\"world\"}");
	json_decref(v);

	url(u, sizeof(u), h, false, "/teapot");
	assert_int_equal(request(c, u, "GET", NULL, 0, r), CURLE_OK);
	assert_int_equal(r->status, 418);
	curl_easy_cleanup(c);
	free(r);
	httpd_stop(h);
}

static void test_keep_alive_reuses_the_connection(void **state)
{
	struct httpd_opts o = {0};
	struct httpd *h = start(&o);
	struct reply *r = malloc(sizeof(*r));
	CURL *c = client(NULL);
	long connects = -1, port1 = 0, port2 = 0;
	char u[128];

	(void)state;
	url(u, sizeof(u), h, false, "/validate");
	assert_int_equal(request(c, u, "POST", "{}", 2, r), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_LOCAL_PORT, &port1);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(request(c, u, "POST", "{}", 2, r), CURLE_OK);
		assert_int_equal(r->status, 200);
		curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects);
		assert_int_equal(connects, 0); /* no new connection was opened */
	}
	curl_easy_getinfo(c, CURLINFO_LOCAL_PORT, &port2);
	assert_int_equal(port1, port2);
	curl_easy_cleanup(c);
	free(r);
	httpd_stop(h);
}

static void test_body_over_the_cap(void **state)
{
	struct httpd_opts o = {.max_body = 1000};
	struct httpd *h = start(&o);
	struct reply *r = malloc(sizeof(*r));
	CURL *c = client(NULL);
	char *big = malloc(5000), u[128];
	long connects = -1;
	json_t *v;

	(void)state;
	memset(big, 'x', 5000);
	url(u, sizeof(u), h, false, "/validate");
	assert_int_equal(request(c, u, "POST", big, 5000, r), CURLE_OK);
	assert_int_equal(r->status, 413);
	v = reply_json(r);
	assert_string_equal(json_string_value(json_object_get(v, "reason")), "RequestEntityTooLarge");
	assert_int_equal(json_integer_value(json_object_get(v, "code")), 413);
	assert_non_null(
	    strstr(json_string_value(json_object_get(v, "message")), "exceeds the limit of 1000 bytes"));
	json_decref(v);
	/* the unread body is not drained: the connection is closed, and a new one is served */
	assert_non_null(strstr(r->connection, "close"));
	assert_int_equal(request(c, u, "POST", big, 1000, r), CURLE_OK);
	assert_int_equal(r->status, 200);
	curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects);
	assert_int_equal(connects, 1);
	curl_easy_cleanup(c);
	free(big);
	free(r);
	httpd_stop(h);
}

static void test_methods_and_lengths_refused(void **state)
{
	struct httpd_opts o = {0};
	struct httpd *h = start(&o);
	struct reply *r = malloc(sizeof(*r));
	CURL *c = client(NULL);
	struct curl_slist *chunked;
	char u[128];

	(void)state;
	url(u, sizeof(u), h, false, "/validate");
	assert_int_equal(request(c, u, "PUT", "{}", 2, r), CURLE_OK);
	assert_int_equal(r->status, 405);
	assert_non_null(strstr(r->connection, "close"));
	curl_easy_cleanup(c);

	/* a chunked POST has no Content-Length: 411, and the connection is closed */
	c = client(NULL);
	chunked = curl_slist_append(NULL, "Transfer-Encoding: chunked");
	curl_easy_setopt(c, CURLOPT_URL, u);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{}");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, chunked);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	memset(r, 0, sizeof(*r));
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	assert_int_equal(r->status, 411);
	curl_easy_cleanup(c);
	curl_slist_free_all(chunked);
	free(r);
	httpd_stop(h);
}

static void test_tls(void **state)
{
	struct fixture *f = *state;
	struct httpd_opts o = {.cert_file = f->cert, .key_file = f->key};
	struct httpd *h = start(&o);
	struct reply *r = malloc(sizeof(*r));
	CURL *c = client(f->ca);
	char u[128];
	long connects = -1;

	url(u, sizeof(u), h, true, "/validate");
	assert_int_equal(request(c, u, "POST", "{\"a\":1}", 7, r), CURLE_OK);
	assert_int_equal(r->status, 200);
	assert_int_equal(request(c, u, "POST", "{\"a\":2}", 7, r), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects);
	assert_int_equal(connects, 0);
	curl_easy_cleanup(c);

	/* TLS 1.1 and below are refused */
	c = client(f->ca);
	curl_easy_setopt(c, CURLOPT_SSLVERSION,
			 (long)(CURL_SSLVERSION_TLSv1_0 | CURL_SSLVERSION_MAX_TLSv1_1));
	assert_int_not_equal(request(c, u, "GET", NULL, 0, r), CURLE_OK);
	curl_easy_cleanup(c);

	/* a client that trusts another CA refuses the server */
	c = client(f->ca2);
	assert_int_equal(request(c, u, "GET", NULL, 0, r), CURLE_PEER_FAILED_VERIFICATION);
	curl_easy_cleanup(c);
	free(r);
	httpd_stop(h);
}

static void test_client_certificates(void **state)
{
	struct fixture *f = *state;
	struct httpd_opts o = {.cert_file = f->cert, .key_file = f->key, .client_ca_file = f->ca};
	struct httpd *h = start(&o);
	struct reply *r = malloc(sizeof(*r));
	CURL *c;
	char u[128];

	url(u, sizeof(u), h, true, "/validate");
	c = client(f->ca); /* no certificate */
	assert_int_not_equal(request(c, u, "POST", "{}", 2, r), CURLE_OK);
	curl_easy_cleanup(c);

	c = client(f->ca); /* a certificate from another CA */
	curl_easy_setopt(c, CURLOPT_SSLCERT, f->rogue_cert);
	curl_easy_setopt(c, CURLOPT_SSLKEY, f->rogue_key);
	assert_int_not_equal(request(c, u, "POST", "{}", 2, r), CURLE_OK);
	curl_easy_cleanup(c);

	c = client(f->ca);
	curl_easy_setopt(c, CURLOPT_SSLCERT, f->client_cert);
	curl_easy_setopt(c, CURLOPT_SSLKEY, f->client_key);
	assert_int_equal(request(c, u, "POST", "{}", 2, r), CURLE_OK);
	assert_int_equal(r->status, 200);
	curl_easy_cleanup(c);
	free(r);
	httpd_stop(h);
}

static int copy_file(const char *from, const char *to)
{
	char buf[8192];
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	size_t n;
	int rc = (in && out) ? 0 : -1;

	while (!rc && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		rc = fwrite(buf, 1, n, out) == n ? 0 : -1;
	if (in)
		fclose(in);
	if (out && fclose(out))
		rc = -1;
	return rc;
}

static void test_certificate_rotation(void **state)
{
	struct fixture *f = *state;
	char cert[160], key[160], u[128];
	struct httpd_opts o = {.cert_file = cert, .key_file = key, .threads = 2};
	struct reply *r = malloc(sizeof(*r));
	struct httpd *h;
	CURL *c;

	snprintf(cert, sizeof(cert), "%s/rot.crt", f->dir);
	snprintf(key, sizeof(key), "%s/rot.key", f->dir);
	assert_int_equal(copy_file(f->cert, cert), 0);
	assert_int_equal(copy_file(f->key, key), 0);
	h = start(&o);
	url(u, sizeof(u), h, true, "/");

	/* a broken rotation (new certificate, old key) is refused and the old pair keeps serving */
	assert_int_equal(copy_file(f->cert2, cert), 0);
	assert_int_equal(httpd_reload_tls(h), SAQR_ECONFIG);
	c = client(f->ca);
	assert_int_equal(request(c, u, "GET", NULL, 0, r), CURLE_OK);
	curl_easy_cleanup(c);

	/* the complete rotation takes effect for new connections */
	assert_int_equal(copy_file(f->key2, key), 0);
	assert_int_equal(httpd_reload_tls(h), 0);
	c = client(f->ca2);
	assert_int_equal(request(c, u, "GET", NULL, 0, r), CURLE_OK);
	assert_int_equal(r->status, 200);
	curl_easy_cleanup(c);
	c = client(f->ca);
	assert_int_equal(request(c, u, "GET", NULL, 0, r), CURLE_PEER_FAILED_VERIFICATION);
	curl_easy_cleanup(c);
	free(r);
	httpd_stop(h);
	unlink(cert);
	unlink(key);
}

static void test_start_errors(void **state)
{
	struct fixture *f = *state;
	struct httpd_opts o = {.address = "127.0.0.1", .handler = echo_handler};
	struct httpd *h = NULL, *h2 = NULL;

	o.cert_file = f->cert;
	o.key_file = f->key2; /* does not match */
	assert_int_equal(httpd_start(&o, &h), SAQR_ECONFIG);
	o.key_file = "/nonexistent/tls.key";
	assert_int_equal(httpd_start(&o, &h), SAQR_ECONFIG);
	o.key_file = f->key;
	o.client_ca_file = "/nonexistent/ca.crt";
	assert_int_equal(httpd_start(&o, &h), SAQR_ECONFIG);
	o.client_ca_file = NULL;
	o.key_file = NULL;
	assert_int_equal(httpd_start(&o, &h), SAQR_EINVAL);
	assert_null(h);

	/* the port is taken */
	o.cert_file = NULL;
	assert_int_equal(httpd_start(&o, &h), 0);
	o.port = httpd_port(h);
	assert_int_equal(httpd_start(&o, &h2), SAQR_EIO);
	assert_null(h2);
	httpd_stop(h);
	httpd_stop(NULL);
}

static void test_threads_serve_many_connections(void **state)
{
	struct fixture *f = *state;
	struct httpd_opts o = {.cert_file = f->cert, .key_file = f->key, .threads = 3};
	struct httpd *h = start(&o);
	enum { NCONN = 12, ROUNDS = 10 };
	struct reply *r = malloc(NCONN * sizeof(*r));
	CURL *c[NCONN];
	CURLM *m = curl_multi_init();
	char u[128];
	int running, done = 0;
	CURLMsg *msg;

	url(u, sizeof(u), h, true, "/validate");
	for (int round = 0; round < ROUNDS; round++) {
		for (int i = 0; i < NCONN; i++) {
			if (!round)
				c[i] = client(f->ca);
			memset(&r[i], 0, sizeof(r[i]));
			curl_easy_setopt(c[i], CURLOPT_URL, u);
			curl_easy_setopt(c[i], CURLOPT_POSTFIELDS, "{\"n\":1}");
			curl_easy_setopt(c[i], CURLOPT_WRITEFUNCTION, on_body);
			curl_easy_setopt(c[i], CURLOPT_WRITEDATA, &r[i]);
			curl_multi_add_handle(m, c[i]);
		}
		do {
			curl_multi_perform(m, &running);
			curl_multi_poll(m, NULL, 0, 1000, NULL);
		} while (running);
		while ((msg = curl_multi_info_read(m, &running)) != NULL) {
			long status = 0;

			assert_int_equal(msg->data.result, CURLE_OK);
			curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
			assert_int_equal(status, 200);
			done++;
		}
		for (int i = 0; i < NCONN; i++)
			curl_multi_remove_handle(m, c[i]);
	}
	assert_int_equal(done, NCONN * ROUNDS);
	for (int i = 0; i < NCONN; i++)
		curl_easy_cleanup(c[i]);
	curl_multi_cleanup(m);
	free(r);
	httpd_stop(h);
}

static void test_large_response(void **state)
{
	struct httpd_opts o = {0};
	struct httpd *h = start(&o);
	struct reply *r = malloc(sizeof(*r));
	CURL *c = client(NULL);
	char u[128];

	(void)state;
	url(u, sizeof(u), h, false, "/big");
	assert_int_equal(request(c, u, "GET", NULL, 0, r), CURLE_OK);
	assert_int_equal(r->status, 200);
	assert_int_equal(r->len, 1024 * 1024);
	assert_memory_equal(r->body + 1023 * 1024, "0000", 4);
	curl_easy_cleanup(c);
	free(r);
	httpd_stop(h);
}

struct inflight {
	struct httpd *h;
	char url[128];
	long status;
	CURLcode rc;
	char connection[64];
};

/* ---- bytes in flight ---- */

/* A raw connection that announces a body of `announced` bytes and sends only a few of them. */
static int slow_post(const struct httpd *h, size_t announced)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)httpd_port(h))};
	char head[256];
	int fd = socket(AF_INET, SOCK_STREAM, 0), n;

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	n = snprintf(head, sizeof(head),
		     "POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
		     "Content-Length: %zu\r\n\r\n{\"a\":",
		     announced);
	assert_int_equal(write(fd, head, (size_t)n), n);
	return fd;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void wait_inflight(const struct httpd *h, size_t want)
{
	for (int i = 0; i < 300 && httpd_inflight_bytes(h) != want; i++)
		usleep(10000);
	assert_int_equal(httpd_inflight_bytes(h), want);
}

/* What a raw connection reads within `secs` seconds. */
static void read_reply(int fd, char *out, size_t n, int secs)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	size_t got = 0;
	ssize_t r;

	while (got + 1 < n && poll(&p, 1, secs * 1000) == 1 && (r = read(fd, out + got, n - 1 - got)) > 0)
		got += (size_t)r;
	out[got] = '\0';
}

static void test_inflight_bytes_are_capped(void **state)
{
	/* 4 MiB in flight: 3 MiB for any body, the last 1 MiB only for bodies up to 64 KiB */
	struct httpd_opts o = {
	    .max_body = 1 << 20, .max_inflight_bytes = 4 << 20, .body_timeout = 2, .threads = 2};
	struct httpd *h = start(&o);
	struct reply *r = malloc(sizeof(*r));
	CURL *c = client(NULL);
	char *big = malloc(200 << 10), u[128], got[1024];
	int slow[3];
	double t0;
	json_t *v;

	(void)state;
	memset(big, ' ', 200 << 10);
	url(u, sizeof(u), h, false, "/validate");
	for (int i = 0; i < 3; i++) /* three slow clients hold the whole budget for large bodies */
		slow[i] = slow_post(h, (size_t)1 << 20);
	wait_inflight(h, (size_t)3 << 20);

	assert_int_equal(request(c, u, "POST", big, 200 << 10, r), CURLE_OK);
	assert_int_equal(r->status, 429);
	assert_non_null(strstr(r->connection, "close"));
	v = reply_json(r);
	assert_string_equal(json_string_value(json_object_get(v, "reason")), "TooManyRequests");
	assert_non_null(
	    strstr(json_string_value(json_object_get(v, "message")),
		   "limit of 3145728 bytes in flight across all connections (--max-inflight-bytes)"));
	json_decref(v);

	/* a small request is still answered, and at once */
	t0 = now_s();
	assert_int_equal(request(c, u, "POST", "{\"small\":1}", 11, r), CURLE_OK);
	assert_int_equal(r->status, 200);
	assert_true(now_s() - t0 < 1.0);

	/* past the body deadline the slow clients get 408 and their bytes are given back */
	for (int i = 0; i < 3; i++) {
		read_reply(slow[i], got, sizeof(got), 5);
		assert_non_null(strstr(got, "HTTP/1.1 408"));
		assert_non_null(strstr(got, "did not arrive within 2 seconds"));
		close(slow[i]);
	}
	wait_inflight(h, 0);
	curl_easy_cleanup(c);
	c = client(NULL);
	assert_int_equal(request(c, u, "POST", big, 200 << 10, r), CURLE_OK);
	assert_int_equal(r->status, 200);
	wait_inflight(h, 0);
	curl_easy_cleanup(c);
	free(big);
	free(r);
	httpd_stop(h);
}

static void test_inflight_limit_below_the_body_cap_is_refused(void **state)
{
	struct httpd_opts o = {.address = "127.0.0.1",
			       .max_body = 1 << 20,
			       .max_inflight_bytes = 1 << 20,
			       .handler = echo_handler};
	struct httpd *h = NULL;

	(void)state;
	assert_int_equal(httpd_start(&o, &h), SAQR_EINVAL);
	assert_null(h);
}

static void *inflight_request(void *arg)
{
	struct inflight *in = arg;
	struct reply *r = malloc(sizeof(*r));
	CURL *c = client(NULL);

	in->rc = request(c, in->url, "POST", "{}", 2, r);
	in->status = r->status;
	snprintf(in->connection, sizeof(in->connection), "%s", r->connection);
	curl_easy_cleanup(c);
	free(r);
	return NULL;
}

static void *stopper(void *arg)
{
	httpd_stop(arg);
	return NULL;
}

static void test_graceful_stop_finishes_in_flight(void **state)
{
	struct httpd_opts o = {0};
	struct inflight in = {0};
	pthread_t client_thread, stop_thread;

	(void)state;
	block_entered = block_released = 0;
	in.h = start(&o);
	url(in.url, sizeof(in.url), in.h, false, "/block");
	assert_int_equal(pthread_create(&client_thread, NULL, inflight_request, &in), 0);
	pthread_mutex_lock(&block_lock);
	while (!block_entered)
		pthread_cond_wait(&block_cond, &block_lock);
	pthread_mutex_unlock(&block_lock);

	/* the handler is running: stop the server from another thread, then let the handler go */
	assert_int_equal(pthread_create(&stop_thread, NULL, stopper, in.h), 0);
	pthread_mutex_lock(&block_lock);
	block_released = 1;
	pthread_cond_broadcast(&block_cond);
	pthread_mutex_unlock(&block_lock);
	assert_int_equal(pthread_join(stop_thread, NULL), 0);
	assert_int_equal(pthread_join(client_thread, NULL), 0);
	assert_int_equal(in.rc, CURLE_OK);
	assert_int_equal(in.status, 200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_get_and_post),
	    cmocka_unit_test(test_keep_alive_reuses_the_connection),
	    cmocka_unit_test(test_body_over_the_cap),
	    cmocka_unit_test(test_methods_and_lengths_refused),
	    cmocka_unit_test(test_tls),
	    cmocka_unit_test(test_client_certificates),
	    cmocka_unit_test(test_certificate_rotation),
	    cmocka_unit_test(test_start_errors),
	    cmocka_unit_test(test_threads_serve_many_connections),
	    cmocka_unit_test(test_large_response),
	    cmocka_unit_test(test_graceful_stop_finishes_in_flight),
	    cmocka_unit_test(test_inflight_bytes_are_capped),
	    cmocka_unit_test(test_inflight_limit_below_the_body_cap_is_refused),
	};
	int rc;

	if (getenv("TEST_FILTER"))
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, setup, teardown);
	curl_global_cleanup();
	return rc;
}
