/* Special functions for the drift statistics: a compensated (Neumaier) sum and the
 * regularised incomplete gamma function Q(a, x) behind the chi-square p-value.
 * Written for accuracy first; every function is pure and thread-safe. */
#ifndef SAQR_DRIFT_SPECFUN_H
#define SAQR_DRIFT_SPECFUN_H

#include <math.h>

/* Neumaier's compensated sum: the error of each addition is kept in c, so a long
 * sum of terms of mixed size loses no more than a couple of ulps. */
struct specfun_sum {
	double s;
	double c;
};

static inline void specfun_sum_init(struct specfun_sum *k)
{
	k->s = 0.0;
	k->c = 0.0;
}

static inline void specfun_sum_add(struct specfun_sum *k, double x)
{
	double t = k->s + x;

	if (!isfinite(t)) { /* an infinity (or NaN) absorbs everything after it */
		k->s = t;
		k->c = 0;
		return;
	}
	if ((k->s >= 0 ? k->s : -k->s) >= (x >= 0 ? x : -x))
		k->c += (k->s - t) + x;
	else
		k->c += (x - t) + k->s;
	k->s = t;
}

static inline double specfun_sum_value(const struct specfun_sum *k)
{
	return k->s + k->c;
}

/* Regularised upper incomplete gamma Q(a, x) = Γ(a, x) / Γ(a) for a > 0, x >= 0
 * (series for x < a + 1, Lentz continued fraction otherwise; the prefactor
 * x^a e^-x / Γ(a) goes through Stirling's series for a >= 10 so that it does not
 * cancel). 0, or SAQR_EINVAL for a bad argument or no convergence; *q untouched then. */
int specfun_gamma_q(double a, double x, double *q);

/* Survival function of the chi-square distribution with dof degrees of freedom
 * (dof > 0): P(X > x) = Q(dof/2, x/2). 0 or SAQR_EINVAL. */
int specfun_chi2_sf(double x, double dof, double *p);

#endif
