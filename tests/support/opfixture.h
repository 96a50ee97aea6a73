/* Fixtures for the operator unit tests: JSON documents in tests/data/operator/, and small
 * lookups in produced objects. */
#ifndef SAQR_TESTS_OPFIXTURE_H
#define SAQR_TESTS_OPFIXTURE_H

#include <jansson.h>

/* Parse tests/data/operator/<name> (under $SAQR_ROOT, else the working directory).
 * New reference; NULL (with a message on stderr) when missing or malformed. */
json_t *opfix_load(const char *name);

/* The env entry called name in container's env list (borrowed), or NULL. */
json_t *opfix_env(const json_t *container, const char *name);

/* Index of env entry name in container's env list, or -1. */
int opfix_env_index(const json_t *container, const char *name);

/* Compact dump with sorted keys, in a static buffer (tests only; not thread-safe). */
const char *opfix_dump(const json_t *v);

#endif
