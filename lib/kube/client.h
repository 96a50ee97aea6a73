/* A dynamic Kubernetes REST client over libcurl and jansson: any resource by
 * group/version/resource, objects as jansson values.
 *
 * Thread-safety: a kube_client may be used from many threads at once; every call takes a
 * pooled curl handle for its duration, so connections are reused. A kube_config is immutable
 * after loading and may be shared read-only. Watches block their calling thread. */
#ifndef SAQR_KUBE_CLIENT_H
#define SAQR_KUBE_CLIENT_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "kube/kubeconfig.h"

/* Caps on bodies. Requests larger than this are refused before sending; responses larger
 * are cut off with SAQR_ETOOBIG. */
#define KUBE_MAX_REQUEST_BODY ((size_t)3 * 1024 * 1024)
#define KUBE_MAX_RESPONSE_BODY ((size_t)64 * 1024 * 1024)
#define KUBE_MAX_WATCH_LINE ((size_t)16 * 1024 * 1024)

/* What the API server said about a failed call (metav1.Status), or the transport's error.
 * http_code is 0 for transport failures. Filled by every call that takes one (may be NULL). */
struct kube_status {
	int http_code;
	char reason[64]; /* NotFound, Conflict, AlreadyExists, Invalid, Forbidden, Expired, ... */
	char message[1024];
	int retry_after; /* seconds from Retry-After (429/503), 0 when absent */
};

/* A resource type. group "" is the core API (/api/v1). */
struct kube_resource {
	const char *group;
	const char *version;
	const char *resource; /* plural, lower case: "deployments" */
	bool namespaced;
};

struct kube_list_opts {
	const char *label_selector;
	const char *field_selector;
	long limit; /* 0: server default */
	const char *continue_token;
	const char *resource_version;
};

enum kube_patch_type {
	KUBE_PATCH_MERGE, /* application/merge-patch+json */
	KUBE_PATCH_JSON,  /* application/json-patch+json */
	KUBE_PATCH_APPLY, /* application/apply-patch+yaml (server-side apply; JSON is valid YAML) */
};

struct kube_write_opts {
	const char *field_manager; /* required for KUBE_PATCH_APPLY */
	bool force;		   /* server-side apply: take ownership of conflicting fields */
	bool dry_run;		   /* dryRun=All */
	const char *subresource;   /* e.g. "status", or NULL */
};

struct kube_delete_opts {
	const char *propagation_policy; /* Foreground, Background, Orphan or NULL */
	const char *precondition_uid;
	const char *precondition_resource_version;
};

struct kube_client;

/* Create a client for cfg (copied; cfg may be freed afterwards). 0, SAQR_ENOMEM, SAQR_ECONFIG. */
int kube_client_new(const struct kube_config *cfg, struct kube_client **out);
/* Free a client. NULL is a no-op. No call may be in progress. */
void kube_client_free(struct kube_client *c);

/* Build the path of a resource, collection or subresource
 * ("/apis/apps/v1/namespaces/ns/deployments/x/status") into out (outlen bytes). ns and name may be NULL; each
 * segment is percent-escaped; ns is left out for cluster-scoped resources. 0 or SAQR_ETOOBIG; SAQR_EINVAL
 * when res, its version or resource is missing, or a subresource is given without a name. */
int kube_resource_path(const struct kube_resource *res, const char *ns, const char *name,
		       const char *subresource, char *out, size_t outlen);

/* The calls below return 0 on success and fill *out (a new reference the caller owns) when out
 * is not NULL. On failure they return SAQR_ENOTFOUND, SAQR_ECONFLICT, SAQR_EEXIST, SAQR_EGONE,
 * SAQR_EINVALID, SAQR_EFORBIDDEN, SAQR_EBUSY, SAQR_EAPI (other HTTP errors), SAQR_ETRANSPORT,
 * SAQR_ETOOBIG or SAQR_EPARSE; *out is untouched and st (if not NULL) holds the details. */
int kube_get(struct kube_client *c, const struct kube_resource *res, const char *ns, const char *name,
	     json_t **out, struct kube_status *st);
/* One page of a list; out is the List object (items, metadata.continue, metadata.resourceVersion). */
int kube_list(struct kube_client *c, const struct kube_resource *res, const char *ns,
	      const struct kube_list_opts *opts, json_t **out, struct kube_status *st);
/* Every page, following `continue`; out is one List with all items and the last page's
 * resourceVersion. opts->limit is the page size. */
int kube_list_all(struct kube_client *c, const struct kube_resource *res, const char *ns,
		  const struct kube_list_opts *opts, json_t **out, struct kube_status *st);
/* POST obj to the collection (ns from the argument, not the object). */
int kube_create(struct kube_client *c, const struct kube_resource *res, const char *ns, const json_t *obj,
		const struct kube_write_opts *opts, json_t **out, struct kube_status *st);
/* PUT obj (must carry metadata.name and, for optimistic concurrency, metadata.resourceVersion).
 * opts->subresource "status" writes the status subresource. */
int kube_update(struct kube_client *c, const struct kube_resource *res, const char *ns, const json_t *obj,
		const struct kube_write_opts *opts, json_t **out, struct kube_status *st);
int kube_patch(struct kube_client *c, const struct kube_resource *res, const char *ns, const char *name,
	       enum kube_patch_type type, const json_t *patch, const struct kube_write_opts *opts,
	       json_t **out, struct kube_status *st);
/* Server-side apply of obj (its metadata.name names the target) with fieldManager and force. */
int kube_apply(struct kube_client *c, const struct kube_resource *res, const char *ns, const json_t *obj,
	       const char *field_manager, bool force, json_t **out, struct kube_status *st);
int kube_delete(struct kube_client *c, const struct kube_resource *res, const char *ns, const char *name,
		const struct kube_delete_opts *opts, struct kube_status *st);
/* Any request: method, path with query, optional body of body_len bytes with content_type.
 * A 2xx answer fills *out with the parsed body (JSON null for an empty body). */
int kube_request(struct kube_client *c, const char *method, const char *path, const char *content_type,
		 const char *body, size_t body_len, json_t **out, struct kube_status *st);

/* ---- watch ---- */

struct kube_watch_opts {
	const char *label_selector;
	const char *field_selector;
	const char *resource_version; /* start after this version ("" or NULL: from now) */
	bool allow_bookmarks;
	int timeout_seconds; /* server-side timeout; 0: server default */
	atomic_bool *stop;   /* when set to true, the watch returns SAQR_ECLOSED soon after */
};

/* Called for each event: type is ADDED, MODIFIED, DELETED or BOOKMARK; obj is borrowed for
 * the call (incref to keep it). Return 0 to go on, non-zero to end the watch (returned as is). */
typedef int (*kube_watch_fn)(void *ud, const char *type, json_t *obj);

/* Stream events until the server closes the stream (returns 0: resume from the last
 * resourceVersion seen), the callback returns non-zero, *opts->stop is set (SAQR_ECLOSED), or
 * an error: HTTP 410 or an ERROR event with code 410 gives SAQR_EGONE (relist); any other
 * ERROR event gives SAQR_EAPI with its Status in st. */
int kube_watch(struct kube_client *c, const struct kube_resource *res, const char *ns,
	       const struct kube_watch_opts *opts, kube_watch_fn fn, void *ud, struct kube_status *st);

#endif
