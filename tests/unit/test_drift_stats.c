/* Unit tests for drift/{stats,ksdist,specfun}.c: agreement with SciPy/NumPy on the
 * vectors of tests/data/drift/vectors.json (1e-9 relative, 1e-12 absolute near 0),
 * numerical care on nearly equal distributions, and the error paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "drift/ksdist.h"
#include "drift/specfun.h"
#include "drift/stats.h"

static json_t *vectors;

static double jnum(const json_t *v)
{
	const char *s;

	if (json_is_number(v))
		return json_number_value(v);
	s = json_string_value(v);
	assert_non_null(s);
	if (strcmp(s, "inf") == 0)
		return INFINITY;
	if (strcmp(s, "-inf") == 0)
		return -INFINITY;
	return NAN;
}

static double *jarray(const json_t *a, size_t *n)
{
	double *out;
	size_t i;

	assert_true(json_is_array(a));
	*n = json_array_size(a);
	out = calloc(*n ? *n : 1, sizeof(double));
	assert_non_null(out);
	for (i = 0; i < *n; i++)
		out[i] = jnum(json_array_get(a, i));
	return out;
}

#define assert_close(got, want, what) assert_close_at(got, want, what, __FILE__, __LINE__)
static void assert_close_at(double got, double want, const char *what, const char *file, int line)
{
	double tol;

	if (isinf(want) || isnan(want)) {
		if (!(isinf(want) ? got == want : isnan(got))) {
			print_error("%s: got %.17g, want %.17g\n", what, got, want);
			_fail(file, line);
		}
		return;
	}
	tol = fmax(1e-9 * fabs(want), 1e-12);
	if (!(fabs(got - want) <= tol)) {
		print_error("%s: got %.17g, want %.17g (diff %.3g)\n", what, got, want, fabs(got - want));
		_fail(file, line);
	}
}

/* The splitmix64 samples of make_vectors.py, bit for bit. */
static double *make_sample(const json_t *spec, size_t *n_out)
{
	const char *kind = json_string_value(json_array_get(spec, 0));
	uint64_t state = (uint64_t)json_integer_value(json_array_get(spec, 1)), z;
	size_t n = (size_t)json_integer_value(json_array_get(spec, 2)), i, j;
	double loc = jnum(json_array_get(spec, 3)), scale = jnum(json_array_get(spec, 4)), u[4], *x, s;

	x = calloc(n ? n : 1, sizeof(double));
	assert_non_null(x);
	for (i = 0; i < n; i++) {
		int need = strcmp(kind, "normal") == 0 ? 4 : 1;

		for (j = 0; j < (size_t)need; j++) {
			state += 0x9E3779B97F4A7C15ull;
			z = state;
			z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
			z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
			z ^= z >> 31;
			u[j] = (double)(z >> 11) * (1.0 / 9007199254740992.0);
		}
		if (strcmp(kind, "normal") == 0) {
			s = u[0] + u[1];
			s = s + u[2];
			s = s + u[3];
			x[i] = (s - 2.0) * 1.7320508075688772 * scale + loc;
		} else if (strcmp(kind, "int") == 0) {
			x[i] = floor(u[0] * 10.0) * scale + loc;
		} else {
			x[i] = u[0] * u[0] * scale + loc;
		}
	}
	*n_out = n;
	return x;
}

static int load_vectors(void **state)
{
	const char *root = getenv("SAQR_ROOT");
	char path[4096];
	json_error_t jerr;

	(void)state;
	snprintf(path, sizeof(path), "%s/tests/data/drift/vectors.json", root ? root : ".");
	vectors = json_load_file(path, 0, &jerr);
	if (!vectors) {
		fprintf(stderr, "cannot load %s: %s\n", path, jerr.text);
		return -1;
	}
	return 0;
}

static int free_vectors(void **state)
{
	(void)state;
	json_decref(vectors);
	return 0;
}

static void test_binned_vectors(void **state)
{
	json_t *c;
	size_t idx, k, k2, ke;
	double *ref, *cur, *edges, v;
	struct drift_test t;
	struct drift_wasserstein w;
	struct drift_score sc;
	char err[256];

	(void)state;
	json_array_foreach(json_object_get(vectors, "binned"), idx, c)
	{
		ref = jarray(json_object_get(c, "ref"), &k);
		cur = jarray(json_object_get(c, "cur"), &k2);
		assert_int_equal(k, k2);
		assert_int_equal(drift_psi(ref, cur, k, &v, err, sizeof(err)), 0);
		assert_close(v, jnum(json_object_get(c, "psi")), "psi");
		assert_int_equal(drift_js(ref, cur, k, &v, err, sizeof(err)), 0);
		assert_close(v, jnum(json_object_get(c, "js_exact")), "js (60 digits)");
		if (!json_is_true(json_object_get(c, "js_scipy_off")))
			assert_close(v, jnum(json_object_get(c, "js")), "js (scipy)");
		assert_int_equal(drift_chisquare(ref, cur, k, &t, err, sizeof(err)), 0);
		assert_close(t.statistic, jnum(json_object_get(c, "chi2_stat")), "chi2 statistic");
		assert_close(t.pvalue, jnum(json_object_get(c, "chi2_p")), "chi2 p");
		assert_int_equal(drift_ks_binned(ref, cur, k, &t, err, sizeof(err)), 0);
		assert_close(t.statistic, jnum(json_object_get(c, "ks_d")), "ks D");
		assert_close(t.pvalue, jnum(json_object_get(c, "ks_p")), "ks p");
		assert_int_equal(
		    ksdist_kstwo_sf(json_integer_value(json_object_get(c, "ks_kstwo_n")), t.statistic, &v),
		    0);
		assert_close(v, jnum(json_object_get(c, "ks_kstwo_p")), "kstwo p");
		assert_int_equal(drift_score_binned(DRIFT_KS, NULL, ref, cur, k, -1, &sc, err, sizeof(err)),
				 0);
		assert_true(sc.has_pvalue);
		assert_close(sc.score, t.pvalue, "ks score");
		if (json_object_get(c, "edges")) {
			edges = jarray(json_object_get(c, "edges"), &ke);
			assert_int_equal(ke, k + 1);
			assert_int_equal(
			    drift_wasserstein_binned(edges, ref, cur, k, -1, &w, err, sizeof(err)), 0);
			assert_close(w.distance, jnum(json_object_get(c, "w")), "wasserstein");
			assert_close(w.ref_std, jnum(json_object_get(c, "w_std")), "wasserstein std");
			assert_close(w.normed, jnum(json_object_get(c, "w_normed")), "wasserstein normed");
			assert_int_equal(drift_score_binned(DRIFT_WASSERSTEIN, edges, ref, cur, k, 2.0, &sc,
							    err, sizeof(err)),
					 0);
			assert_false(sc.has_pvalue);
			assert_close(sc.score, w.distance / 2.0, "wasserstein with given std");
			free(edges);
		}
		free(ref);
		free(cur);
	}
}

static void test_sample_vectors(void **state)
{
	json_t *c;
	size_t idx, na, nb;
	double *a, *b;
	const char *mode;
	enum drift_ks_mode m;
	struct drift_test t;
	struct drift_wasserstein w;
	char err[256];

	(void)state;
	json_array_foreach(json_object_get(vectors, "samples"), idx, c)
	{
		a = make_sample(json_object_get(c, "ref"), &na);
		b = make_sample(json_object_get(c, "cur"), &nb);
		mode = json_string_value(json_object_get(c, "mode"));
		m = strcmp(mode, "exact") == 0
			? DRIFT_KS_EXACT
			: (strcmp(mode, "asymp") == 0 ? DRIFT_KS_ASYMP : DRIFT_KS_AUTO);
		assert_int_equal(drift_ks_samples(a, na, b, nb, m, &t, err, sizeof(err)), 0);
		assert_close(t.statistic, jnum(json_object_get(c, "ks_d")),
			     json_string_value(json_object_get(c, "name")));
		assert_close(t.pvalue, jnum(json_object_get(c, "ks_p")),
			     json_string_value(json_object_get(c, "name")));
		assert_int_equal(drift_wasserstein_samples(a, na, b, nb, &w, err, sizeof(err)), 0);
		assert_close(w.distance, jnum(json_object_get(c, "w")), "wasserstein samples");
		assert_close(w.ref_std, jnum(json_object_get(c, "w_std")), "std");
		assert_close(w.normed, jnum(json_object_get(c, "w_normed")), "normed");
		free(a);
		free(b);
	}
}

static void test_histogram_vectors(void **state)
{
	json_t *c;
	size_t idx, n, ke, kc, i, outside;
	double *x, *edges, *want, *got;
	char err[256];

	(void)state;
	json_array_foreach(json_object_get(vectors, "histogram"), idx, c)
	{
		x = make_sample(json_object_get(c, "sample"), &n);
		edges = jarray(json_object_get(c, "edges"), &ke);
		want = jarray(json_object_get(c, "counts"), &kc);
		got = calloc(kc, sizeof(double));
		assert_non_null(got);
		assert_int_equal(drift_histogram(x, n, edges, kc, got, &outside, err, sizeof(err)), 0);
		for (i = 0; i < kc; i++)
			assert_true(got[i] == want[i]);
		assert_int_equal(outside, json_integer_value(json_object_get(c, "outside")));
		free(x);
		free(edges);
		free(want);
		free(got);
	}
}

static void test_function_vectors(void **state)
{
	json_t *fn = json_object_get(vectors, "functions"), *r;
	size_t i;
	double p;

	(void)state;
	json_array_foreach(json_object_get(fn, "kstwo_sf"), i, r)
	{
		assert_int_equal(
		    ksdist_kstwo_sf(json_integer_value(json_array_get(r, 0)), jnum(json_array_get(r, 1)), &p),
		    0);
		assert_close(p, jnum(json_array_get(r, 2)), "kstwo.sf");
	}
	json_array_foreach(json_object_get(fn, "smirnov_sf"), i, r) assert_close(
	    ksdist_smirnov_sf(json_integer_value(json_array_get(r, 0)), jnum(json_array_get(r, 1))),
	    jnum(json_array_get(r, 2)), "smirnov");
	json_array_foreach(json_object_get(fn, "kolmogorov_sf"), i, r) assert_close(
	    ksdist_kolmogorov_sf(jnum(json_array_get(r, 0))), jnum(json_array_get(r, 1)), "kolmogorov");
	json_array_foreach(json_object_get(fn, "gamma_q"), i, r)
	{
		assert_int_equal(specfun_gamma_q(jnum(json_array_get(r, 0)), jnum(json_array_get(r, 1)), &p),
				 0);
		assert_close(p, jnum(json_array_get(r, 2)), "gammaincc");
	}
	json_array_foreach(json_object_get(fn, "two_sample_sf"), i, r)
	{
		assert_int_equal(ksdist_two_sample_sf(json_integer_value(json_array_get(r, 0)),
						      json_integer_value(json_array_get(r, 1)),
						      json_integer_value(json_array_get(r, 2)), &p),
				 0);
		assert_close(p, jnum(json_array_get(r, 3)), "two-sample exact");
	}
}

/* Distributions 1e-9 apart: a naive p ln(p/m) + q ln(q/m) sum loses every digit. */
static void test_nearly_equal_keeps_digits(void **state)
{
	const double delta = 1e-9;
	double ref[2] = {0.5 + delta, 0.5 - delta}, cur[2] = {0.5, 0.5}, v;

	(void)state;
	assert_int_equal(drift_js(ref, cur, 2, &v, NULL, 0), 0);
	assert_true(fabs(v - delta / sqrt(2 * M_LN2)) <= 1e-6 * v);
	assert_int_equal(drift_psi(ref, cur, 2, &v, NULL, 0), 0);
	assert_true(fabs(v - 4 * delta * delta) <= 1e-6 * v);
}

static void test_one_bin_is_finite(void **state)
{
	double ref[1] = {10}, cur[1] = {3}, edges[2] = {0, 1}, v = -1;
	struct drift_test t;
	struct drift_wasserstein w;
	struct drift_score sc;
	int m;

	(void)state;
	assert_int_equal(drift_psi(ref, cur, 1, &v, NULL, 0), 0);
	assert_true(v == 0);
	assert_int_equal(drift_js(ref, cur, 1, &v, NULL, 0), 0);
	assert_true(v == 0);
	assert_int_equal(drift_chisquare(ref, cur, 1, &t, NULL, 0), 0);
	assert_true(t.statistic == 0 && t.pvalue == 1);
	assert_int_equal(drift_ks_binned(ref, cur, 1, &t, NULL, 0), 0);
	assert_true(t.statistic == 0 && t.pvalue == 1);
	assert_int_equal(drift_wasserstein_binned(edges, ref, cur, 1, -1, &w, NULL, 0), 0);
	assert_true(w.distance == 0 && w.ref_std == 0 && w.normed == 0);
	for (m = DRIFT_PSI; m <= DRIFT_CHISQUARE; m++) {
		assert_int_equal(
		    drift_score_binned((enum drift_method)m, edges, ref, cur, 1, -1, &sc, NULL, 0), 0);
		assert_false(isnan(sc.score));
	}
}

static void test_new_category_is_drift(void **state)
{
	double ref[3] = {10, 20, 0}, cur[3] = {10, 20, 5};
	struct drift_test t;
	double v;

	(void)state;
	assert_int_equal(drift_chisquare(ref, cur, 3, &t, NULL, 0), 0);
	assert_true(isinf(t.statistic) && t.pvalue == 0);
	assert_int_equal(drift_psi(ref, cur, 3, &v, NULL, 0), 0);
	assert_true(isfinite(v) && v > 0.1);
}

static void test_empty_inputs(void **state)
{
	double ref[3] = {1, 2, 3}, zero[3] = {0, 0, 0}, v = 42, x[1] = {1};
	struct drift_test t = {42, 42};
	struct drift_wasserstein w = {42, 42, 42};
	char err[256] = "";

	(void)state;
	assert_int_equal(drift_psi(ref, ref, 0, &v, err, sizeof(err)), SAQR_EEMPTY);
	assert_string_equal(err, "no bins");
	assert_int_equal(drift_js(zero, ref, 3, &v, err, sizeof(err)), SAQR_EEMPTY);
	assert_non_null(strstr(err, "reference distribution is empty"));
	assert_int_equal(drift_chisquare(ref, zero, 3, &t, err, sizeof(err)), SAQR_EEMPTY);
	assert_non_null(strstr(err, "current distribution is empty"));
	assert_int_equal(drift_ks_binned(zero, zero, 3, &t, NULL, 0), SAQR_EEMPTY);
	assert_true(v == 42 && t.statistic == 42 && t.pvalue == 42);
	assert_int_equal(drift_ks_samples(x, 0, x, 1, DRIFT_KS_AUTO, &t, err, sizeof(err)), SAQR_EEMPTY);
	assert_non_null(strstr(err, "reference sample is empty"));
	assert_int_equal(drift_wasserstein_samples(x, 1, NULL, 0, &w, err, sizeof(err)), SAQR_EEMPTY);
	assert_non_null(strstr(err, "current sample is empty"));
	assert_true(w.distance == 42);
}

static void test_invalid_inputs(void **state)
{
	double ref[3] = {1, 2, 3}, bad[3] = {1, -2, 3}, nan3[3] = {1, NAN, 3}, v = 42;
	double edges_flat[4] = {0, 1, 1, 2}, edges_inf[4] = {0, INFINITY, 2, 3}, ok_edges[4] = {0, 1, 2, 3};
	double x[2] = {1, NAN}, counts[3];
	struct drift_test t;
	struct drift_wasserstein w;
	struct drift_score sc;
	char err[256] = "";

	(void)state;
	assert_int_equal(drift_psi(ref, bad, 3, &v, err, sizeof(err)), SAQR_EINVAL);
	assert_non_null(strstr(err, "current count 1 is -2"));
	assert_int_equal(drift_js(nan3, ref, 3, &v, err, sizeof(err)), SAQR_EINVAL);
	assert_true(v == 42);
	assert_int_equal(drift_wasserstein_binned(edges_flat, ref, ref, 3, -1, &w, err, sizeof(err)),
			 SAQR_EINVAL);
	assert_non_null(strstr(err, "must increase"));
	assert_int_equal(drift_wasserstein_binned(edges_inf, ref, ref, 3, -1, &w, err, sizeof(err)),
			 SAQR_EINVAL);
	assert_non_null(strstr(err, "bin edge 1 is inf"));
	assert_int_equal(drift_score_binned(DRIFT_WASSERSTEIN, NULL, ref, ref, 3, -1, &sc, err, sizeof(err)),
			 SAQR_EINVAL);
	assert_int_equal(
	    drift_score_binned((enum drift_method)99, ok_edges, ref, ref, 3, -1, &sc, err, sizeof(err)),
	    SAQR_EINVAL);
	assert_int_equal(drift_ks_samples(x, 2, x, 1, DRIFT_KS_AUTO, &t, err, sizeof(err)), SAQR_EINVAL);
	assert_non_null(strstr(err, "reference sample 1 is nan"));
	assert_int_equal(drift_histogram(x, 2, edges_flat, 3, counts, NULL, err, sizeof(err)), SAQR_EINVAL);
	assert_int_equal(ksdist_kstwo_sf(0, 0.5, &v), SAQR_EINVAL);
	assert_int_equal(ksdist_two_sample_sf(0, 3, 1, &v), SAQR_EINVAL);
	assert_int_equal(specfun_gamma_q(0, 1, &v), SAQR_EINVAL);
	assert_int_equal(specfun_gamma_q(1, -1, &v), SAQR_EINVAL);
	assert_int_equal(specfun_chi2_sf(1, 0, &v), SAQR_EINVAL);
	assert_true(v == 42);
}

static void test_wasserstein_points(void **state)
{
	double edges[4] = {0, 1, 3, 4}, x[3] = {0.5, 2, 3.5}, ref[3] = {5, 3, 2}, cur[3] = {1, 4, 5};
	double bad[3] = {0.5, 0.5, 3.5};
	struct drift_wasserstein a, b;
	char err[256] = "";

	(void)state;
	assert_int_equal(drift_wasserstein_binned(edges, ref, cur, 3, -1, &a, NULL, 0), 0);
	assert_int_equal(drift_wasserstein_points(x, ref, cur, 3, -1, &b, NULL, 0), 0);
	assert_true(a.distance == b.distance && a.ref_std == b.ref_std && a.normed == b.normed);
	/* |F_ref - F_cur| = 0.4 on [0.5, 2) and 0.3 on [2, 3.5): 0.4 * 1.5 + 0.3 * 1.5 */
	assert_true(fabs(a.distance - 1.05) < 1e-15);
	assert_int_equal(drift_wasserstein_points(bad, ref, cur, 3, -1, &b, err, sizeof(err)), SAQR_EINVAL);
	assert_non_null(strstr(err, "point 1"));
	assert_int_equal(drift_wasserstein_points(NULL, ref, cur, 3, -1, &b, err, sizeof(err)), SAQR_EINVAL);
}

static void test_methods(void **state)
{
	enum drift_method m;

	(void)state;
	assert_int_equal(drift_method_parse("wasserstein", &m), 0);
	assert_int_equal(m, DRIFT_WASSERSTEIN);
	assert_int_equal(drift_method_parse("kl", &m), SAQR_EINVAL);
	assert_int_equal(drift_method_parse(NULL, &m), SAQR_EINVAL);
	assert_string_equal(drift_method_name(DRIFT_CHISQUARE), "chisquare");
	assert_string_equal(drift_method_name((enum drift_method)42), "unknown");
	assert_true(drift_default_threshold(DRIFT_PSI) == 0.1);
	assert_true(drift_default_threshold(DRIFT_JS) == 0.1);
	assert_true(drift_default_threshold(DRIFT_WASSERSTEIN) == 0.1);
	assert_true(drift_default_threshold(DRIFT_KS) == 0.05);
	assert_true(drift_default_threshold(DRIFT_CHISQUARE) == 0.05);
	assert_true(drift_is_drifted(DRIFT_PSI, 0.1, 0.1));
	assert_false(drift_is_drifted(DRIFT_PSI, 0.09, 0.1));
	assert_true(drift_is_drifted(DRIFT_KS, 0.01, 0.05));
	assert_false(drift_is_drifted(DRIFT_CHISQUARE, 0.05, 0.05));
}

static void test_neumaier_sum(void **state)
{
	struct specfun_sum s;
	int i;

	(void)state;
	specfun_sum_init(&s);
	specfun_sum_add(&s, 1e16);
	for (i = 0; i < 1000; i++)
		specfun_sum_add(&s, 1.0);
	specfun_sum_add(&s, -1e16);
	assert_true(specfun_sum_value(&s) == 1000.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_binned_vectors),
	    cmocka_unit_test(test_sample_vectors),
	    cmocka_unit_test(test_histogram_vectors),
	    cmocka_unit_test(test_function_vectors),
	    cmocka_unit_test(test_nearly_equal_keeps_digits),
	    cmocka_unit_test(test_one_bin_is_finite),
	    cmocka_unit_test(test_new_category_is_drift),
	    cmocka_unit_test(test_empty_inputs),
	    cmocka_unit_test(test_invalid_inputs),
	    cmocka_unit_test(test_wasserstein_points),
	    cmocka_unit_test(test_methods),
	    cmocka_unit_test(test_neumaier_sum),
	};

	return cmocka_run_group_tests(tests, load_vectors, free_vectors);
}
