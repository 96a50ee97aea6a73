/* The outbound HTTP client: one libcurl handle set-up (TLS, timeouts, capped body) shared by
 * http_do and by the Kubernetes client, the mapping of curl's outcome to SAQR_E* codes, and the
 * header helpers (bearer, basic) the callers need. */
#include "http/http.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"

#define HTTP_CRED_MAX ((size_t)16 * 1024) /* user:password before encoding */

static pthread_once_t http_once = PTHREAD_ONCE_INIT;
static CURLcode http_init_rc;

static void http_global_init_once(void)
{
	http_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int http_global_init(void)
{
	pthread_once(&http_once, http_global_init_once);
	return http_init_rc == CURLE_OK ? 0 : SAQR_ENOMEM;
}

int http_slist_add(struct curl_slist **l, const char *line)
{
	struct curl_slist *n = curl_slist_append(*l, line);

	if (!n)
		return SAQR_ENOMEM;
	*l = n;
	return 0;
}

/* ---- handle set-up ---- */

static CURLcode http_blob(CURL *h, CURLoption opt, const char *pem, size_t len)
{
	struct curl_blob b = {.data = (void *)pem, .len = len ? len : strlen(pem), .flags = CURL_BLOB_COPY};

	return curl_easy_setopt(h, opt, &b);
}

/* Whom to trust: the given bundle only (not the system CA directory) when there is one. */
static CURLcode http_setup_trust(CURL *h, const struct http_tls *t)
{
	CURLcode cc = CURLE_OK;

	if (t->insecure) {
		cc = curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		cc = cc ? cc : curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	} else if (t->skip_hostname) {
		cc = curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (!cc && t->ca_pem)
		cc = http_blob(h, CURLOPT_CAINFO_BLOB, t->ca_pem, t->ca_len);
	else if (!cc && t->ca_file)
		cc = curl_easy_setopt(h, CURLOPT_CAINFO, t->ca_file);
	if (!cc && (t->ca_pem || t->ca_file))
		cc = curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
	return cc;
}

/* Who we are: a client certificate and key, from memory or files. */
static CURLcode http_setup_identity(CURL *h, const struct http_tls *t)
{
	CURLcode cc = CURLE_OK;

	if (t->cert_pem)
		cc = http_blob(h, CURLOPT_SSLCERT_BLOB, t->cert_pem, 0);
	else if (t->cert_file)
		cc = curl_easy_setopt(h, CURLOPT_SSLCERT, t->cert_file);
	if (!cc && t->key_pem)
		cc = http_blob(h, CURLOPT_SSLKEY_BLOB, t->key_pem, 0);
	else if (!cc && t->key_file)
		cc = curl_easy_setopt(h, CURLOPT_SSLKEY, t->key_file);
	if (!cc && (t->cert_pem || t->cert_file))
		cc = curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
	if (!cc && (t->key_pem || t->key_file))
		cc = curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
	return cc;
}

/* Timeouts, keepalive and compression. */
static CURLcode http_setup_conn(CURL *h, const struct http_opts *o)
{
	long total = o->timeout_ms ? o->timeout_ms : HTTP_TIMEOUT_MS;
	CURLcode cc;

	cc = curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
			      o->connect_timeout_ms > 0 ? o->connect_timeout_ms : HTTP_CONNECT_TIMEOUT_MS);
	cc = cc ? cc : curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, total > 0 ? total : 0L);
	if (!cc && o->keepalive) {
		cc = curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
		cc = cc ? cc : curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 30L);
		cc = cc ? cc : curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 15L);
	}
	if (!cc && o->compressed)
		cc = curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	return cc;
}

/* The outbound policy: every connection's address checked as it is opened; no proxy (the
 * address checked must be the one the request goes to). */
static CURLcode http_setup_net(CURL *h, const struct http_netpolicy *net, struct http_sink *sink)
{
	CURLcode cc;

	sink->net = net;
	sink->refused[0] = '\0';
	if (!net)
		return CURLE_OK;
	cc = curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, http__netpolicy_open);
	cc = cc ? cc : curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, sink);
	return cc ? cc : curl_easy_setopt(h, CURLOPT_PROXY, "");
}

CURLcode http_setup(CURL *h, const char *url, const struct http_opts *opts, struct curl_slist *hdrs,
		    struct http_sink *sink, char *errbuf)
{
	static const struct http_opts defaults;
	const struct http_opts *o = opts ? opts : &defaults;
	CURLcode cc;

	sink->body.max = o->max_body ? o->max_body : HTTP_MAX_BODY;
	cc = curl_easy_setopt(h, CURLOPT_URL, url);
	cc = cc ? cc : curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https,http");
	cc = cc ? cc : curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	cc = cc ? cc : curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	cc = cc ? cc : curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	cc = cc ? cc : curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_sink_write);
	cc = cc ? cc : curl_easy_setopt(h, CURLOPT_WRITEDATA, sink);
	if (!cc && o->user_agent)
		cc = curl_easy_setopt(h, CURLOPT_USERAGENT, o->user_agent);
	cc = cc ? cc : http_setup_conn(h, o);
	cc = cc ? cc : http_setup_net(h, o->net, sink);
	cc = cc ? cc : http_setup_trust(h, &o->tls);
	return cc ? cc : http_setup_identity(h, &o->tls);
}

CURLcode http_setup_method(CURL *h, const char *method, const char *body, size_t body_len)
{
	bool wants_body;
	CURLcode cc;

	if (!method || strcmp(method, "GET") == 0)
		return curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	if (strcmp(method, "HEAD") == 0)
		return curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	wants_body = strcmp(method, "DELETE") != 0;
	cc = curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (!cc && (body || wants_body))
		cc = curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	if (!cc && (body || wants_body))
		cc = curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
	return cc;
}

size_t http_sink_write(char *p, size_t size, size_t n, void *sink)
{
	struct http_sink *s = sink;

	if (buf_add(&s->body, p, size * n)) {
		s->too_big = true;
		return 0; /* curl stops with CURLE_WRITE_ERROR */
	}
	return size * n;
}

int http_outcome(CURLcode cc, const struct http_sink *sink, const char *errbuf, char *err, size_t errlen)
{
	if (sink->too_big)
		return saqr_fail(SAQR_ETOOBIG, err, errlen, "response body exceeds %zu bytes",
				 sink->body.max);
	if (cc != CURLE_OK && sink->refused[0])
		return saqr_fail(SAQR_EFORBIDDEN, err, errlen, "%s", sink->refused);
	if (cc != CURLE_OK)
		return saqr_fail(SAQR_ETRANSPORT, err, errlen, "%s",
				 errbuf && errbuf[0] ? errbuf : curl_easy_strerror(cc));
	return 0;
}

/* ---- one request ---- */

static int http_header_list(const char *const *lines, struct curl_slist **out)
{
	struct curl_slist *l = NULL;
	int rc = http_slist_add(&l, "Expect:");

	for (size_t i = 0; !rc && lines && lines[i]; i++)
		rc = http_slist_add(&l, lines[i]);
	if (rc) {
		curl_slist_free_all(l);
		return rc;
	}
	*out = l;
	return 0;
}

/* Copy the final response's headers into r. */
static int http_keep_headers(CURL *h, struct http_response *r)
{
	struct curl_header *prev = NULL, *hd;

	r->headers = calloc(HTTP_MAX_HEADERS, sizeof(*r->headers));
	if (!r->headers)
		return SAQR_ENOMEM;
	while (r->nheaders < HTTP_MAX_HEADERS && (hd = curl_easy_nextheader(h, CURLH_HEADER, -1, prev))) {
		struct http_header *k = &r->headers[r->nheaders];

		k->name = strdup(hd->name);
		k->value = strdup(hd->value);
		r->nheaders++;
		if (!k->name || !k->value)
			return SAQR_ENOMEM;
		prev = hd;
	}
	return 0;
}

/* Run the prepared handle; on success *out gets the status, the body and the headers. */
static int http_run(CURL *h, struct http_sink *sink, const char *errbuf, struct http_response **out,
		    char *err, size_t errlen)
{
	struct http_response *r;
	int rc = http_outcome(curl_easy_perform(h), sink, errbuf, err, errlen);

	if (rc)
		return rc;
	r = calloc(1, sizeof(*r));
	if (!r)
		return SAQR_ENOMEM;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	rc = http_keep_headers(h, r);
	if (rc) {
		http_response_free(r);
		return rc;
	}
	r->body = sink->body;
	buf_init(&sink->body, 0);
	*out = r;
	return 0;
}

/* "<host>: " before the message already in err. */
static void http_prefix_host(const char *url, char *err, size_t errlen)
{
	char host[256], msg[CURL_ERROR_SIZE + 64];

	if (!err || !errlen)
		return;
	http_url_host(url, host, sizeof(host));
	snprintf(msg, sizeof(msg), "%s", err);
	snprintf(err, errlen, "%s: %s", host, msg);
}

/* A request with a credential (marked, or an Authorization header) over plain http://. */
static bool http_cleartext_credential(const struct http_request *req)
{
	bool cred = req->credential;

	for (size_t i = 0; !cred && req->headers && req->headers[i]; i++)
		cred = strncasecmp(req->headers[i], "Authorization:", 14) == 0 ||
		       strncasecmp(req->headers[i], "Proxy-Authorization:", 20) == 0;
	return cred && strncasecmp(req->url, "https://", 8) != 0;
}

/* What the outbound policy refuses before any connection: a credential in clear text. */
static int http_precheck(const struct http_request *req, const struct http_opts *opts, char *err,
			 size_t errlen)
{
	char host[256];

	if (!opts || !opts->net || opts->net->allow_insecure_credentials || !http_cleartext_credential(req))
		return 0;
	http_url_host(req->url, host, sizeof(host));
	return saqr_fail(SAQR_EFORBIDDEN, err, errlen,
			 "%s: refusing to send a credential over plain http:// (use https://)", host);
}

int http_do(const struct http_request *req, const struct http_opts *opts, struct http_response **out,
	    char *err, size_t errlen)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct http_sink sink = {.too_big = false};
	struct curl_slist *hdrs = NULL;
	size_t len;
	CURL *h = NULL;
	int rc;

	if (!req || !req->url || !*req->url)
		return saqr_fail(SAQR_EINVAL, err, errlen, "http: no URL");
	rc = http_precheck(req, opts, err, errlen);
	if (rc)
		return rc;
	rc = http_global_init();
	rc = rc ? rc : http_header_list(req->headers, &hdrs);
	if (rc)
		return saqr_fail(rc, err, errlen, "http: %s", saqr_strerror(rc));
	buf_init(&sink.body, 0);
	len = req->body && !req->body_len ? strlen(req->body) : req->body_len;
	h = curl_easy_init();
	if (!h) {
		rc = saqr_fail(SAQR_ENOMEM, err, errlen, "http: %s", saqr_strerror(SAQR_ENOMEM));
		goto out;
	}
	if (http_setup(h, req->url, opts, hdrs, &sink, errbuf) ||
	    http_setup_method(h, req->method, req->body, len)) {
		rc = saqr_fail(SAQR_ECONFIG, err, errlen,
			       "libcurl refused an option (TLS blobs need curl >= 7.77)");
		goto out;
	}
	rc = http_run(h, &sink, errbuf, out, err, errlen);
	if (rc)
		http_prefix_host(req->url, err, errlen);
out:
	curl_easy_cleanup(h);
	curl_slist_free_all(hdrs);
	buf_release(&sink.body);
	return rc;
}

void http_response_free(struct http_response *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nheaders; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	buf_release(&r->body);
	free(r);
}

const char *http_response_header(const struct http_response *r, const char *name)
{
	for (size_t i = 0; r && name && i < r->nheaders; i++)
		if (r->headers[i].name && strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

bool http_status_ok(long status)
{
	return status >= 200 && status <= 299;
}

/* ---- header helpers ---- */

bool http_header_value_ok(const char *v)
{
	for (; v && *v; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			return false;
	return v != NULL;
}

int http_auth_bearer(const char *token, struct buf *v)
{
	if (!http_header_value_ok(token))
		return SAQR_EINVAL;
	return buf_addf(v, "Bearer %s", token);
}

int http_auth_basic(const char *user, const char *password, struct buf *v)
{
	struct buf plain;
	unsigned char *enc = NULL;
	size_t enclen = 0;
	int rc, n;

	buf_init(&plain, HTTP_CRED_MAX);
	rc = buf_addf(&plain, "%s:%s", user ? user : "", password ? password : "");
	if (!rc) {
		enclen = 4 * (plain.len / 3 + 1) + 1;
		enc = malloc(enclen);
		rc = enc ? 0 : SAQR_ENOMEM;
	}
	if (!rc) {
		n = EVP_EncodeBlock(enc, (const unsigned char *)buf_str(&plain), (int)plain.len);
		rc = n < 0 ? SAQR_ENOMEM : buf_addf(v, "Basic %.*s", n, (const char *)enc);
	}
	if (enc)
		OPENSSL_cleanse(enc, enclen);
	free(enc);
	if (plain.data)
		OPENSSL_cleanse(plain.data, plain.len);
	buf_release(&plain);
	return rc;
}

int http_add_escaped(struct buf *b, const char *s)
{
	char *esc = curl_easy_escape(NULL, s ? s : "", 0);
	int rc;

	if (!esc)
		return SAQR_ENOMEM;
	rc = buf_adds(b, esc);
	curl_free(esc);
	return rc;
}

void http_url_host(const char *url, char *out, size_t outlen)
{
	const char *h = url ? strstr(url, "://") : NULL;
	const char *at;
	size_t n;

	h = h ? h + 3 : (url ? url : "");
	n = strcspn(h, "/?#");
	at = memchr(h, '@', n);
	if (at) {
		n -= (size_t)(at + 1 - h);
		h = at + 1;
	}
	snprintf(out, outlen, "%.*s", (int)n, h);
}
