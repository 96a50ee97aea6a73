/* Unit tests for fetch/sigv4: every case of tests/data/sigv4/vectors.json (AWS's published
 * Signature Version 4 test suite) must give the published canonical request, string to sign and
 * signature; plus the header lines, S3's x-amz-content-sha256, encoding, and refused inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "fetch/sigv4.h"
#include "oms/digest.h"

static json_t *load_vectors(void)
{
	const char *root = getenv("SAQR_ROOT");
	char path[4096];
	json_error_t e;
	json_t *v;

	snprintf(path, sizeof(path), "%s/tests/data/sigv4/vectors.json", root ? root : ".");
	v = json_load_file(path, 0, &e);
	if (!v)
		fail_msg("%s: %s", path, e.text);
	return v;
}

/* Fill pairs from a JSON array of [name, value]. */
static size_t pairs(const json_t *list, struct sigv4_pair *out)
{
	size_t i;
	json_t *p;

	json_array_foreach(list, i, p)
	{
		out[i].name = json_string_value(json_array_get(p, 0));
		out[i].value = json_string_value(json_array_get(p, 1));
	}
	return json_array_size(list);
}

static void run_case(const json_t *doc, const json_t *c)
{
	struct sigv4_pair q[SIGV4_MAX_ITEMS], h[SIGV4_MAX_ITEMS];
	struct sigv4_creds cr = {json_string_value(json_object_get(doc, "access_key")),
				 json_string_value(json_object_get(doc, "secret_key")),
				 json_string_value(json_object_get(c, "session_token"))};
	struct sigv4_request req = {.method = json_string_value(json_object_get(c, "method")),
				    .path = json_string_value(json_object_get(c, "path"))};
	const char *body = json_string_value(json_object_get(c, "body"));
	unsigned char d[OMS_SHA256_LEN];
	char hash[OMS_SHA256_HEX];
	struct sigv4_signed s;

	req.nquery = pairs(json_object_get(c, "query"), q);
	req.query = q;
	req.nheaders = pairs(json_object_get(c, "headers"), h);
	req.headers = h;
	if (json_is_true(json_object_get(c, "sign_body"))) {
		assert_int_equal(oms_sha256_mem(body, strlen(body), d), 0);
		oms_hex(d, hash);
		req.payload_hash = hash;
		req.content_sha256_header = true;
	}
	assert_int_equal(sigv4_sign(&req, &cr, json_string_value(json_object_get(doc, "region")),
				    json_string_value(json_object_get(doc, "service")),
				    json_string_value(json_object_get(doc, "amz_date")), &s),
			 0);
	assert_string_equal(buf_str(&s.canonical_request),
			    json_string_value(json_object_get(c, "canonical_request")));
	assert_string_equal(buf_str(&s.string_to_sign),
			    json_string_value(json_object_get(c, "string_to_sign")));
	assert_string_equal(s.signature, json_string_value(json_object_get(c, "signature")));
	sigv4_signed_release(&s);
}

static void test_published_vectors(void **state)
{
	json_t *doc = load_vectors(), *c;
	size_t i;

	(void)state;
	assert_true(json_array_size(json_object_get(doc, "cases")) >= 10);
	json_array_foreach(json_object_get(doc, "cases"), i, c)
	{
		print_message("  sigv4 vector %s\n", json_string_value(json_object_get(c, "name")));
		run_case(doc, c);
	}
	json_decref(doc);
}

static void test_header_lines(void **state)
{
	struct sigv4_pair h[] = {{"Host", "bucket.s3.amazonaws.com"}};
	struct sigv4_pair q[] = {{"list-type", "2"}, {"prefix", "models/v1/"}};
	struct sigv4_request req = {.method = "GET",
				    .path = "/",
				    .query = q,
				    .nquery = 2,
				    .headers = h,
				    .nheaders = 1,
				    .content_sha256_header = true};
	struct sigv4_creds cr = {"AKID", "SECRET", "TOKEN"};
	struct sigv4_signed s;

	(void)state;
	assert_int_equal(sigv4_sign(&req, &cr, "me-central-1", "s3", "20240101T000000Z", &s), 0);
	assert_string_equal(buf_str(&s.query), "list-type=2&prefix=models%2Fv1%2F");
	assert_string_equal(s.lines[0], "X-Amz-Date: 20240101T000000Z");
	assert_string_equal(s.lines[1], "X-Amz-Security-Token: TOKEN");
	assert_string_equal(s.lines[2], "X-Amz-Content-Sha256: " SIGV4_EMPTY_SHA256);
	assert_non_null(strstr(s.lines[3],
			       "Authorization: AWS4-HMAC-SHA256 Credential=AKID/20240101/me-central-1/s3/"
			       "aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;"
			       "x-amz-security-token, Signature="));
	assert_null(s.lines[4]);
	sigv4_signed_release(&s);
}

static void test_encode_and_refusals(void **state)
{
	struct sigv4_request req = {.method = "GET", .path = "/a b/c+d"};
	struct sigv4_creds cr = {"AKID", "SECRET", NULL}, none = {NULL, NULL, NULL};
	struct sigv4_signed s;
	struct buf b;

	(void)state;
	buf_init(&b, 256);
	assert_int_equal(sigv4_encode(&b, "a b/c+d~", true), 0);
	assert_string_equal(buf_str(&b), "a%20b/c%2Bd~");
	buf_reset(&b);
	assert_int_equal(sigv4_encode(&b, "a/b=", false), 0);
	assert_string_equal(buf_str(&b), "a%2Fb%3D");
	buf_release(&b);
	assert_int_equal(sigv4_sign(&req, &none, "r", "s3", "20240101T000000Z", &s), SAQR_EINVAL);
	sigv4_signed_release(&s);
	assert_int_equal(sigv4_sign(&req, &cr, "r", "s3", "2024-01-01", &s), SAQR_EINVAL);
	sigv4_signed_release(&s);
	req.nquery = SIGV4_MAX_ITEMS + 1;
	assert_int_equal(sigv4_sign(&req, &cr, "r", "s3", "20240101T000000Z", &s), SAQR_EINVAL);
	sigv4_signed_release(&s);
	sigv4_signed_release(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_published_vectors),
	    cmocka_unit_test(test_header_lines),
	    cmocka_unit_test(test_encode_and_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
