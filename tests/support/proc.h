/* Run a program and capture what it prints, with a deadline: tests drive kubectl, helm and Saqr's
 * own binaries through it. posix_spawn + pipes + poll; no shell is involved, so arguments need no
 * quoting. Not thread-safe against other threads that change SIGPIPE handling. */
#ifndef SAQR_TESTS_PROC_H
#define SAQR_TESTS_PROC_H

#include <stddef.h>

#include "common/buf.h"

/* Deadline of proc_run(): generous, so that a slow machine is never mistaken for a hung program. */
#define PROC_DEFAULT_TIMEOUT_MS 120000

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

#endif
