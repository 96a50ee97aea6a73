/* YAML (libyaml) to jansson, read as kubectl reads it: sigs.k8s.io/yaml over go-yaml v2, which
 * resolves plain scalars by YAML 1.1 (yes/no/on/off are booleans; 0x1bb, 0o17, 017, 0b101 and
 * 1_000 are integers; 80.0 is a number), honours the explicit tags !!str !!bool !!int !!float
 * !!null !!timestamp !!binary and the merge key <<, and expands anchors and aliases within
 * bounds. Then, as kubectl's JSON round trip does, a float with an integral value that fits in
 * 64 bits becomes an integer (80.0 is 80), map keys become strings, and .inf/.nan are refused.
 * Quoted and block scalars stay strings. docs/saqrctl.md lists the rules. */
#ifndef SAQR_COMMON_YAMLJSON_H
#define SAQR_COMMON_YAMLJSON_H

#include <jansson.h>
#include <stddef.h>

/* Deepest nesting of a document, aliases expanded. */
#define YAMLJSON_MAX_DEPTH 64

/* Parse every document in data (len bytes, at most max) into a new JSON array of documents
 * (empty and null documents are skipped). On success *out owns the array. On error returns
 * SAQR_EPARSE (syntax, a tag that does not fit its value, excessive aliasing, nesting over
 * YAMLJSON_MAX_DEPTH, a key that cannot be a JSON key, .inf or .nan) or SAQR_ETOOBIG (over max),
 * SAQR_ENOMEM; writes "line L column C: problem" into err (when err is not NULL) and leaves *out
 * untouched. */
int yaml_to_json_docs(const char *data, size_t len, size_t max, json_t **out, char *err, size_t errlen);

/* Parse exactly one document (an empty input gives an empty object). Same errors as above. */
int yaml_to_json(const char *data, size_t len, size_t max, json_t **out, char *err, size_t errlen);

/* Turn every real in v (an object, array or scalar container tree) whose value is integral and
 * fits in 64 bits into an integer, as kubectl's JSON round trip does for a JSON manifest ("80.0"
 * is sent as 80). 0 or SAQR_ENOMEM (v is then partly converted). */
int yaml_json_kube_numbers(json_t *v);

#endif
