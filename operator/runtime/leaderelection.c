/* Lease-based leader election: the pure decision functions, then the elector thread. */
#include "operator/runtime/leaderelection.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "operator/runtime/ctrltime.h"

const struct kube_resource leaderelection_leases = {"coordination.k8s.io", "v1", "leases", true};

void leaderelection_state_init(struct leaderelection_state *st)
{
	memset(st, 0, sizeof(*st));
}

void leaderelection_state_release(struct leaderelection_state *st)
{
	json_decref(st->observed);
	json_decref(st->lease);
	leaderelection_state_init(st);
}

static void le_set(json_t **slot, json_t *v)
{
	json_t *old = *slot;

	*slot = json_incref(v);
	json_decref(old);
}

/* Remember current's spec, restarting the observation clock when it changed. */
static void le_observe(struct leaderelection_state *st, const json_t *current, double now_mono)
{
	json_t *spec = json_object_get(current, "spec");
	json_t *copy = spec ? json_deep_copy(spec) : json_object();

	le_set(&st->lease, (json_t *)current);
	if (st->observed && copy && json_same(st->observed, copy)) {
		json_decref(copy);
		return;
	}
	json_decref(st->observed);
	st->observed = copy;
	st->observed_at = now_mono;
}

/* Fill spec for us holding the lease at now_wall. */
static int le_fill_spec(json_t *spec, const struct leaderelection_params *p, const json_t *old_spec,
			bool ours, double now_wall)
{
	char now[40];
	const char *acquired = json_path_str(old_spec, "acquireTime", NULL);
	long long transitions = json_path_int(old_spec, "leaseTransitions", 0);
	int rc = ctrltime_format_micro(now_wall, now, sizeof(now));

	if (rc)
		return rc;
	if (!ours) {
		acquired = now;
		transitions = old_spec ? transitions + 1 : 0;
	}
	rc |= json_object_set_new(spec, "holderIdentity", json_string(p->identity));
	rc |= json_object_set_new(spec, "leaseDurationSeconds",
				  json_integer((json_int_t)ceil(p->lease_duration)));
	rc |= json_object_set_new(spec, "acquireTime", json_string(acquired ? acquired : now));
	rc |= json_object_set_new(spec, "renewTime", json_string(now));
	rc |= json_object_set_new(spec, "leaseTransitions", json_integer(transitions));
	return rc ? SAQR_ENOMEM : 0;
}

static json_t *le_new_lease(const char *ns, const char *name)
{
	return json_pack("{s:s, s:s, s:{s:s, s:s}, s:{}}", "apiVersion", "coordination.k8s.io/v1", "kind",
			 "Lease", "metadata", "name", name, "namespace", ns, "spec");
}

int leaderelection_decide(struct leaderelection_state *st, const struct leaderelection_params *p,
			  const char *ns, const char *name, const json_t *current, double now_mono,
			  double now_wall, enum leaderelection_action *action, json_t **body)
{
	const char *holder;
	double duration;
	json_t *lease, *spec;
	bool ours;

	if (!current) {
		le_set(&st->lease, NULL);
		lease = le_new_lease(ns, name);
		if (!lease || le_fill_spec(json_object_get(lease, "spec"), p, NULL, false, now_wall) != 0)
			goto nomem;
		*action = LEADERELECTION_CREATE;
		*body = lease;
		return 0;
	}
	le_observe(st, current, now_mono);
	holder = json_path_str(st->observed, "holderIdentity", "");
	duration = (double)json_path_int(st->observed, "leaseDurationSeconds", 0);
	ours = strcmp(holder, p->identity) == 0;
	if (*holder && !ours && st->observed_at + duration > now_mono) {
		*action = LEADERELECTION_WAIT;
		*body = NULL;
		return 0;
	}
	lease = json_deep_copy(current);
	spec = lease ? json_object() : NULL;
	if (!spec || json_object_set_new(lease, "spec", spec) != 0 ||
	    le_fill_spec(spec, p, st->observed, ours, now_wall) != 0)
		goto nomem;
	*action = LEADERELECTION_UPDATE;
	*body = lease;
	return 0;
nomem:
	json_decref(lease);
	return SAQR_ENOMEM;
}

void leaderelection_record_success(struct leaderelection_state *st, const json_t *written, double now_mono)
{
	le_set(&st->lease, (json_t *)written);
	json_decref(st->observed);
	st->observed = json_deep_copy(json_object_get(written, "spec"));
	st->observed_at = now_mono;
	st->renewed_at = now_mono;
	st->leading = true;
}

bool leaderelection_renew_expired(const struct leaderelection_state *st,
				  const struct leaderelection_params *p, double now_mono)
{
	return st->leading && now_mono - st->renewed_at >= p->renew_deadline;
}

int leaderelection_release_body(const struct leaderelection_state *st, const struct leaderelection_params *p,
				double now_wall, json_t **out)
{
	char now[40];
	json_t *lease, *spec;
	int rc = 0;

	if (!st->leading || !st->lease ||
	    strcmp(json_path_str(st->lease, "spec.holderIdentity", ""), p->identity) != 0)
		return SAQR_EEMPTY;
	if (ctrltime_format_micro(now_wall, now, sizeof(now)) != 0)
		return SAQR_EINVAL;
	lease = json_deep_copy(st->lease);
	spec = json_object_get(lease, "spec");
	if (!json_is_object(spec))
		rc = SAQR_ENOMEM;
	rc = rc ? rc : json_object_set_new(spec, "holderIdentity", json_string(""));
	rc = rc ? rc : json_object_set_new(spec, "leaseDurationSeconds", json_integer(1));
	rc = rc ? rc : json_object_set_new(spec, "acquireTime", json_string(now));
	rc = rc ? rc : json_object_set_new(spec, "renewTime", json_string(now));
	if (rc) {
		json_decref(lease);
		return SAQR_ENOMEM;
	}
	*out = lease;
	return 0;
}

/* ---- the elector ---- */

struct leaderelection {
	const struct kubeops *ops;
	char *ns, *name, *identity;
	struct leaderelection_params p;
	struct leaderelection_config cfg;
	struct leaderelection_state st; /* the elector's thread (or try's caller) only */
	atomic_bool leader;
	atomic_bool stop;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool started, joined;
};

static bool le_valid_config(const struct leaderelection_config *c)
{
	return c->namespace && *c->namespace && c->name && *c->name && c->identity && *c->identity &&
	       c->lease_duration > c->renew_deadline && c->renew_deadline > c->retry_period &&
	       c->retry_period > 0;
}

int leaderelection_new(const struct kubeops *ops, const struct leaderelection_config *cfg,
		       struct leaderelection **out)
{
	struct leaderelection_config c = *cfg;
	struct leaderelection *le;

	c.lease_duration = c.lease_duration > 0 ? c.lease_duration : LEADERELECTION_LEASE_DURATION;
	c.renew_deadline = c.renew_deadline > 0 ? c.renew_deadline : LEADERELECTION_RENEW_DEADLINE;
	c.retry_period = c.retry_period > 0 ? c.retry_period : LEADERELECTION_RETRY_PERIOD;
	if (!ops || !le_valid_config(&c))
		return SAQR_EINVAL;
	le = calloc(1, sizeof(*le));
	if (!le)
		return SAQR_ENOMEM;
	le->ops = ops;
	le->ns = strdup(c.namespace);
	le->name = strdup(c.name);
	le->identity = strdup(c.identity);
	le->cfg = c;
	le->p =
	    (struct leaderelection_params){le->identity, c.lease_duration, c.renew_deadline, c.retry_period};
	leaderelection_state_init(&le->st);
	pthread_mutex_init(&le->lock, NULL);
	if (ctrltime_cond_init(&le->cond) != 0 || !le->ns || !le->name || !le->identity) {
		leaderelection_free(le);
		return SAQR_ENOMEM;
	}
	*out = le;
	return 0;
}

void leaderelection_free(struct leaderelection *le)
{
	if (!le)
		return;
	leaderelection_stop(le);
	leaderelection_state_release(&le->st);
	pthread_cond_destroy(&le->cond);
	pthread_mutex_destroy(&le->lock);
	free(le->ns);
	free(le->name);
	free(le->identity);
	free(le);
}

bool leaderelection_is_leader(struct leaderelection *le)
{
	return atomic_load(&le->leader);
}

/* Write the decided body; on success we lead. */
static int le_write(struct leaderelection *le, enum leaderelection_action action, json_t *body)
{
	const struct kube_write_opts wo = {0};
	struct kube_status st = {0};
	json_t *written = NULL;
	int rc;

	if (action == LEADERELECTION_CREATE)
		rc = le->ops->create(le->ops, &leaderelection_leases, le->ns, body, &wo, &written, &st);
	else
		rc = le->ops->update(le->ops, &leaderelection_leases, le->ns, body, &wo, &written, &st);
	if (rc == 0) {
		leaderelection_record_success(&le->st, written ? written : body, ctrltime_mono());
		atomic_store(&le->leader, true);
	} else if (rc != SAQR_ECONFLICT && rc != SAQR_EEXIST) {
		log_warn("leader election: cannot write the lease", "lease", le->name, "error",
			 saqr_strerror(rc), "message", st.message);
	}
	json_decref(written);
	return rc;
}

static int le_round(struct leaderelection *le)
{
	enum leaderelection_action action;
	struct kube_status st = {0};
	json_t *current = NULL, *body = NULL;
	int rc;

	rc = le->ops->get(le->ops, &leaderelection_leases, le->ns, le->name, &current, &st);
	if (rc && rc != SAQR_ENOTFOUND)
		return rc;
	rc = leaderelection_decide(&le->st, &le->p, le->ns, le->name, current, ctrltime_mono(),
				   ctrltime_wall(), &action, &body);
	if (rc == 0)
		rc = action == LEADERELECTION_WAIT ? SAQR_EBUSY : le_write(le, action, body);
	json_decref(current);
	json_decref(body);
	return rc;
}

int leaderelection_try(struct leaderelection *le)
{
	int rc = le_round(le);

	if (rc && leaderelection_renew_expired(&le->st, &le->p, ctrltime_mono())) {
		le->st.leading = false;
		atomic_store(&le->leader, false);
	}
	return rc;
}

static void le_sleep(struct leaderelection *le, double secs)
{
	double deadline = ctrltime_mono() + secs;

	pthread_mutex_lock(&le->lock);
	while (!atomic_load(&le->stop) && ctrltime_mono() < deadline)
		ctrltime_cond_wait_until(&le->cond, &le->lock, deadline);
	pthread_mutex_unlock(&le->lock);
}

static void *le_main(void *arg)
{
	struct leaderelection *le = arg;
	bool was_leader = false;

	while (!atomic_load(&le->stop)) {
		bool leader;

		leaderelection_try(le);
		leader = leaderelection_is_leader(le);
		if (leader && !was_leader) {
			log_info("leader election: acquired the lease", "lease", le->name, "identity",
				 le->identity);
			if (le->cfg.on_started_leading)
				le->cfg.on_started_leading(le->cfg.ud);
		} else if (!leader && was_leader) {
			log_warn("leader election: lost the lease", "lease", le->name, "identity",
				 le->identity);
			if (le->cfg.on_stopped_leading)
				le->cfg.on_stopped_leading(le->cfg.ud);
		}
		was_leader = leader;
		/* Candidates spread their tries (client-go's jitter factor 1.2); the leader renews
		 * on the dot. */
		le_sleep(le, le->p.retry_period * (leader ? 1.0 : 1.0 + 1.2 * ctrltime_jitter()));
	}
	return NULL;
}

int leaderelection_start(struct leaderelection *le)
{
	int rc = 0;

	pthread_mutex_lock(&le->lock);
	if (le->started)
		rc = SAQR_EBUSY;
	else if (pthread_create(&le->thread, NULL, le_main, le) != 0)
		rc = SAQR_ENOMEM;
	else
		le->started = true;
	pthread_mutex_unlock(&le->lock);
	return rc;
}

static void le_release(struct leaderelection *le)
{
	const struct kube_write_opts wo = {0};
	struct kube_status st = {0};
	json_t *body = NULL;
	int rc;

	if (leaderelection_release_body(&le->st, &le->p, ctrltime_wall(), &body) != 0)
		return;
	rc = le->ops->update(le->ops, &leaderelection_leases, le->ns, body, &wo, NULL, &st);
	json_decref(body);
	if (rc)
		log_warn("leader election: cannot release the lease", "lease", le->name, "error",
			 saqr_strerror(rc), "message", st.message);
	else
		log_info("leader election: released the lease", "lease", le->name, "identity", le->identity);
}

void leaderelection_stop(struct leaderelection *le)
{
	bool join, was_leader;

	pthread_mutex_lock(&le->lock);
	atomic_store(&le->stop, true);
	pthread_cond_broadcast(&le->cond);
	join = le->started && !le->joined;
	le->joined = le->joined || join;
	pthread_mutex_unlock(&le->lock);
	if (join)
		pthread_join(le->thread, NULL);
	was_leader = atomic_exchange(&le->leader, false);
	if (!was_leader)
		return;
	le_release(le);
	le->st.leading = false;
	if (le->cfg.on_stopped_leading)
		le->cfg.on_stopped_leading(le->cfg.ud);
}
