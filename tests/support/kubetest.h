/* Test helpers: the repository root, fixtures under $SAQR_ROOT/tests/data, scratch files and
 * directories. */
#ifndef SAQR_TESTS_KUBETEST_H
#define SAQR_TESTS_KUBETEST_H

#include <stdbool.h>
#include <stddef.h>

/* The repository root: $SAQR_ROOT, else ".". Borrowed. */
const char *kubetest_root(void);

/* The contents of $SAQR_ROOT/rel (SAQR_ROOT defaults to "."), NUL-terminated; *len (may be
 * NULL) gets its size. Caller frees. NULL when it cannot be read. */
char *kubetest_read(const char *rel, size_t *len);

/* A new empty directory under $TMPDIR (or /tmp); caller frees the string and removes the
 * directory with kubetest_rmtree. NULL on failure. */
char *kubetest_tmpdir(void);

/* Write content to dir/name (creating or truncating it). 0 or -1. */
int kubetest_write(const char *dir, const char *name, const char *content);

/* Write len bytes to a new temporary file under $TMPDIR (or /tmp); *path_out (owned: the caller
 * frees and unlinks it) names it. 0, SAQR_EIO or SAQR_ENOMEM. */
int kubetest_write_temp(const char *data, size_t len, char **path_out);

/* Remove dir and everything under it (no symlinks are followed). */
void kubetest_rmtree(const char *dir);

/* Call pred(arg) every 100 ms until it is true (true) or limit seconds have passed (false). */
bool kubetest_wait_for(bool (*pred)(void *arg), void *arg, double limit);

/* Run $SAQR_TOOLS_BIN/kubectl (else kubectl from PATH) with the NULL-terminated args (at most 14);
 * what it printed goes to stderr when it fails. Its exit code, or -1 when it could not run. */
int kubetest_kubectl(const char *const args[]);

struct kube_client;

/* A client for the cluster of the default kubeconfig ($KUBECONFIG, ...); *out is the caller's to
 * free with kube_client_free. 0, or the error (its message printed on stderr). */
int kubetest_connect(struct kube_client **out);

#endif
