/* Unit tests for drift/colstats.c: column kinds, streaming accumulation, malformed
 * rows naming their line, bounded memory (raw values dropped past the cap, capped
 * categories), and drift per method against drift/stats on the same values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "drift/colstats.h"

/* A temporary file holding text; the caller unlinks and frees the path. */
static char *temp_csv(const char *text)
{
	char *path = strdup("/tmp/saqr-colstats-XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void drop(char *path)
{
	unlink(path);
	free(path);
}

/* rows of "x,g" with x = f(i) and g a category, after a header. */
static char *numbers_csv(size_t rows, double shift, double scale, const char *extra_cat)
{
	size_t cap = rows * 40 + 64, len = 0, i;
	char *text = malloc(cap), *path;

	assert_non_null(text);
	len += (size_t)snprintf(text, cap, "x,g\n");
	for (i = 0; i < rows; i++)
		len += (size_t)snprintf(text + len, cap - len, "%.9g,%s\n",
					(double)((i * 7919) % 1000) / 100.0 * scale + shift,
					extra_cat && i % 10 == 0 ? extra_cat : (i % 3 ? "red" : "blue"));
	path = temp_csv(text);
	free(text);
	return path;
}

static void test_sniff_kinds(void **state)
{
	char *path = temp_csv("id,age,city,empty,mixed\n"
			      "a1,34,Dubai,,1\n"
			      "a2,NA,\"Abu Dhabi\",,x\n"
			      "a3,29.5,Dubai,NaN,2\n");
	char **names = NULL;
	enum colstats_kind *kinds = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(colstats_sniff(path, 0, &names, &kinds, &n, NULL, 0), 0);
	assert_int_equal(n, 5);
	assert_string_equal(names[1], "age");
	assert_int_equal(kinds[0], COLSTATS_CATEGORICAL);
	assert_int_equal(kinds[1], COLSTATS_NUMERIC);
	assert_int_equal(kinds[2], COLSTATS_CATEGORICAL);
	assert_int_equal(kinds[3], COLSTATS_CATEGORICAL); /* nothing but missing cells */
	assert_int_equal(kinds[4], COLSTATS_CATEGORICAL);
	colstats_names_free(names, n);
	free(kinds);
	drop(path);
}

static void expect_sniff_error(const char *text, int rc, const char *msg)
{
	char *path = temp_csv(text), **names = NULL, err[256] = "";
	enum colstats_kind *kinds = NULL;
	size_t n = 0;

	assert_int_equal(colstats_sniff(path, 0, &names, &kinds, &n, err, sizeof(err)), rc);
	assert_null(names);
	if (!strstr(err, msg))
		fail_msg("error \"%s\" does not contain \"%s\"", err, msg);
	drop(path);
}

static void test_sniff_errors(void **state)
{
	char err[256];
	char **names = NULL;
	enum colstats_kind *kinds = NULL;
	size_t n;

	(void)state;
	expect_sniff_error("", SAQR_EEMPTY, "no header row");
	expect_sniff_error("a,b,a\n1,2,3\n", SAQR_EPARSE, ":1: column \"a\" appears twice");
	expect_sniff_error("a,b\n1,2\n3\n", SAQR_EPARSE, ":3: 1 fields, the header has 2");
	expect_sniff_error("a,b\n1,\"2\n", SAQR_EPARSE, ":2: quoted field not closed");
	assert_int_equal(colstats_sniff("/nonexistent.csv", 0, &names, &kinds, &n, err, sizeof(err)),
			 SAQR_EIO);
}

static void test_scan_counts(void **state)
{
	char *path = temp_csv("g,x,y\nred,1,10\nblue,,20\nred,3,NA\n\"red\",5,40\n");
	char *names[] = {"x", "g"};
	enum colstats_kind kinds[] = {COLSTATS_NUMERIC, COLSTATS_CATEGORICAL};
	struct colstats s;

	(void)state;
	assert_int_equal(colstats_scan(path, names, kinds, 2, 0, &s, NULL, 0), 0);
	assert_int_equal(s.rows, 4);
	assert_int_equal(s.cols[0].index, 1);
	assert_int_equal(s.cols[0].count, 3);
	assert_int_equal(s.cols[0].missing, 1);
	assert_int_equal(s.cols[0].nraw, 3);
	assert_true(s.cols[0].raw[0] == 1 && s.cols[0].raw[2] == 5);
	assert_int_equal(s.cols[1].count, 4);
	assert_int_equal(s.cols[0].sketch.n, 3);
	colstats_release(&s);
	colstats_release(&s);
	drop(path);
}

static void expect_scan_error(const char *text, const char *col, enum colstats_kind kind, int rc,
			      const char *msg)
{
	char *path = temp_csv(text), *names[] = {(char *)col}, err[256] = "";
	enum colstats_kind kinds[] = {kind};
	struct colstats s;

	assert_int_equal(colstats_scan(path, names, kinds, 1, 0, &s, err, sizeof(err)), rc);
	if (!strstr(err, msg))
		fail_msg("error \"%s\" does not contain \"%s\"", err, msg);
	colstats_release(&s);
	drop(path);
}

static void test_scan_errors(void **state)
{
	(void)state;
	expect_scan_error("x\n1\n2\nabc\n", "x", COLSTATS_NUMERIC, SAQR_EPARSE,
			  ":4: column \"x\": \"abc\" is not a number");
	expect_scan_error("x,y\n1,2\n3,4,5\n", "x", COLSTATS_NUMERIC, SAQR_EPARSE,
			  ":3: 3 fields, the header has 2");
	expect_scan_error("x,y\n1,2\n", "z", COLSTATS_NUMERIC, SAQR_ENOTFOUND,
			  "no column \"z\" in the header");
}

static void test_raw_values_dropped_past_cap(void **state)
{
	char *path = numbers_csv(COLSTATS_RAW_MAX + 1, 0, 1, NULL);
	char *names[] = {"x"};
	enum colstats_kind kinds[] = {COLSTATS_NUMERIC};
	struct colstats s;

	(void)state;
	assert_int_equal(colstats_scan(path, names, kinds, 1, 0, &s, NULL, 0), 0);
	assert_int_equal(s.cols[0].count, COLSTATS_RAW_MAX + 1);
	assert_true(s.cols[0].raw_dropped);
	assert_null(s.cols[0].raw);
	colstats_release(&s);
	drop(path);
}

static void scan_pair(const char *a, const char *b, struct colstats *sa, struct colstats *sb)
{
	char *names[] = {"x", "g"};
	enum colstats_kind kinds[] = {COLSTATS_NUMERIC, COLSTATS_CATEGORICAL};

	assert_int_equal(colstats_scan(a, names, kinds, 2, 0, sa, NULL, 0), 0);
	assert_int_equal(colstats_scan(b, names, kinds, 2, 0, sb, NULL, 0), 0);
}

static double score_of(const struct colstats_column *a, const struct colstats_column *b, enum drift_method m,
		       struct colstats_result *r)
{
	struct colstats_opts o = {m, 0, COLSTATS_QUANTILE};
	char err[256] = "";

	if (colstats_drift(a, b, &o, r, err, sizeof(err)))
		fail_msg("drift failed: %s", err);
	return r->score.score;
}

static void test_drift_small_files_exact(void **state)
{
	char *a = numbers_csv(500, 0, 1, NULL), *b = numbers_csv(400, 3.0, 1, "green");
	struct colstats sa, sb;
	struct colstats_result r;
	struct drift_test t;
	struct drift_wasserstein w;

	(void)state;
	scan_pair(a, b, &sa, &sb);
	/* ks and wasserstein on the raw values: exactly drift/stats on them */
	score_of(&sa.cols[0], &sb.cols[0], DRIFT_KS, &r);
	assert_int_equal(drift_ks_samples(sa.cols[0].raw, sa.cols[0].nraw, sb.cols[0].raw, sb.cols[0].nraw,
					  DRIFT_KS_AUTO, &t, NULL, 0),
			 0);
	assert_true(r.exact && r.score.has_pvalue && r.score.statistic == t.statistic &&
		    r.score.score == t.pvalue);
	score_of(&sa.cols[0], &sb.cols[0], DRIFT_WASSERSTEIN, &r);
	assert_int_equal(drift_wasserstein_samples(sa.cols[0].raw, sa.cols[0].nraw, sb.cols[0].raw,
						   sb.cols[0].nraw, &w, NULL, 0),
			 0);
	assert_true(r.exact && r.score.score == w.normed && fabs(r.ref_std - w.ref_std) < 1e-12);
	/* psi on the baseline's quantile bins sees the shift */
	assert_true(score_of(&sa.cols[0], &sb.cols[0], DRIFT_PSI, &r) > 0.1);
	assert_false(r.exact);
	assert_true(r.bins >= 5 && r.bins <= 11);
	/* a new category: chisquare p = 0, psi and js positive */
	assert_true(score_of(&sa.cols[1], &sb.cols[1], DRIFT_CHISQUARE, &r) == 0.0);
	assert_int_equal(r.bins, 3);
	assert_true(score_of(&sa.cols[1], &sb.cols[1], DRIFT_JS, &r) > 0.1);
	colstats_release(&sa);
	colstats_release(&sb);
	drop(a);
	drop(b);
}

static void test_drift_identical_is_zero(void **state)
{
	char *a = numbers_csv(20000, 0, 1, NULL);
	struct colstats sa, sb;
	struct colstats_result r;
	struct colstats_opts uni = {DRIFT_PSI, 10, COLSTATS_UNIFORM};

	(void)state;
	scan_pair(a, a, &sa, &sb);
	assert_true(sa.cols[0].raw_dropped);
	assert_true(score_of(&sa.cols[0], &sb.cols[0], DRIFT_PSI, &r) == 0.0);
	assert_int_equal(r.bins, 17); /* Sturges: ceil(log2(40000) + 1) */
	assert_true(score_of(&sa.cols[0], &sb.cols[0], DRIFT_JS, &r) == 0.0);
	assert_true(score_of(&sa.cols[0], &sb.cols[0], DRIFT_KS, &r) == 1.0);
	assert_false(r.exact);
	assert_true(score_of(&sa.cols[0], &sb.cols[0], DRIFT_WASSERSTEIN, &r) == 0.0);
	assert_true(score_of(&sa.cols[0], &sb.cols[0], DRIFT_CHISQUARE, &r) == 1.0);
	assert_true(score_of(&sa.cols[1], &sb.cols[1], DRIFT_CHISQUARE, &r) == 1.0);
	assert_int_equal(colstats_drift(&sa.cols[0], &sb.cols[0], &uni, &r, NULL, 0), 0);
	assert_true(r.bins == 10 && r.score.score == 0.0);
	colstats_release(&sa);
	colstats_release(&sb);
	drop(a);
}

static double *numbers(size_t rows, double shift, double scale)
{
	double *x = malloc(rows * sizeof(double));
	char buf[64];
	size_t i;

	assert_non_null(x);
	for (i = 0; i < rows; i++) {
		snprintf(buf, sizeof(buf), "%.9g", (double)((i * 7919) % 1000) / 100.0 * scale + shift);
		x[i] = strtod(buf, NULL);
	}
	return x;
}

/* Binned KS and Wasserstein on sketch buckets stay close to the exact values. */
static void test_binned_close_to_exact(void **state)
{
	char *a = numbers_csv(20000, 0, 1, NULL), *b = numbers_csv(15000, 0.3, 1.1, NULL);
	double *xa = numbers(20000, 0, 1), *xb = numbers(15000, 0.3, 1.1);
	struct colstats sa, sb;
	struct colstats_result r;
	struct drift_test t;
	struct drift_wasserstein w;

	(void)state;
	scan_pair(a, b, &sa, &sb);
	assert_int_equal(drift_ks_samples(xa, 20000, xb, 15000, DRIFT_KS_ASYMP, &t, NULL, 0), 0);
	assert_int_equal(drift_wasserstein_samples(xa, 20000, xb, 15000, &w, NULL, 0), 0);
	score_of(&sa.cols[0], &sb.cols[0], DRIFT_KS, &r);
	assert_false(r.exact);
	assert_true(fabs(r.score.statistic - t.statistic) < 0.005);
	score_of(&sa.cols[0], &sb.cols[0], DRIFT_WASSERSTEIN, &r);
	assert_true(fabs(r.score.statistic - w.distance) < 0.005 * w.distance);
	assert_true(fabs(r.ref_std - w.ref_std) < 1e-9 * w.ref_std);
	colstats_release(&sa);
	colstats_release(&sb);
	free(xa);
	free(xb);
	drop(a);
	drop(b);
}

static void test_drift_errors(void **state)
{
	char *a = temp_csv("x,g\n1,a\n2,b\n"), *b = temp_csv("x,g\nNA,a\n,b\n");
	struct colstats sa, sb;
	struct colstats_result r;
	struct colstats_opts ks = {DRIFT_KS, 0, COLSTATS_QUANTILE}, psi = {DRIFT_PSI, 0, COLSTATS_QUANTILE};
	char err[256] = "";

	(void)state;
	scan_pair(a, b, &sa, &sb);
	assert_int_equal(colstats_drift(&sa.cols[1], &sb.cols[1], &ks, &r, err, sizeof(err)), SAQR_EINVAL);
	assert_non_null(strstr(err, "method ks needs a numeric column; \"g\" is categorical"));
	assert_int_equal(colstats_drift(&sa.cols[0], &sb.cols[0], &psi, &r, err, sizeof(err)), SAQR_EEMPTY);
	assert_non_null(strstr(err, "column \"x\" has no values in the current data"));
	assert_int_equal(colstats_drift(&sa.cols[0], &sb.cols[1], &psi, &r, err, sizeof(err)), SAQR_EINVAL);
	colstats_release(&sa);
	colstats_release(&sb);
	drop(a);
	drop(b);
}

static void test_categories_capped(void **state)
{
	size_t rows = COLSTATS_MAX_CATEGORIES + 500, cap = rows * 16 + 16, len = 0, i;
	char *text = malloc(cap), *path, *names[] = {"id"};
	enum colstats_kind kinds[] = {COLSTATS_CATEGORICAL};
	struct colstats s;
	struct colstats_result r;

	(void)state;
	assert_non_null(text);
	len += (size_t)snprintf(text, cap, "id\n");
	for (i = 0; i < rows; i++)
		len += (size_t)snprintf(text + len, cap - len, "u%zu\n", i);
	path = temp_csv(text);
	free(text);
	assert_int_equal(colstats_scan(path, names, kinds, 1, 0, &s, NULL, 0), 0);
	assert_int_equal(s.cols[0].count, rows);
	score_of(&s.cols[0], &s.cols[0], DRIFT_PSI, &r);
	assert_true(r.truncated);
	assert_int_equal(r.bins, COLSTATS_MAX_CATEGORIES + 1);
	assert_true(r.score.score == 0.0);
	colstats_release(&s);
	drop(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sniff_kinds),
	    cmocka_unit_test(test_sniff_errors),
	    cmocka_unit_test(test_scan_counts),
	    cmocka_unit_test(test_scan_errors),
	    cmocka_unit_test(test_raw_values_dropped_past_cap),
	    cmocka_unit_test(test_drift_small_files_exact),
	    cmocka_unit_test(test_drift_identical_is_zero),
	    cmocka_unit_test(test_binned_close_to_exact),
	    cmocka_unit_test(test_drift_errors),
	    cmocka_unit_test(test_categories_capped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
