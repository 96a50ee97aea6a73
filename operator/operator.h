/* What every Saqr controller shares inside saqr-operator, and how each one registers itself
 * with the controller manager. operator/main.c builds one operator_ctx and calls the
 * register functions; each controller lives in its own operator/<kind>/controller.c. */
#ifndef SAQR_OPERATOR_OPERATOR_H
#define SAQR_OPERATOR_OPERATOR_H

#include "operator/runtime/events.h"
#include "operator/runtime/manager.h"
#include "kube/client.h"
#include "http/netpolicy.h"

#define OPERATOR_FIELD_MANAGER "saqr-operator"

#define OPERATOR_MAX_RELEASE 8

/* A controller's state, freed by operator_release. */
struct operator_release {
	void (*fn)(void *ud);
	void *ud;
};

/* Borrowed pointers, valid for the manager's life. */
struct operator_ctx {
	struct manager *mgr;
	struct kube_client *client;
	const struct kubeops *ops;	/* manager_kubeops(mgr): counted API calls */
	struct events_recorder *events; /* manager_events(mgr) */
	const char *own_namespace;	/* where saqr-operator runs (NetworkPolicy ingress for scraping) */
	int workers;			/* worker threads per controller */
	/* Where requests that a user's object points at (DriftPolicy sinks, Prometheus, scrapes)
	 * may go; NULL: the strict default (no loopback, link-local or metadata address, no
	 * credential over http://). */
	const struct http_netpolicy *outbound;
	/* ModelDeployment pods (struct md_options; NULL: the built-in defaults). */
	const char *agent_image;	 /* --agent-image */
	const char *fetch_image;	 /* --fetch-image */
	const char *trusted_keys_secret; /* --trusted-keys-secret */
	const char *trusted_key_names;	 /* --trusted-key-names */
	/* Filled by operator_defer_release (zero-initialise the struct). */
	struct operator_release release[OPERATOR_MAX_RELEASE];
	int nrelease;
};

/* Each adds its controller (and the informers it reads) to ctx->mgr before manager_start.
 * 0 or a negative SAQR_E* from manager_add_controller. State a controller allocates is handed
 * to operator_defer_release, also when registering fails. */
int operator_register_modeldeployment(struct operator_ctx *ctx);
int operator_register_trainingjob(struct operator_ctx *ctx);
int operator_register_driftpolicy(struct operator_ctx *ctx);

/* Have operator_release call fn(ud). When the table is full fn(ud) runs at once and
 * SAQR_ETOOBIG is returned (only before manager_start: the manager must not use ud yet). */
int operator_defer_release(struct operator_ctx *ctx, void (*fn)(void *ud), void *ud);
/* Free every controller's state, last registered first. Call after manager_free (workers and
 * informer handlers use that state until then). */
void operator_release(struct operator_ctx *ctx);

#endif
