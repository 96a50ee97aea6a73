/* Unit tests for operator/trainingjob/output.c: the trainer's termination message (well formed,
 * bad JSON, wrong types, missing fields, a digest that is not sha256:<64 hex>, another artifact's
 * uri, oversize) and which of the Job's pods is authoritative (completion index 0, controlled by
 * the Job, trainer exited 0; tests/data/operator/pods_fraud_train.json). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/opfixture.h"
#include "common/err.h"
#include "common/jsonutil.h"
#include "operator/trainingjob/trainingjob.h"

#define URI "s3://saqr-models/fraud/1.5.0/model.onnx"
#define HEX "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define DIGEST "sha256:" HEX

static json_t *load(const char *name)
{
	json_t *v = opfix_load(name);

	assert_non_null(v);
	return v;
}

/* tj_output_parse on text must fail with rc and an error containing part; digest untouched. */
static void expect_bad(const char *text, int rc, const char *part)
{
	struct tj_output out = {.digest = "untouched", .signature = "untouched"};
	char err[512] = "";

	assert_int_equal(tj_output_parse(text, URI, &out, err, sizeof(err)), rc);
	if (!strstr(err, part))
		fail_msg("error \"%s\" lacks \"%s\" (message %s)", err, part, text ? text : "NULL");
	assert_string_equal(out.digest, "untouched");
	assert_string_equal(out.signature, "untouched");
}

static void test_parse_well_formed(void **state)
{
	struct tj_output out;
	char err[256];

	(void)state;
	assert_int_equal(tj_output_parse("{\"output\":{\"uri\":\"" URI "\",\"digest\":\"" DIGEST "\"}}", URI,
					 &out, err, sizeof(err)),
			 0);
	assert_string_equal(out.digest, DIGEST);
	/* uri may be left out; other keys (the trainer's metrics, say) are ignored */
	memset(&out, 0, sizeof(out));
	assert_int_equal(tj_output_parse(" {\"metrics\":{\"auc\":0.93},\"output\":{\"digest\":\"" DIGEST
					 "\",\"bytes\":1024}}\n",
					 URI, &out, err, sizeof(err)),
			 0);
	assert_string_equal(out.digest, DIGEST);
	/* want_uri NULL: the uri is not compared */
	assert_int_equal(tj_output_parse("{\"output\":{\"uri\":\"s3://x/y\",\"digest\":\"" DIGEST "\"}}",
					 NULL, &out, err, sizeof(err)),
			 0);
}

/* A signed output: the signature comes along; malformed ones are refused. */
static void test_parse_signature(void **state)
{
	struct tj_output out;
	char err[256], *long_sig;

	(void)state;
	assert_int_equal(tj_output_parse("{\"output\":{\"digest\":\"" DIGEST
					 "\",\"signature\":\"s3://saqr-models/fraud/1.5.0/model.sig\"}}",
					 URI, &out, err, sizeof(err)),
			 0);
	assert_string_equal(out.digest, DIGEST);
	assert_string_equal(out.signature, "s3://saqr-models/fraud/1.5.0/model.sig");
	/* unsigned: no signature */
	assert_int_equal(
	    tj_output_parse("{\"output\":{\"digest\":\"" DIGEST "\"}}", URI, &out, err, sizeof(err)), 0);
	assert_string_equal(out.signature, "");
	expect_bad("{\"output\":{\"digest\":\"" DIGEST "\",\"signature\":7}}", SAQR_EINVAL,
		   "output.signature is not a string");
	expect_bad("{\"output\":{\"digest\":\"" DIGEST "\",\"signature\":\"\"}}", SAQR_EINVAL,
		   "output.signature has 0 characters; give 1 to 2048");
	expect_bad("{\"output\":{\"digest\":\"" DIGEST "\",\"signature\":\"a b\"}}", SAQR_EINVAL,
		   "space or control character");
	expect_bad("{\"output\":{\"digest\":\"" DIGEST "\",\"signature\":\"a\\nb\"}}", SAQR_EINVAL,
		   "space or control character");
	long_sig = malloc(3000);
	assert_non_null(long_sig);
	{
		char sig[2050];

		memset(sig, 'x', 2049);
		sig[2049] = '\0';
		snprintf(long_sig, 3000, "{\"output\":{\"digest\":\"" DIGEST "\",\"signature\":\"%s\"}}",
			 sig);
	}
	expect_bad(long_sig, SAQR_EINVAL, "output.signature has 2049 characters");
	free(long_sig);
}

static void test_parse_bad_json(void **state)
{
	(void)state;
	expect_bad("", SAQR_EINVAL, "termination message is empty");
	expect_bad(NULL, SAQR_EINVAL, "no termination message");
	expect_bad("CUDA error: out of memory", SAQR_EPARSE, "not JSON");
	expect_bad("{\"output\":{\"digest\":\"" DIGEST "\"}", SAQR_EPARSE, "not JSON");
	expect_bad("[\"" DIGEST "\"]", SAQR_EPARSE, "not a JSON object");
	expect_bad("\"" DIGEST "\"", SAQR_EPARSE, "not");
}

static void test_parse_missing_and_wrong_types(void **state)
{
	(void)state;
	expect_bad("{}", SAQR_EINVAL, "output is missing");
	expect_bad("{\"digest\":\"" DIGEST "\"}", SAQR_EINVAL, "output is missing");
	expect_bad("{\"output\":\"" DIGEST "\"}", SAQR_EINVAL, "output is not an object");
	expect_bad("{\"output\":null}", SAQR_EINVAL, "output is not an object");
	expect_bad("{\"output\":{\"uri\":\"" URI "\"}}", SAQR_EINVAL, "output.digest is missing");
	expect_bad("{\"output\":{\"digest\":42}}", SAQR_EINVAL, "output.digest is not a string");
	expect_bad("{\"output\":{\"digest\":\"" DIGEST "\",\"uri\":7}}", SAQR_EINVAL,
		   "output.uri is not a string");
}

static void test_parse_malformed_digest(void **state)
{
	(void)state;
	expect_bad("{\"output\":{\"digest\":\"" HEX "\"}}", SAQR_EINVAL, "output.digest");
	expect_bad("{\"output\":{\"digest\":\"sha512:" HEX "\"}}", SAQR_EINVAL,
		   "sha256:<64 lowercase hex digits>");
	expect_bad("{\"output\":{\"digest\":\"sha256:"
		   "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08\"}}",
		   SAQR_EINVAL, "lowercase");
	expect_bad("{\"output\":{\"digest\":\"sha256:" HEX "0\"}}", SAQR_EINVAL, "output.digest");
	expect_bad("{\"output\":{\"digest\":\"sha256:9f86\"}}", SAQR_EINVAL, "output.digest");
	expect_bad("{\"output\":{\"digest\":\"sha256:" HEX " \"}}", SAQR_EINVAL, "output.digest");
}

static void test_parse_other_artifact(void **state)
{
	(void)state;
	expect_bad(
	    "{\"output\":{\"uri\":\"s3://saqr-models/fraud/1.4.0/model.onnx\",\"digest\":\"" DIGEST "\"}}",
	    SAQR_EINVAL, "output.uri \"s3://saqr-models/fraud/1.4.0/model.onnx\" is not spec.output.uri");
}

static void test_parse_oversize(void **state)
{
	size_t n = TJ_TERMINATION_MAX + 1;
	char *big = malloc(n + 1);
	int len;

	(void)state;
	assert_non_null(big);
	len = snprintf(big, n + 1, "{\"output\":{\"digest\":\"" DIGEST "\",\"pad\":\"");
	memset(big + len, 'x', n - (size_t)len - 3);
	memcpy(big + n - 3, "\"}}", 4);
	assert_int_equal(strlen(big), n);
	expect_bad(big, SAQR_ETOOBIG, "4097 bytes; at most 4096");
	memcpy(big + n - 4, "\"}}", 4); /* one byte less: within the cap */
	assert_int_equal(strlen(big), TJ_TERMINATION_MAX);
	{
		struct tj_output out;
		char err[256];

		assert_int_equal(tj_output_parse(big, URI, &out, err, sizeof(err)), 0);
	}
	free(big);
}

static void test_from_pods(void **state)
{
	json_t *tj = load("tj_fraud.json"), *job = load("job_succeeded.json"),
	       *list = load("pods_fraud_train.json");
	json_t *pods = json_object_get(list, "items");
	struct tj_output out = {0};
	char err[512] = "";

	(void)state;
	/* the failed first try, another Job's pod and index 1 are passed over */
	assert_int_equal(tj_output_from_pods(tj, job, pods, &out, err, sizeof(err)), 0);
	assert_string_equal(out.digest, DIGEST);

	/* the authoritative pod's message is broken: the error names the pod and the field */
	json_object_set_new(json_path(pods, "3.status.containerStatuses.0.state.terminated"), "message",
			    json_string("{\"output\":{\"digest\":\"md5:abc\"}}"));
	assert_int_equal(tj_output_from_pods(tj, job, pods, &out, err, sizeof(err)), SAQR_EINVAL);
	assert_non_null(strstr(err, "pod fraud-train-0-ccccc: output.digest \"md5:abc\""));
	assert_string_equal(out.digest, DIGEST); /* untouched */

	/* no message at all (the trainer wrote nothing) */
	json_object_del(json_path(pods, "3.status.containerStatuses.0.state.terminated"), "message");
	assert_int_equal(tj_output_from_pods(tj, job, pods, &out, err, sizeof(err)), SAQR_EINVAL);
	assert_non_null(strstr(err, "termination message is empty"));

	/* only the failed index-0 pod is left */
	json_array_remove(pods, 3);
	assert_int_equal(tj_output_from_pods(tj, job, pods, &out, err, sizeof(err)), SAQR_ENOTFOUND);
	assert_non_null(strstr(err, "no pod of Job fraud-train with completion index 0"));
	assert_int_equal(tj_output_from_pods(tj, job, NULL, &out, err, sizeof(err)), SAQR_ENOTFOUND);
	json_decref(list);
	json_decref(job);
	json_decref(tj);
}

static void test_from_pods_running_trainer(void **state)
{
	json_t *tj = load("tj_fraud.json"), *job = load("job_succeeded.json"),
	       *list = load("pods_fraud_train.json");
	json_t *pods = json_object_get(list, "items");
	json_t *cs = json_path(pods, "3.status.containerStatuses.0");
	struct tj_output out;
	char err[512] = "";

	(void)state;
	/* a trainer still running (or only lastState) has no report yet */
	json_object_set_new(cs, "state",
			    json_pack("{s:{s:s}}", "running", "startedAt", "2024-05-01T10:00:07Z"));
	assert_int_equal(tj_output_from_pods(tj, job, pods, &out, err, sizeof(err)), SAQR_ENOTFOUND);
	json_decref(list);
	json_decref(job);
	json_decref(tj);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_well_formed),
	    cmocka_unit_test(test_parse_bad_json),
	    cmocka_unit_test(test_parse_missing_and_wrong_types),
	    cmocka_unit_test(test_parse_malformed_digest),
	    cmocka_unit_test(test_parse_signature),
	    cmocka_unit_test(test_parse_other_artifact),
	    cmocka_unit_test(test_parse_oversize),
	    cmocka_unit_test(test_from_pods),
	    cmocka_unit_test(test_from_pods_running_trainer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
