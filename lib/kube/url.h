/* Internal to lib/kube: percent-escaping and query strings for API server URLs
 * (kube_resource_path itself is declared in kube/client.h). */
#ifndef SAQR_KUBE_URL_H
#define SAQR_KUBE_URL_H

#include <stdbool.h>

#include "common/buf.h"
#include "kube/client.h"

/* Append s to b with every byte outside the RFC 3986 unreserved set (A-Z a-z 0-9 - . _ ~)
 * written as %XX. 0, SAQR_ENOMEM or SAQR_ETOOBIG. */
int kube_url_escape(struct buf *b, const char *s);

/* Append "?key=value" (or "&key=value" when b already holds a '?'), value escaped.
 * A NULL or empty value appends nothing. 0, SAQR_ENOMEM or SAQR_ETOOBIG. */
int kube_url_param(struct buf *b, const char *key, const char *value);

/* Append the list query: labelSelector, fieldSelector, limit, continue, resourceVersion.
 * opts may be NULL. */
int kube_url_list_query(struct buf *b, const struct kube_list_opts *opts);

/* Append the write query: fieldManager, force=true (only when apply is set), dryRun=All.
 * opts may be NULL. */
int kube_url_write_query(struct buf *b, const struct kube_write_opts *opts, bool apply);

/* Append the watch query: watch=1, labelSelector, fieldSelector, resourceVersion,
 * allowWatchBookmarks=true, timeoutSeconds. */
int kube_url_watch_query(struct buf *b, const struct kube_watch_opts *opts);

#endif
