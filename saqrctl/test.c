/* `saqrctl test`: reads a suite, evaluates every object it names with the engine of
 * `saqrctl check`, and compares verdicts and rules with what the suite expects. */
#include "saqrctl/test.h"

#include <errno.h>
#include <stdarg.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/jsonutil.h"
#include "policy/policy.h"
#include "saqrctl/check.h"
#include "saqrctl/documents.h"

#define TEST_PATH_MAX 4096
#define TEST_ERR_MAX 1024

enum { TEST_OK = 0, TEST_MISMATCH = 1, TEST_ERROR = 2 };

const char cli_test_usage[] =
    "Usage: saqrctl test SUITE.yaml...\n"
    "\n"
    "Run policy tests: each suite (kind PolicyTest) lists manifests, relative to the suite, and\n"
    "the verdict (allow, deny or warn) and rule ids every object in them must get from the\n"
    "admission policy (the suite's `policy`, else the built-in one), with the engine of\n"
    "`saqrctl check`. Prints one row per object: resource, expected, got, PASS or FAIL.\n"
    "See docs/audit.md for the suite format.\n"
    "\n"
    "Exit status: 0 every row passed, 1 some row failed, 2 usage, suite, policy or file errors.\n";

struct suite_run {
	const char *suite; /* as given */
	char dir[TEST_PATH_MAX];
	struct policy *policy;
	time_t now;
	FILE *out, *err;
	size_t rows, failed;
};

static void test_error(struct suite_run *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void test_error(struct suite_run *s, const char *fmt, ...)
{
	va_list ap;

	fprintf(s->err, "saqrctl test: %s: ", s->suite);
	va_start(ap, fmt);
	vfprintf(s->err, fmt, ap);
	va_end(ap);
	fputc('\n', s->err);
}

/* rel resolved against the suite's directory (absolute paths stay). */
static int test_path(const struct suite_run *s, const char *rel, char *out, size_t outlen)
{
	int n =
	    rel[0] == '/' ? snprintf(out, outlen, "%s", rel) : snprintf(out, outlen, "%s/%s", s->dir, rel);

	return n < 0 || (size_t)n >= outlen ? SAQR_ETOOBIG : 0;
}

/* The objects of a manifest file: cli_documents_split's entries. */
static int test_load_file(struct suite_run *s, const char *path, json_t **entries)
{
	char err[TEST_ERR_MAX] = "", *data = NULL;
	size_t len = 0;
	FILE *f = fopen(path, "r");
	int rc;

	if (!f) {
		test_error(s, "%s: %s", path, strerror(errno));
		return SAQR_EIO;
	}
	rc = cli_check_read(f, &data, &len);
	fclose(f);
	if (rc == 0)
		rc = cli_documents_split(data, len, cli_documents_is_json(data, len), entries, err,
					 sizeof(err));
	if (rc)
		test_error(s, "%s: %s", path, err[0] ? err : saqr_strerror(rc));
	free(data);
	return rc;
}

/* ---- verdicts ---- */

static const char *test_verdict(const struct policy_decision *d)
{
	if (!d->allowed)
		return "deny";
	for (size_t i = 0; i < d->nviolations; i++)
		if (d->violations[i].enforcement == POLICY_ENFORCE_WARN)
			return "warn";
	return "allow";
}

static bool test_has_rule(const struct policy_decision *d, const char *rule)
{
	for (size_t i = 0; i < d->nviolations; i++)
		if (strcmp(d->violations[i].rule, rule) == 0)
			return true;
	return false;
}

/* The expected rules not found, "a, b", into missing. */
static void test_missing_rules(const struct policy_decision *d, const json_t *rules, struct buf *missing)
{
	const json_t *r;
	size_t i;

	json_array_foreach(rules, i, r)
	{
		if (json_is_string(r) && !test_has_rule(d, json_string_value(r)))
			buf_addf(missing, "%s%s", missing->len ? ", " : "", json_string_value(r));
	}
}

static bool test_selected(const json_t *spec, const json_t *obj)
{
	const char *name = json_path_str(spec, "name", NULL), *kind = json_path_str(spec, "kind", NULL);

	return (!name || strcmp(name, json_path_str(obj, "metadata.name", "")) == 0) &&
	       (!kind || strcmp(kind, json_path_str(obj, "kind", "")) == 0);
}

static void test_row(struct suite_run *s, const char *path, const json_t *obj, const char *expect,
		     const char *got, const char *missing)
{
	bool pass = strcmp(expect, got) == 0 && !*missing;
	char res[512];

	snprintf(res, sizeof(res), "%s %s/%s", path, json_path_str(obj, "kind", "?"),
		 json_path_str(obj, "metadata.name", "?"));
	fprintf(s->out, "%-60s %-8s %-8s %s", res, expect, got, pass ? "PASS" : "FAIL");
	if (*missing)
		fprintf(s->out, " (rules not found: %s)", missing);
	fputc('\n', s->out);
	s->rows++;
	if (!pass)
		s->failed++;
}

static int test_object(struct suite_run *s, const char *rel, const json_t *spec, const json_t *obj)
{
	struct policy_decision d;
	struct buf missing;
	int rc = cli_check_eval(s->policy, obj, s->now, &d);

	if (rc) {
		test_error(s, "%s: %s", rel, saqr_strerror(rc));
		policy_decision_release(&d);
		return rc;
	}
	buf_init(&missing, TEST_ERR_MAX);
	test_missing_rules(&d, json_object_get(spec, "rules"), &missing);
	test_row(s, rel, obj, json_path_str(spec, "expect", ""), test_verdict(&d), buf_str(&missing));
	buf_release(&missing);
	policy_decision_release(&d);
	return 0;
}

/* ---- one entry of resources ---- */

static int test_check_spec(struct suite_run *s, size_t i, const json_t *spec)
{
	const char *expect = json_path_str(spec, "expect", NULL);
	const json_t *rules = json_object_get(spec, "rules"), *r;
	size_t j;

	if (!json_path_str(spec, "path", NULL)) {
		test_error(s, "resources[%zu]: no path", i);
		return SAQR_ECONFIG;
	}
	if (!expect ||
	    (strcmp(expect, "allow") != 0 && strcmp(expect, "deny") != 0 && strcmp(expect, "warn") != 0)) {
		test_error(s, "resources[%zu].expect: \"%s\" is not allow, deny or warn", i,
			   expect ? expect : "");
		return SAQR_ECONFIG;
	}
	if (rules && !json_is_array(rules)) {
		test_error(s, "resources[%zu].rules: not a list of rule ids", i);
		return SAQR_ECONFIG;
	}
	json_array_foreach(rules, j, r)
	{
		if (!json_is_string(r)) {
			test_error(s, "resources[%zu].rules[%zu]: not a rule id", i, j);
			return SAQR_ECONFIG;
		}
	}
	return 0;
}

static int test_resource(struct suite_run *s, size_t i, const json_t *spec)
{
	const char *rel = json_path_str(spec, "path", "");
	char path[TEST_PATH_MAX];
	json_t *entries = NULL, *e;
	size_t j, matched = 0;
	int rc = test_check_spec(s, i, spec);

	if (rc == 0 && test_path(s, rel, path, sizeof(path))) {
		test_error(s, "resources[%zu].path: too long", i);
		rc = SAQR_ETOOBIG;
	}
	if (rc == 0)
		rc = test_load_file(s, path, &entries);
	json_array_foreach(entries, j, e)
	{
		const json_t *obj = json_object_get(e, "object");

		if (rc)
			break;
		if (json_object_get(e, "error")) {
			test_error(s, "%s: document %lld: %s", rel, json_path_int(e, "document", 0),
				   json_path_str(e, "error", ""));
			rc = SAQR_EPARSE;
		} else if (test_selected(spec, obj)) {
			matched++;
			rc = test_object(s, rel, spec, obj);
		}
	}
	if (rc == 0 && matched == 0) {
		test_error(s, "resources[%zu]: no object in %s matches", i, rel);
		rc = SAQR_ENOTFOUND;
	}
	json_decref(entries);
	return rc;
}

/* ---- the suite ---- */

static int test_suite_doc(struct suite_run *s, json_t **suite)
{
	json_t *entries = NULL;
	int rc = test_load_file(s, s->suite, &entries);

	if (rc)
		return rc;
	if (json_array_size(entries) != 1 || !json_object_get(json_array_get(entries, 0), "object") ||
	    strcmp(json_path_str(json_path(json_array_get(entries, 0), "object"), "kind", ""),
		   "PolicyTest") != 0) {
		test_error(s, "not one document of kind PolicyTest");
		rc = SAQR_ECONFIG;
	} else {
		*suite = json_incref(json_object_get(json_array_get(entries, 0), "object"));
	}
	json_decref(entries);
	return rc;
}

static int test_suite_policy(struct suite_run *s, const json_t *suite)
{
	const char *rel = json_path_str(suite, "policy", NULL);
	char path[TEST_PATH_MAX], err[TEST_ERR_MAX] = "";
	int rc = 0;

	if (rel && test_path(s, rel, path, sizeof(path)))
		rc = SAQR_ETOOBIG;
	if (rc == 0)
		rc = cli_check_load_policy(rel ? path : NULL, &s->policy, err, sizeof(err));
	if (rc)
		test_error(s, "policy: %s", err[0] ? err : saqr_strerror(rc));
	return rc;
}

static int test_run_suite(struct suite_run *s)
{
	char copy[TEST_PATH_MAX];
	json_t *suite = NULL, *resources, *spec;
	size_t i;
	int rc;

	snprintf(copy, sizeof(copy), "%s", s->suite);
	snprintf(s->dir, sizeof(s->dir), "%s", dirname(copy));
	rc = test_suite_doc(s, &suite);
	if (rc == 0)
		rc = test_suite_policy(s, suite);
	resources = json_object_get(suite, "resources");
	if (rc == 0 && (!json_is_array(resources) || json_array_size(resources) == 0 ||
			json_array_size(resources) > CLI_TEST_MAX_RESOURCES)) {
		test_error(s, "resources: a list of 1 to %d entries is needed", CLI_TEST_MAX_RESOURCES);
		rc = SAQR_ECONFIG;
	}
	json_array_foreach(resources, i, spec)
	{
		if (rc)
			break;
		rc = test_resource(s, i, spec);
	}
	json_decref(suite);
	policy_free(s->policy);
	s->policy = NULL;
	return rc;
}

int cli_test_main(int argc, char **argv, FILE *out, FILE *err)
{
	struct suite_run s = {.now = time(NULL), .out = out, .err = err};
	bool broken = false;

	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		fputs(cli_test_usage, out);
		return TEST_OK;
	}
	if (argc < 2 || argv[1][0] == '-') {
		fprintf(err, "saqrctl test: %s\n\n%s", argc < 2 ? "no SUITE given" : "unknown option",
			cli_test_usage);
		return TEST_ERROR;
	}
	fprintf(out, "%-60s %-8s %-8s %s\n", "RESOURCE", "EXPECTED", "GOT", "RESULT");
	for (int i = 1; i < argc; i++) {
		s.suite = argv[i];
		if (test_run_suite(&s))
			broken = true;
	}
	fprintf(out, "\n%zu tests: %zu passed, %zu failed%s\n", s.rows, s.rows - s.failed, s.failed,
		broken ? "; errors (see above)" : "");
	if (broken)
		return TEST_ERROR;
	return s.failed ? TEST_MISMATCH : TEST_OK;
}

int saqrctl_test(int argc, char **argv)
{
	return cli_test_main(argc, argv, stdout, stderr);
}
