/* What the files of the DriftPolicy controller share: the controller, one reconcile's state,
 * and the steps each file provides. Not an interface. The calls go one way: controller.c runs
 * the steps of controller_eval.c and controller_act.c; all three use controller_common.c. */
#ifndef SAQR_OPERATOR_DRIFTPOLICY_INTERNAL_H
#define SAQR_OPERATOR_DRIFTPOLICY_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "operator/runtime/informer.h"
#include "operator/runtime/strmap.h"
#include "operator/driftpolicy/driftactions.h"
#include "operator/driftpolicy/drifteval.h"
#include "operator/driftpolicy/driftpolicy.h"
#include "operator/driftpolicy/driftsource.h"

/* controller_common.c: the resources the controller reads and writes. */
extern const struct kube_resource driftpolicy__res_dp;
extern const struct kube_resource driftpolicy__res_md;
extern const struct kube_resource driftpolicy__res_tj;
extern const struct kube_resource driftpolicy__res_configmaps;
extern const struct kube_resource driftpolicy__res_secrets;
extern const struct kube_resource driftpolicy__res_endpointslices;

struct driftpolicy_controller {
	struct manager *mgr;
	const struct kubeops *ops;
	struct events_recorder *events;
	struct informer *dps, *mds, *tjs;
	struct driftsource_store *store;
	const struct http_netpolicy *net; /* outbound policy of sinks, Prometheus and scrapes */
	pthread_mutex_t mu;
	struct strmap last;   /* policy key -> struct driftpolicy__last */
	struct strmap expect; /* policy key -> struct driftpolicy__expect */
};

/* A status write the policy cache has not shown yet: until it does (or until `until`), the
 * cached policy is older than what this process wrote, and reconciling it could deliver a
 * notification a second time. */
struct driftpolicy__expect {
	char rv[64];  /* resourceVersion the write returned */
	double until; /* monotonic seconds; then the cache is trusted anyway */
};

/* When a policy was last evaluated by this process. */
struct driftpolicy__last {
	char uid[128];
	double at; /* wall-clock seconds */
	long long generation;
};

/* One reconcile. */
struct driftpolicy__run {
	struct driftpolicy_controller *c;
	const char *ns, *name;
	char key[INFORMER_KEY_MAX];
	json_t *dp;	      /* the cached policy (read-only) */
	json_t *md;	      /* the cached target, or NULL */
	const json_t *status; /* dp's status (may be NULL) */
	json_t *written;      /* the policy as the last status write returned it */
	double now;	      /* wall clock */
	char now_s[32];	      /* RFC 3339 */
	double interval;
	/* the evaluation */
	enum drifteval_state state;
	char message[1024];
	struct driftsource_data window;
	struct drifteval_result result;
	json_t *configmaps; /* name -> data of the ConfigMaps holding baselines */
	json_t *captured;   /* the captured baseline document */
	/* incidents and notifications, as they will be written */
	json_t *incidents, *pending;
	char degraded_reason[64];
	char degraded_message[1024];
};

/* controller_eval.c: read the metrics and score them (sets state, window, result). */
void driftpolicy__evaluate(struct driftpolicy__run *run);
/* controller_act.c: advance the incidents, record Events, run retrain and rollback. */
int driftpolicy__incidents(struct driftpolicy__run *run);
void driftpolicy__actions(struct driftpolicy__run *run);
/* controller_act.c: deliver the due pending notifications; *changed says whether the lists
 * changed. */
void driftpolicy__deliver(struct driftpolicy__run *run, bool *changed);

/* ---- controller_common.c ---- */

/* Note trouble for the Degraded condition (the first reason wins, messages add up). */
void driftpolicy__degrade(struct driftpolicy__run *run, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* One log line about the policy (fields: key, value pairs ending with NULL). */
void driftpolicy__log(const struct driftpolicy__run *run, int level, const char *msg, ...);
/* A Secret's data from the API (NULL when it cannot be read; err says why). */
json_t *driftpolicy__get(struct driftpolicy__run *run, const struct kube_resource *res, const char *name,
			 char *err, size_t errlen);

#endif
