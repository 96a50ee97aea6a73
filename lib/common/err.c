/* Text for Saqr's error codes, and the helper that writes error messages into callers' buffers. */
#include "common/err.h"

#include <stdio.h>

const char *saqr_strerror(int err)
{
	switch (err) {
	case SAQR_OK:
		return "success";
	case SAQR_ENOMEM:
		return "out of memory";
	case SAQR_EINVAL:
		return "invalid argument";
	case SAQR_EIO:
		return "input/output error";
	case SAQR_ETOOBIG:
		return "size limit exceeded";
	case SAQR_EPARSE:
		return "parse error";
	case SAQR_ETRANSPORT:
		return "transport error";
	case SAQR_EAPI:
		return "API error";
	case SAQR_ENOTFOUND:
		return "not found";
	case SAQR_ECONFLICT:
		return "conflict";
	case SAQR_EEXIST:
		return "already exists";
	case SAQR_EGONE:
		return "resource version too old (gone)";
	case SAQR_ETIMEDOUT:
		return "timed out";
	case SAQR_ECLOSED:
		return "closed";
	case SAQR_ECONFIG:
		return "configuration error";
	case SAQR_EFORBIDDEN:
		return "unauthorized or forbidden";
	case SAQR_EBUSY:
		return "server busy, retry later";
	case SAQR_EINVALID:
		return "invalid object";
	case SAQR_EEMPTY:
		return "no data";
	default:
		return "unknown error";
	}
}

void saqr_verrf(char *buf, size_t len, const char *fmt, va_list ap)
{
	if (!buf || !len)
		return;
	/* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): clang 14 false positive */
	vsnprintf(buf, len, fmt, ap);
}

void saqr_errf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	saqr_verrf(buf, len, fmt, ap);
	va_end(ap);
}
