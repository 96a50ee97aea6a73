/* Prometheus text exposition (format 0.0.4) and OpenMetrics 1.0 text parser, and the
 * arithmetic a DriftPolicy needs on what it scraped: histograms by name and label
 * filter, counters, increases between two scrapes with counter-reset handling,
 * histogram_quantile() as Prometheus computes it, and a 5xx error ratio.
 *
 * Accepted: # HELP / # TYPE (counter, gauge, histogram, summary, untyped, and the
 * OpenMetrics unknown, gaugehistogram, info, stateset), other comments, samples
 * with labels (escapes \\ \" \n; any other escape is kept as written, as Prometheus
 * does), values and timestamps as floats (+Inf, -Inf, NaN), OpenMetrics exemplars
 * after " # " (ignored) and "# EOF" (nothing may follow it). Not accepted: the
 * quoted UTF-8 metric and label names of Prometheus 3. Errors name the line. */
#ifndef SAQR_DRIFT_PROMTEXT_H
#define SAQR_DRIFT_PROMTEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Default cap on an exposition's size (what a /metrics scrape may return). */
#define PROMTEXT_MAX_INPUT (16u << 20)

enum promtext_type {
	PROMTEXT_UNTYPED = 0, /* no TYPE line, "untyped" or OpenMetrics "unknown" */
	PROMTEXT_COUNTER,
	PROMTEXT_GAUGE,
	PROMTEXT_HISTOGRAM,
	PROMTEXT_SUMMARY,
	PROMTEXT_GAUGEHISTOGRAM,
	PROMTEXT_INFO,
	PROMTEXT_STATESET,
};

struct promtext_label {
	const char *name;
	const char *value;
};

struct promtext_sample {
	const char *name;		     /* as written, e.g. "x_bucket" */
	const struct promtext_label *labels; /* sorted by name, unique */
	size_t nlabels;
	double value;
	double timestamp; /* as written (ms in 0.0.4, s in OpenMetrics) when has_timestamp */
	bool has_timestamp;
	unsigned line; /* 1-based line in the input */
};

/* A parsed exposition; every string and sample in it lives until promtext_free(). */
struct promtext;

/* A histogram's buckets in ascending upper bound (the last is +Inf) with cumulative
 * counts; several matching series are summed bucket by bucket (like sum by (le)).
 * Owns its arrays: release with promtext_hist_release(). */
struct promtext_hist {
	size_t n;
	double *le;
	double *cum;
	double count; /* _count when exposed, else the +Inf bucket */
	double sum;   /* _sum when exposed (has_sum), else 0 */
	bool has_sum;
	size_t series; /* how many series were summed */
};

/* Parse len bytes (no NUL needed) of at most max bytes (0: PROMTEXT_MAX_INPUT).
 * On success *out owns a copy of everything it needs. SAQR_ETOOBIG, SAQR_EPARSE
 * ("line N: what"), SAQR_ENOMEM; err gets the reason. */
int promtext_parse(const char *text, size_t len, size_t max, struct promtext **out, char *err, size_t errlen);
/* Free a parsed exposition; NULL is a no-op. */
void promtext_free(struct promtext *p);

size_t promtext_sample_count(const struct promtext *p);
/* The i-th sample in input order (borrowed), or NULL past the end. */
const struct promtext_sample *promtext_sample_at(const struct promtext *p, size_t i);
/* The TYPE and HELP given for a family name (help: borrowed, NULL when none). */
enum promtext_type promtext_type_of(const struct promtext *p, const char *family);
const char *promtext_help(const struct promtext *p, const char *family);
/* Value of a sample's label, or NULL. */
const char *promtext_label_value(const struct promtext_sample *s, const char *name);

/* Samples called name whose labels include every filter pair (other labels may be
 * anything). *out is a malloc'd array of borrowed pointers (caller frees the array
 * only); *n may be 0 (then *out is NULL). 0 or SAQR_ENOMEM. */
int promtext_select(const struct promtext *p, const char *name, const struct promtext_label *filter,
		    size_t nfilter, const struct promtext_sample ***out, size_t *n);
/* Sum of the matching samples' values (a counter or gauge by name + labels).
 * SAQR_ENOTFOUND when nothing matches. */
int promtext_counter(const struct promtext *p, const char *name, const struct promtext_label *filter,
		     size_t nfilter, double *out);
/* The histogram name (its name_bucket, name_sum, name_count series) whose labels
 * include the filter, summed over matching series. SAQR_ENOTFOUND, SAQR_EINVAL (no
 * +Inf bucket, a bad or duplicate le, matching series with different buckets, a
 * filter on "le"), SAQR_ENOMEM; err names the line. */
int promtext_histogram(const struct promtext *p, const char *name, const struct promtext_label *filter,
		       size_t nfilter, struct promtext_hist *out, char *err, size_t errlen);
/* Free a histogram's arrays; the struct is reusable. NULL is a no-op. */
void promtext_hist_release(struct promtext_hist *h);

/* A counter's increase between two scrapes: cur - prev, or cur when the counter
 * went down (a reset: the process restarted and counted cur since). */
double promtext_counter_increase(double prev, double cur);
/* A histogram's increase from prev to cur, into out (caller releases). The whole
 * histogram counts as reset, and the increase is cur itself, when any bucket or
 * the count went down or the bucket layout changed; *reset (may be NULL) says so.
 * prev may be NULL (increase since the process started). 0 or SAQR_ENOMEM. */
int promtext_increase(const struct promtext_hist *prev, const struct promtext_hist *cur,
		      struct promtext_hist *out, bool *reset);
/* histogram_quantile(q, h) as Prometheus computes it: buckets coalesced, float noise
 * and non-monotonic counts evened out, linear interpolation inside the bucket
 * (from 0 for the lowest bucket when its bound is > 0, else its bound), the upper
 * bound of the second-highest bucket when the rank falls in +Inf. SAQR_EINVAL for
 * q outside [0, 1] (Prometheus gives -Inf/+Inf), fewer than two buckets or no +Inf
 * bucket; SAQR_EEMPTY for no observations. */
int promtext_histogram_quantile(double q, const struct promtext_hist *h, double *out);
/* Bins for the drift statistics: edges (h->n + 1 entries: -inf, le_0, ..., +inf)
 * and per-bucket counts (h->n entries). SAQR_EINVAL when the cumulative counts go
 * down or the last bucket is not +Inf. */
int promtext_hist_bins(const struct promtext_hist *h, double *edges, double *counts);
/* Share of 5xx responses in a requests counter labelled "code" (e.g.
 * saqr_inference_requests_total) over the window from prev to cur: Σ increase of
 * series with a 5xx code / Σ increase of all matching series, each series
 * reset-handled on its own. prev may be NULL (since start). *requests (may be NULL)
 * gets the denominator. SAQR_ENOTFOUND when no series matches, SAQR_EEMPTY when
 * there were no requests in the window, SAQR_ENOMEM. */
int promtext_error_ratio(const struct promtext *prev, const struct promtext *cur, const char *name,
			 const struct promtext_label *filter, size_t nfilter, double *ratio,
			 double *requests);

#endif
