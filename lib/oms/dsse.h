/* DSSE (Dead Simple Signing Envelope) v1: the pre-authentication encoding that is signed, and the
 * standard base64 the envelope carries its payload and signatures in. */
#ifndef SAQR_OMS_DSSE_H
#define SAQR_OMS_DSSE_H

#include <stddef.h>

#include "common/buf.h"

/* Append PAE(type, body) = "DSSEv1" SP len(type) SP type SP len(body) SP body (lengths in ASCII
 * decimal, bytes) to out. 0 or a buf error. */
int dsse_pae(const char *type, const void *body, size_t body_len, struct buf *out);
/* Append the standard base64 (with padding) of n bytes to out. 0 or a buf error. */
int dsse_b64_encode(const void *p, size_t n, struct buf *out);
/* Append the bytes of base64 text (standard or URL-safe alphabet, padding optional) to out.
 * 0, SAQR_EPARSE (not base64) or a buf error. */
int dsse_b64_decode(const char *text, struct buf *out);

#endif
