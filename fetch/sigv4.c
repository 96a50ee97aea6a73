/* AWS Signature Version 4: canonical request, string to sign, HMAC-SHA256 key derivation and the
 * Authorization header, over OpenSSL. */
#include "fetch/sigv4.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "oms/digest.h"

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_MAX_TEXT ((size_t)64 * 1024)

int sigv4_encode(struct buf *b, const char *s, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	int rc = 0;

	for (const unsigned char *p = (const unsigned char *)s; !rc && *p; p++) {
		if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~' ||
		    (keep_slash && *p == '/'))
			rc = buf_add(b, p, 1);
		else
			rc = buf_addf(b, "%%%c%c", hex[*p >> 4], hex[*p & 0xf]);
	}
	return rc;
}

void sigv4_now(char date[17])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(date, 17, "%Y%m%dT%H%M%SZ", &tm);
}

/* One encoded item (a query parameter or a header), for sorting. */
struct sigv4_item {
	char *name;
	char *value;
};

static int sigv4_item_cmp(const void *a, const void *b)
{
	const struct sigv4_item *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

static void sigv4_items_free(struct sigv4_item *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].value);
	}
}

/* A header value as SigV4 canonicalises it: trimmed, inner runs of spaces made one. */
static char *sigv4_trim(const char *v)
{
	char *out = malloc(strlen(v) + 1), *o = out;

	if (!out)
		return NULL;
	while (*v == ' ' || *v == '\t')
		v++;
	for (; *v; v++) {
		bool space = *v == ' ' || *v == '\t';

		if (space && (o == out || o[-1] == ' '))
			continue;
		*o++ = space ? ' ' : *v;
	}
	while (o > out && o[-1] == ' ')
		o--;
	*o = '\0';
	return out;
}

static char *sigv4_lower(const char *s)
{
	char *out = strdup(s);

	for (char *p = out; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return out;
}

static char *sigv4_encoded(const char *s)
{
	struct buf b;

	buf_init(&b, SIGV4_MAX_TEXT);
	if (sigv4_encode(&b, s, false)) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b);
}

/* The canonical query string into out->query. */
static int sigv4_query(const struct sigv4_request *req, struct sigv4_signed *out)
{
	struct sigv4_item items[SIGV4_MAX_ITEMS] = {{NULL, NULL}};
	size_t n = 0;
	int rc = 0;

	for (; !rc && n < req->nquery; n++) {
		items[n].name = sigv4_encoded(req->query[n].name);
		items[n].value = sigv4_encoded(req->query[n].value ? req->query[n].value : "");
		if (!items[n].name || !items[n].value)
			rc = SAQR_ENOMEM;
	}
	if (!rc)
		qsort(items, n, sizeof(*items), sigv4_item_cmp);
	for (size_t i = 0; !rc && i < n; i++)
		rc = buf_addf(&out->query, "%s%s=%s", i ? "&" : "", items[i].name, items[i].value);
	sigv4_items_free(items, n);
	return rc;
}

/* The headers that are signed: the caller's and SigV4's own, lower-cased, trimmed, sorted. */
static int sigv4_header_items(const struct sigv4_request *req, const struct sigv4_pair *own, size_t nown,
			      struct sigv4_item *items, size_t *count)
{
	size_t n = 0;
	int rc = 0;

	for (size_t i = 0; !rc && i < req->nheaders + nown; i++, n++) {
		const struct sigv4_pair *h = i < req->nheaders ? &req->headers[i] : &own[i - req->nheaders];

		items[n].name = sigv4_lower(h->name);
		items[n].value = sigv4_trim(h->value ? h->value : "");
		if (!items[n].name || !items[n].value)
			rc = SAQR_ENOMEM;
	}
	if (!rc)
		qsort(items, n, sizeof(*items), sigv4_item_cmp);
	*count = n;
	return rc;
}

static int sigv4_canonical(const struct sigv4_request *req, const struct sigv4_pair *own, size_t nown,
			   const char *payload_hash, struct sigv4_signed *out, struct buf *signed_headers)
{
	struct sigv4_item items[2 * SIGV4_MAX_ITEMS] = {{NULL, NULL}};
	struct buf *c = &out->canonical_request;
	size_t n = 0;
	int rc = sigv4_header_items(req, own, nown, items, &n);

	rc = rc ? rc : buf_addf(c, "%s\n", req->method ? req->method : "GET");
	if (!rc && (!req->path || req->path[0] != '/'))
		rc = buf_adds(c, "/");
	rc = rc ? rc : sigv4_encode(c, req->path ? req->path : "", true);
	rc = rc ? rc : buf_addf(c, "\n%s\n", buf_str(&out->query));
	for (size_t i = 0; !rc && i < n; i++) {
		rc = buf_addf(c, "%s:%s\n", items[i].name, items[i].value);
		rc = rc ? rc : buf_addf(signed_headers, "%s%s", i ? ";" : "", items[i].name);
	}
	rc = rc ? rc : buf_addf(c, "\n%s\n%s", buf_str(signed_headers), payload_hash);
	sigv4_items_free(items, n);
	return rc;
}

static int sigv4_hmac(const void *key, size_t keylen, const char *msg, unsigned char out[32])
{
	unsigned int len = 0;

	return HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, strlen(msg), out, &len) &&
		       len == 32
		   ? 0
		   : SAQR_ENOMEM;
}

/* HMAC chain: AWS4<secret> -> date -> region -> service -> aws4_request -> string to sign. */
static int sigv4_signature(const char *secret, const char *day, const char *region, const char *service,
			   const char *sts, char sig[65])
{
	unsigned char k[32], sum[32];
	struct buf seed;
	int rc;

	buf_init(&seed, SIGV4_MAX_TEXT);
	rc = buf_addf(&seed, "AWS4%s", secret);
	rc = rc ? rc : sigv4_hmac(seed.data, seed.len, day, k);
	rc = rc ? rc : sigv4_hmac(k, 32, region, k);
	rc = rc ? rc : sigv4_hmac(k, 32, service, k);
	rc = rc ? rc : sigv4_hmac(k, 32, "aws4_request", k);
	rc = rc ? rc : sigv4_hmac(k, 32, sts, sum);
	if (!rc)
		oms_hex(sum, sig);
	if (seed.data)
		OPENSSL_cleanse(seed.data, seed.len);
	buf_release(&seed);
	OPENSSL_cleanse(k, sizeof(k));
	return rc;
}

static int sigv4_string_to_sign(struct sigv4_signed *out, const char *amz_date, const char *scope)
{
	unsigned char d[OMS_SHA256_LEN];
	char hex[OMS_SHA256_HEX];
	int rc = oms_sha256_mem(out->canonical_request.data, out->canonical_request.len, d);

	if (rc)
		return rc;
	oms_hex(d, hex);
	return buf_addf(&out->string_to_sign, "%s\n%s\n%s\n%s", SIGV4_ALGORITHM, amz_date, scope, hex);
}

/* The header lines to send, into out->header_block and out->lines. */
static int sigv4_lines(struct sigv4_signed *out, const struct sigv4_pair *own, size_t nown, const char *akid,
		       const char *scope, const struct buf *signed_headers)
{
	size_t offs[5], n = 0;
	int rc = 0;

	for (size_t i = 0; !rc && i < nown; i++) {
		offs[n++] = out->header_block.len;
		rc = buf_addf(&out->header_block, "%s: %s", own[i].name, own[i].value);
		rc = rc ? rc : buf_add(&out->header_block, "", 1);
	}
	offs[n++] = out->header_block.len;
	rc = rc ? rc
		: buf_addf(&out->header_block,
			   "Authorization: %s Credential=%s/%s, SignedHeaders=%s, Signature=%s",
			   SIGV4_ALGORITHM, akid, scope, buf_str(signed_headers), out->signature);
	for (size_t i = 0; !rc && i < n; i++)
		out->lines[i] = out->header_block.data + offs[i];
	return rc;
}

static void sigv4_signed_init(struct sigv4_signed *s)
{
	memset(s, 0, sizeof(*s));
	buf_init(&s->canonical_request, SIGV4_MAX_TEXT);
	buf_init(&s->string_to_sign, SIGV4_MAX_TEXT);
	buf_init(&s->query, SIGV4_MAX_TEXT);
	buf_init(&s->header_block, SIGV4_MAX_TEXT);
}

static bool sigv4_date_ok(const char *d)
{
	if (!d || strlen(d) != 16 || d[8] != 'T' || d[15] != 'Z')
		return false;
	for (int i = 0; i < 15; i++)
		if (i != 8 && !isdigit((unsigned char)d[i]))
			return false;
	return true;
}

int sigv4_sign(const struct sigv4_request *req, const struct sigv4_creds *creds, const char *region,
	       const char *service, const char *amz_date, struct sigv4_signed *out)
{
	const char *hash = req->payload_hash ? req->payload_hash : SIGV4_EMPTY_SHA256;
	struct sigv4_pair own[3];
	char day[9], scope[256];
	struct buf signed_headers;
	size_t nown = 0;
	int rc;

	sigv4_signed_init(out);
	if (!creds || !creds->access_key || !creds->secret_key || !region || !service ||
	    !sigv4_date_ok(amz_date) || req->nquery > SIGV4_MAX_ITEMS || req->nheaders > SIGV4_MAX_ITEMS)
		return SAQR_EINVAL;
	snprintf(day, sizeof(day), "%.8s", amz_date);
	snprintf(scope, sizeof(scope), "%s/%s/%s/aws4_request", day, region, service);
	own[nown++] = (struct sigv4_pair){"X-Amz-Date", amz_date};
	if (creds->session_token)
		own[nown++] = (struct sigv4_pair){"X-Amz-Security-Token", creds->session_token};
	if (req->content_sha256_header)
		own[nown++] = (struct sigv4_pair){"X-Amz-Content-Sha256", hash};
	buf_init(&signed_headers, SIGV4_MAX_TEXT);
	rc = sigv4_query(req, out);
	rc = rc ? rc : sigv4_canonical(req, own, nown, hash, out, &signed_headers);
	rc = rc ? rc : sigv4_string_to_sign(out, amz_date, scope);
	rc = rc ? rc
		: sigv4_signature(creds->secret_key, day, region, service, buf_str(&out->string_to_sign),
				  out->signature);
	rc = rc ? rc : sigv4_lines(out, own, nown, creds->access_key, scope, &signed_headers);
	buf_release(&signed_headers);
	return rc;
}

void sigv4_signed_release(struct sigv4_signed *s)
{
	if (!s)
		return;
	buf_release(&s->canonical_request);
	buf_release(&s->string_to_sign);
	buf_release(&s->query);
	buf_release(&s->header_block);
}
