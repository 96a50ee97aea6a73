/* Unit tests for operator/runtime/informer.c, driven by recorded list and watch answers:
 * cache contents after ADDED/MODIFIED/DELETED, resuming from the last resourceVersion
 * (bookmarks included), relisting on 410 Gone and API errors with deletes for vanished
 * objects, managedFields stripping, keys and controller-owner mapping, and the thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "operator/runtime/informer.h"
#include "../support/ctrltest.h"

static const struct kube_resource configmaps = {"", "v1", "configmaps", true};

/* Handler log: "add team/a 91", "update team/a 91->102", "delete team/b 103", kept sorted
 * per check because a relist reports in hash order. */
struct seen {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	json_t *log;
};

static void seen_note(struct seen *s, const char *what, const json_t *old_obj, const json_t *obj)
{
	char key[INFORMER_KEY_MAX];
	json_t *line;

	assert_int_equal(informer_object_key(obj, key, sizeof(key)), 0);
	if (old_obj)
		line = json_sprintf("%s %s %s->%s", what, key,
				    json_path_str(old_obj, "metadata.resourceVersion", "?"),
				    json_path_str(obj, "metadata.resourceVersion", "?"));
	else
		line =
		    json_sprintf("%s %s %s", what, key, json_path_str(obj, "metadata.resourceVersion", "?"));
	pthread_mutex_lock(&s->mu);
	json_array_append_new(s->log, line);
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static void on_add(void *ud, json_t *obj)
{
	seen_note(ud, "add", NULL, obj);
}

static void on_update(void *ud, json_t *old_obj, json_t *new_obj)
{
	seen_note(ud, "update", old_obj, new_obj);
}

static void on_delete(void *ud, json_t *obj)
{
	seen_note(ud, "delete", NULL, obj);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Assert that the log holds exactly want (any order), then clear it. */
static void seen_expect(struct seen *s, const char *const *want, size_t n)
{
	const char *got[32];

	pthread_mutex_lock(&s->mu);
	assert_int_equal(json_array_size(s->log), n);
	for (size_t i = 0; i < n; i++)
		got[i] = json_string_value(json_array_get(s->log, i));
	qsort(got, n, sizeof(got[0]), cmp_str);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(got[i], want[i]);
	json_array_clear(s->log);
	pthread_mutex_unlock(&s->mu);
}

struct fixture {
	struct ctrltest_ops f;
	struct seen seen;
	struct informer *inf;
};

static int setup_with(void **state, bool compact)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct informer_config cfg = {.res = configmaps,
				      .label_selector = "app=x",
				      .backoff_initial = 0.001,
				      .backoff_max = 0.002,
				      .compact = compact};
	struct informer_handlers h = {on_add, on_update, on_delete, NULL};

	assert_non_null(fx);
	ctrltest_ops_init(&fx->f);
	pthread_mutex_init(&fx->seen.mu, NULL);
	pthread_cond_init(&fx->seen.cv, NULL);
	fx->seen.log = json_array();
	assert_int_equal(informer_new(&fx->f.ops, &cfg, &fx->inf), 0);
	h.ud = &fx->seen;
	assert_int_equal(informer_add_handlers(fx->inf, &h), 0);
	*state = fx;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, false);
}

/* The same informer keeping compact JSON text: every behaviour must be the same. */
static int setup_compact(void **state)
{
	return setup_with(state, true);
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	informer_free(fx->inf);
	ctrltest_ops_release(&fx->f);
	json_decref(fx->seen.log);
	pthread_mutex_destroy(&fx->seen.mu);
	pthread_cond_destroy(&fx->seen.cv);
	free(fx);
	return 0;
}

static const char *cached_value(struct informer *inf, const char *ns, const char *name, char *buf, size_t n)
{
	json_t *obj;

	if (informer_get(inf, ns, name, &obj) != 0)
		return NULL;
	snprintf(buf, n, "%s", json_path_str(obj, "data.k", ""));
	json_decref(obj);
	return buf;
}

/* List, then a watch that adds d, modifies a, deletes b and bookmarks at 110. */
static void list_and_watch(struct fixture *fx, int watch_rc)
{
	static const char *const adds[] = {"add other/c 93", "add team/a 91", "add team/b 92"};
	const char *first[3];
	static const char *const events[] = {"add team/d 101", "delete team/b 103", "update team/a 91->102"};

	ctrltest_reply(&fx->f, CTRLTEST_LIST, 0, ctrltest_fixture("configmaps_list.json"));
	ctrltest_reply(&fx->f, CTRLTEST_WATCH, watch_rc, ctrltest_fixture("configmaps_watch.json"));
	assert_false(informer_has_synced(fx->inf));
	assert_int_equal(informer_run_once(fx->inf), watch_rc);
	assert_true(informer_has_synced(fx->inf));
	/* The list's adds come first (in hash order), before any watch event. */
	assert_int_equal(json_array_size(fx->seen.log), 6);
	for (size_t i = 0; i < 3; i++)
		first[i] = json_string_value(json_array_get(fx->seen.log, i));
	qsort(first, 3, sizeof(first[0]), cmp_str);
	for (size_t i = 0; i < 3; i++)
		assert_string_equal(first[i], adds[i]);
	for (size_t i = 0; i < 3; i++)
		json_array_remove(fx->seen.log, 0);
	seen_expect(&fx->seen, events, 3);
}

static void test_list_then_watch_cache(void **state)
{
	struct fixture *fx = *state;
	char buf[64], rv[64];
	json_t *obj;

	list_and_watch(fx, 0);
	assert_int_equal(informer_len(fx->inf), 3);
	assert_string_equal(cached_value(fx->inf, "team", "a", buf, sizeof(buf)), "1-changed");
	assert_string_equal(cached_value(fx->inf, "team", "d", buf, sizeof(buf)), "4");
	assert_string_equal(cached_value(fx->inf, "other", "c", buf, sizeof(buf)), "3");
	assert_null(cached_value(fx->inf, "team", "b", buf, sizeof(buf)));
	assert_int_equal(informer_get(fx->inf, "team", "b", &obj), SAQR_ENOTFOUND);
	/* The bookmark moved the resourceVersion past the last object event. */
	assert_int_equal(informer_resource_version(fx->inf, rv, sizeof(rv)), 0);
	assert_string_equal(rv, "110");
	assert_int_equal(informer_resource_version(fx->inf, rv, 2), SAQR_ETOOBIG);
	/* The watch started at the list's version, with the selector. */
	assert_string_equal(ctrltest_call(&fx->f, CTRLTEST_WATCH, 0)->rv, "100");
	assert_string_equal(ctrltest_call(&fx->f, CTRLTEST_LIST, 0)->label_selector, "app=x");
	/* List items got their kind back; managedFields are gone from list and watch objects. */
	assert_int_equal(informer_get_key(fx->inf, "other/c", &obj), 0);
	assert_string_equal(json_path_str(obj, "kind", ""), "ConfigMap");
	assert_string_equal(json_path_str(obj, "apiVersion", ""), "v1");
	json_decref(obj);
	assert_int_equal(informer_get_key(fx->inf, "team/d", &obj), 0);
	assert_null(json_path(obj, "metadata.managedFields"));
	assert_string_equal(json_path_str(obj, "metadata.uid", ""), "11111111-0000-0000-0000-00000000000d");
	json_decref(obj);
}

static void test_list_strips_managed_fields(void **state)
{
	struct fixture *fx = *state;
	json_t *obj;

	list_and_watch(fx, 0);
	assert_int_equal(informer_get_key(fx->inf, "team/a", &obj), 0);
	assert_null(json_path(obj, "metadata.managedFields"));
	json_decref(obj);
}

static void test_keep_managed_fields(void **state)
{
	struct ctrltest_ops f;
	struct informer_config cfg = {.res = configmaps, .keep_managed_fields = true};
	struct informer *inf;
	json_t *obj;

	(void)state;
	ctrltest_ops_init(&f);
	assert_int_equal(informer_new(&f.ops, &cfg, &inf), 0);
	ctrltest_reply(&f, CTRLTEST_LIST, 0, ctrltest_fixture("configmaps_list.json"));
	ctrltest_reply(&f, CTRLTEST_WATCH, 0, ctrltest_fixture("configmaps_watch.json"));
	assert_int_equal(informer_run_once(inf), 0);
	assert_int_equal(informer_get_key(inf, "team/b", &obj), SAQR_ENOTFOUND);
	assert_int_equal(informer_get_key(inf, "team/d", &obj), 0);
	assert_non_null(json_path(obj, "metadata.managedFields"));
	json_decref(obj);
	informer_free(inf);
	ctrltest_ops_release(&f);
}

static void test_resume_from_last_rv(void **state)
{
	struct fixture *fx = *state;
	json_t *ev;

	list_and_watch(fx, SAQR_ETRANSPORT);
	/* A transport error: the next round watches again from 110 without listing. */
	ev = json_pack("[{s:s, s:{s:s, s:s, s:{s:s, s:s, s:s}, s:{s:s}}}]", "type", "ADDED", "object", "kind",
		       "ConfigMap", "apiVersion", "v1", "metadata", "name", "f", "namespace", "team",
		       "resourceVersion", "111", "data", "k", "6");
	ctrltest_reply(&fx->f, CTRLTEST_WATCH, 0, ev);
	assert_int_equal(informer_run_once(fx->inf), 0);
	assert_int_equal(ctrltest_ncalls(&fx->f, CTRLTEST_LIST), 1);
	assert_string_equal(ctrltest_call(&fx->f, CTRLTEST_WATCH, 1)->rv, "110");
	/* The server closed the stream normally: resume from 111. */
	ctrltest_reply(&fx->f, CTRLTEST_WATCH, SAQR_EBUSY, json_array());
	assert_int_equal(informer_run_once(fx->inf), SAQR_EBUSY);
	assert_string_equal(ctrltest_call(&fx->f, CTRLTEST_WATCH, 2)->rv, "111");
	assert_int_equal(ctrltest_ncalls(&fx->f, CTRLTEST_LIST), 1);
	assert_int_equal(informer_len(fx->inf), 4);
	{
		static const char *const want[] = {"add team/f 111"};

		seen_expect(&fx->seen, want, 1);
	}
}

static void test_relist_on_gone(void **state)
{
	static const char *const want[] = {"add team/e 190", "delete team/d 101", "update other/c 93->150"};
	struct fixture *fx = *state;
	char buf[64], rv[64];

	list_and_watch(fx, 0);
	ctrltest_reply(&fx->f, CTRLTEST_WATCH, SAQR_EGONE, json_array());
	assert_int_equal(informer_run_once(fx->inf), SAQR_EGONE);
	assert_int_equal(ctrltest_ncalls(&fx->f, CTRLTEST_LIST), 1);
	/* The next round relists; the new list replaces the cache. a is unchanged (same
	 * resourceVersion, so no update), c changed, e is new, d vanished. */
	ctrltest_reply(&fx->f, CTRLTEST_LIST, 0, ctrltest_fixture("configmaps_relist.json"));
	ctrltest_reply(&fx->f, CTRLTEST_WATCH, 0, json_array());
	assert_int_equal(informer_run_once(fx->inf), 0);
	assert_int_equal(ctrltest_ncalls(&fx->f, CTRLTEST_LIST), 2);
	seen_expect(&fx->seen, want, 3);
	assert_int_equal(informer_len(fx->inf), 3);
	assert_null(cached_value(fx->inf, "team", "d", buf, sizeof(buf)));
	assert_string_equal(cached_value(fx->inf, "other", "c", buf, sizeof(buf)), "3-changed");
	assert_string_equal(cached_value(fx->inf, "team", "e", buf, sizeof(buf)), "5");
	informer_resource_version(fx->inf, rv, sizeof(rv));
	assert_string_equal(rv, "200");
	assert_string_equal(ctrltest_call(&fx->f, CTRLTEST_WATCH, 2)->rv, "200");
}

static void test_relist_on_api_error(void **state)
{
	struct fixture *fx = *state;

	list_and_watch(fx, SAQR_EAPI);
	ctrltest_reply(&fx->f, CTRLTEST_LIST, 0, ctrltest_fixture("configmaps_relist.json"));
	ctrltest_reply(&fx->f, CTRLTEST_WATCH, 0, json_array());
	assert_int_equal(informer_run_once(fx->inf), 0);
	assert_int_equal(ctrltest_ncalls(&fx->f, CTRLTEST_LIST), 2);
}

static void test_list_failure_keeps_trying(void **state)
{
	struct fixture *fx = *state;

	ctrltest_reply(&fx->f, CTRLTEST_LIST, SAQR_EFORBIDDEN, NULL);
	assert_int_equal(informer_run_once(fx->inf), SAQR_EFORBIDDEN);
	assert_false(informer_has_synced(fx->inf));
	assert_int_equal(ctrltest_ncalls(&fx->f, CTRLTEST_WATCH), 0);
	assert_int_equal(informer_len(fx->inf), 0);
	list_and_watch(fx, 0);
	assert_int_equal(ctrltest_ncalls(&fx->f, CTRLTEST_LIST), 2);
}

static void test_readers_keep_old_state(void **state)
{
	struct fixture *fx = *state;
	json_t *before, *all;

	ctrltest_reply(&fx->f, CTRLTEST_LIST, 0, ctrltest_fixture("configmaps_list.json"));
	ctrltest_reply(&fx->f, CTRLTEST_WATCH, 0, json_array());
	assert_int_equal(informer_run_once(fx->inf), 0);
	assert_int_equal(informer_get(fx->inf, "team", "a", &before), 0);
	ctrltest_reply(&fx->f, CTRLTEST_WATCH, 0, ctrltest_fixture("configmaps_watch.json"));
	assert_int_equal(informer_run_once(fx->inf), 0);
	/* The reference taken before the update still shows the old object. */
	assert_string_equal(json_path_str(before, "data.k", ""), "1");
	json_decref(before);
	assert_int_equal(informer_list(fx->inf, "team", &all), 0);
	assert_int_equal(json_array_size(all), 2);
	json_decref(all);
	assert_int_equal(informer_list(fx->inf, NULL, &all), 0);
	assert_int_equal(json_array_size(all), 3);
	json_decref(all);
}

static void test_keys(void **state)
{
	json_t *owned = ctrltest_fixture("owned_objects.json");
	char key[INFORMER_KEY_MAX], ns[64], name[254];

	(void)state;
	assert_int_equal(informer_object_key(json_object_get(owned, "deployment"), key, sizeof(key)), 0);
	assert_string_equal(key, "ml/fraud-model");
	assert_int_equal(informer_object_key(json_object_get(owned, "cluster_scoped"), key, sizeof(key)), 0);
	assert_string_equal(key, "r");
	assert_int_equal(informer_object_key(json_object_get(owned, "deployment"), key, 5), SAQR_ETOOBIG);
	assert_int_equal(informer_object_key(json_object_get(owned, "no-such"), key, sizeof(key)),
			 SAQR_EINVAL);
	assert_int_equal(informer_split_key("ml/fraud", ns, sizeof(ns), name, sizeof(name)), 0);
	assert_string_equal(ns, "ml");
	assert_string_equal(name, "fraud");
	assert_int_equal(informer_split_key("cluster-thing", ns, sizeof(ns), name, sizeof(name)), 0);
	assert_string_equal(ns, "");
	assert_string_equal(name, "cluster-thing");
	assert_int_equal(informer_split_key("a/b/c", ns, sizeof(ns), name, sizeof(name)), SAQR_EINVAL);
	assert_int_equal(informer_split_key("/b", ns, sizeof(ns), name, sizeof(name)), SAQR_EINVAL);
	assert_int_equal(informer_split_key("a/", ns, sizeof(ns), name, sizeof(name)), SAQR_EINVAL);
	assert_int_equal(informer_split_key("abc/d", ns, 2, name, sizeof(name)), SAQR_ETOOBIG);
	json_decref(owned);
}

static void test_controller_owner_key(void **state)
{
	json_t *owned = ctrltest_fixture("owned_objects.json");
	char key[INFORMER_KEY_MAX];

	(void)state;
	assert_int_equal(informer_controller_owner_key(json_object_get(owned, "deployment"), "saqr.dev",
						       "ModelDeployment", key, sizeof(key)),
			 0);
	assert_string_equal(key, "ml/fraud");
	/* A non-controller reference does not count. */
	assert_int_equal(informer_controller_owner_key(json_object_get(owned, "deployment"), "saqr.dev",
						       "DriftPolicy", key, sizeof(key)),
			 SAQR_ENOTFOUND);
	assert_int_equal(informer_controller_owner_key(json_object_get(owned, "job"), "saqr.dev",
						       "TrainingJob", key, sizeof(key)),
			 0);
	assert_string_equal(key, "ml/train");
	assert_int_equal(informer_controller_owner_key(json_object_get(owned, "job"), "saqr.dev",
						       "ModelDeployment", key, sizeof(key)),
			 SAQR_ENOTFOUND);
	/* Same kind, other API group: not ours unless the group is ignored. */
	assert_int_equal(informer_controller_owner_key(json_object_get(owned, "configmap_other_group"),
						       "saqr.dev", "DriftPolicy", key, sizeof(key)),
			 SAQR_ENOTFOUND);
	assert_int_equal(informer_controller_owner_key(json_object_get(owned, "configmap_other_group"), NULL,
						       "DriftPolicy", key, sizeof(key)),
			 0);
	assert_string_equal(key, "ml/impostor");
	assert_int_equal(informer_controller_owner_key(json_object_get(owned, "unowned"), "saqr.dev",
						       "ModelDeployment", key, sizeof(key)),
			 SAQR_ENOTFOUND);
	/* Core group owner of a cluster-scoped object. */
	assert_int_equal(informer_controller_owner_key(json_object_get(owned, "cluster_scoped"), "",
						       "Namespace", key, sizeof(key)),
			 0);
	assert_string_equal(key, "ns1");
	assert_int_equal(informer_controller_owner_key(json_object_get(owned, "deployment"), "saqr.dev",
						       "ModelDeployment", key, 4),
			 SAQR_ETOOBIG);
	json_decref(owned);
}

static bool seen_has(struct seen *s, const char *line)
{
	size_t i;
	json_t *v;

	json_array_foreach(s->log, i, v) if (strcmp(json_string_value(v), line) == 0) return true;
	return false;
}

static void test_thread_backoff_sync_events_stop(void **state)
{
	struct fixture *fx = *state;
	struct informer_handlers h = {0};

	/* Two failed lists (the thread backs off and retries), then a good one; the watch is live. */
	ctrltest_reply(&fx->f, CTRLTEST_LIST, SAQR_ETRANSPORT, NULL);
	ctrltest_reply(&fx->f, CTRLTEST_LIST, SAQR_EBUSY, NULL);
	ctrltest_reply(&fx->f, CTRLTEST_LIST, 0, ctrltest_fixture("configmaps_list.json"));
	assert_int_equal(informer_wait_synced(fx->inf, 0.001), SAQR_ETIMEDOUT);
	assert_int_equal(informer_start(fx->inf), 0);
	assert_int_equal(informer_start(fx->inf), SAQR_EBUSY);
	assert_int_equal(informer_add_handlers(fx->inf, &h), SAQR_EBUSY);
	assert_int_equal(informer_wait_synced(fx->inf, 3600), 0);
	assert_int_equal(ctrltest_ncalls(&fx->f, CTRLTEST_LIST), 3);
	ctrltest_push_event(&fx->f, "configmaps", "DELETED",
			    json_pack("{s:s, s:s, s:{s:s, s:s, s:s}}", "kind", "ConfigMap", "apiVersion",
				      "v1", "metadata", "name", "a", "namespace", "team", "resourceVersion",
				      "120"));
	pthread_mutex_lock(&fx->seen.mu);
	while (!seen_has(&fx->seen, "delete team/a 120"))
		pthread_cond_wait(&fx->seen.cv, &fx->seen.mu);
	pthread_mutex_unlock(&fx->seen.mu);
	assert_int_equal(informer_len(fx->inf), 2);
	informer_stop(fx->inf);
	informer_stop(fx->inf);
	assert_int_equal(informer_wait_synced(fx->inf, 1), 0);
	/* The cache stays readable after stop. */
	assert_int_equal(informer_len(fx->inf), 2);
}

/* A transform that drops data and adds a marker: what handlers and readers see. */
static int drop_data(json_t *obj)
{
	json_object_del(obj, "data");
	return json_object_set_new(obj, "trimmed", json_true()) ? SAQR_ENOMEM : 0;
}

static void test_transform(void **state)
{
	struct ctrltest_ops f;
	struct informer_config cfg = {.res = configmaps, .transform = drop_data, .compact = true};
	struct informer *inf;
	json_t *obj;

	(void)state;
	ctrltest_ops_init(&f);
	assert_int_equal(informer_new(&f.ops, &cfg, &inf), 0);
	ctrltest_reply(&f, CTRLTEST_LIST, 0, ctrltest_fixture("configmaps_list.json"));
	ctrltest_reply(&f, CTRLTEST_WATCH, 0, ctrltest_fixture("configmaps_watch.json"));
	assert_int_equal(informer_run_once(inf), 0);
	/* listed (c) and watched (d) objects alike */
	assert_int_equal(informer_get_key(inf, "other/c", &obj), 0);
	assert_null(json_object_get(obj, "data"));
	assert_true(json_is_true(json_object_get(obj, "trimmed")));
	assert_string_equal(json_path_str(obj, "kind", ""), "ConfigMap");
	json_decref(obj);
	assert_int_equal(informer_get_key(inf, "team/d", &obj), 0);
	assert_null(json_object_get(obj, "data"));
	assert_true(json_is_true(json_object_get(obj, "trimmed")));
	json_decref(obj);
	informer_free(inf);
	ctrltest_ops_release(&f);
}

/* A paged list: two pages joined by a continue token, the resourceVersion of the last page. */
struct pager {
	int calls;
	char tokens[4][32];
};

static struct pager pager;

static int paged_list(const struct kubeops *ops, const struct kube_resource *res, const char *ns,
		      const struct kube_list_opts *opts, json_t **out, struct kube_status *st)
{
	json_t *page = ctrltest_fixture("configmaps_list.json");
	json_t *items = json_object_get(page, "items");
	bool first = !opts->continue_token;

	(void)ops, (void)res, (void)ns, (void)st;
	assert_int_equal(opts->limit, 2);
	snprintf(pager.tokens[pager.calls++ % 4], sizeof(pager.tokens[0]), "%s",
		 opts->continue_token ? opts->continue_token : "");
	if (first) {
		json_array_remove(items, 2);
		json_object_set_new(json_object_get(page, "metadata"), "continue", json_string("page-2"));
	} else {
		json_array_remove(items, 0);
		json_array_remove(items, 0);
		json_object_set_new(json_object_get(page, "metadata"), "resourceVersion", json_string("105"));
	}
	*out = page;
	return 0;
}

static void test_paged_relist(void **state)
{
	struct ctrltest_ops f;
	struct informer_config cfg = {.res = configmaps, .page_size = 2, .compact = true};
	struct informer *inf;
	char rv[32];

	(void)state;
	memset(&pager, 0, sizeof(pager));
	ctrltest_ops_init(&f);
	f.ops.list = paged_list;
	assert_int_equal(informer_new(&f.ops, &cfg, &inf), 0);
	ctrltest_reply(&f, CTRLTEST_WATCH, 0, json_array());
	assert_int_equal(informer_run_once(inf), 0);
	assert_int_equal(pager.calls, 2);
	assert_string_equal(pager.tokens[0], "");
	assert_string_equal(pager.tokens[1], "page-2");
	assert_int_equal(informer_len(inf), 3);
	assert_int_equal(informer_resource_version(inf, rv, sizeof(rv)), 0);
	assert_string_equal(rv, "105");
	assert_string_equal(ctrltest_call(&f, CTRLTEST_WATCH, 0)->rv, "105");
	/* list_all was not used */
	assert_int_equal(ctrltest_ncalls(&f, CTRLTEST_LIST), 0);
	informer_free(inf);
	ctrltest_ops_release(&f);
}

static void test_bad_config(void **state)
{
	struct ctrltest_ops f;
	struct informer_config cfg = {0};
	struct informer *inf;

	(void)state;
	ctrltest_ops_init(&f);
	assert_int_equal(informer_new(&f.ops, &cfg, &inf), SAQR_EINVAL);
	assert_int_equal(informer_new(NULL, &cfg, &inf), SAQR_EINVAL);
	informer_free(NULL);
	ctrltest_ops_release(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_list_then_watch_cache, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_strips_managed_fields, setup, teardown),
	    cmocka_unit_test(test_keep_managed_fields),
	    cmocka_unit_test_setup_teardown(test_resume_from_last_rv, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_relist_on_gone, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_relist_on_api_error, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_failure_keeps_trying, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_readers_keep_old_state, setup, teardown),
	    cmocka_unit_test(test_keys),
	    cmocka_unit_test(test_controller_owner_key),
	    cmocka_unit_test_setup_teardown(test_thread_backoff_sync_events_stop, setup, teardown),
	    cmocka_unit_test(test_bad_config),
	    cmocka_unit_test_setup_teardown(test_list_then_watch_cache, setup_compact, teardown),
	    cmocka_unit_test_setup_teardown(test_resume_from_last_rv, setup_compact, teardown),
	    cmocka_unit_test_setup_teardown(test_relist_on_gone, setup_compact, teardown),
	    cmocka_unit_test_setup_teardown(test_readers_keep_old_state, setup_compact, teardown),
	    cmocka_unit_test_setup_teardown(test_thread_backoff_sync_events_stop, setup_compact, teardown),
	    cmocka_unit_test(test_transform),
	    cmocka_unit_test(test_paged_relist),
	};

	return cmocka_run_group_tests_name("informer", tests, NULL, NULL);
}
