/* Azure Storage Shared Key authorisation for Blob requests (service version 2015-02-21 and later):
 * the string to sign and the "SharedKey account:signature" header value. */
#ifndef SAQR_FETCH_AZAUTH_H
#define SAQR_FETCH_AZAUTH_H

#include "common/buf.h"

#define AZAUTH_VERSION "2021-08-06" /* x-ms-version sent with every request */

/* Append the string to sign of a bodiless request to out: method, the x-ms-* headers given as
 * "name:value" lines (lower-case names, sorted, each ending in "\n"), and the canonical resource
 * "/<account><url path>" followed by "\n<param>:<value>" for each query parameter, sorted
 * (query: decoded "name=value" pairs joined by '&', names lower-case; NULL or "": none).
 * 0 or a buf error. */
int azauth_string_to_sign(const char *method, const char *ms_headers, const char *account,
			  const char *url_path, const char *query, struct buf *out);
/* Append "SharedKey <account>:<base64 HMAC-SHA256(base64-decoded key, sts)>" to out.
 * 0, SAQR_EINVAL (the key is not base64) or SAQR_ENOMEM. */
int azauth_header(const char *account, const char *key_b64, const char *sts, struct buf *out);

#endif
