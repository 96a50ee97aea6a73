/* Runs a program for a test (posix_spawnp, PATH lookup) and captures what it prints, so that
 * tests can drive helm, kubectl and lua and assert on their output and exit status. */
#ifndef SAQR_TESTS_INSTALL_PROC_H
#define SAQR_TESTS_INSTALL_PROC_H

#include <stddef.h>

#define INSTALL_PROC_MAX_OUTPUT ((size_t)64 * 1024 * 1024)

struct install_proc_result {
	int status; /* exit code; 128 + signal number when killed; 127 when it could not start */
	char *out;  /* standard output, NUL-terminated (owned) */
	size_t out_len;
	char *err; /* standard error, NUL-terminated (owned) */
};

/* Run argv (argv[0] looked up in PATH) with standard input from stdin_path (NULL: /dev/null)
 * and wait for it. 0 when it ran (whatever its exit status; see r->status), or SAQR_EIO /
 * SAQR_ENOMEM / SAQR_ETOOBIG when it could not be run or its output not be read; *r is then
 * empty. Release r with install_proc_result_release. */
int install_proc_run(const char *const argv[], const char *stdin_path, struct install_proc_result *r);

/* Free the captured output; r is empty afterwards. NULL is a no-op. */
void install_proc_result_release(struct install_proc_result *r);

/* Write len bytes to a new temporary file; *path_out (owned, caller frees and unlinks) names it.
 * 0 or SAQR_EIO / SAQR_ENOMEM. */
int install_proc_write_temp(const char *data, size_t len, char **path_out);

/* The repository root: $SAQR_ROOT, else ".". Borrowed. */
const char *install_proc_root(void);

#endif
