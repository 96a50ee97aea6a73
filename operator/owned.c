/* Owned objects: the applied-hash check that keeps a converged operator from writing, the
 * tracker of what this process applied, the cache transform, and the apply/delete calls. */
#include "operator/owned.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "operator/runtime/ctrltime.h"
#include "operator/runtime/strmap.h"

#define OWNED_KEY_MAX 400

struct owned_tracker {
	pthread_mutex_t lock;
	struct strmap records; /* "kind/ns/name" -> struct owned_record * */
};

/* ---- tracker ---- */

int owned_tracker_new(struct owned_tracker **out)
{
	struct owned_tracker *t = calloc(1, sizeof(*t));

	if (!t)
		return SAQR_ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	strmap_init(&t->records);
	*out = t;
	return 0;
}

void owned_tracker_free(struct owned_tracker *t)
{
	if (!t)
		return;
	strmap_release(&t->records, free);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static int tracker_key(const char *kind, const char *ns, const char *name, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s/%s/%s", kind ? kind : "", ns ? ns : "", name ? name : "");

	return n < 0 || (size_t)n >= outlen ? SAQR_EINVAL : 0;
}

bool owned_tracker_get(struct owned_tracker *t, const char *kind, const char *ns, const char *name,
		       struct owned_record *out)
{
	char key[OWNED_KEY_MAX];
	struct owned_record *r;

	if (tracker_key(kind, ns, name, key, sizeof(key)))
		return false;
	pthread_mutex_lock(&t->lock);
	r = strmap_get(&t->records, key);
	if (r)
		*out = *r;
	pthread_mutex_unlock(&t->lock);
	return r != NULL;
}

int owned_tracker_put(struct owned_tracker *t, const char *kind, const char *ns, const char *name,
		      const struct owned_record *rec)
{
	char key[OWNED_KEY_MAX];
	struct owned_record *r, *old = NULL;
	int rc;

	if (tracker_key(kind, ns, name, key, sizeof(key)))
		return SAQR_EINVAL;
	r = malloc(sizeof(*r));
	if (!r)
		return SAQR_ENOMEM;
	*r = *rec;
	pthread_mutex_lock(&t->lock);
	rc = strmap_put(&t->records, key, r, (void **)&old);
	pthread_mutex_unlock(&t->lock);
	free(rc ? r : old);
	return rc;
}

void owned_tracker_drop(struct owned_tracker *t, const char *kind, const char *ns, const char *name)
{
	char key[OWNED_KEY_MAX];

	if (tracker_key(kind, ns, name, key, sizeof(key)))
		return;
	pthread_mutex_lock(&t->lock);
	free(strmap_remove(&t->records, key));
	pthread_mutex_unlock(&t->lock);
}

void owned_tracker_forget(struct owned_tracker *t, const json_t *obj)
{
	owned_tracker_drop(t, json_path_str(obj, "kind", ""), json_path_str(obj, "metadata.namespace", ""),
			   json_path_str(obj, "metadata.name", ""));
}

size_t owned_tracker_len(struct owned_tracker *t)
{
	size_t n;

	pthread_mutex_lock(&t->lock);
	n = strmap_len(&t->records);
	pthread_mutex_unlock(&t->lock);
	return n;
}

static void tracker_on_delete(void *ud, json_t *obj)
{
	owned_tracker_forget(ud, obj);
}

struct informer_handlers owned_tracker_handlers(struct owned_tracker *t)
{
	struct informer_handlers h = {.on_delete = tracker_on_delete, .ud = t};

	return h;
}

/* ---- the cache transform ---- */

static const char *const kept_meta[] = {"name",
					"namespace",
					"uid",
					"generation",
					"resourceVersion",
					"labels",
					"ownerReferences",
					"deletionTimestamp",
					NULL};

static bool in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

/* Saqr's own annotations only (others, such as last-applied-configuration, can be large). */
static json_t *saqr_annotations(const json_t *ann)
{
	json_t *out = json_object(), *v;
	const char *k;

	json_object_foreach((json_t *)ann, k, v)
	{
		if (out && strncmp(k, "saqr.dev/", 9) == 0 && json_object_set(out, k, v)) {
			json_decref(out);
			out = NULL;
		}
	}
	return out;
}

static int trim_metadata(json_t *meta)
{
	json_t *ann = json_object_get(meta, "annotations"), *v;
	const char *k;
	void *tmp;

	if (ann && json_object_set_new(meta, "annotations", saqr_annotations(ann)))
		return SAQR_ENOMEM;
	json_object_foreach_safe(meta, tmp, k, v)
	{
		if (!in_list(kept_meta, k) && strcmp(k, "annotations") != 0)
			json_object_del(meta, k);
	}
	return 0;
}

/* A new spec holding only replicas and suspend of spec. */
static json_t *slim_spec(const json_t *spec)
{
	static const char *const keep[] = {"replicas", "suspend", NULL};
	json_t *out = json_object(), *v;

	for (size_t i = 0; out && keep[i]; i++) {
		v = json_object_get(spec, keep[i]);
		if (v && json_object_set(out, keep[i], v)) {
			json_decref(out);
			out = NULL;
		}
	}
	return out;
}

int owned_cache_transform(json_t *obj)
{
	static const char *const kept_top[] = {"apiVersion", "kind", "metadata", "spec", "status", NULL};
	json_t *meta = json_object_get(obj, "metadata"), *spec = json_object_get(obj, "spec"), *v;
	const char *k;
	void *tmp;

	if (json_is_object(meta) && trim_metadata(meta))
		return SAQR_ENOMEM;
	if (spec && strcmp(json_path_str(obj, "kind", ""), "Service") != 0 &&
	    json_object_set_new(obj, "spec", slim_spec(spec)))
		return SAQR_ENOMEM;
	json_object_foreach_safe(obj, tmp, k, v)
	{
		if (!in_list(kept_top, k))
			json_object_del(obj, k);
	}
	return 0;
}

/* ---- hash and comparison ---- */

int owned_hash(const json_t *desired, char out[OWNED_HASH_BUF])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	json_t *copy = json_deep_copy(desired), *ann;
	char *text;

	if (!copy)
		return SAQR_ENOMEM;
	ann = json_path(copy, "metadata.annotations");
	json_object_del(ann, OWNED_ANN_HASH);
	if (json_is_object(ann) && json_object_size(ann) == 0)
		json_object_del(json_object_get(copy, "metadata"), "annotations");
	text = json_dump_canonical(copy);
	json_decref(copy);
	if (!text)
		return SAQR_ENOMEM;
	if (!EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen < (OWNED_HASH_BUF - 1) / 2) {
		free(text);
		return SAQR_ENOMEM;
	}
	free(text);
	for (size_t i = 0; i < (OWNED_HASH_BUF - 1) / 2; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[OWNED_HASH_BUF - 1] = '\0';
	return 0;
}

int owned_stamp(json_t *desired, const char *hash)
{
	json_t *meta = json_object_get(desired, "metadata");
	json_t *ann = json_object_get(meta, "annotations");

	if (!json_is_object(meta))
		return SAQR_EINVAL;
	if (!json_is_object(ann)) {
		ann = json_object();
		if (!ann || json_object_set_new(meta, "annotations", ann))
			return SAQR_ENOMEM;
	}
	return json_object_set_new(ann, OWNED_ANN_HASH, json_string(hash)) ? SAQR_ENOMEM : 0;
}

/* A non-empty object whose members are all strings: a selector or other label map. */
static bool string_map(const json_t *v)
{
	const char *k;
	json_t *m;

	if (!json_is_object(v) || json_object_size(v) == 0)
		return false;
	json_object_foreach((json_t *)v, k, m)
	{
		if (!json_is_string(m))
			return false;
	}
	return true;
}

/* owned_contains, where strict_maps makes string maps compare whole (they are atomic in the
 * API, e.g. a Service's selector: an extra key added by hand changes what it selects). */
static bool contains(const json_t *have, const json_t *want, bool strict_maps)
{
	const char *k;
	json_t *v;
	size_t i;

	if (!want)
		return true;
	if (strict_maps && string_map(want))
		return have && json_equal((json_t *)have, (json_t *)want);
	if (json_is_object(want)) {
		if (!json_is_object(have))
			return false;
		json_object_foreach((json_t *)want, k, v)
		{
			if (!contains(json_object_get(have, k), v, strict_maps))
				return false;
		}
		return true;
	}
	if (json_is_array(want)) {
		if (!json_is_array(have) || json_array_size(have) < json_array_size(want))
			return false;
		json_array_foreach(want, i, v)
		{
			if (!contains(json_array_get(have, i), v, strict_maps))
				return false;
		}
		return true;
	}
	return have && json_equal((json_t *)have, (json_t *)want);
}

bool owned_contains(const json_t *have, const json_t *want)
{
	return contains(have, want, false);
}

/* The desired object is applied but the cache does not show it yet. */
static bool cache_behind(const json_t *live, const char *hash, const struct owned_record *rec, double now)
{
	const char *live_hash =
	    json_string_value(json_object_get(json_path(live, "metadata.annotations"), OWNED_ANN_HASH));

	if (!rec || strcmp(rec->hash, hash) != 0 || now - rec->applied_at >= OWNED_CACHE_GRACE)
		return false;
	if (!live)
		return true;
	if (strcmp(json_path_str(live, "metadata.uid", ""), rec->uid) != 0)
		return false;
	return !live_hash || strcmp(live_hash, hash) != 0 ||
	       json_path_int(live, "metadata.generation", 0) < rec->generation;
}

/* Nobody changed the spec since Saqr applied it (see the file comment, point 3). */
static bool spec_untouched(const json_t *live, const json_t *desired, const struct owned_record *rec)
{
	long long gen = json_path_int(live, "metadata.generation", 0);
	bool known = rec && strcmp(json_path_str(live, "metadata.uid", ""), rec->uid) == 0;

	if (gen > 0)
		return gen == (known ? rec->generation : 1);
	return contains(json_object_get(live, "spec"), json_object_get(desired, "spec"), true);
}

enum owned_verdict owned_decide(const json_t *live, const json_t *desired, const char *hash,
				const json_t *owner, const struct owned_record *rec, double now)
{
	const char *live_hash;

	if (cache_behind(live, hash, rec, now))
		return OWNED_CACHE_BEHIND;
	if (!live)
		return OWNED_APPLY;
	live_hash =
	    json_string_value(json_object_get(json_path(live, "metadata.annotations"), OWNED_ANN_HASH));
	if (!live_hash || strcmp(live_hash, hash) != 0 || !objmeta_is_controlled_by(live, owner) ||
	    !owned_contains(json_path(live, "metadata.labels"), json_path(desired, "metadata.labels")))
		return OWNED_APPLY;
	return spec_untouched(live, desired, rec) ? OWNED_IN_SYNC : OWNED_APPLY;
}

/* ---- apply and delete ---- */

static void record_applied(const struct owned_sync *s, const struct objmeta_owned *o, const char *ns,
			   const json_t *applied, const char *hash)
{
	struct owned_record rec = {.generation = json_path_int(applied, "metadata.generation", 0),
				   .applied_at = ctrltime_mono()};

	snprintf(rec.uid, sizeof(rec.uid), "%s", json_path_str(applied, "metadata.uid", ""));
	snprintf(rec.hash, sizeof(rec.hash), "%s", hash);
	/* Out of memory only costs an extra (no-op) apply later. */
	(void)owned_tracker_put(s->tracker, o->kind, ns, o->name, &rec);
}

static enum owned_outcome applied_outcome(const json_t *live, const json_t *applied)
{
	if (!live)
		return OWNED_CREATED;
	return strcmp(json_path_str(live, "metadata.resourceVersion", ""),
		      json_path_str(applied, "metadata.resourceVersion", "")) == 0
		   ? OWNED_UNCHANGED
		   : OWNED_UPDATED;
}

static int sync_apply(const struct owned_sync *s, struct objmeta_owned *o, const char *ns, json_t *live,
		      enum owned_outcome *outcome, json_t **live_out, struct kube_status *st)
{
	struct kube_write_opts wo = {.field_manager = OBJMETA_MANAGER, .force = true};
	char hash[OWNED_HASH_BUF];
	struct owned_record rec;
	bool known = owned_tracker_get(s->tracker, o->kind, ns, o->name, &rec);
	double now = ctrltime_mono();
	json_t *applied = NULL;
	int rc = owned_hash(o->obj, hash);

	if (rc == 0)
		rc = owned_stamp(o->obj, hash);
	if (rc)
		return rc;
	switch (owned_decide(live, o->obj, hash, s->owner, known ? &rec : NULL, now)) {
	case OWNED_IN_SYNC:
		/* Without the record the decision is the same (generation 1 or none expected). */
		if (known && rec.generation <= 1 && now - rec.applied_at >= OWNED_CACHE_GRACE)
			owned_tracker_drop(s->tracker, o->kind, ns, o->name);
		*outcome = OWNED_UNCHANGED;
		*live_out = json_incref(live);
		return 0;
	case OWNED_CACHE_BEHIND:
		*outcome = OWNED_WAITING;
		*live_out = NULL;
		return 0;
	case OWNED_APPLY:
		break;
	}
	rc = s->ops->patch(s->ops, &o->res, ns, o->name, KUBE_PATCH_APPLY, o->obj, &wo, &applied, st);
	if (rc)
		return rc;
	record_applied(s, o, ns, applied, hash);
	*outcome = applied_outcome(live, applied);
	*live_out = applied;
	return 0;
}

static int sync_delete(const struct owned_sync *s, struct objmeta_owned *o, const char *ns,
		       const json_t *live, enum owned_outcome *outcome, struct kube_status *st)
{
	struct kube_delete_opts dopts = {.propagation_policy = "Background"};
	int rc;

	if (!live || !objmeta_is_controlled_by(live, s->owner)) {
		*outcome = OWNED_UNCHANGED;
		return 0;
	}
	if (!s->ops->del)
		return SAQR_EINVAL;
	dopts.precondition_uid = json_path_str(live, "metadata.uid", NULL);
	rc = s->ops->del(s->ops, &o->res, ns, o->name, &dopts, st);
	if (rc && rc != SAQR_ENOTFOUND)
		return rc;
	owned_tracker_forget(s->tracker, live);
	*outcome = rc ? OWNED_UNCHANGED : OWNED_DELETED;
	return 0;
}

int owned_sync(const struct owned_sync *s, struct informer *cache, struct objmeta_owned *o,
	       enum owned_outcome *outcome, json_t **live_out, struct kube_status *st)
{
	enum owned_outcome out = OWNED_UNCHANGED;
	json_t *live = NULL, *result = NULL;
	const char *ns;
	int rc = 0;

	if (!s || !cache || !o || !outcome)
		return SAQR_EINVAL;
	ns = json_path_str(s->owner, "metadata.namespace", "");
	if (informer_get(cache, ns, o->name, &live) != 0)
		live = NULL;
	if (o->action == OBJMETA_APPLY && o->obj)
		rc = sync_apply(s, o, ns, live, &out, &result, st);
	else if (o->action == OBJMETA_DELETE)
		rc = sync_delete(s, o, ns, live, &out, st);
	else if (o->action == OBJMETA_LEAVE)
		result = json_incref(live);
	json_decref(live);
	if (rc) {
		json_decref(result);
		return rc;
	}
	*outcome = out;
	if (live_out)
		*live_out = result;
	else
		json_decref(result);
	return 0;
}

json_t *owned_view(const json_t *live, const json_t *desired)
{
	json_t *view = json_object(), *spec = json_copy(json_object_get(desired, "spec"));
	static const char *const from_live[] = {"apiVersion", "kind", "metadata", "status", NULL};

	if (!view || !spec || json_object_update(spec, json_object_get(live, "spec")) ||
	    json_object_set(view, "spec", spec))
		goto fail;
	for (size_t i = 0; from_live[i]; i++) {
		json_t *v = json_object_get(live, from_live[i]);

		if (v && json_object_set(view, from_live[i], v))
			goto fail;
	}
	json_decref(spec);
	return view;
fail:
	json_decref(spec);
	json_decref(view);
	return NULL;
}
