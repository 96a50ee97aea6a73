/* Regularised incomplete gamma function for chi-square p-values. The series and
 * the continued fraction follow the classic split at x = a + 1; the prefactor is
 * computed without cancellation for large a. */
#include "drift/specfun.h"

#include <float.h>
#include <math.h>

#include "common/err.h"

#define SPECFUN_MAX_ITER 1000000
#define SPECFUN_TINY 1e-300

/* lgamma(a) - ((a - 0.5) ln a - a + ln(2π)/2), Stirling's series; a >= 10. */
static double stirling_correction(double a)
{
	double r = 1.0 / a, r2 = r * r;

	return r * (1.0 / 12 -
		    r2 * (1.0 / 360 -
			  r2 * (1.0 / 1260 -
				r2 * (1.0 / 1680 - r2 * (1.0 / 1188 - r2 * (691.0 / 360360 - r2 / 156))))));
}

/* ln(x^a e^-x / Γ(a)). */
static double log_prefactor(double a, double x)
{
	double t, lg;
	int sign;

	if (a >= 10) {
		t = (x - a) / a;
		return a * (log1p(t) - t) + 0.5 * log(a / (2 * M_PI)) - stirling_correction(a);
	}
	lg = lgamma_r(a, &sign);
	return a * log(x) - x - lg;
}

/* P(a, x) by its power series; good for x < a + 1. */
static int gamma_p_series(double a, double x, double *p)
{
	double sum = 1.0 / a, term = sum, ap = a;
	int i;

	for (i = 0; i < SPECFUN_MAX_ITER; i++) {
		ap += 1.0;
		term *= x / ap;
		sum += term;
		if (fabs(term) < fabs(sum) * DBL_EPSILON) {
			*p = sum * exp(log_prefactor(a, x));
			return 0;
		}
	}
	return SAQR_EINVAL;
}

/* Q(a, x) by its continued fraction (modified Lentz); good for x >= a + 1. */
static int gamma_q_fraction(double a, double x, double *q)
{
	double b = x + 1.0 - a, c = 1.0 / SPECFUN_TINY, d = 1.0 / b, h = d, an, del;
	int i;

	for (i = 1; i < SPECFUN_MAX_ITER; i++) {
		an = -i * (i - a);
		b += 2.0;
		d = an * d + b;
		if (fabs(d) < SPECFUN_TINY)
			d = SPECFUN_TINY;
		c = b + an / c;
		if (fabs(c) < SPECFUN_TINY)
			c = SPECFUN_TINY;
		d = 1.0 / d;
		del = d * c;
		h *= del;
		if (fabs(del - 1.0) <= DBL_EPSILON) {
			*q = h * exp(log_prefactor(a, x));
			return 0;
		}
	}
	return SAQR_EINVAL;
}

int specfun_gamma_q(double a, double x, double *q)
{
	double v;
	int rc;

	if (!(a > 0) || !(x >= 0) || isinf(a))
		return SAQR_EINVAL;
	if (x == 0) {
		*q = 1.0;
		return 0;
	}
	if (isinf(x)) {
		*q = 0.0;
		return 0;
	}
	if (x < a + 1.0) {
		rc = gamma_p_series(a, x, &v);
		v = 1.0 - v;
	} else {
		rc = gamma_q_fraction(a, x, &v);
	}
	if (rc)
		return rc;
	*q = v < 0 ? 0 : (v > 1 ? 1 : v);
	return 0;
}

int specfun_chi2_sf(double x, double dof, double *p)
{
	if (!(dof > 0))
		return SAQR_EINVAL;
	if (!(x >= 0)) {
		if (isnan(x))
			return SAQR_EINVAL;
		*p = 1.0;
		return 0;
	}
	return specfun_gamma_q(dof / 2, x / 2, p);
}
