/* Column accumulation for `saqrctl drift`; see colstats.h. One pass per file; the
 * baseline's bins are chosen afterwards from its sketch, so both files are counted
 * into exactly the same (sketch-aligned) bins without a second pass. */
#include "drift/colstats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "drift/csv.h"

struct cat_entry {
	uint64_t hash;
	size_t off, len;
	uint64_t count;
};

struct colstats_cat {
	struct cat_entry *e;
	size_t cap, n; /* cap is a power of two; 0 hash marks an empty slot */
	char *arena;
	size_t alen, acap;
	uint64_t other;
	bool truncated;
};

/* ---- categories ---- */

static uint64_t cat_hash(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h ? h : 1;
}

static struct cat_entry *cat_slot(const struct colstats_cat *c, uint64_t h, const char *s, size_t n)
{
	size_t i = (size_t)h & (c->cap - 1);

	while (c->e[i].hash &&
	       !(c->e[i].hash == h && c->e[i].len == n && memcmp(c->arena + c->e[i].off, s, n) == 0))
		i = (i + 1) & (c->cap - 1);
	return &c->e[i];
}

static int cat_rehash(struct colstats_cat *c)
{
	struct colstats_cat bigger = *c;
	size_t i;

	bigger.cap = c->cap ? c->cap * 2 : 64;
	bigger.e = calloc(bigger.cap, sizeof(*bigger.e));
	if (!bigger.e)
		return SAQR_ENOMEM;
	for (i = 0; i < c->cap; i++)
		if (c->e[i].hash)
			*cat_slot(&bigger, c->e[i].hash, c->arena + c->e[i].off, c->e[i].len) = c->e[i];
	free(c->e);
	*c = bigger;
	return 0;
}

static int cat_store(struct colstats_cat *c, const char *s, size_t n, size_t *off)
{
	size_t cap = c->acap ? c->acap : 4096;
	char *a;

	while (cap < c->alen + n + 1)
		cap *= 2;
	if (cap != c->acap) {
		a = realloc(c->arena, cap);
		if (!a)
			return SAQR_ENOMEM;
		c->arena = a;
		c->acap = cap;
	}
	memcpy(c->arena + c->alen, s, n);
	c->arena[c->alen + n] = '\0';
	*off = c->alen;
	c->alen += n + 1;
	return 0;
}

static int cat_add(struct colstats_cat *c, const char *s, size_t n)
{
	uint64_t h = cat_hash(s, n);
	struct cat_entry *e;
	size_t off;

	if ((c->n + 1) * 2 > c->cap && c->n < COLSTATS_MAX_CATEGORIES && cat_rehash(c))
		return SAQR_ENOMEM;
	e = cat_slot(c, h, s, n);
	if (e->hash) {
		e->count++;
		return 0;
	}
	if (c->n >= COLSTATS_MAX_CATEGORIES) {
		c->other++;
		c->truncated = true;
		return 0;
	}
	if (cat_store(c, s, n, &off))
		return SAQR_ENOMEM;
	*e = (struct cat_entry){h, off, n, 1};
	c->n++;
	return 0;
}

static uint64_t cat_count(const struct colstats_cat *c, const char *s, size_t n)
{
	const struct cat_entry *e = c->cap ? cat_slot(c, cat_hash(s, n), s, n) : NULL;

	return e && e->hash ? e->count : 0;
}

static void cat_free(struct colstats_cat *c)
{
	if (!c)
		return;
	free(c->e);
	free(c->arena);
	free(c);
}

/* ---- reading ---- */

void colstats_names_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

static int read_header(struct csv_reader *r, char ***names, size_t *n, char *err, size_t errlen)
{
	struct csv_field *f;
	size_t nf, i, j;
	char **out;
	int rc = csv_next(r, &f, &nf, err, errlen);

	if (rc < 0)
		return rc;
	if (rc == 0)
		return saqr_fail(SAQR_EEMPTY, err, errlen, "%s: no header row", csv_name(r));
	out = calloc(nf, sizeof(*out));
	for (i = 0; out && i < nf; i++) {
		for (j = 0; j < i; j++)
			if (strcmp(out[j], f[i].s) == 0) {
				colstats_names_free(out, i);
				return saqr_fail(SAQR_EPARSE, err, errlen,
						 "%s:%lu: column \"%s\" appears twice in the header",
						 csv_name(r), csv_line(r), f[i].s);
			}
		out[i] = strdup(f[i].s);
		if (!out[i]) {
			colstats_names_free(out, i);
			out = NULL;
		}
	}
	if (!out)
		return saqr_fail(SAQR_ENOMEM, err, errlen, "out of memory");
	*names = out;
	*n = nf;
	return 0;
}

static int field_count_error(struct csv_reader *r, size_t got, size_t want, char *err, size_t errlen)
{
	return saqr_fail(SAQR_EPARSE, err, errlen, "%s:%lu: %zu fields, the header has %zu", csv_name(r),
			 csv_line(r), got, want);
}

int colstats_sniff(const char *path, size_t max_record, char ***names, enum colstats_kind **kinds,
		   size_t *ncols, char *err, size_t errlen)
{
	struct csv_reader *r = NULL;
	struct csv_field *f;
	char **nm = NULL;
	bool *seen = NULL, *text = NULL;
	enum colstats_kind *k = NULL;
	size_t n = 0, nf, i, rows;
	double v;
	int rc;

	rc = csv_open(path, max_record, &r, err, errlen);
	if (!rc)
		rc = read_header(r, &nm, &n, err, errlen);
	if (rc)
		goto out;
	seen = calloc(n, sizeof(*seen));
	text = calloc(n, sizeof(*text));
	k = calloc(n, sizeof(*k));
	if (!seen || !text || !k) {
		rc = saqr_fail(SAQR_ENOMEM, err, errlen, "out of memory");
		goto out;
	}
	for (rows = 0; rows < COLSTATS_SNIFF_ROWS && (rc = csv_next(r, &f, &nf, err, errlen)) == 1; rows++) {
		if (nf != n) {
			rc = field_count_error(r, nf, n, err, errlen);
			goto out;
		}
		for (i = 0; i < n; i++) {
			if (csv_field_double(&f[i], &v))
				seen[i] = true;
			else if (!csv_is_missing(f[i].s, f[i].len))
				text[i] = true;
		}
	}
	if (rc < 0)
		goto out;
	rc = 0;
	for (i = 0; i < n; i++)
		k[i] = seen[i] && !text[i] ? COLSTATS_NUMERIC : COLSTATS_CATEGORICAL;
	*names = nm;
	*kinds = k;
	*ncols = n;
	nm = NULL;
	k = NULL;
out:
	colstats_names_free(nm, n);
	free(k);
	free(seen);
	free(text);
	csv_close(r);
	return rc;
}

#define COLSTATS_BLOCK 512 /* numbers parsed row by row, then counted column by column */

static size_t pow2_at_least(size_t v)
{
	size_t p = 64;

	while (p < v)
		p *= 2;
	return p;
}

/* Keep the first COLSTATS_RAW_MAX values; drop them all once there are more. */
static int keep_raw(struct colstats_column *c, const double *x, size_t n)
{
	size_t cap;
	double *raw;

	if (c->raw_dropped)
		return 0;
	if (c->nraw + n > COLSTATS_RAW_MAX) {
		free(c->raw);
		c->raw = NULL;
		c->nraw = 0;
		c->raw_dropped = true;
		return 0;
	}
	cap = pow2_at_least(c->nraw + n);
	if (!c->raw || cap != pow2_at_least(c->nraw)) {
		raw = realloc(c->raw, cap * sizeof(double));
		if (!raw)
			return SAQR_ENOMEM;
		c->raw = raw;
	}
	memcpy(c->raw + c->nraw, x, n * sizeof(double));
	c->nraw += n;
	return 0;
}

/* Count a block of one numeric column's values: sums for the std, the sketch. */
static int add_numbers(struct colstats_column *c, const double *x, size_t n)
{
	double s1 = c->s1, s2 = c->s2, d;
	size_t i;

	if (n == 0)
		return 0;
	if (c->count == 0)
		c->shift = x[0];
	for (i = 0; i < n; i++) {
		d = x[i] - c->shift;
		s1 += d;
		s2 += d * d;
		if (sketch_add(&c->sketch, x[i]))
			return SAQR_ENOMEM;
	}
	c->s1 = s1;
	c->s2 = s2;
	c->count += n;
	return keep_raw(c, x, n);
}

/* Per-column blocks of parsed numbers waiting to be counted. */
struct pending {
	double *x; /* COLSTATS_BLOCK per column */
	size_t *n;
};

static int flush(struct colstats_column *c, struct pending *p, size_t i, char *err, size_t errlen)
{
	int rc = add_numbers(c, p->x + i * COLSTATS_BLOCK, p->n[i]);

	p->n[i] = 0;
	return rc ? saqr_fail(SAQR_ENOMEM, err, errlen, "out of memory") : 0;
}

static int add_cell(struct csv_reader *r, struct colstats_column *c, struct pending *p, size_t i,
		    const struct csv_field *f, char *err, size_t errlen)
{
	double x;

	if (c->kind == COLSTATS_NUMERIC) {
		if (csv_field_double(f, &x)) {
			p->x[i * COLSTATS_BLOCK + p->n[i]++] = x;
			return p->n[i] == COLSTATS_BLOCK ? flush(c, p, i, err, errlen) : 0;
		}
		if (!csv_is_missing(f->s, f->len))
			return saqr_fail(SAQR_EPARSE, err, errlen,
					 "%s:%lu: column \"%s\": \"%.40s\" is not a number", csv_name(r),
					 csv_line(r), c->name, f->s);
	} else if (!csv_is_missing(f->s, f->len)) {
		c->count++;
		return cat_add(c->cats, f->s, f->len) ? saqr_fail(SAQR_ENOMEM, err, errlen, "out of memory")
						      : 0;
	}
	c->missing++;
	return 0;
}

static int setup_columns(struct csv_reader *r, char *const *header, size_t nh, char *const *names,
			 const enum colstats_kind *kinds, struct colstats *out, char *err, size_t errlen)
{
	struct colstats_column *c;
	size_t i, j;

	for (i = 0; i < out->ncols; i++) {
		c = &out->cols[i];
		for (j = 0; j < nh && strcmp(header[j], names[i]) != 0; j++)
			;
		if (j == nh)
			return saqr_fail(SAQR_ENOTFOUND, err, errlen, "%s: no column \"%s\" in the header",
					 csv_name(r), names[i]);
		c->index = j;
		c->kind = kinds[i];
		c->name = strdup(names[i]);
		sketch_init(&c->sketch);
		if (c->kind == COLSTATS_CATEGORICAL)
			c->cats = calloc(1, sizeof(*c->cats));
		if (!c->name || (c->kind == COLSTATS_CATEGORICAL && !c->cats))
			return saqr_fail(SAQR_ENOMEM, err, errlen, "out of memory");
	}
	return 0;
}

int colstats_scan(const char *path, char *const *names, const enum colstats_kind *kinds, size_t n,
		  size_t max_record, struct colstats *out, char *err, size_t errlen)
{
	struct csv_reader *r = NULL;
	struct pending pend = {NULL, NULL};
	struct csv_field *f;
	char **header = NULL;
	size_t nh = 0, nf, i;
	int rc;

	memset(out, 0, sizeof(*out));
	out->path = strdup(path);
	out->cols = calloc(n ? n : 1, sizeof(*out->cols));
	if (!out->path || !out->cols)
		return saqr_fail(SAQR_ENOMEM, err, errlen, "out of memory");
	out->ncols = n;
	rc = csv_open(path, max_record, &r, err, errlen);
	if (!rc)
		rc = read_header(r, &header, &nh, err, errlen);
	if (!rc)
		rc = setup_columns(r, header, nh, names, kinds, out, err, errlen);
	pend.x = malloc((n ? n : 1) * COLSTATS_BLOCK * sizeof(double));
	pend.n = calloc(n ? n : 1, sizeof(size_t));
	if (!rc && (!pend.x || !pend.n))
		rc = saqr_fail(SAQR_ENOMEM, err, errlen, "out of memory");
	while (!rc && (rc = csv_next(r, &f, &nf, err, errlen)) == 1) {
		rc = nf == nh ? 0 : field_count_error(r, nf, nh, err, errlen);
		for (i = 0; !rc && i < n; i++)
			rc = add_cell(r, &out->cols[i], &pend, i, &f[out->cols[i].index], err, errlen);
		out->rows++;
	}
	for (i = 0; !rc && i < n; i++)
		rc = flush(&out->cols[i], &pend, i, err, errlen);
	free(pend.x);
	free(pend.n);
	colstats_names_free(header, nh);
	csv_close(r);
	return rc;
}

void colstats_release(struct colstats *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; c->cols && i < c->ncols; i++) {
		free(c->cols[i].name);
		free(c->cols[i].raw);
		sketch_release(&c->cols[i].sketch);
		cat_free(c->cols[i].cats);
	}
	free(c->cols);
	free(c->path);
	memset(c, 0, sizeof(*c));
}

/* ---- drift ---- */

/* Numbered arrays for the statistics, allocated together. */
struct bins {
	double *ref, *cur, *x;
	size_t n;
};

static int bins_alloc(struct bins *b, size_t n)
{
	b->ref = calloc(n ? n : 1, 3 * sizeof(double));
	b->cur = b->ref ? b->ref + n : NULL;
	b->x = b->ref ? b->cur + n : NULL;
	b->n = 0;
	return b->ref ? 0 : SAQR_ENOMEM;
}

static size_t sturges(uint64_t n)
{
	double b = ceil(log2((double)n) + 1);

	return b < 1 ? 1 : (b > COLSTATS_MAX_BINS ? COLSTATS_MAX_BINS : (size_t)b);
}

static size_t last_key(const struct sketch *s)
{
	size_t k = sketch_next(s, 0), last = k;

	while (k != SKETCH_END) {
		last = k;
		k = sketch_next(s, k + 1);
	}
	return last;
}

/* Bin edges (as sketch keys) at the baseline's quantiles i/B. */
static size_t quantile_edges(const struct sketch *s, size_t nb, size_t *keys)
{
	double cum = 0, total = (double)s->n;
	size_t k, m = 0, i = 1, top = last_key(s) + 1;

	keys[m++] = sketch_next(s, 0);
	for (k = keys[0]; k != SKETCH_END && i < nb; k = sketch_next(s, k + 1)) {
		cum += (double)sketch_count(s, k);
		while (i < nb && cum >= total * (double)i / (double)nb) {
			if (k + 1 > keys[m - 1] && k + 1 < top)
				keys[m++] = k + 1;
			i++;
		}
	}
	keys[m++] = top;
	return m;
}

/* Equal-width edges between the baseline's extremes, snapped down to bucket edges. */
static size_t uniform_edges(const struct sketch *s, size_t nb, size_t *keys)
{
	size_t first = sketch_next(s, 0), top = last_key(s) + 1, m = 0, i, k;
	double lo = sketch_edge(first), hi = sketch_edge(top);

	keys[m++] = first;
	for (i = 1; i < nb; i++) {
		k = sketch_key(lo + (hi - lo) * ((double)i / (double)nb));
		if (k > keys[m - 1] && k < top)
			keys[m++] = k;
	}
	keys[m++] = top;
	return m;
}

/* Count a sketch into the bins [keys[j], keys[j+1]); values below the first edge go
 * to the first bin and values above the last to the last bin (open-ended ends). */
static void count_into(const struct sketch *s, const size_t *keys, size_t m, double *counts)
{
	size_t k, j = 0;

	for (k = sketch_next(s, 0); k != SKETCH_END; k = sketch_next(s, k + 1)) {
		while (j + 2 < m && k >= keys[j + 1])
			j++;
		counts[j] += (double)sketch_count(s, k);
	}
}

/* The coarse bins of a numeric column pair: the baseline's quantile (or uniform)
 * bins, the first and last open-ended so that the current data always falls in
 * one (an empty end bin would only add Evidently's epsilon artefact to PSI). */
static int coarse_bins(const struct colstats_column *ref, const struct colstats_column *cur, size_t nb,
		       enum colstats_binning how, struct bins *b)
{
	size_t keys[COLSTATS_MAX_BINS + 1], m;

	m = how == COLSTATS_UNIFORM ? uniform_edges(&ref->sketch, nb, keys)
				    : quantile_edges(&ref->sketch, nb, keys);
	if (bins_alloc(b, m - 1))
		return SAQR_ENOMEM;
	count_into(&ref->sketch, keys, m, b->ref);
	count_into(&cur->sketch, keys, m, b->cur);
	b->n = m - 1;
	return 0;
}

/* Every bucket occupied in either sketch, in order, with its midpoint. */
static int fine_bins(const struct sketch *a, const struct sketch *c, struct bins *b)
{
	size_t ka, kc, k, n = 0;

	for (ka = sketch_next(a, 0), kc = sketch_next(c, 0); ka != SKETCH_END || kc != SKETCH_END; n++) {
		k = ka < kc ? ka : kc;
		ka = ka == k ? sketch_next(a, k + 1) : ka;
		kc = kc == k ? sketch_next(c, k + 1) : kc;
	}
	if (bins_alloc(b, n))
		return SAQR_ENOMEM;
	for (ka = sketch_next(a, 0), kc = sketch_next(c, 0); ka != SKETCH_END || kc != SKETCH_END; b->n++) {
		k = ka < kc ? ka : kc;
		b->ref[b->n] = (double)sketch_count(a, k);
		b->cur[b->n] = (double)sketch_count(c, k);
		b->x[b->n] = sketch_edge(k) / 2 + sketch_edge(k + 1) / 2;
		ka = ka == k ? sketch_next(a, k + 1) : ka;
		kc = kc == k ? sketch_next(c, k + 1) : kc;
	}
	return 0;
}

static double column_std(const struct colstats_column *c)
{
	double mean = c->s1 / (double)c->count, var = c->s2 / (double)c->count - mean * mean;

	return var > 0 ? sqrt(var) : 0.0;
}

static int numeric_exact(const struct colstats_column *ref, const struct colstats_column *cur,
			 enum drift_method m, struct colstats_result *out, char *err, size_t errlen)
{
	struct drift_test t;
	struct drift_wasserstein w;
	int rc;

	if (m == DRIFT_KS) {
		rc = drift_ks_samples(ref->raw, ref->nraw, cur->raw, cur->nraw, DRIFT_KS_AUTO, &t, err,
				      errlen);
		out->score = (struct drift_score){t.pvalue, t.statistic, t.pvalue, true};
	} else {
		rc = drift_wasserstein_samples(ref->raw, ref->nraw, cur->raw, cur->nraw, &w, err, errlen);
		out->score = (struct drift_score){w.normed, w.distance, 0, false};
		out->ref_std = w.ref_std;
	}
	out->exact = true;
	out->bins = 0;
	return rc;
}

static int numeric_drift(const struct colstats_column *ref, const struct colstats_column *cur,
			 const struct colstats_opts *o, struct colstats_result *out, char *err, size_t errlen)
{
	struct bins b = {0};
	struct drift_wasserstein w;
	int rc;

	out->ref_std = column_std(ref);
	if ((o->method == DRIFT_KS || o->method == DRIFT_WASSERSTEIN) && !ref->raw_dropped &&
	    !cur->raw_dropped)
		return numeric_exact(ref, cur, o->method, out, err, errlen);
	if (o->method == DRIFT_KS || o->method == DRIFT_WASSERSTEIN)
		rc = fine_bins(&ref->sketch, &cur->sketch, &b);
	else
		rc = coarse_bins(ref, cur, o->bins ? o->bins : sturges(ref->count + cur->count), o->binning,
				 &b);
	if (rc) {
		rc = saqr_fail(rc, err, errlen, "out of memory");
	} else if (o->method == DRIFT_WASSERSTEIN) {
		rc = drift_wasserstein_points(b.x, b.ref, b.cur, b.n, out->ref_std, &w, err, errlen);
		out->score = (struct drift_score){w.normed, w.distance, 0, false};
	} else {
		rc = drift_score_binned(o->method, NULL, b.ref, b.cur, b.n, -1, &out->score, err, errlen);
	}
	out->bins = b.n;
	free(b.ref);
	return rc;
}

static int categorical_drift(const struct colstats_column *ref, const struct colstats_column *cur,
			     const struct colstats_opts *o, struct colstats_result *out, char *err,
			     size_t errlen)
{
	const struct colstats_cat *rcat = ref->cats, *cc = cur->cats;
	struct bins b;
	size_t i;
	int rc;

	if (o->method == DRIFT_KS || o->method == DRIFT_WASSERSTEIN)
		return saqr_fail(SAQR_EINVAL, err, errlen,
				 "method %s needs a numeric column; \"%s\" is categorical",
				 drift_method_name(o->method), ref->name);
	if (bins_alloc(&b, rcat->n + cc->n + 1))
		return saqr_fail(SAQR_ENOMEM, err, errlen, "out of memory");
	for (i = 0; i < rcat->cap; i++)
		if (rcat->e[i].hash) {
			b.ref[b.n] = (double)rcat->e[i].count;
			b.cur[b.n++] = (double)cat_count(cc, rcat->arena + rcat->e[i].off, rcat->e[i].len);
		}
	for (i = 0; i < cc->cap; i++)
		if (cc->e[i].hash && !cat_count(rcat, cc->arena + cc->e[i].off, cc->e[i].len)) {
			b.ref[b.n] = 0;
			b.cur[b.n++] = (double)cc->e[i].count;
		}
	if (rcat->truncated || cc->truncated) {
		b.ref[b.n] = (double)rcat->other;
		b.cur[b.n++] = (double)cc->other;
	}
	out->truncated = rcat->truncated || cc->truncated;
	out->bins = b.n;
	rc = drift_score_binned(o->method, NULL, b.ref, b.cur, b.n, -1, &out->score, err, errlen);
	free(b.ref);
	return rc;
}

int colstats_drift(const struct colstats_column *ref, const struct colstats_column *cur,
		   const struct colstats_opts *opts, struct colstats_result *out, char *err, size_t errlen)
{
	struct colstats_result r = {0};
	int rc;

	if (ref->kind != cur->kind)
		return saqr_fail(SAQR_EINVAL, err, errlen, "column \"%s\" is numeric in one file only",
				 ref->name);
	if (ref->count == 0 || cur->count == 0)
		return saqr_fail(SAQR_EEMPTY, err, errlen, "column \"%s\" has no values in the %s", ref->name,
				 ref->count == 0 ? "baseline" : "current data");
	if (ref->kind == COLSTATS_NUMERIC)
		rc = numeric_drift(ref, cur, opts, &r, err, errlen);
	else
		rc = categorical_drift(ref, cur, opts, &r, err, errlen);
	if (!rc)
		*out = r;
	return rc;
}
