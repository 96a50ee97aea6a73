/* Where saqr-fetch reads a model from: an https:// (or, when allowed, http://) URL, an S3 bucket
 * (s3://bucket/key, AWS Signature V4; ListObjectsV2 for a prefix), or an Azure Blob container
 * (azureblob://account/container/path, a SAS token or Shared Key; List Blobs for a prefix).
 * A URI whose path ends in "/" names a directory model: every object under that prefix.
 *
 * Transfers go through lib/http's handle set-up (TLS, timeouts) and stream into the caller's
 * write function, so a model is never held in memory.
 *
 * Ownership: a remote copies what it needs from the URI and borrows the credentials' strings
 * from the caller (they must outlive it); remote_release frees it. */
#ifndef SAQR_FETCH_REMOTE_H
#define SAQR_FETCH_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define REMOTE_MAX_OBJECTS 100000
#define REMOTE_LIST_PAGE_MAX ((size_t)16 << 20)

enum remote_kind { REMOTE_HTTPS, REMOTE_S3, REMOTE_AZURE };

struct remote_creds {
	const char *aws_access_key, *aws_secret_key, *aws_session_token;
	const char *azure_sas, *azure_key; /* a SAS token (query string) or an account key (base64) */
};

struct remote_config {
	const char *s3_region;	    /* default us-east-1 */
	const char *s3_endpoint;    /* S3-compatible server: path-style URLs under it */
	const char *azure_endpoint; /* e.g. http://127.0.0.1:10000/devstoreaccount1 */
	const char *ca_file;	    /* PEM bundle to trust instead of the system's; NULL: system */
	bool allow_insecure_http;
	long timeout_ms; /* one transfer; 0: none */
	struct remote_creds creds;
};

struct remote {
	enum remote_kind kind;
	char *base;	 /* https: the URL; s3: bucket; azure: account */
	char *container; /* azure only */
	char *path;	 /* key or prefix inside the bucket/container ("" for the root) */
	bool is_prefix;	 /* the URI ended in "/" */
	const struct remote_config *cfg;
};

struct remote_object {
	char *key; /* full key, to pass to remote_get */
	char *rel; /* path relative to the model's root */
	uint64_t size;
};

struct remote_list {
	struct remote_object *v;
	size_t n, cap;
};

/* What remote_get reports besides the body: the status, and the encryption header's value. */
struct remote_result {
	long status;
	char encrypted[64]; /* x-amz-server-side-encryption or x-ms-server-encrypted; "" if absent */
	bool retryable;	    /* a transport error, 429 or 5xx */
};

/* The write function: n bytes of the body; return 0 to go on, non-zero to stop. */
typedef int (*remote_write_fn)(void *ctx, const void *p, size_t n);

/* Parse uri (https://, http://, s3://, azureblob://) into r, using cfg (borrowed). 0, or
 * SAQR_EINVAL with the reason in err (unknown scheme, http:// not allowed, no bucket). */
int remote_parse(struct remote *r, const char *uri, const struct remote_config *cfg, char *err,
		 size_t errlen);
void remote_release(struct remote *r);

/* The objects of a prefix remote (keys under r->path), into list. 0 or an error in err. */
int remote_list_objects(const struct remote *r, struct remote_list *list, char *err, size_t errlen);
void remote_list_release(struct remote_list *l);

/* GET the object key (https: the URL itself), streaming the body of a 2xx answer into write.
 * 0 when a 2xx answer was fully received; SAQR_EAPI (another status, res->status says which),
 * SAQR_ETRANSPORT, SAQR_ECLOSED (write stopped it) or SAQR_ENOMEM, with a message in err.
 * res gets the status, the encryption header and whether a retry may help. */
int remote_get(const struct remote *r, const char *key, remote_write_fn write, void *ctx,
	       struct remote_result *res, char *err, size_t errlen);

#endif
