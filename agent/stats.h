/* saqr-agent's counters, exported in the Prometheus text format under the names a DriftPolicy
 * reads by default (DESIGN.md, DriftPolicy spec.metrics):
 *   saqr_feature_value{feature}            histogram, the configured edges as le
 *   saqr_feature_category_total{feature,value}  counter, the configured categories + __other__
 *   saqr_prediction_value{feature} / saqr_prediction_category_total{feature,value}  the same for
 *                                          the predictions, when configured
 *   saqr_inference_latency_seconds         histogram
 *   saqr_inference_requests_total{code}    counter
 * and the agent's own saqr_agent_* counters. Fixed memory: every series exists from the start
 * (bins and categories come from the configuration), nothing grows with the traffic.
 * Updates are lock-free (atomics); thread-safe. */
#ifndef SAQR_AGENT_STATS_H
#define SAQR_AGENT_STATS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/config.h"
#include "common/buf.h"

/* The counters of one distribution: one per bucket (numerical, +Inf last) or per category
 * (categorical, __other__ last), and the sum of the values. */
struct agent_dist {
	size_t n;
	_Atomic uint64_t *counts;
	_Atomic uint64_t sum_bits; /* a double */
};

/* The distributions of one configuration. Borrows cfg, which must outlive it. */
struct agent_stats {
	const struct agent_config *cfg;
	struct agent_dist *features;  /* cfg->nfeatures */
	struct agent_dist prediction; /* n == 0 when predictions are not recorded */
};

/* New counters for cfg; those of a distribution that prev (may be NULL) had with the same
 * definition (agent_feature_same) start from prev's counts, so a reload that does not change a
 * feature does not reset it. prev must not be updated meanwhile. 0 or SAQR_ENOMEM. */
int agent_stats_new(const struct agent_config *cfg, const struct agent_stats *prev, struct agent_stats **out);
/* NULL is a no-op. */
void agent_stats_free(struct agent_stats *s);
/* Count a value of distribution f (numerical: into its bucket; categorical: "%g" of it). */
void agent_dist_number(struct agent_dist *d, const struct agent_feature *f, double v);
/* Count a category of f (categorical: its counter or __other__; numerical: parsed as a number,
 * else ignored and false). */
bool agent_dist_string(struct agent_dist *d, const struct agent_feature *f, const char *v);
/* The feature families in text format, appended to out. 0 or buf's errors. */
int agent_stats_render(const struct agent_stats *s, struct buf *out);

/* What happened to an inference payload. */
enum agent_inspect {
	AGENT_INSPECT_OK,	 /* recorded */
	AGENT_INSPECT_TOO_BIG,	 /* over --max-inspect-body: forwarded, not recorded */
	AGENT_INSPECT_MALFORMED, /* not JSON, or not the protocol's shape */
	AGENT_INSPECT_BUSY,	 /* the inspection memory budget was spent */
	AGENT_INSPECT_COUNT
};

enum agent_reload {
	AGENT_RELOAD_CONFIG_OK,
	AGENT_RELOAD_CONFIG_ERR,
	AGENT_RELOAD_TLS_OK,
	AGENT_RELOAD_TLS_ERR,
	AGENT_RELOAD_COUNT
};

#define AGENT_LATENCY_BUCKETS 16

/* Per-request counters, independent of the configuration. Zero it to start. */
struct agent_traffic {
	_Atomic uint64_t latency[AGENT_LATENCY_BUCKETS + 1];
	_Atomic uint64_t latency_ns;			  /* sum */
	_Atomic uint64_t codes[600];			  /* by HTTP status */
	_Atomic uint64_t inspect[AGENT_INSPECT_COUNT][2]; /* [what][0 request, 1 response] */
	_Atomic uint64_t invalid_values;		  /* values of the wrong type */
	_Atomic uint64_t reloads[AGENT_RELOAD_COUNT];
	_Atomic uint64_t upstream_errors;
	_Atomic int64_t connections;
};

/* One answered request: its status (100-599) and how long it took. */
void agent_traffic_request(struct agent_traffic *t, int code, double seconds);
/* The families of t in text format, appended to out. */
int agent_traffic_render(struct agent_traffic *t, struct buf *out);

#endif
