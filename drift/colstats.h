/* Per-column accumulation of a CSV file for drift statistics, in one streaming pass
 * with memory bounded by the number of columns, not rows: numeric columns go into a
 * log-linear sketch (exact counts in 0.8%-wide buckets) plus sums for the standard
 * deviation, and keep their raw values only while the file has at most
 * COLSTATS_RAW_MAX rows; categorical columns count up to COLSTATS_MAX_CATEGORIES
 * distinct values (the rest go to one "other" bucket). colstats_drift() then bins a
 * baseline and a current column alike and calls drift/stats. */
#ifndef SAQR_DRIFT_COLSTATS_H
#define SAQR_DRIFT_COLSTATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drift/sketch.h"
#include "drift/stats.h"

#define COLSTATS_SNIFF_ROWS 1000 /* rows read to tell numeric columns from categorical */
#define COLSTATS_MAX_CATEGORIES 10000
#define COLSTATS_RAW_MAX DRIFT_KS_EXACT_MAX_N
#define COLSTATS_MAX_BINS 1000
#define COLSTATS_OTHER "(other)"

enum colstats_kind { COLSTATS_NUMERIC, COLSTATS_CATEGORICAL };
enum colstats_binning { COLSTATS_QUANTILE, COLSTATS_UNIFORM };

struct colstats_cat; /* private category table */

struct colstats_column {
	char *name;
	enum colstats_kind kind;
	size_t index;	  /* field number in the file */
	uint64_t count;	  /* values counted */
	uint64_t missing; /* empty, NA, NaN, null... cells */
	/* numeric */
	struct sketch sketch;
	double shift, s1, s2; /* sums of (x - shift) and its square, for the std */
	double *raw;	      /* the values while there are at most COLSTATS_RAW_MAX */
	size_t nraw;
	bool raw_dropped;
	/* categorical */
	struct colstats_cat *cats;
};

/* One file's columns. */
struct colstats {
	char *path;
	uint64_t rows;
	size_t ncols;
	struct colstats_column *cols;
};

/* A file's header and the kind of each column judged from up to
 * COLSTATS_SNIFF_ROWS rows: numeric when every non-missing cell is a number and
 * there is at least one. *names (array and strings) and *kinds are malloc'd for
 * the caller. SAQR_EIO, SAQR_EPARSE (names the line), SAQR_EEMPTY (no header). */
int colstats_sniff(const char *path, size_t max_record, char ***names, enum colstats_kind **kinds,
		   size_t *ncols, char *err, size_t errlen);
void colstats_names_free(char **names, size_t n);

/* Read path (header first) and accumulate the n columns named in names with the
 * given kinds. A column missing from the header is SAQR_ENOTFOUND; a row with a
 * different number of fields than the header, or a non-number in a numeric column,
 * is SAQR_EPARSE naming the line. out is initialised here; release it always. */
int colstats_scan(const char *path, char *const *names, const enum colstats_kind *kinds, size_t n,
		  size_t max_record, struct colstats *out, char *err, size_t errlen);
void colstats_release(struct colstats *c);

struct colstats_opts {
	enum drift_method method;
	size_t bins; /* 0: Sturges' rule on both counts, as numpy's "sturges" (capped at COLSTATS_MAX_BINS) */
	enum colstats_binning binning;
};

struct colstats_result {
	struct drift_score score;
	size_t bins;	/* bins (or categories) the statistic was computed on */
	bool exact;	/* ks/wasserstein on raw values rather than sketch buckets */
	bool truncated; /* categories over the cap were pooled */
	double ref_std; /* numeric: baseline standard deviation */
};

/* Drift of column cur against column ref (same kind). Numeric: psi, js and
 * chisquare on the baseline's quantile (or uniform) bins, snapped to sketch bucket
 * edges, the two end bins open-ended; ks and wasserstein on the raw values when both files are small,
 * else on the sketch buckets (each bucket's mass at its midpoint). Categorical:
 * psi, js, chisquare on the union of categories; ks and wasserstein are SAQR_EINVAL.
 * SAQR_EEMPTY when a side has no values. */
int colstats_drift(const struct colstats_column *ref, const struct colstats_column *cur,
		   const struct colstats_opts *opts, struct colstats_result *out, char *err, size_t errlen);

#endif
