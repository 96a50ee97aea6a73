/* UAE data residency: the residency label, every storage location of the object as a
 * (provider, region) pair, pod placement, and DIFC/ADGM transfer bases. */
#ifndef SAQR_POLICY_RESIDENCY_H
#define SAQR_POLICY_RESIDENCY_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/policy_internal.h"

#define RESIDENCY_PROVIDER_MAX 16
#define RESIDENCY_REGION_MAX 64
#define RESIDENCY_HOST_MAX 256

enum residency_uri_kind {
	RESIDENCY_URI_UNKNOWN = 0, /* unknown scheme, or a host that cannot be read safely: see why */
	RESIDENCY_URI_IN_CLUSTER,  /* pvc:// */
	RESIDENCY_URI_STORAGE, /* a provider's storage service; region empty when the URI does not prove it */
	RESIDENCY_URI_HOST,    /* https://, http:// or oci:// on a host of no recognised storage service */
};

/* A storage location as far as the URI proves it. */
struct residency_uri {
	enum residency_uri_kind kind;
	char provider[RESIDENCY_PROVIDER_MAX]; /* STORAGE */
	char region[RESIDENCY_REGION_MAX];     /* STORAGE, when the endpoint names it */
	char host[RESIDENCY_HOST_MAX];	       /* the normalised host of an https://, http:// or oci:// URI */
	const char *why;		       /* UNKNOWN: a static reason */
};

/* Read the provider and region out of a storage URI: s3://, gs://, azureblob://, oss://,
 * pvc://, and https://, http:// or oci:// URLs, whose host is matched against the endpoint
 * forms of S3, Alibaba OSS, OCI Object Storage, Azure Blob and GCS. Hosts are compared
 * after normalisation (lower case, one trailing dot, userinfo and port removed); a host with
 * percent-encoding, a backslash, two '@' or a bad port is UNKNOWN. A NULL uri is UNKNOWN. */
void residency_parse_uri(const char *uri, struct residency_uri *out);

/* Normalise a host of n bytes (a DNS name or a bracketed IPv6 literal; no port, no userinfo)
 * into out: lower case, one trailing dot dropped. 0, or SAQR_EINVAL when it is not a plain
 * host (percent-encoding, empty labels, other characters; a static reason in *why). */
int residency_host_normalize(const char *host, size_t n, char *out, size_t outn, const char **why);

/* Judge one storage URI at path of a kind that has no provider/region fields: pvc:// passes;
 * any other URI must prove an allowed (provider, region), by itself or through
 * dataResidency.trustedEndpoints, or it is refused (fail closed). */
void residency_check_uri(struct policy_eval_ctx *ev, const char *uri, const char *path);

/* Every residency rule for the object in ev. */
void residency_check(struct policy_eval_ctx *ev);

#endif
