/* The inference protocols saqr-agent understands, and the extraction of feature values and
 * predictions from their JSON payloads into the agent's distributions:
 *  - KServe V1: POST /v1/models/<m>:predict, {"instances": [row...]} (or "inputs"), a row an
 *    array (a feature is its `index`), an object (a feature is its `input` key, else its name)
 *    or a scalar; answer {"predictions": [...]}.
 *  - Open Inference Protocol V2: POST /v2/models/<m>[/versions/<v>]/infer,
 *    {"inputs": [{"name", "shape", "datatype", "data"}]}; a feature is the tensor named by its
 *    `input` (else its name), every element, or with `index` the column index of each row
 *    (rows of shape[1] x shape[2] x ... elements; data flat or nested); answer
 *    {"outputs": [...]} likewise (the one named by predictions.output, else the first).
 * Values of the wrong type are skipped and counted, never an error of the request. */
#ifndef SAQR_AGENT_INFER_H
#define SAQR_AGENT_INFER_H

#include <stddef.h>

#include "agent/stats.h"

enum infer_proto { INFER_NONE, INFER_V1, INFER_V2 };

/* Which protocol a request is, from its method and target (the query is ignored). */
enum infer_proto infer_route(const char *method, const char *target);
/* Record the features of a request body (len bytes, need not be NUL-terminated) into s.
 * *invalid (may be NULL) gets the number of values skipped for their type.
 * 0, or SAQR_EPARSE (not JSON) / SAQR_EINVAL (not the protocol's shape): nothing recorded. */
int infer_request(struct agent_stats *s, enum infer_proto proto, const char *body, size_t len,
		  size_t *invalid);
/* Record the predictions of a response body into s (nothing when they are not configured).
 * Same results. */
int infer_response(struct agent_stats *s, enum infer_proto proto, const char *body, size_t len,
		   size_t *invalid);

#endif
