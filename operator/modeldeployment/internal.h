/* Shared between modeldeployment.c (desired objects) and modeldeployment_status.c: the facts
 * both derive from a ModelDeployment's spec. Not part of the public interface. */
#ifndef SAQR_OPERATOR_MD_INTERNAL_H
#define SAQR_OPERATOR_MD_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>

#include "operator/modeldeployment/modeldeployment.h"
#include "operator/objmeta.h"

struct md__plan {
	const json_t *md, *spec;
	const char *name, *ns;
	long long generation;
	long long port;
	bool grpc, tls;
	bool autoscale;	   /* spec.autoscaling present: an HPA owns the primary's replicas */
	bool canary;	   /* a canary Deployment is wanted (canary.model and weight > 0) */
	long long primary; /* primary replicas (without autoscaling) */
	long long canary_replicas;
	long long hpa_min, hpa_max;
	long long total_min;		 /* replicas, or autoscaling.minReplicas */
	char dep_name[OBJMETA_NAME_BUF]; /* also the Service, HPA, NetworkPolicy and PDB name */
	char canary_name[OBJMETA_NAME_BUF];
};

/* Fill p from md. 0 or SAQR_EINVAL (no name, namespace or spec). Does not validate the spec. */
int md__plan_init(const json_t *md, struct md__plan *p);

/* sidecars.c: the saqr-agent sidecar and the saqr-fetch init container. */

/* Whether saqr-fetch fetches model (spec.model or the canary's): spec.fetch.enabled (default
 * true) and a scheme it supports (https, s3, azureblob, pvc). */
bool md__fetch_wanted(const json_t *spec, const json_t *model);
/* The checks on spec.agent, spec.fetch and the signatures the CRD cannot make. False with msg. */
bool md__sidecars_check(const json_t *spec, char *msg, size_t msglen);
/* Add the agent and saqr-fetch to the Deployments in d (already built from p) and point the
 * Service and NetworkPolicy at the agent. 0, SAQR_ENOMEM, SAQR_EINVAL. */
int md__sidecars_apply(const struct md__plan *p, const struct md_options *opts, struct md_desired *d);

#endif
