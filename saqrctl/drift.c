/* `saqrctl drift --baseline FILE --current FILE [...]`: reads both CSV files in one
 * streaming pass each (in parallel), scores every selected column with its method
 * and threshold, and prints a table or JSON. Exit 0 no drift, 1 drift, 2 error. */
#include "drift.h"

#include <float.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "drift/colstats.h"
#include "drift/csv.h"

#define EXIT_NO_DRIFT 0
#define EXIT_DRIFT 1
#define EXIT_ERROR 2

struct drift_cli {
	const char *baseline, *current;
	const char **columns;
	size_t ncolumns;
	bool method_set, threshold_set, json;
	enum drift_method method;
	double threshold;
	size_t bins;
	enum colstats_binning binning;
};

/* One file's pass, run on its own thread. */
struct scan_job {
	const char *path;
	char **names;
	const enum colstats_kind *kinds;
	size_t n;
	struct colstats stats;
	char err[512];
	int rc;
};

struct column_report {
	const char *name;
	enum colstats_kind kind;
	enum drift_method method;
	double threshold;
	bool drifted;
	struct colstats_result r;
};

static const char usage_text[] =
    "usage: saqrctl drift --baseline FILE --current FILE [--column NAME]...\n"
    "                     [--method psi|ks|js|wasserstein|chisquare] [--threshold X]\n"
    "                     [--bins N] [--binning quantile|uniform] [-o text|json]\n"
    "\n"
    "Compares each column of the current CSV file with the baseline (both with a header\n"
    "row). Defaults: numeric columns psi (drift at >= 0.1), categorical columns chisquare\n"
    "(drift at p < 0.05); js and wasserstein drift at >= 0.1, ks at p < 0.05.\n"
    "Exit status: 0 no drift, 1 drift in at least one column, 2 error. See docs/drift.md.\n";

static int usage_error(FILE *errs, const char *fmt, const char *arg)
{
	fprintf(errs, "saqrctl drift: ");
	fprintf(errs, fmt, arg);
	fprintf(errs, "\n(saqrctl drift --help for the options)\n");
	return EXIT_ERROR;
}

static int parse_number(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (*s == '\0' || *end != '\0' || !(v >= lo && v <= hi))
		return SAQR_EINVAL;
	*out = v;
	return 0;
}

/* Apply one "--name value" option. */
static int set_option(struct drift_cli *c, const char *name, const char *val, FILE *errs)
{
	double v;

	if (strcmp(name, "--baseline") == 0)
		c->baseline = val;
	else if (strcmp(name, "--current") == 0)
		c->current = val;
	else if (strcmp(name, "--column") == 0)
		c->columns[c->ncolumns++] = val;
	else if (strcmp(name, "--method") == 0) {
		if (drift_method_parse(val, &c->method))
			return usage_error(
			    errs, "unknown method \"%s\" (psi, ks, js, wasserstein, chisquare)", val);
		c->method_set = true;
	} else if (strcmp(name, "--threshold") == 0) {
		if (parse_number(val, 0, 1e6, &c->threshold))
			return usage_error(errs, "--threshold \"%s\" is not a number >= 0", val);
		c->threshold_set = true;
	} else if (strcmp(name, "-o") == 0 || strcmp(name, "--output") == 0) {
		if (strcmp(val, "json") != 0 && strcmp(val, "text") != 0)
			return usage_error(errs, "output \"%s\" is neither text nor json", val);
		c->json = strcmp(val, "json") == 0;
	} else if (strcmp(name, "--bins") == 0) {
		if (parse_number(val, 2, COLSTATS_MAX_BINS, &v) || v != floor(v))
			return usage_error(errs, "--bins \"%s\" is not a whole number from 2 to 1000", val);
		c->bins = (size_t)v;
	} else if (strcmp(name, "--binning") == 0) {
		if (strcmp(val, "quantile") != 0 && strcmp(val, "uniform") != 0)
			return usage_error(errs, "binning \"%s\" is neither quantile nor uniform", val);
		c->binning = strcmp(val, "uniform") == 0 ? COLSTATS_UNIFORM : COLSTATS_QUANTILE;
	} else {
		return usage_error(errs, "unknown option %s", name);
	}
	return 0;
}

/* 0 to go on, -1 after --help, or EXIT_ERROR. */
static int parse_args(int argc, char **argv, struct drift_cli *c, FILE *out, FILE *errs)
{
	char name[64];
	const char *arg, *eq, *val;
	int i, rc;

	for (i = 1; i < argc; i++) {
		arg = argv[i];
		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			fputs(usage_text, out);
			return -1;
		}
		eq = strncmp(arg, "--", 2) == 0 ? strchr(arg, '=') : NULL;
		if (arg[0] != '-' || (eq ? (size_t)(eq - arg) : strlen(arg)) >= sizeof(name))
			return usage_error(errs, "unexpected argument \"%s\"", arg);
		snprintf(name, sizeof(name), "%.*s", (int)(eq ? eq - arg : (int)strlen(arg)), arg);
		if (eq)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		else
			return usage_error(errs, "%s needs a value", arg);
		rc = set_option(c, name, val, errs);
		if (rc)
			return rc;
	}
	if (!c->baseline || !c->current)
		return usage_error(errs, "%s", "--baseline and --current are both required");
	return 0;
}

static void *scan_thread(void *arg)
{
	struct scan_job *j = arg;

	j->rc = colstats_scan(j->path, j->names, j->kinds, j->n, 0, &j->stats, j->err, sizeof(j->err));
	return NULL;
}

/* Both passes, the current file on a second thread. */
static int scan_both(struct scan_job *base, struct scan_job *cur, FILE *errs)
{
	pthread_t t;
	bool threaded = pthread_create(&t, NULL, scan_thread, cur) == 0;

	scan_thread(base);
	if (threaded)
		pthread_join(t, NULL);
	else
		scan_thread(cur);
	if (base->rc)
		fprintf(errs, "saqrctl drift: %s\n", base->err);
	if (cur->rc)
		fprintf(errs, "saqrctl drift: %s\n", cur->err);
	return base->rc || cur->rc ? EXIT_ERROR : 0;
}

/* The columns asked for (all by default), with their kinds, as indexes into the header. */
static int select_columns(const struct drift_cli *c, char **header, size_t nh, size_t *sel, size_t *nsel,
			  FILE *errs)
{
	size_t i, j;

	if (c->ncolumns == 0) {
		for (i = 0; i < nh; i++)
			sel[i] = i;
		*nsel = nh;
		return 0;
	}
	for (i = 0; i < c->ncolumns; i++) {
		for (j = 0; j < nh && strcmp(header[j], c->columns[i]) != 0; j++)
			;
		if (j == nh) {
			fprintf(errs, "saqrctl drift: %s: no column \"%s\" in the header\n", c->baseline,
				c->columns[i]);
			return EXIT_ERROR;
		}
		sel[i] = j;
	}
	*nsel = c->ncolumns;
	return 0;
}

/* Method and threshold per column: --method where it fits (an explicitly named
 * categorical column with ks or wasserstein is an error), else the kind's default. */
static int plan_column(const struct drift_cli *c, struct column_report *rep, FILE *errs)
{
	bool numeric_only = c->method_set && (c->method == DRIFT_KS || c->method == DRIFT_WASSERSTEIN);

	rep->method = rep->kind == COLSTATS_NUMERIC ? DRIFT_PSI : DRIFT_CHISQUARE;
	if (c->method_set && !(numeric_only && rep->kind == COLSTATS_CATEGORICAL))
		rep->method = c->method;
	else if (c->method_set && c->ncolumns) {
		fprintf(errs, "saqrctl drift: method %s needs numeric columns; \"%s\" is categorical\n",
			drift_method_name(c->method), rep->name);
		return EXIT_ERROR;
	}
	rep->threshold = c->threshold_set ? c->threshold : drift_default_threshold(rep->method);
	return 0;
}

static json_t *jreal(double v)
{
	return json_real(isfinite(v) ? v : (v > 0 ? DBL_MAX : -DBL_MAX));
}

static const char *kind_name(enum colstats_kind k)
{
	return k == COLSTATS_NUMERIC ? "numerical" : "categorical";
}

static json_t *column_json(const struct column_report *rep, const struct colstats_column *b,
			   const struct colstats_column *c)
{
	json_t *o = json_object();

	json_object_set_new(o, "name", json_string(rep->name));
	json_object_set_new(o, "type", json_string(kind_name(rep->kind)));
	json_object_set_new(o, "method", json_string(drift_method_name(rep->method)));
	json_object_set_new(o, "score", jreal(rep->r.score.score));
	json_object_set_new(o, "threshold", jreal(rep->threshold));
	json_object_set_new(o, "drifted", json_boolean(rep->drifted));
	json_object_set_new(o, "statistic", jreal(rep->r.score.statistic));
	json_object_set_new(o, "pvalue", rep->r.score.has_pvalue ? jreal(rep->r.score.pvalue) : json_null());
	json_object_set_new(o, "bins", json_integer((json_int_t)rep->r.bins));
	json_object_set_new(o, "exact", json_boolean(rep->r.exact));
	json_object_set_new(o, "baselineCount", json_integer((json_int_t)b->count));
	json_object_set_new(o, "currentCount", json_integer((json_int_t)c->count));
	json_object_set_new(o, "baselineMissing", json_integer((json_int_t)b->missing));
	json_object_set_new(o, "currentMissing", json_integer((json_int_t)c->missing));
	if (rep->kind == COLSTATS_NUMERIC)
		json_object_set_new(o, "baselineStd", jreal(rep->r.ref_std));
	else
		json_object_set_new(o, "truncated", json_boolean(rep->r.truncated));
	return o;
}

static json_t *file_json(const struct colstats *s)
{
	json_t *o = json_object();

	json_object_set_new(o, "path", json_string(s->path));
	json_object_set_new(o, "rows", json_integer((json_int_t)s->rows));
	return o;
}

static void print_json(FILE *out, const struct column_report *reps, size_t n, const struct colstats *b,
		       const struct colstats *c, size_t ndrifted)
{
	json_t *root = json_object(), *cols = json_array();
	size_t i;

	json_object_set_new(root, "baseline", file_json(b));
	json_object_set_new(root, "current", file_json(c));
	json_object_set_new(root, "drifted", json_boolean(ndrifted > 0));
	json_object_set_new(root, "driftedColumns", json_integer((json_int_t)ndrifted));
	for (i = 0; i < n; i++)
		json_array_append_new(cols, column_json(&reps[i], &b->cols[i], &c->cols[i]));
	json_object_set_new(root, "columns", cols);
	json_dumpf(root, out, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
	fputc('\n', out);
	json_decref(root);
}

static void print_text(FILE *out, const struct column_report *reps, size_t n, const struct colstats *b,
		       const struct colstats *c, size_t ndrifted)
{
	size_t i, w = 6;

	for (i = 0; i < n; i++)
		if (strlen(reps[i].name) > w)
			w = strlen(reps[i].name);
	fprintf(out, "%-*s  %-11s  %-11s  %-11s  %-9s  %s\n", (int)w, "COLUMN", "TYPE", "METHOD", "SCORE",
		"THRESHOLD", "DRIFTED");
	for (i = 0; i < n; i++)
		fprintf(out, "%-*s  %-11s  %-11s  %-11.4g  %-9g  %s\n", (int)w, reps[i].name,
			kind_name(reps[i].kind), drift_method_name(reps[i].method), reps[i].r.score.score,
			reps[i].threshold, reps[i].drifted ? "yes" : "no");
	fprintf(out, "%zu of %zu columns drifted (%s: %llu rows, %s: %llu rows)\n", ndrifted, n, b->path,
		(unsigned long long)b->rows, c->path, (unsigned long long)c->rows);
}

/* Score every column; the number drifted, or -1 after an error was printed. */
static long score_columns(const struct drift_cli *c, struct column_report *reps, size_t n,
			  const struct colstats *b, const struct colstats *cur, FILE *errs)
{
	struct colstats_opts o = {DRIFT_PSI, c->bins, c->binning};
	char err[512];
	long nd = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		o.method = reps[i].method;
		if (colstats_drift(&b->cols[i], &cur->cols[i], &o, &reps[i].r, err, sizeof(err))) {
			fprintf(errs, "saqrctl drift: %s\n", err);
			return -1;
		}
		reps[i].drifted = drift_is_drifted(reps[i].method, reps[i].r.score.score, reps[i].threshold);
		nd += reps[i].drifted;
	}
	return nd;
}

/* After the arguments: sniff, plan, scan, score, print. */
static int run_drift(const struct drift_cli *c, FILE *out, FILE *errs)
{
	struct scan_job base = {.path = c->baseline}, cur = {.path = c->current};
	char **header = NULL, err[512], **names = NULL;
	enum colstats_kind *kinds = NULL, *sel_kinds = NULL;
	struct column_report *reps = NULL;
	size_t nh = 0, nsel = 0, *sel = NULL, i;
	long nd;
	int rc = EXIT_ERROR;

	if (colstats_sniff(c->baseline, 0, &header, &kinds, &nh, err, sizeof(err))) {
		fprintf(errs, "saqrctl drift: %s\n", err);
		return EXIT_ERROR;
	}
	sel = calloc(nh + c->ncolumns + 1, sizeof(*sel));
	names = calloc(nh + c->ncolumns + 1, sizeof(*names));
	sel_kinds = calloc(nh + c->ncolumns + 1, sizeof(*sel_kinds));
	reps = calloc(nh + c->ncolumns + 1, sizeof(*reps));
	if (!sel || !names || !sel_kinds || !reps || select_columns(c, header, nh, sel, &nsel, errs))
		goto out;
	for (i = 0; i < nsel; i++) {
		names[i] = header[sel[i]];
		sel_kinds[i] = kinds[sel[i]];
		reps[i] = (struct column_report){.name = names[i], .kind = sel_kinds[i]};
		if (plan_column(c, &reps[i], errs))
			goto out;
	}
	base.names = cur.names = names;
	base.kinds = cur.kinds = sel_kinds;
	base.n = cur.n = nsel;
	if (scan_both(&base, &cur, errs) ||
	    (nd = score_columns(c, reps, nsel, &base.stats, &cur.stats, errs)) < 0)
		goto out;
	if (c->json)
		print_json(out, reps, nsel, &base.stats, &cur.stats, (size_t)nd);
	else
		print_text(out, reps, nsel, &base.stats, &cur.stats, (size_t)nd);
	rc = nd > 0 ? EXIT_DRIFT : EXIT_NO_DRIFT;
out:
	colstats_release(&base.stats);
	colstats_release(&cur.stats);
	colstats_names_free(header, nh);
	free(kinds);
	free(sel);
	free(names);
	free(sel_kinds);
	free(reps);
	return rc;
}

int saqrctl_drift_run(int argc, char **argv, FILE *out, FILE *errs)
{
	struct drift_cli c = {.binning = COLSTATS_QUANTILE};
	int rc;

	c.columns = calloc((size_t)(argc > 0 ? argc : 1), sizeof(*c.columns));
	if (!c.columns) {
		fprintf(errs, "saqrctl drift: out of memory\n");
		return EXIT_ERROR;
	}
	rc = parse_args(argc, argv, &c, out, errs);
	if (rc == 0)
		rc = run_drift(&c, out, errs);
	else if (rc < 0)
		rc = EXIT_NO_DRIFT;
	free(c.columns);
	fflush(out);
	return rc;
}

int saqrctl_drift_main(int argc, char **argv)
{
	return saqrctl_drift_run(argc, argv, stdout, stderr);
}
