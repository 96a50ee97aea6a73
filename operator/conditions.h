/* metav1.Condition helpers. A reconciler builds a fresh conditions array each time and passes
 * the previous status's array: a condition whose status did not change keeps its
 * lastTransitionTime, so an unchanged world produces an unchanged (byte-identical) status and the
 * operator can skip the write (cond_status_equal). */
#ifndef SAQR_OPERATOR_CONDITIONS_H
#define SAQR_OPERATOR_CONDITIONS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define COND_TRUE "True"
#define COND_FALSE "False"
#define COND_UNKNOWN "Unknown"
#define COND_MESSAGE_MAX 32768 /* metav1.Condition.message maxLength */
#define COND_REASON_MAX 1024
#define COND_TIME_BUF 32

/* One condition to set. Strings are borrowed for the call. */
struct cond {
	const char *type;
	const char *status;  /* COND_TRUE, COND_FALSE or COND_UNKNOWN */
	const char *reason;  /* CamelCase, see cond_reason_valid */
	const char *message; /* NULL means ""; cut at COND_MESSAGE_MAX bytes on a UTF-8 boundary */
	long long observed_generation;
};

/* Set c in conds (a JSON array; an entry of the same type is replaced in place, else c is
 * appended). lastTransitionTime is the one of prev's entry of that type when its status equals
 * c->status, else now (RFC 3339, e.g. "2024-05-01T10:00:00Z"). prev may be NULL.
 * 0, SAQR_EINVAL (bad type/status/reason, NULL now), SAQR_ENOMEM. conds is unchanged on error. */
int cond_set(json_t *conds, const json_t *prev, const struct cond *c, const char *now);

/* Borrowed reference to the condition of type in conds, or NULL. conds may be NULL. */
json_t *cond_find(const json_t *conds, const char *type);

/* Whether conds has a condition of type whose status is status. */
bool cond_has_status(const json_t *conds, const char *type, const char *status);

/* Borrowed reason (or message) of the condition of type, or def. */
const char *cond_reason(const json_t *conds, const char *type, const char *def);
const char *cond_message(const json_t *conds, const char *type, const char *def);

/* Whether reason matches metav1.Condition's pattern ^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$
 * and is at most COND_REASON_MAX long. */
bool cond_reason_valid(const char *reason);
/* reason when valid, else def: for reasons copied from other objects. */
const char *cond_reason_or(const char *reason, const char *def);

/* Two conditions arrays hold the same conditions (by type, all fields), in any order.
 * NULL equals an empty array. */
bool cond_equal(const json_t *a, const json_t *b);

/* Two status objects are the same: every field equal, "conditions" compared with cond_equal.
 * NULL equals {}. The operator writes status only when this is false. */
bool cond_status_equal(const json_t *a, const json_t *b);

/* Format t (UTC) as RFC 3339 with second precision into out (COND_TIME_BUF bytes).
 * 0 or SAQR_EINVAL. */
int cond_format_time(time_t t, char *out, size_t outlen);

#endif
