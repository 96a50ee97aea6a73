/* Test helpers for the Kubernetes client tests: fixtures under $SAQR_ROOT/tests/data and
 * scratch directories. */
#ifndef SAQR_TESTS_KUBETEST_H
#define SAQR_TESTS_KUBETEST_H

#include <stddef.h>

/* The contents of $SAQR_ROOT/rel (SAQR_ROOT defaults to "."), NUL-terminated; *len (may be
 * NULL) gets its size. Caller frees. NULL when it cannot be read. */
char *kubetest_read(const char *rel, size_t *len);

/* A new empty directory under $TMPDIR (or /tmp); caller frees the string and removes the
 * directory with kubetest_rmtree. NULL on failure. */
char *kubetest_tmpdir(void);

/* Write content to dir/name (creating or truncating it). 0 or -1. */
int kubetest_write(const char *dir, const char *name, const char *content);

/* Remove dir and everything under it (no symlinks are followed). */
void kubetest_rmtree(const char *dir);

#endif
