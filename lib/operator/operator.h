/* What every Saqr controller shares inside saqr-operator, and how each one registers itself
 * with the controller manager. cmd/saqr-operator/main.c builds one operator_ctx and calls the
 * register functions; each controller lives in its own lib/operator/<kind>_controller.c. */
#ifndef SAQR_OPERATOR_OPERATOR_H
#define SAQR_OPERATOR_OPERATOR_H

#include "controller/events.h"
#include "controller/manager.h"
#include "kube/client.h"

#define OPERATOR_FIELD_MANAGER "saqr-operator"

/* Borrowed pointers, valid for the manager's life. */
struct operator_ctx {
	struct manager *mgr;
	struct kube_client *client;
	const struct kubeops *ops;        /* manager_kubeops(mgr): counted API calls */
	struct events_recorder *events;   /* manager_events(mgr) */
	const char *own_namespace;        /* where saqr-operator runs (NetworkPolicy ingress for scraping) */
	int workers;                      /* worker threads per controller */
};

/* Each adds its controller (and the informers it reads) to ctx->mgr before manager_start.
 * 0 or a negative SAQR_E* from manager_add_controller. */
int operator_register_modeldeployment(struct operator_ctx *ctx);
int operator_register_trainingjob(struct operator_ctx *ctx);
int operator_register_driftpolicy(struct operator_ctx *ctx);

#endif
