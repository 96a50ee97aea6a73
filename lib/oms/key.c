/* ECDSA keys for OMS signatures over OpenSSL's EVP: PEM loading, the key id, sign and verify. */
#include "oms/key.h"

#include <errno.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

/* The curve of an EC key as P-256 / P-384, or NULL for anything else. */
static const char *oms_key_curve(EVP_PKEY *p)
{
	char group[64] = "";
	size_t len = 0;

	if (EVP_PKEY_get_base_id(p) != EVP_PKEY_EC ||
	    !EVP_PKEY_get_utf8_string_param(p, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &len))
		return NULL;
	if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)
		return "P-256";
	if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0)
		return "P-384";
	return NULL;
}

static int oms_key_set_id(struct oms_key *k)
{
	unsigned char *der = NULL, d[OMS_SHA256_LEN];
	int n = i2d_PUBKEY(k->pkey, &der), rc;

	if (n <= 0)
		return SAQR_ENOMEM;
	rc = oms_sha256_mem(der, (size_t)n, d);
	OPENSSL_free(der);
	if (!rc)
		oms_hex(d, k->id);
	return rc;
}

static EVP_PKEY *oms_pem_read(const char *pem, size_t len, bool want_private, bool *is_private)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *p = NULL;

	if (!b)
		return NULL;
	p = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	*is_private = p != NULL;
	if (!p && !want_private) {
		(void)BIO_reset(b);
		p = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
	}
	BIO_free(b);
	ERR_clear_error();
	return p;
}

int oms_key_from_pem(const char *pem, size_t len, bool want_private, struct oms_key **out, char *err,
		     size_t errlen)
{
	struct oms_key *k;
	bool priv = false;
	EVP_PKEY *p;
	int rc;

	len = len ? len : strlen(pem);
	if (len > OMS_KEY_MAX_PEM)
		return saqr_fail(SAQR_ETOOBIG, err, errlen, "key larger than %zu bytes", OMS_KEY_MAX_PEM);
	p = oms_pem_read(pem, len, want_private, &priv);
	if (!p)
		return saqr_fail(SAQR_EPARSE, err, errlen, "not a PEM %s key (unencrypted)",
				 want_private ? "private" : "public");
	k = calloc(1, sizeof(*k));
	if (!k) {
		EVP_PKEY_free(p);
		return saqr_fail(SAQR_ENOMEM, err, errlen, "out of memory");
	}
	k->pkey = p;
	k->is_private = priv;
	k->curve = oms_key_curve(p);
	rc = k->curve ? oms_key_set_id(k) : SAQR_EINVAL;
	if (rc) {
		oms_key_free(k);
		return saqr_fail(rc, err, errlen, "%s",
				 rc == SAQR_EINVAL ? "only ECDSA P-256 and P-384 keys are supported"
						   : saqr_strerror(rc));
	}
	*out = k;
	return 0;
}

int oms_read_file(const char *path, size_t max, struct buf *out, char *err, size_t errlen)
{
	char chunk[8192];
	FILE *f = fopen(path, "rb");
	size_t n;
	int rc = 0;

	if (!f)
		return saqr_fail(SAQR_EIO, err, errlen, "%s: %s", path, strerror(errno));
	out->max = max;
	while (!rc && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		rc = buf_add(out, chunk, n);
	if (!rc && ferror(f))
		rc = SAQR_EIO;
	fclose(f);
	if (rc == SAQR_ETOOBIG)
		return saqr_fail(rc, err, errlen, "%s: larger than %zu bytes", path, max);
	if (rc)
		return saqr_fail(rc, err, errlen, "%s: %s", path,
				 rc == SAQR_EIO ? "read failed" : saqr_strerror(rc));
	return 0;
}

int oms_key_load(const char *path, bool want_private, struct oms_key **out, char *err, size_t errlen)
{
	char msg[256] = "";
	struct buf pem;
	int rc;

	buf_init(&pem, OMS_KEY_MAX_PEM);
	rc = oms_read_file(path, OMS_KEY_MAX_PEM, &pem, err, errlen);
	if (!rc && pem.len == 0)
		rc = saqr_fail(SAQR_EPARSE, err, errlen, "%s: empty", path);
	if (!rc) {
		rc = oms_key_from_pem(pem.data, pem.len, want_private, out, msg, sizeof(msg));
		if (rc)
			saqr_errf(err, errlen, "%s: %s", path, msg);
	}
	if (pem.data)
		OPENSSL_cleanse(pem.data, pem.len);
	buf_release(&pem);
	return rc;
}

void oms_key_free(struct oms_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

static const EVP_MD *oms_key_md(const struct oms_key *k)
{
	return strcmp(k->curve, "P-384") == 0 ? EVP_sha384() : EVP_sha256();
}

int oms_key_sign(const struct oms_key *k, const void *msg, size_t len, struct buf *sig)
{
	EVP_MD_CTX *c;
	unsigned char *der = NULL;
	size_t n = 0;
	int rc = SAQR_EIO;

	if (!k->is_private)
		return SAQR_EINVAL;
	c = EVP_MD_CTX_new();
	if (!c)
		return SAQR_ENOMEM;
	if (EVP_DigestSignInit(c, NULL, oms_key_md(k), NULL, k->pkey) != 1 ||
	    EVP_DigestSign(c, NULL, &n, msg, len) != 1)
		goto out;
	der = malloc(n);
	if (der && EVP_DigestSign(c, der, &n, msg, len) == 1)
		rc = buf_add(sig, der, n);
out:
	free(der);
	EVP_MD_CTX_free(c);
	return rc;
}

bool oms_key_verify(const struct oms_key *k, const void *msg, size_t len, const void *sig, size_t siglen)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	bool ok;

	if (!c)
		return false;
	ok = EVP_DigestVerifyInit(c, NULL, oms_key_md(k), NULL, k->pkey) == 1 &&
	     EVP_DigestVerify(c, sig, siglen, msg, len) == 1;
	EVP_MD_CTX_free(c);
	return ok;
}
