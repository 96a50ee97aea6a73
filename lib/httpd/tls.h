/* Internal to lib/httpd: the serving certificate as parsed OpenSSL objects, so that a rotated
 * certificate can be checked before it replaces the one in use. */
#ifndef SAQR_HTTPD_TLS_H
#define SAQR_HTTPD_TLS_H

#include <openssl/ssl.h>
#include <stddef.h>

/* A leaf certificate, its private key and the rest of its chain. Immutable once loaded. */
struct httpd__certs {
	X509 *leaf;
	EVP_PKEY *key;
	STACK_OF(X509) * chain; /* may be empty, never NULL */
};

/* Read PEM files: the certificate file holds the leaf first and then any intermediates.
 * 0 with *out owned by the caller (free with httpd__certs_free), or SAQR_ECONFIG with a
 * message in err (unreadable file, no certificate, bad key, key does not match). */
int httpd__certs_load(const char *cert_file, const char *key_file, struct httpd__certs **out, char *err,
		      size_t errlen);
/* NULL is a no-op. */
void httpd__certs_free(struct httpd__certs *c);
/* Make ssl present these certificates (used from OpenSSL's certificate callback).
 * 1 on success, 0 on failure (OpenSSL's convention for that callback). */
int httpd__certs_apply(const struct httpd__certs *c, SSL *ssl);
/* Check that a CA bundle file holds at least one certificate. 0 or SAQR_ECONFIG. */
int httpd__ca_check(const char *ca_file, char *err, size_t errlen);

#endif
