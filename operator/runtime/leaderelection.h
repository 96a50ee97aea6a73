/* Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it:
 * the holder renews spec.renewTime every retry period; a candidate takes the Lease over only
 * when it has seen the same Lease record unchanged for leaseDurationSeconds on its own
 * monotonic clock (it never compares its clock with the holder's timestamps); the holder gives
 * up leadership when it could not renew within renew_deadline (< lease duration, so it stops
 * before anyone may take over); and on shutdown the holder releases the Lease (empty
 * holderIdentity, leaseDurationSeconds 1) so a standby takes over at its next try.
 *
 * The decisions are pure functions over (Lease JSON, now, identity) and a small state, so they
 * are tested with recorded Lease objects; the elector thread adds the get/create/update calls
 * (through a struct kubeops) and the timing. */
#ifndef SAQR_CONTROLLER_LEADERELECTION_H
#define SAQR_CONTROLLER_LEADERELECTION_H

#include <jansson.h>
#include <stdbool.h>

#include "operator/runtime/kubeops.h"

#define LEADERELECTION_LEASE_DURATION 15.0
#define LEADERELECTION_RENEW_DEADLINE 10.0
#define LEADERELECTION_RETRY_PERIOD 2.0

extern const struct kube_resource leaderelection_leases; /* coordination.k8s.io/v1 leases */

struct leaderelection_params {
	const char *identity;
	double lease_duration; /* seconds written to leaseDurationSeconds */
	double renew_deadline;
	double retry_period;
};

/* What an elector remembers between tries. Initialise with leaderelection_state_init. */
struct leaderelection_state {
	json_t *observed;   /* the Lease spec last seen (owned), NULL before the first read */
	double observed_at; /* monotonic time that record was first seen */
	double renewed_at;  /* monotonic time of our last successful acquire or renew */
	bool leading;
	json_t *lease; /* the last Lease read or written (owned), for resourceVersion */
};

enum leaderelection_action {
	LEADERELECTION_WAIT,   /* someone else holds a valid lease */
	LEADERELECTION_CREATE, /* no Lease yet: create it, held by us */
	LEADERELECTION_UPDATE, /* renew ours, or take over a released or expired one */
};

void leaderelection_state_init(struct leaderelection_state *st);
void leaderelection_state_release(struct leaderelection_state *st);

/* Decide what to do about current (the Lease as read; NULL when it does not exist) at now_mono
 * (monotonic) / now_wall (for the timestamps written). Notes the record in st when it changed.
 * On CREATE or UPDATE *body is the Lease to write (a new reference); on WAIT it is NULL.
 * 0 or SAQR_ENOMEM. */
int leaderelection_decide(struct leaderelection_state *st, const struct leaderelection_params *p,
			  const char *ns, const char *name, const json_t *current, double now_mono,
			  double now_wall, enum leaderelection_action *action, json_t **body);
/* The write of a decision succeeded and the server answered written: we lead as of now_mono. */
void leaderelection_record_success(struct leaderelection_state *st, const json_t *written, double now_mono);
/* True when we lead but have not renewed for renew_deadline: leadership is lost. */
bool leaderelection_renew_expired(const struct leaderelection_state *st,
				  const struct leaderelection_params *p, double now_mono);
/* The Lease that gives up our leadership: holderIdentity "", leaseDurationSeconds 1, times
 * now_wall, leaseTransitions kept, the resourceVersion last seen. 0, SAQR_EEMPTY (we are not
 * leading, or the Lease last seen names another holder) or SAQR_ENOMEM. */
int leaderelection_release_body(const struct leaderelection_state *st, const struct leaderelection_params *p,
				double now_wall, json_t **out);

/* ---- the elector ---- */

struct leaderelection_config {
	const char *namespace; /* of the Lease */
	const char *name;
	const char *identity;  /* this replica, usually the pod name */
	double lease_duration; /* 0: the defaults above */
	double renew_deadline;
	double retry_period;
	/* Called on the elector's thread; must return promptly. */
	void (*on_started_leading)(void *ud);
	void (*on_stopped_leading)(void *ud);
	void *ud;
};

struct leaderelection;

/* Strings are copied; ops is borrowed. SAQR_EINVAL unless lease_duration > renew_deadline >
 * retry_period > 0 and namespace, name and identity are set. */
int leaderelection_new(const struct kubeops *ops, const struct leaderelection_config *cfg,
		       struct leaderelection **out);
/* Stop (see leaderelection_stop) and free. NULL is a no-op. */
void leaderelection_free(struct leaderelection *le);
/* One acquire-or-renew round on the calling thread: read the Lease, decide, write.
 * 0 when we hold the Lease afterwards, SAQR_EBUSY when another holder's lease is valid, or
 * the failed call's error. Does not call the callbacks. Not with the thread running. */
int leaderelection_try(struct leaderelection *le);
/* Run the election loop on a new thread. 0, SAQR_EBUSY (started) or SAQR_ENOMEM. */
int leaderelection_start(struct leaderelection *le);
/* Stop the loop; when leading, release the Lease and call on_stopped_leading. Idempotent. */
void leaderelection_stop(struct leaderelection *le);
bool leaderelection_is_leader(struct leaderelection *le);

#endif
