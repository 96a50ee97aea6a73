/* Converts libyaml's event stream into jansson values the way kubectl does: go-yaml v2's YAML 1.1
 * scalar resolution and aliasing bound, then sigs.k8s.io/yaml's JSON conversion (string keys,
 * no .inf/.nan) and the JSON round trip that turns 80.0 into 80. */
#include "common/yamljson.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "common/err.h"

#define YJ_TAG_PREFIX "tag:yaml.org,2002:"
#define YJ_MERGE_TAG YJ_TAG_PREFIX "merge"
#define YJ_BINARY_TAG YJ_TAG_PREFIX "binary"

/* go-yaml v2's bound on aliases: once over 100 values came from aliases and over 1000 were
 * decoded, the share from aliases may be 99% up to 400,000 values, falling to 10% at 4,000,000. */
#define YJ_ALIAS_MIN 100
#define YJ_DECODE_MIN 1000
#define YJ_RATIO_LOW 400000.0
#define YJ_RATIO_HIGH 4000000.0

/* A scalar as go-yaml resolves it. */
enum yj_kind { YJ_NULL, YJ_BOOL, YJ_INT, YJ_UINT, YJ_FLOAT, YJ_STR, YJ_TIMESTAMP };

struct yj_scalar {
	enum yj_kind kind;
	bool b;
	long long i;
	unsigned long long u;
	double d;
	const char *s; /* YJ_STR, YJ_TIMESTAMP: the text (the event's, or owned) */
	size_t n;
	char *owned; /* a decoded !!binary */
};

struct yj_anchor {
	char *name;
	json_t *value; /* NULL while its node is being read */
	size_t values; /* values decoded inside it: what an alias to it costs */
	int height;    /* levels of nesting inside it */
};

struct yj_ctx {
	yaml_parser_t parser;
	yaml_event_t ev;
	bool have_ev;
	struct yj_anchor *anchors;
	size_t nanchors, cap;
	size_t decoded, aliased;
	char *err;
	size_t errlen;
};

static int yj_node(struct yj_ctx *c, int depth, json_t **out);

/* ---- errors and events ---- */

static int yj_fail(struct yj_ctx *c, yaml_mark_t m, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!c->err || c->errlen == 0)
		return SAQR_EPARSE;
	n = snprintf(c->err, c->errlen, "line %zu column %zu: ", m.line + 1, m.column + 1);
	if (n >= 0 && (size_t)n < c->errlen) {
		va_start(ap, fmt);
		vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return SAQR_EPARSE;
}

/* Move to the next event; the current one is freed. */
static int yj_next(struct yj_ctx *c)
{
	const yaml_parser_t *p = &c->parser;

	if (c->have_ev)
		yaml_event_delete(&c->ev);
	c->have_ev = yaml_parser_parse(&c->parser, &c->ev) != 0;
	if (c->have_ev)
		return 0;
	return yj_fail(c, p->problem_mark, "%s%s%s", p->problem ? p->problem : "invalid YAML",
		       p->context ? " " : "", p->context ? p->context : "");
}

/* ---- scalars: go-yaml v2's resolve() ---- */

static bool yj_is(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

/* The words go-yaml looks up before trying numbers. */
static bool yj_lookup(const char *s, struct yj_scalar *sc)
{
	static const char *const yes[] = {"y",	  "Y",	  "yes", "Yes", "YES", "true",
					  "True", "TRUE", "on",	 "On",	"ON",  NULL};
	static const char *const no[] = {"n",	  "N",	   "no",  "No",	 "NO",	"false",
					 "False", "FALSE", "off", "Off", "OFF", NULL};
	static const char *const null[] = {"", "~", "null", "Null", "NULL", NULL};
	static const char *const nan[] = {".nan", ".NaN", ".NAN", NULL};
	static const char *const inf[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", NULL};
	static const char *const ninf[] = {"-.inf", "-.Inf", "-.INF", NULL};

	if (yj_is(s, yes) || yj_is(s, no)) {
		sc->kind = YJ_BOOL;
		sc->b = yj_is(s, yes);
	} else if (yj_is(s, null)) {
		sc->kind = YJ_NULL;
	} else if (yj_is(s, nan) || yj_is(s, inf) || yj_is(s, ninf)) {
		sc->kind = YJ_FLOAT;
		sc->d = yj_is(s, nan) ? NAN : yj_is(s, inf) ? INFINITY : -INFINITY;
	} else {
		return false;
	}
	return true;
}

static size_t yj_span_digits(const char *s)
{
	return strspn(s, "0123456789");
}

/* go-yaml's float syntax: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool yj_float_syntax(const char *s)
{
	size_t n;

	s += (*s == '-' || *s == '+');
	if (*s == '.') {
		n = yj_span_digits(s + 1);
		if (n == 0)
			return false;
		s += 1 + n;
	} else {
		n = yj_span_digits(s);
		if (n == 0)
			return false;
		s += n;
		if (*s == '.')
			s += 1 + yj_span_digits(s + 1);
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		s += (*s == '-' || *s == '+');
		n = yj_span_digits(s);
		if (n == 0)
			return false;
		s += n;
	}
	return *s == '\0';
}

/* A float in that syntax; false when it overflows (Go's ParseFloat refuses it then). */
static bool yj_parse_float(const char *s, struct yj_scalar *sc)
{
	double d;

	if (!yj_float_syntax(s))
		return false;
	d = strtod(s, NULL);
	if (isinf(d))
		return false;
	sc->kind = YJ_FLOAT;
	sc->d = d;
	return true;
}

/* One or more digits of base, nothing else, into *u without overflow. */
static bool yj_digits(const char *p, unsigned base, unsigned long long *u)
{
	unsigned long long v = 0;
	unsigned d;

	if (*p == '\0')
		return false;
	for (; *p; p++) {
		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'f')
			d = (unsigned)((*p | 0x20) - 'a' + 10);
		else
			return false;
		if (d >= base || v > (ULLONG_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	*u = v;
	return true;
}

/* A signed magnitude into an int64 (YJ_INT), or an unsigned one over INT64_MAX (YJ_UINT, only
 * when unsigned_ok: Go's ParseUint takes no sign). */
static bool yj_set_int(bool neg, unsigned long long u, bool unsigned_ok, struct yj_scalar *sc)
{
	if (!neg && u <= (unsigned long long)INT64_MAX) {
		sc->kind = YJ_INT;
		sc->i = (long long)u;
	} else if (neg && u <= (unsigned long long)INT64_MAX + 1) {
		sc->kind = YJ_INT;
		sc->i = u == (unsigned long long)INT64_MAX + 1 ? INT64_MIN : -(long long)u;
	} else if (!neg && unsigned_ok) {
		sc->kind = YJ_UINT;
		sc->u = u;
	} else {
		return false;
	}
	return true;
}

/* Go's strconv.ParseInt(s, 0, 64), then ParseUint: 0x/0X hex, 0o/0O and 0 octal, 0b/0B binary. */
static bool yj_parse_int(const char *s, struct yj_scalar *sc)
{
	const char *p = s + (*s == '-' || *s == '+');
	unsigned base = 10;
	unsigned long long u;

	if (p[0] == '0' && p[1] != '\0') {
		switch (p[1]) {
		case 'x':
		case 'X':
			base = 16;
			p += 2;
			break;
		case 'o':
		case 'O':
			base = 8;
			p += 2;
			break;
		case 'b':
		case 'B':
			base = 2;
			p += 2;
			break;
		default:
			base = 8;
			p += 1;
			break;
		}
	}
	return yj_digits(p, base, &u) && yj_set_int(*s == '-', u, *s != '+', sc);
}

/* go-yaml's last resort: "0b" then a signed binary number ("0b-101"), or "-0b" then one. */
static bool yj_parse_0b(const char *s, struct yj_scalar *sc)
{
	unsigned long long u;
	bool neg = false;

	if (strncmp(s, "0b", 2) == 0) {
		bool sign = s[2] == '-' || s[2] == '+';

		neg = s[2] == '-';
		return yj_digits(s + 2 + sign, 2, &u) && yj_set_int(neg, u, !sign, sc);
	}
	if (strncmp(s, "-0b", 3) == 0)
		return yj_digits(s + 3, 2, &u) && yj_set_int(true, u, false, sc);
	return false;
}

/* Four digits and a dash: what go-yaml tries as a timestamp (and, untagged, keeps as text). */
static bool yj_timestamp_like(const char *s)
{
	return yj_span_digits(s) == 4 && s[4] == '-';
}

/* Plain text starting with a digit or a sign: a timestamp, an integer, a float, or text. */
static int yj_resolve_number(const char *s, size_t n, struct yj_scalar *sc)
{
	char *plain = calloc(1, n + 1);
	size_t i, j = 0;

	if (!plain)
		return SAQR_ENOMEM;
	for (i = 0; i < n; i++)
		if (s[i] != '_')
			plain[j++] = s[i];
	plain[j] = '\0';
	if (!yj_timestamp_like(s) && !yj_parse_int(plain, sc) && !yj_parse_float(plain, sc))
		yj_parse_0b(plain, sc);
	if (yj_timestamp_like(s))
		sc->kind = YJ_TIMESTAMP;
	free(plain);
	return 0;
}

/* Resolve text with no tag (or a resolvable one) as go-yaml does; sc->kind stays YJ_STR when it
 * is nothing else. */
static int yj_resolve_implicit(const char *s, size_t n, struct yj_scalar *sc)
{
	sc->kind = YJ_STR;
	if (strlen(s) != n) /* a NUL inside: only quoted text has one */
		return 0;
	if (yj_lookup(s, sc))
		return 0;
	if (s[0] == '.')
		yj_parse_float(s, sc);
	else if (s[0] == '+' || s[0] == '-' || (s[0] >= '0' && s[0] <= '9'))
		return yj_resolve_number(s, n, sc);
	return 0;
}

/* base64 as Go's StdEncoding.DecodeString reads it (padding required; CR and LF ignored). */
static bool yj_base64(const char *s, size_t n, char **out, size_t *outlen)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned long acc = 0;
	size_t i, bits = 0, len = 0, pad = 0, q = 0;
	char *buf = malloc(n / 4 * 3 + 3);

	for (i = 0; buf && i < n; i++) {
		const char *at = s[i] ? strchr(abc, s[i]) : NULL;

		if (s[i] == '\r' || s[i] == '\n')
			continue;
		if (s[i] == '=' || pad) {
			pad += s[i] == '=' ? 1 : 100;
			continue;
		}
		if (!at)
			break;
		acc = (acc << 6) | (unsigned long)(at - abc);
		bits += 6;
		q++;
		if (bits >= 8) {
			bits -= 8;
			buf[len++] = (char)((acc >> bits) & 0xff);
		}
	}
	if (!buf || i < n || pad > 2 || (q + pad) % 4 != 0) {
		free(buf);
		return false;
	}
	*out = buf;
	*outlen = len;
	return true;
}

static const char *yj_kind_tag(enum yj_kind k)
{
	static const char *const tags[] = {"null", "bool", "int", "int", "float", "str", "timestamp"};

	return tags[k];
}

/* An explicit tag must name what the text resolves to (an int may be read as a float). */
static int yj_check_tag(struct yj_ctx *c, const char *tag, struct yj_scalar *sc)
{
	const char *want = tag + strlen(YJ_TAG_PREFIX);

	if (strcmp(want, "str") == 0 || strcmp(want, yj_kind_tag(sc->kind)) == 0)
		return 0;
	if (strcmp(want, "float") == 0 && sc->kind == YJ_INT) {
		sc->kind = YJ_FLOAT;
		sc->d = (double)sc->i;
		return 0;
	}
	return yj_fail(c, c->ev.start_mark, "cannot decode !!%s `%.*s` as a !!%s", yj_kind_tag(sc->kind),
		       (int)sc->n, sc->s, want);
}

static bool yj_resolvable(const char *tag)
{
	static const char *const tags[] = {YJ_TAG_PREFIX "str",
					   YJ_TAG_PREFIX "bool",
					   YJ_TAG_PREFIX "int",
					   YJ_TAG_PREFIX "float",
					   YJ_TAG_PREFIX "null",
					   YJ_TAG_PREFIX "timestamp",
					   NULL};

	return yj_is(tag, tags);
}

/* The current scalar event, resolved. Quoted and block text with no tag stays text; !!str keeps
 * any text; a tag go-yaml does not resolve (!foo, !!map) leaves text; !!binary is decoded. */
static int yj_resolve(struct yj_ctx *c, struct yj_scalar *sc)
{
	const yaml_event_t *ev = &c->ev;
	const char *tag = (const char *)ev->data.scalar.tag;
	int rc;

	memset(sc, 0, sizeof(*sc));
	sc->kind = YJ_STR;
	sc->s = (const char *)ev->data.scalar.value;
	sc->n = ev->data.scalar.length;
	if (!tag && !ev->data.scalar.plain_implicit)
		return 0;
	if (tag && strcmp(tag, YJ_BINARY_TAG) == 0) {
		if (!yj_base64(sc->s, sc->n, &sc->owned, &sc->n))
			return yj_fail(c, ev->start_mark, "!!binary value contains invalid base64 data");
		sc->s = sc->owned;
		return 0;
	}
	if (tag && (!yj_resolvable(tag) || strcmp(tag, YJ_TAG_PREFIX "str") == 0))
		return 0;
	rc = yj_resolve_implicit(sc->s, sc->n, sc);
	if (rc == 0 && tag)
		rc = yj_check_tag(c, tag, sc);
	return rc;
}

/* ---- scalars into JSON values and keys ---- */

/* Go's JSON round trip: encoding/json writes an integral float under 1e21 as its shortest digits
 * then zeros (2^62 is "4611686018427388000"), and the reader keeps those as an int64 if they fit. */
static json_t *yj_number(double d)
{
	char e[40], digits[64];
	long long ll;
	int p, x, i, n = 0;

	if (d != trunc(d) || fabs(d) >= 1e21)
		return json_real(d);
	if (fabs(d) < 9007199254740992.0) /* 2^53: exact */
		return json_integer((json_int_t)d);
	for (p = 1;; p++) {
		snprintf(e, sizeof(e), "%.*e", p - 1, d);
		if (p == 17 || strtod(e, NULL) == d)
			break;
	}
	x = (int)strtol(strchr(e, 'e') + 1, NULL, 10);
	for (i = 0; e[i] != 'e'; i++)
		if (e[i] != '.')
			digits[n++] = e[i];
	while (n < (int)sizeof(digits) - 1 && n - (d < 0) <= x)
		digits[n++] = '0';
	digits[n] = '\0';
	errno = 0;
	ll = strtoll(digits, NULL, 10);
	return errno == 0 ? json_integer(ll) : json_real(d);
}

static int yj_scalar_json(struct yj_ctx *c, const struct yj_scalar *sc, json_t **out)
{
	json_t *v = NULL;

	switch (sc->kind) {
	case YJ_NULL:
		v = json_null();
		break;
	case YJ_BOOL:
		v = json_boolean(sc->b);
		break;
	case YJ_INT:
		v = json_integer(sc->i);
		break;
	case YJ_UINT:
		v = yj_number((double)sc->u);
		break;
	case YJ_FLOAT:
		if (isnan(sc->d) || isinf(sc->d))
			return yj_fail(c, c->ev.start_mark,
				       "%s cannot be converted to JSON (json: unsupported value)",
				       isnan(sc->d) ? ".nan"
				       : sc->d > 0  ? ".inf"
						    : "-.inf");
		v = yj_number(sc->d);
		break;
	case YJ_STR:
	case YJ_TIMESTAMP:
		v = json_stringn(sc->s, sc->n);
		if (!v)
			return yj_fail(c, c->ev.start_mark, "the value is not UTF-8 text");
		break;
	}
	*out = v;
	return v ? 0 : SAQR_ENOMEM;
}

/* strconv.FormatFloat(d, 'g', -1, 32), as sigs.k8s.io/yaml writes a float key. */
static void yj_go_float32(double d, char *buf, size_t n)
{
	float f = (float)d;
	char e[32];
	int p, x;

	if (isnan(f) || isinf(f)) {
		snprintf(buf, n, "%s", isnan(f) ? ".nan" : f > 0 ? ".inf" : "-.inf");
		return;
	}
	for (p = 1;; p++) {
		snprintf(e, sizeof(e), "%.*e", p - 1, (double)f);
		if (p == 9 || strtof(e, NULL) == f)
			break;
	}
	x = (int)strtol(strchr(e, 'e') + 1, NULL, 10);
	if (x < -4 || x >= 6)
		snprintf(buf, n, "%s", e);
	else
		snprintf(buf, n, "%.*f", p - 1 - x > 0 ? p - 1 - x : 0, (double)f);
}

/* A key as sigs.k8s.io/yaml writes it: text, an integer, a float, true or false. */
static int yj_key_text(struct yj_ctx *c, const struct yj_scalar *sc, char **key, size_t *keylen)
{
	char num[64];
	const char *s = num;
	size_t n;

	switch (sc->kind) {
	case YJ_STR:
	case YJ_TIMESTAMP:
		s = sc->s;
		break;
	case YJ_INT:
		snprintf(num, sizeof(num), "%lld", sc->i);
		break;
	case YJ_BOOL:
		s = sc->b ? "true" : "false";
		break;
	case YJ_FLOAT:
		yj_go_float32(sc->d, num, sizeof(num));
		break;
	default:
		return yj_fail(c, c->ev.start_mark, "unsupported map key `%.*s` (%s)", (int)sc->n, sc->s,
			       sc->kind == YJ_NULL ? "null" : "an integer over 2^63");
	}
	n = (sc->kind == YJ_STR || sc->kind == YJ_TIMESTAMP) ? sc->n : strlen(s);
	*key = malloc(n + 1);
	if (!*key)
		return SAQR_ENOMEM;
	memcpy(*key, s, n);
	(*key)[n] = '\0';
	*keylen = n;
	return 0;
}

/* The key of an alias: what it stands for, as text. */
static int yj_key_of_value(struct yj_ctx *c, const json_t *v, char **key, size_t *keylen)
{
	struct yj_scalar sc = {0};

	if (!v)
		return SAQR_ENOMEM;
	switch (json_typeof(v)) {
	case JSON_STRING:
		sc.kind = YJ_STR;
		sc.s = json_string_value(v);
		sc.n = json_string_length(v);
		break;
	case JSON_INTEGER:
		sc.kind = YJ_INT;
		sc.i = json_integer_value(v);
		break;
	case JSON_REAL:
		sc.kind = YJ_FLOAT;
		sc.d = json_real_value(v);
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		sc.kind = YJ_BOOL;
		sc.b = json_is_true(v);
		break;
	default:
		return yj_fail(c, c->ev.start_mark,
			       "invalid map key: an alias to a mapping, sequence or null");
	}
	return yj_key_text(c, &sc, key, keylen);
}

/* ---- anchors and aliases ---- */

static void yj_anchors_release(struct yj_ctx *c)
{
	size_t i;

	for (i = 0; i < c->nanchors; i++) {
		free(c->anchors[i].name);
		json_decref(c->anchors[i].value);
	}
	free(c->anchors);
	c->anchors = NULL;
	c->nanchors = c->cap = 0;
}

/* Note that the current node carries an anchor (it is being read); *slot is its index, or -1. */
static int yj_anchor_begin(struct yj_ctx *c, const yaml_char_t *name, long *slot)
{
	struct yj_anchor *grown;

	*slot = -1;
	if (!name)
		return 0;
	if (c->nanchors == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 8;
		grown = realloc(c->anchors, c->cap * sizeof(*grown));
		if (!grown)
			return SAQR_ENOMEM;
		c->anchors = grown;
	}
	c->anchors[c->nanchors].name = strdup((const char *)name);
	if (!c->anchors[c->nanchors].name)
		return SAQR_ENOMEM;
	c->anchors[c->nanchors].value = NULL;
	*slot = (long)c->nanchors++;
	return 0;
}

static int yj_height(const json_t *v)
{
	const char *k;
	json_t *x;
	size_t i;
	int h = 0, hx;

	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, x) if ((hx = 1 + yj_height(x)) > h) h = hx;
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x) if ((hx = 1 + yj_height(x)) > h) h = hx;
	}
	return h;
}

static void yj_anchor_end(struct yj_ctx *c, long slot, json_t *v, size_t decoded_before)
{
	struct yj_anchor *a;

	if (slot < 0)
		return;
	a = &c->anchors[slot];
	a->value = json_incref(v);
	a->values = c->decoded - decoded_before;
	a->height = yj_height(v);
}

static bool yj_excessive(size_t aliased, size_t decoded)
{
	double allowed;

	if (aliased <= YJ_ALIAS_MIN || decoded <= YJ_DECODE_MIN)
		return false;
	if (decoded <= YJ_RATIO_LOW)
		allowed = 0.99;
	else if (decoded >= YJ_RATIO_HIGH)
		allowed = 0.10;
	else
		allowed = 0.99 - 0.89 * (((double)decoded - YJ_RATIO_LOW) / (YJ_RATIO_HIGH - YJ_RATIO_LOW));
	return (double)aliased / (double)decoded > allowed;
}

/* The current alias event: a copy of what its anchor holds, within the aliasing bound. */
static int yj_alias(struct yj_ctx *c, int depth, json_t **out)
{
	const char *name = (const char *)c->ev.data.alias.anchor;
	const struct yj_anchor *a = NULL;
	size_t i;

	for (i = c->nanchors; i > 0 && !a; i--)
		if (strcmp(c->anchors[i - 1].name, name) == 0)
			a = &c->anchors[i - 1];
	if (!a)
		return yj_fail(c, c->ev.start_mark, "unknown anchor '%s' referenced", name);
	if (!a->value)
		return yj_fail(c, c->ev.start_mark, "anchor '%s' value contains itself", name);
	if (depth + a->height > YAMLJSON_MAX_DEPTH)
		return yj_fail(c, c->ev.start_mark, "alias '%s' nests the document over %d levels", name,
			       YAMLJSON_MAX_DEPTH);
	if (yj_excessive(c->aliased + a->values, c->decoded + a->values))
		return yj_fail(c, c->ev.start_mark,
			       "document contains excessive aliasing: %zu values would come from aliases "
			       "(billion laughs?)",
			       c->aliased + a->values);
	c->aliased += a->values;
	c->decoded += a->values;
	*out = json_deep_copy(a->value);
	return *out ? 0 : SAQR_ENOMEM;
}

/* ---- collections ---- */

static int yj_sequence(struct yj_ctx *c, int depth, json_t **out)
{
	json_t *arr = json_array(), *v;
	int rc = arr ? 0 : SAQR_ENOMEM;

	while (rc == 0 && (rc = yj_next(c)) == 0 && c->ev.type != YAML_SEQUENCE_END_EVENT) {
		rc = yj_node(c, depth + 1, &v);
		if (rc == 0 && json_array_append_new(arr, v) != 0)
			rc = SAQR_ENOMEM;
	}
	if (rc) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return 0;
}

/* go-yaml v2 reads "<<" in order: what it merges overrides keys before it, and keys after it
 * override what it merged; in a list of mappings the first one wins. */
static int yj_merge(struct yj_ctx *c, json_t *obj, json_t *from, yaml_mark_t m)
{
	size_t i = json_is_array(from) ? json_array_size(from) : 0;

	if (json_is_object(from))
		return json_object_update(obj, from) == 0 ? 0 : SAQR_ENOMEM;
	if (!json_is_array(from))
		return yj_fail(c, m, "map merge requires map or sequence of maps as the value");
	while (i-- > 0) {
		if (!json_is_object(json_array_get(from, i)))
			return yj_fail(c, m, "map merge requires map or sequence of maps as the value");
		if (json_object_update(obj, json_array_get(from, i)) != 0)
			return SAQR_ENOMEM;
	}
	return 0;
}

static bool yj_is_merge_key(const yaml_event_t *ev)
{
	const char *tag = (const char *)ev->data.scalar.tag;

	return ev->type == YAML_SCALAR_EVENT && strcmp((const char *)ev->data.scalar.value, "<<") == 0 &&
	       ((!tag && ev->data.scalar.plain_implicit) || (tag && strcmp(tag, YJ_MERGE_TAG) == 0));
}

/* The current key event as text (scalars and aliases to scalars; an anchor on a key is kept). */
static int yj_key(struct yj_ctx *c, char **key, size_t *keylen)
{
	struct yj_scalar sc = {0};
	json_t *v = NULL;
	long slot;
	size_t before = c->decoded++;
	int rc;

	if (c->ev.type == YAML_ALIAS_EVENT) {
		rc = yj_alias(c, 0, &v);
		rc = rc ? rc : yj_key_of_value(c, v, key, keylen);
		json_decref(v);
		return rc;
	}
	if (c->ev.type != YAML_SCALAR_EVENT)
		return yj_fail(c, c->ev.start_mark,
			       "invalid map key: a mapping or sequence cannot be a JSON key");
	rc = yj_anchor_begin(c, c->ev.data.scalar.anchor, &slot);
	rc = rc ? rc : yj_resolve(c, &sc);
	if (rc == 0 && slot >= 0 && (rc = yj_scalar_json(c, &sc, &v)) == 0)
		yj_anchor_end(c, slot, v, before);
	json_decref(v);
	rc = rc ? rc : yj_key_text(c, &sc, key, keylen);
	free(sc.owned);
	return rc;
}

/* One key (or merge) and its value, the key being the current event. */
static int yj_pair(struct yj_ctx *c, json_t *obj, int depth)
{
	yaml_mark_t m = c->ev.start_mark;
	bool merge = yj_is_merge_key(&c->ev);
	char *key = NULL;
	size_t keylen = 0;
	json_t *v = NULL;
	int rc = merge ? 0 : yj_key(c, &key, &keylen);

	rc = rc ? rc : yj_next(c);
	rc = rc ? rc : yj_node(c, depth + 1, &v);
	if (rc == 0 && merge)
		rc = yj_merge(c, obj, v, m);
	else if (rc == 0 && json_object_setn(obj, key, keylen, v) != 0)
		rc = SAQR_ENOMEM;
	json_decref(v);
	free(key);
	return rc;
}

static int yj_mapping(struct yj_ctx *c, int depth, json_t **out)
{
	json_t *obj = json_object();
	int rc = obj ? 0 : SAQR_ENOMEM;

	while (rc == 0 && (rc = yj_next(c)) == 0 && c->ev.type != YAML_MAPPING_END_EVENT)
		rc = yj_pair(c, obj, depth);
	if (rc) {
		json_decref(obj);
		return rc;
	}
	*out = obj;
	return 0;
}

static int yj_scalar(struct yj_ctx *c, json_t **out)
{
	struct yj_scalar sc;
	int rc = yj_resolve(c, &sc);

	rc = rc ? rc : yj_scalar_json(c, &sc, out);
	free(sc.owned);
	return rc;
}

static const yaml_char_t *yj_anchor_of(const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return ev->data.scalar.anchor;
	case YAML_SEQUENCE_START_EVENT:
		return ev->data.sequence_start.anchor;
	case YAML_MAPPING_START_EVENT:
		return ev->data.mapping_start.anchor;
	default:
		return NULL;
	}
}

/* The node starting at the current event; on return the current event is its last one. */
static int yj_node(struct yj_ctx *c, int depth, json_t **out)
{
	size_t before = c->decoded++;
	json_t *v = NULL;
	long slot;
	int rc;

	if (depth > YAMLJSON_MAX_DEPTH)
		return yj_fail(c, c->ev.start_mark, "nesting over %d levels", YAMLJSON_MAX_DEPTH);
	if (c->ev.type == YAML_ALIAS_EVENT)
		return yj_alias(c, depth, out);
	rc = yj_anchor_begin(c, yj_anchor_of(&c->ev), &slot);
	if (rc)
		return rc;
	switch (c->ev.type) {
	case YAML_SCALAR_EVENT:
		rc = yj_scalar(c, &v);
		break;
	case YAML_SEQUENCE_START_EVENT:
		rc = yj_sequence(c, depth, &v);
		break;
	case YAML_MAPPING_START_EVENT:
		rc = yj_mapping(c, depth, &v);
		break;
	default:
		rc = yj_fail(c, c->ev.start_mark, "unexpected YAML event");
		break;
	}
	if (rc)
		return rc;
	yj_anchor_end(c, slot, v, before);
	*out = v;
	return 0;
}

/* ---- documents ---- */

/* The document starting at the current event (DOCUMENT_START); anchors end with it. */
static int yj_document(struct yj_ctx *c, json_t *docs)
{
	json_t *v = NULL;
	int rc = yj_next(c);

	rc = rc ? rc : yj_node(c, 0, &v);
	rc = rc ? rc : yj_next(c); /* DOCUMENT_END */
	if (rc == 0 && !json_is_null(v) && json_array_append(docs, v) != 0)
		rc = SAQR_ENOMEM;
	json_decref(v);
	yj_anchors_release(c);
	c->decoded = c->aliased = 0;
	return rc;
}

static int yj_stream(struct yj_ctx *c, json_t *docs)
{
	int rc = yj_next(c); /* STREAM_START */

	while (rc == 0 && (rc = yj_next(c)) == 0 && c->ev.type == YAML_DOCUMENT_START_EVENT)
		rc = yj_document(c, docs);
	return rc;
}

int yaml_json_kube_numbers(json_t *v)
{
	const char *k;
	json_t *x, *n;
	size_t i;
	int rc = 0;

	if (json_is_object(v)) {
		json_object_foreach(v, k, x)
		{
			n = json_is_real(x) ? yj_number(json_real_value(x)) : NULL;
			if (n && json_object_set_new(v, k, n) != 0)
				return SAQR_ENOMEM;
			if (!n && (rc = yaml_json_kube_numbers(x)) != 0)
				return rc;
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x)
		{
			n = json_is_real(x) ? yj_number(json_real_value(x)) : NULL;
			if (n && json_array_set_new(v, i, n) != 0)
				return SAQR_ENOMEM;
			if (!n && (rc = yaml_json_kube_numbers(x)) != 0)
				return rc;
		}
	}
	return 0;
}

int yaml_to_json_docs(const char *data, size_t len, size_t max, json_t **out, char *err, size_t errlen)
{
	struct yj_ctx c;
	json_t *docs;
	int rc;

	if (len > max) {
		if (err)
			snprintf(err, errlen, "document of %zu bytes exceeds the %zu-byte limit", len, max);
		return SAQR_ETOOBIG;
	}
	memset(&c, 0, sizeof(c));
	c.err = err;
	c.errlen = err ? errlen : 0;
	docs = json_array();
	if (!docs || !yaml_parser_initialize(&c.parser)) {
		json_decref(docs);
		return SAQR_ENOMEM;
	}
	yaml_parser_set_input_string(&c.parser, (const unsigned char *)data, len);
	rc = yj_stream(&c, docs);
	if (c.have_ev)
		yaml_event_delete(&c.ev);
	yj_anchors_release(&c);
	yaml_parser_delete(&c.parser);
	if (rc) {
		if (rc == SAQR_ENOMEM && err)
			snprintf(err, errlen, "out of memory reading YAML");
		json_decref(docs);
		return rc;
	}
	*out = docs;
	return 0;
}

int yaml_to_json(const char *data, size_t len, size_t max, json_t **out, char *err, size_t errlen)
{
	json_t *docs;
	int rc = yaml_to_json_docs(data, len, max, &docs, err, errlen);

	if (rc)
		return rc;
	if (json_array_size(docs) > 1) {
		if (err)
			snprintf(err, errlen, "expected one YAML document, found %zu", json_array_size(docs));
		json_decref(docs);
		return SAQR_EPARSE;
	}
	*out = json_array_size(docs) ? json_incref(json_array_get(docs, 0)) : json_object();
	json_decref(docs);
	return 0;
}
