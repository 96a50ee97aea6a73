/* Child processes for the webhook integration tests (posix_spawn): run a command to completion
 * with its output captured, or start a daemon with its output in a file and stop it later.
 * For tests only. */
#ifndef SAQR_TESTS_SUPPORT_WEBHOOK_PROC_H
#define SAQR_TESTS_SUPPORT_WEBHOOK_PROC_H

#include <stddef.h>
#include <sys/types.h>

/* Run argv (argv[0] is looked up in PATH) with env_extra ("NAME=value" strings ending with NULL,
 * or NULL) added to the environment. stdout and stderr go, interleaved, into out (NUL-terminated,
 * cut to outlen). Returns the exit status (0-255), or -1 when it could not run or was killed. */
int webhook_proc_run(const char *const argv[], const char *const env_extra[], char *out, size_t outlen);
/* Start argv with stdout and stderr appended to log_path. 0 and *pid, or -1. */
int webhook_proc_start(const char *const argv[], const char *log_path, pid_t *pid);
/* Send sig and wait. Returns the exit status (0-255), or -1 when it died of a signal. */
int webhook_proc_stop(pid_t pid, int sig);

#endif
