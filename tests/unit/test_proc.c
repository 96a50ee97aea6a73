/* Unit tests for tests/support/proc.c: capture, stdin, exit codes and signals, separate stderr,
 * extra environment, and the error paths (missing program, output cap, deadline, bad arguments);
 * then background programs: log file, waiting on the log, signals, deadlines and kill. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "../support/proc.h"

#define SH(script) ((const char *const[]){"/bin/sh", "-c", (script), NULL})

static void test_captures_stdout_and_stderr_in_order(void **state)
{
	struct buf out;
	int code = -1;

	(void)state;
	buf_init(&out, 4096);
	assert_int_equal(proc_run(SH("echo one; echo two >&2; echo three; exit 3"), NULL, &out, &code), 0);
	assert_int_equal(code, 3);
	assert_string_equal(buf_str(&out), "one\ntwo\nthree\n");
	buf_release(&out);
}

static void test_feeds_stdin(void **state)
{
	struct buf out;
	int code = -1;

	(void)state;
	buf_init(&out, 4096);
	assert_int_equal(proc_run((const char *const[]){"tr", "a-z", "A-Z", NULL}, "kind: md\n", &out, &code),
			 0);
	assert_int_equal(code, 0);
	assert_string_equal(buf_str(&out), "KIND: MD\n");
	buf_release(&out);
}

static void test_large_stdin_round_trips(void **state)
{
	const size_t n = (size_t)3 << 20; /* far beyond a pipe's buffer: needs the poll loop */
	char *in = malloc(n + 1);
	struct buf out;
	int code = -1;

	(void)state;
	assert_non_null(in);
	for (size_t i = 0; i < n; i++)
		in[i] = (char)('a' + i % 26);
	in[n] = '\0';
	buf_init(&out, 2 * n);
	assert_int_equal(proc_run((const char *const[]){"cat", NULL}, in, &out, &code), 0);
	assert_int_equal(code, 0);
	assert_int_equal(out.len, n);
	assert_memory_equal(out.data, in, n);
	buf_release(&out);
	free(in);
}

static void test_program_that_ignores_stdin_is_not_fatal(void **state)
{
	const size_t n = (size_t)1 << 20;
	char *in = malloc(n + 1);
	struct buf out;
	int code = -1;

	(void)state;
	assert_non_null(in);
	memset(in, 'x', n);
	in[n] = '\0';
	buf_init(&out, 4096);
	/* exits at once: our writes meet EPIPE, and SIGPIPE must not kill the test */
	assert_int_equal(proc_run(SH("exit 0"), in, &out, &code), 0);
	assert_int_equal(code, 0);
	buf_release(&out);
	free(in);
}

static void test_signal_gives_128_plus_signal(void **state)
{
	struct buf out;
	int code = -1;

	(void)state;
	buf_init(&out, 4096);
	assert_int_equal(proc_run(SH("kill -TERM $$"), NULL, &out, &code), 0);
	assert_int_equal(code, 128 + SIGTERM);
	buf_release(&out);
}

static void test_separate_stderr_and_extra_env(void **state)
{
	const char *const extra[] = {"SAQR_PROC_TEST=from-extra", "HOME=/nonexistent-home", NULL};
	struct buf out, err;
	struct proc_opts opts = {.env_extra = extra};
	int code = -1;

	(void)state;
	buf_init(&out, 4096);
	buf_init(&err, 4096);
	opts.err = &err;
	assert_int_equal(
	    proc_run_opts(SH("echo \"$SAQR_PROC_TEST $HOME\"; echo oops >&2"), &opts, &out, &code), 0);
	assert_int_equal(code, 0);
	assert_string_equal(buf_str(&out), "from-extra /nonexistent-home\n");
	assert_string_equal(buf_str(&err), "oops\n");
	buf_release(&out);
	buf_release(&err);
}

static void test_explicit_stdin_length(void **state)
{
	struct proc_opts opts = {.stdin_data = "abcdef", .stdin_len = 3};
	struct buf out;
	int code = -1;

	(void)state;
	buf_init(&out, 64);
	assert_int_equal(proc_run_opts((const char *const[]){"cat", NULL}, &opts, &out, &code), 0);
	assert_string_equal(buf_str(&out), "abc");
	buf_release(&out);
}

static void test_missing_program(void **state)
{
	struct buf out;
	int code = -7;

	(void)state;
	buf_init(&out, 64);
	assert_int_equal(
	    proc_run((const char *const[]){"/nonexistent/saqr-no-such-tool", NULL}, NULL, &out, &code),
	    SAQR_ENOTFOUND);
	assert_int_equal(
	    proc_run((const char *const[]){"saqr-no-such-tool-in-path", NULL}, NULL, &out, &code),
	    SAQR_ENOTFOUND);
	assert_int_equal(code, -7); /* untouched on error */
	buf_release(&out);
}

static void test_output_cap_kills_the_program(void **state)
{
	struct buf out;
	int code = -7;

	(void)state;
	buf_init(&out, 1000);
	assert_int_equal(proc_run(SH("yes saqr"), NULL, &out, &code), SAQR_ETOOBIG);
	assert_int_equal(code, -7);
	assert_true(out.len <= 1000);
	buf_release(&out);
}

static void test_deadline_kills_the_program(void **state)
{
	struct proc_opts opts = {.timeout_ms = 200};
	struct buf out;
	int code = -7;

	(void)state;
	buf_init(&out, 64);
	/* prints, then hangs: the partial output stays in out */
	assert_int_equal(proc_run_opts(SH("echo started; exec sleep 60"), &opts, &out, &code),
			 SAQR_ETIMEDOUT);
	assert_int_equal(code, -7);
	assert_string_equal(buf_str(&out), "started\n");
	buf_release(&out);
}

static void test_deadline_covers_a_program_that_closes_its_output(void **state)
{
	struct proc_opts opts = {.timeout_ms = 200};
	struct buf out;
	int code = -7;

	(void)state;
	buf_init(&out, 64);
	assert_int_equal(proc_run_opts(SH("exec >/dev/null 2>&1; exec sleep 60"), &opts, &out, &code),
			 SAQR_ETIMEDOUT);
	buf_release(&out);
}

static void test_bad_arguments(void **state)
{
	const char *const empty[] = {NULL};
	struct buf out;
	int code = 0;

	(void)state;
	buf_init(&out, 64);
	assert_int_equal(proc_run(NULL, NULL, &out, &code), SAQR_EINVAL);
	assert_int_equal(proc_run(empty, NULL, &out, &code), SAQR_EINVAL);
	assert_int_equal(proc_run(SH("true"), NULL, NULL, &code), SAQR_EINVAL);
	assert_int_equal(proc_run(SH("true"), NULL, &out, NULL), SAQR_EINVAL);
	buf_release(&out);
}

static void test_capture_keeps_the_streams_apart(void **state)
{
	struct proc_result r;

	(void)state;
	assert_int_equal(proc_capture(SH("printf out; printf err >&2; exit 4"), NULL, &r), 0);
	assert_int_equal(r.status, 4);
	assert_string_equal(r.out, "out");
	assert_int_equal(r.out_len, 3);
	assert_string_equal(r.err, "err");
	proc_result_release(&r);
	assert_int_equal(proc_capture((const char *const[]){"saqr-no-such-tool-in-path", NULL}, NULL, &r),
			 SAQR_ENOTFOUND);
	assert_null(r.out);
	proc_result_release(&r);
	proc_result_release(NULL);
}

static void log_path(char *path, size_t n)
{
	const char *dir = getenv("TMPDIR");

	snprintf(path, n, "%s/saqr-test-proc-%ld.log", dir && *dir ? dir : "/tmp", (long)getpid());
}

static void test_background_log_and_exit(void **state)
{
	const char *const extra[] = {"SAQR_PROC_TEST=bg", NULL};
	char path[512];
	struct proc p;
	long port = 0;

	(void)state;
	log_path(path, sizeof(path));
	assert_int_equal(proc_start(&p,
				    SH("echo \"{\\\"port\\\":\\\"8443\\\"} $SAQR_PROC_TEST\" >&2; exit 5"),
				    extra, path),
			 0);
	assert_int_equal(proc_wait_log(&p, "} bg", 10000), 0);
	assert_int_equal(proc_log_number(&p, "\"port\":\"", 10000, &port), 0);
	assert_int_equal(port, 8443);
	assert_int_equal(proc_wait(&p, 10000), 0);
	assert_int_equal(p.exit_code, 5);
	assert_int_equal(p.pid, 0);
	assert_int_equal(proc_signal(&p, SIGTERM), SAQR_EINVAL);
	assert_int_equal(proc_wait_log(&p, "never printed", 50), SAQR_ETIMEDOUT);
	assert_int_equal(proc_log_number(&p, "bg", 50, &port), SAQR_EPARSE);
	unlink(path);
}

static void test_background_stop_and_kill(void **state)
{
	char path[512];
	struct proc p, q = {0};

	(void)state;
	log_path(path, sizeof(path));
	assert_int_equal(proc_start(&p, SH("exec sleep 60"), NULL, path), 0);
	assert_int_equal(proc_wait(&p, 50), SAQR_ETIMEDOUT);
	assert_int_equal(proc_stop(&p, SIGTERM, 10000), 0);
	assert_int_equal(p.exit_code, 128 + SIGTERM);
	assert_int_equal(proc_start(&p, SH("trap '' TERM; echo up; while :; do sleep 1; done"), NULL, path),
			 0);
	assert_int_equal(proc_wait_log(&p, "up", 10000), 0);
	assert_int_equal(proc_stop(&p, SIGTERM, 200), SAQR_ETIMEDOUT);
	assert_int_equal(p.pid, 0);
	proc_kill(&q);
	proc_kill(NULL);
	assert_int_equal(proc_stop(&q, SIGTERM, 10), 0);
	assert_int_equal(
	    proc_start(&p, (const char *const[]){"/nonexistent/saqr-no-such-tool", NULL}, NULL, path),
	    SAQR_ENOTFOUND);
	assert_int_equal(proc_start(&p, SH("true"), NULL, "/nonexistent/dir/log"), SAQR_EIO);
	assert_int_equal(proc_start(NULL, SH("true"), NULL, path), SAQR_EINVAL);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_captures_stdout_and_stderr_in_order),
	    cmocka_unit_test(test_feeds_stdin),
	    cmocka_unit_test(test_large_stdin_round_trips),
	    cmocka_unit_test(test_program_that_ignores_stdin_is_not_fatal),
	    cmocka_unit_test(test_signal_gives_128_plus_signal),
	    cmocka_unit_test(test_separate_stderr_and_extra_env),
	    cmocka_unit_test(test_explicit_stdin_length),
	    cmocka_unit_test(test_missing_program),
	    cmocka_unit_test(test_output_cap_kills_the_program),
	    cmocka_unit_test(test_deadline_kills_the_program),
	    cmocka_unit_test(test_deadline_covers_a_program_that_closes_its_output),
	    cmocka_unit_test(test_bad_arguments),
	    cmocka_unit_test(test_capture_keeps_the_streams_apart),
	    cmocka_unit_test(test_background_log_and_exit),
	    cmocka_unit_test(test_background_stop_and_kill),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
