/* Policy and certificate hot reload by polling stat(); see reload.h. */
#include "webhook/reload.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/err.h"
#include "common/log.h"

/* What stat() says about a path; two stamps differ when the file was replaced or rewritten. */
struct reload_stamp {
	bool present;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtim;
	struct timespec ctim;
};

struct reload {
	char *policy_file;
	char *cert_file;
	char *key_file;
	int (*reload_tls)(void *ud);
	void *tls_ud;
	struct metrics *metrics;
	void (*on_policy)(void *ud, bool loaded, const char *message);
	void *policy_ud;
	unsigned interval_ms;

	pthread_mutex_t lock; /* current, stop */
	pthread_cond_t wake;
	struct reload_policy *current;
	bool stop;

	pthread_mutex_t poll_lock; /* the stamps and generation: one poll at a time */
	unsigned long generation;
	struct reload_stamp policy_st, cert_st, key_st;

	pthread_t thread;
	bool running;
};

static void reload__stamp(const char *path, struct reload_stamp *st)
{
	struct stat sb;

	memset(st, 0, sizeof(*st));
	if (stat(path, &sb) != 0)
		return;
	st->present = true;
	st->dev = sb.st_dev;
	st->ino = sb.st_ino;
	st->size = sb.st_size;
	st->mtim = sb.st_mtim;
	st->ctim = sb.st_ctim;
}

/* Refresh *st from path; true when it differs from before. */
static bool reload__changed(const char *path, struct reload_stamp *st)
{
	struct reload_stamp now;
	bool changed;

	reload__stamp(path, &now);
	changed = now.present != st->present || now.dev != st->dev || now.ino != st->ino ||
		  now.size != st->size || now.mtim.tv_sec != st->mtim.tv_sec ||
		  now.mtim.tv_nsec != st->mtim.tv_nsec || now.ctim.tv_sec != st->ctim.tv_sec ||
		  now.ctim.tv_nsec != st->ctim.tv_nsec;
	*st = now;
	return changed;
}

static void reload__count(struct reload *r, const char *family, const char *help, bool ok)
{
	if (!r->metrics)
		return;
	metrics_counter_add(r->metrics, family, help, ok ? "result=\"success\"" : "result=\"error\"", 1);
}

static struct reload_policy *reload__wrap(struct policy *p, unsigned long generation)
{
	struct reload_policy *rp = calloc(1, sizeof(*rp));

	if (!rp)
		return NULL;
	rp->policy = p;
	rp->generation = generation;
	atomic_init(&rp->refs, 1);
	return rp;
}

/* Make rp the policy in use and drop the reloader's reference to the previous one. */
static void reload__swap(struct reload *r, struct reload_policy *rp)
{
	struct reload_policy *old;

	pthread_mutex_lock(&r->lock);
	old = r->current;
	r->current = rp;
	pthread_mutex_unlock(&r->lock);
	reload_policy_put(old);
}

static void reload__tell(struct reload *r, bool loaded, const char *message)
{
	if (r->on_policy)
		r->on_policy(r->policy_ud, loaded, message);
}

static int reload__policy(struct reload *r)
{
	static const char help[] = "Policy file reloads, by result.";
	struct reload_policy *rp;
	struct policy *p = NULL;
	char err[512] = "", gen[24];
	int rc;

	rc = policy_load_file(r->policy_file, &p, err, sizeof(err));
	rp = rc ? NULL : reload__wrap(p, r->generation + 1);
	if (!rp) {
		if (!rc) {
			policy_free(p);
			rc = SAQR_ENOMEM;
			snprintf(err, sizeof(err), "out of memory");
		}
		log_error("policy reload refused; the last good policy stays in use", "file", r->policy_file,
			  "error", err[0] ? err : saqr_strerror(rc));
		reload__count(r, "saqr_policy_reloads_total", help, false);
		if (r->metrics)
			metrics_gauge_set(r->metrics, "saqr_policy_last_reload_successful",
					  "Whether the last policy reload succeeded (1) or was refused (0).",
					  "", 0);
		reload__tell(r, false, err[0] ? err : saqr_strerror(rc));
		return rc;
	}
	r->generation++;
	reload__swap(r, rp);
	snprintf(gen, sizeof(gen), "%lu", r->generation);
	log_info("policy reloaded", "file", r->policy_file, "generation", gen);
	reload__count(r, "saqr_policy_reloads_total", help, true);
	if (r->metrics)
		metrics_gauge_set(r->metrics, "saqr_policy_last_reload_successful",
				  "Whether the last policy reload succeeded (1) or was refused (0).", "", 1);
	reload__tell(r, true, NULL);
	return 0;
}

static int reload__tls(struct reload *r)
{
	static const char help[] = "Serving certificate reloads, by result.";
	int rc = r->reload_tls ? r->reload_tls(r->tls_ud) : 0;

	/* httpd logs why a certificate was refused; the old one keeps serving */
	if (!rc)
		log_info("serving certificate reloaded", "file", r->cert_file);
	reload__count(r, "saqr_tls_reloads_total", help, rc == 0);
	return rc;
}

int reload_poll(struct reload *r)
{
	bool cert_changed, key_changed;
	int rc = 0, trc;

	pthread_mutex_lock(&r->poll_lock);
	if (r->policy_file && reload__changed(r->policy_file, &r->policy_st))
		rc = reload__policy(r);
	if (r->cert_file) {
		cert_changed = reload__changed(r->cert_file, &r->cert_st);
		key_changed = reload__changed(r->key_file, &r->key_st);
		trc = cert_changed || key_changed ? reload__tls(r) : 0;
		if (!rc)
			rc = trc;
	}
	pthread_mutex_unlock(&r->poll_lock);
	return rc;
}

static int reload__copy_opts(struct reload *r, const struct reload_opts *opts)
{
	r->policy_file = opts->policy_file ? strdup(opts->policy_file) : NULL;
	r->cert_file = opts->cert_file ? strdup(opts->cert_file) : NULL;
	r->key_file = opts->key_file ? strdup(opts->key_file) : NULL;
	if ((opts->policy_file && !r->policy_file) || (opts->cert_file && !r->cert_file) ||
	    (opts->key_file && !r->key_file))
		return SAQR_ENOMEM;
	if (!r->cert_file != !r->key_file)
		return SAQR_EINVAL;
	r->reload_tls = opts->reload_tls;
	r->tls_ud = opts->tls_ud;
	r->metrics = opts->metrics;
	r->on_policy = opts->on_policy;
	r->policy_ud = opts->policy_ud;
	r->interval_ms = opts->interval_ms ? opts->interval_ms : 1000;
	return 0;
}

static int reload__first_load(struct reload *r, char *err, size_t errlen)
{
	struct policy *p = NULL;
	int rc;

	/* stamp before reading, so that a write racing with the load is seen by the next poll */
	if (r->policy_file)
		reload__stamp(r->policy_file, &r->policy_st);
	if (r->cert_file) {
		reload__stamp(r->cert_file, &r->cert_st);
		reload__stamp(r->key_file, &r->key_st);
	}
	if (r->policy_file) {
		rc = policy_load_file(r->policy_file, &p, err, errlen);
	} else {
		rc = policy_load_default(&p);
		if (rc)
			snprintf(err, errlen, "the built-in policy did not load: %s", saqr_strerror(rc));
	}
	if (rc)
		return rc;
	r->current = reload__wrap(p, 1);
	if (!r->current) {
		policy_free(p);
		return SAQR_ENOMEM;
	}
	r->generation = 1;
	if (r->policy_file)
		reload__tell(r, true, NULL);
	return 0;
}

int reload_new(const struct reload_opts *opts, struct reload **out, char *err, size_t errlen)
{
	pthread_condattr_t ca;
	struct reload *r = calloc(1, sizeof(*r));
	int rc;

	if (!r)
		return SAQR_ENOMEM;
	pthread_mutex_init(&r->lock, NULL);
	pthread_mutex_init(&r->poll_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->wake, &ca);
	pthread_condattr_destroy(&ca);
	rc = reload__copy_opts(r, opts);
	if (rc)
		snprintf(err, errlen, "%s",
			 rc == SAQR_EINVAL ? "a certificate needs its key" : "out of memory");
	else
		rc = reload__first_load(r, err, errlen);
	if (rc) {
		reload_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

static void *reload__watch(void *arg)
{
	struct reload *r = arg;
	struct timespec until;

	pthread_mutex_lock(&r->lock);
	while (!r->stop) {
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += r->interval_ms / 1000;
		until.tv_nsec += (long)(r->interval_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!r->stop && pthread_cond_timedwait(&r->wake, &r->lock, &until) == 0)
			;
		if (r->stop)
			break;
		pthread_mutex_unlock(&r->lock);
		reload_poll(r);
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

int reload_start(struct reload *r)
{
	if (r->running)
		return 0;
	if (pthread_create(&r->thread, NULL, reload__watch, r))
		return SAQR_ENOMEM;
	r->running = true;
	return 0;
}

struct reload_policy *reload_policy_get(struct reload *r)
{
	struct reload_policy *p;

	pthread_mutex_lock(&r->lock);
	p = r->current;
	atomic_fetch_add(&p->refs, 1);
	pthread_mutex_unlock(&r->lock);
	return p;
}

void reload_policy_put(struct reload_policy *p)
{
	if (!p || atomic_fetch_sub(&p->refs, 1) != 1)
		return;
	policy_free(p->policy);
	free(p);
}

void reload_free(struct reload *r)
{
	if (!r)
		return;
	if (r->running) {
		pthread_mutex_lock(&r->lock);
		r->stop = true;
		pthread_cond_signal(&r->wake);
		pthread_mutex_unlock(&r->lock);
		pthread_join(r->thread, NULL);
	}
	reload_policy_put(r->current);
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->poll_lock);
	pthread_mutex_destroy(&r->lock);
	free(r->policy_file);
	free(r->cert_file);
	free(r->key_file);
	free(r);
}
