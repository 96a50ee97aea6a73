/* AWS Signature Version 4 for requests in the Authorization header (S3 and S3-compatible
 * servers): the canonical request, the string to sign, the derived signing key and the headers to
 * send. Paths and query parameters are given decoded and are percent-encoded here as SigV4 says
 * (RFC 3986 unreserved characters kept; "/" kept in the path); S3 paths are not normalised.
 *
 * Ownership: inputs are borrowed; a sigv4_signed owns its buffers (sigv4_signed_release). */
#ifndef SAQR_FETCH_SIGV4_H
#define SAQR_FETCH_SIGV4_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

#define SIGV4_MAX_ITEMS 32 /* query parameters or headers of one request */
#define SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct sigv4_pair {
	const char *name;
	const char *value;
};

struct sigv4_request {
	const char *method;		/* "GET", ... */
	const char *path;		/* decoded; NULL or "": "/" */
	const struct sigv4_pair *query; /* decoded query parameters, any order */
	size_t nquery;
	const struct sigv4_pair *headers; /* headers to sign and send, Host included */
	size_t nheaders;
	const char *payload_hash;   /* hex SHA-256 of the body or "UNSIGNED-PAYLOAD"; NULL: empty body */
	bool content_sha256_header; /* sign and send x-amz-content-sha256 (S3 needs it) */
};

struct sigv4_creds {
	const char *access_key;
	const char *secret_key;
	const char *session_token; /* NULL: none; else sent and signed as x-amz-security-token */
};

/* The result of signing. */
struct sigv4_signed {
	struct buf canonical_request;
	struct buf string_to_sign;
	struct buf query;	 /* the canonical query string, to put in the URL as it is */
	char signature[65];	 /* lower-case hex */
	struct buf header_block; /* the lines below, NUL-separated */
	const char *lines[5];	 /* "Name: value" headers to add to the request, NULL-terminated:
				    x-amz-date, [x-amz-security-token], [x-amz-content-sha256],
				    Authorization; they point into header_block */
};

/* Sign req at amz_date ("YYYYMMDDTHHMMSSZ", UTC) for region and service. 0 with *out filled
 * (release it even on error), or SAQR_EINVAL (missing credentials, a bad date, too many items)
 * or SAQR_ENOMEM. */
int sigv4_sign(const struct sigv4_request *req, const struct sigv4_creds *creds, const char *region,
	       const char *service, const char *amz_date, struct sigv4_signed *out);
void sigv4_signed_release(struct sigv4_signed *s);

/* Append s percent-encoded as SigV4 wants (keep_slash: leave '/' as it is, for paths). */
int sigv4_encode(struct buf *b, const char *s, bool keep_slash);
/* The current time as an amz date (16 characters and the NUL). */
void sigv4_now(char date[17]);

#endif
