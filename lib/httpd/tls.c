/* Serving certificates for lib/httpd: parse and check a certificate/key pair up front, so
 * that a bad rotation is refused while the old pair keeps serving. */
#include "httpd/tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/err.h"

static void httpd__ssl_error(char *err, size_t errlen, const char *what, const char *file)
{
	char reason[160] = "no details";
	unsigned long e = ERR_get_error();

	if (e)
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	snprintf(err, errlen, "%s %s: %s", what, file, reason);
}

static int httpd__read_chain(BIO *bio, struct httpd__certs *c)
{
	X509 *x;

	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (!sk_X509_push(c->chain, x)) {
			X509_free(x);
			return SAQR_ENOMEM;
		}
	}
	ERR_clear_error(); /* the end of the file reads as an error */
	return 0;
}

static int httpd__read_certs(const char *cert_file, struct httpd__certs *c, char *err, size_t errlen)
{
	BIO *bio = BIO_new_file(cert_file, "r");
	int rc = SAQR_ECONFIG;

	if (!bio) {
		httpd__ssl_error(err, errlen, "cannot open certificate file", cert_file);
		return SAQR_ECONFIG;
	}
	c->leaf = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	if (!c->leaf) {
		httpd__ssl_error(err, errlen, "no PEM certificate in", cert_file);
		goto out;
	}
	rc = httpd__read_chain(bio, c);
	if (rc)
		snprintf(err, errlen, "out of memory reading %s", cert_file);
out:
	BIO_free(bio);
	return rc;
}

static int httpd__read_key(const char *key_file, struct httpd__certs *c, char *err, size_t errlen)
{
	BIO *bio = BIO_new_file(key_file, "r");

	if (!bio) {
		httpd__ssl_error(err, errlen, "cannot open key file", key_file);
		return SAQR_ECONFIG;
	}
	c->key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (!c->key) {
		httpd__ssl_error(err, errlen, "no PEM private key in", key_file);
		return SAQR_ECONFIG;
	}
	if (X509_check_private_key(c->leaf, c->key) != 1) {
		httpd__ssl_error(err, errlen, "the private key does not match the certificate in", key_file);
		return SAQR_ECONFIG;
	}
	return 0;
}

int httpd__certs_load(const char *cert_file, const char *key_file, struct httpd__certs **out, char *err,
		      size_t errlen)
{
	struct httpd__certs *c = calloc(1, sizeof(*c));
	int rc = SAQR_ENOMEM;

	if (!c)
		return SAQR_ENOMEM;
	c->chain = sk_X509_new_null();
	if (!c->chain)
		goto fail;
	rc = httpd__read_certs(cert_file, c, err, errlen);
	if (!rc)
		rc = httpd__read_key(key_file, c, err, errlen);
	if (rc)
		goto fail;
	*out = c;
	return 0;
fail:
	httpd__certs_free(c);
	return rc;
}

void httpd__certs_free(struct httpd__certs *c)
{
	if (!c)
		return;
	X509_free(c->leaf);
	EVP_PKEY_free(c->key);
	sk_X509_pop_free(c->chain, X509_free);
	free(c);
}

int httpd__certs_apply(const struct httpd__certs *c, SSL *ssl)
{
	/* SSL_use_cert_and_key takes its own references, so c may be freed afterwards. */
	return SSL_use_cert_and_key(ssl, c->leaf, c->key, c->chain, 1) == 1;
}

int httpd__ca_check(const char *ca_file, char *err, size_t errlen)
{
	X509_STORE *store = X509_STORE_new();
	int rc = SAQR_ECONFIG;

	if (!store)
		return SAQR_ENOMEM;
	if (X509_STORE_load_file(store, ca_file) == 1)
		rc = 0;
	else
		httpd__ssl_error(err, errlen, "no usable CA certificate in", ca_file);
	X509_STORE_free(store);
	return rc;
}
