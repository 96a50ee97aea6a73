/* Streaming CSV reader (RFC 4180): comma-separated fields, double-quoted fields
 * with "" for a quote and embedded commas and line breaks, LF or CRLF record ends,
 * a UTF-8 byte-order mark skipped, blank lines skipped. Records are capped in size
 * and the file is read through one fixed buffer, so memory does not grow with the
 * file. Fields are handed out NUL-terminated, pointing into that buffer. */
#ifndef SAQR_DRIFT_CSV_H
#define SAQR_DRIFT_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define CSV_MAX_RECORD (1u << 20) /* default cap on one record, in bytes */
#define CSV_MAX_FIELDS 65536u

struct csv_field {
	char *s; /* NUL-terminated, unquoted; valid until the next csv_next() */
	size_t len;
};

struct csv_reader;

/* Open path for reading ("-" is stdin) with records of at most max_record bytes
 * (0: CSV_MAX_RECORD). SAQR_EIO (err says why), SAQR_ENOMEM. */
int csv_open(const char *path, size_t max_record, struct csv_reader **out, char *err, size_t errlen);
/* Read from memory instead (the bytes are copied through the buffer as from a file). */
int csv_open_mem(const char *data, size_t len, const char *name, size_t max_record, struct csv_reader **out,
		 char *err, size_t errlen);
/* Close; NULL is a no-op. */
void csv_close(struct csv_reader *r);

/* The next record: 1 with *fields / *n set (borrowed until the next call), 0 at the
 * end, or SAQR_EPARSE (an unclosed quote, text after a closing quote), SAQR_ETOOBIG
 * (record over the cap, too many fields), SAQR_EIO; err reads "name:line: what". */
int csv_next(struct csv_reader *r, struct csv_field **fields, size_t *n, char *err, size_t errlen);
/* Line on which the last record returned started (1-based). */
unsigned long csv_line(const struct csv_reader *r);
/* The name given at open (the path). */
const char *csv_name(const struct csv_reader *r);

/* Parse a whole field (spaces around it allowed) as a finite decimal number, to
 * the same double strtod gives (a fast exact path for up to 19 significant digits
 * and powers of ten up to 22, strtod beyond). False for anything else, including
 * hexadecimal, inf and nan. */
bool csv_parse_double(const char *s, size_t len, double *out);
/* csv_parse_double() for a field returned by csv_next() (NUL-terminated), with an
 * inline fast path for plain decimals of up to 19 digits: the hot loop of
 * `saqrctl drift`. */
static inline bool csv_field_double(const struct csv_field *f, double *out);

/* True for the cells counted as missing: "", NA, N/A, NaN, nan, null, NULL, None
 * (after trimming spaces). */
bool csv_is_missing(const char *s, size_t len);

/* ---- implementation of csv_field_double() ---- */

static inline bool csv_field_double(const struct csv_field *f, double *out)
{
	static const double p10d[23] = {1e0,  1e1,  1e2,  1e3,	1e4,  1e5,  1e6,  1e7,
					1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
					1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
	const char *p = f->s, *e = f->s + f->len, *d0, *f0;
	uint64_t neg = *p == '-', m = 0, bits;
	size_t nd, nf = 0;
	double v;

	p += neg | (*p == '+');
	for (d0 = p; (unsigned char)(*p - '0') < 10; p++)
		m = m * 10 + (uint64_t)(*p - '0');
	nd = (size_t)(p - d0);
	if (*p == '.') {
		for (f0 = ++p; (unsigned char)(*p - '0') < 10; p++)
			m = m * 10 + (uint64_t)(*p - '0');
		nf = (size_t)(p - f0);
	}
	if (p == e && nd + nf > 0 && nd + nf <= 19 && nf <= 22 && m <= (1ull << 53)) {
		v = (double)m / p10d[nf];
		memcpy(&bits, &v, 8);
		bits ^= neg << 63;
		memcpy(out, &bits, 8);
		return true;
	}
	return csv_parse_double(f->s, f->len, out);
}
#endif
