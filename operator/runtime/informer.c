/* Informer: list, watch, cache, handlers. The cache is a strmap of key -> entry under a
 * read-write lock (an entry is a json_t*, or with `compact` a malloc'd compact JSON text); the
 * informer thread is its only writer. */
#include "operator/runtime/informer.h"

/* glibc's malloc_trim; not under AddressSanitizer, whose allocator replaces glibc's (waking
 * glibc's unused arenas there trips its thread-exit bookkeeping). */
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
#define INFORMER_TRIM 1
#include <malloc.h>
#endif
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonpack.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "operator/runtime/ctrltime.h"
#include "operator/runtime/strmap.h"

#define INFORMER_RV_MAX 128
#define INFORMER_CONTINUE_MAX 4096

struct informer {
	const struct kubeops *ops;
	struct kube_resource res;
	char *group, *version, *resource;
	char *ns, *label_selector, *field_selector;
	struct informer_config cfg;
	struct informer_handlers handlers[INFORMER_MAX_HANDLERS];
	size_t nhandlers;

	pthread_rwlock_t cache_lock; /* guards cache and rv */
	struct strmap cache;
	char rv[INFORMER_RV_MAX];

	bool need_list; /* informer thread only */
	bool progress;	/* an event arrived during the current watch */
	atomic_bool synced;
	atomic_bool stop;

	pthread_mutex_t lock; /* guards running; wakes sleeps and waiters */
	pthread_cond_t cond;
	pthread_t thread;
	bool started;
	bool joined;
};

static void informer_json_decref(void *v)
{
	json_decref(v);
}

/* ---- cache entries ---- */

/* The entry to cache for obj (ours, already stripped): a new reference, or its packed compact
 * JSON text (common/jsonpack.h). NULL when out of memory. */
static void *informer_entry(const struct informer *inf, json_t *obj)
{
	return inf->cfg.compact ? (void *)jsonpack_dump(obj) : (void *)json_incref(obj);
}

/* A new reference to the object of entry e (NULL for NULL, or when out of memory). */
static json_t *informer_entry_object(const struct informer *inf, void *e)
{
	if (!e)
		return NULL;
	return inf->cfg.compact ? jsonpack_load(e) : json_incref(e);
}

static void informer_entry_free(bool compact, void *e)
{
	if (compact)
		free(e);
	else
		json_decref(e);
}

static void (*informer_entry_freer(const struct informer *inf))(void *)
{
	return inf->cfg.compact ? free : informer_json_decref;
}

/* Whether two entries hold the same object version (the same resourceVersion). */
static bool informer_entry_same(const struct informer *inf, void *a, void *b)
{
	json_t *x, *y;
	bool same;

	if (!inf->cfg.compact)
		return strcmp(json_path_str(a, "metadata.resourceVersion", ""),
			      json_path_str(b, "metadata.resourceVersion", "")) == 0;
	if (strcmp(a, b) == 0)
		return true;
	x = informer_entry_object(inf, a);
	y = informer_entry_object(inf, b);
	same = x && y &&
	       strcmp(json_path_str(x, "metadata.resourceVersion", ""),
		      json_path_str(y, "metadata.resourceVersion", "")) == 0;
	json_decref(x);
	json_decref(y);
	return same;
}

/* ---- the list gate: at most INFORMER_LIST_CONCURRENCY informers list at once ---- */

static pthread_mutex_t informer_gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t informer_gate_cond = PTHREAD_COND_INITIALIZER;
static int informer_gate_active;

static void informer_gate_enter(void)
{
	pthread_mutex_lock(&informer_gate_lock);
	while (informer_gate_active >= INFORMER_LIST_CONCURRENCY)
		pthread_cond_wait(&informer_gate_cond, &informer_gate_lock);
	informer_gate_active++;
	pthread_mutex_unlock(&informer_gate_lock);
}

static void informer_gate_leave(void)
{
	pthread_mutex_lock(&informer_gate_lock);
	informer_gate_active--;
	pthread_cond_signal(&informer_gate_cond);
	pthread_mutex_unlock(&informer_gate_lock);
}

static int informer_dup(const char *s, char **out)
{
	*out = NULL;
	if (!s || !*s)
		return 0;
	*out = strdup(s);
	return *out ? 0 : SAQR_ENOMEM;
}

static int informer_copy_config(struct informer *inf, const struct informer_config *cfg)
{
	int rc = 0;

	inf->cfg = *cfg;
	rc |= informer_dup(cfg->res.group, &inf->group);
	rc |= informer_dup(cfg->res.version, &inf->version);
	rc |= informer_dup(cfg->res.resource, &inf->resource);
	rc |= informer_dup(cfg->namespace, &inf->ns);
	rc |= informer_dup(cfg->label_selector, &inf->label_selector);
	rc |= informer_dup(cfg->field_selector, &inf->field_selector);
	if (rc)
		return SAQR_ENOMEM;
	inf->res.group = inf->group ? inf->group : "";
	inf->res.version = inf->version;
	inf->res.resource = inf->resource;
	inf->res.namespaced = cfg->res.namespaced;
	/* Only the copies are used from here on. */
	inf->cfg.res = inf->res;
	inf->cfg.namespace = inf->ns;
	inf->cfg.label_selector = inf->label_selector;
	inf->cfg.field_selector = inf->field_selector;
	if (inf->cfg.page_size <= 0)
		inf->cfg.page_size = INFORMER_PAGE_SIZE;
	if (inf->cfg.backoff_initial <= 0)
		inf->cfg.backoff_initial = INFORMER_BACKOFF_INITIAL;
	if (inf->cfg.backoff_max <= 0)
		inf->cfg.backoff_max = INFORMER_BACKOFF_MAX;
	return 0;
}

int informer_new(const struct kubeops *ops, const struct informer_config *cfg, struct informer **out)
{
	struct informer *inf;

	if (!ops || !cfg || !cfg->res.version || !cfg->res.resource)
		return SAQR_EINVAL;
	inf = calloc(1, sizeof(*inf));
	if (!inf)
		return SAQR_ENOMEM;
	inf->ops = ops;
	inf->need_list = true;
	strmap_init(&inf->cache);
	pthread_rwlock_init(&inf->cache_lock, NULL);
	pthread_mutex_init(&inf->lock, NULL);
	if (ctrltime_cond_init(&inf->cond) != 0 || informer_copy_config(inf, cfg) != 0) {
		informer_free(inf);
		return SAQR_ENOMEM;
	}
	*out = inf;
	return 0;
}

void informer_free(struct informer *inf)
{
	if (!inf)
		return;
	informer_stop(inf);
	strmap_release(&inf->cache, informer_entry_freer(inf));
	pthread_rwlock_destroy(&inf->cache_lock);
	pthread_cond_destroy(&inf->cond);
	pthread_mutex_destroy(&inf->lock);
	free(inf->group);
	free(inf->version);
	free(inf->resource);
	free(inf->ns);
	free(inf->label_selector);
	free(inf->field_selector);
	free(inf);
}

int informer_add_handlers(struct informer *inf, const struct informer_handlers *h)
{
	int rc = 0;

	pthread_mutex_lock(&inf->lock);
	if (inf->started)
		rc = SAQR_EBUSY;
	else if (inf->nhandlers == INFORMER_MAX_HANDLERS)
		rc = SAQR_ETOOBIG;
	else
		inf->handlers[inf->nhandlers++] = *h;
	pthread_mutex_unlock(&inf->lock);
	return rc;
}

/* ---- keys ---- */

int informer_object_key(const json_t *obj, char *out, size_t outlen)
{
	const char *ns = json_path_str(obj, "metadata.namespace", "");
	const char *name = json_path_str(obj, "metadata.name", "");
	int n;

	if (!*name)
		return SAQR_EINVAL;
	n = *ns ? snprintf(out, outlen, "%s/%s", ns, name) : snprintf(out, outlen, "%s", name);
	return n < 0 || (size_t)n >= outlen ? SAQR_ETOOBIG : 0;
}

int informer_split_key(const char *key, char *ns, size_t nslen, char *name, size_t namelen)
{
	const char *slash = strchr(key, '/');
	size_t nlen = slash ? (size_t)(slash - key) : 0;
	const char *nm = slash ? slash + 1 : key;

	if (!*nm || strchr(nm, '/') || (slash && nlen == 0))
		return SAQR_EINVAL;
	if (nlen >= nslen || strlen(nm) >= namelen)
		return SAQR_ETOOBIG;
	memcpy(ns, key, nlen);
	ns[nlen] = '\0';
	memcpy(name, nm, strlen(nm) + 1);
	return 0;
}

/* True when apiVersion ("group/version" or "version") is in group. */
static bool informer_group_matches(const char *api_version, const char *group)
{
	const char *slash = strchr(api_version, '/');

	if (!slash)
		return *group == '\0';
	return strlen(group) == (size_t)(slash - api_version) &&
	       strncmp(api_version, group, (size_t)(slash - api_version)) == 0;
}

int informer_controller_owner_key(const json_t *obj, const char *group, const char *kind, char *out,
				  size_t outlen)
{
	json_t *refs = json_path(obj, "metadata.ownerReferences");
	const char *ns = json_path_str(obj, "metadata.namespace", "");
	size_t i;
	json_t *ref;

	json_array_foreach(refs, i, ref)
	{
		const char *name = json_path_str(ref, "name", "");
		int n;

		if (!json_path_bool(ref, "controller", false, NULL) || !*name ||
		    strcmp(json_path_str(ref, "kind", ""), kind) != 0)
			continue;
		if (group && !informer_group_matches(json_path_str(ref, "apiVersion", ""), group))
			continue;
		n = *ns ? snprintf(out, outlen, "%s/%s", ns, name) : snprintf(out, outlen, "%s", name);
		return n < 0 || (size_t)n >= outlen ? SAQR_ETOOBIG : 0;
	}
	return SAQR_ENOTFOUND;
}

/* ---- cache reads ---- */

int informer_get_key(struct informer *inf, const char *key, json_t **out)
{
	json_t *v;

	pthread_rwlock_rdlock(&inf->cache_lock);
	v = informer_entry_object(inf, strmap_get(&inf->cache, key));
	pthread_rwlock_unlock(&inf->cache_lock);
	if (!v)
		return SAQR_ENOTFOUND;
	*out = v;
	return 0;
}

int informer_get(struct informer *inf, const char *ns, const char *name, json_t **out)
{
	char key[INFORMER_KEY_MAX];
	int n = ns && *ns ? snprintf(key, sizeof(key), "%s/%s", ns, name)
			  : snprintf(key, sizeof(key), "%s", name);

	if (n < 0 || (size_t)n >= sizeof(key))
		return SAQR_ENOTFOUND;
	return informer_get_key(inf, key, out);
}

int informer_list(struct informer *inf, const char *ns, json_t **out)
{
	json_t *arr = json_array();
	struct strmap_iter it;
	void *val;
	int rc = arr ? 0 : SAQR_ENOMEM;

	pthread_rwlock_rdlock(&inf->cache_lock);
	strmap_iter_init(&it);
	while (rc == 0 && strmap_next(&inf->cache, &it, NULL, &val)) {
		json_t *obj = informer_entry_object(inf, val);

		if (!obj)
			rc = SAQR_ENOMEM;
		else if ((!ns || strcmp(json_path_str(obj, "metadata.namespace", ""), ns) == 0) &&
			 json_array_append(arr, obj) != 0)
			rc = SAQR_ENOMEM;
		json_decref(obj);
	}
	pthread_rwlock_unlock(&inf->cache_lock);
	if (rc) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return 0;
}

size_t informer_len(struct informer *inf)
{
	size_t n;

	pthread_rwlock_rdlock(&inf->cache_lock);
	n = strmap_len(&inf->cache);
	pthread_rwlock_unlock(&inf->cache_lock);
	return n;
}

int informer_resource_version(struct informer *inf, char *out, size_t outlen)
{
	int rc = 0;

	pthread_rwlock_rdlock(&inf->cache_lock);
	if (strlen(inf->rv) >= outlen)
		rc = SAQR_ETOOBIG;
	else
		memcpy(out, inf->rv, strlen(inf->rv) + 1);
	pthread_rwlock_unlock(&inf->cache_lock);
	return rc;
}

bool informer_has_synced(struct informer *inf)
{
	return atomic_load(&inf->synced);
}

int informer_wait_synced(struct informer *inf, double timeout)
{
	double deadline = ctrltime_mono() + timeout;
	int rc = 0;

	pthread_mutex_lock(&inf->lock);
	while (!atomic_load(&inf->synced) && rc == 0) {
		if (atomic_load(&inf->stop))
			rc = SAQR_ECLOSED;
		else if (ctrltime_mono() >= deadline)
			rc = SAQR_ETIMEDOUT;
		else
			ctrltime_cond_wait_until(&inf->cond, &inf->lock, deadline);
	}
	pthread_mutex_unlock(&inf->lock);
	return rc;
}

/* ---- handlers ---- */

static void informer_fire_add(struct informer *inf, json_t *obj)
{
	for (size_t i = 0; i < inf->nhandlers; i++)
		if (inf->handlers[i].on_add)
			inf->handlers[i].on_add(inf->handlers[i].ud, obj);
}

static void informer_fire_update(struct informer *inf, json_t *old_obj, json_t *new_obj)
{
	for (size_t i = 0; i < inf->nhandlers; i++)
		if (inf->handlers[i].on_update)
			inf->handlers[i].on_update(inf->handlers[i].ud, old_obj, new_obj);
}

static void informer_fire_delete(struct informer *inf, json_t *obj)
{
	for (size_t i = 0; i < inf->nhandlers; i++)
		if (inf->handlers[i].on_delete)
			inf->handlers[i].on_delete(inf->handlers[i].ud, obj);
}

/* ---- writing the cache ---- */

/* Set the last resourceVersion; cache_lock held for writing. */
static void informer_set_rv(struct informer *inf, const char *rv)
{
	size_t n = rv ? strlen(rv) : 0;

	if (n && n < sizeof(inf->rv))
		memcpy(inf->rv, rv, n + 1);
}

/* What the cache stores for obj: obj itself with managedFields removed, then transformed.
 * obj must be ours (shallow at the top and in metadata). 0 or the transform's error. */
static int informer_strip(const struct informer *inf, json_t *obj)
{
	json_t *meta = json_object_get(obj, "metadata");

	if (!inf->cfg.keep_managed_fields && json_is_object(meta))
		json_object_del(meta, "managedFields");
	return inf->cfg.transform ? inf->cfg.transform(obj) : 0;
}

/* A private copy of a borrowed watch object: shallow at the top and in metadata, so stripping
 * never touches the caller's value; everything deeper is shared by reference. */
static json_t *informer_adopt(const struct informer *inf, json_t *obj)
{
	json_t *copy = json_copy(obj);
	json_t *meta = copy ? json_copy(json_object_get(copy, "metadata")) : NULL;

	if (!copy || (json_object_get(copy, "metadata") && !meta) ||
	    (meta && json_object_set_new(copy, "metadata", meta) != 0) || informer_strip(inf, copy) != 0) {
		json_decref(copy);
		return NULL;
	}
	return copy;
}

static int informer_apply(struct informer *inf, const char *type, json_t *obj)
{
	const bool compact = inf->cfg.compact;
	char key[INFORMER_KEY_MAX];
	bool deleted = strcmp(type, "DELETED") == 0;
	void *old = NULL, *entry = NULL;
	json_t *old_obj;
	int rc = 0;

	if (informer_object_key(obj, key, sizeof(key)) != 0) {
		log_warn("informer: event without a usable name", "resource", inf->res.resource, "type",
			 type);
		return 0;
	}
	if (!deleted && !(entry = informer_entry(inf, obj)))
		return SAQR_ENOMEM;
	pthread_rwlock_wrlock(&inf->cache_lock);
	if (deleted)
		old = strmap_remove(&inf->cache, key);
	else
		rc = strmap_put(&inf->cache, key, entry, &old);
	if (rc == 0)
		informer_set_rv(inf, json_path_str(obj, "metadata.resourceVersion", NULL));
	pthread_rwlock_unlock(&inf->cache_lock);
	if (rc) {
		informer_entry_free(compact, entry);
		return rc;
	}
	if (deleted) {
		informer_fire_delete(inf, obj);
	} else if (old) {
		old_obj = informer_entry_object(inf, old);
		if (old_obj)
			informer_fire_update(inf, old_obj, obj);
		json_decref(old_obj);
	} else {
		informer_fire_add(inf, obj);
	}
	if (old)
		informer_entry_free(compact, old);
	return 0;
}

static int informer_on_event(void *ud, const char *type, json_t *obj)
{
	struct informer *inf = ud;
	json_t *mine;
	int rc;

	inf->progress = true;
	if (strcmp(type, "BOOKMARK") == 0) {
		pthread_rwlock_wrlock(&inf->cache_lock);
		informer_set_rv(inf, json_path_str(obj, "metadata.resourceVersion", NULL));
		pthread_rwlock_unlock(&inf->cache_lock);
		return 0;
	}
	if (strcmp(type, "ADDED") != 0 && strcmp(type, "MODIFIED") != 0 && strcmp(type, "DELETED") != 0)
		return 0;
	mine = informer_adopt(inf, obj);
	if (!mine)
		return SAQR_ENOMEM;
	rc = informer_apply(inf, type, mine);
	json_decref(mine);
	return rc;
}

/* Give list items the kind and apiVersion the API server leaves out of them. */
static void informer_fill_type(json_t *item, const char *list_kind, const char *api_version)
{
	size_t n = strlen(list_kind);

	if (!json_object_get(item, "kind") && n > 4 && strcmp(list_kind + n - 4, "List") == 0)
		json_object_set_new(item, "kind", json_stringn(list_kind, n - 4));
	if (!json_object_get(item, "apiVersion") && *api_version)
		json_object_set_new(item, "apiVersion", json_string(api_version));
}

/* Add the items of one List page to the new cache. */
static int informer_build_cache(struct informer *inf, json_t *list, struct strmap *fresh)
{
	const bool compact = inf->cfg.compact;
	const char *kind = json_path_str(list, "kind", "");
	const char *api_version = json_path_str(list, "apiVersion", "");
	json_t *items = json_object_get(list, "items");
	char key[INFORMER_KEY_MAX];
	void *entry, *old = NULL;
	json_t *item;
	size_t i;

	json_array_foreach(items, i, item)
	{
		if (!json_is_object(item) || informer_object_key(item, key, sizeof(key)) != 0)
			continue;
		informer_fill_type(item, kind, api_version);
		if (informer_strip(inf, item) != 0 || !(entry = informer_entry(inf, item)))
			return SAQR_ENOMEM;
		if (strmap_put(fresh, key, entry, &old) != 0) {
			informer_entry_free(compact, entry);
			return SAQR_ENOMEM;
		}
		if (old)
			informer_entry_free(compact, old);
	}
	return 0;
}

/* Fire one handler call about the entries fresh (may be NULL) and stale (may be NULL). */
static void informer_fire_entries(struct informer *inf, void *fresh, void *stale)
{
	json_t *now = informer_entry_object(inf, fresh), *before = informer_entry_object(inf, stale);

	if (now && !stale)
		informer_fire_add(inf, now);
	else if (now && before)
		informer_fire_update(inf, before, now);
	else if (before && !fresh)
		informer_fire_delete(inf, before);
	json_decref(now);
	json_decref(before);
}

/* Tell the handlers how the new cache differs from the old one. */
static void informer_fire_replace(struct informer *inf, struct strmap *fresh, struct strmap *stale)
{
	struct strmap_iter it;
	const char *key;
	void *val;

	strmap_iter_init(&it);
	while (strmap_next(fresh, &it, &key, &val)) {
		void *old = strmap_get(stale, key);

		if (!old || !informer_entry_same(inf, old, val))
			informer_fire_entries(inf, val, old);
	}
	strmap_iter_init(&it);
	while (strmap_next(stale, &it, &key, &val))
		if (!strmap_get(fresh, key))
			informer_fire_entries(inf, NULL, val);
}

/* List every page into fresh, one page held at a time; rv gets the list's resourceVersion. */
static int informer_list_pages(struct informer *inf, struct strmap *fresh, char *rv, size_t rvlen)
{
	struct kube_list_opts lo = {.label_selector = inf->label_selector,
				    .field_selector = inf->field_selector,
				    .limit = inf->cfg.page_size};
	char cont[INFORMER_CONTINUE_MAX] = "";
	int rc;

	do {
		struct kube_status st = {0};
		json_t *page = NULL;

		lo.continue_token = *cont ? cont : NULL;
		rc = inf->ops->list ? inf->ops->list(inf->ops, &inf->res, inf->ns, &lo, &page, &st)
				    : inf->ops->list_all(inf->ops, &inf->res, inf->ns, &lo, &page, &st);
		if (rc) {
			log_warn("informer: list failed", "resource", inf->res.resource, "error",
				 saqr_strerror(rc), "message", st.message);
			return rc;
		}
		rc = informer_build_cache(inf, page, fresh);
		snprintf(rv, rvlen, "%s", json_path_str(page, "metadata.resourceVersion", ""));
		snprintf(cont, sizeof(cont), "%s",
			 inf->ops->list ? json_path_str(page, "metadata.continue", "") : "");
		json_decref(page);
	} while (rc == 0 && *cont);
	return rc;
}

static void informer_mark_synced(struct informer *inf)
{
	if (!atomic_exchange(&inf->synced, true)) {
		pthread_mutex_lock(&inf->lock);
		pthread_cond_broadcast(&inf->cond);
		pthread_mutex_unlock(&inf->lock);
	}
}

static int informer_relist(struct informer *inf)
{
	char rv[INFORMER_RV_MAX] = "";
	struct strmap fresh, stale;
	int rc;

	strmap_init(&fresh);
	informer_gate_enter();
	rc = informer_list_pages(inf, &fresh, rv, sizeof(rv));
	informer_gate_leave();
	if (rc) {
		strmap_release(&fresh, informer_entry_freer(inf));
		return rc;
	}
	pthread_rwlock_wrlock(&inf->cache_lock);
	stale = inf->cache;
	inf->cache = fresh;
	informer_set_rv(inf, rv);
	pthread_rwlock_unlock(&inf->cache_lock);
	informer_fire_replace(inf, &inf->cache, &stale);
	strmap_release(&stale, informer_entry_freer(inf));
	informer_mark_synced(inf);
#ifdef INFORMER_TRIM
	/* The pages were parsed into trees and freed: give that memory back to the system. */
	if (inf->cfg.compact)
		malloc_trim(0);
#endif
	return 0;
}

static int informer_watch(struct informer *inf)
{
	char rv[INFORMER_RV_MAX];
	struct kube_watch_opts wo = {.label_selector = inf->label_selector,
				     .field_selector = inf->field_selector,
				     .resource_version = rv,
				     .allow_bookmarks = true,
				     .timeout_seconds = inf->cfg.watch_timeout_seconds,
				     .stop = &inf->stop};
	struct kube_status st = {0};
	int rc;

	if (!wo.timeout_seconds)
		wo.timeout_seconds = 300 + (int)(ctrltime_jitter() * 300);
	informer_resource_version(inf, rv, sizeof(rv));
	rc = inf->ops->watch(inf->ops, &inf->res, inf->ns, &wo, informer_on_event, inf, &st);
	if (rc && rc != SAQR_ECLOSED)
		log_warn("informer: watch ended", "resource", inf->res.resource, "error", saqr_strerror(rc),
			 "message", st.message);
	return rc;
}

int informer_run_once(struct informer *inf)
{
	int rc;

	inf->progress = false;
	if (inf->need_list) {
		rc = informer_relist(inf);
		if (rc)
			return rc;
		inf->need_list = false;
	}
	rc = informer_watch(inf);
	switch (rc) {
	case 0:
	case SAQR_ECLOSED:
	case SAQR_ETRANSPORT:
	case SAQR_EBUSY:
	case SAQR_ETIMEDOUT:
		break; /* resume from the last resourceVersion */
	default:
		inf->need_list = true;
		break;
	}
	return rc;
}

/* ---- the thread ---- */

/* Sleep up to secs, returning early when stopped. */
static void informer_sleep(struct informer *inf, double secs)
{
	double deadline = ctrltime_mono() + secs;

	pthread_mutex_lock(&inf->lock);
	while (!atomic_load(&inf->stop) && ctrltime_mono() < deadline)
		ctrltime_cond_wait_until(&inf->cond, &inf->lock, deadline);
	pthread_mutex_unlock(&inf->lock);
}

static void *informer_main(void *arg)
{
	struct informer *inf = arg;
	double delay = inf->cfg.backoff_initial;

	while (!atomic_load(&inf->stop)) {
		double began = ctrltime_mono();
		int rc = informer_run_once(inf);
		bool quick = ctrltime_mono() - began < 1.0;

		if (atomic_load(&inf->stop))
			break;
		if (inf->progress || rc == SAQR_EGONE || (rc == 0 && !quick))
			delay = inf->cfg.backoff_initial;
		if (rc == SAQR_EGONE || (rc == 0 && !quick))
			continue;
		/* Failed, or closed at once with nothing to show: back off with jitter. */
		informer_sleep(inf, delay * (1 + ctrltime_jitter()));
		delay = delay * 2 > inf->cfg.backoff_max ? inf->cfg.backoff_max : delay * 2;
	}
	return NULL;
}

int informer_start(struct informer *inf)
{
	int rc = 0;

	pthread_mutex_lock(&inf->lock);
	if (inf->started)
		rc = SAQR_EBUSY;
	else if (pthread_create(&inf->thread, NULL, informer_main, inf) != 0)
		rc = SAQR_ENOMEM;
	else
		inf->started = true;
	pthread_mutex_unlock(&inf->lock);
	return rc;
}

void informer_stop(struct informer *inf)
{
	bool join;

	pthread_mutex_lock(&inf->lock);
	atomic_store(&inf->stop, true);
	pthread_cond_broadcast(&inf->cond);
	join = inf->started && !inf->joined;
	inf->joined = inf->joined || join;
	pthread_mutex_unlock(&inf->lock);
	if (join)
		pthread_join(inf->thread, NULL);
}
