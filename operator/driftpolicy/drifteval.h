/* The pure part of the DriftPolicy reconciler: from a policy, a window of metrics
 * (driftsource.h) and the baselines to per-feature scores, SLO checks and the status to write.
 * No I/O, no clock (times come in as arguments), so recorded windows give the same answers.
 *
 *   drifteval_run(&in, &res)        scores and SLOs of one window
 *   drifteval_capture(dp, w, &doc)  the baseline document a first full window gives
 *   drifteval_status(prev, &rep, now, &st)  the status (conditions keep lastTransitionTime)
 */
#ifndef SAQR_OPERATOR_DRIFTEVAL_H
#define SAQR_OPERATOR_DRIFTEVAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "drift/stats.h"
#include "operator/driftpolicy/driftsource.h"

#define DRIFTEVAL_DEFAULT_INTERVAL 300.0      /* spec.interval: 5m */
#define DRIFTEVAL_DEFAULT_COOLDOWN 3600.0     /* spec.actions.cooldown: 1h */
#define DRIFTEVAL_MIN_INTERVAL 1.0	      /* shorter intervals are raised to this */
#define DRIFTEVAL_CAPTURE_KEY "baseline.json" /* key of the captured baseline in its ConfigMap */
#define DRIFTEVAL_MAX_FEATURES 100	      /* status.features and a captured baseline hold at most this */
#define DRIFTEVAL_SUMMARY_MAX 1024
#define DRIFTEVAL_MESSAGE_MAX 2048

/* Condition types and reasons. */
#define DRIFTEVAL_COND_READY "Ready"
#define DRIFTEVAL_COND_DRIFT "DriftDetected"
#define DRIFTEVAL_COND_SLO "SLOBreached"
#define DRIFTEVAL_COND_DEGRADED "Degraded"

/* Parse a duration ("30s", "5m", "1h30m", "1.5h", "250ms") into seconds. 0 or SAQR_EINVAL. */
int drifteval_duration(const char *s, double *out);
/* spec.interval in seconds (default 5m, at least DRIFTEVAL_MIN_INTERVAL). */
double drifteval_interval(const json_t *dp);

/* A reference distribution: bins (edges are the le bounds without +Inf; counts has one more
 * entry, per bucket) or categories. Owns its arrays. */
struct drifteval_baseline {
	bool categorical;
	size_t nedges;
	double *edges;
	double *counts; /* nedges + 1 (bins) or ncats (categories) */
	size_t ncats;
	char **cats;
};

/* Parse {"edges": [...], "counts": [...]} or {"categories": {"v": n, ...}} (the spec's bins
 * use the same shape). 0 or SAQR_EINVAL (message in err), SAQR_ENOMEM. */
int drifteval_baseline_parse(const json_t *v, struct drifteval_baseline *out, char *err, size_t errlen);
void drifteval_baseline_release(struct drifteval_baseline *b);

/* One feature's outcome. */
struct drifteval_feature {
	char name[129];
	enum drift_method method;
	double threshold;
	bool scored;  /* score is meaningful */
	double score; /* the p-value for ks and chisquare, else the distance */
	bool drifted;
	bool missing;	   /* not evaluable for a reason the user must fix (problem says why) */
	char problem[256]; /* why not scored: no observations, not exported, buckets differ... */
};

struct drifteval_result {
	struct drifteval_feature *features;
	size_t nfeatures;
	size_t nscored, ndrifted, nmissing;
	bool has_latency, latency_breach;
	double latency_p99_ms;
	bool has_error_rate, error_breach;
	double error_rate_percent;
	bool has_quality, quality_breach;
	double quality;
	bool drift;				   /* some feature drifted */
	bool slo_breach;			   /* some SLO breached */
	char summary[DRIFTEVAL_SUMMARY_MAX];	   /* what breached, one line ("" when nothing) */
	char drift_summary[DRIFTEVAL_SUMMARY_MAX]; /* its drift part */
	char slo_summary[DRIFTEVAL_SUMMARY_MAX];   /* its SLO part */
	char problems[DRIFTEVAL_MESSAGE_MAX];	   /* the missing features, one line */
};

void drifteval_result_release(struct drifteval_result *r);

/* What one evaluation reads. All borrowed. */
struct drifteval_input {
	const json_t *dp;		       /* the DriftPolicy */
	const struct driftsource_data *window; /* the window's metrics */
	/* Baselines from ConfigMaps: an object mapping "<configmap name>" to its data object
	 * ({"key": "<json text>"}), for every configMapRef in the spec; a ConfigMap that could
	 * not be read is absent. May be NULL. */
	const json_t *configmaps;
	/* The captured baseline document ({"features": {"<name>": <baseline>}}), or NULL. */
	const json_t *captured;
};

/* Score every feature of the policy (spec.features; with baseline.capture and no features,
 * every feature in the captured document, with psi) and check the SLOs.
 * 0 or SAQR_ENOMEM; problems with single features are reported in them, not as errors. */
int drifteval_run(const struct drifteval_input *in, struct drifteval_result *out);

/* Whether the policy wants a captured baseline (baseline.capture: true) that captured (may be
 * NULL) does not fully provide: a spec feature without its own baseline and missing from it,
 * or no document at all when the spec lists no features. */
bool drifteval_needs_capture(const json_t *dp, const json_t *captured);
/* The baseline document captured from window: every spec feature without a baseline (the
 * first DRIFTEVAL_MAX_FEATURES features in the window when the spec lists none), as bins or
 * categories. SAQR_EEMPTY when a
 * wanted feature had no observations in the window (wait for a fuller one; err says which),
 * 0 or SAQR_ENOMEM. */
int drifteval_capture(const json_t *dp, const struct driftsource_data *window, json_t **out, char *err,
		      size_t errlen);

/* ---- status ---- */

enum drifteval_state {
	DRIFTEVAL_EVALUATED,		/* result holds this window's scores */
	DRIFTEVAL_WAITING_FOR_WINDOW,	/* the first scrape only recorded */
	DRIFTEVAL_WAITING_FOR_BASELINE, /* baseline.capture waits for a window with every feature */
	DRIFTEVAL_SOURCE_UNAVAILABLE,	/* the metrics could not be read */
	DRIFTEVAL_TARGET_NOT_FOUND,	/* no such ModelDeployment */
	DRIFTEVAL_INVALID,		/* something in the spec the schema cannot catch */
	DRIFTEVAL_SUSPENDED,		/* spec.suspend */
};

/* One reconcile's findings, for the status. Borrowed. */
struct drifteval_report {
	enum drifteval_state state;
	const json_t *dp;		       /* the policy (its spec.slo words the messages) */
	const struct drifteval_result *result; /* with DRIFTEVAL_EVALUATED */
	const char *message;		       /* why, for the other states */
	double window_seconds;
	size_t pods; /* scrape: pods in the window */
	/* Extra trouble for Degraded (NULL: none): a reason (PartialScrape, ActionFailed,
	 * NotificationFailing, BaselineUnavailable...) and its message. */
	const char *degraded_reason;
	const char *degraded_message;
	const json_t *incidents;  /* NULL: keep the previous status's */
	const json_t *pending;	  /* NULL: keep the previous status's */
	const char *evaluated_at; /* lastEvaluationTime to set (RFC 3339), NULL: keep */
	long long generation;
};

/* The status for rep, starting from prev (the current status, may be NULL): conditions Ready,
 * DriftDetected, SLOBreached, Degraded (lastTransitionTime kept while the status holds);
 * observedGeneration; features, latencyP99Ms, errorRatePercent from an evaluation (kept
 * otherwise); incidents and pendingNotifications. Without an evaluation DriftDetected and
 * SLOBreached keep their last value (Unknown when there is none): an unreadable source is never
 * "no drift". now is RFC 3339. *out is new (only on success). 0, SAQR_EINVAL, SAQR_ENOMEM. */
int drifteval_status(const json_t *prev, const struct drifteval_report *rep, const char *now, json_t **out);

#endif
