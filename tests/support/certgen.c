/* Test certificates with the OpenSSL API (see certgen.h). */
#include "certgen.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>

struct certgen_ca {
	EVP_PKEY *key;
	X509 *cert;
};

static EVP_PKEY *certgen_key(void)
{
	return EVP_EC_gen("P-256");
}

static int certgen_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return -1;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

static X509 *certgen_cert(EVP_PKEY *key, const char *cn, long serial)
{
	X509 *cert = X509_new();
	X509_NAME *name;

	if (!cert)
		return NULL;
	X509_set_version(cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), serial);
	X509_gmtime_adj(X509_getm_notBefore(cert), -60);
	X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
	X509_set_pubkey(cert, key);
	name = X509_get_subject_name(cert);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	return cert;
}

int certgen_ca_new(const char *cn, struct certgen_ca **out)
{
	struct certgen_ca *ca = calloc(1, sizeof(*ca));

	if (!ca)
		return -1;
	ca->key = certgen_key();
	ca->cert = ca->key ? certgen_cert(ca->key, cn, 1) : NULL;
	if (!ca->cert || !X509_set_issuer_name(ca->cert, X509_get_subject_name(ca->cert)) ||
	    certgen_ext(ca->cert, ca->cert, NID_basic_constraints, "critical,CA:TRUE") ||
	    certgen_ext(ca->cert, ca->cert, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    certgen_ext(ca->cert, ca->cert, NID_subject_key_identifier, "hash") ||
	    !X509_sign(ca->cert, ca->key, EVP_sha256())) {
		certgen_ca_free(ca);
		return -1;
	}
	*out = ca;
	return 0;
}

void certgen_ca_free(struct certgen_ca *ca)
{
	if (!ca)
		return;
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
	free(ca);
}

static int certgen_write_cert(X509 *cert, const char *path)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (!f)
		return -1;
	ok = PEM_write_X509(f, cert);
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

int certgen_ca_write(const struct certgen_ca *ca, const char *cert_path)
{
	return certgen_write_cert(ca->cert, cert_path);
}

static int certgen_write_key(EVP_PKEY *key, const char *path)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (!f)
		return -1;
	ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

int certgen_leaf(const struct certgen_ca *ca, const char *cn, const char *san, bool client,
		 const char *cert_path, const char *key_path)
{
	static long serial = 1000;
	EVP_PKEY *key = certgen_key();
	X509 *cert = key ? certgen_cert(key, cn, ++serial) : NULL;
	int rc = -1;

	if (!cert || !X509_set_issuer_name(cert, X509_get_subject_name(ca->cert)) ||
	    certgen_ext(cert, ca->cert, NID_basic_constraints, "critical,CA:FALSE") ||
	    certgen_ext(cert, ca->cert, NID_key_usage, "critical,digitalSignature,keyEncipherment") ||
	    certgen_ext(cert, ca->cert, NID_ext_key_usage, client ? "clientAuth" : "serverAuth") ||
	    certgen_ext(cert, ca->cert, NID_authority_key_identifier, "keyid:always") ||
	    (san && certgen_ext(cert, ca->cert, NID_subject_alt_name, san)) ||
	    !X509_sign(cert, ca->key, EVP_sha256()))
		goto out;
	if (certgen_write_cert(cert, cert_path) == 0 && certgen_write_key(key, key_path) == 0)
		rc = 0;
out:
	X509_free(cert);
	EVP_PKEY_free(key);
	return rc;
}
