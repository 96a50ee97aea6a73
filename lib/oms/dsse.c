/* DSSE's pre-authentication encoding and base64 over OpenSSL's block coder. */
#include "oms/dsse.h"

#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

int dsse_pae(const char *type, const void *body, size_t body_len, struct buf *out)
{
	int rc = buf_addf(out, "DSSEv1 %zu %s %zu ", strlen(type), type, body_len);

	return rc ? rc : buf_add(out, body, body_len);
}

int dsse_b64_encode(const void *p, size_t n, struct buf *out)
{
	size_t enclen = 4 * ((n + 2) / 3) + 1;
	unsigned char *enc;
	int rc, len;

	if (n > (size_t)INT32_MAX / 2)
		return SAQR_ETOOBIG;
	enc = malloc(enclen);
	if (!enc)
		return SAQR_ENOMEM;
	len = EVP_EncodeBlock(enc, p, (int)n);
	rc = buf_add(out, enc, (size_t)len);
	free(enc);
	return rc;
}

/* text in the standard alphabet with padding, into a new string (caller frees); NULL when it
 * holds characters outside both alphabets. */
static char *dsse_b64_normalise(const char *text, size_t *len)
{
	size_t n = strlen(text), padded = (n + 3) / 4 * 4;
	char *s = malloc(padded + 1);

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char c = text[i];

		c = c == '-' ? '+' : c == '_' ? '/' : c;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '+' || c == '/' || (c == '=' && i >= n - 2))) {
			free(s);
			return NULL;
		}
		s[i] = c;
	}
	memset(s + n, '=', padded - n);
	s[padded] = '\0';
	*len = padded;
	return s;
}

int dsse_b64_decode(const char *text, struct buf *out)
{
	size_t len = 0, pad = 0;
	char *norm = dsse_b64_normalise(text, &len);
	unsigned char *dec = NULL;
	int n, rc;

	if (!norm)
		return SAQR_EPARSE;
	if (len > (size_t)INT32_MAX / 2) {
		free(norm);
		return SAQR_ETOOBIG;
	}
	dec = malloc(len / 4 * 3 + 1);
	n = dec ? EVP_DecodeBlock(dec, (const unsigned char *)norm, (int)len) : -2;
	while (pad < 2 && len > pad && norm[len - 1 - pad] == '=')
		pad++;
	rc = n == -2			? SAQR_ENOMEM
	     : n < 0 || (size_t)n < pad ? SAQR_EPARSE
					: buf_add(out, dec, (size_t)n - pad);
	free(dec);
	free(norm);
	return rc;
}
