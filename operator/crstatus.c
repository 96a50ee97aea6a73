/* Status writes through the status subresource, at most once per change. */
#include "operator/crstatus.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "operator/runtime/ctrltime.h"
#include "operator/runtime/informer.h"
#include "operator/runtime/strmap.h"
#include "operator/conditions.h"

#define CRSTATUS_RV_MAX 64

/* One write: the resourceVersion it replaced, and when. */
struct crstatus_entry {
	char replaced_rv[CRSTATUS_RV_MAX];
	double at;
};

struct crstatus_memo {
	pthread_mutex_t lock;
	struct strmap writes; /* "ns/name" -> struct crstatus_entry * */
};

int crstatus_memo_new(struct crstatus_memo **out)
{
	struct crstatus_memo *m = calloc(1, sizeof(*m));

	if (!m)
		return SAQR_ENOMEM;
	pthread_mutex_init(&m->lock, NULL);
	strmap_init(&m->writes);
	*out = m;
	return 0;
}

void crstatus_memo_free(struct crstatus_memo *m)
{
	if (!m)
		return;
	strmap_release(&m->writes, free);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static int memo_key(const char *ns, const char *name, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s/%s", ns ? ns : "", name ? name : "");

	return n < 0 || (size_t)n >= outlen ? SAQR_EINVAL : 0;
}

void crstatus_memo_forget(struct crstatus_memo *m, const char *ns, const char *name)
{
	char key[INFORMER_KEY_MAX];

	if (memo_key(ns, name, key, sizeof(key)))
		return;
	pthread_mutex_lock(&m->lock);
	free(strmap_remove(&m->writes, key));
	pthread_mutex_unlock(&m->lock);
}

bool crstatus_cache_behind(struct crstatus_memo *m, const json_t *obj)
{
	const char *rv = json_path_str(obj, "metadata.resourceVersion", "");
	char key[INFORMER_KEY_MAX];
	struct crstatus_entry *e;
	bool behind = false;

	if (!*rv || memo_key(json_path_str(obj, "metadata.namespace", ""),
			     json_path_str(obj, "metadata.name", ""), key, sizeof(key)))
		return false;
	pthread_mutex_lock(&m->lock);
	e = strmap_get(&m->writes, key);
	if (e && ctrltime_mono() - e->at >= CRSTATUS_GRACE)
		free(strmap_remove(&m->writes, key)); /* says nothing any more */
	else if (e && strcmp(e->replaced_rv, rv) == 0)
		behind = true;
	pthread_mutex_unlock(&m->lock);
	return behind;
}

/* Remember that the write answered by written replaced obj's version. Best effort: out of
 * memory only costs a 409 later. */
static void memo_note(struct crstatus_memo *m, const json_t *obj, const json_t *written)
{
	const char *before = json_path_str(obj, "metadata.resourceVersion", "");
	char key[INFORMER_KEY_MAX];
	struct crstatus_entry *e, *old = NULL;

	if (strlen(before) >= CRSTATUS_RV_MAX ||
	    strcmp(before, json_path_str(written, "metadata.resourceVersion", "")) == 0 ||
	    memo_key(json_path_str(obj, "metadata.namespace", ""), json_path_str(obj, "metadata.name", ""),
		     key, sizeof(key)))
		return;
	e = malloc(sizeof(*e));
	if (!e)
		return;
	snprintf(e->replaced_rv, sizeof(e->replaced_rv), "%s", before);
	e->at = ctrltime_mono();
	pthread_mutex_lock(&m->lock);
	if (strmap_put(&m->writes, key, e, (void **)&old) != 0)
		old = e;
	pthread_mutex_unlock(&m->lock);
	free(old);
}

int crstatus_write(const struct kubeops *ops, const struct kube_resource *res, struct crstatus_memo *m,
		   const json_t *obj, const json_t *status, bool *written, struct kube_status *st)
{
	struct kube_write_opts wo = {.subresource = "status"};
	json_t *body, *out = NULL;
	int rc;

	*written = false;
	if (cond_status_equal(status, json_object_get(obj, "status")))
		return 0;
	body = json_copy((json_t *)obj);
	if (!body || json_object_set(body, "status", (json_t *)status)) {
		json_decref(body);
		return SAQR_ENOMEM;
	}
	rc = ops->update(ops, res, json_path_str(obj, "metadata.namespace", NULL), body, &wo, &out, st);
	json_decref(body);
	if (rc)
		return rc;
	if (m)
		memo_note(m, obj, out);
	json_decref(out);
	*written = true;
	return 0;
}
