/* Test support for lib/controller: a scripted struct kubeops that replays recorded answers
 * (JSON fixtures from tests/data/controller/) and records every call, so the informer, leader
 * election, event recorder and manager are tested without an API server. */
#ifndef SAQR_TESTS_CTRLTEST_H
#define SAQR_TESTS_CTRLTEST_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>

#include "operator/runtime/kubeops.h"

enum ctrltest_verb {
	CTRLTEST_LIST,
	CTRLTEST_WATCH,
	CTRLTEST_GET,
	CTRLTEST_CREATE,
	CTRLTEST_UPDATE,
	CTRLTEST_PATCH,
	CTRLTEST_NVERBS
};

/* One recorded call. body: the object written or patch sent (a reference), or NULL. */
struct ctrltest_call {
	char resource[64];
	char ns[64];
	char name[256];
	char rv[64]; /* watch: resource_version asked for */
	char label_selector[128];
	int patch_type;
	json_t *body;
};

struct ctrltest_reply;

/* ops.ctx points back at this struct. */
struct ctrltest_ops {
	struct kubeops ops;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct ctrltest_reply *replies[CTRLTEST_NVERBS]; /* FIFO per verb */
	struct ctrltest_call **calls[CTRLTEST_NVERBS];
	size_t ncalls[CTRLTEST_NVERBS];
	json_t *live;	   /* events pushed for live watches: resource -> [{type, object}] */
	bool echo_writes;  /* unscripted create/update/patch succeed, returning the body */
	int unscripted_rc; /* what other unscripted calls return (default SAQR_ETRANSPORT) */
};

void ctrltest_ops_init(struct ctrltest_ops *f);
void ctrltest_ops_release(struct ctrltest_ops *f);
/* Calls are reported to ops.observe when set, as kubeops_init_kube's binding does.
 * Queue the answer to the next call of verb: rc and obj (stolen; may be NULL). For a watch,
 * obj is an array of {"type", "object"} events delivered before returning rc. With no watch
 * answer queued, a watch delivers pushed events until its stop flag is set (then SAQR_ECLOSED). */
void ctrltest_reply(struct ctrltest_ops *f, enum ctrltest_verb verb, int rc, json_t *obj);
/* Same, with the reply's kube_status.reason set. */
void ctrltest_reply_status(struct ctrltest_ops *f, enum ctrltest_verb verb, int rc, int http_code,
			   const char *reason);
/* The same, answering only a call on resource (e.g. "deployments"). */
void ctrltest_reply_for(struct ctrltest_ops *f, enum ctrltest_verb verb, const char *resource, int rc,
			json_t *obj);
/* Deliver an event to the live watch of resource (obj stolen). */
void ctrltest_push_event(struct ctrltest_ops *f, const char *resource, const char *type, json_t *obj);
size_t ctrltest_ncalls(struct ctrltest_ops *f, enum ctrltest_verb verb);
/* The i-th recorded call of verb (stays valid until release). */
const struct ctrltest_call *ctrltest_call(struct ctrltest_ops *f, enum ctrltest_verb verb, size_t i);
/* Wait until at least n calls of verb were made. */
void ctrltest_wait_calls(struct ctrltest_ops *f, enum ctrltest_verb verb, size_t n);

/* Load tests/data/controller/<name> (under $SAQR_ROOT when set); fails the test on error. */
json_t *ctrltest_fixture(const char *name);

#endif
