/* Unit tests for operator/owned.c: the no-write check (hash annotation, generation,
 * labels, owner, Service spec), the cache-lag grace, the cache transform, the observed view,
 * the tracker, and owned_sync's apply/delete calls against a scripted kubeops and a real
 * informer cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "../support/opfixture.h"
#include "common/err.h"
#include "common/jsonutil.h"
#include "operator/runtime/ctrltime.h"
#include "operator/modeldeployment/modeldeployment.h"
#include "operator/owned.h"

#define S(obj, path) json_path_str((obj), (path), "<missing>")
#define I(obj, path) json_path_int((obj), (path), -12345)
#define OTHER_UID "00000000-0000-0000-0000-000000000000"

/* ---- helpers ---- */

static json_t *load_md(void)
{
	json_t *md = opfix_load("md_fraud.json");

	assert_non_null(md);
	return md;
}

/* The desired object of index i, stamped with its hash (into hash). New reference. */
static json_t *desired(const json_t *md, int i, char hash[OWNED_HASH_BUF])
{
	struct md_desired d;
	json_t *obj;

	assert_int_equal(md_desired(md, NULL, &d), 0);
	assert_non_null(d.owned[i].obj);
	obj = json_incref(d.owned[i].obj);
	md_desired_release(&d);
	assert_int_equal(owned_hash(obj, hash), 0);
	assert_int_equal(owned_stamp(obj, hash), 0);
	return obj;
}

/* desired as the API server would return it after creating it: uid, generation (0: none),
 * resourceVersion, and a server-added field. */
static json_t *as_live(const json_t *want, long long generation)
{
	json_t *live = json_deep_copy(want);
	json_t *meta = json_object_get(live, "metadata");

	json_object_set_new(meta, "uid", json_string("live-uid-1"));
	json_object_set_new(meta, "resourceVersion", json_string("100"));
	if (generation > 0)
		json_object_set_new(meta, "generation", json_integer(generation));
	json_object_set_new(json_object_get(live, "spec"), "serverDefault", json_string("x"));
	return live;
}

static struct owned_record record(const char *uid, long long gen, const char *hash, double applied_at)
{
	struct owned_record r = {.generation = gen, .applied_at = applied_at};

	snprintf(r.uid, sizeof(r.uid), "%s", uid);
	snprintf(r.hash, sizeof(r.hash), "%s", hash);
	return r;
}

/* ---- hash and stamp ---- */

static void test_hash_is_stable_and_ignores_its_annotation(void **state)
{
	json_t *md = load_md(), *a, *b;
	char h1[OWNED_HASH_BUF], h2[OWNED_HASH_BUF], h3[OWNED_HASH_BUF];

	(void)state;
	a = desired(md, MD_OWNED_DEPLOYMENT, h1);
	assert_int_equal(strlen(h1), OWNED_HASH_BUF - 1);
	assert_string_equal(
	    json_string_value(json_object_get(json_path(a, "metadata.annotations"), OWNED_ANN_HASH)), h1);
	/* hashing the stamped object gives the same hash */
	assert_int_equal(owned_hash(a, h2), 0);
	assert_string_equal(h1, h2);
	/* a change in the spec moves it */
	b = json_deep_copy(a);
	json_object_set_new(json_object_get(b, "spec"), "replicas", json_integer(9));
	assert_int_equal(owned_hash(b, h3), 0);
	assert_string_not_equal(h1, h3);
	/* an object without metadata cannot be stamped */
	assert_int_equal(owned_stamp(json_object_get(b, "spec"), h1), SAQR_EINVAL);
	json_decref(a);
	json_decref(b);
	json_decref(md);
}

static void test_contains(void **state)
{
	json_t *have =
	    json_loads("{\"a\":1,\"b\":{\"c\":\"x\",\"d\":[1,{\"e\":2,\"f\":3}]},\"g\":\"y\"}", 0, NULL);
	json_t *ok1 = json_loads("{\"b\":{\"d\":[1,{\"e\":2}]}}", 0, NULL);
	json_t *ok2 = json_loads("{\"b\":{\"d\":[1]}}", 0, NULL);
	json_t *bad1 = json_loads("{\"b\":{\"d\":[1,{\"e\":3}]}}", 0, NULL);
	json_t *bad2 = json_loads("{\"b\":{\"d\":[1,{},4]}}", 0, NULL);
	json_t *bad3 = json_loads("{\"z\":1}", 0, NULL);
	json_t *bad4 = json_loads("{\"a\":\"1\"}", 0, NULL);

	(void)state;
	assert_true(owned_contains(have, NULL));
	assert_true(owned_contains(have, have));
	assert_true(owned_contains(have, ok1));
	assert_true(owned_contains(have, ok2));
	assert_false(owned_contains(have, bad1));
	assert_false(owned_contains(have, bad2));
	assert_false(owned_contains(have, bad3));
	assert_false(owned_contains(have, bad4));
	assert_false(owned_contains(NULL, ok1));
	json_decref(have);
	json_decref(ok1);
	json_decref(ok2);
	json_decref(bad1);
	json_decref(bad2);
	json_decref(bad3);
	json_decref(bad4);
}

/* ---- decide: kinds with a generation ---- */

static void test_decide_absent(void **state)
{
	json_t *md = load_md(), *want;
	char hash[OWNED_HASH_BUF];
	struct owned_record rec;
	double now = 1000.0;

	(void)state;
	want = desired(md, MD_OWNED_DEPLOYMENT, hash);
	assert_int_equal(owned_decide(NULL, want, hash, md, NULL, now), OWNED_APPLY);
	/* just applied: the cache will show it soon */
	rec = record("live-uid-1", 1, hash, now - 1);
	assert_int_equal(owned_decide(NULL, want, hash, md, &rec, now), OWNED_CACHE_BEHIND);
	/* applied long ago: it was deleted since */
	rec.applied_at = now - OWNED_CACHE_GRACE - 1;
	assert_int_equal(owned_decide(NULL, want, hash, md, &rec, now), OWNED_APPLY);
	/* applied recently but another desired state: apply this one */
	rec = record("live-uid-1", 1, "0123456789abcdef", now - 1);
	assert_int_equal(owned_decide(NULL, want, hash, md, &rec, now), OWNED_APPLY);
	json_decref(want);
	json_decref(md);
}

static void test_decide_generation(void **state)
{
	json_t *md = load_md(), *want, *live;
	char hash[OWNED_HASH_BUF];
	struct owned_record rec;
	double now = 1000.0;

	(void)state;
	want = desired(md, MD_OWNED_DEPLOYMENT, hash);
	live = as_live(want, 1);
	/* as created, nothing remembered (a restarted operator): in sync */
	assert_int_equal(owned_decide(live, want, hash, md, NULL, now), OWNED_IN_SYNC);
	/* changed since creation (generation 2) and nothing remembered: apply once */
	json_object_set_new(json_object_get(live, "metadata"), "generation", json_integer(2));
	assert_int_equal(owned_decide(live, want, hash, md, NULL, now), OWNED_APPLY);
	/* our own apply left generation 2 */
	rec = record("live-uid-1", 2, hash, now - 100);
	assert_int_equal(owned_decide(live, want, hash, md, &rec, now), OWNED_IN_SYNC);
	/* a hand edit since: generation 3 */
	json_object_set_new(json_object_get(live, "metadata"), "generation", json_integer(3));
	assert_int_equal(owned_decide(live, want, hash, md, &rec, now), OWNED_APPLY);
	/* the record is of another object of that name (recreated): generation 1 is expected */
	rec = record(OTHER_UID, 3, hash, now - 100);
	assert_int_equal(owned_decide(live, want, hash, md, &rec, now), OWNED_APPLY);
	json_decref(live);
	json_decref(want);
	json_decref(md);
}

static void test_decide_cache_behind_our_apply(void **state)
{
	json_t *md = load_md(), *want, *live, *old_want;
	char hash[OWNED_HASH_BUF], old_hash[OWNED_HASH_BUF];
	struct owned_record rec;
	double now = 1000.0;

	(void)state;
	want = desired(md, MD_OWNED_DEPLOYMENT, hash);
	/* the cache still holds the version before our apply of `want` */
	json_object_set_new(json_path(md, "spec.model"), "version", json_string("0.9"));
	old_want = desired(md, MD_OWNED_DEPLOYMENT, old_hash);
	live = as_live(old_want, 4);
	rec = record("live-uid-1", 5, hash, now - 0.5);
	assert_int_equal(owned_decide(live, want, hash, md, &rec, now), OWNED_CACHE_BEHIND);
	/* long after the apply the cache should have caught up: the object drifted */
	rec.applied_at = now - OWNED_CACHE_GRACE - 1;
	assert_int_equal(owned_decide(live, want, hash, md, &rec, now), OWNED_APPLY);
	/* same hash but an older generation than our apply returned */
	json_decref(live);
	live = as_live(want, 4);
	rec = record("live-uid-1", 5, hash, now - 0.5);
	assert_int_equal(owned_decide(live, want, hash, md, &rec, now), OWNED_CACHE_BEHIND);
	json_decref(live);
	json_decref(want);
	json_decref(old_want);
	json_decref(md);
}

static void test_decide_metadata(void **state)
{
	json_t *md = load_md(), *want, *live;
	char hash[OWNED_HASH_BUF];
	double now = 1000.0;

	(void)state;
	want = desired(md, MD_OWNED_DEPLOYMENT, hash);
	live = as_live(want, 1);
	/* a label added by someone else is fine */
	json_object_set_new(json_path(live, "metadata.labels"), "team", json_string("risk"));
	assert_int_equal(owned_decide(live, want, hash, md, NULL, now), OWNED_IN_SYNC);
	/* one of ours changed: apply */
	json_object_set_new(json_path(live, "metadata.labels"), "app.kubernetes.io/name",
			    json_string("other"));
	assert_int_equal(owned_decide(live, want, hash, md, NULL, now), OWNED_APPLY);
	json_decref(live);
	/* the hash annotation of another desired state, or none */
	live = as_live(want, 1);
	json_object_set_new(json_path(live, "metadata.annotations"), OWNED_ANN_HASH,
			    json_string("ffffffffffffffff"));
	assert_int_equal(owned_decide(live, want, hash, md, NULL, now), OWNED_APPLY);
	json_object_del(json_path(live, "metadata"), "annotations");
	assert_int_equal(owned_decide(live, want, hash, md, NULL, now), OWNED_APPLY);
	json_decref(live);
	/* controlled by another owner */
	live = as_live(want, 1);
	json_object_set_new(json_path(live, "metadata.ownerReferences.0"), "uid", json_string(OTHER_UID));
	assert_int_equal(owned_decide(live, want, hash, md, NULL, now), OWNED_APPLY);
	json_decref(live);
	json_decref(want);
	json_decref(md);
}

/* ---- decide: Services (no generation) ---- */

static void test_decide_service_compares_spec(void **state)
{
	json_t *md = load_md(), *want, *live;
	char hash[OWNED_HASH_BUF];
	double now = 1000.0;

	(void)state;
	want = desired(md, MD_OWNED_SERVICE, hash);
	live = as_live(want, 0);
	json_object_set_new(json_object_get(live, "spec"), "clusterIP", json_string("10.0.0.7"));
	assert_int_equal(owned_decide(live, want, hash, md, NULL, now), OWNED_IN_SYNC);
	/* a selector key added by hand changes what the Service selects: the map must be equal */
	json_object_set_new(json_path(live, "spec.selector"), "x", json_string("y"));
	assert_int_equal(owned_decide(live, want, hash, md, NULL, now), OWNED_APPLY);
	json_object_del(json_path(live, "spec.selector"), "x");
	assert_int_equal(owned_decide(live, want, hash, md, NULL, now), OWNED_IN_SYNC);
	/* a port changed by hand */
	json_object_set_new(json_path(live, "spec.ports.0"), "port", json_integer(9999));
	assert_int_equal(owned_decide(live, want, hash, md, NULL, now), OWNED_APPLY);
	json_decref(live);
	json_decref(want);
	json_decref(md);
}

/* ---- transform and view ---- */

static void test_transform_keeps_what_reconcilers_read(void **state)
{
	json_t *dep = json_loads(
	    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"a\","
	    "\"namespace\":\"ml\",\"uid\":\"u\",\"generation\":4,\"resourceVersion\":\"9\","
	    "\"creationTimestamp\":\"2024-01-01T00:00:00Z\",\"labels\":{\"l\":\"v\"},"
	    "\"annotations\":{\"saqr.dev/applied-hash\":\"h\",\"deployment.kubernetes.io/revision\":\"2\"},"
	    "\"ownerReferences\":[{\"uid\":\"o\"}],\"managedFields\":[{}]},"
	    "\"spec\":{\"replicas\":3,\"template\":{\"spec\":{}}},\"status\":{\"readyReplicas\":2},"
	    "\"extra\":1}",
	    0, NULL);
	json_t *orig_ann = json_incref(json_path(dep, "metadata.annotations"));
	json_t *orig_spec = json_incref(json_object_get(dep, "spec"));
	json_t *copy = json_copy(dep);

	(void)state;
	/* as the informer does: a private copy of the top and of metadata */
	json_object_set_new(copy, "metadata", json_copy(json_object_get(dep, "metadata")));
	assert_int_equal(owned_cache_transform(copy), 0);
	assert_string_equal(S(copy, "metadata.uid"), "u");
	assert_int_equal(I(copy, "metadata.generation"), 4);
	assert_string_equal(S(copy, "metadata.resourceVersion"), "9");
	assert_string_equal(S(copy, "metadata.labels.l"), "v");
	assert_string_equal(S(copy, "metadata.ownerReferences.0.uid"), "o");
	assert_null(json_path(copy, "metadata.creationTimestamp"));
	assert_null(json_path(copy, "metadata.managedFields"));
	assert_int_equal(json_object_size(json_path(copy, "metadata.annotations")), 1);
	assert_int_equal(I(copy, "spec.replicas"), 3);
	assert_null(json_path(copy, "spec.template"));
	assert_int_equal(I(copy, "status.readyReplicas"), 2);
	assert_null(json_object_get(copy, "extra"));
	/* nothing shared was changed in place */
	assert_int_equal(json_object_size(orig_ann), 2);
	assert_non_null(json_object_get(orig_spec, "template"));
	json_decref(copy);

	/* a Service keeps its spec, which the sync compares */
	json_object_set_new(dep, "kind", json_string("Service"));
	assert_int_equal(owned_cache_transform(dep), 0);
	assert_non_null(json_path(dep, "spec.template"));
	json_decref(orig_ann);
	json_decref(orig_spec);
	json_decref(dep);
}

static void test_view_takes_spec_from_desired(void **state)
{
	json_t *md = load_md(), *want, *live, *view;
	char hash[OWNED_HASH_BUF];

	(void)state;
	want = desired(md, MD_OWNED_DEPLOYMENT, hash);
	live = as_live(want, 2);
	json_object_set_new(live, "status", json_pack("{s:i}", "availableReplicas", 3));
	json_object_set_new(live, "spec", json_pack("{s:i}", "replicas", 7)); /* as cached */
	view = owned_view(live, want);
	assert_non_null(view);
	assert_int_equal(I(view, "spec.replicas"), 7);
	assert_string_equal(S(view, "spec.template.spec.containers.0.name"), MD_CONTAINER);
	assert_int_equal(I(view, "status.availableReplicas"), 3);
	assert_int_equal(I(view, "metadata.generation"), 2);
	assert_string_equal(S(view, "kind"), "Deployment");
	/* desired is untouched */
	assert_int_equal(I(want, "spec.replicas"), json_path_int(want, "spec.replicas", -1));
	assert_int_not_equal(I(want, "spec.replicas"), 7);
	json_decref(view);
	json_decref(live);
	json_decref(want);
	json_decref(md);
}

/* ---- tracker ---- */

static void test_tracker(void **state)
{
	struct owned_tracker *t;
	struct owned_record rec = record("u1", 3, "abc", 5.0), got;
	struct informer_handlers h;
	json_t *obj =
	    json_pack("{s:s, s:{s:s, s:s}}", "kind", "Service", "metadata", "namespace", "ml", "name", "svc");

	(void)state;
	assert_int_equal(owned_tracker_new(&t), 0);
	assert_false(owned_tracker_get(t, "Service", "ml", "svc", &got));
	assert_int_equal(owned_tracker_put(t, "Service", "ml", "svc", &rec), 0);
	rec.generation = 4;
	assert_int_equal(owned_tracker_put(t, "Service", "ml", "svc", &rec), 0); /* replaces */
	assert_int_equal(owned_tracker_put(t, "Deployment", "ml", "svc", &rec), 0);
	assert_int_equal(owned_tracker_len(t), 2);
	assert_true(owned_tracker_get(t, "Service", "ml", "svc", &got));
	assert_int_equal(got.generation, 4);
	assert_string_equal(got.uid, "u1");
	/* the informer delete handler forgets by kind, namespace and name */
	h = owned_tracker_handlers(t);
	assert_null(h.on_add);
	h.on_delete(h.ud, obj);
	assert_false(owned_tracker_get(t, "Service", "ml", "svc", &got));
	assert_true(owned_tracker_get(t, "Deployment", "ml", "svc", &got));
	owned_tracker_forget(t, obj); /* twice is fine */
	assert_int_equal(owned_tracker_len(t), 1);
	owned_tracker_free(t);
	owned_tracker_free(NULL);
	json_decref(obj);
}

/* ---- owned_sync against a scripted API ---- */

struct fake_api {
	struct kubeops ops;
	json_t *objects; /* name -> object: what the "server" holds and lists */
	int patches, deletes;
	int patch_rc;
	char last_manager[64];
	bool last_force;
	char last_precondition[64];
};

static int fake_list_all(const struct kubeops *ops, const struct kube_resource *res, const char *ns,
			 const struct kube_list_opts *opts, json_t **out, struct kube_status *st)
{
	struct fake_api *f = ops->ctx;
	json_t *items = json_array(), *v;
	const char *k;

	(void)res, (void)ns, (void)opts, (void)st;
	json_object_foreach(f->objects, k, v) json_array_append_new(items, json_deep_copy(v));
	*out = json_pack("{s:s, s:s, s:{s:s}, s:o}", "kind", "DeploymentList", "apiVersion", "apps/v1",
			 "metadata", "resourceVersion", "1", "items", items);
	return 0;
}

static int fake_watch(const struct kubeops *ops, const struct kube_resource *res, const char *ns,
		      const struct kube_watch_opts *opts, kube_watch_fn fn, void *ud, struct kube_status *st)
{
	(void)ops, (void)res, (void)ns, (void)opts, (void)fn, (void)ud, (void)st;
	return 0;
}

static int fake_patch(const struct kubeops *ops, const struct kube_resource *res, const char *ns,
		      const char *name, enum kube_patch_type type, const json_t *patch,
		      const struct kube_write_opts *opts, json_t **out, struct kube_status *st)
{
	struct fake_api *f = ops->ctx;
	json_t *obj;

	(void)res, (void)ns;
	f->patches++;
	snprintf(f->last_manager, sizeof(f->last_manager), "%s",
		 opts && opts->field_manager ? opts->field_manager : "");
	f->last_force = opts && opts->force;
	if (f->patch_rc) {
		snprintf(st->message, sizeof(st->message), "refused");
		return f->patch_rc;
	}
	assert_int_equal(type, KUBE_PATCH_APPLY);
	obj = as_live(patch, 1);
	json_object_set_new(json_object_get(obj, "metadata"), "resourceVersion",
			    json_sprintf("%d", 100 + f->patches));
	json_object_set(f->objects, name, obj);
	*out = obj;
	return 0;
}

static int fake_del(const struct kubeops *ops, const struct kube_resource *res, const char *ns,
		    const char *name, const struct kube_delete_opts *opts, struct kube_status *st)
{
	struct fake_api *f = ops->ctx;

	(void)res, (void)ns, (void)st;
	f->deletes++;
	snprintf(f->last_precondition, sizeof(f->last_precondition), "%s", opts->precondition_uid);
	return json_object_del(f->objects, name) == 0 ? 0 : SAQR_ENOTFOUND;
}

static struct informer *fake_cache(struct fake_api *f)
{
	struct informer_config ic = {
	    .res = objmeta_res_deployments, .transform = owned_cache_transform, .compact = true};
	struct informer *inf;

	assert_int_equal(informer_new(&f->ops, &ic, &inf), 0);
	assert_int_equal(informer_run_once(inf), 0);
	return inf;
}

static void fake_init(struct fake_api *f)
{
	memset(f, 0, sizeof(*f));
	f->ops.ctx = f;
	f->ops.list_all = fake_list_all;
	f->ops.watch = fake_watch;
	f->ops.patch = fake_patch;
	f->ops.del = fake_del;
	f->objects = json_object();
}

static void test_sync_applies_once(void **state)
{
	struct fake_api f;
	struct owned_tracker *t;
	struct md_desired d;
	struct kube_status st = {0};
	enum owned_outcome outcome;
	struct informer *inf;
	json_t *md = load_md(), *live = NULL;
	struct owned_sync s;

	(void)state;
	fake_init(&f);
	assert_int_equal(owned_tracker_new(&t), 0);
	s = (struct owned_sync){&f.ops, t, md};
	/* absent: applied (fieldManager saqr-operator, force), remembered */
	inf = fake_cache(&f);
	assert_int_equal(md_desired(md, NULL, &d), 0);
	assert_int_equal(owned_sync(&s, inf, &d.owned[MD_OWNED_DEPLOYMENT], &outcome, &live, &st), 0);
	assert_int_equal(outcome, OWNED_CREATED);
	assert_int_equal(f.patches, 1);
	assert_string_equal(f.last_manager, OBJMETA_MANAGER);
	assert_true(f.last_force);
	assert_string_equal(S(live, "metadata.uid"), "live-uid-1");
	assert_int_equal(owned_tracker_len(t), 1);
	json_decref(live);
	/* the cache has not seen it yet: no second apply */
	assert_int_equal(owned_sync(&s, inf, &d.owned[MD_OWNED_DEPLOYMENT], &outcome, &live, &st), 0);
	assert_int_equal(outcome, OWNED_WAITING);
	assert_null(live);
	assert_int_equal(f.patches, 1);
	informer_free(inf);
	/* the cache shows it: in sync, the cached (trimmed) object comes back */
	inf = fake_cache(&f);
	md_desired_release(&d);
	assert_int_equal(md_desired(md, NULL, &d), 0);
	assert_int_equal(owned_sync(&s, inf, &d.owned[MD_OWNED_DEPLOYMENT], &outcome, &live, &st), 0);
	assert_int_equal(outcome, OWNED_UNCHANGED);
	assert_int_equal(f.patches, 1);
	assert_null(json_path(live, "spec.template"));
	json_decref(live);
	/* a record of generation 1 from long ago says nothing the defaults do not: dropped */
	{
		struct owned_record rec =
		    record("live-uid-1", 1, "x", ctrltime_mono() - OWNED_CACHE_GRACE - 1);

		assert_int_equal(owned_sync(&s, inf, &d.owned[MD_OWNED_DEPLOYMENT], &outcome, NULL, &st), 0);
		assert_int_equal(owned_tracker_len(t), 1); /* recent: kept */
		assert_int_equal(owned_tracker_put(t, "Deployment", "ml", "fraud", &rec), 0);
		assert_int_equal(owned_sync(&s, inf, &d.owned[MD_OWNED_DEPLOYMENT], &outcome, NULL, &st), 0);
		assert_int_equal(outcome, OWNED_UNCHANGED);
		assert_int_equal(owned_tracker_len(t), 0);
	}
	/* LEAVE touches nothing and returns the cached object */
	d.owned[MD_OWNED_DEPLOYMENT].action = OBJMETA_LEAVE;
	assert_int_equal(owned_sync(&s, inf, &d.owned[MD_OWNED_DEPLOYMENT], &outcome, &live, &st), 0);
	assert_non_null(live);
	json_decref(live);
	md_desired_release(&d);
	informer_free(inf);
	owned_tracker_free(t);
	json_decref(f.objects);
	json_decref(md);
}

static void test_sync_apply_error(void **state)
{
	struct fake_api f;
	struct owned_tracker *t;
	struct md_desired d;
	struct kube_status st = {0};
	enum owned_outcome outcome = OWNED_DELETED;
	struct informer *inf;
	json_t *md = load_md(), *live = NULL;
	struct owned_sync s;

	(void)state;
	fake_init(&f);
	f.patch_rc = SAQR_EINVALID;
	assert_int_equal(owned_tracker_new(&t), 0);
	s = (struct owned_sync){&f.ops, t, md};
	inf = fake_cache(&f);
	assert_int_equal(md_desired(md, NULL, &d), 0);
	assert_int_equal(owned_sync(&s, inf, &d.owned[MD_OWNED_SERVICE], &outcome, &live, &st),
			 SAQR_EINVALID);
	assert_string_equal(st.message, "refused");
	assert_int_equal(outcome, OWNED_DELETED); /* untouched */
	assert_null(live);
	assert_int_equal(owned_tracker_len(t), 0);
	assert_int_equal(owned_sync(&s, inf, NULL, &outcome, &live, &st), SAQR_EINVAL);
	md_desired_release(&d);
	informer_free(inf);
	owned_tracker_free(t);
	json_decref(f.objects);
	json_decref(md);
}

static void test_sync_deletes_only_what_it_controls(void **state)
{
	struct fake_api f;
	struct owned_tracker *t;
	struct objmeta_owned o = {
	    .res = objmeta_res_deployments, .kind = "Deployment", .action = OBJMETA_DELETE};
	struct kube_status st = {0};
	enum owned_outcome outcome;
	struct informer *inf;
	json_t *md = load_md(), *want, *ours, *theirs, *live = NULL;
	char hash[OWNED_HASH_BUF];
	struct owned_sync s;

	(void)state;
	fake_init(&f);
	assert_int_equal(owned_tracker_new(&t), 0);
	s = (struct owned_sync){&f.ops, t, md};
	want = desired(md, MD_OWNED_DEPLOYMENT, hash);
	ours = as_live(want, 1);
	json_decref(want);
	json_object_set_new(json_object_get(ours, "metadata"), "name", json_string("fraud-canary"));
	theirs = json_deep_copy(ours);
	json_object_set_new(json_object_get(theirs, "metadata"), "name", json_string("someone-else"));
	json_object_set_new(json_path(theirs, "metadata.ownerReferences.0"), "uid", json_string(OTHER_UID));
	json_object_set(f.objects, "fraud-canary", ours);
	json_object_set(f.objects, "someone-else", theirs);
	inf = fake_cache(&f);

	snprintf(o.name, sizeof(o.name), "someone-else");
	assert_int_equal(owned_sync(&s, inf, &o, &outcome, &live, &st), 0);
	assert_int_equal(outcome, OWNED_UNCHANGED);
	assert_int_equal(f.deletes, 0);
	snprintf(o.name, sizeof(o.name), "fraud-canary");
	assert_int_equal(owned_sync(&s, inf, &o, &outcome, &live, &st), 0);
	assert_int_equal(outcome, OWNED_DELETED);
	assert_null(live);
	assert_int_equal(f.deletes, 1);
	assert_string_equal(f.last_precondition, "live-uid-1");
	/* gone already (the cache lags): not an error */
	assert_int_equal(owned_sync(&s, inf, &o, &outcome, &live, &st), 0);
	assert_int_equal(outcome, OWNED_UNCHANGED);
	snprintf(o.name, sizeof(o.name), "absent");
	assert_int_equal(owned_sync(&s, inf, &o, &outcome, &live, &st), 0);
	assert_int_equal(f.deletes, 2);
	informer_free(inf);
	owned_tracker_free(t);
	json_decref(ours);
	json_decref(theirs);
	json_decref(f.objects);
	json_decref(md);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hash_is_stable_and_ignores_its_annotation),
	    cmocka_unit_test(test_contains),
	    cmocka_unit_test(test_decide_absent),
	    cmocka_unit_test(test_decide_generation),
	    cmocka_unit_test(test_decide_cache_behind_our_apply),
	    cmocka_unit_test(test_decide_metadata),
	    cmocka_unit_test(test_decide_service_compares_spec),
	    cmocka_unit_test(test_transform_keeps_what_reconcilers_read),
	    cmocka_unit_test(test_view_takes_spec_from_desired),
	    cmocka_unit_test(test_tracker),
	    cmocka_unit_test(test_sync_applies_once),
	    cmocka_unit_test(test_sync_apply_error),
	    cmocka_unit_test(test_sync_deletes_only_what_it_controls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
