/* SHA-256 for model integrity: a streaming context (fed in pieces as bytes arrive, so a file is
 * never read twice), whole-file digests, and the "sha256:<hex>" text form that ModelDeployment's
 * spec.model.digest and the OMS manifest use. */
#ifndef SAQR_OMS_DIGEST_H
#define SAQR_OMS_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OMS_SHA256_LEN 32
#define OMS_SHA256_HEX (2 * OMS_SHA256_LEN + 1) /* hex digits and the NUL */

/* A running SHA-256. Owns an OpenSSL context: oms_sha256_release when done (also after
 * oms_sha256_final). */
struct oms_sha256 {
	void *ctx;	/* EVP_MD_CTX */
	uint64_t bytes; /* fed so far */
};

/* Start a digest. 0 or SAQR_ENOMEM. */
int oms_sha256_init(struct oms_sha256 *s);
/* Feed n bytes. 0 or SAQR_EIO (OpenSSL refused). */
int oms_sha256_update(struct oms_sha256 *s, const void *p, size_t n);
/* Write the digest into out. 0 or SAQR_EIO. The context cannot be fed afterwards. */
int oms_sha256_final(struct oms_sha256 *s, unsigned char out[OMS_SHA256_LEN]);
/* Free the context; a released or zeroed struct is a no-op. */
void oms_sha256_release(struct oms_sha256 *s);

/* The digest of n bytes in memory. 0, SAQR_ENOMEM or SAQR_EIO. */
int oms_sha256_mem(const void *p, size_t n, unsigned char out[OMS_SHA256_LEN]);
/* The digest of a regular file, read in chunks; *size (may be NULL) gets its length.
 * 0, or SAQR_EIO with "path: cause" in err. */
int oms_sha256_file(const char *path, unsigned char out[OMS_SHA256_LEN], uint64_t *size, char *err,
		    size_t errlen);

/* Lower-case hex of a digest into hex (OMS_SHA256_HEX bytes). */
void oms_hex(const unsigned char d[OMS_SHA256_LEN], char hex[OMS_SHA256_HEX]);
/* Parse 64 hex digits (either case, nothing else). true on success. */
bool oms_unhex(const char *hex, unsigned char out[OMS_SHA256_LEN]);
/* Parse "sha256:<64 hex>". true on success. */
bool oms_digest_parse(const char *text, unsigned char out[OMS_SHA256_LEN]);

#endif
