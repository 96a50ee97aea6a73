/* A growable byte buffer with a hard size cap (after curl's dynbuf).
 * The contents are always NUL-terminated so they can be read as a string. */
#ifndef SAQR_COMMON_BUF_H
#define SAQR_COMMON_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data; /* NULL until the first append; owned by the buf */
	size_t len;
	size_t cap; /* bytes allocated */
	size_t max; /* hard cap on len; appends beyond it fail with SAQR_ETOOBIG */
};

/* Initialise an empty buffer that may hold at most max bytes. */
void buf_init(struct buf *b, size_t max);
/* Free the contents; the buffer is empty and reusable afterwards. */
void buf_release(struct buf *b);
/* Forget the contents but keep the allocation. */
void buf_reset(struct buf *b);
/* Append n bytes. 0, SAQR_ENOMEM or SAQR_ETOOBIG (the buffer is unchanged on error). */
int buf_add(struct buf *b, const void *p, size_t n);
/* Append a NUL-terminated string. */
int buf_adds(struct buf *b, const char *s);
/* Append printf-formatted text. */
int buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vaddf(struct buf *b, const char *fmt, va_list ap);
/* Take the contents (caller frees; never NULL on success: "" for empty); the buffer is empty after. */
char *buf_detach(struct buf *b);
/* Drop the first n bytes. */
void buf_consume(struct buf *b, size_t n);
/* The contents as a string ("" when empty). */
const char *buf_str(const struct buf *b);

#endif
