/* Internal to lib/kube: turning an API server answer (HTTP code, metav1.Status body,
 * Retry-After) or a local failure into a SAQR_E* code and a struct kube_status. */
#ifndef SAQR_KUBE_STATUS_H
#define SAQR_KUBE_STATUS_H

#include <jansson.h>
#include <stddef.h>

#include "kube/client.h"

/* Map an HTTP answer. A 2xx code returns 0 and leaves only st->http_code set. Otherwise the
 * body (len bytes; a metav1.Status or any text) fills st->reason and st->message, retry_after
 * (the Retry-After header, seconds or an HTTP date; may be NULL) and the Status's
 * details.retryAfterSeconds fill st->retry_after, and the return is: 404 SAQR_ENOTFOUND,
 * 409 SAQR_EEXIST (reason AlreadyExists) or SAQR_ECONFLICT, 410 SAQR_EGONE, 422 SAQR_EINVALID,
 * 401/403 SAQR_EFORBIDDEN, 429/503 SAQR_EBUSY, anything else SAQR_EAPI. st may be NULL. */
int kube_status_from_response(long http_code, const char *body, size_t len, const char *retry_after,
			      struct kube_status *st);

/* Fill st from a parsed metav1.Status object (code, reason, message, details.retryAfterSeconds).
 * Returns the Status's code (0 when it has none). st may be NULL. */
int kube_status_from_object(const json_t *status, struct kube_status *st);

/* Clear st and write a message (printf format), for failures found on this side (transport,
 * parse, size caps). st may be NULL. */
void kube_status_set(struct kube_status *st, int http_code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clear st (NULL is a no-op). */
void kube_status_clear(struct kube_status *st);

#endif
