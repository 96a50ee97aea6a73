/* Drift statistics on binned data and raw samples; see stats.h for the contract and
 * docs/drift.md for the formulas. Sums are compensated; logs of ratios near 1 go
 * through log1p so that close distributions do not lose their small scores. */
#include "drift/stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "drift/ksdist.h"
#include "drift/specfun.h"

static const char *const method_names[] = {
    [DRIFT_PSI] = "psi",
    [DRIFT_KS] = "ks",
    [DRIFT_JS] = "js",
    [DRIFT_WASSERSTEIN] = "wasserstein",
    [DRIFT_CHISQUARE] = "chisquare",
};

const char *drift_method_name(enum drift_method m)
{
	if ((unsigned)m < sizeof(method_names) / sizeof(method_names[0]))
		return method_names[m];
	return "unknown";
}

int drift_method_parse(const char *name, enum drift_method *out)
{
	size_t i;

	for (i = 0; name && i < sizeof(method_names) / sizeof(method_names[0]); i++)
		if (strcmp(name, method_names[i]) == 0) {
			*out = (enum drift_method)i;
			return 0;
		}
	return SAQR_EINVAL;
}

double drift_default_threshold(enum drift_method m)
{
	return drift_method_is_test(m) ? 0.05 : 0.1;
}

bool drift_method_is_test(enum drift_method m)
{
	return m == DRIFT_KS || m == DRIFT_CHISQUARE;
}

bool drift_is_drifted(enum drift_method m, double score, double threshold)
{
	return drift_method_is_test(m) ? score < threshold : score >= threshold;
}

/* Check one side's counts and return their total. */
static int side_total(const double *c, size_t k, const char *side, double *total, char *err, size_t errlen)
{
	struct specfun_sum s;
	size_t i;

	if (!c)
		return saqr_fail(SAQR_EINVAL, err, errlen, "%s counts missing", side);
	specfun_sum_init(&s);
	for (i = 0; i < k; i++) {
		if (!(c[i] >= 0) || isinf(c[i]))
			return saqr_fail(SAQR_EINVAL, err, errlen,
					 "%s count %zu is %g (counts must be finite and >= 0)", side, i,
					 c[i]);
		specfun_sum_add(&s, c[i]);
	}
	*total = specfun_sum_value(&s);
	if (!(*total > 0))
		return saqr_fail(SAQR_EEMPTY, err, errlen, "%s distribution is empty (all %zu counts are 0)",
				 side, k);
	return 0;
}

static int check_counts(const double *ref, const double *cur, size_t k, double *tref, double *tcur, char *err,
			size_t errlen)
{
	int rc;

	if (k == 0)
		return saqr_fail(SAQR_EEMPTY, err, errlen, "no bins");
	rc = side_total(ref, k, "reference", tref, err, errlen);
	if (!rc)
		rc = side_total(cur, k, "current", tcur, err, errlen);
	return rc;
}

/* Evidently's value for an empty bin's proportion on one side. */
static double psi_epsilon(const double *c, size_t k, double total)
{
	double minnz = INFINITY, p;
	size_t i;

	for (i = 0; i < k; i++) {
		p = c[i] / total;
		if (p > 0 && p < minnz)
			minnz = p;
	}
	return minnz <= DRIFT_PSI_EPSILON ? minnz / 1e6 : DRIFT_PSI_EPSILON;
}

/* ln(a / b) for a, b > 0, through log1p when the ratio is near 1. */
static double log_ratio(double a, double b)
{
	double r = a / b;

	return (r > 0.5 && r < 2) ? log1p((a - b) / b) : log(r);
}

int drift_psi(const double *ref, const double *cur, size_t k, double *psi, char *err, size_t errlen)
{
	double tref, tcur, er, ec, a, b;
	struct specfun_sum s;
	size_t i;
	int rc;

	rc = check_counts(ref, cur, k, &tref, &tcur, err, errlen);
	if (rc)
		return rc;
	er = psi_epsilon(ref, k, tref);
	ec = psi_epsilon(cur, k, tcur);
	specfun_sum_init(&s);
	for (i = 0; i < k; i++) {
		a = ref[i] > 0 ? ref[i] / tref : er;
		b = cur[i] > 0 ? cur[i] / tcur : ec;
		if (a != b)
			specfun_sum_add(&s, (a - b) * log_ratio(a, b));
	}
	*psi = specfun_sum_value(&s);
	return 0;
}

/* p ln(2p/(p+q)) + q ln(2q/(p+q)); a series in d = (p-q)/(p+q) when d is small,
 * where the two logs would cancel. */
static double js_term(double p, double q)
{
	double s = p + q, d, d2, pw, sum = 0, t;
	int j;

	if (p == 0 || q == 0)
		return s * M_LN2;
	d = (p - q) / s;
	if (fabs(d) >= 0.1)
		return p * log1p(d) + q * log1p(-d);
	d2 = d * d;
	pw = d2;
	for (j = 1; j < 40; j++) {
		t = pw / ((double)(2 * j - 1) * (double)(2 * j));
		sum += t;
		if (t <= sum * 1e-17)
			break;
		pw *= d2;
	}
	return s * sum;
}

int drift_js(const double *ref, const double *cur, size_t k, double *dist, char *err, size_t errlen)
{
	double tref, tcur, v;
	struct specfun_sum s;
	size_t i;
	int rc;

	rc = check_counts(ref, cur, k, &tref, &tcur, err, errlen);
	if (rc)
		return rc;
	specfun_sum_init(&s);
	for (i = 0; i < k; i++)
		if (ref[i] > 0 || cur[i] > 0)
			specfun_sum_add(&s, js_term(ref[i] / tref, cur[i] / tcur));
	v = specfun_sum_value(&s) / (2 * M_LN2);
	*dist = v > 0 ? (v < 1 ? sqrt(v) : 1.0) : 0.0;
	return 0;
}

int drift_chisquare(const double *ref, const double *cur, size_t k, struct drift_test *out, char *err,
		    size_t errlen)
{
	double tref, tcur, e, d, stat, p = 1.0;
	struct specfun_sum s;
	size_t i, used = 0;
	int rc;

	rc = check_counts(ref, cur, k, &tref, &tcur, err, errlen);
	if (rc)
		return rc;
	specfun_sum_init(&s);
	for (i = 0; i < k; i++) {
		if (ref[i] == 0 && cur[i] == 0)
			continue;
		used++;
		e = ref[i] / tref * tcur;
		d = cur[i] - e;
		specfun_sum_add(&s, e > 0 ? d * d / e : INFINITY);
	}
	stat = specfun_sum_value(&s);
	if (isinf(stat))
		p = 0.0;
	else if (used > 1 && specfun_chi2_sf(stat, (double)(used - 1), &p))
		return saqr_fail(SAQR_EINVAL, err, errlen,
				 "chi-square p-value did not converge (statistic %g)", stat);
	out->statistic = used > 1 ? stat : 0.0;
	out->pvalue = p;
	return 0;
}

int drift_ks_binned(const double *ref, const double *cur, size_t k, struct drift_test *out, char *err,
		    size_t errlen)
{
	double tref, tcur, d = 0, diff, en;
	struct specfun_sum cr, cc;
	size_t i;
	int rc;

	rc = check_counts(ref, cur, k, &tref, &tcur, err, errlen);
	if (rc)
		return rc;
	specfun_sum_init(&cr);
	specfun_sum_init(&cc);
	for (i = 0; i + 1 < k; i++) {
		specfun_sum_add(&cr, ref[i]);
		specfun_sum_add(&cc, cur[i]);
		diff = fabs(specfun_sum_value(&cr) * tcur - specfun_sum_value(&cc) * tref);
		if (diff > d)
			d = diff;
	}
	d = d / (tref * tcur);
	d = d > 1 ? 1 : d;
	en = tref * tcur / (tref + tcur);
	out->statistic = d;
	out->pvalue = ksdist_kolmogorov_sf(sqrt(en) * d);
	return 0;
}

static int check_edges(const double *edges, size_t k, char *err, size_t errlen)
{
	size_t i;

	if (!edges)
		return saqr_fail(SAQR_EINVAL, err, errlen, "bin edges missing");
	for (i = 0; i <= k; i++) {
		if (isnan(edges[i]) ||
		    (isinf(edges[i]) && !(i == 0 && edges[i] < 0) && !(i == k && edges[i] > 0)))
			return saqr_fail(
			    SAQR_EINVAL, err, errlen,
			    "bin edge %zu is %g (edges must be finite, except -inf first and +inf last)", i,
			    edges[i]);
		if (i > 0 && !(edges[i] > edges[i - 1]))
			return saqr_fail(SAQR_EINVAL, err, errlen,
					 "bin edges must increase: edge %zu (%g) <= edge %zu (%g)", i,
					 edges[i], i - 1, edges[i - 1]);
	}
	return 0;
}

/* Where bin i's mass sits: its midpoint, or its finite edge for an open end bin. */
static double bin_point(const double *edges, size_t i)
{
	double lo = edges[i], hi = edges[i + 1];

	if (isinf(lo) && isinf(hi))
		return 0.0;
	if (isinf(lo))
		return hi;
	if (isinf(hi))
		return lo;
	return lo + (hi - lo) / 2;
}

static double weighted_std(const double *x, const double *w, size_t k, double total)
{
	struct specfun_sum s;
	double mean, d;
	size_t i;

	specfun_sum_init(&s);
	for (i = 0; i < k; i++)
		specfun_sum_add(&s, w[i] * x[i]);
	mean = specfun_sum_value(&s) / total;
	specfun_sum_init(&s);
	for (i = 0; i < k; i++) {
		d = x[i] - mean;
		specfun_sum_add(&s, w[i] * d * d);
	}
	return sqrt(specfun_sum_value(&s) / total);
}

static double normed(double distance, double std)
{
	return distance / (std > DRIFT_WASSERSTEIN_MIN_STD ? std : DRIFT_WASSERSTEIN_MIN_STD);
}

/* ∫ |F_ref - F_cur| over the points, after the caller checked everything. */
static void w1_points(const double *x, const double *ref, const double *cur, size_t k, double tref,
		      double tcur, double ref_std, struct drift_wasserstein *out)
{
	struct specfun_sum cr, cc, w;
	size_t i;

	specfun_sum_init(&cr);
	specfun_sum_init(&cc);
	specfun_sum_init(&w);
	for (i = 0; i + 1 < k; i++) {
		specfun_sum_add(&cr, ref[i]);
		specfun_sum_add(&cc, cur[i]);
		specfun_sum_add(&w, fabs(specfun_sum_value(&cr) / tref - specfun_sum_value(&cc) / tcur) *
					(x[i + 1] - x[i]));
	}
	if (isnan(ref_std) || ref_std < 0)
		ref_std = weighted_std(x, ref, k, tref);
	out->distance = specfun_sum_value(&w);
	out->ref_std = ref_std;
	out->normed = normed(out->distance, ref_std);
}

int drift_wasserstein_binned(const double *edges, const double *ref, const double *cur, size_t k,
			     double ref_std, struct drift_wasserstein *out, char *err, size_t errlen)
{
	double tref = 0, tcur = 0, *x;
	size_t i;
	int rc;

	rc = check_counts(ref, cur, k, &tref, &tcur, err, errlen);
	if (!rc)
		rc = check_edges(edges, k, err, errlen);
	if (rc)
		return rc;
	x = malloc(k * sizeof(*x));
	if (!x)
		return saqr_fail(SAQR_ENOMEM, err, errlen, "out of memory for %zu bins", k);
	for (i = 0; i < k; i++)
		x[i] = bin_point(edges, i);
	w1_points(x, ref, cur, k, tref, tcur, ref_std, out);
	free(x);
	return 0;
}

int drift_wasserstein_points(const double *x, const double *ref, const double *cur, size_t k, double ref_std,
			     struct drift_wasserstein *out, char *err, size_t errlen)
{
	double tref = 0, tcur = 0;
	size_t i;
	int rc;

	rc = check_counts(ref, cur, k, &tref, &tcur, err, errlen);
	if (rc)
		return rc;
	if (!x)
		return saqr_fail(SAQR_EINVAL, err, errlen, "points missing");
	for (i = 0; i < k; i++)
		if (!isfinite(x[i]) || (i > 0 && !(x[i] > x[i - 1])))
			return saqr_fail(SAQR_EINVAL, err, errlen,
					 "point %zu (%g) is not finite or not above the one before", i, x[i]);
	w1_points(x, ref, cur, k, tref, tcur, ref_std, out);
	return 0;
}

int drift_score_binned(enum drift_method m, const double *edges, const double *ref, const double *cur,
		       size_t k, double ref_std, struct drift_score *out, char *err, size_t errlen)
{
	struct drift_wasserstein w = {0, 0, 0};
	struct drift_test t = {0, 0};
	double v = 0;
	int rc;

	switch (m) {
	case DRIFT_PSI:
	case DRIFT_JS:
		rc = (m == DRIFT_PSI ? drift_psi : drift_js)(ref, cur, k, &v, err, errlen);
		t.statistic = v;
		break;
	case DRIFT_KS:
	case DRIFT_CHISQUARE:
		rc = (m == DRIFT_KS ? drift_ks_binned : drift_chisquare)(ref, cur, k, &t, err, errlen);
		v = t.pvalue;
		break;
	case DRIFT_WASSERSTEIN:
		rc = drift_wasserstein_binned(edges, ref, cur, k, ref_std, &w, err, errlen);
		v = w.normed;
		t.statistic = w.distance;
		break;
	default:
		return saqr_fail(SAQR_EINVAL, err, errlen, "unknown drift method %d", (int)m);
	}
	if (rc)
		return rc;
	out->score = v;
	out->statistic = t.statistic;
	out->pvalue = t.pvalue;
	out->has_pvalue = drift_method_is_test(m);
	return 0;
}

/* ---- raw samples ---- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* A sorted copy of a sample, after checking it. Caller frees *out. */
static int sorted_copy(const double *x, size_t n, const char *side, double **out, char *err, size_t errlen)
{
	double *c;
	size_t i;

	if (n == 0 || !x)
		return saqr_fail(SAQR_EEMPTY, err, errlen, "%s sample is empty", side);
	for (i = 0; i < n; i++)
		if (!isfinite(x[i]))
			return saqr_fail(SAQR_EINVAL, err, errlen,
					 "%s sample %zu is %g (samples must be finite)", side, i, x[i]);
	c = malloc(n * sizeof(*c));
	if (!c)
		return saqr_fail(SAQR_ENOMEM, err, errlen, "out of memory copying %zu samples", n);
	memcpy(c, x, n * sizeof(*c));
	qsort(c, n, sizeof(*c), cmp_double);
	*out = c;
	return 0;
}

static int sorted_pair(const double *ref, size_t nref, const double *cur, size_t ncur, double **a, double **b,
		       char *err, size_t errlen)
{
	int rc = sorted_copy(ref, nref, "reference", a, err, errlen);

	if (rc)
		return rc;
	rc = sorted_copy(cur, ncur, "current", b, err, errlen);
	if (rc) {
		free(*a);
		*a = NULL;
	}
	return rc;
}

/* max |F_a - F_b| over the data points, F right-continuous (as ks_2samp computes it). */
static double ks_statistic(const double *a, size_t na, const double *b, size_t nb)
{
	size_t i = 0, j = 0;
	double x, d = 0, diff;

	while (i < na || j < nb) {
		x = (j >= nb || (i < na && a[i] <= b[j])) ? a[i] : b[j];
		while (i < na && a[i] <= x)
			i++;
		while (j < nb && b[j] <= x)
			j++;
		diff = fabs((double)i / (double)na - (double)j / (double)nb);
		if (diff > d)
			d = diff;
	}
	return d;
}

static long gcd_size(size_t a, size_t b)
{
	size_t t;

	while (b) {
		t = a % b;
		a = b;
		b = t;
	}
	return (long)a;
}

static int ks_pvalue(size_t na, size_t nb, enum drift_ks_mode mode, double *d, double *p)
{
	long g, ag, bg, h;
	double lcm, m, n, en;
	int exact;

	if (na == 0 || nb == 0)
		return SAQR_EINVAL;
	g = gcd_size(na, nb);
	ag = (long)na / g;
	bg = (long)nb / g;

	if (mode == DRIFT_KS_AUTO)
		exact = na <= DRIFT_KS_EXACT_MAX_N && nb <= DRIFT_KS_EXACT_MAX_N;
	else
		exact = mode == DRIFT_KS_EXACT && (double)ag < 2147483647.0 / (double)bg;
	if (exact) {
		lcm = (double)ag * (double)nb;
		h = (long)nearbyint(*d * lcm);
		*d = (double)h / lcm;
		return ksdist_two_sample_sf((long)na, (long)nb, h, p);
	}
	m = (double)(na > nb ? na : nb);
	n = (double)(na > nb ? nb : na);
	en = nearbyint(m * n / (m + n));
	return ksdist_kstwo_sf(en < 1 ? 1 : (long)en, *d, p);
}

int drift_ks_samples(const double *ref, size_t nref, const double *cur, size_t ncur, enum drift_ks_mode mode,
		     struct drift_test *out, char *err, size_t errlen)
{
	double *a = NULL, *b = NULL, d, p;
	int rc;

	rc = sorted_pair(ref, nref, cur, ncur, &a, &b, err, errlen);
	if (rc)
		return rc;
	d = ks_statistic(a, nref, b, ncur);
	rc = ks_pvalue(nref, ncur, mode, &d, &p);
	if (rc) {
		saqr_errf(err, errlen, "KS p-value for samples of %zu and %zu: %s", nref, ncur,
			  saqr_strerror(rc));
		goto out;
	}
	out->statistic = d;
	out->pvalue = p;
out:
	free(a);
	free(b);
	return rc;
}

/* Population standard deviation, two passes, compensated. */
static double sample_std(const double *x, size_t n)
{
	struct specfun_sum s;
	double mean, d;
	size_t i;

	specfun_sum_init(&s);
	for (i = 0; i < n; i++)
		specfun_sum_add(&s, x[i]);
	mean = specfun_sum_value(&s) / (double)n;
	specfun_sum_init(&s);
	for (i = 0; i < n; i++) {
		d = x[i] - mean;
		specfun_sum_add(&s, d * d);
	}
	return sqrt(specfun_sum_value(&s) / (double)n);
}

/* ∫ |F_a - F_b| dx over the merged sorted samples. */
static double w1_sorted(const double *a, size_t na, const double *b, size_t nb)
{
	size_t i = 0, j = 0;
	double x = a[0] < b[0] ? a[0] : b[0], nx;
	struct specfun_sum s;

	specfun_sum_init(&s);
	for (;;) {
		while (i < na && a[i] <= x)
			i++;
		while (j < nb && b[j] <= x)
			j++;
		if (i == na && j == nb)
			break;
		nx = (j >= nb || (i < na && a[i] < b[j])) ? a[i] : b[j];
		specfun_sum_add(&s, fabs((double)i / (double)na - (double)j / (double)nb) * (nx - x));
		x = nx;
	}
	return specfun_sum_value(&s);
}

int drift_wasserstein_samples(const double *ref, size_t nref, const double *cur, size_t ncur,
			      struct drift_wasserstein *out, char *err, size_t errlen)
{
	double *a = NULL, *b = NULL;
	int rc;

	rc = sorted_pair(ref, nref, cur, ncur, &a, &b, err, errlen);
	if (rc)
		return rc;
	out->distance = w1_sorted(a, nref, b, ncur);
	out->ref_std = sample_std(ref, nref);
	out->normed = normed(out->distance, out->ref_std);
	free(a);
	free(b);
	return 0;
}

int drift_histogram(const double *x, size_t n, const double *edges, size_t k, double *counts, size_t *outside,
		    char *err, size_t errlen)
{
	size_t i, lo, hi, mid, out_n = 0;
	int rc;

	if (k == 0)
		return saqr_fail(SAQR_EEMPTY, err, errlen, "no bins");
	rc = check_edges(edges, k, err, errlen);
	if (rc)
		return rc;
	if (n && !x)
		return saqr_fail(SAQR_EINVAL, err, errlen, "sample missing");
	memset(counts, 0, k * sizeof(*counts));
	for (i = 0; i < n; i++) {
		if (!(x[i] >= edges[0] && x[i] <= edges[k])) {
			out_n++;
			continue;
		}
		lo = 0;
		hi = k; /* the bin is in [lo, hi) */
		while (hi - lo > 1) {
			mid = lo + (hi - lo) / 2;
			if (x[i] >= edges[mid])
				lo = mid;
			else
				hi = mid;
		}
		counts[lo] += 1;
	}
	if (outside)
		*outside = out_n;
	return 0;
}
