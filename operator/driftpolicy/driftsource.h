/* The metrics sources of a DriftPolicy: what the model server's metrics say about one window
 * (the last `interval`), gathered into a struct driftsource_data that the evaluation reads.
 *
 *  - scrape: GET <path> of every ready endpoint of the model's Service (EndpointSlices with
 *    label kubernetes.io/service-name), parse the text with drift/promtext, keep each pod's
 *    cumulative reading in memory (a driftsource_store) and take the INCREASE since the previous
 *    reading, pod by pod (a counter that went down is a restart: its whole value is the
 *    increase), summed over the pods. The first reading of a policy only records.
 *  - prometheus: the Prometheus HTTP API (/api/v1/query) with increase(...[interval]) and
 *    histogram_quantile(0.99, ...), on the series labelled namespace=<ns>, service=<svc>.
 *
 * A source that cannot be read is an error (SAQR_ETRANSPORT / SAQR_EAPI / SAQR_EPARSE with a
 * message), never an empty window: the caller reports SourceUnavailable, not "no drift".
 * Credentials (bearer tokens) are never put in error messages. */
#ifndef SAQR_OPERATOR_DRIFTSOURCE_H
#define SAQR_OPERATOR_DRIFTSOURCE_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "drift/promtext.h"
#include "http/netpolicy.h"

#define DRIFTSOURCE_MAX_BODY ((size_t)16 << 20) /* a /metrics page or a query answer */
#define DRIFTSOURCE_MAX_TARGETS 64		/* pods scraped per evaluation */
#define DRIFTSOURCE_MAX_FEATURES 1000		/* distinct feature label values kept */
#define DRIFTSOURCE_MAX_CATEGORIES 1000		/* values per categorical feature */
#define DRIFTSOURCE_CONNECT_TIMEOUT_MS 2000L
#define DRIFTSOURCE_TIMEOUT_MS 10000L
#define DRIFTSOURCE_DEFAULT_PATH "/metrics"

/* Metric names (spec.metrics, defaults filled). Borrowed strings. */
struct driftsource_names {
	const char *feature_value;    /* histogram, label feature */
	const char *feature_category; /* counter, labels feature and value */
	const char *latency;	      /* histogram, seconds */
	const char *requests;	      /* counter, label code */
	const char *quality;	      /* gauge */
};

/* spec.metrics of a DriftPolicy with the defaults for what is missing (strings borrowed from dp). */
void driftsource_names_from_spec(const json_t *dp, struct driftsource_names *out);

struct driftsource_count {
	char *key; /* category value, or response code */
	double value;
};

struct driftsource_feature {
	char *name;
	bool categorical;
	struct promtext_hist hist;	/* numerical: cumulative bucket counts (+Inf last) */
	struct driftsource_count *cats; /* categorical: count per value */
	size_t ncats;
};

/* Either one pod's cumulative reading or a window's increase (summed over pods). Owns
 * everything; release with driftsource_data_release. */
struct driftsource_data {
	struct driftsource_feature *features;
	size_t nfeatures;
	struct promtext_hist latency; /* latency histogram; n == 0 when absent */
	bool has_latency_p99;	      /* set by driftsource_finish or the prometheus source */
	double latency_p99_seconds;
	struct driftsource_count *codes; /* requests by code */
	size_t ncodes;
	bool has_requests;	 /* the requests counter exists */
	double requests, errors; /* totals by driftsource_finish */
	bool has_quality;
	double quality; /* the gauge; the lowest over pods */
	double seconds; /* window length (0 for a reading) */
	size_t pods;	/* pods summed into a window */
};

void driftsource_data_release(struct driftsource_data *d);
/* The numerical (or categorical) feature called name, or NULL. */
const struct driftsource_feature *driftsource_find(const struct driftsource_data *d, const char *name,
						   bool categorical);

/* Everything a reading needs from one parsed exposition: every feature exported (the distinct
 * values of label `feature` of both feature metrics), the latency histogram, requests by code,
 * the quality gauge (lowest series). Metrics that are absent are left empty, not an error.
 * 0, SAQR_EINVAL (a malformed histogram; err says which), SAQR_ETOOBIG, SAQR_ENOMEM. */
int driftsource_extract(const struct promtext *p, const struct driftsource_names *names,
			struct driftsource_data *out, char *err, size_t errlen);
/* The increase from prev to cur into out (prev NULL: cur itself). Each histogram and each
 * counter that went down counts as reset (its increase is its current value). The quality is
 * cur's. 0 or SAQR_ENOMEM. */
int driftsource_increase(const struct driftsource_data *prev, const struct driftsource_data *cur,
			 struct driftsource_data *out);
/* Add x into acc (one more pod): histograms bucket by bucket, counts by key, the lowest quality.
 * 0, SAQR_EINVAL (a histogram with other buckets than acc's; err says which), SAQR_ENOMEM. */
int driftsource_add(struct driftsource_data *acc, const struct driftsource_data *x, char *err, size_t errlen);
/* Close a window: latency p99 from the histogram (Prometheus' histogram_quantile; none without
 * observations), requests and errors from the codes. 0 or SAQR_ENOMEM. */
int driftsource_finish(struct driftsource_data *w);
/* Whether a response code counts as a failed request: HTTP 5xx, or a gRPC server-side code
 * (2 UNKNOWN, 4 DEADLINE_EXCEEDED, 8 RESOURCE_EXHAUSTED, 12 UNIMPLEMENTED, 13 INTERNAL,
 * 14 UNAVAILABLE, 15 DATA_LOSS, by number or name). */
bool driftsource_code_is_error(const char *code);

/* ---- where the metrics are ---- */

enum driftsource_kind { DRIFTSOURCE_SCRAPE, DRIFTSOURCE_PROMETHEUS };

/* The source of a DriftPolicy (strings borrowed from dp and md). */
struct driftsource_config {
	enum driftsource_kind kind;
	const char *namespace;
	char service[64]; /* the ModelDeployment's Service (md_names) */
	/* scrape */
	const char *path;
	long port;		/* scrape.port, else the agent's metricsPort (9090) when the
				   saqr-agent runs, else md's server.port, else 8080 */
	const char *tls_secret; /* md's security.tlsSecretName when the scraped port serves
				   HTTPS (no agent, or the agent's proxy port): the Secret's
				   ca.crt verifies the pods (not their names: they are reached
				   by address). NULL: plain HTTP */
	/* prometheus */
	const char *url;
	const char *token_secret, *token_key; /* bearerTokenSecretRef (NULL: none) */
	const char *ca_secret, *ca_key;	      /* caSecretRef (NULL: system roots) */
	double window_seconds;		      /* the interval */
};

/* Fill cfg from dp's spec.source and md (the target). 0 or SAQR_EINVAL (no source, no target
 * name; message in err). */
int driftsource_config(const json_t *dp, const json_t *md, double window_seconds,
		       struct driftsource_config *cfg, char *err, size_t errlen);

/* One pod to scrape. */
struct driftsource_target {
	char key[320]; /* the pod (targetRef name) or, without one, the address */
	char url[600];
};

/* The targets in an EndpointSlice list (a List object or an array of slices): every endpoint
 * whose conditions.ready is not false, each pod once (IPv4, IPv6 in brackets, or FQDN), with
 * cfg's scheme, port and path; at most DRIFTSOURCE_MAX_TARGETS (the first ones; the rest are
 * left out). *out is malloc'd (caller frees; NULL when *n is 0). 0 or SAQR_ENOMEM. */
int driftsource_targets(const json_t *slices, const struct driftsource_config *cfg,
			struct driftsource_target **out, size_t *n);

/* Options of one HTTP GET. Strings borrowed; the token is never logged. */
struct driftsource_http {
	const char *bearer_token; /* Authorization: Bearer ... when not NULL */
	const char *ca_pem;	  /* trust only this PEM bundle when not NULL */
	size_t ca_len;
	bool skip_hostname;		  /* check the chain but not the name (pods are reached by address) */
	bool json;			  /* Accept JSON (an API), else the metrics text formats */
	long timeout_ms;		  /* 0: DRIFTSOURCE_TIMEOUT_MS */
	size_t max_body;		  /* 0: DRIFTSOURCE_MAX_BODY */
	const struct http_netpolicy *net; /* outbound policy (lib/http); NULL: none */
};

/* GET url into body (appended; the caller initialised it). 0 on a 2xx answer; SAQR_ETRANSPORT
 * (connection, timeout, TLS), SAQR_EFORBIDDEN (opts->net refused the address, or the bearer
 * token over http://), SAQR_ETOOBIG (body over the cap), SAQR_EAPI (other status) with a
 * message in err naming the URL and the cause. */
int driftsource_http_get(const char *url, const struct driftsource_http *opts, struct buf *body, char *err,
			 size_t errlen);

/* ---- scrape: readings kept between evaluations ---- */

/* Per DriftPolicy, the last cumulative reading of each pod. Thread-safe; the caller must not
 * evaluate one policy on two threads at once (the work queue guarantees it). */
struct driftsource_store;

int driftsource_store_new(struct driftsource_store **out);
void driftsource_store_free(struct driftsource_store *s);
/* Forget a policy's readings (deleted, suspended, source changed). */
void driftsource_store_forget(struct driftsource_store *s, const char *policy_key);
/* Whether the store holds readings for the policy (with this uid). */
bool driftsource_store_has(struct driftsource_store *s, const char *policy_key, const char *uid);

/* What a scrape found besides the window. */
struct driftsource_scrape_result {
	bool first;	   /* no earlier reading: this one only recorded (no window) */
	size_t scraped;	   /* pods read */
	size_t failed;	   /* pods that could not be read or parsed */
	char failure[512]; /* the first failure */
};

/* Replace the readings of policy (key + uid; another uid drops the old ones) by readings
 * (one per target, NULL where a pod failed), and build the window: the increase of every pod
 * that had a reading before, summed (pods without one only record). now is a monotonic time
 * in seconds (window length). Takes ownership of every readings[i] (freed or kept).
 * 0 (out filled unless res->first), SAQR_EINVAL (pods disagree on buckets), SAQR_ENOMEM. */
int driftsource_store_update(struct driftsource_store *s, const char *policy_key, const char *uid,
			     const struct driftsource_target *targets, struct driftsource_data **readings,
			     size_t n, double now, struct driftsource_data *out,
			     struct driftsource_scrape_result *res, char *err, size_t errlen);

/* Scrape every target (GET with opts, which may be NULL; parse; extract) one after the other
 * within a budget of 15 s, and update the store as above. Fails with SAQR_ETRANSPORT when there
 * is no target or none could be read (the old readings stay). */
int driftsource_scrape(struct driftsource_store *s, const char *policy_key, const char *uid,
		       const struct driftsource_http *opts, const struct driftsource_target *targets,
		       size_t n, const struct driftsource_names *names, double now,
		       struct driftsource_data *out, struct driftsource_scrape_result *res, char *err,
		       size_t errlen);

/* ---- prometheus ---- */

enum driftsource_query {
	DRIFTSOURCE_Q_FEATURES,	  /* sum by (feature, le) (increase(<feature_value>_bucket{sel}[w])) */
	DRIFTSOURCE_Q_CATEGORIES, /* sum by (feature, value) (increase(<feature_category>{sel}[w])) */
	DRIFTSOURCE_Q_LATENCY,	/* histogram_quantile(0.99, sum by (le) (increase(<latency>_bucket{sel}[w])))
				 */
	DRIFTSOURCE_Q_REQUESTS, /* sum by (code) (increase(<requests>{sel}[w])) */
	DRIFTSOURCE_Q_QUALITY,	/* min(<quality>{sel}) */
	DRIFTSOURCE_Q_COUNT
};

/* The PromQL of query q into out. 0, SAQR_ETOOBIG, SAQR_ENOMEM. */
int driftsource_prom_query(enum driftsource_query q, const struct driftsource_config *cfg,
			   const struct driftsource_names *names, struct buf *out);
/* The GET URL (base + /api/v1/query?query=<escaped>) of a PromQL query. Caller frees. */
char *driftsource_prom_url(const char *base, const char *promql);
/* Add the answer to query q (an /api/v1/query JSON body) into w. An empty vector leaves w as
 * it is (the metric is absent or had no samples). 0, SAQR_EPARSE (not a success vector; err
 * says why, with Prometheus' own error), SAQR_ETOOBIG, SAQR_ENOMEM. */
int driftsource_prom_parse(enum driftsource_query q, const json_t *answer, struct driftsource_data *w,
			   char *err, size_t errlen);
/* Run the queries against cfg->url with opts (token, CA) and build the window into out.
 * 0, or the first failure (SAQR_ETRANSPORT, SAQR_EAPI, SAQR_EPARSE...) with err set. */
int driftsource_prometheus(const struct driftsource_config *cfg, const struct driftsource_names *names,
			   const struct driftsource_http *opts, struct driftsource_data *out, char *err,
			   size_t errlen);

#endif
