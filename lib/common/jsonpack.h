/* Lossless packing of JSON text for in-memory caches. Fragments that recur in every Kubernetes
 * object Saqr caches (the recommended labels, ownerReferences, condition keys, ...) are replaced
 * by single bytes 0x01-0x1F. Those bytes never occur raw in JSON text (control characters must
 * be escaped), so every JSON text round-trips exactly; a typical owned object shrinks to about a
 * third, a custom resource by about a third. Thread-safe. */
#ifndef SAQR_COMMON_JSONPACK_H
#define SAQR_COMMON_JSONPACK_H

#include <jansson.h>
#include <stddef.h>

#include "common/buf.h"

/* The packed form of json (NUL-terminated JSON text), exactly sized; caller frees.
 * NULL when out of memory, or when json holds a raw control character (not JSON text). */
char *jsonpack_encode(const char *json);

/* Append the JSON text of packed to out. 0, SAQR_ENOMEM or SAQR_ETOOBIG (out's cap). */
int jsonpack_decode(const char *packed, struct buf *out);

/* Decode and parse packed: a new reference, or NULL (out of memory, or not JSON). */
json_t *jsonpack_load(const char *packed);

/* Pack obj (json_dumps with JSON_COMPACT, then jsonpack_encode); caller frees. NULL on error. */
char *jsonpack_dump(const json_t *obj);

#endif
