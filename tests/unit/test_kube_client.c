/* Unit tests for lib/kube/client.c that need no API server: configuration checks, argument
 * checks and size caps refused before anything is sent, and an unreadable tokenFile. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "kube/client.h"

static const struct kube_resource cms = {"", "v1", "configmaps", true};

/* Port 1 on loopback: nothing listens there, so anything that did reach the network would
 * fail with SAQR_ETRANSPORT rather than the codes asserted below. */
static struct kube_client *offline_client(const char *token, const char *token_file)
{
	struct kube_config cfg = {
	    .server = "http://127.0.0.1:1", .token = (char *)token, .token_file = (char *)token_file};
	struct kube_client *c = NULL;

	assert_int_equal(kube_client_new(&cfg, &c), 0);
	return c;
}

static void test_new_checks_config(void **state)
{
	struct kube_config cfg = {0};
	struct kube_client *c = NULL;

	(void)state;
	assert_int_equal(kube_client_new(NULL, &c), SAQR_ECONFIG);
	assert_int_equal(kube_client_new(&cfg, &c), SAQR_ECONFIG);
	cfg.server = "";
	assert_int_equal(kube_client_new(&cfg, &c), SAQR_ECONFIG);
	cfg.server = "https://127.0.0.1:6443";
	cfg.token = "abc\r\nX-Injected: 1";
	assert_int_equal(kube_client_new(&cfg, &c), SAQR_ECONFIG);
	assert_null(c);
	cfg.token = "abc";
	assert_int_equal(kube_client_new(&cfg, &c), 0);
	kube_client_free(c);
	kube_client_free(NULL);
}

static void test_arguments_refused_locally(void **state)
{
	struct kube_client *c = offline_client(NULL, NULL);
	json_t *noname = json_pack("{s:{}}", "metadata");
	json_t *patch = json_object();
	struct kube_status st;

	(void)state;
	assert_int_equal(kube_get(c, &cms, "ns", "", NULL, &st), SAQR_EINVAL);
	assert_int_equal(kube_get(c, &cms, "ns", NULL, NULL, &st), SAQR_EINVAL);
	assert_int_equal(kube_update(c, &cms, "ns", noname, NULL, NULL, &st), SAQR_EINVAL);
	assert_non_null(strstr(st.message, "metadata.name"));
	assert_int_equal(kube_apply(c, &cms, "ns", noname, "mgr", true, NULL, &st), SAQR_EINVAL);
	assert_int_equal(kube_patch(c, &cms, "ns", "x", KUBE_PATCH_APPLY, patch, NULL, NULL, &st),
			 SAQR_EINVAL);
	assert_int_equal(kube_patch(c, &cms, "ns", "x", KUBE_PATCH_JSON, patch, NULL, NULL, &st),
			 SAQR_EINVAL);
	assert_int_equal(kube_patch(c, &cms, "ns", "x", (enum kube_patch_type)42, patch, NULL, NULL, &st),
			 SAQR_EINVAL);
	assert_int_equal(kube_delete(c, &cms, "ns", NULL, NULL, &st), SAQR_EINVAL);
	assert_int_equal(kube_request(c, "GET", "api/v1", NULL, NULL, 0, NULL, &st), SAQR_EINVAL);
	assert_int_equal(kube_request(c, NULL, "/api/v1", NULL, NULL, 0, NULL, &st), SAQR_EINVAL);
	json_decref(noname);
	json_decref(patch);
	kube_client_free(c);
}

static void test_request_cap(void **state)
{
	struct kube_client *c = offline_client(NULL, NULL);
	size_t big = KUBE_MAX_REQUEST_BODY + 1;
	char *body = malloc(big);
	struct kube_status st;

	(void)state;
	assert_non_null(body);
	memset(body, ' ', big);
	assert_int_equal(
	    kube_request(c, "POST", "/api/v1/namespaces", "application/json", body, big, NULL, &st),
	    SAQR_ETOOBIG);
	assert_non_null(strstr(st.message, "exceeds"));
	free(body);
	kube_client_free(c);
}

static void test_unreadable_token_file(void **state)
{
	struct kube_client *c = offline_client(NULL, "/nonexistent/token");
	struct kube_status st;

	(void)state;
	assert_int_equal(kube_get(c, &cms, "ns", "x", NULL, &st), SAQR_ECONFIG);
	assert_non_null(strstr(st.message, "tokenFile /nonexistent/token"));
	kube_client_free(c);
	/* a static token is the fallback while the file cannot be read */
	c = offline_client("fallback", "/nonexistent/token");
	assert_int_equal(kube_get(c, &cms, "ns", "x", NULL, &st), SAQR_ETRANSPORT);
	kube_client_free(c);
}

static void test_transport_error_text(void **state)
{
	struct kube_client *c = offline_client("t", NULL);
	struct kube_status st;
	json_t *out = (json_t *)0x1;

	(void)state;
	assert_int_equal(kube_get(c, &cms, "ns", "x", &out, &st), SAQR_ETRANSPORT);
	assert_ptr_equal(out, (json_t *)0x1);
	assert_int_equal(st.http_code, 0);
	assert_non_null(strstr(st.message, "127.0.0.1"));
	kube_client_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_new_checks_config),	 cmocka_unit_test(test_arguments_refused_locally),
	    cmocka_unit_test(test_request_cap),		 cmocka_unit_test(test_unreadable_token_file),
	    cmocka_unit_test(test_transport_error_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
