/* The Kubernetes REST client: libcurl easy handles kept in a mutex-guarded pool (each keeps its
 * connection alive between calls) and set up by http/http.c (TLS from files or in-memory PEM
 * blobs, timeouts, capped bodies), bearer tokens that follow a rotating tokenFile, and API
 * errors mapped by kube/status.c. */
#include "kube/client.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "common/err.h"
#include "http/http.h"
#include "kube/pages.h"
#include "kube/status.h"
#include "kube/url.h"
#include "kube/watch.h"

#define KUBE_POOL_MAX 16 /* idle handles kept; more threads get temporary ones */
#define KUBE_CONNECT_TIMEOUT_MS 15000L
#define KUBE_REQUEST_TIMEOUT_MS 120000L /* whole exchange; not for watches */
#define KUBE_URL_MAX ((size_t)64 * 1024)
#define KUBE_TOKEN_MAX ((size_t)64 * 1024)
#define KUBE_ERROR_BODY_MAX ((size_t)256 * 1024) /* a failed watch's Status body */
#define KUBE_WATCH_POLL_MS 100			 /* how often a watch looks at its stop flag */
#define KUBE_WATCH_IDLE_DEFAULT 3600L		 /* the server closes watches within 1 h by default */
#define KUBE_WATCH_IDLE_SLACK 60L
#define KUBE_USER_AGENT "saqr/0.1"

/* The bearer token of a tokenFile, re-read whenever the file changes (rotation). */
struct kube_token {
	pthread_mutex_t mu;
	char *value;	  /* last token read from the file, or NULL */
	struct stat seen; /* the file when value was read */
};

struct kube_client {
	struct kube_config *cfg; /* own copy */
	pthread_mutex_t pool_mu;
	CURL *idle[KUBE_POOL_MAX];
	size_t nidle;
	struct kube_token tok;
};

/* One HTTP exchange's receiving side. */
struct kube_xfer {
	CURL *h;
	struct http_sink sink;		  /* the response (or, for a watch, a failure's body) */
	struct kube_watch_parser *parser; /* watches only */
	int watch_rc;			  /* what stopped the parser */
	atomic_bool *stop;
};

/* What to send. */
struct kube_call {
	const char *method;
	const char *path;	  /* with query */
	const char *content_type; /* NULL when there is no body */
	const char *body;
	size_t body_len;
};

/* ---- client lifetime ---- */

static int kube_dup(const char *s, char **out)
{
	*out = s ? strdup(s) : NULL;
	return (s && !*out) ? SAQR_ENOMEM : 0;
}

static int kube_config_copy(const struct kube_config *src, struct kube_config **out)
{
	struct kube_config *d = calloc(1, sizeof(*d));
	int rc;

	if (!d)
		return SAQR_ENOMEM;
	rc = kube_dup(src->server, &d->server);
	rc = rc ? rc : kube_dup(src->namespace ? src->namespace : "default", &d->namespace);
	rc = rc ? rc : kube_dup(src->ca_file, &d->ca_file);
	rc = rc ? rc : kube_dup(src->ca_pem, &d->ca_pem);
	rc = rc ? rc : kube_dup(src->cert_file, &d->cert_file);
	rc = rc ? rc : kube_dup(src->cert_pem, &d->cert_pem);
	rc = rc ? rc : kube_dup(src->key_file, &d->key_file);
	rc = rc ? rc : kube_dup(src->key_pem, &d->key_pem);
	rc = rc ? rc : kube_dup(src->token, &d->token);
	rc = rc ? rc : kube_dup(src->token_file, &d->token_file);
	d->insecure_skip_tls_verify = src->insecure_skip_tls_verify;
	if (rc) {
		kube_config_free(d);
		return rc;
	}
	*out = d;
	return 0;
}

int kube_client_new(const struct kube_config *cfg, struct kube_client **out)
{
	struct kube_client *c;
	int rc;

	if (!cfg || !cfg->server || !*cfg->server || (cfg->token && !http_header_value_ok(cfg->token)))
		return SAQR_ECONFIG;
	if (http_global_init())
		return SAQR_ENOMEM;
	c = calloc(1, sizeof(*c));
	if (!c)
		return SAQR_ENOMEM;
	rc = kube_config_copy(cfg, &c->cfg);
	if (rc) {
		free(c);
		return rc;
	}
	pthread_mutex_init(&c->pool_mu, NULL);
	pthread_mutex_init(&c->tok.mu, NULL);
	*out = c;
	return 0;
}

void kube_client_free(struct kube_client *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nidle; i++)
		curl_easy_cleanup(c->idle[i]);
	pthread_mutex_destroy(&c->pool_mu);
	pthread_mutex_destroy(&c->tok.mu);
	free(c->tok.value);
	kube_config_free(c->cfg);
	free(c);
}

/* ---- handle pool ---- */

static CURL *kube_pool_get(struct kube_client *c)
{
	CURL *h = NULL;

	pthread_mutex_lock(&c->pool_mu);
	if (c->nidle)
		h = c->idle[--c->nidle];
	pthread_mutex_unlock(&c->pool_mu);
	return h ? h : curl_easy_init();
}

/* Return h to the pool. The reset drops every pointer into the finished call (error buffer,
 * headers, callbacks' data) but keeps the connection alive for the next call. */
static void kube_pool_put(struct kube_client *c, CURL *h)
{
	if (!h)
		return;
	curl_easy_reset(h);
	pthread_mutex_lock(&c->pool_mu);
	if (c->nidle < KUBE_POOL_MAX) {
		c->idle[c->nidle++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&c->pool_mu);
	curl_easy_cleanup(h);
}

/* ---- authentication ---- */

static bool kube_file_changed(const struct stat *a, const struct stat *b)
{
	return a->st_ino != b->st_ino || a->st_dev != b->st_dev || a->st_size != b->st_size ||
	       a->st_mtim.tv_sec != b->st_mtim.tv_sec || a->st_mtim.tv_nsec != b->st_mtim.tv_nsec;
}

/* Read the token file into a new string, trimmed; NULL when unreadable, empty or malformed. */
static char *kube_token_read(const char *path)
{
	char chunk[4096];
	struct buf b;
	size_t n;
	FILE *f = fopen(path, "re");

	if (!f)
		return NULL;
	buf_init(&b, KUBE_TOKEN_MAX);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_add(&b, chunk, n))
			break;
	if (ferror(f) || !feof(f))
		buf_release(&b);
	fclose(f);
	while (b.len && strchr(" \t\r\n", b.data[b.len - 1]))
		b.data[--b.len] = '\0';
	if (b.len == 0 || !http_header_value_ok(b.data)) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b);
}

/* Refresh c->tok from the file when it changed. Called with tok.mu held. */
static void kube_token_refresh(struct kube_client *c)
{
	struct stat sb;
	char *fresh;

	if (stat(c->cfg->token_file, &sb) != 0)
		return;
	if (c->tok.value && !kube_file_changed(&sb, &c->tok.seen))
		return;
	fresh = kube_token_read(c->cfg->token_file);
	if (!fresh)
		return; /* keep the last good token; the server will say if it expired */
	free(c->tok.value);
	c->tok.value = fresh;
	c->tok.seen = sb;
}

/* "Authorization: Bearer <token>" into line. */
static int kube_bearer_line(const char *token, struct buf *line)
{
	int rc = buf_adds(line, "Authorization: ");

	return rc ? rc : http_auth_bearer(token, line);
}

/* Append "Authorization: Bearer ..." when the config has a token. */
static int kube_auth_header(struct kube_client *c, struct buf *line, struct kube_status *st)
{
	const char *token = c->cfg->token;
	int rc = 0;

	if (!c->cfg->token_file)
		return (token && *token) ? kube_bearer_line(token, line) : 0;
	pthread_mutex_lock(&c->tok.mu);
	kube_token_refresh(c);
	if (c->tok.value)
		token = c->tok.value;
	if (token && *token)
		rc = kube_bearer_line(token, line);
	else
		rc = SAQR_ECONFIG;
	pthread_mutex_unlock(&c->tok.mu);
	if (rc == SAQR_ECONFIG)
		kube_status_set(st, 0, "tokenFile %s: no readable token", c->cfg->token_file);
	return rc;
}

/* The request's header lines: Accept, no Expect, Authorization, Content-Type. */
static int kube_headers(struct kube_client *c, const char *content_type, struct curl_slist **out,
			struct kube_status *st)
{
	struct curl_slist *l = NULL;
	struct buf auth, ct;
	int rc;

	buf_init(&auth, KUBE_TOKEN_MAX + 64);
	buf_init(&ct, 256);
	rc = kube_auth_header(c, &auth, st);
	if (!rc && content_type)
		rc = buf_addf(&ct, "Content-Type: %s", content_type);
	if (!rc)
		rc = http_slist_add(&l, "Accept: application/json");
	if (!rc)
		rc = http_slist_add(&l, "Expect:");
	if (!rc && auth.len)
		rc = http_slist_add(&l, auth.data);
	if (!rc && ct.len)
		rc = http_slist_add(&l, ct.data);
	buf_release(&auth);
	buf_release(&ct);
	if (rc) {
		curl_slist_free_all(l);
		return rc;
	}
	*out = l;
	return 0;
}

/* ---- one exchange ---- */

/* The handle options both exchanges and watches share: TLS and identity from the config,
 * the connect timeout, keepalive, the user agent and the body cap (http/http.c). */
static void kube_http_opts(const struct kube_config *cfg, struct http_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->tls.ca_pem = cfg->ca_pem;
	o->tls.ca_file = cfg->ca_file;
	o->tls.cert_pem = cfg->cert_pem;
	o->tls.cert_file = cfg->cert_file;
	o->tls.key_pem = cfg->key_pem;
	o->tls.key_file = cfg->key_file;
	o->tls.insecure = cfg->insecure_skip_tls_verify;
	o->connect_timeout_ms = KUBE_CONNECT_TIMEOUT_MS;
	o->timeout_ms = KUBE_REQUEST_TIMEOUT_MS;
	o->max_body = KUBE_MAX_RESPONSE_BODY;
	o->user_agent = KUBE_USER_AGENT;
	o->compressed = true;
	o->keepalive = true;
}

/* A watch's events go to its parser while the answer is 200; anything else (a failure's
 * Status) is kept, capped, like any response. */
static size_t kube_watch_write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct kube_xfer *x = ud;
	size_t n = size * nmemb;
	long code = 0;

	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
	if (code == 200) {
		x->watch_rc = kube_watch_parser_feed(x->parser, ptr, n);
		return x->watch_rc ? 0 : n;
	}
	return http_sink_write(ptr, size, nmemb, &x->sink);
}

static const char *kube_retry_after(CURL *h)
{
	struct curl_header *hdr = NULL;

	if (curl_easy_header(h, "Retry-After", 0, CURLH_HEADER, -1, &hdr) != CURLHE_OK || !hdr)
		return NULL;
	return hdr->value;
}

/* Map what curl and the server said into a SAQR_E* code and st. */
static int kube_result(const struct kube_xfer *x, CURLcode cc, const char *errbuf, struct kube_status *st)
{
	char msg[CURL_ERROR_SIZE + 64];
	long code = 0;
	int rc;

	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
	rc = http_outcome(cc, &x->sink, errbuf, msg, sizeof(msg));
	if (rc) {
		kube_status_set(st, rc == SAQR_ETOOBIG ? (int)code : 0, "%s", msg);
		return rc;
	}
	return kube_status_from_response(code, buf_str(&x->sink.body), x->sink.body.len,
					 kube_retry_after(x->h), st);
}

static int kube_parse_body(const struct kube_xfer *x, json_t **out, struct kube_status *st)
{
	json_error_t je;
	json_t *v;

	if (x->sink.body.len == 0) {
		*out = json_null();
		return 0;
	}
	v = json_loadb(x->sink.body.data, x->sink.body.len, 0, &je);
	if (!v) {
		kube_status_set(st, st ? st->http_code : 0, "response is not JSON: line %d column %d: %s",
				je.line, je.column, je.text);
		return SAQR_EPARSE;
	}
	*out = v;
	return 0;
}

static int kube_url(const struct kube_client *c, const char *path, struct buf *url, struct kube_status *st)
{
	if (!path || path[0] != '/') {
		kube_status_set(st, 0, "request path must start with '/'");
		return SAQR_EINVAL;
	}
	buf_init(url, KUBE_URL_MAX);
	if (buf_addf(url, "%s%s", c->cfg->server, path)) {
		buf_release(url);
		kube_status_set(st, 0, "request URL exceeds %zu bytes", KUBE_URL_MAX);
		return SAQR_ETOOBIG;
	}
	return 0;
}

static int kube_perform(struct kube_client *c, const struct kube_call *call, json_t **out,
			struct kube_status *st)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct kube_xfer x = {0};
	struct curl_slist *hdrs = NULL;
	struct http_opts o;
	struct buf url;
	int rc;

	kube_status_clear(st);
	rc = kube_url(c, call->path, &url, st);
	if (rc)
		return rc;
	rc = kube_headers(c, call->content_type, &hdrs, st);
	if (rc)
		goto out_url;
	buf_init(&x.sink.body, KUBE_MAX_RESPONSE_BODY);
	kube_http_opts(c->cfg, &o);
	x.h = kube_pool_get(c);
	if (!x.h) {
		rc = SAQR_ENOMEM;
		goto out;
	}
	if (http_setup(x.h, url.data, &o, hdrs, &x.sink, errbuf) ||
	    http_setup_method(x.h, call->method, call->body, call->body_len)) {
		kube_status_set(st, 0,
				"libcurl refused an option (TLS blobs need curl >= 7.77 with OpenSSL)");
		rc = SAQR_ECONFIG;
		goto out;
	}
	rc = kube_result(&x, curl_easy_perform(x.h), errbuf, st);
	if (!rc && out)
		rc = kube_parse_body(&x, out, st);
out:
	kube_pool_put(c, x.h);
	buf_release(&x.sink.body);
	curl_slist_free_all(hdrs);
out_url:
	buf_release(&url);
	return rc;
}

int kube_request(struct kube_client *c, const char *method, const char *path, const char *content_type,
		 const char *body, size_t body_len, json_t **out, struct kube_status *st)
{
	struct kube_call call = {method, path, content_type, body, body_len};

	if (!c || !method || !*method) {
		kube_status_set(st, 0, "kube_request: missing client or method");
		return SAQR_EINVAL;
	}
	if (body_len > KUBE_MAX_REQUEST_BODY) {
		kube_status_set(st, 0, "request body of %zu bytes exceeds %zu bytes", body_len,
				KUBE_MAX_REQUEST_BODY);
		return SAQR_ETOOBIG;
	}
	return kube_perform(c, &call, out, st);
}

/* ---- typed calls ---- */

/* The resource (or collection) path into b, capped at KUBE_URL_MAX. */
static int kube_path(const struct kube_resource *res, const char *ns, const char *name, const char *sub,
		     struct buf *b, struct kube_status *st)
{
	char path[2048];
	int rc;

	buf_init(b, KUBE_URL_MAX);
	rc = kube_resource_path(res, ns, name, sub, path, sizeof(path));
	if (!rc)
		rc = buf_adds(b, path);
	if (rc) {
		buf_release(b);
		kube_status_set(st, 0, "cannot build a path for %s/%s (%s)",
				res && res->resource ? res->resource : "?", name ? name : "",
				saqr_strerror(rc));
	}
	return rc;
}

struct kube_dump {
	struct buf *b;
	int rc;
};

static int kube_dump_cb(const char *buffer, size_t size, void *data)
{
	struct kube_dump *d = data;

	d->rc = buf_add(d->b, buffer, size);
	return d->rc ? -1 : 0;
}

/* Serialise v into b, refusing bodies over KUBE_MAX_REQUEST_BODY. */
static int kube_dump_body(const json_t *v, struct buf *b, struct kube_status *st)
{
	struct kube_dump d = {b, 0};

	buf_init(b, KUBE_MAX_REQUEST_BODY);
	if (json_dump_callback(v, kube_dump_cb, &d, JSON_COMPACT) == 0)
		return 0;
	buf_release(b);
	if (d.rc == SAQR_ETOOBIG) {
		kube_status_set(st, 0, "request body exceeds %zu bytes", KUBE_MAX_REQUEST_BODY);
		return SAQR_ETOOBIG;
	}
	kube_status_set(st, 0, "request body cannot be serialised");
	return d.rc ? d.rc : SAQR_EINVAL;
}

/* Send v as JSON with content_type to path. */
static int kube_send_json(struct kube_client *c, const char *method, const char *path,
			  const char *content_type, const json_t *v, json_t **out, struct kube_status *st)
{
	struct buf body = {0};
	int rc = kube_dump_body(v, &body, st);

	if (rc)
		return rc;
	rc = kube_request(c, method, path, content_type, body.data, body.len, out, st);
	buf_release(&body);
	return rc;
}

int kube_get(struct kube_client *c, const struct kube_resource *res, const char *ns, const char *name,
	     json_t **out, struct kube_status *st)
{
	struct buf path;
	int rc;

	if (!name || !*name) {
		kube_status_set(st, 0, "kube_get: a name is required");
		return SAQR_EINVAL;
	}
	rc = kube_path(res, ns, name, NULL, &path, st);
	if (rc)
		return rc;
	rc = kube_request(c, "GET", path.data, NULL, NULL, 0, out, st);
	buf_release(&path);
	return rc;
}

int kube_list(struct kube_client *c, const struct kube_resource *res, const char *ns,
	      const struct kube_list_opts *opts, json_t **out, struct kube_status *st)
{
	struct buf path;
	int rc = kube_path(res, ns, NULL, NULL, &path, st);

	if (rc)
		return rc;
	rc = kube_url_list_query(&path, opts);
	if (rc)
		kube_status_set(st, 0, "list query exceeds %zu bytes", KUBE_URL_MAX);
	else
		rc = kube_request(c, "GET", path.data, NULL, NULL, 0, out, st);
	buf_release(&path);
	return rc;
}

/* Replace *token with a copy of next (NULL ends the walk). */
static int kube_next_token(char **token, const char *next)
{
	char *dup = next ? strdup(next) : NULL;

	if (next && !dup)
		return SAQR_ENOMEM;
	free(*token);
	*token = dup;
	return 0;
}

int kube_list_all(struct kube_client *c, const struct kube_resource *res, const char *ns,
		  const struct kube_list_opts *opts, json_t **out, struct kube_status *st)
{
	struct kube_list_opts page = {0};
	json_t *acc = NULL, *one = NULL;
	char *token = NULL;
	long pages = 0;
	int rc;

	if (opts)
		page = *opts;
	do {
		if (++pages > KUBE_MAX_LIST_PAGES) {
			kube_status_set(st, 200, "list has more than %d pages", KUBE_MAX_LIST_PAGES);
			rc = SAQR_ETOOBIG;
			break;
		}
		rc = kube_list(c, res, ns, &page, &one, st);
		rc = rc ? rc : kube_pages_merge(&acc, one);
		rc = rc ? rc : kube_next_token(&token, kube_pages_continue(one));
		json_decref(one);
		one = NULL;
		page.continue_token = token;
		page.resource_version = NULL; /* a continue token carries the version */
	} while (!rc && token);
	free(token);
	if (rc)
		json_decref(acc);
	else if (out)
		*out = acc;
	else
		json_decref(acc);
	return rc;
}

/* path for a write, with its query (fieldManager, force, dryRun). */
static int kube_write_path(const struct kube_resource *res, const char *ns, const char *name,
			   const struct kube_write_opts *opts, bool apply, struct buf *path,
			   struct kube_status *st)
{
	int rc = kube_path(res, ns, name, opts ? opts->subresource : NULL, path, st);

	if (rc)
		return rc;
	rc = kube_url_write_query(path, opts, apply);
	if (rc) {
		buf_release(path);
		kube_status_set(st, 0, "write query exceeds %zu bytes", KUBE_URL_MAX);
	}
	return rc;
}

int kube_create(struct kube_client *c, const struct kube_resource *res, const char *ns, const json_t *obj,
		const struct kube_write_opts *opts, json_t **out, struct kube_status *st)
{
	struct kube_write_opts o = {0};
	struct buf path;
	int rc;

	if (opts)
		o = *opts;
	o.subresource = NULL; /* POST goes to the collection */
	rc = kube_write_path(res, ns, NULL, &o, false, &path, st);
	if (rc)
		return rc;
	rc = kube_send_json(c, "POST", path.data, "application/json", obj, out, st);
	buf_release(&path);
	return rc;
}

static const char *kube_obj_name(const json_t *obj, struct kube_status *st)
{
	const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));

	if (!name || !*name)
		kube_status_set(st, 0, "the object has no metadata.name");
	return name && *name ? name : NULL;
}

int kube_update(struct kube_client *c, const struct kube_resource *res, const char *ns, const json_t *obj,
		const struct kube_write_opts *opts, json_t **out, struct kube_status *st)
{
	const char *name = kube_obj_name(obj, st);
	struct buf path;
	int rc;

	if (!name)
		return SAQR_EINVAL;
	rc = kube_write_path(res, ns, name, opts, false, &path, st);
	if (rc)
		return rc;
	rc = kube_send_json(c, "PUT", path.data, "application/json", obj, out, st);
	buf_release(&path);
	return rc;
}

static const char *kube_patch_content_type(enum kube_patch_type type)
{
	switch (type) {
	case KUBE_PATCH_MERGE:
		return "application/merge-patch+json";
	case KUBE_PATCH_JSON:
		return "application/json-patch+json";
	case KUBE_PATCH_APPLY:
		return "application/apply-patch+yaml";
	default:
		return NULL;
	}
}

int kube_patch(struct kube_client *c, const struct kube_resource *res, const char *ns, const char *name,
	       enum kube_patch_type type, const json_t *patch, const struct kube_write_opts *opts,
	       json_t **out, struct kube_status *st)
{
	const char *ctype = kube_patch_content_type(type);
	bool apply = type == KUBE_PATCH_APPLY;
	struct buf path;
	int rc;

	if (!ctype || !name || !*name ||
	    (apply && (!opts || !opts->field_manager || !*opts->field_manager)) ||
	    (type == KUBE_PATCH_JSON && !json_is_array(patch))) {
		kube_status_set(st, 0,
				"kube_patch: needs a name, a known patch type, a JSON array for a JSON "
				"patch and a field manager for apply");
		return SAQR_EINVAL;
	}
	rc = kube_write_path(res, ns, name, opts, apply, &path, st);
	if (rc)
		return rc;
	rc = kube_send_json(c, "PATCH", path.data, ctype, patch, out, st);
	buf_release(&path);
	return rc;
}

int kube_apply(struct kube_client *c, const struct kube_resource *res, const char *ns, const json_t *obj,
	       const char *field_manager, bool force, json_t **out, struct kube_status *st)
{
	struct kube_write_opts o = {.field_manager = field_manager, .force = force};
	const char *name = kube_obj_name(obj, st);

	if (!name)
		return SAQR_EINVAL;
	return kube_patch(c, res, ns, name, KUBE_PATCH_APPLY, obj, &o, out, st);
}

/* A DeleteOptions body, or NULL when opts asks for nothing. */
static json_t *kube_delete_options(const struct kube_delete_opts *o)
{
	json_t *body, *pre;

	if (!o || (!o->propagation_policy && !o->precondition_uid && !o->precondition_resource_version))
		return NULL;
	body = json_pack("{s:s, s:s}", "apiVersion", "v1", "kind", "DeleteOptions");
	if (body && o->propagation_policy)
		json_object_set_new(body, "propagationPolicy", json_string(o->propagation_policy));
	if (body && (o->precondition_uid || o->precondition_resource_version)) {
		pre = json_object();
		if (o->precondition_uid)
			json_object_set_new(pre, "uid", json_string(o->precondition_uid));
		if (o->precondition_resource_version)
			json_object_set_new(pre, "resourceVersion",
					    json_string(o->precondition_resource_version));
		json_object_set_new(body, "preconditions", pre);
	}
	return body;
}

int kube_delete(struct kube_client *c, const struct kube_resource *res, const char *ns, const char *name,
		const struct kube_delete_opts *opts, struct kube_status *st)
{
	json_t *body = kube_delete_options(opts);
	struct buf path;
	int rc;

	if (!name || !*name) {
		json_decref(body);
		kube_status_set(st, 0, "kube_delete: a name is required");
		return SAQR_EINVAL;
	}
	if (opts &&
	    (opts->propagation_policy || opts->precondition_uid || opts->precondition_resource_version) &&
	    !body)
		return SAQR_ENOMEM;
	rc = kube_path(res, ns, name, NULL, &path, st);
	if (rc)
		goto out;
	if (body)
		rc = kube_send_json(c, "DELETE", path.data, "application/json", body, NULL, st);
	else
		rc = kube_request(c, "DELETE", path.data, NULL, NULL, 0, NULL, st);
	buf_release(&path);
out:
	json_decref(body);
	return rc;
}

/* ---- watch ---- */

static int kube_xferinfo_cb(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
			    curl_off_t ulnow)
{
	const struct kube_xfer *x = ud;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return x->stop && atomic_load(x->stop) ? 1 : 0;
}

/* Watch options on top of the shared set-up (with no total timeout and no compression): an
 * idle limit past the server's own timeout, the events to the parser, and the stop flag
 * polled through the progress callback. */
static CURLcode kube_setup_watch(struct kube_xfer *x, int timeout_seconds)
{
	long idle = (timeout_seconds > 0 ? timeout_seconds : KUBE_WATCH_IDLE_DEFAULT) + KUBE_WATCH_IDLE_SLACK;
	CURLcode cc;

	cc = curl_easy_setopt(x->h, CURLOPT_HTTPGET, 1L);
	cc = cc ? cc : curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, kube_watch_write_cb);
	cc = cc ? cc : curl_easy_setopt(x->h, CURLOPT_WRITEDATA, x);
	cc = cc ? cc : curl_easy_setopt(x->h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	cc = cc ? cc : curl_easy_setopt(x->h, CURLOPT_LOW_SPEED_TIME, idle);
	cc = cc ? cc : curl_easy_setopt(x->h, CURLOPT_NOPROGRESS, 0L);
	cc = cc ? cc : curl_easy_setopt(x->h, CURLOPT_XFERINFOFUNCTION, kube_xferinfo_cb);
	return cc ? cc : curl_easy_setopt(x->h, CURLOPT_XFERINFODATA, x);
}

/* Drive one transfer in a private multi handle, waking every KUBE_WATCH_POLL_MS so that the
 * progress callback sees the stop flag promptly even when the stream is idle. */
static CURLcode kube_watch_run(struct kube_xfer *x)
{
	CURLM *m = curl_multi_init();
	CURLcode res = CURLE_ABORTED_BY_CALLBACK;
	CURLMcode mc;
	CURLMsg *msg;
	int running = 1, left;

	if (!m)
		return CURLE_OUT_OF_MEMORY;
	mc = curl_multi_add_handle(m, x->h);
	while (!mc && running) {
		mc = curl_multi_perform(m, &running);
		if (!mc && running)
			mc = curl_multi_poll(m, NULL, 0, KUBE_WATCH_POLL_MS, NULL);
		if (x->stop && atomic_load(x->stop))
			break;
	}
	while ((msg = curl_multi_info_read(m, &left)))
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == x->h)
			res = msg->data.result;
	if (mc)
		res = mc == CURLM_OUT_OF_MEMORY ? CURLE_OUT_OF_MEMORY : CURLE_RECV_ERROR;
	curl_multi_remove_handle(m, x->h);
	curl_multi_cleanup(m);
	return res;
}

/* Why a watch ended, in the order that matters: stop flag, callback or event error, transport,
 * HTTP status, then a last unterminated line. */
static int kube_watch_result(struct kube_xfer *x, CURLcode cc, const char *errbuf, struct kube_status *st)
{
	long code = 0;
	int rc;

	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
	if (x->stop && atomic_load(x->stop) && (cc == CURLE_ABORTED_BY_CALLBACK || x->watch_rc == 0)) {
		kube_status_set(st, (int)code, "watch stopped");
		return SAQR_ECLOSED;
	}
	if (x->watch_rc) {
		if (st && !st->http_code)
			st->http_code = (int)code;
		return x->watch_rc;
	}
	rc = kube_result(x, cc, errbuf, st);
	if (!rc && code != 200) {
		kube_status_set(st, (int)code, "watch answered HTTP %ld, not 200", code);
		rc = SAQR_EAPI;
	}
	return rc ? rc : kube_watch_parser_finish(x->parser);
}

static int kube_watch_path(const struct kube_resource *res, const char *ns,
			   const struct kube_watch_opts *opts, struct buf *url, const struct kube_client *c,
			   struct kube_status *st)
{
	struct buf path;
	int rc = kube_path(res, ns, NULL, NULL, &path, st);

	if (rc)
		return rc;
	rc = kube_url_watch_query(&path, opts);
	if (rc)
		kube_status_set(st, 0, "watch query exceeds %zu bytes", KUBE_URL_MAX);
	else
		rc = kube_url(c, path.data, url, st);
	buf_release(&path);
	return rc;
}

int kube_watch(struct kube_client *c, const struct kube_resource *res, const char *ns,
	       const struct kube_watch_opts *opts, kube_watch_fn fn, void *ud, struct kube_status *st)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct kube_watch_parser parser;
	struct kube_xfer x = {.parser = &parser, .stop = opts ? opts->stop : NULL};
	struct curl_slist *hdrs = NULL;
	struct http_opts o;
	struct buf url;
	int rc;

	kube_status_clear(st);
	if (x.stop && atomic_load(x.stop)) {
		kube_status_set(st, 0, "watch stopped");
		return SAQR_ECLOSED;
	}
	rc = kube_watch_path(res, ns, opts, &url, c, st);
	if (rc)
		return rc;
	rc = kube_headers(c, NULL, &hdrs, st);
	if (rc)
		goto out_url;
	kube_watch_parser_init(&parser, 0, fn, ud, st);
	buf_init(&x.sink.body, KUBE_ERROR_BODY_MAX);
	kube_http_opts(c->cfg, &o);
	o.timeout_ms = -1;
	o.max_body = KUBE_ERROR_BODY_MAX;
	o.compressed = false;
	x.h = kube_pool_get(c);
	if (!x.h) {
		rc = SAQR_ENOMEM;
		goto out;
	}
	if (http_setup(x.h, url.data, &o, hdrs, &x.sink, errbuf) ||
	    kube_setup_watch(&x, opts ? opts->timeout_seconds : 0)) {
		kube_status_set(st, 0, "libcurl refused a watch option");
		rc = SAQR_ECONFIG;
		goto out;
	}
	rc = kube_watch_result(&x, kube_watch_run(&x), errbuf, st);
out:
	kube_pool_put(c, x.h);
	buf_release(&x.sink.body);
	kube_watch_parser_release(&parser);
	curl_slist_free_all(hdrs);
out_url:
	buf_release(&url);
	return rc;
}
