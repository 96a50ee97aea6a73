/* Kolmogorov–Smirnov distributions behind the KS p-values: Kolmogorov's limit
 * distribution, the one-sided Smirnov distribution, the two-sided one-sample
 * distribution of size n (what scipy.stats.kstwo computes, with Simard and
 * L'Ecuyer's choice of method per region) and the exact two-sample distribution
 * used by scipy.stats.ks_2samp(method="exact"). All functions are thread-safe. */
#ifndef SAQR_DRIFT_KSDIST_H
#define SAQR_DRIFT_KSDIST_H

/* P(K > z) for Kolmogorov's limit distribution K = lim sqrt(n) D_n
 * (scipy.special.kolmogorov, scipy.stats.kstwobign.sf). 1 for z <= 0. */
double ksdist_kolmogorov_sf(double z);

/* P(D+_n >= d) for the one-sided one-sample statistic of size n >= 1
 * (scipy.special.smirnov): the exact Birnbaum–Tingey sum for n <= 1e6 and, like
 * SciPy, the approximation exp(-(6nd+1)^2 / 18n) beyond. d is clamped to [0, 1]. */
double ksdist_smirnov_sf(long n, double d);

/* P(D_n >= d) for the two-sided one-sample statistic of size n >= 1
 * (scipy.stats.kstwo.sf(d, n)). The exact methods are the Ruben–Gambino closed
 * forms, Durbin's matrix (Marsaglia–Tsang–Wang) and Smirnov's sum; Pelz–Good's
 * expansion is used where SciPy uses it. SciPy uses Pomeranz's recursion for
 * n <= 140 and 0.754693 < n d^2 <= 4; the Durbin matrix computes the same exact
 * value there. 0, SAQR_EINVAL (n < 1 or d NaN) or SAQR_ENOMEM. */
int ksdist_kstwo_sf(long n, double d, double *p);

/* P(D >= h / lcm(n1, n2)) for the two-sided two-sample statistic of samples of
 * sizes n1 and n2, exactly, by counting lattice paths that leave the band
 * |i/n1 - j/n2| < h/lcm (the exit probability is carried directly, so small
 * p-values do not cancel). O(max(n1,n2) * band) time, O(min(n1,n2)) memory.
 * 0, SAQR_EINVAL or SAQR_ENOMEM. */
int ksdist_two_sample_sf(long n1, long n2, long h, double *p);

#endif
