/* Unit tests for saqrctl/audit.c (`saqrctl audit verify`) on logs written by
 * webhook/decisionlog.c: a good log (other log lines mixed in, a restart) verifies; an altered,
 * deleted, reordered or truncated line is reported as the first broken one (exit 1); a wrong
 * --head, a log without chained lines, a missing file and bad usage are told apart (1, 2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "saqrctl/audit.h"
#include "webhook/decisionlog.h"

#define NLINES 8

struct run {
	int rc;
	char out[4096];
};

static char lines[NLINES + 4][1024]; /* the good log, newline included */
static size_t nlines;

/* Write `n` decision lines through a decision log with stderr sent to a file. */
static void write_chain(const char *file, int n, const char *mode)
{
	struct decisionlog *dl = NULL;
	int saved = dup(2);
	FILE *f = fopen(file, mode);

	assert_non_null(f);
	fflush(stderr);
	assert_true(dup2(fileno(f), 2) >= 0);
	assert_int_equal(decisionlog_new(16, NULL, &dl), 0);
	for (int i = 0; i < n; i++)
		decisionlog_push(dl, "admission decision",
				 json_pack("{s:i, s:s}", "i", i, "decision", "allow"));
	decisionlog_free(dl);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	fclose(f);
}

static int setup(void **state)
{
	char path[] = "/tmp/saqr-audit-XXXXXX";
	int fd = mkstemp(path);
	FILE *f;

	(void)state;
	log_set_level(LOG_LVL_INFO);
	if (fd < 0)
		return -1;
	close(fd);
	write_chain(path, 5, "w");
	f = fopen(path, "a"); /* another log line in between, then a restart */
	fputs("{\"time\":\"2026-12-04T10:00:00.000Z\",\"level\":\"info\",\"msg\":\"serving\"}\n", f);
	fclose(f);
	write_chain(path, 2, "a");
	f = fopen(path, "r");
	for (nlines = 0; nlines < NLINES && fgets(lines[nlines], sizeof(lines[0]), f); nlines++)
		;
	fclose(f);
	unlink(path);
	return nlines == NLINES ? 0 : -1;
}

/* Write lines[order[0..n)] (with the last one cut to `cut` bytes when cut > 0) and verify. */
static struct run verify_lines(const int *order, size_t n, size_t cut, const char *head)
{
	char path[] = "/tmp/saqr-audit-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w"), *out = tmpfile(), *errs = tmpfile();
	char *argv[] = {"audit", "verify", path, "--head", (char *)head, NULL};
	struct run r = {0};
	size_t got;

	for (size_t i = 0; i < n; i++)
		fwrite(lines[order[i]], 1, (i + 1 == n && cut) ? cut : strlen(lines[order[i]]), f);
	fclose(f);
	r.rc = saqrctl_audit_run(head ? 5 : 3, argv, out, errs);
	rewind(out);
	got = fread(r.out, 1, sizeof(r.out) - 1, out);
	r.out[got] = '\0';
	fclose(out);
	fclose(errs);
	unlink(path);
	return r;
}

static void expect(struct run r, int rc, const char *want)
{
	if (r.rc != rc || !strstr(r.out, want))
		fail_msg("exit %d (want %d), output \"%s\" lacks \"%s\"", r.rc, rc, r.out, want);
}

static void test_good_log(void **state)
{
	static const int all[] = {0, 1, 2, 3, 4, 5, 6, 7};

	(void)state;
	expect(verify_lines(all, NLINES, 0, NULL), 0, "ok: 7 decision log lines in 2 chain(s), last seq 2");
}

static void test_altered_line(void **state)
{
	static const int all[] = {0, 1, 2, 3, 4, 5, 6, 7};
	char saved[1024];

	(void)state;
	memcpy(saved, lines[2], sizeof(saved));
	*strstr(lines[2], "allow") = 'A'; /* "Allow" */
	expect(verify_lines(all, NLINES, 0, NULL), 1,
	       "broken: line 4 (seq 4): prev is not the SHA-256 of the line before it: the line with seq 3 "
	       "was altered");
	memcpy(lines[2], saved, sizeof(saved));
}

static void test_deleted_line(void **state)
{
	static const int gap[] = {0, 1, 3, 4, 5, 6, 7};

	(void)state;
	expect(verify_lines(gap, 7, 0, NULL), 1,
	       "broken: line 3: seq 4 where 3 was expected: lines 3 to 3 are missing");
}

static void test_reordered_lines(void **state)
{
	static const int swapped[] = {0, 2, 1, 3, 4};

	(void)state;
	expect(verify_lines(swapped, 5, 0, NULL), 1, "broken: line 2: seq 3 where 2 was expected");
}

static void test_truncated_last_line(void **state)
{
	static const int all[] = {0, 1, 2, 3, 4, 5, 6, 7};

	(void)state;
	expect(verify_lines(all, NLINES, 40, NULL), 1, "broken: line 8 is truncated");
}

static void test_missing_start_and_head(void **state)
{
	static const int tail[] = {2, 3, 4};
	static const int head_only[] = {0, 1, 2};
	char head[DECISIONLOG_HASH_HEX];
	struct run r;

	(void)state;
	expect(verify_lines(tail, 3, 0, NULL), 1, "the log starts at seq 3, not 1");
	/* the head of a longer log does not match a log cut after line 3 */
	r = verify_lines(head_only, 3, 0, NULL);
	expect(r, 0, "ok: 3 decision log lines");
	decisionlog_hash(lines[2], strlen(lines[2]) - 1, head);
	expect(verify_lines(head_only, 3, 0, head), 0, "ok:");
	decisionlog_hash(lines[3], strlen(lines[3]) - 1, head);
	expect(verify_lines(head_only, 3, 0, head), 1, "the log was cut or its end altered");
}

static void test_errors(void **state)
{
	char *missing[] = {"audit", "verify", "/nonexistent/decisions.log", NULL};
	char *usage[] = {"audit", "frobnicate", NULL};
	char *no_file[] = {"audit", "verify", NULL};
	FILE *null = fopen("/dev/null", "w");

	(void)state;
	assert_int_equal(saqrctl_audit_run(3, missing, null, null), 2);
	assert_int_equal(saqrctl_audit_run(2, usage, null, null), 2);
	assert_int_equal(saqrctl_audit_run(2, no_file, null, null), 2);
	fclose(null);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_log),
	    cmocka_unit_test(test_altered_line),
	    cmocka_unit_test(test_deleted_line),
	    cmocka_unit_test(test_reordered_lines),
	    cmocka_unit_test(test_truncated_last_line),
	    cmocka_unit_test(test_missing_start_and_head),
	    cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
