/* Kolmogorov–Smirnov distributions. The region split of ksdist_kstwo_sf() is
 * Simard and L'Ecuyer's (2011), as SciPy's kstwo uses it, so that p-values agree
 * with scipy.stats.ks_2samp; each method is written here from its paper. */
#include "drift/ksdist.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "drift/specfun.h"

#define KS_SQRT2PI 2.50662827463100050242
#define KS_PI2 (M_PI * M_PI)
/* ln 2 split so that an integer times the high part is exact. */
#define KS_LN2_HI 6.93147180369123816490e-01
#define KS_LN2_LO 1.90821492927058770002e-10
#define KS_MINLOG (-708.3964185322641)
#define KS_SMIRNOV_MAX_N 1000000L
#define KS_SCALE_EXP 128

static double clamp01(double p)
{
	return p < 0 ? 0 : (p > 1 ? 1 : p);
}

double ksdist_kolmogorov_sf(double z)
{
	double w, u, u8, v, cdf, sf;

	if (!(z > 0.040611972203751713))
		return 1.0;
	if (z <= 0.82) {
		/* cdf = sqrt(2π)/z Σ_k exp(-(2k-1)^2 π^2 / 8z^2) */
		w = KS_SQRT2PI / z;
		u = exp(-KS_PI2 / (8 * z * z));
		u8 = exp(-KS_PI2 / (z * z));
		cdf = w * u * (1 + u8 * (1 + u8 * u8 * (1 + u8 * u8 * u8)));
		return clamp01(1 - cdf);
	}
	/* sf = 2 Σ_k (-1)^(k-1) exp(-2 k^2 z^2) */
	v = exp(-2 * z * z);
	sf = 1 - pow(v, 7) * (1 - pow(v, 9) * (1 - pow(v, 11)));
	sf = 2 * v * (1 - pow(v, 3) * (1 - pow(v, 5) * sf));
	return clamp01(sf);
}

/* n*x = fl + alpha exactly (fl integer, 0 <= alpha < 1), using an FMA for the low part. */
static long split_nx(long n, double x, double *alpha)
{
	double hi = (double)n * x, lo = fma((double)n, x, -hi), fl = floor(hi), a = (hi - fl) + lo;

	if (a < 0) {
		fl -= 1;
		a += 1;
	} else if (a >= 1) {
		fl += 1;
		a -= 1;
	}
	*alpha = a;
	return (long)fl;
}

/* x * Σ_{v=0}^{n-fl-1} C(n,v) (1 - x - v/n)^(n-v) (x + v/n)^(v-1), summed in
 * the log domain term by term and stopped once the rest cannot matter. */
static double smirnov_lower_sum(long n, double x, long nxfl, double alpha)
{
	long nterms = n - nxfl, v;
	double cman = 1.0, y, lw, la, a;
	int cexp = 0, e;
	struct specfun_sum sum;

	specfun_sum_init(&sum);
	specfun_sum_add(&sum, exp((double)n * log1p(-x) - log(x)));
	for (v = 1; v < nterms; v++) {
		cman = frexp(cman * ((double)(n - v + 1) / (double)v), &e);
		cexp += e;
		y = ((double)(nxfl + v) + alpha) / (double)n;
		lw = y < 0.5 ? log1p(-y) : log((((double)(n - v - nxfl)) - alpha) / (double)n);
		la = log(cman) + cexp * KS_LN2_HI + cexp * KS_LN2_LO + (double)(n - v) * lw +
		     (double)(v - 1) * log(y);
		a = exp(la);
		specfun_sum_add(&sum, a);
		if (a > 0) {
			if (4.0 * (double)(nterms - v) * a < DBL_EPSILON * specfun_sum_value(&sum) &&
			    v != nterms - 1)
				break;
		} else if (v > n / 2) {
			break;
		}
	}
	return x * specfun_sum_value(&sum);
}

double ksdist_smirnov_sf(long n, double x)
{
	double alpha, logp;
	long nxfl;

	if (n < 1 || !(x > 0))
		return 1.0;
	if (x >= 1)
		return 0.0;
	if (n == 1)
		return 1 - x;
	nxfl = split_nx(n, x, &alpha);
	if (nxfl == 0 || (nxfl == 1 && alpha == 0)) /* x <= 1/n: cdf = x (1+x)^(n-1) */
		return clamp01(1 - x * exp((double)(n - 1) * log1p(x)));
	if (-2.0 * (double)n * x * x < KS_MINLOG)
		return 0.0;
	if (nxfl >= n - 1) /* x >= 1 - 1/n */
		return clamp01(x >= 0.5 ? pow(1 - x, (double)n) : exp((double)n * log1p(-x)));
	if (n > KS_SMIRNOV_MAX_N) {
		logp = -pow(6.0 * (double)n * x + 1, 2) / 18.0 / (double)n;
		return clamp01(logp < -M_LN2 ? exp(logp) : 1 + expm1(logp));
	}
	return clamp01(smirnov_lower_sum(n, x, nxfl, alpha));
}

/* c = a * b for m x m matrices. */
static void mat_mul(const double *a, const double *b, double *c, long m)
{
	long i, j, l;
	double s;

	for (i = 0; i < m; i++)
		for (j = 0; j < m; j++) {
			s = 0;
			for (l = 0; l < m; l++)
				s += a[i * m + l] * b[l * m + j];
			c[i * m + j] = s;
		}
}

/* Keep the entries of a below 2^128 by moving powers of two into *expo. */
static void mat_rescale(double *a, long m, long *expo)
{
	double mx = 0;
	long i;

	for (i = 0; i < m * m; i++)
		if (fabs(a[i]) > mx)
			mx = fabs(a[i]);
	if (mx <= ldexp(1.0, KS_SCALE_EXP))
		return;
	for (i = 0; i < m * m; i++)
		a[i] = ldexp(a[i], -KS_SCALE_EXP);
	*expo += KS_SCALE_EXP;
}

/* Durbin's matrix H for n d = k - h (Marsaglia, Tsang and Wang 2003). */
static void durbin_matrix(double *hm, long m, double h)
{
	double *inv_fact = hm + m * m; /* m + 1 spare entries after the matrix */
	long i, j;

	inv_fact[0] = 1;
	for (i = 1; i <= m; i++)
		inv_fact[i] = inv_fact[i - 1] / (double)i;
	for (i = 0; i < m; i++)
		for (j = 0; j < m; j++)
			hm[i * m + j] = i - j + 1 >= 0 ? inv_fact[i - j + 1] : 0;
	for (i = 0; i < m; i++) {
		hm[i * m] -= pow(h, (double)(i + 1)) * inv_fact[i + 1];
		hm[(m - 1) * m + i] -= pow(h, (double)(m - i)) * inv_fact[m - i];
	}
	if (2 * h - 1 > 0)
		hm[(m - 1) * m] += pow(2 * h - 1, (double)m) * inv_fact[m];
}

/* P(D_n < d) = n!/n^n (H^n)_{kk} by binary powering with explicit exponents. */
static int kolmogorov_cdf_durbin(long n, double d, double *cdf)
{
	double nd = (double)n * d, h, s, *buf, *hm, *pm, *tmp;
	long k, m, i, nn, e_h = 0, e_p = 0;

	if (d >= 1 || nd <= 0.5) {
		*cdf = d >= 1 ? 1.0 : 0.0;
		return 0;
	}
	k = (long)ceil(nd);
	h = (double)k - nd;
	m = 2 * k - 1;
	buf = calloc((size_t)(3 * m * m + m + 1), sizeof(double));
	if (!buf)
		return SAQR_ENOMEM;
	hm = buf;
	pm = buf + m * m + m + 1;
	tmp = pm + m * m;
	durbin_matrix(hm, m, h);
	for (i = 0; i < m; i++)
		pm[i * m + i] = 1;
	for (nn = n; nn > 0; nn /= 2) {
		if (nn % 2) {
			mat_mul(pm, hm, tmp, m);
			memcpy(pm, tmp, (size_t)(m * m) * sizeof(double));
			e_p += e_h;
			mat_rescale(pm, m, &e_p);
		}
		if (nn > 1) {
			mat_mul(hm, hm, tmp, m);
			memcpy(hm, tmp, (size_t)(m * m) * sizeof(double));
			e_h *= 2;
			mat_rescale(hm, m, &e_h);
		}
	}
	s = pm[(k - 1) * m + (k - 1)];
	for (i = 1; i <= n; i++) {
		s = (double)i * s / (double)n;
		if (fabs(s) < ldexp(1.0, -KS_SCALE_EXP)) {
			s = ldexp(s, KS_SCALE_EXP);
			e_p -= KS_SCALE_EXP;
		}
	}
	free(buf);
	*cdf = clamp01(ldexp(s, (int)e_p));
	return 0;
}

/* Pelz and Good's (1976) expansion of P(D_n <= x) for small n x^2 and large n:
 * K0 + K1/sqrt(n) + K2/n + K3/n^1.5 with the Jacobi-theta forms of the terms. */
static double kolmogorov_cdf_pelz_good(long n, double x)
{
	double z = sqrt((double)n) * x, z2 = z * z, z3 = z2 * z, z4 = z2 * z2, z6 = z4 * z2;
	double qlog = -KS_PI2 / (8 * z2), q2log = -KS_PI2 / (2 * z2), pi4 = KS_PI2 * KS_PI2;
	double pi6 = pi4 * KS_PI2, s0 = 0, s1 = 0, s2 = 0, s3 = 0, a2 = 0, a3 = 0, m2, w, k2;
	double k1a = -z2, k1b = KS_PI2 / 4;
	double k2a = 6 * z6 + 2 * z4, k2b = (2 * z4 - 5 * z2) * KS_PI2 / 4, k2c = pi4 * (1 - 2 * z2) / 16;
	double k3a = -30 * z6 - 90 * z4 * z4, k3b = KS_PI2 * (135 * z4 - 96 * z6) / 4;
	double k3c = pi4 * (212 * z4 - 60 * z2) / 16, k3d = pi6 * (5 - 30 * z2) / 64;
	double kk0, kk1, kk2, kk3, rn = sqrt((double)n);
	long k, maxk;

	if (x <= 0 || qlog < -708)
		return 0.0;
	if (x >= 1)
		return 1.0;
	maxk = (long)ceil(16 * z / M_PI);
	for (k = maxk; k >= 1; k--) {
		m2 = (double)(2 * k - 1) * (double)(2 * k - 1);
		w = exp(qlog * m2);
		s0 += w;
		s1 += (k1a + k1b * m2) * w;
		s2 += (k2a + k2b * m2 + k2c * m2 * m2) * w;
		s3 += (k3a + k3b * m2 + k3c * m2 * m2 + k3d * m2 * m2 * m2) * w;
		k2 = (double)k * (double)k;
		w = exp(q2log * k2);
		a2 += k2 * w;
		a3 += (3 * z2 - KS_PI2 * k2) * k2 * w;
	}
	kk0 = s0 * KS_SQRT2PI / z;
	kk1 = s1 * KS_SQRT2PI / (6 * z4);
	kk2 = s2 * KS_SQRT2PI / (72 * z6 * z) + a2 * KS_PI2 * KS_SQRT2PI / (-36 * z3);
	kk3 = s3 * KS_SQRT2PI / (6480 * z6 * z4) + a3 * KS_PI2 * KS_SQRT2PI / (216 * z6);
	return kk0 + kk1 / rn + kk2 / (double)n + kk3 / ((double)n * rn);
}

/* log(n! / n^n) by Stirling's series (n > 140 here). */
static double log_nfact_over_npow(long n)
{
	double r = 1.0 / (double)n, r2 = r * r;
	double corr = r * (1.0 / 12 - r2 * (1.0 / 360 - r2 * (1.0 / 1260 - r2 * (1.0 / 1680 - r2 / 1188))));

	return 0.5 * log((double)n) - (double)n + 0.5 * log(2 * M_PI) + corr;
}

/* Ruben–Gambino: P(D_n < x) = n!/n^n (2nx - 1)^n for 1/2n <= x <= 1/n. */
static double kolmogorov_cdf_small_t(long n, double t)
{
	double prob = 1.0;
	long i;

	if (t <= 0.5)
		return 0.0;
	if (n <= 140) {
		for (i = 1; i <= n; i++)
			prob *= (double)i * (1.0 / (double)n) * (2 * t - 1);
		return prob;
	}
	return exp(log_nfact_over_npow(n) + (double)n * log(2 * t - 1));
}

int ksdist_kstwo_sf(long n, double x, double *p)
{
	double t, nxsq, cdf;
	int rc;

	if (n < 1 || isnan(x))
		return SAQR_EINVAL;
	if (x >= 1 || x <= 0) {
		*p = x >= 1 ? 0.0 : 1.0;
		return 0;
	}
	t = (double)n * x;
	if (t <= 1.0) {
		*p = clamp01(1 - kolmogorov_cdf_small_t(n, t));
		return 0;
	}
	if (t >= (double)(n - 1) || x >= 0.5) {
		*p = clamp01(t >= (double)(n - 1) ? 2 * pow(1 - x, (double)n) : 2 * ksdist_smirnov_sf(n, x));
		return 0;
	}
	nxsq = t * x;
	if (n <= 140 ? nxsq > 4 : nxsq >= 2.2) {
		*p = nxsq >= 370 && n > 140 ? 0.0 : clamp01(2 * ksdist_smirnov_sf(n, x));
		return 0;
	}
	if (n <= 140 || (n <= 100000 && (double)n * pow(x, 1.5) <= 1.4)) {
		rc = kolmogorov_cdf_durbin(n, x, &cdf);
		if (rc)
			return rc;
	} else {
		cdf = kolmogorov_cdf_pelz_good(n, x);
	}
	*p = clamp01(1 - cdf);
	return 0;
}

static long gcd_long(long a, long b)
{
	long t;

	while (b) {
		t = a % b;
		a = b;
		b = t;
	}
	return a;
}

static long floor_div(long a, long b)
{
	long q = a / b;

	return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* Viehmann's (2021) form of the inside method: b[j] holds, for lattice point (i, j),
 * the fraction of monotone paths from the origin that have already left the band
 * |i ng - j mg| < h; outside points are 1 and inside points average their two
 * predecessors weighted i/(i+j) and j/(i+j). No subtraction, so no cancellation. */
int ksdist_two_sample_sf(long n1, long n2, long h, double *p)
{
	long m = n1 > n2 ? n1 : n2, n = n1 > n2 ? n2 : n1, g, mg, ng, i, j, lo, hi;
	double *b, below;

	if (n1 < 1 || n2 < 1 || h < 0)
		return SAQR_EINVAL;
	if (h == 0) {
		*p = 1.0;
		return 0;
	}
	g = gcd_long(m, n);
	mg = m / g;
	ng = n / g;
	b = malloc((size_t)(n + 1) * sizeof(double));
	if (!b)
		return SAQR_ENOMEM;
	for (j = 0; j <= n; j++)
		b[j] = (j * mg < h && (j == 0 || b[j - 1] == 0)) ? 0.0 : 1.0;
	for (i = 1; i <= m; i++) {
		lo = floor_div(i * ng - h, mg) + 1;
		hi = -floor_div(-(i * ng + h), mg) - 1;
		lo = lo < 0 ? 0 : lo;
		hi = hi > n ? n : hi;
		for (j = lo; j <= hi; j++) {
			if (j == 0)
				continue; /* one path along the axis: unchanged while inside */
			if (j == lo)
				below = 1.0; /* (i, lo-1) is outside */
			else
				below = b[j - 1];
			b[j] = ((double)i * b[j] + (double)j * below) / (double)(i + j);
		}
		if (lo > 0)
			b[lo - 1] = 1.0;
	}
	*p = clamp01(b[n]);
	free(b);
	return 0;
}
