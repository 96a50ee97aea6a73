/* metav1.Condition helpers: set with lastTransitionTime carry-over, find, compare. */
#include "operator/conditions.h"

#include <ctype.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonutil.h"

json_t *cond_find(const json_t *conds, const char *type)
{
	size_t i;
	json_t *c;

	if (!type)
		return NULL;
	json_array_foreach(conds, i, c)
	{
		const char *t = json_string_value(json_object_get(c, "type"));

		if (t && strcmp(t, type) == 0)
			return c;
	}
	return NULL;
}

static const char *field(const json_t *conds, const char *type, const char *key, const char *def)
{
	const char *v = json_string_value(json_object_get(cond_find(conds, type), key));

	return v ? v : def;
}

bool cond_has_status(const json_t *conds, const char *type, const char *status)
{
	const char *s = field(conds, type, "status", NULL);

	return s && status && strcmp(s, status) == 0;
}

const char *cond_reason(const json_t *conds, const char *type, const char *def)
{
	return field(conds, type, "reason", def);
}

const char *cond_message(const json_t *conds, const char *type, const char *def)
{
	return field(conds, type, "message", def);
}

bool cond_reason_valid(const char *reason)
{
	size_t n = reason ? strlen(reason) : 0;

	if (n == 0 || n > COND_REASON_MAX || !isalpha((unsigned char)reason[0]))
		return false;
	for (size_t i = 1; i < n; i++) {
		unsigned char c = (unsigned char)reason[i];

		if (!(isalnum(c) || c == '_' || ((c == ',' || c == ':') && i + 1 < n)))
			return false;
	}
	return true;
}

const char *cond_reason_or(const char *reason, const char *def)
{
	return cond_reason_valid(reason) ? reason : def;
}

static bool status_valid(const char *s)
{
	return s && (!strcmp(s, COND_TRUE) || !strcmp(s, COND_FALSE) || !strcmp(s, COND_UNKNOWN));
}

/* A copy of msg cut to at most COND_MESSAGE_MAX bytes without splitting a UTF-8 sequence. */
static json_t *message_value(const char *msg)
{
	size_t n = msg ? strlen(msg) : 0;

	if (n > COND_MESSAGE_MAX) {
		n = COND_MESSAGE_MAX;
		while (n > 0 && ((unsigned char)msg[n] & 0xC0) == 0x80)
			n--;
	}
	return json_stringn_nocheck(msg ? msg : "", n);
}

/* The lastTransitionTime to use: prev's when its status is unchanged, else now. */
static const char *transition_time(const json_t *prev, const struct cond *c, const char *now)
{
	json_t *old = cond_find(prev, c->type);
	const char *t = json_string_value(json_object_get(old, "lastTransitionTime"));

	if (t && cond_has_status(prev, c->type, c->status))
		return t;
	return now;
}

int cond_set(json_t *conds, const json_t *prev, const struct cond *c, const char *now)
{
	json_t *entry, *old;
	size_t i;
	json_t *it;

	if (!json_is_array(conds) || !c || !c->type || !*c->type || !status_valid(c->status) ||
	    !cond_reason_valid(c->reason) || !now)
		return SAQR_EINVAL;
	entry = json_pack("{s:s, s:s, s:I, s:s, s:s, s:o}", "type", c->type, "status", c->status,
			  "observedGeneration", (json_int_t)c->observed_generation, "lastTransitionTime",
			  transition_time(prev, c, now), "reason", c->reason, "message",
			  message_value(c->message));
	if (!entry)
		return SAQR_ENOMEM;
	old = cond_find(conds, c->type);
	json_array_foreach(conds, i, it)
	{
		if (it == old)
			return json_array_set_new(conds, i, entry) ? SAQR_ENOMEM : 0;
	}
	return json_array_append_new(conds, entry) ? SAQR_ENOMEM : 0;
}

static size_t len_or_zero(const json_t *a)
{
	return json_is_array(a) ? json_array_size(a) : 0;
}

bool cond_equal(const json_t *a, const json_t *b)
{
	size_t i;
	json_t *c;

	if (len_or_zero(a) != len_or_zero(b))
		return false;
	json_array_foreach(a, i, c)
	{
		const char *type = json_string_value(json_object_get(c, "type"));
		json_t *other = cond_find(b, type);

		if (!type || !other || !json_same(c, other))
			return false;
	}
	return true;
}

bool cond_status_equal(const json_t *a, const json_t *b)
{
	json_t *ca, *cb;
	bool same;

	if (!json_is_object(a) && !json_is_object(b))
		return true;
	ca = json_is_object(a) ? json_copy((json_t *)a) : json_object();
	cb = json_is_object(b) ? json_copy((json_t *)b) : json_object();
	if (!ca || !cb) {
		json_decref(ca);
		json_decref(cb);
		return false;
	}
	same = cond_equal(json_object_get(ca, "conditions"), json_object_get(cb, "conditions"));
	json_object_del(ca, "conditions");
	json_object_del(cb, "conditions");
	same = same && json_same(ca, cb);
	json_decref(ca);
	json_decref(cb);
	return same;
}

int cond_format_time(time_t t, char *out, size_t outlen)
{
	struct tm tm;

	if (!out || outlen < COND_TIME_BUF || !gmtime_r(&t, &tm))
		return SAQR_EINVAL;
	return strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) ? 0 : SAQR_EINVAL;
}
