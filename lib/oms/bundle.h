/* OpenSSF Model Signing (OMS) v1.0 signatures with keys users bring: a Sigstore bundle (JSON,
 * media type application/vnd.dev.sigstore.bundle.v0.3+json) whose DSSE envelope holds an in-toto
 * Statement v1 with predicate type https://model_signing/signature/v1.0. The statement's subject
 * is the model's name with the SHA-256 over its files' digests in path order; its predicate lists
 * every file ("resources": name, algorithm sha256, digest) and how they were hashed
 * ("serialization": method "files"). The envelope is signed over DSSE's PAE with ECDSA.
 *
 * Ownership: inputs are borrowed; outputs are appended to the caller's buffer or manifest. */
#ifndef SAQR_OMS_BUNDLE_H
#define SAQR_OMS_BUNDLE_H

#include <stddef.h>

#include "common/buf.h"
#include "oms/key.h"
#include "oms/manifest.h"

#define OMS_BUNDLE_MAX ((size_t)64 << 20) /* bytes of a bundle read or written */
#define OMS_BUNDLE_MEDIA_TYPE "application/vnd.dev.sigstore.bundle.v0.3+json"
#define OMS_PAYLOAD_TYPE "application/vnd.in-toto+json"
#define OMS_STATEMENT_TYPE "https://in-toto.io/Statement/v1"
#define OMS_PREDICATE_TYPE "https://model_signing/signature/v1.0"

/* Append the in-toto statement (compact JSON) for the sorted manifest m of the model named
 * model_name. ignore lists the paths left out when hashing (recorded in the predicate; NULL:
 * none). 0, SAQR_EEMPTY (no files) or SAQR_ENOMEM. */
int oms_statement(const struct oms_manifest *m, const char *model_name, const char *const *ignore,
		  struct buf *out);

/* Sign the sorted manifest m with a private key and append the bundle (JSON) to out.
 * 0, or an error with a message in err. */
int oms_sign(const struct oms_manifest *m, const char *model_name, const char *const *ignore,
	     const struct oms_key *key, struct buf *out, char *err, size_t errlen);

/* What a verified bundle says. */
struct oms_verified {
	struct oms_manifest manifest; /* the signed files, sorted; owned */
	char model_name[256];
	char key_id[OMS_SHA256_HEX]; /* the trusted key that verified it */
};

void oms_verified_release(struct oms_verified *v);

/* Check a bundle (len bytes of JSON) against the trusted keys: its envelope must be signed by one
 * of them, its statement well formed, and its subject digest must match its list of files.
 * 0 with *out filled (release it), or SAQR_EPARSE (malformed bundle or statement), SAQR_EINVAL
 * (no trusted key verifies the signature, or the statement is inconsistent), SAQR_ETOOBIG or
 * SAQR_ENOMEM, with a message in err. */
int oms_verify(const char *bundle, size_t len, struct oms_key *const *keys, size_t nkeys,
	       struct oms_verified *out, char *err, size_t errlen);

#endif
