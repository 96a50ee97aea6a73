/* Prometheus/OpenMetrics text parser: one pass over the lines into an arena of
 * strings and an array of samples, then indexes by sample name and by histogram
 * series (base name + labels other than le) so that queries cost O(matches). */
#include "drift/promtext.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"
#include "drift/decimal.h"

#define NONE SIZE_MAX
#define PT_MAX_TOKEN 128

struct family {
	const char *name;
	const char *help;
	enum promtext_type type;
	bool typed;
};

/* One histogram series: the base name plus the labels other than le. */
struct group {
	const char *base;
	size_t baselen;
	size_t key_sample; /* a sample carrying the group's labels */
	size_t first_bucket;
	size_t nbuckets;
	size_t sum_idx;
	size_t count_idx;
	size_t next_same_base;
	uint64_t hash;
};

struct table {
	size_t *slot; /* index + 1; 0 is empty */
	size_t cap;   /* a power of two */
};

/* One (name, label=value) of a sample or group, for queries filtered on a label. */
struct lentry {
	uint64_t hash;
	const char *name; /* sample name or group base, not NUL-terminated */
	size_t namelen;
	const struct promtext_label *label;
	size_t target; /* sample or group index */
	size_t next;   /* next entry with the same key */
};

struct promtext {
	char *arena;
	size_t arena_used, arena_cap;
	struct promtext_sample *samples;
	size_t nsamples, samples_cap;
	struct promtext_label *labels;
	size_t nlabels, labels_cap;
	size_t *label_off; /* per sample, into labels, until the pointers are fixed */
	size_t label_off_cap;
	double *le;	   /* per sample: the le of a _bucket sample, NAN otherwise */
	size_t *name_next; /* per sample: next sample with the same name */
	size_t *bucket_next;
	struct family *families;
	size_t nfamilies, families_cap;
	struct group *groups;
	size_t ngroups, groups_cap;
	struct table by_name;  /* sample name -> first sample */
	struct table by_group; /* base + labels -> group */
	struct table by_base;  /* base name -> first group */
	struct lentry *lent;   /* label index entries: samples (not buckets), then groups */
	size_t nlent, lent_cap;
	struct table by_label;	/* (name, label, value) -> first entry for samples */
	struct table by_glabel; /* (base, label, value) -> first entry for groups */
	bool eof;
};

struct parser {
	struct promtext *pt;
	const char *p, *end; /* the rest of the current line */
	unsigned line;
	char *err;
	size_t errlen;
};

static const char *const type_names[] = {
    [PROMTEXT_UNTYPED] = "untyped", [PROMTEXT_COUNTER] = "counter",
    [PROMTEXT_GAUGE] = "gauge",	    [PROMTEXT_HISTOGRAM] = "histogram",
    [PROMTEXT_SUMMARY] = "summary", [PROMTEXT_GAUGEHISTOGRAM] = "gaugehistogram",
    [PROMTEXT_INFO] = "info",	    [PROMTEXT_STATESET] = "stateset",
};

/* "line N: what" into the parser's error buffer; perr() also yields SAQR_EPARSE. */
__attribute__((format(printf, 2, 3))) static void parse_msg(struct parser *ps, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	saqr_verrf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	saqr_errf(ps->err, ps->errlen, "line %u: %s", ps->line, msg);
}

#define perr(ps, ...) (parse_msg((ps), __VA_ARGS__), SAQR_EPARSE)

static uint64_t fnv_add(uint64_t h, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t fnv(const char *s, size_t n)
{
	return fnv_add(0xcbf29ce484222325ull, s, n);
}

static int grow(void **arr, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap ? *cap : 16;
	void *p;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	p = realloc(*arr, ncap * size);
	if (!p)
		return SAQR_ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* ---- lexing helpers ---- */

static bool is_ws(char c)
{
	return c == ' ' || c == '\t';
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && is_ws(*ps->p))
		ps->p++;
}

static bool name_char(char c, bool first, bool colon)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':'))
		return true;
	return !first && c >= '0' && c <= '9';
}

/* Copy n bytes into the arena as a string. */
static const char *arena_put(struct promtext *pt, const char *s, size_t n)
{
	char *d;

	if (pt->arena_used + n + 1 > pt->arena_cap)
		return NULL;
	d = pt->arena + pt->arena_used;
	memcpy(d, s, n);
	d[n] = '\0';
	pt->arena_used += n + 1;
	return d;
}

/* A metric (colon allowed) or label name at the cursor, into the arena. */
static int lex_name(struct parser *ps, bool colon, const char **out)
{
	const char *s = ps->p;

	if (ps->p >= ps->end || !name_char(*ps->p, true, colon))
		return SAQR_EPARSE;
	while (ps->p < ps->end && name_char(*ps->p, false, colon))
		ps->p++;
	*out = arena_put(ps->pt, s, (size_t)(ps->p - s));
	return *out ? 0 : SAQR_ENOMEM;
}

/* A sample value or bucket bound: a plain decimal (fast path), one of the words Go's
 * ParseFloat takes for infinities and NaN, or anything else strtod takes whole. */
static int parse_number(const char *s, size_t n, double *out)
{
	static const struct {
		const char *word;
		double v;
	} words[] = {{"+Inf", INFINITY},      {"-Inf", -INFINITY},	{"Inf", INFINITY},     {"NaN", NAN},
		     {"+Infinity", INFINITY}, {"-Infinity", -INFINITY}, {"Infinity", INFINITY}};
	char tok[PT_MAX_TOKEN], *endp;
	size_t i;

	if (decimal_parse(s, n, out))
		return 0;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strlen(words[i].word) == n && strncasecmp(s, words[i].word, n) == 0) {
			*out = words[i].v;
			return 0;
		}
	if (n == 0 || n >= sizeof(tok) || memchr(s, ' ', n))
		return SAQR_EPARSE;
	memcpy(tok, s, n);
	tok[n] = '\0';
	*out = strtod(tok, &endp);
	return *endp == '\0' ? 0 : SAQR_EPARSE;
}

/* A whitespace-delimited token as a number. */
static int lex_float(struct parser *ps, double *out)
{
	const char *s = ps->p;

	while (ps->p < ps->end && !is_ws(*ps->p))
		ps->p++;
	return parse_number(s, (size_t)(ps->p - s), out);
}

/* A quoted label value with \\ \" \n unescaped (other escapes kept), into the arena. */
static int lex_label_value(struct parser *ps, const char **out)
{
	char *d = ps->pt->arena + ps->pt->arena_used, *start = d;

	if (ps->p >= ps->end || *ps->p != '"')
		return perr(ps, "expected '\"' to open a label value");
	for (ps->p++; ps->p < ps->end && *ps->p != '"'; ps->p++) {
		if (*ps->p == '\\' && ps->p + 1 < ps->end) {
			ps->p++;
			if (*ps->p == 'n')
				*d++ = '\n';
			else if (*ps->p == '\\' || *ps->p == '"')
				*d++ = *ps->p;
			else {
				*d++ = '\\';
				*d++ = *ps->p;
			}
		} else {
			*d++ = *ps->p;
		}
	}
	if (ps->p >= ps->end)
		return perr(ps, "label value not closed by '\"'");
	ps->p++;
	*d++ = '\0';
	ps->pt->arena_used += (size_t)(d - start);
	*out = start;
	return 0;
}

/* ---- lines ---- */

static struct family *family_find(const struct promtext *pt, const char *name)
{
	size_t i;

	for (i = 0; i < pt->nfamilies; i++)
		if (strcmp(pt->families[i].name, name) == 0)
			return &pt->families[i];
	return NULL;
}

static int family_get(struct parser *ps, const char *name, struct family **out)
{
	struct promtext *pt = ps->pt;
	struct family *f = family_find(pt, name);

	if (!f) {
		if (grow((void **)&pt->families, &pt->families_cap, pt->nfamilies + 1, sizeof(*f)))
			return SAQR_ENOMEM;
		f = &pt->families[pt->nfamilies++];
		memset(f, 0, sizeof(*f));
		f->name = name;
	}
	*out = f;
	return 0;
}

static int parse_type(struct parser *ps, struct family *f)
{
	size_t n, i;

	skip_ws(ps);
	n = (size_t)(ps->end - ps->p);
	while (n && is_ws(ps->p[n - 1]))
		n--;
	if (f->typed)
		return perr(ps, "second TYPE line for %s", f->name);
	for (i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (strlen(type_names[i]) == n && memcmp(ps->p, type_names[i], n) == 0)
			break;
	if (i == sizeof(type_names) / sizeof(type_names[0])) {
		if (!(n == 7 && memcmp(ps->p, "unknown", 7) == 0))
			return perr(ps, "unknown metric type \"%.*s\"", (int)(n > 40 ? 40 : n), ps->p);
		i = PROMTEXT_UNTYPED;
	}
	f->type = (enum promtext_type)i;
	f->typed = true;
	return 0;
}

/* HELP text with \\ and \n unescaped. */
static int parse_help(struct parser *ps, struct family *f)
{
	char *d = ps->pt->arena + ps->pt->arena_used, *start = d;

	if (ps->p < ps->end && is_ws(*ps->p))
		ps->p++;
	for (; ps->p < ps->end; ps->p++) {
		if (*ps->p == '\\' && ps->p + 1 < ps->end && (ps->p[1] == 'n' || ps->p[1] == '\\')) {
			ps->p++;
			*d++ = *ps->p == 'n' ? '\n' : '\\';
		} else {
			*d++ = *ps->p;
		}
	}
	*d++ = '\0';
	ps->pt->arena_used += (size_t)(d - start);
	f->help = start;
	return 0;
}

/* "# ..." lines: HELP, TYPE, EOF; anything else is a comment. */
static int parse_comment(struct parser *ps)
{
	const char *kw;
	struct family *f;
	const char *name;
	size_t n;
	int rc;

	ps->p++;
	skip_ws(ps);
	kw = ps->p;
	while (ps->p < ps->end && !is_ws(*ps->p))
		ps->p++;
	n = (size_t)(ps->p - kw);
	if (n == 3 && memcmp(kw, "EOF", 3) == 0) {
		skip_ws(ps);
		ps->pt->eof = ps->p == ps->end;
		return 0;
	}
	if (!((n == 4 && memcmp(kw, "HELP", 4) == 0) || (n == 4 && memcmp(kw, "TYPE", 4) == 0)))
		return 0;
	skip_ws(ps);
	rc = lex_name(ps, true, &name);
	if (rc)
		return rc == SAQR_ENOMEM ? rc : perr(ps, "expected a metric name after # %.4s", kw);
	if (ps->p < ps->end && !is_ws(*ps->p))
		return perr(ps, "invalid character '%c' in metric name", *ps->p);
	rc = family_get(ps, name, &f);
	if (rc)
		return rc;
	if (kw[0] == 'T')
		return parse_type(ps, f);
	if (f->help)
		return perr(ps, "second HELP line for %s", name);
	return parse_help(ps, f);
}

static int add_label(struct parser *ps, const char *name, const char *value)
{
	struct promtext *pt = ps->pt;
	size_t first = pt->label_off[pt->nsamples], i;
	struct promtext_label tmp;

	for (i = first; i < pt->nlabels; i++)
		if (strcmp(pt->labels[i].name, name) == 0)
			return perr(ps, "label %s given twice", name);
	if (grow((void **)&pt->labels, &pt->labels_cap, pt->nlabels + 1, sizeof(*pt->labels)))
		return SAQR_ENOMEM;
	pt->labels[pt->nlabels].name = name;
	pt->labels[pt->nlabels].value = value;
	/* keep the sample's labels sorted by name (they are few) */
	for (i = pt->nlabels++; i > first && strcmp(pt->labels[i - 1].name, pt->labels[i].name) > 0; i--) {
		tmp = pt->labels[i - 1];
		pt->labels[i - 1] = pt->labels[i];
		pt->labels[i] = tmp;
	}
	return 0;
}

static int parse_labels(struct parser *ps)
{
	const char *name = NULL, *value = NULL;
	int rc;

	ps->p++; /* '{' */
	for (;;) {
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == '}')
			break;
		rc = lex_name(ps, false, &name);
		if (rc)
			return rc == SAQR_ENOMEM ? rc : perr(ps, "expected a label name or '}'");
		skip_ws(ps);
		if (ps->p >= ps->end || *ps->p != '=')
			return perr(ps, "expected '=' after label name %s", name);
		ps->p++;
		skip_ws(ps);
		rc = lex_label_value(ps, &value);
		if (!rc)
			rc = add_label(ps, name, value);
		if (rc)
			return rc;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',')
			ps->p++;
		else if (ps->p >= ps->end || *ps->p != '}')
			return perr(ps, "expected ',' or '}' after a label");
	}
	ps->p++;
	return 0;
}

/* value [timestamp] [# exemplar] */
static int parse_value(struct parser *ps, struct promtext_sample *s)
{
	if (ps->p >= ps->end || !is_ws(*ps->p))
		return perr(ps, ps->p >= ps->end ? "missing value" : "expected a space before the value");
	skip_ws(ps);
	if (ps->p >= ps->end)
		return perr(ps, "missing value");
	if (lex_float(ps, &s->value))
		return perr(ps, "value is not a number");
	skip_ws(ps);
	if (ps->p >= ps->end || *ps->p == '#')
		return 0;
	if (lex_float(ps, &s->timestamp))
		return perr(ps, "timestamp is not a number");
	s->has_timestamp = true;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p != '#')
		return perr(ps, "unexpected text after the timestamp");
	return 0;
}

static int parse_sample(struct parser *ps)
{
	struct promtext *pt = ps->pt;
	struct promtext_sample *s;
	size_t i = pt->nsamples;
	int rc;

	if (grow((void **)&pt->samples, &pt->samples_cap, i + 1, sizeof(*pt->samples)) ||
	    grow((void **)&pt->label_off, &pt->label_off_cap, i + 1, sizeof(size_t)))
		return SAQR_ENOMEM;
	s = &pt->samples[i];
	memset(s, 0, sizeof(*s));
	s->line = ps->line;
	pt->label_off[i] = pt->nlabels;
	rc = lex_name(ps, true, &s->name);
	if (rc)
		return rc == SAQR_ENOMEM ? rc : perr(ps, "expected a metric name");
	if (ps->p < ps->end && *ps->p == '{') {
		rc = parse_labels(ps);
		if (rc)
			return rc;
	}
	rc = parse_value(ps, s);
	if (rc)
		return rc;
	s->nlabels = pt->nlabels - pt->label_off[i];
	pt->nsamples++;
	return 0;
}

static int parse_line(struct parser *ps)
{
	skip_ws(ps);
	if (ps->p >= ps->end)
		return 0;
	if (ps->pt->eof)
		return perr(ps, "content after # EOF");
	if (*ps->p == '#')
		return parse_comment(ps);
	return parse_sample(ps);
}

static int parse_all(struct parser *ps, const char *text, size_t len)
{
	const char *p = text, *end = text + len, *nl;
	int rc;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		ps->line++;
		ps->p = p;
		ps->end = nl ? nl : end;
		if (ps->end > p && ps->end[-1] == '\r')
			ps->end--;
		if (ps->end > p && memchr(p, '\0', (size_t)(ps->end - p)))
			return perr(ps, "NUL byte in the text");
		rc = parse_line(ps);
		if (rc)
			return rc;
		p = nl ? nl + 1 : end;
	}
	return 0;
}

/* ---- indexes ---- */

typedef bool (*table_eq)(const struct promtext *pt, size_t idx, const void *key);

static int table_init(struct table *t, size_t n)
{
	t->cap = 16;
	while (t->cap < 2 * n)
		t->cap *= 2;
	t->slot = calloc(t->cap, sizeof(*t->slot));
	return t->slot ? 0 : SAQR_ENOMEM;
}

/* The slot holding an entry equal to key, or the empty slot where it would go. */
static size_t *table_find(const struct promtext *pt, const struct table *t, uint64_t h, table_eq eq,
			  const void *key)
{
	size_t i = (size_t)h & (t->cap - 1);

	while (t->slot[i] && !eq(pt, t->slot[i] - 1, key))
		i = (i + 1) & (t->cap - 1);
	return &t->slot[i];
}

static bool sample_name_eq(const struct promtext *pt, size_t idx, const void *key)
{
	return strcmp(pt->samples[idx].name, key) == 0;
}

/* A group key: a base name (not NUL-terminated) and the labels of a sample minus le. */
struct group_key {
	const char *base;
	size_t baselen;
	const struct promtext_sample *s;
	uint64_t hash;
};

static bool is_le(const struct promtext_label *l)
{
	return l->name[0] == 'l' && l->name[1] == 'e' && l->name[2] == '\0';
}

static bool labels_equal_but_le(const struct promtext_sample *a, const struct promtext_sample *b)
{
	size_t i = 0, j = 0;

	for (;;) {
		while (i < a->nlabels && is_le(&a->labels[i]))
			i++;
		while (j < b->nlabels && is_le(&b->labels[j]))
			j++;
		if (i == a->nlabels || j == b->nlabels)
			return i == a->nlabels && j == b->nlabels;
		if (strcmp(a->labels[i].name, b->labels[j].name) != 0 ||
		    strcmp(a->labels[i].value, b->labels[j].value) != 0)
			return false;
		i++;
		j++;
	}
}

static bool group_eq(const struct promtext *pt, size_t idx, const void *key)
{
	const struct group *g = &pt->groups[idx];
	const struct group_key *k = key;

	return g->hash == k->hash && g->baselen == k->baselen && memcmp(g->base, k->base, k->baselen) == 0 &&
	       labels_equal_but_le(&pt->samples[g->key_sample], k->s);
}

static bool base_eq(const struct promtext *pt, size_t idx, const void *key)
{
	const struct group *g = &pt->groups[idx];
	const struct group_key *k = key;

	return g->baselen == k->baselen && memcmp(g->base, k->base, k->baselen) == 0;
}

static uint64_t group_hash(const struct group_key *k)
{
	uint64_t h = fnv(k->base, k->baselen);
	size_t i;

	for (i = 0; i < k->s->nlabels; i++) {
		if (is_le(&k->s->labels[i]))
			continue;
		h = fnv_add(h, k->s->labels[i].name, strlen(k->s->labels[i].name) + 1);
		h = fnv_add(h, k->s->labels[i].value, strlen(k->s->labels[i].value) + 1);
	}
	return h;
}

static bool has_suffix(const char *s, size_t n, const char *suf, size_t sn)
{
	return n > sn && memcmp(s + n - sn, suf, sn) == 0;
}

/* Which histogram part a sample is: 1 bucket, 2 sum, 3 count, 0 none; *baselen set. */
static int histogram_part(const struct promtext_sample *s, size_t *baselen)
{
	size_t n = strlen(s->name);

	if (has_suffix(s->name, n, "_bucket", 7) && promtext_label_value(s, "le")) {
		*baselen = n - 7;
		return 1;
	}
	if (has_suffix(s->name, n, "_sum", 4)) {
		*baselen = n - 4;
		return 2;
	}
	if (has_suffix(s->name, n, "_count", 6)) {
		*baselen = n - 6;
		return 3;
	}
	return 0;
}

static int group_of(struct promtext *pt, size_t si, size_t baselen, struct group **out)
{
	struct group_key key = {pt->samples[si].name, baselen, &pt->samples[si], 0};
	uint64_t h = key.hash = group_hash(&key);
	size_t *slot = table_find(pt, &pt->by_group, h, group_eq, &key), *bslot;
	struct group *g;

	if (*slot) {
		*out = &pt->groups[*slot - 1];
		return 0;
	}
	if (grow((void **)&pt->groups, &pt->groups_cap, pt->ngroups + 1, sizeof(*g)))
		return SAQR_ENOMEM;
	g = &pt->groups[pt->ngroups];
	*g = (struct group){key.base, baselen, si, NONE, 0, NONE, NONE, NONE, h};
	*slot = ++pt->ngroups;
	bslot = table_find(pt, &pt->by_base, fnv(key.base, baselen), base_eq, &key);
	if (*bslot)
		g->next_same_base = *bslot - 1;
	*bslot = pt->ngroups;
	*out = g;
	return 0;
}

static int parse_le(struct parser *ps, size_t si)
{
	const char *v = promtext_label_value(&ps->pt->samples[si], "le");

	if (parse_number(v, strlen(v), &ps->pt->le[si]) || isnan(ps->pt->le[si])) {
		ps->line = ps->pt->samples[si].line;
		return perr(ps, "le=\"%.40s\" is not a bucket bound", v);
	}
	return 0;
}

static int add_to_group(struct parser *ps, size_t si)
{
	struct promtext *pt = ps->pt;
	size_t baselen, *where;
	struct group *g;
	int part = histogram_part(&pt->samples[si], &baselen), rc;

	pt->le[si] = NAN;
	if (!part)
		return 0;
	if (part == 1 && (rc = parse_le(ps, si)))
		return rc;
	rc = group_of(pt, si, baselen, &g);
	if (rc)
		return rc;
	if (part == 1) {
		pt->bucket_next[si] = g->first_bucket;
		g->first_bucket = si;
		g->nbuckets++;
		return 0;
	}
	where = part == 2 ? &g->sum_idx : &g->count_idx;
	if (*where != NONE) {
		ps->line = pt->samples[si].line;
		return perr(ps, "duplicate series %s (first on line %u)", pt->samples[si].name,
			    pt->samples[*where].line);
	}
	*where = si;
	return 0;
}

static uint64_t label_key_hash(const char *name, size_t namelen, const char *lname, const char *lvalue)
{
	uint64_t h = fnv(name, namelen);

	h = fnv_add(h, "\0", 1);
	h = fnv_add(h, lname, strlen(lname) + 1);
	return fnv_add(h, lvalue, strlen(lvalue));
}

struct label_key {
	const char *name;
	size_t namelen;
	const char *lname, *lvalue;
};

static bool lentry_eq(const struct promtext *pt, size_t idx, const void *key)
{
	const struct lentry *e = &pt->lent[idx];
	const struct label_key *k = key;

	return e->namelen == k->namelen && memcmp(e->name, k->name, k->namelen) == 0 &&
	       strcmp(e->label->name, k->lname) == 0 && strcmp(e->label->value, k->lvalue) == 0;
}

/* Index every label of target (a sample or a group) under (name, label, value). */
static int index_labels(struct promtext *pt, struct table *t, const char *name, size_t namelen,
			const struct promtext_sample *s, size_t target)
{
	struct label_key k = {name, namelen, NULL, NULL};
	struct lentry *e;
	size_t j, *slot;
	uint64_t h;

	for (j = 0; j < s->nlabels; j++) {
		if (is_le(&s->labels[j]))
			continue;
		if (grow((void **)&pt->lent, &pt->lent_cap, pt->nlent + 1, sizeof(*pt->lent)))
			return SAQR_ENOMEM;
		k.lname = s->labels[j].name;
		k.lvalue = s->labels[j].value;
		h = label_key_hash(name, namelen, k.lname, k.lvalue);
		slot = table_find(pt, t, h, lentry_eq, &k);
		e = &pt->lent[pt->nlent];
		*e = (struct lentry){h, name, namelen, &s->labels[j], target, *slot ? *slot - 1 : NONE};
		*slot = ++pt->nlent;
	}
	return 0;
}

/* Label indexes: samples other than histogram buckets (their groups are indexed
 * instead), then groups; both built backwards so that chains keep input order. */
static int build_label_index(struct promtext *pt)
{
	size_t i, nl = 0, base;
	int rc = 0;

	for (i = 0; i < pt->nsamples; i++)
		nl += pt->samples[i].nlabels;
	if (table_init(&pt->by_label, nl) || table_init(&pt->by_glabel, pt->ngroups * 4 + 1))
		return SAQR_ENOMEM;
	for (i = pt->nsamples; !rc && i-- > 0;)
		if (histogram_part(&pt->samples[i], &base) != 1)
			rc = index_labels(pt, &pt->by_label, pt->samples[i].name, strlen(pt->samples[i].name),
					  &pt->samples[i], i);
	for (i = pt->ngroups; !rc && i-- > 0;)
		rc = index_labels(pt, &pt->by_glabel, pt->groups[i].base, pt->groups[i].baselen,
				  &pt->samples[pt->groups[i].key_sample], i);
	return rc;
}

static int build_indexes(struct parser *ps)
{
	struct promtext *pt = ps->pt;
	size_t i, n = pt->nsamples, *slot;
	int rc;

	for (i = 0; i < n; i++)
		pt->samples[i].labels = pt->samples[i].nlabels ? &pt->labels[pt->label_off[i]] : NULL;
	pt->le = malloc((n ? n : 1) * sizeof(double));
	pt->name_next = malloc((n ? n : 1) * sizeof(size_t));
	pt->bucket_next = malloc((n ? n : 1) * sizeof(size_t));
	if (!pt->le || !pt->name_next || !pt->bucket_next || table_init(&pt->by_name, n) ||
	    table_init(&pt->by_group, n) || table_init(&pt->by_base, n))
		return SAQR_ENOMEM;
	for (i = n; i-- > 0;) { /* backwards, so that chains come out in input order */
		slot = table_find(pt, &pt->by_name, fnv(pt->samples[i].name, strlen(pt->samples[i].name)),
				  sample_name_eq, pt->samples[i].name);
		pt->name_next[i] = *slot ? *slot - 1 : NONE;
		*slot = i + 1;
	}
	for (i = 0; i < n; i++) {
		rc = add_to_group(ps, i);
		if (rc)
			return rc;
	}
	return build_label_index(pt);
}

int promtext_parse(const char *text, size_t len, size_t max, struct promtext **out, char *err, size_t errlen)
{
	struct parser ps = {.err = err, .errlen = errlen};
	struct promtext *pt;
	int rc;

	if (!text && len)
		return saqr_fail(SAQR_EINVAL, err, errlen, "no text");
	if (len > (max ? max : PROMTEXT_MAX_INPUT))
		return saqr_fail(SAQR_ETOOBIG, err, errlen,
				 "exposition of %zu bytes is over the %zu-byte cap", len,
				 (size_t)(max ? max : PROMTEXT_MAX_INPUT));
	pt = calloc(1, sizeof(*pt));
	if (!pt)
		return saqr_fail(SAQR_ENOMEM, err, errlen, "out of memory");
	pt->arena_cap = len + 64; /* every string is shorter than the text it came from */
	pt->arena = malloc(pt->arena_cap);
	ps.pt = pt;
	rc = pt->arena ? parse_all(&ps, text, len) : SAQR_ENOMEM;
	if (!rc)
		rc = build_indexes(&ps);
	if (rc) {
		if (rc == SAQR_ENOMEM)
			saqr_errf(err, errlen, "out of memory parsing line %u", ps.line);
		promtext_free(pt);
		return rc;
	}
	*out = pt;
	return 0;
}

void promtext_free(struct promtext *pt)
{
	if (!pt)
		return;
	free(pt->arena);
	free(pt->samples);
	free(pt->labels);
	free(pt->label_off);
	free(pt->le);
	free(pt->name_next);
	free(pt->bucket_next);
	free(pt->families);
	free(pt->groups);
	free(pt->by_name.slot);
	free(pt->by_group.slot);
	free(pt->by_base.slot);
	free(pt->lent);
	free(pt->by_label.slot);
	free(pt->by_glabel.slot);
	free(pt);
}

/* ---- queries ---- */

size_t promtext_sample_count(const struct promtext *pt)
{
	return pt ? pt->nsamples : 0;
}

const struct promtext_sample *promtext_sample_at(const struct promtext *pt, size_t i)
{
	return pt && i < pt->nsamples ? &pt->samples[i] : NULL;
}

enum promtext_type promtext_type_of(const struct promtext *pt, const char *family)
{
	const struct family *f = pt && family ? family_find(pt, family) : NULL;

	return f ? f->type : PROMTEXT_UNTYPED;
}

const char *promtext_help(const struct promtext *pt, const char *family)
{
	const struct family *f = pt && family ? family_find(pt, family) : NULL;

	return f ? f->help : NULL;
}

const char *promtext_label_value(const struct promtext_sample *s, const char *name)
{
	size_t i;

	for (i = 0; s && i < s->nlabels; i++)
		if (strcmp(s->labels[i].name, name) == 0)
			return s->labels[i].value;
	return NULL;
}

static bool matches(const struct promtext_sample *s, const struct promtext_label *filter, size_t nfilter)
{
	const char *v;
	size_t i;

	for (i = 0; i < nfilter; i++) {
		v = promtext_label_value(s, filter[i].name);
		if (!v || strcmp(v, filter[i].value) != 0)
			return false;
	}
	return true;
}

static size_t first_named(const struct promtext *pt, const char *name)
{
	const size_t *slot;

	if (!pt || !name || !pt->nsamples)
		return NONE;
	slot = table_find(pt, &pt->by_name, fnv(name, strlen(name)), sample_name_eq, name);
	return *slot ? *slot - 1 : NONE;
}

/* The first label-index entry for (name, label=value) in table t, or NONE. */
static size_t first_labelled(const struct promtext *pt, const struct table *t, const char *name,
			     const struct promtext_label *l)
{
	struct label_key k = {name, strlen(name), l->name, l->value};
	const size_t *slot;

	if (!t->slot)
		return NONE;
	slot = table_find(pt, t, label_key_hash(name, k.namelen, l->name, l->value), lentry_eq, &k);
	return *slot ? *slot - 1 : NONE;
}

/* Walk the samples called name that may match the filter: through the label index
 * on the first filter pair (buckets are not in it), else along the name chain.
 * cursor_sample() gives the sample of a cursor. */
struct cursor {
	size_t at;
	bool by_label;
};

static struct cursor cursor_first(const struct promtext *pt, const char *name,
				  const struct promtext_label *filter, size_t nfilter)
{
	size_t n = name ? strlen(name) : 0;
	struct cursor c = {NONE, false};

	if (!pt || !name || !pt->nsamples)
		return c;
	c.by_label = nfilter > 0 && !has_suffix(name, n, "_bucket", 7);
	c.at = c.by_label ? first_labelled(pt, &pt->by_label, name, &filter[0]) : first_named(pt, name);
	return c;
}

static size_t cursor_sample(const struct promtext *pt, struct cursor c)
{
	return c.by_label ? pt->lent[c.at].target : c.at;
}

static void cursor_next(const struct promtext *pt, struct cursor *c)
{
	c->at = c->by_label ? pt->lent[c->at].next : pt->name_next[c->at];
}

int promtext_select(const struct promtext *pt, const char *name, const struct promtext_label *filter,
		    size_t nfilter, const struct promtext_sample ***out, size_t *n)
{
	const struct promtext_sample **arr = NULL, *s;
	size_t cnt = 0, cap = 0;
	struct cursor c;

	for (c = cursor_first(pt, name, filter, nfilter); c.at != NONE; cursor_next(pt, &c)) {
		s = &pt->samples[cursor_sample(pt, c)];
		if (!matches(s, filter, nfilter))
			continue;
		if (grow((void **)&arr, &cap, cnt + 1,
			 sizeof(*arr))) { /* NOLINT(bugprone-sizeof-expression): an array of pointers */
			free(arr);
			return SAQR_ENOMEM;
		}
		arr[cnt++] = s;
	}
	*out = arr;
	*n = cnt;
	return 0;
}

int promtext_counter(const struct promtext *pt, const char *name, const struct promtext_label *filter,
		     size_t nfilter, double *out)
{
	const struct promtext_sample *s;
	double sum = 0;
	size_t cnt = 0;
	struct cursor c;

	for (c = cursor_first(pt, name, filter, nfilter); c.at != NONE; cursor_next(pt, &c)) {
		s = &pt->samples[cursor_sample(pt, c)];
		if (matches(s, filter, nfilter)) {
			sum += s->value;
			cnt++;
		}
	}
	if (!cnt)
		return SAQR_ENOTFOUND;
	*out = sum;
	return 0;
}

/* ---- histograms ---- */

struct bucket {
	double le;
	double count;
	unsigned line;
};

static int cmp_bucket(const void *a, const void *b)
{
	double x = ((const struct bucket *)a)->le, y = ((const struct bucket *)b)->le;

	return (x > y) - (x < y);
}

void promtext_hist_release(struct promtext_hist *h)
{
	if (!h)
		return;
	free(h->le);
	free(h->cum);
	memset(h, 0, sizeof(*h));
}

static int hist_alloc(struct promtext_hist *h, size_t n)
{
	memset(h, 0, sizeof(*h));
	h->le = malloc((n ? n : 1) * sizeof(double));
	h->cum = malloc((n ? n : 1) * sizeof(double));
	if (!h->le || !h->cum) {
		promtext_hist_release(h);
		return SAQR_ENOMEM;
	}
	h->n = n;
	return 0;
}

/* A group's buckets sorted by le, checked for duplicates and the +Inf bucket. */
static int group_buckets(const struct promtext *pt, const struct group *g, const char *name, struct bucket *b,
			 char *err, size_t errlen)
{
	size_t i, k = 0;

	for (i = g->first_bucket; i != NONE; i = pt->bucket_next[i])
		b[k++] = (struct bucket){pt->le[i], pt->samples[i].value, pt->samples[i].line};
	qsort(b, k, sizeof(*b), cmp_bucket);
	for (i = 1; i < k; i++)
		if (b[i].le == b[i - 1].le)
			return saqr_fail(SAQR_EINVAL, err, errlen,
					 "line %u: histogram %s has a second bucket le=%g (line %u)",
					 b[i].line, name, b[i].le, b[i - 1].line);
	if (!(isinf(b[k - 1].le) && b[k - 1].le > 0))
		return saqr_fail(SAQR_EINVAL, err, errlen, "line %u: histogram %s has no le=\"+Inf\" bucket",
				 b[k - 1].line, name);
	return 0;
}

/* Add group g into out (the first group sets the layout). */
static int hist_add_group(const struct promtext *pt, const struct group *g, const char *name,
			  struct promtext_hist *out, struct bucket *b, char *err, size_t errlen)
{
	size_t i;
	int rc = group_buckets(pt, g, name, b, err, errlen);

	if (rc)
		return rc;
	if (out->series == 0) {
		for (i = 0; i < g->nbuckets; i++) {
			out->le[i] = b[i].le;
			out->cum[i] = 0;
		}
		out->has_sum = true;
	} else if (g->nbuckets != out->n) {
		return saqr_fail(SAQR_EINVAL, err, errlen,
				 "line %u: series of histogram %s have different buckets", b[0].line, name);
	}
	for (i = 0; i < g->nbuckets; i++) {
		if (b[i].le != out->le[i])
			return saqr_fail(SAQR_EINVAL, err, errlen,
					 "line %u: series of histogram %s have different buckets", b[i].line,
					 name);
		out->cum[i] += b[i].count;
	}
	out->count += g->count_idx != NONE ? pt->samples[g->count_idx].value : b[g->nbuckets - 1].count;
	if (g->sum_idx != NONE)
		out->sum += pt->samples[g->sum_idx].value;
	else
		out->has_sum = false;
	out->series++;
	return 0;
}

static bool group_matches(const struct promtext *pt, const struct group *g,
			  const struct promtext_label *filter, size_t nfilter)
{
	return g->nbuckets > 0 && matches(&pt->samples[g->key_sample], filter, nfilter);
}

static size_t first_group(const struct promtext *pt, const char *name)
{
	struct group_key key = {name, name ? strlen(name) : 0, NULL, 0};
	const size_t *slot;

	if (!pt || !name || !pt->nsamples)
		return NONE;
	slot = table_find(pt, &pt->by_base, fnv(name, key.baselen), base_eq, &key);
	return *slot ? *slot - 1 : NONE;
}

/* Walk the groups of histogram name that may match the filter: through the group
 * label index on the first filter pair, else along the base-name chain. */
static struct cursor gcursor_first(const struct promtext *pt, const char *name,
				   const struct promtext_label *filter, size_t nfilter)
{
	struct cursor c = {NONE, nfilter > 0};

	if (!pt || !name || !pt->nsamples)
		return c;
	c.at = c.by_label ? first_labelled(pt, &pt->by_glabel, name, &filter[0]) : first_group(pt, name);
	return c;
}

static size_t gcursor_group(const struct promtext *pt, struct cursor c)
{
	return c.by_label ? pt->lent[c.at].target : c.at;
}

static void gcursor_next(const struct promtext *pt, struct cursor *c)
{
	c->at = c->by_label ? pt->lent[c->at].next : pt->groups[c->at].next_same_base;
}

/* The next group at or after c that matches the filter, or NONE. */
static size_t next_matching_group(const struct promtext *pt, struct cursor *c,
				  const struct promtext_label *filter, size_t nfilter)
{
	size_t g;

	for (; c->at != NONE; gcursor_next(pt, c)) {
		g = gcursor_group(pt, *c);
		if (group_matches(pt, &pt->groups[g], filter, nfilter)) {
			gcursor_next(pt, c);
			return g;
		}
	}
	return NONE;
}

int promtext_histogram(const struct promtext *pt, const char *name, const struct promtext_label *filter,
		       size_t nfilter, struct promtext_hist *out, char *err, size_t errlen)
{
	struct promtext_hist h;
	struct bucket *b = NULL;
	struct cursor c;
	size_t g, i;
	int rc = 0;

	for (i = 0; i < nfilter; i++)
		if (is_le(&filter[i]))
			return saqr_fail(SAQR_EINVAL, err, errlen, "a histogram cannot be filtered on le");
	c = gcursor_first(pt, name, filter, nfilter);
	g = next_matching_group(pt, &c, filter, nfilter);
	if (g == NONE)
		return saqr_fail(SAQR_ENOTFOUND, err, errlen, "no histogram %s with the labels asked for",
				 name);
	if (hist_alloc(&h, pt->groups[g].nbuckets))
		return saqr_fail(SAQR_ENOMEM, err, errlen, "out of memory");
	for (; g != NONE && !rc; g = next_matching_group(pt, &c, filter, nfilter)) {
		free(b);
		b = malloc(pt->groups[g].nbuckets * sizeof(*b));
		rc = b ? hist_add_group(pt, &pt->groups[g], name, &h, b, err, errlen)
		       : saqr_fail(SAQR_ENOMEM, err, errlen, "out of memory");
	}
	free(b);
	if (rc) {
		promtext_hist_release(&h);
		return rc;
	}
	if (!h.has_sum)
		h.sum = 0;
	*out = h;
	return 0;
}

double promtext_counter_increase(double prev, double cur)
{
	return cur < prev ? cur : cur - prev;
}

static int hist_copy(const struct promtext_hist *src, struct promtext_hist *dst)
{
	if (hist_alloc(dst, src->n))
		return SAQR_ENOMEM;
	memcpy(dst->le, src->le, src->n * sizeof(double));
	memcpy(dst->cum, src->cum, src->n * sizeof(double));
	dst->count = src->count;
	dst->sum = src->sum;
	dst->has_sum = src->has_sum;
	dst->series = src->series;
	return 0;
}

static bool hist_went_down(const struct promtext_hist *prev, const struct promtext_hist *cur)
{
	size_t i;

	if (prev->n != cur->n || cur->count < prev->count)
		return true;
	for (i = 0; i < cur->n; i++)
		if (prev->le[i] != cur->le[i] || cur->cum[i] < prev->cum[i])
			return true;
	return false;
}

int promtext_increase(const struct promtext_hist *prev, const struct promtext_hist *cur,
		      struct promtext_hist *out, bool *reset)
{
	bool was_reset = !prev || hist_went_down(prev, cur);
	size_t i;

	if (hist_copy(cur, out))
		return SAQR_ENOMEM;
	if (!was_reset) {
		for (i = 0; i < cur->n; i++)
			out->cum[i] -= prev->cum[i];
		out->count -= prev->count;
		out->has_sum = cur->has_sum && prev->has_sum;
		out->sum = out->has_sum ? cur->sum - prev->sum : 0;
	}
	if (reset)
		*reset = prev && was_reset;
	return 0;
}

/* Prometheus' clean-up before interpolating: merge equal bounds, flatten float
 * noise below 1e-12 relative, and force the counts to be monotonic. */
static size_t quantile_prepare(struct bucket *b, size_t n)
{
	size_t i, k = 0;
	double prev, max;

	for (i = 1; i < n; i++) {
		if (b[i].le == b[k].le)
			b[k].count += b[i].count;
		else
			b[++k] = b[i];
	}
	n = k + 1;
	prev = b[0].count;
	for (i = 1; i < n; i++) {
		if (b[i].count == prev)
			continue;
		if (fabs(b[i].count - prev) / b[i].count <= 1e-12)
			b[i].count = prev;
		else
			prev = b[i].count;
	}
	max = b[0].count;
	for (i = 1; i < n; i++) {
		if (b[i].count > max)
			max = b[i].count;
		else
			b[i].count = max;
	}
	return n;
}

static double quantile_of(double q, const struct bucket *b, size_t n)
{
	double rank = q * b[n - 1].count, start = 0, count;
	size_t i = 0;

	while (i < n - 1 && !(b[i].count >= rank))
		i++;
	if (i == n - 1)
		return b[n - 2].le;
	if (i == 0 && b[0].le <= 0)
		return b[0].le;
	count = b[i].count;
	if (i > 0) {
		start = b[i - 1].le;
		count -= b[i - 1].count;
		rank -= b[i - 1].count;
	}
	return start + (b[i].le - start) * (rank / count);
}

int promtext_histogram_quantile(double q, const struct promtext_hist *h, double *out)
{
	struct bucket *b;
	size_t i, n;

	if (!(q >= 0 && q <= 1) || !h || h->n < 2)
		return SAQR_EINVAL;
	b = malloc(h->n * sizeof(*b));
	if (!b)
		return SAQR_ENOMEM;
	for (i = 0; i < h->n; i++)
		b[i] = (struct bucket){h->le[i], h->cum[i], 0};
	qsort(b, h->n, sizeof(*b), cmp_bucket);
	if (!(isinf(b[h->n - 1].le) && b[h->n - 1].le > 0)) {
		free(b);
		return SAQR_EINVAL;
	}
	n = quantile_prepare(b, h->n);
	if (n < 2 || !(b[n - 1].count > 0)) {
		free(b);
		return n < 2 ? SAQR_EINVAL : SAQR_EEMPTY;
	}
	*out = quantile_of(q, b, n);
	free(b);
	return 0;
}

int promtext_hist_bins(const struct promtext_hist *h, double *edges, double *counts)
{
	size_t i;

	if (!h || h->n == 0 || !(isinf(h->le[h->n - 1]) && h->le[h->n - 1] > 0))
		return SAQR_EINVAL;
	if (h->n > 1 && isinf(h->le[0]))
		return SAQR_EINVAL;
	for (i = 1; i < h->n; i++)
		if (!(h->le[i] > h->le[i - 1]) || h->cum[i] < h->cum[i - 1])
			return SAQR_EINVAL;
	edges[0] = -INFINITY;
	for (i = 0; i < h->n; i++) {
		edges[i + 1] = h->le[i];
		counts[i] = i ? h->cum[i] - h->cum[i - 1] : h->cum[0];
	}
	return 0;
}

static bool same_labels(const struct promtext_sample *a, const struct promtext_sample *b)
{
	size_t i;

	if (a->nlabels != b->nlabels)
		return false;
	for (i = 0; i < a->nlabels; i++)
		if (strcmp(a->labels[i].name, b->labels[i].name) != 0 ||
		    strcmp(a->labels[i].value, b->labels[i].value) != 0)
			return false;
	return true;
}

/* The same series (name and labels) in another scrape, or NULL. */
static const struct promtext_sample *find_series(const struct promtext *pt, const struct promtext_sample *s)
{
	size_t i;

	for (i = first_named(pt, s->name); i != NONE; i = pt->name_next[i])
		if (same_labels(&pt->samples[i], s))
			return &pt->samples[i];
	return NULL;
}

static bool is_5xx(const char *code)
{
	return code && code[0] == '5' && code[1] >= '0' && code[1] <= '9' && code[2] >= '0' &&
	       code[2] <= '9' && code[3] == '\0';
}

int promtext_error_ratio(const struct promtext *prev, const struct promtext *cur, const char *name,
			 const struct promtext_label *filter, size_t nfilter, double *ratio, double *requests)
{
	const struct promtext_sample *s, *old;
	double errors = 0, total = 0, inc;
	struct cursor c;
	size_t cnt = 0;

	for (c = cursor_first(cur, name, filter, nfilter); c.at != NONE; cursor_next(cur, &c)) {
		s = &cur->samples[cursor_sample(cur, c)];
		if (!matches(s, filter, nfilter))
			continue;
		cnt++;
		old = prev ? find_series(prev, s) : NULL;
		inc = old ? promtext_counter_increase(old->value, s->value) : s->value;
		total += inc;
		if (is_5xx(promtext_label_value(s, "code")))
			errors += inc;
	}
	if (!cnt)
		return SAQR_ENOTFOUND;
	if (!(total > 0))
		return SAQR_EEMPTY;
	*ratio = errors / total;
	if (requests)
		*requests = total;
	return 0;
}
