/* A recursive-descent JSON reader over a buffer that builds jansson values (see fastjson.h).
 * Strings without escapes go straight from the input to jansson; the rest are decoded into a
 * scratch buffer. */
#include "webhook/fastjson.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FASTJSON_KEY_INLINE 128

struct fastjson {
	const char *start;
	const char *p;
	const char *end;
	char *scratch; /* decoded strings */
	size_t scratch_cap;
	int depth;
	char *err;
	size_t errlen;
	bool failed;
};

static json_t *fastjson__value(struct fastjson *f);

static void fastjson__fail(struct fastjson *f, const char *what)
{
	size_t line = 1, col = 1;

	if (f->failed)
		return;
	f->failed = true;
	if (!f->err || !f->errlen)
		return;
	for (const char *q = f->start; q < f->p && q < f->end; q++) {
		if (*q == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	snprintf(f->err, f->errlen, "line %zu column %zu: %s", line, col, what);
}

static void fastjson__ws(struct fastjson *f)
{
	while (f->p < f->end && (*f->p == ' ' || *f->p == '\n' || *f->p == '\r' || *f->p == '\t'))
		f->p++;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 when it is not one (overlong
 * forms, surrogates and code points above U+10FFFF are refused, as jansson does). */
static size_t fastjson__utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t need;
	unsigned char lo = 0x80, hi = 0xBF;

	if (c >= 0xC2 && c <= 0xDF)
		need = 1;
	else if (c >= 0xE0 && c <= 0xEF)
		need = 2;
	else if (c >= 0xF0 && c <= 0xF4)
		need = 3;
	else
		return 0;
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	if (n < need + 1 || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i <= need; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	return need + 1;
}

/* Scan the string whose opening quote is at f->p: validate it, find its end, and say whether it
 * has escapes. On success f->p is past the closing quote and [*raw, *raw + *rawlen) is the text
 * between the quotes. */
static bool fastjson__scan_string(struct fastjson *f, const char **raw, size_t *rawlen, bool *escaped)
{
	const unsigned char *s = (const unsigned char *)f->p + 1, *e = (const unsigned char *)f->end;

	*escaped = false;
	*raw = (const char *)s;
	while (s < e) {
		unsigned char c = *s;

		if (c == '"') {
			*rawlen = (size_t)((const char *)s - *raw);
			f->p = (const char *)s + 1;
			return true;
		}
		if (c == '\\') {
			*escaped = true;
			s += (s + 1 < e) ? 2 : 1;
		} else if (c < 0x20) {
			f->p = (const char *)s;
			fastjson__fail(f, "control character in a string");
			return false;
		} else if (c < 0x80) {
			s++;
		} else {
			size_t n = fastjson__utf8_len(s, (size_t)(e - s));

			if (!n) {
				f->p = (const char *)s;
				fastjson__fail(f, "invalid UTF-8 in a string");
				return false;
			}
			s += n;
		}
	}
	f->p = f->end;
	fastjson__fail(f, "unterminated string");
	return false;
}

static int fastjson__hex4(const char *s, const char *end)
{
	int v = 0;

	if (end - s < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		char c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

static size_t fastjson__put_utf8(char *out, unsigned long cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* \uXXXX at s (after the backslash and 'u'), with a surrogate pair joined. Returns the code
 * point and moves *s past it, or -1. */
static long fastjson__unicode(const char **s, const char *end)
{
	int hi = fastjson__hex4(*s, end), lo;

	if (hi < 0)
		return -1;
	*s += 4;
	if (hi >= 0xDC00 && hi <= 0xDFFF)
		return -1;
	if (hi < 0xD800 || hi > 0xDBFF)
		return hi;
	if (end - *s < 6 || (*s)[0] != '\\' || (*s)[1] != 'u')
		return -1;
	lo = fastjson__hex4(*s + 2, end);
	if (lo < 0xDC00 || lo > 0xDFFF)
		return -1;
	*s += 6;
	return 0x10000L + (((long)hi - 0xD800) << 10) + (lo - 0xDC00);
}

static bool fastjson__scratch(struct fastjson *f, size_t need)
{
	char *p;

	if (need <= f->scratch_cap)
		return true;
	p = realloc(f->scratch, need);
	if (!p) {
		fastjson__fail(f, "out of memory");
		return false;
	}
	f->scratch = p;
	f->scratch_cap = need;
	return true;
}

/* Decode the escaped string text [raw, raw + n) into f->scratch; the result is never longer. */
static bool fastjson__unescape(struct fastjson *f, const char *raw, size_t n, size_t *outlen)
{
	static const char simple_in[] = "\"\\/bfnrt", simple_out[] = "\"\\/\b\f\n\r\t";
	const char *s = raw, *e = raw + n;
	size_t o = 0;

	if (!fastjson__scratch(f, n + 1))
		return false;
	while (s < e) {
		const char *hit;
		long cp;

		if (*s != '\\') {
			f->scratch[o++] = *s++;
			continue;
		}
		s++;
		if (s < e && *s == 'u') {
			s++;
			cp = fastjson__unicode(&s, e);
			if (cp <= 0) {
				fastjson__fail(f, cp == 0 ? "\\u0000 is not allowed in a string"
							  : "invalid \\u escape");
				return false;
			}
			o += fastjson__put_utf8(f->scratch + o, (unsigned long)cp);
		} else if (s < e && *s && (hit = strchr(simple_in, *s)) != NULL) {
			f->scratch[o++] = simple_out[hit - simple_in];
			s++;
		} else {
			fastjson__fail(f, "invalid escape in a string");
			return false;
		}
	}
	f->scratch[o] = '\0';
	*outlen = o;
	return true;
}

/* The string at f->p as text: either into the input (not NUL-terminated) or into scratch. */
static bool fastjson__string_text(struct fastjson *f, const char **text, size_t *len)
{
	bool escaped;

	if (!fastjson__scan_string(f, text, len, &escaped))
		return false;
	if (!escaped)
		return true;
	if (!fastjson__unescape(f, *text, *len, len))
		return false;
	*text = f->scratch;
	return true;
}

static json_t *fastjson__string(struct fastjson *f)
{
	const char *text;
	size_t len;
	json_t *v;

	if (!fastjson__string_text(f, &text, &len))
		return NULL;
	v = json_stringn_nocheck(text, len);
	if (!v)
		fastjson__fail(f, "out of memory");
	return v;
}

static json_t *fastjson__literal(struct fastjson *f, const char *word, json_t *v)
{
	size_t n = strlen(word);

	if ((size_t)(f->end - f->p) < n || memcmp(f->p, word, n) != 0) {
		fastjson__fail(f, "invalid token");
		return NULL;
	}
	f->p += n;
	return v;
}

static const char *fastjson__digits(const char *p, const char *end)
{
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	return p;
}

/* The extent of a number per RFC 8259, or NULL. *integer says it has no fraction or exponent. */
static const char *fastjson__number_end(const char *p, const char *end, bool *integer)
{
	const char *q;

	*integer = true;
	if (p < end && *p == '-')
		p++;
	if (p < end && *p == '0')
		p++;
	else if (p < end && *p >= '1' && *p <= '9')
		p = fastjson__digits(p, end);
	else
		return NULL;
	if (p < end && *p == '.') {
		q = fastjson__digits(p + 1, end);
		if (q == p + 1)
			return NULL;
		p = q;
		*integer = false;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		q = fastjson__digits(p, end);
		if (q == p)
			return NULL;
		p = q;
		*integer = false;
	}
	return p;
}

static json_t *fastjson__number(struct fastjson *f)
{
	char text[64], *num = text;
	bool integer;
	const char *e = fastjson__number_end(f->p, f->end, &integer);
	size_t n;
	json_t *v;

	if (!e || (e < f->end && *e >= '0' && *e <= '9')) { /* "01" and friends */
		fastjson__fail(f, "invalid number");
		return NULL;
	}
	n = (size_t)(e - f->p);
	if (n >= sizeof(text)) {
		if (!fastjson__scratch(f, n + 1) || !f->scratch)
			return NULL;
		num = f->scratch;
	}
	memcpy(num, f->p, n);
	num[n] = '\0';
	errno = 0;
	if (integer) {
		long long iv = strtoll(num, NULL, 10);

		v = errno == ERANGE ? NULL : json_integer(iv);
	} else {
		double dv = strtod(num, NULL);

		v = (errno == ERANGE && (dv > 1.0 || dv < -1.0)) ? NULL : json_real(dv);
	}
	if (!v) {
		fastjson__fail(f, integer ? "integer too big" : "real number overflow");
		return NULL;
	}
	f->p = e;
	return v;
}

static void fastjson__enter(struct fastjson *f)
{
	f->p++; /* the bracket */
	fastjson__ws(f);
}

/* After a member or element: true to go on (past a comma), false at the close (consumed) or on
 * an error (f->failed). */
static bool fastjson__next(struct fastjson *f, char close)
{
	fastjson__ws(f);
	if (f->p < f->end && *f->p == ',') {
		f->p++;
		fastjson__ws(f);
		return true;
	}
	if (f->p < f->end && *f->p == close) {
		f->p++;
		return false;
	}
	fastjson__fail(f, close == '}' ? "',' or '}' expected" : "',' or ']' expected");
	return false;
}

/* A key, NUL-terminated, in buf (inline) or in *heap. */
static const char *fastjson__key(struct fastjson *f, char *buf, size_t buflen, char **heap)
{
	const char *text;
	size_t len;
	char *dst = buf;

	if (f->p >= f->end || *f->p != '"') {
		fastjson__fail(f, "string or '}' expected");
		return NULL;
	}
	if (!fastjson__string_text(f, &text, &len))
		return NULL;
	if (len >= buflen) {
		*heap = dst = malloc(len + 1);
		if (!dst) {
			fastjson__fail(f, "out of memory");
			return NULL;
		}
	}
	memcpy(dst, text, len);
	dst[len] = '\0';
	return dst;
}

static bool fastjson__member(struct fastjson *f, json_t *obj)
{
	char inline_key[FASTJSON_KEY_INLINE], *heap = NULL;
	const char *key = fastjson__key(f, inline_key, sizeof(inline_key), &heap);
	size_t before = json_object_size(obj);
	json_t *v = NULL;
	bool ok = false;

	if (!key)
		goto out;
	fastjson__ws(f);
	if (f->p >= f->end || *f->p != ':') {
		fastjson__fail(f, "':' expected");
		goto out;
	}
	f->p++;
	v = fastjson__value(f);
	if (!v)
		goto out;
	if (json_object_set_new_nocheck(obj, key, v)) {
		fastjson__fail(f, "out of memory");
		goto out;
	}
	if (json_object_size(obj) == before) {
		fastjson__fail(f, "duplicate object key");
		goto out;
	}
	ok = true;
out:
	free(heap);
	return ok;
}

static json_t *fastjson__object(struct fastjson *f)
{
	json_t *obj;

	fastjson__enter(f);
	obj = json_object();
	if (!obj) {
		fastjson__fail(f, "out of memory");
		return NULL;
	}
	if (f->p < f->end && *f->p == '}') {
		f->p++;
	} else {
		do {
			if (!fastjson__member(f, obj))
				break;
		} while (fastjson__next(f, '}'));
	}
	if (f->failed) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

static json_t *fastjson__array(struct fastjson *f)
{
	json_t *arr, *v;

	fastjson__enter(f);
	arr = json_array();
	if (!arr) {
		fastjson__fail(f, "out of memory");
		return NULL;
	}
	if (f->p < f->end && *f->p == ']') {
		f->p++;
	} else {
		do {
			v = fastjson__value(f);
			if (!v)
				break;
			if (json_array_append_new(arr, v)) {
				fastjson__fail(f, "out of memory");
				break;
			}
		} while (fastjson__next(f, ']'));
	}
	if (f->failed) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

static json_t *fastjson__token(struct fastjson *f)
{
	switch (*f->p) {
	case '{':
		return fastjson__object(f);
	case '[':
		return fastjson__array(f);
	case '"':
		return fastjson__string(f);
	case 't':
		return fastjson__literal(f, "true", json_true());
	case 'f':
		return fastjson__literal(f, "false", json_false());
	case 'n':
		return fastjson__literal(f, "null", json_null());
	default:
		break;
	}
	if (*f->p == '-' || (*f->p >= '0' && *f->p <= '9'))
		return fastjson__number(f);
	fastjson__fail(f, "invalid token");
	return NULL;
}

/* Depth counts every value, containers and scalars, as jansson counts it. */
static json_t *fastjson__value(struct fastjson *f)
{
	json_t *v = NULL;

	fastjson__ws(f);
	if (f->p >= f->end)
		fastjson__fail(f, "unexpected end of input");
	else if (f->depth >= FASTJSON_MAX_DEPTH)
		fastjson__fail(f, "maximum parsing depth reached");
	else {
		f->depth++;
		v = fastjson__token(f);
		f->depth--;
	}
	return v;
}

json_t *fastjson_parse(const char *data, size_t len, char *err, size_t errlen)
{
	struct fastjson f = {.start = data, .p = data, .end = data + len, .err = err, .errlen = errlen};
	json_t *v = fastjson__value(&f);

	if (v) {
		fastjson__ws(&f);
		if (f.p != f.end) {
			fastjson__fail(&f, "end of input expected");
			json_decref(v);
			v = NULL;
		}
	}
	free(f.scratch);
	return v;
}
