/* Remote model stores for saqr-fetch: URI parsing, signed requests (SigV4 for S3, SAS or Shared
 * Key for Azure Blob), streamed GETs over lib/http's handle set-up, and prefix listings
 * (ListObjectsV2, List Blobs) read from their XML answers. */
#include "fetch/remote.h"

#include <curl/curl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "fetch/azauth.h"
#include "fetch/sigv4.h"
#include "http/http.h"
#include "oms/manifest.h"

#define REMOTE_URL_MAX 16384
#define REMOTE_ERRBODY_MAX 2048

/* ---- URIs ---- */

static int remote_split(struct remote *r, const char *rest, bool with_container)
{
	const char *slash = strchr(rest, '/');
	const char *path;

	if (!slash || slash == rest)
		return SAQR_EINVAL;
	r->base = strndup(rest, (size_t)(slash - rest));
	path = slash + 1;
	if (with_container) {
		const char *s2 = strchr(path, '/');

		r->container = s2 ? strndup(path, (size_t)(s2 - path)) : strdup(path);
		path = s2 ? s2 + 1 : "";
		if (r->container && !*r->container)
			return SAQR_EINVAL;
	}
	r->path = strdup(path);
	if (!r->base || !r->path || (with_container && !r->container))
		return SAQR_ENOMEM;
	r->is_prefix = !*path || path[strlen(path) - 1] == '/';
	return 0;
}

int remote_parse(struct remote *r, const char *uri, const struct remote_config *cfg, char *err, size_t errlen)
{
	int rc = SAQR_EINVAL;

	memset(r, 0, sizeof(*r));
	r->cfg = cfg;
	if (strncmp(uri, "https://", 8) == 0 || strncmp(uri, "http://", 7) == 0) {
		if (uri[4] == ':' && !cfg->allow_insecure_http)
			return saqr_fail(SAQR_EINVAL, err, errlen,
					 "plain http:// is refused (--allow-insecure-http)");
		r->kind = REMOTE_HTTPS;
		r->base = strdup(uri);
		r->path = strdup("");
		rc = r->base && r->path ? 0 : SAQR_ENOMEM;
	} else if (strncmp(uri, "s3://", 5) == 0) {
		r->kind = REMOTE_S3;
		rc = remote_split(r, uri + 5, false);
	} else if (strncmp(uri, "azureblob://", 12) == 0) {
		r->kind = REMOTE_AZURE;
		rc = remote_split(r, uri + 12, true);
	}
	if (rc) {
		remote_release(r);
		return saqr_fail(
		    rc, err, errlen,
		    "%s: not an https://, s3://bucket/key or azureblob://account/container/path URI", uri);
	}
	return 0;
}

void remote_release(struct remote *r)
{
	if (!r)
		return;
	free(r->base);
	free(r->container);
	free(r->path);
	r->base = r->container = r->path = NULL;
}

/* ---- building a request ---- */

struct remote_req {
	struct buf url;
	struct curl_slist *headers;
};

static void remote_req_release(struct remote_req *q)
{
	buf_release(&q->url);
	curl_slist_free_all(q->headers);
	q->headers = NULL;
}

static int remote_add_lines(struct remote_req *q, const char *const *lines)
{
	int rc = 0;

	for (size_t i = 0; !rc && lines[i]; i++)
		rc = http_slist_add(&q->headers, lines[i]);
	return rc;
}

/* S3: path-style under --s3-endpoint, else virtual-hosted at AWS. */
static int remote_s3_req(const struct remote *r, const char *key, const struct sigv4_pair *query,
			 size_t nquery, struct remote_req *q)
{
	const struct remote_config *c = r->cfg;
	const char *region = c->s3_region ? c->s3_region : "us-east-1";
	struct sigv4_creds cr = {c->creds.aws_access_key, c->creds.aws_secret_key,
				 c->creds.aws_session_token};
	struct sigv4_request sr = {
	    .method = "GET", .query = query, .nquery = nquery, .content_sha256_header = true};
	struct sigv4_pair host;
	struct sigv4_signed s = {.signature = ""};
	struct buf path;
	char hostbuf[512], date[17];
	int rc;

	buf_init(&path, REMOTE_URL_MAX);
	rc = c->s3_endpoint ? buf_addf(&path, "/%s%s%s", r->base, *key ? "/" : "", key)
			    : buf_addf(&path, "/%s", key);
	if (c->s3_endpoint)
		rc = rc ? rc : buf_adds(&q->url, c->s3_endpoint);
	else
		rc = rc ? rc : buf_addf(&q->url, "https://%s.s3.%s.amazonaws.com", r->base, region);
	http_url_host(buf_str(&q->url), hostbuf, sizeof(hostbuf));
	host = (struct sigv4_pair){"Host", hostbuf};
	sr.path = buf_str(&path);
	sr.headers = &host;
	sr.nheaders = 1;
	sigv4_now(date);
	rc = rc ? rc : sigv4_sign(&sr, &cr, region, "s3", date, &s);
	rc = rc ? rc : sigv4_encode(&q->url, buf_str(&path), true);
	if (!rc && s.query.len)
		rc = buf_addf(&q->url, "?%s", buf_str(&s.query));
	rc = rc ? rc : remote_add_lines(q, s.lines);
	sigv4_signed_release(&s);
	buf_release(&path);
	return rc;
}

/* Azure: x-ms headers, and a SAS token in the query or a Shared Key Authorization. */
static int remote_azure_auth(const struct remote *r, const char *url_path, const char *query_plain,
			     struct remote_req *q)
{
	char date[64], line[128];
	struct buf ms, sts, auth;
	time_t t = time(NULL);
	struct tm tm;
	int rc;

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	snprintf(line, sizeof(line), "x-ms-date: %s", date);
	rc = http_slist_add(&q->headers, line);
	rc = rc ? rc : http_slist_add(&q->headers, "x-ms-version: " AZAUTH_VERSION);
	if (rc || !r->cfg->creds.azure_key || r->cfg->creds.azure_sas)
		return rc;
	buf_init(&ms, 1024);
	buf_init(&sts, REMOTE_URL_MAX);
	buf_init(&auth, 1024);
	rc = buf_addf(&ms, "x-ms-date:%s\nx-ms-version:%s\n", date, AZAUTH_VERSION);
	rc = rc ? rc : azauth_string_to_sign("GET", buf_str(&ms), r->base, url_path, query_plain, &sts);
	rc = rc ? rc : buf_adds(&auth, "Authorization: ");
	rc = rc ? rc : azauth_header(r->base, r->cfg->creds.azure_key, buf_str(&sts), &auth);
	rc = rc ? rc : http_slist_add(&q->headers, buf_str(&auth));
	buf_release(&ms);
	buf_release(&sts);
	buf_release(&auth);
	return rc;
}

static int remote_azure_req(const struct remote *r, const char *key, const struct sigv4_pair *query,
			    size_t nquery, struct remote_req *q)
{
	const char *sas = r->cfg->creds.azure_sas;
	struct buf plain;
	int rc;

	buf_init(&plain, REMOTE_URL_MAX);
	if (r->cfg->azure_endpoint)
		rc = buf_adds(&q->url, r->cfg->azure_endpoint);
	else
		rc = buf_addf(&q->url, "https://%s.blob.core.windows.net", r->base);
	rc = rc ? rc : buf_addf(&q->url, "/%s%s", r->container, *key ? "/" : "");
	rc = rc ? rc : sigv4_encode(&q->url, key, true);
	for (size_t i = 0; !rc && i < nquery; i++) {
		rc = buf_addf(&q->url, "%c%s=", i ? '&' : '?', query[i].name);
		rc = rc ? rc : sigv4_encode(&q->url, query[i].value, false);
		rc = rc ? rc : buf_addf(&plain, "%s%s=%s", i ? "&" : "", query[i].name, query[i].value);
	}
	if (!rc && sas && *sas)
		rc = buf_addf(&q->url, "%c%s", nquery ? '&' : '?', sas[0] == '?' ? sas + 1 : sas);
	if (!rc) {
		const char *host = strstr(q->url.data, "://"), *at = host ? strchr(host + 3, '/') : NULL;
		char *path = strndup(at ? at : "/", strcspn(at ? at : "/", "?"));

		rc = path ? remote_azure_auth(r, path, buf_str(&plain), q) : SAQR_ENOMEM;
		free(path);
	}
	buf_release(&plain);
	return rc;
}

static int remote_build(const struct remote *r, const char *key, const struct sigv4_pair *query,
			size_t nquery, struct remote_req *q)
{
	buf_init(&q->url, REMOTE_URL_MAX);
	q->headers = NULL;
	if (r->kind == REMOTE_S3)
		return remote_s3_req(r, key, query, nquery, q);
	if (r->kind == REMOTE_AZURE)
		return remote_azure_req(r, key, query, nquery, q);
	return buf_adds(&q->url, r->base);
}

/* ---- one transfer ---- */

struct remote_xfer {
	CURL *h;
	remote_write_fn write;
	void *ctx;
	long status;
	bool stopped;
	struct buf errbody; /* the body of a non-2xx answer, for the message */
};

static size_t remote_write(char *p, size_t size, size_t n, void *arg)
{
	struct remote_xfer *x = arg;

	if (!x->status)
		curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->status);
	if (!http_status_ok(x->status)) {
		size_t room = REMOTE_ERRBODY_MAX - x->errbody.len; /* keep the start of a long body */

		(void)buf_add(&x->errbody, p, size * n < room ? size * n : room);
		return size * n;
	}
	if (x->write(x->ctx, p, size * n)) {
		x->stopped = true;
		return 0;
	}
	return size * n;
}

static void remote_encryption(CURL *h, struct remote_result *res)
{
	static const char *const names[] = {"x-amz-server-side-encryption", "x-ms-server-encrypted"};
	struct curl_header *hd;

	for (size_t i = 0; i < 2; i++)
		if (curl_easy_header(h, names[i], 0, CURLH_HEADER, -1, &hd) == CURLHE_OK) {
			snprintf(res->encrypted, sizeof(res->encrypted), "%s", hd->value);
			return;
		}
}

/* n bytes of XML text into out with its five named and numeric (&#34;) character references. */
static void remote_xml_unescape(const char *p, size_t n, char *out, size_t outlen)
{
	static const struct {
		const char *ref;
		char c;
	} refs[] = {{"&quot;", '"'}, {"&#34;", '"'}, {"&apos;", '\''}, {"&#39;", '\''},
		    {"&lt;", '<'},   {"&gt;", '>'},  {"&amp;", '&'}};
	size_t o = 0;

	for (size_t i = 0; i < n && o + 1 < outlen; o++) {
		size_t k = 0, len = 0;

		while (p[i] == '&' && k < sizeof(refs) / sizeof(refs[0]) &&
		       !(i + (len = strlen(refs[k].ref)) <= n && memcmp(p + i, refs[k].ref, len) == 0))
			k++;
		if (p[i] == '&' && k < sizeof(refs) / sizeof(refs[0])) {
			out[o] = refs[k].c;
			i += len;
		} else {
			out[o] = p[i++];
		}
	}
	if (outlen)
		out[o < outlen ? o : outlen - 1] = '\0';
}

/* The text of element tag in an S3 or Azure XML error body ("" when absent), into out. */
static void remote_xml_text(const char *body, const char *tag, char *out, size_t outlen)
{
	char open[32], close[32];
	const char *a, *b;

	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	a = strstr(body, open);
	b = a ? strstr(a, close) : NULL;
	out[0] = '\0';
	if (a && b)
		remote_xml_unescape(a + strlen(open), (size_t)(b - a) - strlen(open), out, outlen);
}

/* "HTTP 403: SignatureDoesNotMatch: The request signature ..." from an XML error body, else the
 * body's start as it is. */
static int remote_http_error(const char *host, long status, const char *body, char *err, size_t errlen)
{
	char code[128], msg[512];

	remote_xml_text(body, "Code", code, sizeof(code));
	remote_xml_text(body, "Message", msg, sizeof(msg));
	if (code[0])
		return saqr_fail(SAQR_EAPI, err, errlen, "%s: HTTP %ld: %s%s%s", host, status, code,
				 msg[0] ? ": " : "", msg);
	return saqr_fail(SAQR_EAPI, err, errlen, "%s: HTTP %ld: %.300s", host, status,
			 body[0] ? body
				 : (status == 403 ? "(no body; check the credentials and the region)" : ""));
}

static int remote_outcome(CURLcode cc, struct remote_xfer *x, const char *errbuf, const char *url,
			  struct remote_result *res, char *err, size_t errlen)
{
	char host[256];

	http_url_host(url, host, sizeof(host));
	if (x->stopped)
		return saqr_fail(SAQR_ECLOSED, err, errlen, "%s: transfer stopped", host);
	if (cc != CURLE_OK) {
		res->retryable = true;
		return saqr_fail(SAQR_ETRANSPORT, err, errlen, "%s: %s", host,
				 errbuf[0] ? errbuf : curl_easy_strerror(cc));
	}
	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &res->status);
	if (!http_status_ok(res->status)) {
		res->retryable = res->status == 429 || res->status >= 500;
		return remote_http_error(host, res->status, buf_str(&x->errbody), err, errlen);
	}
	remote_encryption(x->h, res);
	return 0;
}

static int remote_perform(const struct remote *r, struct remote_req *q, remote_write_fn write, void *ctx,
			  struct remote_result *res, char *err, size_t errlen)
{
	struct http_opts o = {.timeout_ms = r->cfg->timeout_ms ? r->cfg->timeout_ms : -1,
			      .user_agent = "saqr-fetch",
			      .tls.ca_file = r->cfg->ca_file};
	struct remote_xfer x = {.write = write, .ctx = ctx};
	struct http_sink unused = {.too_big = false};
	char errbuf[CURL_ERROR_SIZE] = "";
	CURLcode cc;
	int rc;

	memset(res, 0, sizeof(*res));
	if (http_global_init() || !(x.h = curl_easy_init()))
		return saqr_fail(SAQR_ENOMEM, err, errlen, "out of memory");
	buf_init(&x.errbody, REMOTE_ERRBODY_MAX);
	buf_init(&unused.body, 0);
	cc = http_setup(x.h, buf_str(&q->url), &o, q->headers, &unused, errbuf);
	cc = cc ? cc : curl_easy_setopt(x.h, CURLOPT_WRITEFUNCTION, remote_write);
	cc = cc ? cc : curl_easy_setopt(x.h, CURLOPT_WRITEDATA, &x);
	if (cc)
		rc = saqr_fail(SAQR_ECONFIG, err, errlen, "libcurl refused an option: %s",
			       curl_easy_strerror(cc));
	else
		rc = remote_outcome(curl_easy_perform(x.h), &x, errbuf, buf_str(&q->url), res, err, errlen);
	curl_easy_cleanup(x.h);
	buf_release(&x.errbody);
	buf_release(&unused.body);
	return rc;
}

int remote_get(const struct remote *r, const char *key, remote_write_fn write, void *ctx,
	       struct remote_result *res, char *err, size_t errlen)
{
	struct remote_req q;
	int rc = remote_build(r, key, NULL, 0, &q);

	if (rc)
		rc = saqr_fail(rc, err, errlen, "cannot build the request: %s", saqr_strerror(rc));
	else
		rc = remote_perform(r, &q, write, ctx, res, err, errlen);
	remote_req_release(&q);
	return rc;
}

/* ---- listings ---- */

void remote_list_release(struct remote_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].rel);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int remote_buf_write(void *ctx, const void *p, size_t n)
{
	return buf_add(ctx, p, n);
}

/* The text of the next <tag>...</tag> in [*pos, end), XML entities decoded, into out (cleared
 * first); *pos moves past it. false when there is none. */
static bool remote_xml_next(const char **pos, const char *end, const char *tag, struct buf *out)
{
	char open[64], close[64];
	const char *a, *b;

	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	a = memmem(*pos, (size_t)(end - *pos), open, strlen(open));
	if (!a)
		return false;
	a += strlen(open);
	b = memmem(a, (size_t)(end - a), close, strlen(close));
	if (!b)
		return false;
	buf_reset(out);
	for (const char *p = a; p < b; p++) {
		static const char *const ents[][2] = {
		    {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}};
		size_t k = 0;

		for (; *p == '&' && k < 5; k++)
			if (strncmp(p, ents[k][0], strlen(ents[k][0])) == 0)
				break;
		if (*p == '&' && k < 5) {
			(void)buf_adds(out, ents[k][1]);
			p += strlen(ents[k][0]) - 1;
		} else {
			(void)buf_add(out, p, 1);
		}
	}
	*pos = b + strlen(close);
	return true;
}

static int remote_list_add(const struct remote *r, struct remote_list *l, const char *key, const char *size)
{
	const char *rel = key + strlen(r->path);
	struct remote_object *o;

	if (strncmp(key, r->path, strlen(r->path)) != 0 || !*rel || key[strlen(key) - 1] == '/')
		return 0; /* not under the prefix, or a folder marker */
	if (!oms_path_ok(rel))
		return SAQR_EINVAL;
	if (l->n >= REMOTE_MAX_OBJECTS)
		return SAQR_ETOOBIG;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct remote_object *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return SAQR_ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	o = &l->v[l->n];
	o->key = strdup(key);
	o->rel = strdup(rel);
	o->size = strtoull(size, NULL, 10);
	l->n++;
	return o->key && o->rel ? 0 : SAQR_ENOMEM;
}

/* Read one page: each <item> block's <name_tag> and <size_tag>; the continuation in next. */
static int remote_list_page(const struct remote *r, const struct buf *page, const char *item,
			    const char *name_tag, const char *size_tag, const char *next_tag,
			    struct remote_list *l, struct buf *next)
{
	const char *pos = page->data ? page->data : "", *end = pos + page->len;
	struct buf block, name, size;
	int rc = 0;

	buf_init(&block, REMOTE_LIST_PAGE_MAX);
	buf_init(&name, OMS_MAX_PATH * 2);
	buf_init(&size, 64);
	while (!rc && remote_xml_next(&pos, end, item, &block)) {
		const char *bp = buf_str(&block), *be = bp + block.len, *bp2 = bp;

		if (remote_xml_next(&bp, be, name_tag, &name) && remote_xml_next(&bp2, be, size_tag, &size))
			rc = remote_list_add(r, l, buf_str(&name), buf_str(&size));
	}
	pos = page->data ? page->data : "";
	if (!remote_xml_next(&pos, end, next_tag, next))
		buf_reset(next);
	buf_release(&block);
	buf_release(&name);
	buf_release(&size);
	return rc;
}

int remote_list_objects(const struct remote *r, struct remote_list *list, char *err, size_t errlen)
{
	struct buf page, next;
	struct remote_result res;
	int rc = 0;

	if (r->kind == REMOTE_HTTPS)
		return saqr_fail(SAQR_EINVAL, err, errlen,
				 "an https:// URL names one file; it cannot be listed");
	buf_init(&page, REMOTE_LIST_PAGE_MAX);
	buf_init(&next, 4096);
	do {
		struct sigv4_pair s3q[] = {
		    {"list-type", "2"}, {"prefix", r->path}, {"continuation-token", next.data}};
		struct sigv4_pair azq[] = {
		    {"restype", "container"}, {"comp", "list"}, {"prefix", r->path}, {"marker", next.data}};
		bool s3 = r->kind == REMOTE_S3;
		struct remote_req q;

		buf_reset(&page);
		rc = remote_build(r, "", s3 ? s3q : azq, (s3 ? 2 : 3) + (next.len ? 1 : 0), &q);
		if (!rc)
			rc = remote_perform(r, &q, remote_buf_write, &page, &res, err, errlen);
		else
			saqr_errf(err, errlen, "cannot build the listing request: %s", saqr_strerror(rc));
		remote_req_release(&q);
		if (!rc && (rc = remote_list_page(r, &page, s3 ? "Contents" : "Blob", s3 ? "Key" : "Name",
						  s3 ? "Size" : "Content-Length",
						  s3 ? "NextContinuationToken" : "NextMarker", list, &next)))
			saqr_errf(err, errlen, "listing %s: %s", r->path,
				  rc == SAQR_EINVAL ? "an object name a manifest cannot hold"
						    : saqr_strerror(rc));
	} while (!rc && next.len);
	buf_release(&page);
	buf_release(&next);
	if (!rc && list->n == 0)
		rc = saqr_fail(SAQR_ENOTFOUND, err, errlen, "no objects under the prefix \"%s\"", r->path);
	return rc;
}
