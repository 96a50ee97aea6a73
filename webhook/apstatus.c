/* The webhook pod's entry in the AdmissionPolicy's status.loaded, sent from one thread; see
 * apstatus.h. */
#include "webhook/apstatus.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "common/yamljson.h"

#define APSTATUS_TIME_BUF 32
#define APSTATUS_FIELD_MANAGER_MAX 128

static const struct kube_resource apstatus_res = {"saqr.dev", "v1alpha1", "admissionpolicies", false};

/* What the next write says. */
struct apstatus_state {
	long long generation;
	char loaded_at[APSTATUS_TIME_BUF]; /* "" until a load */
	bool accepted;
	char message[APSTATUS_MSG_MAX];
};

struct apstatus {
	struct kube_client *client;
	char *resource;
	char *policy_file;
	char loader[APSTATUS_NAME_MAX];
	double retry;

	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct apstatus_state state;
	bool dirty; /* state not sent yet */
	bool stop;
	pthread_t thread;
	bool running;
};

/* ---- the pure part ---- */

long long apstatus_file_generation(const char *path)
{
	FILE *f = path ? fopen(path, "rb") : NULL;
	char *data = f ? malloc(APSTATUS_FILE_MAX + 1) : NULL;
	json_t *doc = NULL;
	long long gen = 0;
	size_t n = 0;

	if (!data)
		goto out;
	n = fread(data, 1, APSTATUS_FILE_MAX + 1, f);
	if (n > APSTATUS_FILE_MAX || yaml_to_json(data, n, APSTATUS_FILE_MAX, &doc, NULL, 0) != 0)
		goto out;
	gen = json_path_int(doc, "metadata.generation", 0);
out:
	json_decref(doc);
	free(data);
	if (f)
		fclose(f);
	return gen > 0 ? gen : 0;
}

int apstatus_body(const char *resource, const char *loader, long long generation, const char *loaded_at,
		  bool accepted, const char *message, json_t **out)
{
	json_t *entry, *body;

	if (!resource || !*resource || !loader || !*loader || generation < 0)
		return SAQR_EINVAL;
	entry = json_pack("{s:s, s:I, s:b, s:s}", "name", loader, "generation", (json_int_t)generation,
			  "accepted", accepted, "message", message ? message : "");
	if (entry && loaded_at && *loaded_at)
		json_object_set_new(entry, "loadedAt", json_string(loaded_at));
	body = json_pack("{s:s, s:s, s:{s:s}, s:{s:[o]}}", "apiVersion", "saqr.dev/v1alpha1", "kind",
			 "AdmissionPolicy", "metadata", "name", resource, "status", "loaded", entry);
	if (!body)
		return SAQR_ENOMEM;
	*out = body;
	return 0;
}

/* ---- recording ---- */

static void apstatus_now(char *out, size_t outlen)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void apstatus_note(void *ud, bool loaded, const char *message)
{
	struct apstatus *a = ud;
	long long gen = loaded ? apstatus_file_generation(a->policy_file) : 0;

	pthread_mutex_lock(&a->lock);
	a->state.accepted = loaded;
	if (loaded) {
		a->state.generation = gen;
		apstatus_now(a->state.loaded_at, sizeof(a->state.loaded_at));
		snprintf(a->state.message, sizeof(a->state.message), "loaded %s", a->policy_file);
	} else {
		snprintf(a->state.message, sizeof(a->state.message),
			 "reload refused, generation %lld stays: %s", a->state.generation,
			 message ? message : "");
	}
	a->dirty = true;
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->lock);
}

/* ---- sending ---- */

static int apstatus_send(struct apstatus *a, const struct apstatus_state *s)
{
	struct kube_write_opts wo = {.field_manager = a->loader, .force = true, .subresource = "status"};
	struct kube_status st = {0};
	json_t *body = NULL;
	int rc = apstatus_body(a->resource, a->loader, s->generation, s->loaded_at, s->accepted, s->message,
			       &body);

	if (rc == 0)
		rc = kube_patch(a->client, &apstatus_res, NULL, a->resource, KUBE_PATCH_APPLY, body, &wo,
				NULL, &st);
	json_decref(body);
	if (rc)
		log_warn("cannot report the policy in the AdmissionPolicy's status", "name", a->resource,
			 "error", st.message[0] ? st.message : saqr_strerror(rc));
	return rc;
}

/* Wait until there is something to send, or until the retry deadline; lock held. */
static void apstatus_wait(struct apstatus *a, bool retrying)
{
	struct timespec until;

	if (!retrying) {
		while (!a->stop && !a->dirty)
			pthread_cond_wait(&a->wake, &a->lock);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += (time_t)a->retry;
	until.tv_nsec += (long)((a->retry - (double)(time_t)a->retry) * 1e9);
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (!a->stop && !a->dirty && pthread_cond_timedwait(&a->wake, &a->lock, &until) == 0)
		;
}

static void *apstatus_main(void *arg)
{
	struct apstatus *a = arg;
	struct apstatus_state s;
	bool retrying = false;

	pthread_mutex_lock(&a->lock);
	for (;;) {
		apstatus_wait(a, retrying);
		if (a->stop)
			break;
		if (a->dirty || retrying) {
			s = a->state;
			a->dirty = false;
			pthread_mutex_unlock(&a->lock);
			retrying = apstatus_send(a, &s) != 0;
			pthread_mutex_lock(&a->lock);
		}
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

static void apstatus_release(struct apstatus *a)
{
	pthread_cond_destroy(&a->wake);
	pthread_mutex_destroy(&a->lock);
	free(a->resource);
	free(a->policy_file);
	free(a);
}

int apstatus_new(const struct apstatus_config *cfg, struct apstatus **out)
{
	pthread_condattr_t ca;
	struct apstatus *a;
	int n;

	if (!cfg || !cfg->client || !cfg->resource || !*cfg->resource || !cfg->pod || !*cfg->pod ||
	    !cfg->policy_file)
		return SAQR_EINVAL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return SAQR_ENOMEM;
	n = snprintf(a->loader, sizeof(a->loader), APSTATUS_LOADER_PREFIX "%s", cfg->pod);
	pthread_mutex_init(&a->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->wake, &ca);
	pthread_condattr_destroy(&ca);
	a->client = cfg->client;
	a->retry = cfg->retry > 0 ? cfg->retry : APSTATUS_RETRY;
	a->resource = strdup(cfg->resource);
	a->policy_file = strdup(cfg->policy_file);
	if (n < 0 || n > APSTATUS_FIELD_MANAGER_MAX || !a->resource || !a->policy_file ||
	    pthread_create(&a->thread, NULL, apstatus_main, a) != 0) {
		int rc = n < 0 || n > APSTATUS_FIELD_MANAGER_MAX ? SAQR_EINVAL : SAQR_ENOMEM;

		apstatus_release(a);
		return rc;
	}
	a->running = true;
	*out = a;
	return 0;
}

void apstatus_free(struct apstatus *a)
{
	if (!a)
		return;
	if (a->running) {
		pthread_mutex_lock(&a->lock);
		a->stop = true;
		pthread_cond_signal(&a->wake);
		pthread_mutex_unlock(&a->lock);
		pthread_join(a->thread, NULL);
	}
	apstatus_release(a);
}
