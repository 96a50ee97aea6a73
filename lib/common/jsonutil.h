/* Small helpers over jansson for reading Kubernetes objects by dotted path. */
#ifndef SAQR_COMMON_JSONUTIL_H
#define SAQR_COMMON_JSONUTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Borrowed reference to the value at a dotted path ("spec.template.spec"), or NULL.
 * Path segments are object keys; a segment made only of digits indexes an array. */
json_t *json_path(const json_t *root, const char *path);
/* String at path, or def when missing or not a string. Borrowed. */
const char *json_path_str(const json_t *root, const char *path, const char *def);
/* Integer at path, or def when missing or not an integer. */
long long json_path_int(const json_t *root, const char *path, long long def);
/* Boolean at path; *present says whether a boolean was there (may be NULL). */
bool json_path_bool(const json_t *root, const char *path, bool def, bool *present);
/* Parse a JSON document of at most max bytes. On error returns NULL and, if err is not NULL,
 * fills it with "line L column C: text". */
json_t *json_parse_capped(const char *data, size_t len, size_t max, char *err, size_t errlen);
/* Canonical compact dump with sorted keys; caller frees. NULL on failure. */
char *json_dump_canonical(const json_t *v);
/* Deep equality on the canonical form (objects compare by key, arrays by order). */
bool json_same(const json_t *a, const json_t *b);

#endif
