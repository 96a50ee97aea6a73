/* Unit tests for webhook/apstatus.c: the server-side apply body of a webhook pod's entry in the
 * AdmissionPolicy's status.loaded, the generation read back from the policy file (and what is
 * not a generation), and the reporter's refusals of incomplete configurations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../support/kubetest.h"
#include "common/err.h"
#include "common/jsonutil.h"
#include "webhook/apstatus.h"

static void test_body_is_one_entry(void **state)
{
	json_t *body = NULL;
	const json_t *e;

	(void)state;
	assert_int_equal(apstatus_body("saqr", "saqr-webhook/pod-a", 7, "2026-01-01T10:00:00Z", true,
				       "loaded /etc/saqr/policy/policy.yaml", &body),
			 0);
	assert_string_equal(json_path_str(body, "apiVersion", ""), "saqr.dev/v1alpha1");
	assert_string_equal(json_path_str(body, "kind", ""), "AdmissionPolicy");
	assert_string_equal(json_path_str(body, "metadata.name", ""), "saqr");
	assert_int_equal(json_object_size(json_object_get(body, "status")), 1); /* nothing else is claimed */
	assert_int_equal(json_array_size(json_path(body, "status.loaded")), 1);
	e = json_path(body, "status.loaded.0");
	assert_string_equal(json_path_str(e, "name", ""), "saqr-webhook/pod-a");
	assert_int_equal(json_path_int(e, "generation", 0), 7);
	assert_string_equal(json_path_str(e, "loadedAt", ""), "2026-01-01T10:00:00Z");
	assert_true(json_path_bool(e, "accepted", false, NULL));
	json_decref(body);
	assert_int_equal(apstatus_body("saqr", "saqr-webhook/pod-a", 0, NULL, false, NULL, &body), 0);
	assert_null(json_path(body, "status.loaded.0.loadedAt"));
	assert_string_equal(json_path_str(body, "status.loaded.0.message", "x"), "");
	json_decref(body);
	body = NULL;
	assert_int_equal(apstatus_body("", "saqr-webhook/pod-a", 1, NULL, true, "", &body), SAQR_EINVAL);
	assert_int_equal(apstatus_body("saqr", NULL, 1, NULL, true, "", &body), SAQR_EINVAL);
	assert_int_equal(apstatus_body("saqr", "x", -1, NULL, true, "", &body), SAQR_EINVAL);
	assert_null(body);
}

static long long generation_of(const char *content)
{
	char *path = NULL;
	long long g;

	assert_int_equal(kubetest_write_temp(content, strlen(content), &path), 0);
	g = apstatus_file_generation(path);
	unlink(path);
	free(path);
	return g;
}

static void test_file_generation(void **state)
{
	char *big = malloc(APSTATUS_FILE_MAX + 2);

	(void)state;
	assert_int_equal(
	    generation_of("{\"apiVersion\": \"saqr.dev/v1alpha1\", \"metadata\": {\"name\": \"saqr\", "
			  "\"generation\": 12}, \"spec\": {}}"),
	    12);
	assert_int_equal(generation_of("apiVersion: saqr.dev/v1alpha1\nmetadata: {name: default}\n"), 0);
	assert_int_equal(generation_of("metadata: {generation: -3}\n"), 0);
	assert_int_equal(generation_of("metadata: [unclosed\n"), 0);
	assert_int_equal(apstatus_file_generation("/nonexistent/policy.yaml"), 0);
	assert_int_equal(apstatus_file_generation(NULL), 0);
	assert_non_null(big);
	memset(big, ' ', APSTATUS_FILE_MAX + 1);
	memcpy(big, "metadata: {generation: 3}\n", 26);
	big[APSTATUS_FILE_MAX + 1] = '\0';
	assert_int_equal(generation_of(big), 0); /* over the cap: not read */
	free(big);
}

static void test_new_refuses_incomplete_configs(void **state)
{
	char pod[160];
	struct apstatus *a = NULL;
	struct kube_client *fake = (struct kube_client *)(void *)pod; /* never called: refused first */
	struct apstatus_config c = {.client = fake, .resource = "saqr", .pod = "p", .policy_file = NULL};

	(void)state;
	assert_int_equal(apstatus_new(NULL, &a), SAQR_EINVAL);
	assert_int_equal(apstatus_new(&c, &a), SAQR_EINVAL); /* no policy file */
	c.policy_file = "/etc/saqr/policy/policy.yaml";
	c.pod = "";
	assert_int_equal(apstatus_new(&c, &a), SAQR_EINVAL);
	memset(pod, 'p', sizeof(pod) - 1);
	pod[sizeof(pod) - 1] = '\0';
	c.pod = pod; /* saqr-webhook/<159 bytes>: over a field manager's 128 */
	assert_int_equal(apstatus_new(&c, &a), SAQR_EINVAL);
	c.client = NULL;
	c.pod = "p";
	assert_int_equal(apstatus_new(&c, &a), SAQR_EINVAL);
	assert_null(a);
	apstatus_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_body_is_one_entry),
	    cmocka_unit_test(test_file_generation),
	    cmocka_unit_test(test_new_refuses_incomplete_configs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
