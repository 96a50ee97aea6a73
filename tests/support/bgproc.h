/* A program kept running in the background while a test (or benchmark) talks to it: started
 * with its stdout and stderr appended to a log file, signalled, waited for with a deadline, and
 * killed if still running at the end. Tests run saqr-operator through it. */
#ifndef SAQR_TESTS_BGPROC_H
#define SAQR_TESTS_BGPROC_H

#include <stdbool.h>
#include <sys/types.h>

struct bgproc {
	pid_t pid;	     /* 0 when not running (never started, or reaped) */
	int exit_code;	     /* once reaped: the exit status, or 128 + the signal number */
	char log_path[1024]; /* stdout and stderr of the program */
};

/* Start argv[0] (a path) with argv and the caller's environment plus env_extra (NULL-terminated
 * "NAME=value" entries; may be NULL); its output goes to log_path (created or truncated).
 * 0, SAQR_EINVAL, SAQR_EIO (log file) or SAQR_ENOTFOUND (cannot spawn). */
int bgproc_start(struct bgproc *p, const char *const argv[], const char *const env_extra[], const char *log_path);
/* Send sig when running. 0 or SAQR_EINVAL (not running). */
int bgproc_signal(struct bgproc *p, int sig);
/* Reap the program if it has ended, waiting up to timeout_ms. true when it has ended (then
 * p->exit_code says how); false when it still runs at the deadline. */
bool bgproc_wait(struct bgproc *p, int timeout_ms);
/* SIGKILL it if running, and reap it. Safe on a bgproc never started (zeroed). */
void bgproc_kill(struct bgproc *p);
/* The log so far, NUL-terminated; caller frees. NULL when unreadable. */
char *bgproc_log(const struct bgproc *p);
/* Wait up to timeout_ms for the log to contain needle. */
bool bgproc_wait_log(const struct bgproc *p, const char *needle, int timeout_ms);
/* The first integer in the log that follows needle (e.g. "\"port\":\""), waiting up to
 * timeout_ms for it to appear. -1 when it does not. */
long bgproc_log_number(const struct bgproc *p, const char *needle, int timeout_ms);

#endif
