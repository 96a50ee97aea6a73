/* Unit tests for lib/common/jsonpack.c: exact round trips (owned objects, custom resources,
 * escapes, non-ASCII, text with no fragment, empty), the size gain on a typical owned object,
 * refusal of raw control characters, and the errors of decode and load. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../support/opfixture.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/jsonpack.h"

static const char owned_deployment[] =
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"model-00001\","
    "\"namespace\":\"saqr-bench\",\"uid\":\"1b4e28ba-2fa1-11d2-883f-0016d3cca427\",\"resourceVersion\":"
    "\"12345\","
    "\"generation\":1,\"labels\":{\"app.kubernetes.io/component\":\"model-server\","
    "\"app.kubernetes.io/instance\":\"model-00001\",\"app.kubernetes.io/managed-by\":\"saqr-operator\","
    "\"app.kubernetes.io/name\":\"model-00001\",\"app.kubernetes.io/part-of\":\"saqr\","
    "\"saqr.dev/modeldeployment\":\"model-00001\"},\"annotations\":{\"saqr.dev/applied-hash\":"
    "\"0123456789abcdef\"},\"ownerReferences\":[{\"apiVersion\":\"saqr.dev/v1alpha1\",\"kind\":"
    "\"ModelDeployment\",\"name\":\"model-00001\",\"uid\":\"6f1c2a7e-0b9d-4c55-9e0e-2f7a1d3c4b10\","
    "\"controller\":true,\"blockOwnerDeletion\":true}]},\"spec\":{\"replicas\":2},\"status\":{}}";

static char *roundtrip(const char *text)
{
	char *packed = jsonpack_encode(text);
	struct buf out;

	assert_non_null(packed);
	buf_init(&out, 1u << 20);
	assert_int_equal(jsonpack_decode(packed, &out), 0);
	free(packed);
	return buf_detach(&out);
}

static void test_roundtrips(void **state)
{
	static const char *const texts[] = {
	    owned_deployment,
	    "",
	    "{}",
	    "plain text without any fragment",
	    "{\"name\":\"a\\\"name\\\":\\\"b\",\"x\":\"\\n\\t\\u0001\"}",
	    "{\"message\":\"caf\xc3\xa9 \xe2\x9c\x93\",\"status\":\"True\",\"type\":\"Ready\"}",
	    "\"name\":\"",
	    "\"name\":",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		char *back = roundtrip(texts[i]);

		assert_string_equal(back, texts[i]);
		free(back);
	}
}

static void test_shrinks_owned_objects(void **state)
{
	char *packed = jsonpack_encode(owned_deployment);
	json_t *v;

	(void)state;
	assert_non_null(packed);
	assert_true(strlen(packed) * 2 < strlen(owned_deployment));
	v = jsonpack_load(packed);
	assert_non_null(v);
	assert_string_equal(json_string_value(json_object_get(json_object_get(v, "metadata"), "name")),
			    "model-00001");
	json_decref(v);
	free(packed);
}

static void test_custom_resource_fixture(void **state)
{
	json_t *md = opfix_load("md_fraud.json"), *back;
	char *packed = jsonpack_dump(md), *text = json_dumps(md, JSON_COMPACT);

	(void)state;
	assert_non_null(packed);
	assert_true(strlen(packed) < strlen(text));
	back = jsonpack_load(packed);
	assert_true(json_equal(md, back));
	json_decref(back);
	json_decref(md);
	free(packed);
	free(text);
}

static void test_errors(void **state)
{
	struct buf small;
	char raw[] = {'{', 0x01, '}', 0};
	char *packed = jsonpack_encode(owned_deployment);

	(void)state;
	/* a raw control character is not JSON text: refused rather than made ambiguous */
	assert_null(jsonpack_encode(raw));
	/* the output cap */
	buf_init(&small, 16);
	assert_int_equal(jsonpack_decode(packed, &small), SAQR_ETOOBIG);
	buf_release(&small);
	assert_null(jsonpack_load("not json"));
	free(packed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrips),
	    cmocka_unit_test(test_shrinks_owned_objects),
	    cmocka_unit_test(test_custom_resource_fixture),
	    cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
