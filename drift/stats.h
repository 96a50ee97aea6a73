/* Drift statistics between a reference (baseline) distribution and a current one:
 * PSI, Kolmogorov–Smirnov, Jensen–Shannon, normed Wasserstein and chi-square, on
 * binned data (histogram or category counts, the same bins on both sides) and on
 * raw samples. Conventions follow Evidently and SciPy; docs/drift.md has the
 * formulas, defaults and where Saqr departs.
 *
 * Every function returns 0 or a negative SAQR_E*: SAQR_EEMPTY for no bins, no
 * samples or an all-zero side; SAQR_EINVAL for a negative or non-finite count or
 * sample, bad edges, or a method that needs what was not given; SAQR_ENOMEM. On
 * error a one-line reason goes to err (when err is not NULL) and the out-params
 * are untouched. Inputs are borrowed and never modified. Thread-safe. */
#ifndef SAQR_DRIFT_STATS_H
#define SAQR_DRIFT_STATS_H

#include <stdbool.h>
#include <stddef.h>

enum drift_method {
	DRIFT_PSI,
	DRIFT_KS,
	DRIFT_JS,
	DRIFT_WASSERSTEIN,
	DRIFT_CHISQUARE,
};

/* Evidently's replacement for an empty bin's proportion in PSI: 1e-4, or the
 * smallest non-zero proportion / 1e6 when that is <= 1e-4 (each side on its own;
 * proportions are not renormalised afterwards). */
#define DRIFT_PSI_EPSILON 1e-4
/* The Wasserstein distance is divided by max(std(reference), this). */
#define DRIFT_WASSERSTEIN_MIN_STD 0.001
/* drift_ks_samples(DRIFT_KS_AUTO) is exact when both samples are at most this big
 * (SciPy's ks_2samp rule), asymptotic beyond. */
#define DRIFT_KS_EXACT_MAX_N 10000

/* A test statistic and its p-value. */
struct drift_test {
	double statistic;
	double pvalue;
};

struct drift_wasserstein {
	double distance; /* W1 in the feature's units */
	double ref_std;	 /* the reference standard deviation used to norm it */
	double normed;	 /* distance / max(ref_std, DRIFT_WASSERSTEIN_MIN_STD) */
};

/* What a method reports for one feature: the score compared with the threshold
 * (the p-value for ks and chisquare, the distance for the others), the statistic
 * and, for ks and chisquare, the p-value. */
struct drift_score {
	double score;
	double statistic;
	double pvalue;
	bool has_pvalue;
};

enum drift_ks_mode {
	DRIFT_KS_AUTO,	/* exact up to DRIFT_KS_EXACT_MAX_N, asymptotic beyond */
	DRIFT_KS_EXACT, /* exact unless lcm(n, m) does not fit 31 bits (then asymptotic) */
	DRIFT_KS_ASYMP, /* kstwo(round(n m / (n + m))), as SciPy's method="asymp" */
};

/* "psi", "ks", "js", "wasserstein", "chisquare". */
const char *drift_method_name(enum drift_method m);
/* 0 or SAQR_EINVAL for an unknown name. */
int drift_method_parse(const char *name, enum drift_method *out);
/* 0.1 for psi, js and wasserstein; 0.05 (a p-value) for ks and chisquare. */
double drift_default_threshold(enum drift_method m);
/* True for methods whose score is a p-value (ks, chisquare). */
bool drift_method_is_test(enum drift_method m);
/* p-value methods drift when score < threshold, distances when score >= threshold. */
bool drift_is_drifted(enum drift_method m, double score, double threshold);

/* ---- binned data: ref[i] and cur[i] are the counts of bin (or category) i, k >= 1 ---- */

/* PSI = Σ (r_i - c_i) ln(r_i / c_i) over proportions, empty bins per DRIFT_PSI_EPSILON. */
int drift_psi(const double *ref, const double *cur, size_t k, double *psi, char *err, size_t errlen);
/* Jensen–Shannon distance, base 2 (in [0, 1]): scipy.spatial.distance.jensenshannon(ref, cur, base=2). */
int drift_js(const double *ref, const double *cur, size_t k, double *dist, char *err, size_t errlen);
/* Pearson chi-square of the current counts against the reference proportions scaled
 * to the current total (scipy.stats.chisquare(cur, ref / Σref * Σcur)); dof = bins - 1.
 * Bins empty on both sides are left out; a bin empty in the reference but not in the
 * current makes the statistic +inf and the p-value 0. One bin: statistic 0, p-value 1. */
int drift_chisquare(const double *ref, const double *cur, size_t k, struct drift_test *out, char *err,
		    size_t errlen);
/* KS on ordered bins: D = max over bin edges of |F_ref - F_cur|; p-value from
 * Kolmogorov's limit distribution at sqrt(en) D, en = n m / (n + m), n and m the
 * totals. (SciPy >= 1.5's method="asymp" uses the finite-size kstwo(round(en))
 * instead, see ksdist_kstwo_sf(); the two differ by O(1/sqrt(en)).) */
int drift_ks_binned(const double *ref, const double *cur, size_t k, struct drift_test *out, char *err,
		    size_t errlen);
/* Wasserstein-1 between the two histograms with each bin's mass at its midpoint
 * (an infinite end bin sits at its finite edge), like
 * scipy.stats.wasserstein_distance(mid, mid, ref, cur). edges has k + 1 strictly
 * increasing entries; only edges[0] may be -inf and only edges[k] +inf. ref_std is
 * the reference standard deviation when the caller knows it from the raw data;
 * pass a negative value to take the weighted std of the midpoints. */
int drift_wasserstein_binned(const double *edges, const double *ref, const double *cur, size_t k,
			     double ref_std, struct drift_wasserstein *out, char *err, size_t errlen);
/* The same with the mass of bin i at x[i] (finite, strictly increasing), for bins
 * that are not contiguous. */
int drift_wasserstein_points(const double *x, const double *ref, const double *cur, size_t k, double ref_std,
			     struct drift_wasserstein *out, char *err, size_t errlen);
/* One call for any method on binned data; edges (k + 1) is needed only for wasserstein. */
int drift_score_binned(enum drift_method m, const double *edges, const double *ref, const double *cur,
		       size_t k, double ref_std, struct drift_score *out, char *err, size_t errlen);

/* ---- raw samples (finite values; copied and sorted internally) ---- */

/* Two-sample two-sided KS as scipy.stats.ks_2samp(ref, cur, method=...). */
int drift_ks_samples(const double *ref, size_t nref, const double *cur, size_t ncur, enum drift_ks_mode mode,
		     struct drift_test *out, char *err, size_t errlen);
/* Exact Wasserstein-1 (scipy.stats.wasserstein_distance(ref, cur)), normed by the
 * reference's population standard deviation (numpy.std, ddof 0). */
int drift_wasserstein_samples(const double *ref, size_t nref, const double *cur, size_t ncur,
			      struct drift_wasserstein *out, char *err, size_t errlen);
/* numpy.histogram(x, edges) counts: bins [e_i, e_i+1), the last one closed; values
 * outside [e_0, e_k] and NaNs are not counted (*outside says how many; may be NULL). */
int drift_histogram(const double *x, size_t n, const double *edges, size_t k, double *counts, size_t *outside,
		    char *err, size_t errlen);

#endif
