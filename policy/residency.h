/* UAE data residency: the residency label, every storage location of the object as a
 * (provider, region) pair, pod placement, and DIFC/ADGM transfer bases. */
#ifndef SAQR_POLICY_RESIDENCY_H
#define SAQR_POLICY_RESIDENCY_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/policy_internal.h"

#define RESIDENCY_PROVIDER_MAX 16
#define RESIDENCY_REGION_MAX 64

/* A storage location as far as a URI tells it; empty strings when it does not. */
struct residency_uri {
	bool in_cluster; /* pvc:// */
	char provider[RESIDENCY_PROVIDER_MAX];
	char region[RESIDENCY_REGION_MAX];
};

/* Read the provider and region out of a storage URI: s3://, gs://, azureblob://, oss://,
 * pvc://, and https:// URLs of S3, OSS, OCI Object Storage, Azure Blob and GCS. */
void residency_parse_uri(const char *uri, struct residency_uri *out);

/* Every residency rule for the object in ev. */
void residency_check(struct policy_eval_ctx *ev);

#endif
