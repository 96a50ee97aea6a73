/* The scrape source: GET each ready pod's metrics, keep each pod's last cumulative reading per
 * DriftPolicy, and turn two readings into a window (the increase, summed over pods). Also the
 * one HTTP GET both sources use. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "operator/runtime/ctrltime.h"
#include "operator/runtime/strmap.h"
#include "operator/driftpolicy/driftsource.h"

#define DS_SCRAPE_BUDGET_MS 15000L /* one scrape of every pod, at most */
#define DS_ACCEPT_METRICS "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

/* ---- HTTP GET ---- */

struct ds_sink {
	struct buf *body;
	bool too_big;
};

static size_t ds_write(char *p, size_t size, size_t n, void *ud)
{
	struct ds_sink *s = ud;
	int rc = buf_add(s->body, p, size * n);

	if (rc == SAQR_ETOOBIG)
		s->too_big = true;
	return rc ? 0 : size * n;
}

/* The host of url, for messages (never the path or query). */
static void ds_url_host(const char *url, char *out, size_t outlen)
{
	const char *h = strstr(url, "://");
	size_t n;

	h = h ? h + 3 : url;
	n = strcspn(h, "/?#");
	snprintf(out, outlen, "%.*s", (int)n, h);
}

static struct curl_slist *ds_headers(const struct driftsource_http *o, const char *accept)
{
	struct curl_slist *hdrs = NULL, *next;
	struct buf auth;

	hdrs = curl_slist_append(hdrs, accept);
	if (hdrs && o->bearer_token) {
		buf_init(&auth, 16384);
		if (buf_addf(&auth, "Authorization: Bearer %s", o->bearer_token) == 0) {
			next = curl_slist_append(hdrs, buf_str(&auth));
			if (!next) {
				curl_slist_free_all(hdrs);
				hdrs = NULL;
			} else {
				hdrs = next;
			}
		}
		buf_release(&auth);
	}
	return hdrs;
}

static void ds_tls(CURL *h, const struct driftsource_http *o)
{
	struct curl_blob ca;

	if (o->ca_pem) {
		ca.data = (void *)o->ca_pem;
		ca.len = o->ca_len ? o->ca_len : strlen(o->ca_pem);
		ca.flags = CURL_BLOB_COPY;
		curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &ca);
	}
	if (o->skip_hostname)
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
}

int driftsource_http_get(const char *url, const struct driftsource_http *opts, struct buf *body, char *err,
			 size_t errlen)
{
	static const struct driftsource_http none;
	const struct driftsource_http *o = opts ? opts : &none;
	struct ds_sink sink = { body, false };
	char curlerr[CURL_ERROR_SIZE] = "", host[256];
	struct curl_slist *hdrs;
	size_t max = o->max_body ? o->max_body : DRIFTSOURCE_MAX_BODY;
	CURL *h = curl_easy_init();
	CURLcode cc;
	long code = 0;
	int rc = 0;

	if (!h)
		return SAQR_ENOMEM;
	if (body->max > max)
		body->max = max;
	hdrs = ds_headers(o, o->json ? "Accept: application/json" : "Accept: " DS_ACCEPT_METRICS);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, DRIFTSOURCE_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, o->timeout_ms > 0 ? o->timeout_ms : DRIFTSOURCE_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curlerr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, ds_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	ds_tls(h, o);
	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	ds_url_host(url, host, sizeof(host));
	if (sink.too_big) {
		snprintf(err, errlen, "%s: the answer is larger than %zu bytes", host, max);
		rc = SAQR_ETOOBIG;
	} else if (cc != CURLE_OK) {
		snprintf(err, errlen, "%s: %s", host, curlerr[0] ? curlerr : curl_easy_strerror(cc));
		rc = SAQR_ETRANSPORT;
	} else if (code < 200 || code > 299) {
		snprintf(err, errlen, "%s: HTTP %ld", host, code);
		rc = SAQR_EAPI;
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
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
		     struct driftsource_data **readings, size_t n, struct driftsource_data *acc, size_t *used, char *err,
		     size_t errlen)
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
			     size_t n, double now, struct driftsource_data *out, struct driftsource_scrape_result *res,
			     char *err, size_t errlen)
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
static int ds_read_pod(const char *url, const struct driftsource_http *http, const struct driftsource_names *names,
		       struct driftsource_data **out, char *err, size_t errlen)
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
		       const struct driftsource_http *opts, const struct driftsource_target *targets, size_t n,
		       const struct driftsource_names *names, double now, struct driftsource_data *out,
		       struct driftsource_scrape_result *res, char *err, size_t errlen)
{
	struct driftsource_data **readings = calloc(n ? n : 1, sizeof(struct driftsource_data *));
	struct driftsource_http http = { .skip_hostname = true };
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

		http.timeout_ms = left < DRIFTSOURCE_TIMEOUT_MS ? (left > 100 ? left : 100) : DRIFTSOURCE_TIMEOUT_MS;
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
