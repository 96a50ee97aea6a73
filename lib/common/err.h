/* Saqr's one error convention: actions return 0 or a negative SAQR_E* code;
 * saqr_strerror() names it. Predicates return bool. */
#ifndef SAQR_COMMON_ERR_H
#define SAQR_COMMON_ERR_H

#include <stdarg.h>
#include <stddef.h>

enum saqr_err {
	SAQR_OK = 0,
	SAQR_ENOMEM = -1,      /* allocation failed */
	SAQR_EINVAL = -2,      /* invalid argument or input */
	SAQR_EIO = -3,	       /* file or socket I/O failed */
	SAQR_ETOOBIG = -4,     /* a size cap was hit */
	SAQR_EPARSE = -5,      /* malformed JSON, YAML or text */
	SAQR_ETRANSPORT = -6,  /* connection, DNS or TLS failure talking to a server */
	SAQR_EAPI = -7,	       /* the server answered with an error status (see the call's status) */
	SAQR_ENOTFOUND = -8,   /* 404 NotFound */
	SAQR_ECONFLICT = -9,   /* 409 Conflict */
	SAQR_EEXIST = -10,     /* 409 AlreadyExists */
	SAQR_EGONE = -11,      /* 410 Gone / Expired: relist */
	SAQR_ETIMEDOUT = -12,  /* a deadline passed */
	SAQR_ECLOSED = -13,    /* stream or queue closed */
	SAQR_ECONFIG = -14,    /* configuration missing or wrong */
	SAQR_EFORBIDDEN = -15, /* 401 or 403 */
	SAQR_EBUSY = -16,      /* 429 TooManyRequests or 503: retry later */
	SAQR_EINVALID = -17,   /* 422 Invalid: the server refused the object */
	SAQR_EEMPTY = -18,     /* no data where some is needed */
};

/* Static text for an error code; never NULL. */
const char *saqr_strerror(int err);

/* The one way to write an error message into a caller's buffer: printf-formatted into buf
 * (len bytes, cut to fit, always NUL-terminated). buf NULL or len 0: nothing is written. */
void saqr_errf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void saqr_verrf(char *buf, size_t len, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));
/* saqr_errf, then yield rc: `return saqr_fail(SAQR_EPARSE, err, errlen, "line %d: ...", n);`.
 * A macro, so that the static analyzers see which code comes back. */
#define saqr_fail(rc, buf, len, ...) (saqr_errf((buf), (len), __VA_ARGS__), (rc))

#endif
