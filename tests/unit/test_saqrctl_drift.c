/* End-to-end tests of `saqrctl drift` on the CSV fixtures of tests/data/drift: exit
 * codes (0 no drift, 1 drift, 2 errors), the JSON report's shape, the text table,
 * and error messages. Most cases call saqrctl_drift_run() with captured streams;
 * a few run the sanitized binary with posix_spawn. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <jansson.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "saqrctl/drift.h"

extern char **environ;

struct run {
	int rc;
	char *out, *err;
};

static const char *root(void)
{
	const char *r = getenv("SAQR_ROOT");

	return r ? r : ".";
}

static char *fixture(const char *name)
{
	static char paths[8][4096];
	static int next;
	char *p = paths[next++ % 8];

	snprintf(p, sizeof(paths[0]), "%s/tests/data/drift/%s", root(), name);
	return p;
}

/* saqrctl drift ARGS... (NULL-terminated) in this process. */
static struct run drift(const char *first, ...)
{
	char *argv[32], *outbuf = NULL, *errbuf = NULL;
	size_t outlen = 0, errlen = 0;
	FILE *out = open_memstream(&outbuf, &outlen), *errs = open_memstream(&errbuf, &errlen);
	struct run r;
	va_list ap;
	int argc = 0;

	assert_non_null(out);
	assert_non_null(errs);
	argv[argc++] = "drift";
	va_start(ap, first);
	for (const char *a = first; a && argc < 31; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	r.rc = saqrctl_drift_run(argc, argv, out, errs);
	fclose(out);
	fclose(errs);
	r.out = outbuf;
	r.err = errbuf;
	return r;
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static json_t *parse_json(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);

	if (!j)
		fail_msg("not JSON (%s): %s", e.text, text);
	return j;
}

static json_t *column(json_t *report, const char *name)
{
	size_t i;
	json_t *c;

	json_array_foreach(json_object_get(report, "columns"), i,
			   c) if (strcmp(json_string_value(json_object_get(c, "name")), name) == 0) return c;
	fail_msg("no column %s in the report", name);
	return NULL;
}

static void check_column_shape(json_t *c)
{
	static const char *const keys[] = {
	    "name",   "type", "method", "score",	 "threshold",	 "drifted",	    "statistic",
	    "pvalue", "bins", "exact",	"baselineCount", "currentCount", "baselineMissing", "currentMissing"};
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!json_object_get(c, keys[i]))
			fail_msg("column report without \"%s\"", keys[i]);
	assert_true(json_is_number(json_object_get(c, "score")));
	assert_true(json_is_boolean(json_object_get(c, "drifted")));
}

static void test_no_drift_json(void **state)
{
	struct run r = drift("--baseline", fixture("baseline.csv"), "--current", fixture("current_same.csv"),
			     "-o", "json", NULL);
	json_t *j, *c;
	size_t i;

	(void)state;
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.err, "");
	j = parse_json(r.out);
	assert_true(json_is_false(json_object_get(j, "drifted")));
	assert_int_equal(json_integer_value(json_object_get(j, "driftedColumns")), 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "baseline"), "rows")), 1000);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "current"), "rows")), 1000);
	assert_int_equal(json_array_size(json_object_get(j, "columns")), 4);
	json_array_foreach(json_object_get(j, "columns"), i, c) check_column_shape(c);
	c = column(j, "age");
	assert_string_equal(json_string_value(json_object_get(c, "type")), "numerical");
	assert_string_equal(json_string_value(json_object_get(c, "method")), "psi");
	assert_true(json_real_value(json_object_get(c, "threshold")) == 0.1);
	assert_true(json_number_value(json_object_get(c, "score")) == 0.0);
	assert_true(json_is_null(json_object_get(c, "pvalue")));
	assert_true(json_is_number(json_object_get(c, "baselineStd")));
	c = column(j, "income");
	assert_int_equal(json_integer_value(json_object_get(c, "baselineMissing")), 20);
	assert_int_equal(json_integer_value(json_object_get(c, "currentMissing")), 20);
	c = column(j, "city");
	assert_string_equal(json_string_value(json_object_get(c, "type")), "categorical");
	assert_string_equal(json_string_value(json_object_get(c, "method")), "chisquare");
	assert_true(json_number_value(json_object_get(c, "pvalue")) == 1.0);
	assert_int_equal(json_integer_value(json_object_get(c, "bins")), 4);
	assert_true(json_is_false(json_object_get(c, "truncated")));
	json_decref(j);
	run_free(&r);
}

static void test_drift_json(void **state)
{
	struct run r = drift("--baseline", fixture("baseline.csv"), "--current", fixture("current_drift.csv"),
			     "--output=json", NULL);
	json_t *j, *c;

	(void)state;
	assert_int_equal(r.rc, 1);
	j = parse_json(r.out);
	assert_true(json_is_true(json_object_get(j, "drifted")));
	assert_int_equal(json_integer_value(json_object_get(j, "driftedColumns")), 3);
	assert_true(json_is_true(json_object_get(column(j, "age"), "drifted")));
	assert_true(json_number_value(json_object_get(column(j, "age"), "score")) > 1.0);
	assert_true(json_is_true(json_object_get(column(j, "income"), "drifted")));
	assert_int_equal(json_integer_value(json_object_get(column(j, "income"), "currentMissing")), 16);
	c = column(j, "city");
	assert_true(json_is_true(json_object_get(c, "drifted")));
	assert_true(json_number_value(json_object_get(c, "pvalue")) < 1e-10);
	assert_int_equal(json_integer_value(json_object_get(c, "bins")), 5);
	assert_true(json_is_false(json_object_get(column(j, "score"), "drifted")));
	json_decref(j);
	run_free(&r);
}

static void test_methods_and_threshold(void **state)
{
	struct run r = drift("--baseline", fixture("baseline.csv"), "--current", fixture("current_drift.csv"),
			     "--column", "score", "--column", "age", "--method", "ks", "-o", "json", NULL);
	json_t *j, *c;

	(void)state;
	assert_int_equal(r.rc, 1);
	j = parse_json(r.out);
	assert_int_equal(json_array_size(json_object_get(j, "columns")), 2);
	c = json_array_get(json_object_get(j, "columns"), 0);
	assert_string_equal(json_string_value(json_object_get(c, "name")), "score");
	assert_string_equal(json_string_value(json_object_get(c, "method")), "ks");
	assert_true(json_is_true(json_object_get(c, "exact")));
	assert_true(json_number_value(json_object_get(c, "pvalue")) > 0.05);
	assert_true(json_real_value(json_object_get(c, "threshold")) == 0.05);
	assert_true(json_is_true(json_object_get(column(j, "age"), "drifted")));
	json_decref(j);
	run_free(&r);

	r = drift("--baseline", fixture("baseline.csv"), "--current", fixture("current_drift.csv"),
		  "--column", "age", "--method", "wasserstein", "--threshold", "5", "-o", "json", NULL);
	assert_int_equal(r.rc, 0); /* normed W of a 12-year shift with std 9 is about 1.3 < 5 */
	j = parse_json(r.out);
	c = column(j, "age");
	assert_true(json_real_value(json_object_get(c, "threshold")) == 5.0);
	assert_true(json_number_value(json_object_get(c, "score")) > 1.0);
	json_decref(j);
	run_free(&r);

	r = drift("--baseline", fixture("baseline.csv"), "--current", fixture("current_drift.csv"),
		  "--method", "js", "--bins", "5", "--binning", "uniform", "-o", "json", NULL);
	assert_int_equal(r.rc, 1);
	j = parse_json(r.out);
	assert_int_equal(json_integer_value(json_object_get(column(j, "score"), "bins")), 5);
	assert_string_equal(json_string_value(json_object_get(column(j, "city"), "method")), "js");
	json_decref(j);
	run_free(&r);
}

static void test_text_output(void **state)
{
	struct run r =
	    drift("--baseline", fixture("baseline.csv"), "--current", fixture("current_drift.csv"), NULL);

	(void)state;
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.out, "COLUMN"));
	assert_non_null(strstr(r.out, "THRESHOLD"));
	assert_non_null(strstr(r.out, "city    categorical  chisquare"));
	assert_non_null(strstr(r.out, "3 of 4 columns drifted"));
	run_free(&r);
	r = drift("--help", NULL);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "usage: saqrctl drift"));
	run_free(&r);
}

static void expect_error(struct run r, const char *msg)
{
	assert_int_equal(r.rc, 2);
	if (!strstr(r.err, msg))
		fail_msg("stderr \"%s\" does not contain \"%s\"", r.err, msg);
	assert_string_equal(r.out, "");
	run_free(&r);
}

static void test_errors(void **state)
{
	const char *base = fixture("baseline.csv");

	(void)state;
	expect_error(drift("--baseline", base, NULL), "--baseline and --current are both required");
	expect_error(drift("--baseline", base, "--current", "/nonexistent/cur.csv", NULL),
		     "/nonexistent/cur.csv: No such file or directory");
	expect_error(drift("--baseline", "/nonexistent/base.csv", "--current", base, NULL),
		     "/nonexistent/base.csv: No such file or directory");
	expect_error(drift("--baseline", base, "--current", base, "--column", "zip", NULL),
		     "no column \"zip\" in the header");
	expect_error(drift("--baseline", base, "--current", fixture("malformed.csv"), NULL),
		     "malformed.csv:5: 3 fields, the header has 4");
	expect_error(drift("--baseline", base, "--current", fixture("bad_number.csv"), NULL),
		     "bad_number.csv:4: column \"age\": \"forty\" is not a number");
	expect_error(drift("--baseline", base, "--current", base, "--method", "kl", NULL),
		     "unknown method \"kl\"");
	expect_error(drift("--baseline", base, "--current", base, "--column", "city", "--method", "ks", NULL),
		     "method ks needs numeric columns; \"city\" is categorical");
	expect_error(drift("--baseline", base, "--current", base, "--threshold", "-1", NULL),
		     "--threshold \"-1\"");
	expect_error(drift("--baseline", base, "--current", base, "--bins", "1", NULL), "--bins \"1\"");
	expect_error(drift("--baseline", base, "--current", base, "-o", "yaml", NULL), "output \"yaml\"");
	expect_error(drift("--baseline", base, "--current", base, "--frobnicate", "1", NULL),
		     "unknown option --frobnicate");
	expect_error(drift("--baseline", base, "--current", NULL), "--current needs a value");
	expect_error(drift("--baseline", base, "--current", base, "stray", NULL),
		     "unexpected argument \"stray\"");
}

/* The real binary: exit status and stdout through posix_spawn. */
static int spawn_saqrctl(char *const argv[], const char *out_path)
{
	const char *bin = getenv("SAQR_SAN_BIN");
	char path[4096];
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int status;

	snprintf(path, sizeof(path), "%s/saqrctl", bin ? bin : "build/san/bin");
	assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
	posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	assert_int_equal(posix_spawn(&pid, path, &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_binary(void **state)
{
	char out[] = "/tmp/saqrctl-drift-out-XXXXXX";
	char *same[] = {"saqrctl",    "drift",
			"--baseline", fixture("baseline.csv"),
			"--current",  fixture("current_same.csv"),
			"-o",	      "json",
			NULL};
	char *drifted[] = {"saqrctl",	 "drift",
			   "--baseline", fixture("baseline.csv"),
			   "--current",	 fixture("current_drift.csv"),
			   NULL};
	char *broken[] = {"saqrctl", "drift", "--baseline", fixture("baseline.csv"), NULL};
	char *unknown[] = {"saqrctl", "frobnicate", NULL};
	json_error_t e;
	json_t *j;
	int fd = mkstemp(out);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(spawn_saqrctl(same, out), 0);
	j = json_load_file(out, 0, &e);
	assert_non_null(j);
	assert_true(json_is_false(json_object_get(j, "drifted")));
	json_decref(j);
	assert_int_equal(spawn_saqrctl(drifted, out), 1);
	assert_int_equal(spawn_saqrctl(broken, out), 2);
	assert_int_equal(spawn_saqrctl(unknown, out), 2);
	unlink(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_no_drift_json),
	    cmocka_unit_test(test_drift_json),
	    cmocka_unit_test(test_methods_and_threshold),
	    cmocka_unit_test(test_text_output),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_binary),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
