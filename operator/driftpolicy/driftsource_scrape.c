/* The scrape source: GET each ready pod's metrics, keep each pod's last cumulative reading per
 * DriftPolicy, and turn two readings into a window (the increase, summed over pods). Also the
 * one HTTP GET both sources use (over lib/http). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "http/http.h"
#include "operator/runtime/ctrltime.h"
#include "operator/runtime/strmap.h"
#include "operator/driftpolicy/driftsource.h"

#define DS_SCRAPE_BUDGET_MS 15000L /* one scrape of every pod, at most */
#define DS_ACCEPT_METRICS                                                                                    \
	"application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

/* ---- HTTP GET ---- */

/* The request's header lines: Accept, and the bearer token when there is one. */
static int ds_headers(const struct driftsource_http *o, struct buf *auth, const char **lines)
{
	int rc = 0;

	lines[0] = o->json ? "Accept: application/json" : "Accept: " DS_ACCEPT_METRICS;
	lines[1] = NULL;
	lines[2] = NULL;
	if (!o->bearer_token)
		return 0;
	rc = buf_adds(auth, "Authorization: ");
	rc = rc ? rc : http_auth_bearer(o->bearer_token, auth);
	lines[1] = buf_str(auth);
	return rc;
}

/* The options of lib/http for o; the body cap is the smaller of o's and the buffer's. */
static void ds_http_opts(const struct driftsource_http *o, const struct buf *body, struct http_opts *out)
{
	size_t max = o->max_body ? o->max_body : DRIFTSOURCE_MAX_BODY;

	memset(out, 0, sizeof(*out));
	out->tls.ca_pem = o->ca_pem;
	out->tls.ca_len = o->ca_len;
	out->tls.skip_hostname = o->skip_hostname;
	out->connect_timeout_ms = DRIFTSOURCE_CONNECT_TIMEOUT_MS;
	out->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : DRIFTSOURCE_TIMEOUT_MS;
	out->max_body = body->max && body->max < max ? body->max : max;
	out->compressed = true;
	out->net = o->net;
}

int driftsource_http_get(const char *url, const struct driftsource_http *opts, struct buf *body, char *err,
			 size_t errlen)
{
	static const struct driftsource_http none;
	const struct driftsource_http *o = opts ? opts : &none;
	const char *lines[3];
	struct http_request req = {.method = "GET", .url = url, .headers = lines};
	struct http_response *r = NULL;
	struct http_opts ho;
	struct buf auth;
	char host[256];
	int rc;

	buf_init(&auth, 16384);
	rc = ds_headers(o, &auth, lines);
	if (rc)
		rc = saqr_fail(SAQR_EINVAL, err, errlen, "the bearer token is not a valid header value");
	ds_http_opts(o, body, &ho);
	rc = rc ? rc : http_do(&req, &ho, &r, err, errlen);
	if (rc == 0 && r) {
		http_url_host(url, host, sizeof(host));
		rc = buf_add(body, r->body.data, r->body.len);
		if (rc)
			saqr_errf(err, errlen, "%s: the answer does not fit: %s", host, saqr_strerror(rc));
		else if (!http_status_ok(r->status))
			rc = saqr_fail(SAQR_EAPI, err, errlen, "%s: HTTP %ld", host, r->status);
	}
	http_response_free(r);
	buf_release(&auth);
	return rc;
}

/* ---- the store ---- */

struct ds_pod {
	char key[320];
	struct driftsource_data reading;
};

struct ds_policy {
	char uid[128];
	struct ds_pod *pods;
	size_t npods;
	double at; /* monotonic time of the last reading */
};

struct driftsource_store {
	pthread_mutex_t mu;
	struct strmap policies;
};

static void ds_policy_free(void *p)
{
	struct ds_policy *pol = p;

	if (!pol)
		return;
	for (size_t i = 0; i < pol->npods; i++)
		driftsource_data_release(&pol->pods[i].reading);
	free(pol->pods);
	free(pol);
}

int driftsource_store_new(struct driftsource_store **out)
{
	struct driftsource_store *s = calloc(1, sizeof(*s));

	if (!s)
		return SAQR_ENOMEM;
	pthread_mutex_init(&s->mu, NULL);
	strmap_init(&s->policies);
	*out = s;
	return 0;
}

void driftsource_store_free(struct driftsource_store *s)
{
	if (!s)
		return;
	strmap_release(&s->policies, ds_policy_free);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

void driftsource_store_forget(struct driftsource_store *s, const char *policy_key)
{
	struct ds_policy *pol;

	pthread_mutex_lock(&s->mu);
	pol = strmap_remove(&s->policies, policy_key);
	pthread_mutex_unlock(&s->mu);
	ds_policy_free(pol);
}

bool driftsource_store_has(struct driftsource_store *s, const char *policy_key, const char *uid)
{
	struct ds_policy *pol;
	bool has;

	pthread_mutex_lock(&s->mu);
	pol = strmap_get(&s->policies, policy_key);
	has = pol && strcmp(pol->uid, uid ? uid : "") == 0;
	pthread_mutex_unlock(&s->mu);
	return has;
}

/* The policy's entry, taken out of the map (the caller owns it until it puts it back); a new
 * one when absent or of another uid. NULL when out of memory. */
static struct ds_policy *ds_policy_take(struct driftsource_store *s, const char *key, const char *uid)
{
	struct ds_policy *pol;

	pthread_mutex_lock(&s->mu);
	pol = strmap_remove(&s->policies, key);
	pthread_mutex_unlock(&s->mu);
	if (pol && strcmp(pol->uid, uid) != 0) {
		ds_policy_free(pol);
		pol = NULL;
	}
	if (!pol) {
		pol = calloc(1, sizeof(*pol));
		if (pol)
			snprintf(pol->uid, sizeof(pol->uid), "%s", uid);
	}
	return pol;
}

static int ds_policy_put(struct driftsource_store *s, const char *key, struct ds_policy *pol)
{
	void *old = NULL;
	int rc;

	pthread_mutex_lock(&s->mu);
	rc = strmap_put(&s->policies, key, pol, &old);
	pthread_mutex_unlock(&s->mu);
	ds_policy_free(old);
	if (rc)
		ds_policy_free(pol);
	return rc;
}

static struct ds_pod *ds_pod_find(struct ds_policy *pol, const char *key)
{
	for (size_t i = 0; i < pol->npods; i++)
		if (strcmp(pol->pods[i].key, key) == 0)
			return &pol->pods[i];
	return NULL;
}

/* Sum the increases of the pods that had a reading into acc; *used counts them. */
static int ds_window(struct ds_policy *pol, const struct driftsource_target *targets,
		     struct driftsource_data **readings, size_t n, struct driftsource_data *acc, size_t *used,
		     char *err, size_t errlen)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct ds_pod *prev = readings[i] ? ds_pod_find(pol, targets[i].key) : NULL;
		struct driftsource_data inc;

		if (!prev)
			continue;
		rc = driftsource_increase(&prev->reading, readings[i], &inc);
		if (rc == 0) {
			rc = driftsource_add(acc, &inc, err, errlen);
			driftsource_data_release(&inc);
			(*used)++;
		}
	}
	return rc;
}

/* The policy's new pods: every target's fresh reading, or its old one when this read failed. */
static int ds_replace_pods(struct ds_policy *pol, const struct driftsource_target *targets,
			   struct driftsource_data **readings, size_t n)
{
	struct ds_pod *pods = calloc(n ? n : 1, sizeof(*pods));
	size_t np = 0;

	if (!pods)
		return SAQR_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct ds_pod *old = ds_pod_find(pol, targets[i].key);

		if (!readings[i] && !old)
			continue;
		snprintf(pods[np].key, sizeof(pods[np].key), "%s", targets[i].key);
		if (readings[i]) {
			pods[np].reading = *readings[i];
			free(readings[i]);
			readings[i] = NULL;
		} else {
			pods[np].reading = old->reading;
			memset(&old->reading, 0, sizeof(old->reading));
		}
		np++;
	}
	for (size_t i = 0; i < pol->npods; i++)
		driftsource_data_release(&pol->pods[i].reading);
	free(pol->pods);
	pol->pods = pods;
	pol->npods = np;
	return 0;
}

static void ds_readings_free(struct driftsource_data **readings, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		driftsource_data_release(readings[i]);
		free(readings[i]);
		readings[i] = NULL;
	}
}

int driftsource_store_update(struct driftsource_store *s, const char *policy_key, const char *uid,
			     const struct driftsource_target *targets, struct driftsource_data **readings,
			     size_t n, double now, struct driftsource_data *out,
			     struct driftsource_scrape_result *res, char *err, size_t errlen)
{
	struct ds_policy *pol = ds_policy_take(s, policy_key, uid ? uid : "");
	struct driftsource_data acc;
	size_t used = 0;
	int rc, put;

	if (!pol) {
		ds_readings_free(readings, n);
		return SAQR_ENOMEM;
	}
	memset(&acc, 0, sizeof(acc));
	res->scraped = 0;
	for (size_t i = 0; i < n; i++)
		res->scraped += readings[i] != NULL;
	rc = ds_window(pol, targets, readings, n, &acc, &used, err, errlen);
	if (rc == 0)
		rc = ds_replace_pods(pol, targets, readings, n);
	ds_readings_free(readings, n);
	res->first = used == 0;
	if (rc == 0 && used) {
		acc.seconds = now - pol->at;
		acc.pods = used;
		driftsource_finish(&acc);
		*out = acc;
	} else {
		driftsource_data_release(&acc);
	}
	if (rc == 0)
		pol->at = now;
	put = ds_policy_put(s, policy_key, pol);
	return rc ? rc : put;
}

/* GET, parse and extract one pod. */
static int ds_read_pod(const char *url, const struct driftsource_http *http,
		       const struct driftsource_names *names, struct driftsource_data **out, char *err,
		       size_t errlen)
{
	struct promtext *pt = NULL;
	struct driftsource_data *d = calloc(1, sizeof(*d));
	struct buf body;
	char why[256];
	int rc;

	if (!d)
		return SAQR_ENOMEM;
	buf_init(&body, DRIFTSOURCE_MAX_BODY);
	rc = driftsource_http_get(url, http, &body, err, errlen);
	if (rc == 0) {
		rc = promtext_parse(buf_str(&body), body.len, DRIFTSOURCE_MAX_BODY, &pt, why, sizeof(why));
		if (rc)
			snprintf(err, errlen, "%s: %s", url, why);
	}
	if (rc == 0)
		rc = driftsource_extract(pt, names, d, err, errlen);
	promtext_free(pt);
	buf_release(&body);
	if (rc) {
		free(d);
		return rc;
	}
	*out = d;
	return 0;
}

int driftsource_scrape(struct driftsource_store *s, const char *policy_key, const char *uid,
		       const struct driftsource_http *opts, const struct driftsource_target *targets,
		       size_t n, const struct driftsource_names *names, double now,
		       struct driftsource_data *out, struct driftsource_scrape_result *res, char *err,
		       size_t errlen)
{
	struct driftsource_data **readings = calloc(n ? n : 1, sizeof(struct driftsource_data *));
	struct driftsource_http http = {.skip_hostname = true};
	double deadline = ctrltime_mono() + DS_SCRAPE_BUDGET_MS / 1000.0;
	char why[512];
	int rc;

	memset(res, 0, sizeof(*res));
	if (!readings)
		return SAQR_ENOMEM;
	if (opts)
		http = *opts;
	for (size_t i = 0; i < n; i++) {
		long left = (long)((deadline - ctrltime_mono()) * 1000);

		http.timeout_ms =
		    left < DRIFTSOURCE_TIMEOUT_MS ? (left > 100 ? left : 100) : DRIFTSOURCE_TIMEOUT_MS;
		if (ds_read_pod(targets[i].url, &http, names, &readings[i], why, sizeof(why)) == 0)
			continue;
		if (res->failed++ == 0)
			snprintf(res->failure, sizeof(res->failure), "%s", why);
	}
	if (n == 0 || res->failed == n) {
		snprintf(err, errlen, "%s", n == 0 ? "no ready endpoints" : res->failure);
		free(readings);
		return SAQR_ETRANSPORT;
	}
	rc = driftsource_store_update(s, policy_key, uid, targets, readings, n, now, out, res, err, errlen);
	free(readings);
	return rc;
}
