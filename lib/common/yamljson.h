/* YAML (libyaml) to jansson. Plain scalars become null, booleans, integers or reals by the
 * YAML 1.2 core schema; quoted scalars stay strings. Anchors and aliases are refused. */
#ifndef SAQR_COMMON_YAMLJSON_H
#define SAQR_COMMON_YAMLJSON_H

#include <jansson.h>
#include <stddef.h>

/* Parse every document in data (len bytes, at most max) into a new JSON array of documents
 * (empty documents are skipped). On success *out owns the array. On error returns SAQR_EPARSE
 * or SAQR_ETOOBIG, writes "line L column C: problem" into err (when err is not NULL) and
 * leaves *out untouched. */
int yaml_to_json_docs(const char *data, size_t len, size_t max, json_t **out, char *err, size_t errlen);

/* Parse exactly one document (an empty input gives an empty object). Same errors as above. */
int yaml_to_json(const char *data, size_t len, size_t max, json_t **out, char *err, size_t errlen);

#endif
