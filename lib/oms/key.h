/* Signing keys users bring for OMS signatures: ECDSA on P-256 (signed with SHA-256) or P-384
 * (SHA-384), read from PEM. A key's id is the lower-case hex SHA-256 of its public key in DER
 * (SubjectPublicKeyInfo); bundles carry it as the public key hint.
 *
 * Ownership: an oms_key owns its OpenSSL key; oms_key_free(NULL) is a no-op. */
#ifndef SAQR_OMS_KEY_H
#define SAQR_OMS_KEY_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "oms/digest.h"

#define OMS_KEY_MAX_PEM ((size_t)64 * 1024)

struct oms_key {
	void *pkey; /* EVP_PKEY */
	bool is_private;
	char id[OMS_SHA256_HEX]; /* see above */
	const char *curve;	 /* "P-256" or "P-384" (static) */
};

/* Read a key from PEM text (len bytes; 0: strlen). want_private: a private key (PKCS#8 or
 * SEC1, unencrypted); else a public key (SubjectPublicKeyInfo), or a private key whose public
 * half is used. *out gets a new key. 0, SAQR_EPARSE (not such a key), SAQR_EINVAL (not ECDSA
 * P-256/P-384) or SAQR_ENOMEM, with a message in err. */
int oms_key_from_pem(const char *pem, size_t len, bool want_private, struct oms_key **out, char *err,
		     size_t errlen);
/* The same from a file (at most OMS_KEY_MAX_PEM bytes); errors name the path. */
int oms_key_load(const char *path, bool want_private, struct oms_key **out, char *err, size_t errlen);
void oms_key_free(struct oms_key *k);

/* Sign msg with a private key: the DER ECDSA signature is appended to sig. 0, SAQR_EINVAL (not a
 * private key) or SAQR_EIO (OpenSSL failed). */
int oms_key_sign(const struct oms_key *k, const void *msg, size_t len, struct buf *sig);
/* Whether sig (DER ECDSA) is k's signature of msg. */
bool oms_key_verify(const struct oms_key *k, const void *msg, size_t len, const void *sig, size_t siglen);

/* Read a whole small file into out (at most max bytes). 0, SAQR_EIO or SAQR_ETOOBIG with a
 * message naming the path. Shared by the callers that read keys and bundles. */
int oms_read_file(const char *path, size_t max, struct buf *out, char *err, size_t errlen);

#endif
