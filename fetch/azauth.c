/* Azure Storage Shared Key: the canonical string of a request and its HMAC-SHA256 signature. */
#include "fetch/azauth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "oms/dsse.h"

#define AZAUTH_MAX_PARAMS 16

static int azauth_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "\nname:value" for each query parameter, sorted by name. */
static int azauth_params(const char *query, struct buf *out)
{
	char *copy = strdup(query), *params[AZAUTH_MAX_PARAMS] = {NULL}, *save = NULL, *p;
	size_t n = 0;
	int rc = copy ? 0 : SAQR_ENOMEM;

	for (p = copy ? strtok_r(copy, "&", &save) : NULL; p && n < AZAUTH_MAX_PARAMS;
	     p = strtok_r(NULL, "&", &save))
		params[n++] = p;
	if (p)
		rc = SAQR_EINVAL;
	qsort(params, n, sizeof(*params), azauth_cmp);
	for (size_t i = 0; !rc && i < n; i++) {
		char *eq = strchr(params[i], '=');

		if (eq)
			*eq = '\0';
		rc = buf_addf(out, "\n%s:%s", params[i], eq ? eq + 1 : "");
	}
	free(copy);
	return rc;
}

int azauth_string_to_sign(const char *method, const char *ms_headers, const char *account,
			  const char *url_path, const char *query, struct buf *out)
{
	/* Content-Encoding, -Language, -Length, -MD5, -Type, Date, If-Modified-Since, If-Match,
	 * If-None-Match, If-Unmodified-Since, Range: all empty for the GETs Saqr sends. */
	int rc = buf_addf(out, "%s\n\n\n\n\n\n\n\n\n\n\n\n%s/%s%s", method, ms_headers, account, url_path);

	if (!rc && query && *query)
		rc = azauth_params(query, out);
	return rc;
}

int azauth_header(const char *account, const char *key_b64, const char *sts, struct buf *out)
{
	unsigned char mac[32];
	unsigned int len = 0;
	struct buf key, sig;
	int rc;

	buf_init(&key, 1024);
	buf_init(&sig, 128);
	rc = dsse_b64_decode(key_b64, &key) ? SAQR_EINVAL : 0;
	if (!rc &&
	    !HMAC(EVP_sha256(), key.data, (int)key.len, (const unsigned char *)sts, strlen(sts), mac, &len))
		rc = SAQR_ENOMEM;
	rc = rc ? rc : dsse_b64_encode(mac, len, &sig);
	rc = rc ? rc : buf_addf(out, "SharedKey %s:%s", account, buf_str(&sig));
	if (key.data)
		OPENSSL_cleanse(key.data, key.len);
	buf_release(&key);
	buf_release(&sig);
	return rc;
}
