/* Unit tests for saqrctl/test.c (`saqrctl test`): a passing suite, mismatched verdicts and
 * missing rules, broken suites (missing file, bad expect, no matching object, wrong kind),
 * usage, and several suites in one run. Fixtures: tests/data/audit/suite/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/kubetest.h"
#include "saqrctl/test.h"

struct run {
	int rc;
	char out[16384];
	char err[4096];
};

static void slurp(FILE *f, char *buf, size_t n)
{
	size_t len;

	rewind(f);
	len = fread(buf, 1, n - 1, f);
	buf[len] = '\0';
	fclose(f);
}

static void run_args(struct run *r, int argc, char **argv)
{
	FILE *out = tmpfile(), *err = tmpfile();

	assert_non_null(out);
	assert_non_null(err);
	r->rc = cli_test_main(argc, argv, out, err);
	slurp(out, r->out, sizeof(r->out));
	slurp(err, r->err, sizeof(r->err));
}

static const char *fixture(const char *name)
{
	static char paths[4][1024];
	static int next;
	char *p = paths[next++ % 4];

	snprintf(p, 1024, "%s/tests/data/audit/suite/%s", kubetest_root(), name);
	return p;
}

static void run_suite(struct run *r, const char *name)
{
	char *argv[] = {"test", (char *)fixture(name), NULL};

	run_args(r, 2, argv);
}

static void test_passing_suite(void **state)
{
	struct run r;

	(void)state;
	run_suite(&r, "suite.yaml");
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "RESOURCE"));
	assert_non_null(strstr(r.out, "manifests/mixed.yaml Pod/debug"));
	assert_non_null(strstr(r.out, "3 tests: 3 passed, 0 failed"));
	assert_null(strstr(r.out, "FAIL"));
	assert_string_equal(r.err, "");
}

static void test_mismatch_exits_1(void **state)
{
	struct run r;
	const char *line;

	(void)state;
	run_suite(&r, "suite-mismatch.yaml");
	assert_int_equal(r.rc, 1);
	line = strstr(r.out, "manifests/mixed.yaml Pod/debug");
	assert_non_null(line);
	assert_non_null(strstr(line, "allow    deny     FAIL"));
	assert_non_null(strstr(r.out, "FAIL (rules not found: zeroTrust.allowedRegistries)"));
	assert_non_null(strstr(r.out, "3 tests: 1 passed, 2 failed"));
}

static void test_missing_file_exits_2(void **state)
{
	struct run r;

	(void)state;
	run_suite(&r, "suite-broken.yaml");
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.err, "missing.yaml: No such file or directory"));
}

/* A suite header and entries whose "@" is the absolute fixtures directory. */
static void with_root(const char *entries, char *out, size_t n)
{
	size_t len = (size_t)snprintf(
	    out, n, "apiVersion: saqr.dev/v1alpha1\nkind: PolicyTest\nmetadata: {name: x}\n");

	for (const char *p = entries; *p && len + 1 < n; p++) {
		if (*p == '@')
			len += (size_t)snprintf(out + len, n - len, "%s/tests/data/audit/suite",
						kubetest_root());
		else
			out[len++] = *p;
		if (len >= n)
			len = n - 1;
	}
	out[len] = '\0';
}

static void test_bad_suites_exit_2(void **state)
{
	static const char *const bodies[][2] = {
	    {"resources:\n  - {path: @/manifests/good.yaml, expect: maybe}\n", "is not allow, deny or warn"},
	    {"resources:\n  - {path: @/manifests/good.yaml, name: nope, expect: allow}\n", "no object in"},
	    {"resources:\n  - {path: @/manifests/good.yaml, expect: allow, rules: x}\n",
	     "not a list of rule ids"},
	    {"resources: []\n", "a list of 1 to"},
	    {"policy: @/nope.yaml\nresources:\n  - {path: @/manifests/good.yaml, expect: allow}\n",
	     "policy:"},
	};
	char *dir = kubetest_tmpdir(), body[2048], path[1024];
	struct run r;

	(void)state;
	assert_non_null(dir);
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		char *argv[] = {"test", path, NULL};

		with_root(bodies[i][0], body, sizeof(body));
		snprintf(path, sizeof(path), "%s/suite.yaml", dir);
		assert_int_equal(kubetest_write(dir, "suite.yaml", body), 0);
		run_args(&r, 2, argv);
		assert_int_equal(r.rc, 2);
		if (!strstr(r.err, bodies[i][1]))
			fail_msg("case %zu: %s", i, r.err);
	}
	kubetest_rmtree(dir);
	free(dir);
}

static void test_not_a_suite(void **state)
{
	struct run r;

	(void)state;
	run_suite(&r, "manifests/good.yaml");
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.err, "not one document of kind PolicyTest"));
}

static void test_usage_and_several_suites(void **state)
{
	char *help[] = {"test", "--help", NULL}, *none[] = {"test", NULL};
	char *both[] = {"test", (char *)fixture("suite.yaml"), (char *)fixture("suite-mismatch.yaml"), NULL};
	struct run r;

	(void)state;
	run_args(&r, 2, help);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "Usage: saqrctl test"));
	run_args(&r, 1, none);
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.err, "no SUITE given"));
	run_args(&r, 3, both);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.out, "6 tests: 4 passed, 2 failed"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_passing_suite),	 cmocka_unit_test(test_mismatch_exits_1),
	    cmocka_unit_test(test_missing_file_exits_2), cmocka_unit_test(test_bad_suites_exit_2),
	    cmocka_unit_test(test_not_a_suite),		 cmocka_unit_test(test_usage_and_several_suites),
	};

	return cmocka_run_group_tests_name("saqrctl test", tests, NULL, NULL);
}
