/* Test certificates made with the OpenSSL API: a CA, and P-256 leaf certificates it signs,
 * written as PEM files. For tests only. */
#ifndef SAQR_TESTS_SUPPORT_CERTGEN_H
#define SAQR_TESTS_SUPPORT_CERTGEN_H

#include <stdbool.h>

struct certgen_ca;

/* A new self-signed CA named cn. 0 or -1. Free with certgen_ca_free (NULL is a no-op). */
int certgen_ca_new(const char *cn, struct certgen_ca **out);
void certgen_ca_free(struct certgen_ca *ca);
/* Write the CA certificate as PEM. 0 or -1. */
int certgen_ca_write(const struct certgen_ca *ca, const char *cert_path);
/* Issue a leaf for cn with the subjectAltName list san ("IP:127.0.0.1,DNS:localhost", or NULL),
 * for server or client use, valid for a day; write certificate and key. 0 or -1. */
int certgen_leaf(const struct certgen_ca *ca, const char *cn, const char *san, bool client,
		 const char *cert_path, const char *key_path);

#endif
