/* Event recorder: a FIFO of pending events (repeats folded in through a map of pending keys),
 * one posting thread, and a map of recently posted events for series aggregation that only
 * the posting thread touches. */
#include "operator/runtime/events.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "operator/runtime/ctrltime.h"
#include "operator/runtime/ratelimit.h"
#include "operator/runtime/strmap.h"

#define EV_NAME_MAX 253
#define EV_HEX_SUFFIX 17 /* "." and 16 hex digits */

const struct kube_resource events_resource = {"events.k8s.io", "v1", "events", true};

struct ev_item {
	struct ev_item *next;
	char *key;
	json_t *ref;
	char *note;
	char type[8];
	char reason[EVENTS_REASON_MAX + 1];
	char action[EVENTS_REASON_MAX + 1];
	unsigned count;
	double first_wall, last_wall;
};

/* A posted Event, for aggregation. */
struct ev_sent {
	char ns[64];
	char name[EV_NAME_MAX + 1];
	unsigned count;
	double last_mono;
};

struct events_recorder {
	const struct kubeops *ops;
	char *controller, *instance;
	struct events_config cfg;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct ev_item *head, *tail;
	size_t len;
	struct strmap pending; /* key -> queued item */
	struct strmap sent;    /* key -> ev_sent; posting thread only */
	bool inflight;
	bool stop;
	bool started, joined;
	pthread_t thread;
	struct ratelimit_bucket bucket;
	struct events_stats stats;
};

/* ---- pure parts ---- */

int events_reference(const json_t *obj, json_t **out)
{
	static const char *const fields[][2] = {
	    {"apiVersion", "apiVersion"},
	    {"kind", "kind"},
	    {"namespace", "metadata.namespace"},
	    {"name", "metadata.name"},
	    {"uid", "metadata.uid"},
	    {"resourceVersion", "metadata.resourceVersion"},
	};
	json_t *ref;

	if (!*json_path_str(obj, "kind", "") || !*json_path_str(obj, "metadata.name", ""))
		return SAQR_EINVAL;
	ref = json_object();
	if (!ref)
		return SAQR_ENOMEM;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const char *v = json_path_str(obj, fields[i][1], NULL);

		if (v && *v && json_object_set_new(ref, fields[i][0], json_string(v)) != 0) {
			json_decref(ref);
			return SAQR_ENOMEM;
		}
	}
	*out = ref;
	return 0;
}

static json_t *ev_time(double wall)
{
	char buf[40];

	return ctrltime_format_micro(wall, buf, sizeof(buf)) == 0 ? json_string(buf) : NULL;
}

int events_series_patch(unsigned count, double last_wall, json_t **out)
{
	json_t *p = json_pack("{s:{s:I, s:o*}}", "series", "count", (json_int_t)count, "lastObservedTime",
			      ev_time(last_wall));

	if (!p || !json_path(p, "series.lastObservedTime")) {
		json_decref(p);
		return SAQR_ENOMEM;
	}
	*out = p;
	return 0;
}

static void ev_name(const json_t *ref, double first_wall, char *out, size_t outlen)
{
	const char *name = json_path_str(ref, "name", "event");
	int keep = (int)strnlen(name, EV_NAME_MAX - EV_HEX_SUFFIX);

	snprintf(out, outlen, "%.*s.%016llx", keep, name, (unsigned long long)(first_wall * 1e9));
}

int events_build(const char *controller, const char *instance, const json_t *regarding_ref, const char *type,
		 const char *reason, const char *action, const char *note, double first_wall,
		 double last_wall, unsigned count, json_t **out)
{
	const char *ns = json_path_str(regarding_ref, "namespace", "");
	char name[EV_NAME_MAX + 1];
	json_t *ev, *series = NULL;

	ev_name(regarding_ref, first_wall, name, sizeof(name));
	if (count >= 2 && events_series_patch(count, last_wall, &series) != 0)
		return SAQR_ENOMEM;
	ev = json_pack("{s:s, s:s, s:{s:s, s:s}, s:o*, s:s, s:s, s:s, s:s, s:s, s:s, s:O}", "apiVersion",
		       "events.k8s.io/v1", "kind", "Event", "metadata", "name", name, "namespace",
		       *ns ? ns : "default", "eventTime", ev_time(first_wall), "reportingController",
		       controller, "reportingInstance", instance, "action", action, "reason", reason, "note",
		       note, "type", type, "regarding", regarding_ref);
	if (ev && series)
		json_object_update(ev, series);
	json_decref(series);
	if (!ev || !json_object_get(ev, "eventTime")) {
		json_decref(ev);
		return SAQR_ENOMEM;
	}
	*out = ev;
	return 0;
}

/* ---- recorder ---- */

static void ev_item_free(struct ev_item *it)
{
	if (!it)
		return;
	free(it->key);
	free(it->note);
	json_decref(it->ref);
	free(it);
}

static void ev_count(struct events_recorder *r, const char *result, unsigned long long *stat, unsigned n)
{
	char labels[64];

	*stat += n;
	if (!r->cfg.metrics)
		return;
	snprintf(labels, sizeof(labels), "result=\"%s\"", result);
	metrics_counter_add(
	    r->cfg.metrics, "saqr_events_total",
	    "Kubernetes Events by outcome: created, aggregated (into a series), dropped, failed.", labels, n);
}

static int ev_dup(const char *s, const char *def, char **out)
{
	*out = strdup(s && *s ? s : def);
	return *out ? 0 : SAQR_ENOMEM;
}

int events_recorder_new(const struct kubeops *ops, const struct events_config *cfg,
			struct events_recorder **out)
{
	struct events_recorder *r;

	if (!ops || !cfg || !cfg->instance || !*cfg->instance)
		return SAQR_EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return SAQR_ENOMEM;
	r->ops = ops;
	r->cfg = *cfg;
	r->cfg.window = r->cfg.window > 0 ? r->cfg.window : EVENTS_WINDOW;
	r->cfg.queue_cap = r->cfg.queue_cap ? r->cfg.queue_cap : EVENTS_QUEUE_CAP;
	r->cfg.cache_cap = r->cfg.cache_cap ? r->cfg.cache_cap : EVENTS_CACHE_CAP;
	r->cfg.qps = r->cfg.qps != 0 ? r->cfg.qps : EVENTS_QPS;
	r->cfg.burst = r->cfg.burst > 0 ? r->cfg.burst : EVENTS_BURST;
	r->cfg.clock = r->cfg.clock ? r->cfg.clock : ctrltime_mono;
	r->cfg.wall = r->cfg.wall ? r->cfg.wall : ctrltime_wall;
	pthread_mutex_init(&r->lock, NULL);
	strmap_init(&r->pending);
	strmap_init(&r->sent);
	ratelimit_bucket_init(&r->bucket, r->cfg.qps, r->cfg.burst, r->cfg.clock());
	if (ctrltime_cond_init(&r->cond) != 0 ||
	    ev_dup(cfg->controller, EVENTS_CONTROLLER, &r->controller) != 0 ||
	    ev_dup(cfg->instance, "", &r->instance) != 0) {
		events_recorder_free(r);
		return SAQR_ENOMEM;
	}
	r->cfg.controller = r->controller;
	r->cfg.instance = r->instance;
	*out = r;
	return 0;
}

void events_recorder_free(struct events_recorder *r)
{
	if (!r)
		return;
	events_recorder_stop(r);
	while (r->head) {
		struct ev_item *it = r->head;

		r->head = it->next;
		ev_item_free(it);
	}
	strmap_release(&r->pending, NULL);
	strmap_release(&r->sent, free);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r->controller);
	free(r->instance);
	free(r);
}

void events_recorder_stats(struct events_recorder *r, struct events_stats *out)
{
	pthread_mutex_lock(&r->lock);
	*out = r->stats;
	pthread_mutex_unlock(&r->lock);
}

/* Cut a note of n bytes at EVENTS_NOTE_MAX without splitting a UTF-8 sequence. buf holds at
 * least EVENTS_NOTE_MAX + 1 bytes of the formatted text. */
static void ev_cut_note(char *buf, int n)
{
	size_t p = EVENTS_NOTE_MAX;

	if (n <= EVENTS_NOTE_MAX)
		return;
	while (p > 0 && ((unsigned char)buf[p] & 0xC0) == 0x80)
		p--;
	buf[p] = '\0';
}

static bool ev_valid_word(const char *s)
{
	return s && *s && strlen(s) <= EVENTS_REASON_MAX;
}

/* The aggregation key: regarding object, type, reason and note. */
static char *ev_key(const json_t *ref, const char *type, const char *reason, const char *note)
{
	const char *uid = json_path_str(ref, "uid", "");
	char *key = NULL;

	if (*uid) {
		if (asprintf(&key, "%s\x1f%s\x1f%s\x1f%s", uid, type, reason, note) < 0)
			return NULL;
	} else if (asprintf(&key, "%s/%s/%s\x1f%s\x1f%s\x1f%s", json_path_str(ref, "kind", ""),
			    json_path_str(ref, "namespace", ""), json_path_str(ref, "name", ""), type, reason,
			    note) < 0) {
		return NULL;
	}
	return key;
}

static int ev_make_item(const json_t *regarding, const char *type, const char *reason, const char *action,
			char *note, double wall, struct ev_item **out)
{
	struct ev_item *it = calloc(1, sizeof(*it));
	json_t *check;
	int rc;

	if (!it) {
		free(note);
		return SAQR_ENOMEM;
	}
	it->note = note;
	rc = events_reference(regarding, &it->ref);
	check = rc ? NULL : json_string(note); /* jansson refuses invalid UTF-8 */
	if (rc == 0 && !check)
		rc = SAQR_EINVAL;
	json_decref(check);
	if (rc == 0 && !(it->key = ev_key(it->ref, type, reason, note)))
		rc = SAQR_ENOMEM;
	if (rc) {
		ev_item_free(it);
		return rc;
	}
	snprintf(it->type, sizeof(it->type), "%s", type);
	snprintf(it->reason, sizeof(it->reason), "%s", reason);
	snprintf(it->action, sizeof(it->action), "%s", action);
	it->count = 1;
	it->first_wall = it->last_wall = wall;
	*out = it;
	return 0;
}

/* Queue it, or fold it into the same event already queued. Takes it. lock held. */
static int ev_enqueue(struct events_recorder *r, struct ev_item *it)
{
	struct ev_item *same = strmap_get(&r->pending, it->key);
	int rc = 0;

	if (r->stop) {
		rc = SAQR_ECLOSED;
	} else if (same) {
		same->count++;
		same->last_wall = it->last_wall;
	} else if (r->len >= r->cfg.queue_cap) {
		ev_count(r, "dropped", &r->stats.dropped, 1);
		rc = SAQR_EBUSY;
	} else if (strmap_put(&r->pending, it->key, it, NULL) != 0) {
		rc = SAQR_ENOMEM;
	} else {
		if (r->tail)
			r->tail->next = it;
		else
			r->head = it;
		r->tail = it;
		r->len++;
		pthread_cond_broadcast(&r->cond);
		return 0;
	}
	ev_item_free(it);
	return rc;
}

int events_record(struct events_recorder *r, const json_t *regarding, const char *type, const char *reason,
		  const char *action, const char *fmt, ...)
{
	struct ev_item *it;
	va_list ap;
	char *note;
	int n, rc;

	if (!type || (strcmp(type, "Normal") != 0 && strcmp(type, "Warning") != 0) ||
	    !ev_valid_word(reason) || !ev_valid_word(action) || !fmt)
		return SAQR_EINVAL;
	note = malloc(EVENTS_NOTE_MAX + 8);
	if (!note)
		return SAQR_ENOMEM;
	va_start(ap, fmt);
	/* clang-tidy 14 reports ap uninitialised here, but only when it analyses several files in
	 * one run (hack/lint.sh does); each file alone is clean. */
	n = vsnprintf(note, EVENTS_NOTE_MAX + 8, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
	va_end(ap);
	if (n < 0) {
		free(note);
		return SAQR_EINVAL;
	}
	ev_cut_note(note, n);
	rc = ev_make_item(regarding, type, reason, action, note, r->cfg.wall(), &it);
	if (rc)
		return rc;
	pthread_mutex_lock(&r->lock);
	rc = ev_enqueue(r, it);
	pthread_mutex_unlock(&r->lock);
	return rc;
}

/* ---- posting (the recorder's thread) ---- */

/* Wait for a write token; false when stopped meanwhile. */
static bool ev_throttle(struct events_recorder *r)
{
	double wait, deadline;
	bool ok;

	pthread_mutex_lock(&r->lock);
	wait = ratelimit_bucket_reserve(&r->bucket, r->cfg.clock());
	deadline = ctrltime_mono() + wait;
	while (!r->stop && wait > 0 && ctrltime_mono() < deadline)
		ctrltime_cond_wait_until(&r->cond, &r->lock, deadline);
	ok = !r->stop;
	pthread_mutex_unlock(&r->lock);
	return ok;
}

/* Forget posted events outside the window; if still full, the one seen longest ago. */
static void ev_trim_sent(struct events_recorder *r, double now)
{
	struct strmap_iter it;
	const char *key, *oldest = NULL;
	double oldest_at = 0;
	void *val;

	strmap_iter_init(&it);
	while (strmap_next(&r->sent, &it, &key, &val)) {
		struct ev_sent *s = val;

		if (now - s->last_mono >= r->cfg.window) {
			free(strmap_remove(&r->sent, key));
		} else if (!oldest || s->last_mono < oldest_at) {
			oldest = key;
			oldest_at = s->last_mono;
		}
	}
	if (strmap_len(&r->sent) >= r->cfg.cache_cap && oldest)
		free(strmap_remove(&r->sent, oldest));
}

static void ev_remember(struct events_recorder *r, const struct ev_item *it, const json_t *created,
			double now)
{
	struct ev_sent *s = calloc(1, sizeof(*s)), *old = NULL;

	if (!s)
		return;
	snprintf(s->ns, sizeof(s->ns), "%s", json_path_str(created, "metadata.namespace", ""));
	snprintf(s->name, sizeof(s->name), "%s", json_path_str(created, "metadata.name", ""));
	s->count = it->count;
	s->last_mono = now;
	if (strmap_len(&r->sent) >= r->cfg.cache_cap)
		ev_trim_sent(r, now);
	if (strmap_put(&r->sent, it->key, s, (void **)&old) != 0)
		free(s);
	free(old);
}

static void ev_result(struct events_recorder *r, const char *result, unsigned long long *stat, unsigned n)
{
	pthread_mutex_lock(&r->lock);
	ev_count(r, result, stat, n);
	pthread_mutex_unlock(&r->lock);
}

static void ev_create(struct events_recorder *r, const struct ev_item *it, double now)
{
	struct kube_write_opts wo = {0};
	struct kube_status st = {0};
	json_t *body = NULL, *created = NULL;
	int rc;

	rc = events_build(r->controller, r->instance, it->ref, it->type, it->reason, it->action, it->note,
			  it->first_wall, it->last_wall, it->count, &body);
	if (rc == 0 && !ev_throttle(r))
		rc = SAQR_ECLOSED;
	if (rc == 0)
		rc = r->ops->create(r->ops, &events_resource, json_path_str(body, "metadata.namespace", ""),
				    body, &wo, &created, &st);
	if (rc == 0) {
		ev_remember(r, it, created ? created : body, now);
		ev_result(r, "created", &r->stats.created, 1);
		if (it->count > 1)
			ev_result(r, "aggregated", &r->stats.aggregated, it->count - 1);
	} else if (rc != SAQR_ECLOSED) {
		log_warn("events: cannot create event", "reason", it->reason, "error", saqr_strerror(rc),
			 "message", st.message);
		ev_result(r, "failed", &r->stats.failed, 1);
	}
	json_decref(body);
	json_decref(created);
}

/* Patch the series of the posted event s. 0, or the error (SAQR_ENOTFOUND: it expired). */
static int ev_patch(struct events_recorder *r, struct ev_sent *s, const struct ev_item *it, double now)
{
	struct kube_write_opts wo = {0};
	struct kube_status st = {0};
	json_t *patch = NULL;
	int rc;

	rc = events_series_patch(s->count + it->count, it->last_wall, &patch);
	if (rc == 0 && !ev_throttle(r))
		rc = SAQR_ECLOSED;
	if (rc == 0)
		rc = r->ops->patch(r->ops, &events_resource, s->ns, s->name, KUBE_PATCH_MERGE, patch, &wo,
				   NULL, &st);
	json_decref(patch);
	if (rc == 0) {
		s->count += it->count;
		s->last_mono = now;
		ev_result(r, "aggregated", &r->stats.aggregated, it->count);
	} else if (rc != SAQR_ENOTFOUND && rc != SAQR_ECLOSED) {
		log_warn("events: cannot update event series", "reason", it->reason, "error",
			 saqr_strerror(rc), "message", st.message);
		ev_result(r, "failed", &r->stats.failed, 1);
	}
	return rc;
}

static void ev_post(struct events_recorder *r, const struct ev_item *it)
{
	double now = r->cfg.clock();
	struct ev_sent *s = strmap_get(&r->sent, it->key);

	if (s && now - s->last_mono < r->cfg.window) {
		if (ev_patch(r, s, it, now) != SAQR_ENOTFOUND)
			return;
		/* The Event expired on the server (its TTL): start a new one. */
	}
	if (s)
		free(strmap_remove(&r->sent, it->key));
	ev_create(r, it, now);
}

static void *ev_main(void *arg)
{
	struct events_recorder *r = arg;

	pthread_mutex_lock(&r->lock);
	while (!r->stop) {
		struct ev_item *it = r->head;

		if (!it) {
			pthread_cond_wait(&r->cond, &r->lock);
			continue;
		}
		r->head = it->next;
		if (!r->head)
			r->tail = NULL;
		r->len--;
		strmap_remove(&r->pending, it->key);
		r->inflight = true;
		pthread_mutex_unlock(&r->lock);
		ev_post(r, it);
		ev_item_free(it);
		pthread_mutex_lock(&r->lock);
		r->inflight = false;
		pthread_cond_broadcast(&r->cond);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

int events_recorder_start(struct events_recorder *r)
{
	int rc = 0;

	pthread_mutex_lock(&r->lock);
	if (r->started)
		rc = SAQR_EBUSY;
	else if (pthread_create(&r->thread, NULL, ev_main, r) != 0)
		rc = SAQR_ENOMEM;
	else
		r->started = true;
	pthread_mutex_unlock(&r->lock);
	return rc;
}

int events_recorder_flush(struct events_recorder *r, double timeout)
{
	double deadline = ctrltime_mono() + timeout;
	int rc = 0;

	pthread_mutex_lock(&r->lock);
	while ((r->head || r->inflight) && rc == 0) {
		if (ctrltime_mono() >= deadline || r->stop || !r->started)
			rc = SAQR_ETIMEDOUT;
		else
			ctrltime_cond_wait_until(&r->cond, &r->lock, deadline);
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

void events_recorder_stop(struct events_recorder *r)
{
	bool join;

	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_broadcast(&r->cond);
	join = r->started && !r->joined;
	r->joined = r->joined || join;
	pthread_mutex_unlock(&r->lock);
	if (join)
		pthread_join(r->thread, NULL);
	pthread_mutex_lock(&r->lock);
	while (r->head) {
		struct ev_item *it = r->head;

		r->head = it->next;
		strmap_remove(&r->pending, it->key);
		ev_count(r, "dropped", &r->stats.dropped, it->count);
		ev_item_free(it);
	}
	r->tail = NULL;
	r->len = 0;
	pthread_mutex_unlock(&r->lock);
}
