/* SHA-256 over OpenSSL's EVP interface, streaming or whole-file, and its hex text forms. */
#include "oms/digest.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"

#define OMS_READ_CHUNK ((size_t)1 << 20)

int oms_sha256_init(struct oms_sha256 *s)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	s->ctx = NULL;
	s->bytes = 0;
	if (!c)
		return SAQR_ENOMEM;
	if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(c);
		return SAQR_ENOMEM;
	}
	s->ctx = c;
	return 0;
}

int oms_sha256_update(struct oms_sha256 *s, const void *p, size_t n)
{
	if (!s->ctx || (n && EVP_DigestUpdate(s->ctx, p, n) != 1))
		return SAQR_EIO;
	s->bytes += n;
	return 0;
}

int oms_sha256_final(struct oms_sha256 *s, unsigned char out[OMS_SHA256_LEN])
{
	unsigned int len = 0;

	if (!s->ctx || EVP_DigestFinal_ex(s->ctx, out, &len) != 1 || len != OMS_SHA256_LEN)
		return SAQR_EIO;
	return 0;
}

void oms_sha256_release(struct oms_sha256 *s)
{
	if (!s)
		return;
	EVP_MD_CTX_free(s->ctx);
	s->ctx = NULL;
}

int oms_sha256_mem(const void *p, size_t n, unsigned char out[OMS_SHA256_LEN])
{
	struct oms_sha256 s;
	int rc = oms_sha256_init(&s);

	rc = rc ? rc : oms_sha256_update(&s, p, n);
	rc = rc ? rc : oms_sha256_final(&s, out);
	oms_sha256_release(&s);
	return rc;
}

/* Feed the whole of fd into s. */
static int oms_sha256_fd(struct oms_sha256 *s, int fd, unsigned char *chunk)
{
	for (;;) {
		ssize_t n = read(fd, chunk, OMS_READ_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return SAQR_EIO;
		if (n == 0)
			return 0;
		if (oms_sha256_update(s, chunk, (size_t)n))
			return SAQR_EIO;
	}
}

int oms_sha256_file(const char *path, unsigned char out[OMS_SHA256_LEN], uint64_t *size, char *err,
		    size_t errlen)
{
	struct oms_sha256 s = {0};
	unsigned char *chunk;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return saqr_fail(SAQR_EIO, err, errlen, "%s: %s", path, strerror(errno));
	chunk = malloc(OMS_READ_CHUNK);
	rc = chunk ? oms_sha256_init(&s) : SAQR_ENOMEM;
	rc = rc ? rc : oms_sha256_fd(&s, fd, chunk);
	if (rc == SAQR_EIO)
		saqr_errf(err, errlen, "%s: read failed: %s", path, strerror(errno));
	rc = rc ? rc : oms_sha256_final(&s, out);
	if (!rc && size)
		*size = s.bytes;
	oms_sha256_release(&s);
	free(chunk);
	close(fd);
	return rc;
}

void oms_hex(const unsigned char d[OMS_SHA256_LEN], char hex[OMS_SHA256_HEX])
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < OMS_SHA256_LEN; i++) {
		hex[2 * i] = digits[d[i] >> 4];
		hex[2 * i + 1] = digits[d[i] & 0xf];
	}
	hex[2 * OMS_SHA256_LEN] = '\0';
}

static int oms_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool oms_unhex(const char *hex, unsigned char out[OMS_SHA256_LEN])
{
	unsigned char tmp[OMS_SHA256_LEN];

	if (!hex || strlen(hex) != 2 * OMS_SHA256_LEN)
		return false;
	for (size_t i = 0; i < OMS_SHA256_LEN; i++) {
		int hi = oms_nibble(hex[2 * i]), lo = oms_nibble(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		tmp[i] = (unsigned char)(hi << 4 | lo);
	}
	memcpy(out, tmp, sizeof(tmp));
	return true;
}

bool oms_digest_parse(const char *text, unsigned char out[OMS_SHA256_LEN])
{
	return text && strncmp(text, "sha256:", 7) == 0 && oms_unhex(text + 7, out);
}
