/* Unit tests for agent/http1: the incremental HTTP/1.1 parser fed whole, byte by byte and at
 * random splits (same result every way), chunked bodies, pipelining, responses (HEAD, 1xx,
 * 204, close-delimited), and what it refuses (smuggling, bad framing, oversize heads). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/http1.h"
#include "common/buf.h"
#include "common/err.h"

struct result {
	struct buf body;
	int heads, dones;
	char method[16], target[256];
	int status;
	bool close, chunked;
	size_t consumed; /* bytes up to the end of the first message */
};

static void on_body(void *ud, const char *d, size_t n)
{
	struct result *r = ud;

	assert_int_equal(buf_add(&r->body, d, n), 0);
}

/* Feed text in pieces of `step` bytes (0: random sizes from seed) until the first message
 * ends. Returns the parser's final code. */
static int feed(enum http1_kind kind, const char *text, size_t len, size_t step, unsigned seed,
		struct result *r, bool head_request)
{
	struct http1 *p = malloc(sizeof(*p));
	size_t off = 0;
	int rc = HTTP1_AGAIN;

	assert_non_null(p);
	memset(r, 0, sizeof(*r));
	buf_init(&r->body, 1 << 20);
	http1_init(p, kind, on_body, r);
	if (head_request)
		http1_expect_no_body(p);
	while (rc >= 0 && rc != HTTP1_DONE) {
		size_t n = step ? step : (size_t)(rand_r(&seed) % 7) + 1, used = 0;

		if (n > len - off)
			n = len - off;
		rc = http1_feed(p, text + off, n, &used);
		off += used;
		if (rc == HTTP1_HEAD) {
			const struct http1_head *h = http1_head(p);

			r->heads++;
			snprintf(r->method, sizeof(r->method), "%s", h->method ? h->method : "");
			snprintf(r->target, sizeof(r->target), "%s", h->target ? h->target : "");
			r->status = h->status;
			r->close = h->close;
			r->chunked = h->chunked;
			rc = HTTP1_AGAIN;
			continue;
		}
		if (rc == HTTP1_AGAIN && off == len) {
			rc = http1_eof(p);
			break;
		}
	}
	if (rc == HTTP1_DONE)
		r->dones++;
	r->consumed = off;
	free(p);
	return rc;
}

/* The same outcome whole, byte by byte and at random splits. */
static void feed_all_ways(enum http1_kind kind, const char *text, int want_rc, const char *want_body)
{
	size_t len = strlen(text);
	struct result first, r;
	int rc = feed(kind, text, len, len, 0, &first, false);

	assert_int_equal(rc, want_rc);
	if (want_body)
		assert_string_equal(buf_str(&first.body), want_body);
	for (unsigned i = 0; i < 40; i++) {
		rc = feed(kind, text, len, i == 0 ? 1 : 0, i, &r, false);
		assert_int_equal(rc, want_rc);
		assert_string_equal(buf_str(&r.body), buf_str(&first.body));
		assert_int_equal(r.consumed, first.consumed);
		buf_release(&r.body);
	}
	buf_release(&first.body);
}

static void test_request_with_length(void **state)
{
	struct result r;
	const char *t = "POST /v1/models/m:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 13\r\n\r\n"
			"{\"a\":[1,2,3]}";

	(void)state;
	feed_all_ways(HTTP1_REQUEST, t, HTTP1_DONE, "{\"a\":[1,2,3]}");
	assert_int_equal(feed(HTTP1_REQUEST, t, strlen(t), 1, 0, &r, false), HTTP1_DONE);
	assert_string_equal(r.method, "POST");
	assert_string_equal(r.target, "/v1/models/m:predict");
	assert_false(r.close);
	buf_release(&r.body);
}

static void test_request_chunked(void **state)
{
	const char *t = "POST /v2/models/m/infer HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
			"5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\n";

	(void)state;
	feed_all_ways(HTTP1_REQUEST, t, HTTP1_DONE, "hello, world");
	feed_all_ways(HTTP1_REQUEST, "POST / HTTP/1.1\nTransfer-Encoding: chunked\n\nA\nabcdefghij\n0\n\n",
		      HTTP1_DONE, "abcdefghij");
}

static void test_request_no_body_and_pipelining(void **state)
{
	const char *t = "\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\n\r\n";
	struct result r;

	(void)state;
	assert_int_equal(feed(HTTP1_REQUEST, t, strlen(t), strlen(t), 0, &r, false), HTTP1_DONE);
	assert_string_equal(r.target, "/healthz");
	assert_int_equal(r.consumed, strlen("\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
	buf_release(&r.body);
	assert_int_equal(feed(HTTP1_REQUEST, "GET / HTTP/1.0\r\n\r\n", 18, 18, 0, &r, false), HTTP1_DONE);
	assert_true(r.close);
	buf_release(&r.body);
}

static void test_request_refused(void **state)
{
	static const char *const bad[] = {
	    "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
	    "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
	    "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
	    "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
	    "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
	    "POST / HTTP/1.1\r\nHost : x\r\n\r\n",
	    "POST / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
	    "POST / HTTP/1.1\rHost: x\r\n\r\n",
	    "POST  / HTTP/1.1\r\n\r\n",
	    "POST / HTTP/2.0\r\n\r\n",
	    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX",
	    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n",
	    "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nshort",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct result r;
		int rc = feed(HTTP1_REQUEST, bad[i], strlen(bad[i]), 1, 0, &r, false);

		if (rc != SAQR_EPARSE)
			fail_msg("case %zu: %d", i, rc);
		buf_release(&r.body);
	}
}

static void test_head_too_big(void **state)
{
	struct buf b;
	struct result r;

	(void)state;
	buf_init(&b, 1 << 20);
	buf_adds(&b, "GET / HTTP/1.1\r\n");
	while (b.len < HTTP1_MAX_HEAD + 10)
		buf_adds(&b, "X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
	buf_adds(&b, "\r\n");
	assert_int_equal(feed(HTTP1_REQUEST, b.data, b.len, 100, 0, &r, false), SAQR_ETOOBIG);
	buf_release(&r.body);
	buf_reset(&b);
	buf_adds(&b, "GET / HTTP/1.1\r\n");
	for (int i = 0; i <= HTTP1_MAX_HEADERS; i++)
		buf_addf(&b, "X-%d: 1\r\n", i);
	buf_adds(&b, "\r\n");
	assert_int_equal(feed(HTTP1_REQUEST, b.data, b.len, b.len, 0, &r, false), SAQR_ETOOBIG);
	buf_release(&r.body);
	buf_release(&b);
}

static void test_responses(void **state)
{
	struct result r;
	const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
	const char *close_delim = "HTTP/1.1 200 OK\r\n\r\nuntil the end";

	(void)state;
	feed_all_ways(HTTP1_RESPONSE, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", HTTP1_DONE, "{}");
	feed_all_ways(HTTP1_RESPONSE,
		      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", HTTP1_DONE,
		      "{}");
	feed_all_ways(HTTP1_RESPONSE, close_delim, HTTP1_DONE, "until the end");
	feed_all_ways(HTTP1_RESPONSE, "HTTP/1.1 204 No Content\r\n\r\n", HTTP1_DONE, "");
	feed_all_ways(HTTP1_RESPONSE, "HTTP/1.1 100 Continue\r\n\r\n", HTTP1_DONE, "");
	feed_all_ways(HTTP1_RESPONSE, "HTTP/1.1 2000 OK\r\n\r\n", SAQR_EPARSE, NULL);
	assert_int_equal(feed(HTTP1_RESPONSE, head, strlen(head), 3, 0, &r, true), HTTP1_DONE);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, 0);
	buf_release(&r.body);
	assert_int_equal(feed(HTTP1_RESPONSE, close_delim, strlen(close_delim), 4, 0, &r, false), HTTP1_DONE);
	assert_true(r.close);
	buf_release(&r.body);
}

static void test_headers_lookup(void **state)
{
	struct http1 *p = malloc(sizeof(*p));
	const char *t = "GET / HTTP/1.1\r\nConnection: Keep-Alive, Upgrade\r\nX-Name:   value  \r\n\r\n";
	size_t used;
	char v[32];

	(void)state;
	http1_init(p, HTTP1_REQUEST, NULL, NULL);
	assert_int_equal(http1_feed(p, t, strlen(t), &used), HTTP1_HEAD);
	assert_true(http1_has_token(p, "connection", "upgrade"));
	assert_false(http1_has_token(p, "connection", "close"));
	assert_true(http1_header(p, "x-name", v, sizeof(v)));
	assert_string_equal(v, "value");
	assert_false(http1_header(p, "x-none", v, sizeof(v)));
	assert_int_equal(http1_feed(p, "", 0, &used), HTTP1_DONE);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_request_with_length),
	    cmocka_unit_test(test_request_chunked),
	    cmocka_unit_test(test_request_no_body_and_pipelining),
	    cmocka_unit_test(test_request_refused),
	    cmocka_unit_test(test_head_too_big),
	    cmocka_unit_test(test_responses),
	    cmocka_unit_test(test_headers_lookup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
