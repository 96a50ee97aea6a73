/* The one process runner of the tests and benchmarks. proc_run*() runs a program to its end and
 * captures what it prints into buffers, with a deadline (kubectl, helm, lua, scripts, Saqr's own
 * binaries); proc_start() leaves one running in the background with its output in a log file
 * (saqr-operator, saqr-webhook), to be signalled, waited for and killed. posix_spawn; no shell is
 * involved, so arguments need no quoting. Every action returns 0 or a negative SAQR_E* code.
 * Not thread-safe against other threads that change SIGPIPE handling. */
#ifndef SAQR_TESTS_PROC_H
#define SAQR_TESTS_PROC_H

#include <stddef.h>
#include <sys/types.h>

#include "common/buf.h"

/* Deadline of proc_run(): generous, so that a slow machine is never mistaken for a hung program. */
#define PROC_DEFAULT_TIMEOUT_MS 120000
/* Cap on each stream proc_capture() keeps. */
#define PROC_MAX_OUTPUT ((size_t)64 * 1024 * 1024)

struct proc_opts {
	const char *stdin_data;	      /* written to the program's stdin, then closed; NULL: empty stdin */
	size_t stdin_len;	      /* bytes of stdin_data; 0 means strlen(stdin_data) */
	struct buf *err;	      /* capture stderr here; NULL: stderr goes into out with stdout */
	const char *const *env_extra; /* NULL-terminated "NAME=value" entries added to (or replacing
					 entries of) the caller's environment; NULL: inherit as is */
	int timeout_ms;		      /* kill the program after this long; 0: PROC_DEFAULT_TIMEOUT_MS */
};

/* Run argv[0] (a path, or a name looked up in PATH) with the NULL-terminated argv and the caller's
 * environment; stdin_data (NULL: empty) is its standard input. Its stdout and stderr are appended,
 * interleaved as written, to out, which the caller initialised (its cap bounds the capture) and
 * still owns.
 * Returns 0 when the program ran and ended; *exit_code is then its exit status, or 128 + the
 * signal number when a signal ended it. Errors: SAQR_EINVAL (argv, argv[0], out or exit_code
 * NULL), SAQR_ENOTFOUND (no such program), SAQR_EIO (pipe, spawn or wait failed), SAQR_ETIMEDOUT
 * (still running at the deadline: killed), SAQR_ETOOBIG (printed more than out can hold: killed),
 * SAQR_ENOMEM. On error *exit_code is untouched and out keeps what was read before the error. */
int proc_run(const char *const argv[], const char *stdin_data, struct buf *out, int *exit_code);

/* proc_run() with options (opts may be NULL: the defaults above). When opts->err is set, stderr is
 * captured there and its cap counts like out's. */
int proc_run_opts(const char *const argv[], const struct proc_opts *opts, struct buf *out, int *exit_code);

/* What proc_capture() saw: the exit status and the two streams apart. */
struct proc_result {
	int status; /* exit status, or 128 + the signal number */
	char *out;  /* stdout, NUL-terminated (owned; NULL when the run failed) */
	size_t out_len;
	char *err; /* stderr, NUL-terminated (owned; NULL when the run failed) */
};

/* proc_run_opts() with stdout and stderr captured apart (up to PROC_MAX_OUTPUT each) into *r,
 * which the caller releases with proc_result_release(). opts may be NULL; its err is ignored.
 * 0 when the program ran, whatever its status; else the errors of proc_run() and *r is empty. */
int proc_capture(const char *const argv[], const struct proc_opts *opts, struct proc_result *r);
/* Free what r holds; r is empty afterwards. NULL is a no-op. */
void proc_result_release(struct proc_result *r);

/* A program running in the background. Zero it (or let proc_start() fill it) before use. */
struct proc {
	pid_t pid;	     /* 0 when not running (never started, or reaped) */
	int exit_code;	     /* once reaped: the exit status, or 128 + the signal number; else -1 */
	char log_path[1024]; /* its stdout and stderr */
};

/* Start argv[0] (a path, or a name looked up in PATH) with argv, the caller's environment plus
 * env_extra (as in struct proc_opts; may be NULL) and stdin from /dev/null; its stdout and stderr
 * go to log_path (created or truncated). 0, SAQR_EINVAL, SAQR_EIO (log file, spawn),
 * SAQR_ENOTFOUND (no such program) or SAQR_ENOMEM. */
int proc_start(struct proc *p, const char *const argv[], const char *const env_extra[], const char *log_path);
/* Send sig. 0, or SAQR_EINVAL when p is not running. */
int proc_signal(struct proc *p, int sig);
/* Reap p once it ends, waiting up to timeout_ms: 0 (ended, or never running; p->exit_code says
 * how), SAQR_ETIMEDOUT (still running) or SAQR_EIO. */
int proc_wait(struct proc *p, int timeout_ms);
/* Send sig and wait up to timeout_ms for p to end; if it does not, SIGKILL it and return
 * SAQR_ETIMEDOUT. 0 when it ended (or was not running). */
int proc_stop(struct proc *p, int sig, int timeout_ms);
/* SIGKILL p if running and reap it. A zeroed struct proc, or NULL, is a no-op. */
void proc_kill(struct proc *p);
/* Append p's log so far to out. 0, SAQR_EIO or the errors of buf_add(). */
int proc_log(const struct proc *p, struct buf *out);
/* Wait up to timeout_ms for p's log to contain needle. 0 or SAQR_ETIMEDOUT. */
int proc_wait_log(const struct proc *p, const char *needle, int timeout_ms);
/* The integer right after the first needle in p's log (e.g. "\"port\":\""), waiting up to
 * timeout_ms for needle to appear. 0 and *value, SAQR_ETIMEDOUT or SAQR_EPARSE (no number). */
int proc_log_number(const struct proc *p, const char *needle, int timeout_ms, long *value);

#endif
