/* Incremental HTTP/1.1 framing: the head is gathered (to HTTP1_MAX_HEAD) and parsed once
 * complete; the body is walked as a small state machine so that it never needs buffering. */
#include "agent/http1.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"

enum h1_state {
	S_HEAD,
	S_LENGTH,     /* Content-Length body */
	S_CLOSE,      /* response body until the peer closes */
	S_CHUNK_SIZE, /* hex digits */
	S_CHUNK_EXT,  /* ;ext up to the line end */
	S_CHUNK_LF,   /* after the size line's CR */
	S_CHUNK_DATA, /* chunk payload */
	S_CHUNK_CR,   /* CRLF after the payload */
	S_CHUNK_CRLF, /* LF after that CR */
	S_TRAILER,    /* trailer lines up to an empty one */
	S_DONE,
	S_ERROR,
};

#define H1_MAX_CHUNK_LINE 4096

void http1_init(struct http1 *p, enum http1_kind kind, http1_body_fn on_body, void *ud)
{
	p->kind = kind;
	p->state = S_HEAD;
	p->no_body = false;
	p->head_len = 0;
	p->scan = 0;
	p->nfields = 0;
	memset(&p->head, 0, sizeof(p->head));
	p->remaining = 0;
	p->chunk_size = 0;
	p->chunk_digits = 0;
	p->line_len = 0;
	p->trailer_cr = false;
	p->on_body = on_body;
	p->ud = ud;
}

void http1_expect_no_body(struct http1 *p)
{
	p->no_body = true;
}

static bool h1_tchar(int c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* ---- the head ---- */

/* The line starting at *pos (without its CRLF or LF) as [*start, *end); *pos moves past it. */
static int h1_next_line(struct http1 *p, size_t *pos, size_t *start, size_t *end)
{
	size_t i = *pos;

	*start = i;
	while (i < p->head_len && p->head_buf[i] != '\n') {
		if (p->head_buf[i] == '\r' && (i + 1 >= p->head_len || p->head_buf[i + 1] != '\n'))
			return SAQR_EPARSE; /* bare CR */
		i++;
	}
	*end = (i > *start && p->head_buf[i - 1] == '\r') ? i - 1 : i;
	*pos = i + 1;
	return 0;
}

static int h1_version(const char *s, size_t n, int *minor)
{
	if (n != 8 || memcmp(s, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)s[7]))
		return SAQR_EPARSE;
	*minor = s[7] - '0';
	return 0;
}

static int h1_request_line(struct http1 *p, size_t start, size_t end)
{
	const char *s = p->head_buf + start;
	size_t n = end - start, m = 0, t;

	while (m < n && h1_tchar((unsigned char)s[m]))
		m++;
	if (m == 0 || m >= 32 || m >= n || s[m] != ' ')
		return SAQR_EPARSE;
	t = m + 1;
	while (t < n && s[t] > ' ' && s[t] != 0x7f)
		t++;
	if (t == m + 1 || t >= n || s[t] != ' ' || h1_version(s + t + 1, n - t - 1, &p->head.minor))
		return SAQR_EPARSE;
	memcpy(p->line, s, m);
	p->line[m] = '\0';
	memcpy(p->line + m + 1, s + m + 1, t - m - 1);
	p->line[t] = '\0';
	p->head.method = p->line;
	p->head.target = p->line + m + 1;
	return 0;
}

static int h1_status_line(struct http1 *p, size_t start, size_t end)
{
	const char *s = p->head_buf + start;
	size_t n = end - start;

	if (n < 12 || h1_version(s, 8, &p->head.minor) || s[8] != ' ' || !isdigit((unsigned char)s[9]) ||
	    !isdigit((unsigned char)s[10]) || !isdigit((unsigned char)s[11]) || (n > 12 && s[12] != ' '))
		return SAQR_EPARSE;
	p->head.status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	return p->head.status < 100 ? SAQR_EPARSE : 0;
}

static int h1_field(struct http1 *p, size_t start, size_t end)
{
	size_t c = start, v, e = end;

	while (c < end && h1_tchar((unsigned char)p->head_buf[c]))
		c++;
	if (c == start || c >= end || p->head_buf[c] != ':')
		return SAQR_EPARSE; /* no name, a space before the colon, or obs-fold */
	if (p->nfields >= HTTP1_MAX_HEADERS)
		return SAQR_ETOOBIG;
	v = c + 1;
	while (v < e && (p->head_buf[v] == ' ' || p->head_buf[v] == '\t'))
		v++;
	while (e > v && (p->head_buf[e - 1] == ' ' || p->head_buf[e - 1] == '\t'))
		e--;
	for (size_t i = v; i < e; i++)
		if ((unsigned char)p->head_buf[i] < ' ' && p->head_buf[i] != '\t')
			return SAQR_EPARSE;
	p->fields[p->nfields].name = (unsigned short)start;
	p->fields[p->nfields].name_len = (unsigned short)(c - start);
	p->fields[p->nfields].value = (unsigned short)v;
	p->fields[p->nfields].value_len = (unsigned short)(e - v);
	p->nfields++;
	return 0;
}

static bool h1_name_is(const struct http1 *p, size_t i, const char *name)
{
	return p->fields[i].name_len == strlen(name) &&
	       strncasecmp(p->head_buf + p->fields[i].name, name, p->fields[i].name_len) == 0;
}

/* Whether a comma-separated list value [v, v+n) has token (case-insensitive); with last, only
 * as its last element. */
static bool h1_list_has(const char *v, size_t n, const char *token, bool last)
{
	size_t tl = strlen(token), i = 0;
	bool found = false;

	while (i < n) {
		size_t s, e;

		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e == s)
			continue;
		found = e - s == tl && strncasecmp(v + s, token, tl) == 0 ? true : (last ? false : found);
	}
	return found;
}

bool http1_has_token(const struct http1 *p, const char *name, const char *token)
{
	for (size_t i = 0; i < p->nfields; i++)
		if (h1_name_is(p, i, name) &&
		    h1_list_has(p->head_buf + p->fields[i].value, p->fields[i].value_len, token, false))
			return true;
	return false;
}

bool http1_header(const struct http1 *p, const char *name, char *out, size_t outlen)
{
	for (size_t i = 0; i < p->nfields; i++) {
		if (!h1_name_is(p, i, name))
			continue;
		if (outlen) {
			size_t n = p->fields[i].value_len < outlen - 1 ? p->fields[i].value_len : outlen - 1;

			memcpy(out, p->head_buf + p->fields[i].value, n);
			out[n] = '\0';
		}
		return true;
	}
	return false;
}

static int h1_length(const char *v, size_t n, uint64_t *out)
{
	uint64_t x = 0;

	if (n == 0 || n > 19)
		return SAQR_EPARSE;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)v[i]))
			return SAQR_EPARSE;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	*out = x;
	return 0;
}

/* Content-Length and Transfer-Encoding into the head; the smuggling checks. */
static int h1_framing(struct http1 *p)
{
	bool te = false, te_chunked = false;

	for (size_t i = 0; i < p->nfields; i++) {
		const char *v = p->head_buf + p->fields[i].value;
		size_t n = p->fields[i].value_len;
		uint64_t len;

		if (h1_name_is(p, i, "content-length")) {
			if (h1_length(v, n, &len) || (p->head.has_length && len != p->head.length))
				return SAQR_EPARSE;
			p->head.has_length = true;
			p->head.length = len;
		} else if (h1_name_is(p, i, "transfer-encoding")) {
			te = true;
			te_chunked = h1_list_has(v, n, "chunked", true);
			if (p->kind == HTTP1_REQUEST && !(n == 7 && strncasecmp(v, "chunked", 7) == 0))
				return SAQR_EPARSE;
		}
	}
	if (te && p->kind == HTTP1_REQUEST && p->head.has_length)
		return SAQR_EPARSE;
	if (te) {
		p->head.has_length = false;
		p->head.chunked = te_chunked;
		if (!te_chunked)
			p->head.close = true; /* a response delimited by the close */
	}
	return 0;
}

static void h1_connection(struct http1 *p)
{
	if (http1_has_token(p, "connection", "close"))
		p->head.close = true;
	else if (p->head.minor == 0 && !http1_has_token(p, "connection", "keep-alive"))
		p->head.close = true;
	if (p->kind == HTTP1_REQUEST && http1_has_token(p, "expect", "100-continue"))
		p->head.expect_continue = true;
}

/* The state the body starts in. */
static int h1_body_state(struct http1 *p)
{
	int st = p->head.status;

	if (p->kind == HTTP1_RESPONSE && (p->no_body || st < 200 || st == 204 || st == 304))
		return S_DONE;
	if (p->head.chunked)
		return S_CHUNK_SIZE;
	if (p->head.has_length) {
		p->remaining = p->head.length;
		return p->remaining ? S_LENGTH : S_DONE;
	}
	if (p->kind == HTTP1_RESPONSE) {
		p->head.close = true;
		return S_CLOSE;
	}
	return S_DONE;
}

static int h1_parse_head(struct http1 *p)
{
	size_t pos = 0, s, e;
	int rc = h1_next_line(p, &pos, &s, &e);

	if (rc == 0)
		rc = p->kind == HTTP1_REQUEST ? h1_request_line(p, s, e) : h1_status_line(p, s, e);
	while (rc == 0 && pos < p->head_len) {
		rc = h1_next_line(p, &pos, &s, &e);
		if (rc == 0 && e > s)
			rc = h1_field(p, s, e);
	}
	if (rc == 0)
		rc = h1_framing(p);
	if (rc)
		return rc;
	h1_connection(p);
	p->head.raw = p->head_buf;
	p->head.raw_len = p->head_len;
	p->state = h1_body_state(p);
	return HTTP1_HEAD;
}

/* Whether the head just read ends with an empty line. */
static bool h1_head_ended(const struct http1 *p)
{
	const char *b = p->head_buf;
	size_t n = p->head_len;

	return (n >= 2 && b[n - 2] == '\n') || (n >= 3 && b[n - 2] == '\r' && b[n - 3] == '\n');
}

static int h1_feed_head(struct http1 *p, const char *d, size_t len, size_t *used)
{
	for (size_t i = 0; i < len; i++) {
		if (p->head_len >= HTTP1_MAX_HEAD)
			return SAQR_ETOOBIG;
		p->head_buf[p->head_len++] = d[i];
		if (d[i] != '\n')
			continue;
		/* empty lines before a request line are skipped (RFC 9112 §2.2) */
		if (p->head_len <= 2 && (p->head_len == 1 || p->head_buf[0] == '\r')) {
			p->head_len = 0;
			continue;
		}
		if (h1_head_ended(p)) {
			*used = i + 1;
			p->head_buf[p->head_len] = '\0';
			return h1_parse_head(p);
		}
	}
	*used = len;
	return HTTP1_AGAIN;
}

/* ---- the body ---- */

static void h1_emit(struct http1 *p, const char *d, size_t n)
{
	if (n && p->on_body)
		p->on_body(p->ud, d, n);
}

static int h1_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The end of a chunk-size line: on to the payload, or the trailer after the last chunk. */
static int h1_chunk_line_end(struct http1 *p)
{
	if (p->chunk_digits == 0)
		return SAQR_EPARSE;
	p->line_len = 0;
	p->remaining = p->chunk_size;
	p->state = p->chunk_size ? S_CHUNK_DATA : S_TRAILER;
	return 0;
}

/* After a chunk's CRLF: the next chunk-size line. */
static int h1_chunk_next(struct http1 *p)
{
	p->state = S_CHUNK_SIZE;
	p->chunk_size = 0;
	p->chunk_digits = 0;
	p->line_len = 0;
	return 0;
}

/* One byte of the chunk framing (everything but the payload). */
static int h1_chunk_byte(struct http1 *p, char c)
{
	int x;

	if (++p->line_len > H1_MAX_CHUNK_LINE)
		return SAQR_ETOOBIG;
	switch (p->state) {
	case S_CHUNK_SIZE:
		x = h1_hex((unsigned char)c);
		if (x >= 0 && p->chunk_digits < 15) {
			p->chunk_size = p->chunk_size * 16 + (uint64_t)x;
			p->chunk_digits++;
			return 0;
		}
		if (x >= 0)
			return SAQR_EPARSE; /* a size no body could have */
		if (c == ';' || c == ' ' || c == '\t') {
			p->state = S_CHUNK_EXT;
			return p->chunk_digits ? 0 : SAQR_EPARSE;
		}
		if (c == '\r') {
			p->state = S_CHUNK_LF;
			return 0;
		}
		return c == '\n' ? h1_chunk_line_end(p) : SAQR_EPARSE;
	case S_CHUNK_EXT:
		if (c == '\r')
			p->state = S_CHUNK_LF;
		else if (c == '\n')
			return h1_chunk_line_end(p);
		return 0;
	case S_CHUNK_LF:
		return c == '\n' ? h1_chunk_line_end(p) : SAQR_EPARSE;
	case S_CHUNK_CR:
		if (c == '\r') {
			p->state = S_CHUNK_CRLF;
			return 0;
		}
		return c == '\n' ? h1_chunk_next(p) : SAQR_EPARSE; /* a bare LF ends the chunk as well */
	case S_CHUNK_CRLF:
		return c == '\n' ? h1_chunk_next(p) : SAQR_EPARSE;
	default: /* S_TRAILER */
		if (c == '\n') {
			if (p->line_len == 1 || (p->line_len == 2 && p->trailer_cr))
				p->state = S_DONE;
			p->line_len = 0;
			p->trailer_cr = false;
		} else {
			p->trailer_cr = c == '\r' && p->line_len == 1;
		}
		return 0;
	}
}

/* Payload bytes from d: as many as the current chunk or length allows. */
static size_t h1_payload(struct http1 *p, const char *d, size_t len)
{
	size_t n = len < p->remaining ? len : (size_t)p->remaining;

	h1_emit(p, d, n);
	p->remaining -= n;
	if (p->remaining == 0)
		p->state = p->state == S_LENGTH ? S_DONE : S_CHUNK_CR;
	return n;
}

static int h1_feed_body(struct http1 *p, const char *d, size_t len, size_t *used)
{
	size_t i = 0;
	int rc = 0;

	while (i < len && p->state != S_DONE && rc == 0) {
		if (p->state == S_CLOSE) {
			h1_emit(p, d + i, len - i);
			i = len;
		} else if (p->state == S_LENGTH || p->state == S_CHUNK_DATA) {
			i += h1_payload(p, d + i, len - i);
		} else {
			rc = h1_chunk_byte(p, d[i++]);
		}
	}
	*used = i;
	if (rc)
		return rc;
	return p->state == S_DONE ? HTTP1_DONE : HTTP1_AGAIN;
}

int http1_feed(struct http1 *p, const char *data, size_t len, size_t *used)
{
	int rc;

	*used = 0;
	if (p->state == S_ERROR)
		return SAQR_EPARSE;
	if (p->state == S_DONE)
		return HTTP1_DONE;
	rc = p->state == S_HEAD ? h1_feed_head(p, data, len, used) : h1_feed_body(p, data, len, used);
	if (rc < 0)
		p->state = S_ERROR;
	return rc;
}

int http1_eof(struct http1 *p)
{
	if (p->state == S_CLOSE || p->state == S_DONE) {
		p->state = S_DONE;
		return HTTP1_DONE;
	}
	if (p->state == S_HEAD && p->head_len == 0)
		return HTTP1_AGAIN;
	p->state = S_ERROR;
	return SAQR_EPARSE;
}

const struct http1_head *http1_head(const struct http1 *p)
{
	return p->state == S_HEAD || p->state == S_ERROR ? NULL : &p->head;
}

bool http1_interim(const struct http1 *p)
{
	return p->kind == HTTP1_RESPONSE && p->head.status >= 100 && p->head.status < 200;
}
