/* Unit tests for lib/kube/watch.c: the watch stream parser fed whole, byte by byte and at
 * random (seeded) split points; bookmarks, blank lines, ERROR events, malformed and oversized
 * lines, the callback ending the stream, and the end-of-stream rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "kube/watch.h"

#define MAX_SEEN 16

/* What the callback saw. */
struct seen {
	int n;
	char types[MAX_SEEN][16];
	char names[MAX_SEEN][64];
	char rvs[MAX_SEEN][16];
	int stop_after; /* return 99 after this many events; 0: never */
};

static int record(void *ud, const char *type, json_t *obj)
{
	struct seen *s = ud;
	json_t *meta = json_object_get(obj, "metadata");
	const char *name = json_string_value(json_object_get(meta, "name"));
	const char *rv = json_string_value(json_object_get(meta, "resourceVersion"));

	assert_true(s->n < MAX_SEEN);
	snprintf(s->types[s->n], sizeof(s->types[0]), "%s", type);
	snprintf(s->names[s->n], sizeof(s->names[0]), "%s", name ? name : "");
	snprintf(s->rvs[s->n], sizeof(s->rvs[0]), "%s", rv ? rv : "");
	s->n++;
	return s->stop_after && s->n >= s->stop_after ? 99 : 0;
}

/* A recorded-style stream: events, a bookmark, blank lines and a CRLF line ending. */
static const char stream[] =
    "{\"type\":\"ADDED\",\"object\":{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":"
    "\"a\","
    "\"namespace\":\"default\",\"resourceVersion\":\"211\"},\"data\":{\"k\":\"line\\nbreak {not json}\"}}}\n"
    "\n"
    "{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"a\","
    "\"resourceVersion\":\"212\"}}}\r\n"
    "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"ConfigMap\",\"metadata\":{\"resourceVersion\":\"230\","
    "\"annotations\":{\"k8s.io/initial-events-end\":\"true\"}}}}\n"
    "   \n"
    "{\"type\":\"DELETED\",\"object\":{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"a\","
    "\"resourceVersion\":\"231\"}}}\n";

static void assert_stream_seen(const struct seen *s)
{
	static const char *const types[] = {"ADDED", "MODIFIED", "BOOKMARK", "DELETED"};
	static const char *const rvs[] = {"211", "212", "230", "231"};

	assert_int_equal(s->n, 4);
	for (int i = 0; i < 4; i++) {
		assert_string_equal(s->types[i], types[i]);
		assert_string_equal(s->rvs[i], rvs[i]);
	}
	assert_string_equal(s->names[0], "a");
	assert_string_equal(s->names[2], "");
}

/* Feed data cut at the given points (ascending offsets), then finish. */
static int feed_split(struct kube_watch_parser *p, const char *data, size_t len, const size_t *cuts,
		      size_t ncuts)
{
	size_t at = 0;
	int rc = 0;

	for (size_t i = 0; i <= ncuts && !rc; i++) {
		size_t end = i < ncuts ? cuts[i] : len;

		rc = kube_watch_parser_feed(p, data + at, end - at);
		at = end;
	}
	return rc ? rc : kube_watch_parser_finish(p);
}

static void test_whole(void **state)
{
	struct kube_watch_parser p;
	struct seen s = {0};

	(void)state;
	kube_watch_parser_init(&p, 0, record, &s, NULL);
	assert_int_equal(feed_split(&p, stream, strlen(stream), NULL, 0), 0);
	assert_stream_seen(&s);
	assert_int_equal(p.events, 4);
	kube_watch_parser_release(&p);
}

static void test_byte_by_byte(void **state)
{
	struct kube_watch_parser p;
	struct seen s = {0};

	(void)state;
	kube_watch_parser_init(&p, 0, record, &s, NULL);
	for (size_t i = 0; i < strlen(stream); i++)
		assert_int_equal(kube_watch_parser_feed(&p, stream + i, 1), 0);
	assert_int_equal(kube_watch_parser_finish(&p), 0);
	assert_stream_seen(&s);
	kube_watch_parser_release(&p);
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

static void test_random_splits(void **state)
{
	size_t len = strlen(stream), cuts[8];
	unsigned int seed = 20240601;

	(void)state;
	for (int round = 0; round < 500; round++) {
		struct kube_watch_parser p;
		struct seen s = {0};
		size_t ncuts = (size_t)(rand_r(&seed) % 8);

		for (size_t i = 0; i < ncuts; i++)
			cuts[i] = (size_t)rand_r(&seed) % (len + 1);
		qsort(cuts, ncuts, sizeof(cuts[0]), cmp_size);
		kube_watch_parser_init(&p, 0, record, &s, NULL);
		assert_int_equal(feed_split(&p, stream, len, cuts, ncuts), 0);
		assert_stream_seen(&s);
		kube_watch_parser_release(&p);
	}
}

static void test_error_410_is_gone(void **state)
{
	const char *data =
	    "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"x\",\"resourceVersion\":\"5\"}}}\n"
	    "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
	    "\"status\":\"Failure\","
	    "\"message\":\"The resourceVersion for the provided watch is too "
	    "old.\",\"reason\":\"Expired\",\"code\":410}}\n"
	    "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"never\"}}}\n";
	struct kube_watch_parser p;
	struct kube_status st;
	struct seen s = {0};

	(void)state;
	kube_watch_parser_init(&p, 0, record, &s, &st);
	assert_int_equal(kube_watch_parser_feed(&p, data, strlen(data)), SAQR_EGONE);
	assert_int_equal(s.n, 1);
	assert_int_equal(st.http_code, 410);
	assert_string_equal(st.reason, "Expired");
	assert_string_equal(st.message, "The resourceVersion for the provided watch is too old.");
	/* the error sticks */
	assert_int_equal(kube_watch_parser_feed(&p, "\n", 1), SAQR_EGONE);
	assert_int_equal(kube_watch_parser_finish(&p), SAQR_EGONE);
	assert_int_equal(s.n, 1);
	kube_watch_parser_release(&p);
}

static void test_other_error_event(void **state)
{
	const char *data = "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"reason\":\"InternalError\","
			   "\"message\":\"etcd unavailable\",\"code\":500}}\n";
	const char *bare = "{\"type\":\"ERROR\",\"object\":{}}\n";
	struct kube_watch_parser p;
	struct kube_status st;

	(void)state;
	kube_watch_parser_init(&p, 0, NULL, NULL, &st);
	assert_int_equal(kube_watch_parser_feed(&p, data, strlen(data)), SAQR_EAPI);
	assert_int_equal(st.http_code, 500);
	assert_string_equal(st.message, "etcd unavailable");
	kube_watch_parser_release(&p);

	kube_watch_parser_init(&p, 0, NULL, NULL, &st);
	assert_int_equal(kube_watch_parser_feed(&p, bare, strlen(bare)), SAQR_EAPI);
	assert_string_equal(st.message, "watch ERROR event with code 0");
	kube_watch_parser_release(&p);
}

static void assert_malformed(const char *line, const char *cause)
{
	struct kube_watch_parser p;
	struct kube_status st;
	struct seen s = {0};

	kube_watch_parser_init(&p, 0, record, &s, &st);
	assert_int_equal(kube_watch_parser_feed(&p, line, strlen(line)), SAQR_EPARSE);
	if (!strstr(st.message, cause))
		fail_msg("for %s: message \"%s\" lacks \"%s\"", line, st.message, cause);
	assert_int_equal(s.n, 0);
	kube_watch_parser_release(&p);
}

static void test_malformed_lines(void **state)
{
	(void)state;
	assert_malformed("{\"type\":\"ADDED\",\"object\":{\"metadata\":{}}\n",
			 "not valid JSON: line 1 column");
	assert_malformed("{\"type\":\"ADDED\"} {\"type\":\"ADDED\"}\n", "not valid JSON");
	assert_malformed("not json at all\n", "not valid JSON");
	assert_malformed("[1,2]\n", "not a JSON object");
	assert_malformed("{\"object\":{}}\n", "no \"type\" string");
	assert_malformed("{\"type\":7,\"object\":{}}\n", "no \"type\" string");
	assert_malformed("{\"type\":\"ADDED\"}\n", "watch event ADDED has no \"object\" object");
	assert_malformed("{\"type\":\"ADDED\",\"object\":[]}\n", "has no \"object\" object");
	assert_malformed("{\"type\":\"RESYNC\",\"object\":{}}\n", "unknown watch event type \"RESYNC\"");
}

static void test_oversized_line(void **state)
{
	const char *event = "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"x\"}}}";
	struct kube_watch_parser p;
	struct kube_status st;
	struct seen s = {0};
	size_t n = strlen(event);
	char big[256];

	(void)state;
	/* a line of exactly max_line bytes passes, whole or carried over feeds */
	kube_watch_parser_init(&p, n, record, &s, &st);
	snprintf(big, sizeof(big), "%s\n", event);
	assert_int_equal(kube_watch_parser_feed(&p, big, n + 1), 0);
	assert_int_equal(kube_watch_parser_feed(&p, big, 10), 0);
	assert_int_equal(kube_watch_parser_feed(&p, big + 10, n + 1 - 10), 0);
	assert_int_equal(s.n, 2);
	kube_watch_parser_release(&p);

	/* one byte more fails, in a single chunk ... */
	kube_watch_parser_init(&p, n - 1, record, &s, &st);
	assert_int_equal(kube_watch_parser_feed(&p, big, n + 1), SAQR_ETOOBIG);
	assert_non_null(strstr(st.message, "exceeds"));
	kube_watch_parser_release(&p);
	/* ... while still unterminated ... */
	kube_watch_parser_init(&p, n - 1, record, &s, &st);
	assert_int_equal(kube_watch_parser_feed(&p, big, 10), 0);
	assert_int_equal(kube_watch_parser_feed(&p, big + 10, n - 10), SAQR_ETOOBIG);
	kube_watch_parser_release(&p);
	/* ... and when the newline comes in a later chunk */
	kube_watch_parser_init(&p, n - 1, record, &s, &st);
	assert_int_equal(kube_watch_parser_feed(&p, big, n - 1), 0);
	assert_int_equal(kube_watch_parser_feed(&p, big + n - 1, 2), SAQR_ETOOBIG);
	kube_watch_parser_release(&p);
	assert_int_equal(s.n, 2);
}

static void test_default_cap_is_kube_max_watch_line(void **state)
{
	struct kube_watch_parser p;
	char *junk = malloc(KUBE_MAX_WATCH_LINE + 1);

	(void)state;
	assert_non_null(junk);
	memset(junk, ' ', KUBE_MAX_WATCH_LINE + 1);
	kube_watch_parser_init(&p, 0, NULL, NULL, NULL);
	assert_int_equal(p.max_line, KUBE_MAX_WATCH_LINE);
	/* blanks up to the cap are fine; one more byte without a newline is not */
	assert_int_equal(kube_watch_parser_feed(&p, junk, KUBE_MAX_WATCH_LINE), 0);
	assert_int_equal(kube_watch_parser_feed(&p, junk, 1), SAQR_ETOOBIG);
	kube_watch_parser_release(&p);
	free(junk);
}

static void test_callback_ends_the_watch(void **state)
{
	struct kube_watch_parser p;
	struct seen s = {.stop_after = 2};

	(void)state;
	kube_watch_parser_init(&p, 0, record, &s, NULL);
	assert_int_equal(kube_watch_parser_feed(&p, stream, strlen(stream)), 99);
	assert_int_equal(s.n, 2);
	assert_int_equal(kube_watch_parser_feed(&p, stream, strlen(stream)), 99);
	assert_int_equal(s.n, 2);
	kube_watch_parser_release(&p);
}

static void test_finish(void **state)
{
	const char *last =
	    "{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"z\",\"resourceVersion\":\"9\"}}}";
	struct kube_watch_parser p;
	struct seen s = {0};

	(void)state;
	/* an unterminated last event is still delivered */
	kube_watch_parser_init(&p, 0, record, &s, NULL);
	assert_int_equal(kube_watch_parser_feed(&p, last, strlen(last)), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(kube_watch_parser_finish(&p), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.types[0], "DELETED");
	assert_int_equal(kube_watch_parser_finish(&p), 0);
	assert_int_equal(s.n, 1);
	kube_watch_parser_release(&p);
	/* a stream cut in the middle of an event is an error */
	kube_watch_parser_init(&p, 0, record, &s, NULL);
	assert_int_equal(kube_watch_parser_feed(&p, last, 20), 0);
	assert_int_equal(kube_watch_parser_finish(&p), SAQR_EPARSE);
	kube_watch_parser_release(&p);
	/* nothing, or only blanks, is a clean end */
	kube_watch_parser_init(&p, 0, record, &s, NULL);
	assert_int_equal(kube_watch_parser_finish(&p), 0);
	assert_int_equal(kube_watch_parser_feed(&p, "\r\n \t", 4), 0);
	assert_int_equal(kube_watch_parser_finish(&p), 0);
	kube_watch_parser_release(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_whole),
	    cmocka_unit_test(test_byte_by_byte),
	    cmocka_unit_test(test_random_splits),
	    cmocka_unit_test(test_error_410_is_gone),
	    cmocka_unit_test(test_other_error_event),
	    cmocka_unit_test(test_malformed_lines),
	    cmocka_unit_test(test_oversized_line),
	    cmocka_unit_test(test_default_cap_is_kube_max_watch_line),
	    cmocka_unit_test(test_callback_ends_the_watch),
	    cmocka_unit_test(test_finish),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
