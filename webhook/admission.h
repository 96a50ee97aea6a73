/* AdmissionReview (admission.k8s.io/v1) as the kube-apiserver sends it to a validating webhook:
 * parse a request, check that it is one, and write the reply the apiserver accepts.
 * Pure functions: no policy, no I/O, no globals; safe from any thread. */
#ifndef SAQR_WEBHOOK_ADMISSION_H
#define SAQR_WEBHOOK_ADMISSION_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

#define ADMISSION_API_VERSION "admission.k8s.io/v1"
#define ADMISSION_KIND "AdmissionReview"
#define ADMISSION_WARNING_MAX 256		 /* the apiserver may cut longer warnings */
#define ADMISSION_WARNINGS_TOTAL_MAX 4096	 /* and drops what is beyond 4 KiB in all */
#define ADMISSION_MESSAGE_MAX ((size_t)16 << 10) /* a denial longer than this is cut, with a marker */
#define ADMISSION_ANNOTATION_VALUE_MAX 1024

/* The fields of request that Saqr reads. Every string points into review and lives as long as
 * the request; absent optional strings are "" (never NULL). */
struct admission_request {
	json_t *review; /* the parsed body (owned) */
	const char *uid;
	const char *group;	  /* request.kind.group ("" for the core group) */
	const char *version;	  /* request.kind.version */
	const char *kind;	  /* request.kind.kind */
	const char *resource;	  /* request.resource.resource */
	const char *sub_resource; /* request.subResource */
	const char *namespace;	  /* request.namespace ("" when cluster-scoped) */
	const char *name;	  /* request.name ("" when the object has only generateName) */
	const char *operation;	  /* CREATE, UPDATE, DELETE or CONNECT */
	const char *username;	  /* request.userInfo.username */
	const char **groups;	  /* request.userInfo.groups (owned array of borrowed strings) */
	size_t ngroups;
	const json_t *object;	  /* request.object; NULL when absent or null (DELETE) */
	const json_t *old_object; /* request.oldObject; NULL when absent or null */
	bool dry_run;		  /* request.dryRun */
};

/* What to answer. Strings and annotations are borrowed for the call. */
struct admission_verdict {
	bool allowed;
	int code;		     /* when denied: the HTTP-like code the user sees (403) */
	const char *reason;	     /* when denied: "Forbidden" (NULL: none) */
	const char *message;	     /* when denied: every violation */
	const char *const *warnings; /* shown by kubectl as "Warning: ..." */
	size_t nwarnings;
	const json_t *audit_annotations; /* object of string values, or NULL */
};

/* Parse and check body (len bytes, at most max). On success fills *out (release with
 * admission_request_release) and returns 0. Otherwise *out is untouched, err holds a sentence
 * for the 400 reply, and the result is SAQR_EPARSE (not JSON), SAQR_EINVAL (JSON but not an
 * admission.k8s.io/v1 AdmissionReview request: err names the field) or SAQR_ETOOBIG. */
int admission_parse(const char *body, size_t len, size_t max, struct admission_request *out, char *err,
		    size_t errlen);
/* Free what the request owns; the struct is zeroed. NULL is a no-op. */
void admission_request_release(struct admission_request *r);

/* Append the AdmissionReview reply for req to out: same apiVersion and kind, request.uid
 * echoed, allowed, status on denial, warnings fitted to the apiserver's limits (each at most
 * ADMISSION_WARNING_MAX bytes, all together ADMISSION_WARNINGS_TOTAL_MAX, no "Warning:"
 * prefix) and auditAnnotations: a key loses any "prefix/" (the apiserver adds the webhook's
 * name as the prefix), keys still invalid are dropped, values are cut at
 * ADMISSION_ANNOTATION_VALUE_MAX bytes.
 * 0, SAQR_ENOMEM or SAQR_ETOOBIG (out's cap). */
int admission_response(const struct admission_request *req, const struct admission_verdict *v,
		       struct buf *out);

/* Append a metav1.Status body (status Failure) for an HTTP error reply to out. */
int admission_error_body(int code, const char *reason, const char *message, struct buf *out);

/* Fit one warning to the apiserver's rules into out (outlen > 4): drop a leading "Warning:",
 * turn control characters into spaces, cut at ADMISSION_WARNING_MAX bytes on a UTF-8 boundary
 * ending in "...". Returns the length written. */
size_t admission_warning_fit(const char *in, char *out, size_t outlen);

/* Whether key may be an auditAnnotations key (the apiserver prefixes it with the webhook name,
 * so it must be a qualified name without a prefix: at most 63 characters of [A-Za-z0-9-_.],
 * starting and ending with an alphanumeric). */
bool admission_annotation_key_valid(const char *key);

#endif
