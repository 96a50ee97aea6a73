/* Splits a manifest file into the Kubernetes objects it holds: one JSON document or a
 * multi-document YAML stream, with List kinds (v1 List, DeploymentList, ...) expanded. */
#ifndef SAQR_CLI_DOCUMENTS_H
#define SAQR_CLI_DOCUMENTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Largest manifest file read. */
#define CLI_MAX_FILE_BYTES ((size_t)16 * 1024 * 1024)

/* Parse data into *out, a new JSON array with one entry per object:
 *   {"document": N, "object": {...}}               (N counts documents from 1)
 *   {"document": N, "item": I, "object": {...}}    (the I-th item, from 0, of a List)
 *   {"document": N, "error": "..."}                 (a document that is not an object with a kind)
 * json selects the JSON parser; otherwise YAML (which also reads most JSON). Either way the
 * objects are what kubectl sends: YAML read by YAML 1.1 rules (common/yamljson.h) and integral
 * numbers such as 80.0 sent as integers. On a syntax
 * error returns SAQR_EPARSE or SAQR_ETOOBIG with "line L column C: ..." in err, *out untouched. */
int cli_documents_split(const char *data, size_t len, bool json, json_t **out, char *err, size_t errlen);

/* Whether data looks like JSON (its first non-blank byte is '{' or '['). */
bool cli_documents_is_json(const char *data, size_t len);

#endif
