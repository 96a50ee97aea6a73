/* A fast JSON reader that builds jansson values. jansson's own parser reads one character at a
 * time through a stream and costs several times more than building the values; an
 * AdmissionReview is parsed on every request, so the webhook scans the buffer directly.
 *
 * It accepts exactly what json_loadb(JSON_REJECT_DUPLICATES | JSON_DECODE_ANY) accepts (RFC 8259,
 * UTF-8 checked, no NUL in strings, duplicate keys refused, integers that do not fit json_int_t
 * refused; a NUL byte outside a string is refused where jansson stops reading at it), which
 * tests/fuzz/fuzz_admission.c checks differentially. */
#ifndef SAQR_WEBHOOK_FASTJSON_H
#define SAQR_WEBHOOK_FASTJSON_H

#include <jansson.h>
#include <stddef.h>

#define FASTJSON_MAX_DEPTH 2048 /* as jansson: every value counts, scalars too */

/* Parse one JSON text of len bytes (no NUL needed). Returns a new reference, or NULL with
 * "line L column C: problem" in err (when err is not NULL). Thread-safe. */
json_t *fastjson_parse(const char *data, size_t len, char *err, size_t errlen);

#endif
