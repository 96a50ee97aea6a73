/* Maps API server answers (HTTP code + metav1.Status) and local failures to Saqr's error
 * codes and struct kube_status, so every caller sees the server's reason and message. */
#include "kube/status.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"

/* Longest Retry-After we honour; beyond it the header is taken as garbage. */
#define KUBE_MAX_RETRY_AFTER 86400

void kube_status_clear(struct kube_status *st)
{
	if (st)
		memset(st, 0, sizeof(*st));
}

void kube_status_set(struct kube_status *st, int http_code, const char *fmt, ...)
{
	va_list ap;

	if (!st)
		return;
	kube_status_clear(st);
	st->http_code = http_code;
	va_start(ap, fmt);
	vsnprintf(st->message, sizeof(st->message), fmt, ap);
	va_end(ap);
}

static void kube_copy_printable(char *dst, size_t dstlen, const char *src, size_t len)
{
	size_t i, n = len < dstlen - 1 ? len : dstlen - 1;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)src[i];

		dst[i] = (ch < 0x20 || ch == 0x7f) ? ' ' : (char)ch;
	}
	dst[n] = '\0';
}

/* Seconds from a Retry-After value: delta-seconds or an HTTP date. -1 when unusable. */
static int kube_parse_retry_after(const char *v)
{
	char *end;
	long secs;
	time_t when;

	while (*v == ' ' || *v == '\t')
		v++;
	if (*v >= '0' && *v <= '9') {
		secs = strtol(v, &end, 10);
		while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
			end++;
		return (*end || secs > KUBE_MAX_RETRY_AFTER) ? -1 : (int)secs;
	}
	when = curl_getdate(v, NULL);
	if (when < 0)
		return -1;
	secs = (long)(when - time(NULL));
	if (secs < 0)
		return 0;
	return secs > KUBE_MAX_RETRY_AFTER ? -1 : (int)secs;
}

int kube_status_from_object(const json_t *status, struct kube_status *st)
{
	const char *reason = json_string_value(json_object_get(status, "reason"));
	const char *message = json_string_value(json_object_get(status, "message"));
	json_t *details = json_object_get(status, "details");
	json_int_t retry = json_integer_value(json_object_get(details, "retryAfterSeconds"));
	json_int_t code = json_integer_value(json_object_get(status, "code"));

	if (!st)
		return (int)code;
	if (reason)
		kube_copy_printable(st->reason, sizeof(st->reason), reason, strlen(reason));
	if (message)
		kube_copy_printable(st->message, sizeof(st->message), message, strlen(message));
	if (retry > 0 && retry <= KUBE_MAX_RETRY_AFTER)
		st->retry_after = (int)retry;
	if (code > 0 && code < 1000)
		st->http_code = (int)code;
	return code > 0 && code < 1000 ? (int)code : 0;
}

static int kube_status_code_to_err(long http_code, const char *reason)
{
	switch (http_code) {
	case 401:
	case 403:
		return SAQR_EFORBIDDEN;
	case 404:
		return SAQR_ENOTFOUND;
	case 409:
		return strcmp(reason, "AlreadyExists") == 0 ? SAQR_EEXIST : SAQR_ECONFLICT;
	case 410:
		return SAQR_EGONE;
	case 422:
		return SAQR_EINVALID;
	case 429:
	case 503:
		return SAQR_EBUSY;
	default:
		return SAQR_EAPI;
	}
}

/* reason/message from a Status body, or the body's text when it is not one. */
static void kube_status_from_body(const char *body, size_t len, struct kube_status *st)
{
	json_t *doc = len ? json_loadb(body, len, 0, NULL) : NULL;
	const char *kind = json_string_value(json_object_get(doc, "kind"));

	if (kind && strcmp(kind, "Status") == 0)
		kube_status_from_object(doc, st);
	else if (len)
		kube_copy_printable(st->message, sizeof(st->message), body, len);
	json_decref(doc);
}

int kube_status_from_response(long http_code, const char *body, size_t len, const char *retry_after,
			      struct kube_status *local)
{
	struct kube_status tmp = {0};
	struct kube_status *st = local ? local : &tmp;
	int secs;

	kube_status_clear(st);
	if (http_code >= 200 && http_code < 300) {
		st->http_code = (int)http_code;
		return 0;
	}
	kube_status_from_body(body, len, st);
	st->http_code = (int)http_code; /* the transport's code wins over the body's */
	if (!st->message[0])
		snprintf(st->message, sizeof(st->message), "the server answered HTTP %ld", http_code);
	if (retry_after && (http_code == 429 || http_code == 503)) {
		secs = kube_parse_retry_after(retry_after);
		if (secs >= 0)
			st->retry_after = secs;
	}
	return kube_status_code_to_err(http_code, st->reason);
}
