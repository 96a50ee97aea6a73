/* Internal to operator/audit: the controller's state, shared by controller.c (caches, reconcile,
 * report writes) and breakglass.c (expiry notifications). */
#ifndef SAQR_OPERATOR_AUDIT_INTERNAL_H
#define SAQR_OPERATOR_AUDIT_INTERNAL_H

#include <pthread.h>
#include <time.h>

#include "operator/audit/audit.h"
#include "operator/runtime/strmap.h"
#include "webhook/reload.h"

#define AUDIT_NKINDS 10
#define AUDIT_NOTIFIED_MAX 4096 /* expiries remembered; the report remembers the rest */

struct audit_controller {
	struct manager *mgr;
	const struct kubeops *ops;
	struct events_recorder *events;
	struct metrics *metrics;
	const struct http_netpolicy *outbound; /* of the compliance sink (ctx->outbound) */
	struct audit_config cfg;
	struct reload *reload;
	unsigned long policy_generation; /* the one every namespace was last queued for */
	struct informer *namespaces;
	struct informer *kinds[AUDIT_NKINDS];
	pthread_mutex_t mu;
	struct strmap index;	/* namespace -> struct audit__ns */
	struct strmap notified; /* "uid|expires" -> struct audit__notified */
};

/* What the controller knows of one namespace: the keys of its audited objects
 * ("<kind index>/<name>") and the rules whose gauge it set last. */
struct audit__ns {
	struct strmap objects;
	json_t *gauges; /* rule -> true */
};

struct audit__notified {
	bool event;
	bool incident;
};

/* One expired break-glass found by a reconcile. */
struct audit__expired {
	json_t *regarding; /* {apiVersion, kind, metadata: {name, namespace, uid}} */
	char reason[256];
	char expires[64];
	char rules[512];
};

/* Send what is due for each expired break-glass (Event, incident), at most once each;
 * prev is the report in the cluster before this reconcile (it shows what was notified).
 * Returns true when an incident failed and must be tried again. */
bool audit__break_glass_notify(struct audit_controller *c, const json_t *prev, struct audit__expired *v,
			       size_t n, time_t now);

#endif
