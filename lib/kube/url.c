/* Resource paths and query strings for the Kubernetes REST API, every segment and value
 * percent-escaped so that names and selectors cannot change the URL's shape. */
#include "kube/url.h"

#include <stdio.h>
#include <string.h>

#include "common/err.h"

static bool kube_url_unreserved(unsigned char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	       ch == '-' || ch == '.' || ch == '_' || ch == '~';
}

int kube_url_escape(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	char enc[3];
	int rc = 0;

	for (p = (const unsigned char *)s; *p && !rc; p++) {
		if (kube_url_unreserved(*p)) {
			rc = buf_add(b, p, 1);
			continue;
		}
		enc[0] = '%';
		enc[1] = hex[*p >> 4];
		enc[2] = hex[*p & 0xf];
		rc = buf_add(b, enc, 3);
	}
	return rc;
}

int kube_url_param(struct buf *b, const char *key, const char *value)
{
	int rc;

	if (!value || !*value)
		return 0;
	rc = buf_adds(b, strchr(buf_str(b), '?') ? "&" : "?");
	if (!rc)
		rc = buf_adds(b, key);
	if (!rc)
		rc = buf_adds(b, "=");
	if (!rc)
		rc = kube_url_escape(b, value);
	return rc;
}

/* A path segment: "/" then the escaped text. Empty text is refused: it would merge segments. */
static int kube_url_segment(struct buf *b, const char *s)
{
	int rc;

	if (!s || !*s)
		return SAQR_EINVAL;
	rc = buf_adds(b, "/");
	return rc ? rc : kube_url_escape(b, s);
}

static int kube_url_build_path(struct buf *b, const struct kube_resource *res, const char *ns,
			       const char *name, const char *subresource)
{
	bool core = !res->group || !*res->group;
	int rc;

	rc = buf_adds(b, core ? "/api" : "/apis");
	if (!rc && !core)
		rc = kube_url_segment(b, res->group);
	if (!rc)
		rc = kube_url_segment(b, res->version);
	if (!rc && res->namespaced && ns && *ns) {
		rc = buf_adds(b, "/namespaces");
		if (!rc)
			rc = kube_url_segment(b, ns);
	}
	if (!rc)
		rc = kube_url_segment(b, res->resource);
	if (!rc && name && *name)
		rc = kube_url_segment(b, name);
	if (!rc && subresource && *subresource)
		rc = (name && *name) ? kube_url_segment(b, subresource) : SAQR_EINVAL;
	return rc;
}

int kube_resource_path(const struct kube_resource *res, const char *ns, const char *name,
		       const char *subresource, char *out, size_t outlen)
{
	struct buf b;
	int rc;

	if (!res || !out || outlen == 0)
		return SAQR_EINVAL;
	buf_init(&b, outlen - 1);
	rc = kube_url_build_path(&b, res, ns, name, subresource);
	if (!rc)
		memcpy(out, buf_str(&b), b.len + 1);
	buf_release(&b);
	return rc;
}

int kube_url_list_query(struct buf *b, const struct kube_list_opts *o)
{
	char limit[32] = "";
	int rc;

	if (!o)
		return 0;
	if (o->limit > 0)
		snprintf(limit, sizeof(limit), "%ld", o->limit);
	rc = kube_url_param(b, "labelSelector", o->label_selector);
	if (!rc)
		rc = kube_url_param(b, "fieldSelector", o->field_selector);
	if (!rc)
		rc = kube_url_param(b, "limit", limit);
	if (!rc)
		rc = kube_url_param(b, "continue", o->continue_token);
	if (!rc)
		rc = kube_url_param(b, "resourceVersion", o->resource_version);
	return rc;
}

int kube_url_write_query(struct buf *b, const struct kube_write_opts *o, bool apply)
{
	int rc;

	if (!o)
		return 0;
	rc = kube_url_param(b, "fieldManager", o->field_manager);
	if (!rc && apply && o->force)
		rc = kube_url_param(b, "force", "true");
	if (!rc && o->dry_run)
		rc = kube_url_param(b, "dryRun", "All");
	return rc;
}

int kube_url_watch_query(struct buf *b, const struct kube_watch_opts *o)
{
	char timeout[32] = "";
	int rc;

	rc = kube_url_param(b, "watch", "1");
	if (rc || !o)
		return rc;
	if (o->timeout_seconds > 0)
		snprintf(timeout, sizeof(timeout), "%d", o->timeout_seconds);
	rc = kube_url_param(b, "labelSelector", o->label_selector);
	if (!rc)
		rc = kube_url_param(b, "fieldSelector", o->field_selector);
	if (!rc)
		rc = kube_url_param(b, "resourceVersion", o->resource_version);
	if (!rc && o->allow_bookmarks)
		rc = kube_url_param(b, "allowWatchBookmarks", "true");
	if (!rc)
		rc = kube_url_param(b, "timeoutSeconds", timeout);
	return rc;
}
