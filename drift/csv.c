/* Streaming CSV reader. A record is located first (memchr for the line end; a
 * quote-aware scan only when the line holds a quote), then split in place: fields
 * are unquoted by compacting and NUL-terminated over their delimiter. Partial
 * records at the end of the buffer are moved to its front before the next read. */
#include "drift/csv.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "drift/decimal.h"

#define CSV_CHUNK (1u << 20)
#define CSV_SLACK 72 /* zeroed bytes after the buffer: records are scanned 64 bytes at a time */

struct csv_reader {
	int fd; /* -1 when reading from memory */
	const char *mem;
	size_t mem_len, mem_pos;
	char *name;
	char *buf;
	size_t cap;	   /* bytes in buf; one more is kept for a final NUL */
	size_t start, len; /* unread bytes are buf[start, len) */
	size_t max_record;
	bool eof, started;
	unsigned long line; /* line of buf[start] */
	unsigned long rec_line;
	struct csv_field *fields;
	size_t fields_cap;
};

enum scan_state { AT_FIELD, UNQUOTED, QUOTED, AFTER_QUOTE };

/* "name:line: what" into err (when not NULL); fail() also yields rc. */
__attribute__((format(printf, 4, 5))) static void errmsg(const struct csv_reader *r, char *err, size_t errlen,
							 const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	/* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): clang 14 false positive */
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s:%lu: %s", r->name, r->rec_line, msg);
}

#define fail(r, rc, err, errlen, ...) (errmsg((r), (err), (errlen), __VA_ARGS__), (rc))

/* A reader whose buffer holds a record of max_record bytes and chunk more bytes read ahead. */
static int reader_new(const char *name, size_t max_record, size_t chunk, struct csv_reader **out)
{
	struct csv_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return SAQR_ENOMEM;
	r->fd = -1;
	r->max_record = max_record ? max_record : CSV_MAX_RECORD;
	r->cap = r->max_record + chunk;
	r->name = strdup(name ? name : "-");
	r->buf = calloc(1, r->cap + 1 + CSV_SLACK);
	r->line = 1;
	if (!r->name || !r->buf) {
		csv_close(r);
		return SAQR_ENOMEM;
	}
	*out = r;
	return 0;
}

int csv_open(const char *path, size_t max_record, struct csv_reader **out, char *err, size_t errlen)
{
	struct csv_reader *r;
	int fd = strcmp(path, "-") == 0 ? dup(0) : open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return SAQR_EIO;
	}
	if (reader_new(path, max_record, CSV_CHUNK, &r)) {
		close(fd);
		return SAQR_ENOMEM;
	}
	r->fd = fd;
	*out = r;
	return 0;
}

int csv_open_mem(const char *data, size_t len, const char *name, size_t max_record, struct csv_reader **out,
		 char *err, size_t errlen)
{
	struct csv_reader *r;

	(void)err;
	(void)errlen;
	/* no read-ahead beyond the data: a small input gets a small buffer */
	if (reader_new(name, max_record, len < CSV_CHUNK ? len + 64 : CSV_CHUNK, &r))
		return SAQR_ENOMEM;
	r->mem = data;
	r->mem_len = len;
	*out = r;
	return 0;
}

void csv_close(struct csv_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	free(r->name);
	free(r->buf);
	free(r->fields);
	free(r);
}

unsigned long csv_line(const struct csv_reader *r)
{
	return r->rec_line;
}

const char *csv_name(const struct csv_reader *r)
{
	return r->name;
}

/* Move the unread bytes to the front and read more after them. */
static int fill(struct csv_reader *r, char *err, size_t errlen)
{
	size_t room, n;
	ssize_t got;

	memmove(r->buf, r->buf + r->start, r->len - r->start);
	r->len -= r->start;
	r->start = 0;
	room = r->cap - r->len;
	if (r->fd < 0) {
		n = r->mem_len - r->mem_pos < room ? r->mem_len - r->mem_pos : room;
		memcpy(r->buf + r->len, r->mem + r->mem_pos, n);
		r->mem_pos += n;
		r->len += n;
		r->eof = r->mem_pos == r->mem_len;
		return 0;
	}
	do
		got = read(r->fd, r->buf + r->len, room);
	while (got < 0 && errno == EINTR);
	if (got < 0)
		return fail(r, SAQR_EIO, err, errlen, "read: %s", strerror(errno));
	r->len += (size_t)got;
	r->eof = got == 0;
	return 0;
}

/* Find the end of a record that holds quotes: 1 complete (*end at its '\n' or at
 * the end of the data), 0 need more data, SAQR_EPARSE. *lines counts its line breaks. */
static int scan_quoted(struct csv_reader *r, const char *p, const char *e, const char **end,
		       unsigned long *lines, char *err, size_t errlen)
{
	enum scan_state st = AT_FIELD;

	*lines = 0;
	for (; p < e; p++) {
		char c = *p;

		if (st == QUOTED) {
			if (c == '"')
				st = AFTER_QUOTE;
			else if (c == '\n')
				(*lines)++;
			continue;
		}
		if (c == '\n') {
			*end = p;
			return 1;
		}
		if (st == AFTER_QUOTE && c == '"')
			st = QUOTED;
		else if (c == ',')
			st = AT_FIELD;
		else if (st == AT_FIELD)
			st = c == '"' ? QUOTED : UNQUOTED;
		else if (st == AFTER_QUOTE && !(c == '\r' && (p + 1 == e || p[1] == '\n')))
			return fail(r, SAQR_EPARSE, err, errlen, "unexpected '%c' after a closing quote", c);
	}
	if (!r->eof)
		return 0;
	if (st == QUOTED)
		return fail(r, SAQR_EPARSE, err, errlen,
			    "quoted field not closed before the end of the file");
	*end = e;
	return 1;
}

/* Room for n fields (n capped at CSV_MAX_FIELDS + 1). */
static int reserve_fields(struct csv_reader *r, size_t n)
{
	struct csv_field *f;

	if (n > CSV_MAX_FIELDS + 1)
		n = CSV_MAX_FIELDS + 1;
	if (n <= r->fields_cap)
		return 0;
	f = realloc(r->fields, n * sizeof(*f));
	if (!f)
		return SAQR_ENOMEM;
	r->fields = f;
	r->fields_cap = n;
	return 0;
}

static int add_field(struct csv_reader *r, size_t *n, char *s, size_t len, char *err, size_t errlen)
{
	if (*n >= CSV_MAX_FIELDS || (*n == r->fields_cap && reserve_fields(r, *n * 2 + 64)))
		return *n >= CSV_MAX_FIELDS
			   ? fail(r, SAQR_ETOOBIG, err, errlen, "more than %u fields", CSV_MAX_FIELDS)
			   : SAQR_ENOMEM;
	r->fields[*n].s = s;
	r->fields[*n].len = len;
	(*n)++;
	return 0;
}

/* Bit i set where byte i of w is a comma (exact, no false positives). */
static uint64_t comma_bits8(uint64_t w)
{
	uint64_t y = w ^ 0x2c2c2c2c2c2c2c2cull;
	uint64_t hi = ~(((y & 0x7f7f7f7f7f7f7f7full) + 0x7f7f7f7f7f7f7f7full) | y) & 0x8080808080808080ull;

	return ((hi >> 7) * 0x0102040810204080ull) >> 56;
}

/* Bit i set where p[i] is a comma, for the 64 bytes at p (the buffer has slack). */
static uint64_t comma_bits64(const char *p)
{
	uint64_t bits = 0, w;
	unsigned k;

	for (k = 0; k < 8; k++) {
		memcpy(&w, p + (size_t)k * 8, 8);
		bits |= comma_bits8(w) << (8 * k);
	}
	return bits;
}

/* Split [p, e) with no quotes in it: a 64-bit map of its commas per 64 bytes. */
static int split_plain(struct csv_reader *r, char *p, char *e, size_t *n, char *err, size_t errlen)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	size_t len = (size_t)(e - p), base, cnt = 0;
	struct csv_field *f;
	uint64_t bits;
	char *start = p, *c;

	if (reserve_fields(r, len + 1 < 64 ? 64 : len + 1))
		return SAQR_ENOMEM;
	f = r->fields;
	for (base = 0; base < len; base += 64) {
		bits = comma_bits64(p + base);
		if (len - base < 64)
			bits &= (1ull << (len - base)) - 1;
		for (; bits; bits &= bits - 1) {
			if (cnt + 1 >= r->fields_cap)
				return fail(r, SAQR_ETOOBIG, err, errlen, "more than %u fields",
					    CSV_MAX_FIELDS);
			c = p + base + (size_t)__builtin_ctzll(bits);
			*c = '\0';
			f[cnt].s = start;
			f[cnt++].len = (size_t)(c - start);
			start = c + 1;
		}
	}
	*e = '\0';
	f[cnt].s = start;
	f[cnt++].len = (size_t)(e - start);
	*n = cnt;
	return 0;
#else
	char *c;
	int rc;

	for (;;) {
		for (c = p; c < e && *c != ','; c++)
			;
		*c = '\0';
		rc = add_field(r, n, p, (size_t)(c - p), err, errlen);
		if (rc || c == e)
			return rc;
		p = c + 1;
	}
#endif
}

/* Split [p, e) with quotes, compacting each field in place. */
static int split_quoted(struct csv_reader *r, char *p, char *e, size_t *n, char *err, size_t errlen)
{
	enum scan_state st = AT_FIELD;
	char *w = p, *f = p;
	int rc;

	for (; p < e; p++) {
		char c = *p;

		if (st == QUOTED) {
			if (c == '"')
				st = AFTER_QUOTE;
			else
				*w++ = c;
		} else if (c == ',') {
			*w = '\0';
			rc = add_field(r, n, f, (size_t)(w - f), err, errlen);
			if (rc)
				return rc;
			f = ++w;
			st = AT_FIELD;
		} else if (st == AFTER_QUOTE) {
			if (c == '"') {
				*w++ = '"';
				st = QUOTED;
			}
		} else if (st == AT_FIELD && c == '"') {
			st = QUOTED;
		} else {
			*w++ = c;
			st = UNQUOTED;
		}
	}
	*w = '\0';
	return add_field(r, n, f, (size_t)(w - f), err, errlen);
}

/* Locate the next record in the buffer: 1 found ([*b, *e) without its line end,
 * *next past it), 0 need more data, or an error. Blank lines are skipped. */
static int locate(struct csv_reader *r, char **b, char **e, char **next, bool *quoted, char *err,
		  size_t errlen)
{
	char *p, *end = r->buf + r->len, *nl, *q;
	const char *qe = NULL;
	unsigned long lines;
	int rc;

	for (;;) {
		p = r->buf + r->start;
		if (p == end)
			return 0;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl && !r->eof)
			return 0;
		q = nl ? nl : end;
		r->rec_line = r->line;
		*quoted = memchr(p, '"', (size_t)(q - p)) != NULL;
		lines = 0;
		if (*quoted) {
			rc = scan_quoted(r, p, end, &qe, &lines, err, errlen);
			if (rc <= 0)
				return rc;
			q = (char *)qe;
		}
		if ((size_t)(q - p) > r->max_record)
			return fail(r, SAQR_ETOOBIG, err, errlen, "record longer than %zu bytes",
				    r->max_record);
		*next = q < end ? q + 1 : q;
		r->line += 1 + lines;
		if (q > p && q[-1] == '\r')
			q--;
		if (q == p) { /* blank line */
			r->start = (size_t)(*next - r->buf);
			continue;
		}
		*b = p;
		*e = q;
		return 1;
	}
}

int csv_next(struct csv_reader *r, struct csv_field **fields, size_t *n, char *err, size_t errlen)
{
	char *b = NULL, *e = NULL, *next = NULL;
	bool quoted = false;
	int rc;

	for (;;) {
		rc = locate(r, &b, &e, &next, &quoted, err, errlen);
		if (rc < 0)
			return rc;
		if (rc == 1)
			break;
		if (r->eof && r->start == r->len)
			return 0;
		if (r->len - r->start >= r->max_record) {
			r->rec_line = r->line;
			return fail(r, SAQR_ETOOBIG, err, errlen, "record longer than %zu bytes",
				    r->max_record);
		}
		rc = fill(r, err, errlen);
		if (rc)
			return rc;
		if (!r->started && r->len - r->start >= 3 &&
		    memcmp(r->buf + r->start, "\xEF\xBB\xBF", 3) == 0)
			r->start += 3;
		r->started = true;
	}
	*n = 0;
	rc = quoted ? split_quoted(r, b, e, n, err, errlen) : split_plain(r, b, e, n, err, errlen);
	r->start = (size_t)(next - r->buf);
	if (rc)
		return rc;
	*fields = r->fields;
	return 1;
}

bool csv_parse_double(const char *s, size_t len, double *out)
{
	return decimal_parse(s, len, out);
}

bool csv_is_missing(const char *s, size_t len)
{
	static const char *const words[] = {"NA", "N/A", "NaN", "nan", "null", "NULL", "None", "-nan"};
	size_t i;

	while (len && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0)
		return true;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strlen(words[i]) == len && memcmp(s, words[i], len) == 0)
			return true;
	return false;
}
