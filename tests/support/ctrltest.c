/* The scripted kubeops for controller tests. */
#include "ctrltest.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"

struct ctrltest_reply {
	struct ctrltest_reply *next;
	char resource[64]; /* answers only calls on this resource; "" for any */
	int rc;
	json_t *obj;
	struct kube_status st;
};

static struct ctrltest_ops *ctrltest_self(const struct kubeops *ops)
{
	return ops->ctx;
}

static void ctrltest_copy(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

/* Record a call; returns the popped reply or NULL (mu held). */
static struct ctrltest_reply *ctrltest_record(struct ctrltest_ops *f, enum ctrltest_verb v,
					      const struct kube_resource *res, const char *ns,
					      const char *name, const json_t *body)
{
	struct ctrltest_reply **p, *r;
	struct ctrltest_call *c;

	f->calls[v] = realloc(f->calls[v], (f->ncalls[v] + 1) * sizeof(c));
	c = calloc(1, sizeof(*c));
	assert_non_null(f->calls[v]);
	assert_non_null(c);
	f->calls[v][f->ncalls[v]++] = c;
	ctrltest_copy(c->resource, sizeof(c->resource), res->resource);
	ctrltest_copy(c->ns, sizeof(c->ns), ns);
	ctrltest_copy(c->name, sizeof(c->name), name);
	c->body = body ? json_deep_copy(body) : NULL;
	for (p = &f->replies[v]; *p; p = &(*p)->next)
		if (!(*p)->resource[0] || strcmp((*p)->resource, c->resource) == 0)
			break;
	r = *p;
	if (r)
		*p = r->next;
	pthread_cond_broadcast(&f->cv);
	return r;
}

static int ctrltest_answer(struct ctrltest_reply *r, json_t **out, struct kube_status *st)
{
	int rc = r->rc;

	if (rc == 0 && out)
		*out = json_incref(r->obj);
	if (st)
		*st = r->st;
	json_decref(r->obj);
	free(r);
	return rc;
}

static int ctrltest_unscripted(struct ctrltest_ops *f, const json_t *body, json_t **out)
{
	if (f->echo_writes && body) {
		if (out)
			*out = json_deep_copy(body);
		return 0;
	}
	return f->unscripted_rc;
}

static const char *const ctrltest_verbs[] = {"list", "watch", "get", "create", "update", "patch"};

/* Report to the observe hook as the real binding does. */
static int ctrltest_observed(const struct kubeops *ops, enum ctrltest_verb v, const struct kube_resource *res,
			     int rc)
{
	if (ops->observe)
		ops->observe(ops->observe_ud, ctrltest_verbs[v], res, rc);
	return rc;
}

static int ctrltest_simple(const struct kubeops *ops, enum ctrltest_verb v, const struct kube_resource *res,
			   const char *ns, const char *name, const json_t *body, json_t **out,
			   struct kube_status *st)
{
	struct ctrltest_ops *f = ctrltest_self(ops);
	struct ctrltest_reply *r;
	int rc;

	pthread_mutex_lock(&f->mu);
	r = ctrltest_record(f, v, res, ns, name, body);
	rc = r ? ctrltest_answer(r, out, st)
	       : ctrltest_unscripted(
		     f, v == CTRLTEST_CREATE || v == CTRLTEST_UPDATE || v == CTRLTEST_PATCH ? body : NULL,
		     out);
	pthread_mutex_unlock(&f->mu);
	return ctrltest_observed(ops, v, res, rc);
}

static int ctrltest_list_all(const struct kubeops *ops, const struct kube_resource *res, const char *ns,
			     const struct kube_list_opts *opts, json_t **out, struct kube_status *st)
{
	struct ctrltest_ops *f = ctrltest_self(ops);
	struct ctrltest_reply *r;
	int rc;

	/* The selector goes into this call's record under the same lock: informers list at once. */
	pthread_mutex_lock(&f->mu);
	r = ctrltest_record(f, CTRLTEST_LIST, res, ns, NULL, NULL);
	ctrltest_copy(f->calls[CTRLTEST_LIST][f->ncalls[CTRLTEST_LIST] - 1]->label_selector, 128,
		      opts ? opts->label_selector : NULL);
	rc = r ? ctrltest_answer(r, out, st) : ctrltest_unscripted(f, NULL, out);
	pthread_mutex_unlock(&f->mu);
	return ctrltest_observed(ops, CTRLTEST_LIST, res, rc);
}

static int ctrltest_replay(json_t *events, kube_watch_fn fn, void *ud)
{
	size_t i;
	json_t *ev;

	json_array_foreach(events, i, ev)
	{
		int rc =
		    fn(ud, json_string_value(json_object_get(ev, "type")), json_object_get(ev, "object"));

		if (rc)
			return rc;
	}
	return 0;
}

/* No scripted answer: deliver pushed events until stopped. */
static int ctrltest_live_watch(struct ctrltest_ops *f, const struct kube_resource *res,
			       const struct kube_watch_opts *opts, kube_watch_fn fn, void *ud)
{
	for (;;) {
		json_t *batch;
		int rc;

		pthread_mutex_lock(&f->mu);
		batch = json_incref(json_object_get(f->live, res->resource));
		json_object_del(f->live, res->resource);
		pthread_mutex_unlock(&f->mu);
		rc = ctrltest_replay(batch, fn, ud);
		json_decref(batch);
		if (rc)
			return rc;
		if (opts->stop && atomic_load(opts->stop))
			return SAQR_ECLOSED;
		/* The real watch also notices its stop flag only every so often. */
		nanosleep(&(struct timespec){0, 2000000L}, NULL);
	}
}

static int ctrltest_watch(const struct kubeops *ops, const struct kube_resource *res, const char *ns,
			  const struct kube_watch_opts *opts, kube_watch_fn fn, void *ud,
			  struct kube_status *st)
{
	struct ctrltest_ops *f = ctrltest_self(ops);
	struct ctrltest_reply *r;
	int rc;

	pthread_mutex_lock(&f->mu);
	r = ctrltest_record(f, CTRLTEST_WATCH, res, ns, NULL, NULL);
	ctrltest_copy(f->calls[CTRLTEST_WATCH][f->ncalls[CTRLTEST_WATCH] - 1]->rv, 64,
		      opts->resource_version);
	pthread_mutex_unlock(&f->mu);
	if (!r)
		return ctrltest_observed(ops, CTRLTEST_WATCH, res, ctrltest_live_watch(f, res, opts, fn, ud));
	rc = ctrltest_replay(r->obj, fn, ud);
	if (rc == 0)
		rc = r->rc;
	if (st)
		*st = r->st;
	json_decref(r->obj);
	free(r);
	return ctrltest_observed(ops, CTRLTEST_WATCH, res, rc);
}

static int ctrltest_get(const struct kubeops *ops, const struct kube_resource *res, const char *ns,
			const char *name, json_t **out, struct kube_status *st)
{
	return ctrltest_simple(ops, CTRLTEST_GET, res, ns, name, NULL, out, st);
}

static int ctrltest_create(const struct kubeops *ops, const struct kube_resource *res, const char *ns,
			   const json_t *obj, const struct kube_write_opts *opts, json_t **out,
			   struct kube_status *st)
{
	(void)opts;
	return ctrltest_simple(ops, CTRLTEST_CREATE, res, ns, NULL, obj, out, st);
}

static int ctrltest_update(const struct kubeops *ops, const struct kube_resource *res, const char *ns,
			   const json_t *obj, const struct kube_write_opts *opts, json_t **out,
			   struct kube_status *st)
{
	(void)opts;
	return ctrltest_simple(ops, CTRLTEST_UPDATE, res, ns,
			       json_string_value(json_object_get(json_object_get(obj, "metadata"), "name")),
			       obj, out, st);
}

static int ctrltest_patch(const struct kubeops *ops, const struct kube_resource *res, const char *ns,
			  const char *name, enum kube_patch_type type, const json_t *patch,
			  const struct kube_write_opts *opts, json_t **out, struct kube_status *st)
{
	struct ctrltest_ops *f = ctrltest_self(ops);
	int rc;

	(void)opts;
	rc = ctrltest_simple(ops, CTRLTEST_PATCH, res, ns, name, patch, out, st);
	pthread_mutex_lock(&f->mu);
	f->calls[CTRLTEST_PATCH][f->ncalls[CTRLTEST_PATCH] - 1]->patch_type = (int)type;
	pthread_mutex_unlock(&f->mu);
	return rc;
}

void ctrltest_ops_init(struct ctrltest_ops *f)
{
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	f->live = json_object();
	f->unscripted_rc = SAQR_ETRANSPORT;
	f->ops.ctx = f;
	f->ops.list_all = ctrltest_list_all;
	f->ops.watch = ctrltest_watch;
	f->ops.get = ctrltest_get;
	f->ops.create = ctrltest_create;
	f->ops.update = ctrltest_update;
	f->ops.patch = ctrltest_patch;
}

void ctrltest_ops_release(struct ctrltest_ops *f)
{
	for (int v = 0; v < CTRLTEST_NVERBS; v++) {
		while (f->replies[v]) {
			struct ctrltest_reply *r = f->replies[v];

			f->replies[v] = r->next;
			json_decref(r->obj);
			free(r);
		}
		for (size_t i = 0; i < f->ncalls[v]; i++) {
			json_decref(f->calls[v][i]->body);
			free(f->calls[v][i]);
		}
		free(f->calls[v]);
	}
	json_decref(f->live);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv);
}

static void ctrltest_enqueue(struct ctrltest_ops *f, enum ctrltest_verb verb, struct ctrltest_reply *r)
{
	struct ctrltest_reply **p;

	pthread_mutex_lock(&f->mu);
	p = &f->replies[verb];
	while (*p)
		p = &(*p)->next;
	*p = r;
	pthread_mutex_unlock(&f->mu);
}

void ctrltest_reply(struct ctrltest_ops *f, enum ctrltest_verb verb, int rc, json_t *obj)
{
	ctrltest_reply_for(f, verb, NULL, rc, obj);
}

void ctrltest_reply_for(struct ctrltest_ops *f, enum ctrltest_verb verb, const char *resource, int rc,
			json_t *obj)
{
	struct ctrltest_reply *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	ctrltest_copy(r->resource, sizeof(r->resource), resource);
	r->rc = rc;
	r->obj = obj;
	ctrltest_enqueue(f, verb, r);
}

void ctrltest_reply_status(struct ctrltest_ops *f, enum ctrltest_verb verb, int rc, int http_code,
			   const char *reason)
{
	struct ctrltest_reply *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	r->rc = rc;
	r->st.http_code = http_code;
	ctrltest_copy(r->st.reason, sizeof(r->st.reason), reason);
	ctrltest_enqueue(f, verb, r);
}

void ctrltest_push_event(struct ctrltest_ops *f, const char *resource, const char *type, json_t *obj)
{
	json_t *batch;

	pthread_mutex_lock(&f->mu);
	batch = json_object_get(f->live, resource);
	if (!batch) {
		batch = json_array();
		json_object_set_new(f->live, resource, batch);
	}
	json_array_append_new(batch, json_pack("{s:s, s:o}", "type", type, "object", obj));
	pthread_mutex_unlock(&f->mu);
}

size_t ctrltest_ncalls(struct ctrltest_ops *f, enum ctrltest_verb verb)
{
	size_t n;

	pthread_mutex_lock(&f->mu);
	n = f->ncalls[verb];
	pthread_mutex_unlock(&f->mu);
	return n;
}

const struct ctrltest_call *ctrltest_call(struct ctrltest_ops *f, enum ctrltest_verb verb, size_t i)
{
	const struct ctrltest_call *c;

	pthread_mutex_lock(&f->mu);
	assert_true(i < f->ncalls[verb]);
	c = f->calls[verb][i];
	pthread_mutex_unlock(&f->mu);
	return c;
}

void ctrltest_wait_calls(struct ctrltest_ops *f, enum ctrltest_verb verb, size_t n)
{
	pthread_mutex_lock(&f->mu);
	while (f->ncalls[verb] < n)
		pthread_cond_wait(&f->cv, &f->mu);
	pthread_mutex_unlock(&f->mu);
}

json_t *ctrltest_fixture(const char *name)
{
	const char *root = getenv("SAQR_ROOT");
	char path[1024];
	json_error_t err;
	json_t *v;

	snprintf(path, sizeof(path), "%s/tests/data/controller/%s", root && *root ? root : ".", name);
	v = json_load_file(path, 0, &err);
	if (!v)
		fail_msg("fixture %s: line %d: %s", path, err.line, err.text);
	return v;
}
