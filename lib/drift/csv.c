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

#define CSV_CHUNK (1u << 20)

struct csv_reader {
	int fd; /* -1 when reading from memory */
	const char *mem;
	size_t mem_len, mem_pos;
	char *name;
	char *buf;
	size_t cap;        /* bytes in buf; one more is kept for a final NUL */
	size_t start, len; /* unread bytes are buf[start, len) */
	size_t max_record;
	bool eof, started;
	unsigned long line; /* line of buf[start] */
	unsigned long rec_line;
	struct csv_field *fields;
	size_t fields_cap;
};

enum scan_state { AT_FIELD, UNQUOTED, QUOTED, AFTER_QUOTE };

__attribute__((format(printf, 5, 6))) static int fail(const struct csv_reader *r, int rc, char *err,
							size_t errlen, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		snprintf(err, errlen, "%s:%lu: %s", r->name, r->rec_line, msg);
	}
	return rc;
}

static int reader_new(const char *name, size_t max_record, struct csv_reader **out)
{
	struct csv_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return SAQR_ENOMEM;
	r->fd = -1;
	r->max_record = max_record ? max_record : CSV_MAX_RECORD;
	r->cap = r->max_record + CSV_CHUNK;
	r->name = strdup(name ? name : "-");
	r->buf = malloc(r->cap + 1);
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
	if (reader_new(path, max_record, &r)) {
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
	if (reader_new(name, max_record, &r))
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
		return fail(r, SAQR_EPARSE, err, errlen, "quoted field not closed before the end of the file");
	*end = e;
	return 1;
}

static int add_field(struct csv_reader *r, size_t *n, char *s, size_t len, char *err, size_t errlen)
{
	struct csv_field *f;
	size_t cap;

	if (*n == r->fields_cap) {
		if (*n >= CSV_MAX_FIELDS)
			return fail(r, SAQR_ETOOBIG, err, errlen, "more than %u fields", CSV_MAX_FIELDS);
		cap = r->fields_cap ? r->fields_cap * 2 : 64;
		f = realloc(r->fields, cap * sizeof(*f));
		if (!f)
			return SAQR_ENOMEM;
		r->fields = f;
		r->fields_cap = cap;
	}
	r->fields[*n].s = s;
	r->fields[*n].len = len;
	(*n)++;
	return 0;
}

/* Split [p, e) with no quotes in it. */
static int split_plain(struct csv_reader *r, char *p, char *e, size_t *n, char *err, size_t errlen)
{
	char *f = p;
	int rc;

	for (; p < e; p++) {
		if (*p != ',')
			continue;
		*p = '\0';
		rc = add_field(r, n, f, (size_t)(p - f), err, errlen);
		if (rc)
			return rc;
		f = p + 1;
	}
	*e = '\0';
	return add_field(r, n, f, (size_t)(e - f), err, errlen);
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
static int locate(struct csv_reader *r, char **b, char **e, char **next, bool *quoted, char *err, size_t errlen)
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
	char *b, *e, *next;
	bool quoted;
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
			return fail(r, SAQR_ETOOBIG, err, errlen, "record longer than %zu bytes", r->max_record);
		}
		rc = fill(r, err, errlen);
		if (rc)
			return rc;
		if (!r->started && r->len - r->start >= 3 && memcmp(r->buf + r->start, "\xEF\xBB\xBF", 3) == 0)
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

static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
				       1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static bool parse_slow(const char *s, size_t len, double *out)
{
	char tmp[512], *endp;
	double v;

	if (len == 0 || len >= sizeof(tmp))
		return false;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (strpbrk(tmp, "xXpP \t"))
		return false;
	v = strtod(tmp, &endp);
	if (endp != tmp + len || !isfinite(v))
		return false;
	*out = v;
	return true;
}

/* Decimal digits into m (at most 19 kept); *exp10 adjusted for the dropped ones. */
static const char *digits(const char *p, const char *e, uint64_t *m, int *nd, int *exp10, bool frac, bool *any,
			  bool *lost)
{
	for (; p < e && *p >= '0' && *p <= '9'; p++) {
		*any = true;
		if (*nd == 0 && *p == '0') {
			if (frac)
				(*exp10)--;
			continue;
		}
		if (*nd < 19) {
			*m = *m * 10 + (uint64_t)(*p - '0');
			(*nd)++;
			if (frac)
				(*exp10)--;
		} else {
			*lost = true;
			if (!frac)
				(*exp10)++;
		}
	}
	return p;
}

bool csv_parse_double(const char *s, size_t len, double *out)
{
	const char *p = s, *e = s + len;
	bool neg = false, any = false, lost = false, eneg = false;
	uint64_t m = 0;
	int nd = 0, exp10 = 0, ex = 0;
	double v;

	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	s = p;
	len = (size_t)(e - p);
	if (p < e && (*p == '-' || *p == '+'))
		neg = *p++ == '-';
	p = digits(p, e, &m, &nd, &exp10, false, &any, &lost);
	if (p < e && *p == '.')
		p = digits(p + 1, e, &m, &nd, &exp10, true, &any, &lost);
	if (any && p < e && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < e && (*p == '-' || *p == '+'))
			eneg = *p++ == '-';
		if (p == e || *p < '0' || *p > '9')
			return false;
		for (; p < e && *p >= '0' && *p <= '9'; p++)
			ex = ex < 100000 ? ex * 10 + (*p - '0') : ex;
		exp10 += eneg ? -ex : ex;
	}
	if (!any || p != e || lost || m > (1ull << 53) || exp10 < -22 || exp10 > 22)
		return parse_slow(s, len, out);
	v = (double)m;
	v = exp10 < 0 ? v / pow10_exact[-exp10] : v * pow10_exact[exp10];
	*out = neg ? -v : v;
	return true;
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
