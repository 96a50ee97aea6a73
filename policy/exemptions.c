/* Exemptions and break-glass. A break-glass request is honoured only for a member of a listed
 * group, before its expiry, and for at most the policy's maximum duration; honoured or not,
 * it is written into the audit annotations. */
#include "policy/exemptions.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "common/jsonutil.h"
#include "policy/finding.h"
#include "policy/iso8601.h"

#define BG_REASON_MAX 256
#define BG_TIME_MAX 64
#define BG_PATH "metadata.annotations[" EXEMPTIONS_BREAK_GLASS_KEY "]"

struct bg_request {
	char reason[BG_REASON_MAX];
	char expires[BG_TIME_MAX];
	time_t at;
};

static const char *ex_namespace(const struct policy_eval_ctx *ev)
{
	if (ev->in->namespace && ev->in->namespace[0])
		return ev->in->namespace;
	return json_path_str(ev->obj, "metadata.namespace", NULL);
}

static const char *ex_group_in(const struct policy_user *u, const struct policy_strlist *groups)
{
	size_t i;

	for (i = 0; u && i < u->ngroups; i++)
		if (u->groups[i] && policy__strlist_has(groups, u->groups[i]))
			return u->groups[i];
	return NULL;
}

bool exemptions_match(const struct policy_eval_ctx *ev, char *why, size_t n)
{
	const struct policy_exemptions *x = &ev->p->exemptions;
	const struct policy_user *u = ev->in->user;
	const char *ns = ex_namespace(ev);
	const char *g;

	if (!x->g.enabled)
		return false;
	if (ns && policy__strlist_has(&x->namespaces, ns)) {
		snprintf(why, n, "namespace %s", ns);
		return true;
	}
	if (u && u->username && policy__strlist_has(&x->users, u->username)) {
		snprintf(why, n, "user \"%s\"", u->username);
		return true;
	}
	g = ex_group_in(u, &x->groups);
	if (g)
		snprintf(why, n, "group \"%s\"", g);
	return g != NULL;
}

/* Copy [s, e) without surrounding blanks into out; false when it does not fit. */
static bool bg_trim_copy(const char *s, const char *e, char *out, size_t n)
{
	while (s < e && isspace((unsigned char)*s))
		s++;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	if ((size_t)(e - s) >= n)
		return false;
	memcpy(out, s, (size_t)(e - s));
	out[e - s] = '\0';
	return true;
}

/* "<reason>; expires=<RFC3339>": the last ';' separates the reason from the expiry. */
static bool bg_parse(const char *v, struct bg_request *r)
{
	const char *semi = strrchr(v, ';');
	const char *t;

	if (!semi || !bg_trim_copy(v, semi, r->reason, sizeof(r->reason)) || r->reason[0] == '\0')
		return false;
	t = semi + 1;
	while (isspace((unsigned char)*t))
		t++;
	if (strncmp(t, "expires=", 8) != 0 || !bg_trim_copy(t + 8, t + strlen(t), r->expires, sizeof(r->expires)))
		return false;
	return rfc3339_parse(r->expires, &r->at) == 0;
}

static void bg_refuse(struct policy_eval_ctx *ev, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void bg_refuse(struct policy_eval_ctx *ev, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	policy__vviolation(ev, ev->p->exemptions.g.enforcement, "exemptions.breakGlass", BG_PATH, fmt, ap);
	va_end(ap);
}

/* Expiry and duration; false (with a finding) when the request is out of bounds. */
static bool bg_in_time(struct policy_eval_ctx *ev, const struct bg_request *r)
{
	long long max = ev->p->exemptions.break_glass_max;
	char maxs[48], left[48];

	iso8601_duration_format(max, maxs, sizeof(maxs));
	if (r->at <= ev->in->now) {
		bg_refuse(ev, "break-glass expired at %s; set a new expiry at most %s from now", r->expires, maxs);
		return false;
	}
	if ((long long)(r->at - ev->in->now) > max) {
		iso8601_duration_format((long long)(r->at - ev->in->now), left, sizeof(left));
		bg_refuse(ev, "break-glass expires at %s, %s from now; the policy allows at most %s", r->expires, left,
			  maxs);
		return false;
	}
	return true;
}

static bool bg_user_allowed(struct policy_eval_ctx *ev)
{
	const struct policy_exemptions *x = &ev->p->exemptions;
	const struct policy_user *u = ev->in->user;
	struct buf groups;

	if (ex_group_in(u, &x->break_glass_groups))
		return true;
	buf_init(&groups, 4096);
	policy__strlist_join(&x->break_glass_groups, &groups);
	if (x->break_glass_groups.n == 0)
		bg_refuse(ev, "break-glass is disabled: the policy lists no spec.exemptions.breakGlass.groups");
	else
		bg_refuse(ev, "user \"%s\" is in no break-glass group; allowed groups: %s",
			  u->username ? u->username : "", buf_str(&groups));
	buf_release(&groups);
	return false;
}

static void bg_annotate(json_t *ann, const struct bg_request *r, const struct policy_user *u, const char *status)
{
	json_object_set_new(ann, "break-glass", json_string(r->reason));
	if (r->expires[0])
		json_object_set_new(ann, "break-glass-expires", json_string(r->expires));
	if (u && u->username)
		json_object_set_new(ann, "break-glass-user", json_string(u->username));
	json_object_set_new(ann, "break-glass-status", json_string(status));
}

enum exemptions_break_glass_state exemptions_break_glass(struct policy_eval_ctx *ev, json_t *ann)
{
	const char *v = json_string_value(json_object_get(ev->annotations, EXEMPTIONS_BREAK_GLASS_KEY));
	struct bg_request r;
	enum exemptions_break_glass_state st;

	if (!v)
		return EXEMPTIONS_BG_ABSENT;
	memset(&r, 0, sizeof(r));
	if (!bg_parse(v, &r)) {
		bg_refuse(ev, "\"%s\" is not \"<reason>; expires=<RFC3339 time>\"", v);
		snprintf(r.reason, sizeof(r.reason), "%s", v);
		st = EXEMPTIONS_BG_REFUSED;
	} else if (!bg_in_time(ev, &r)) {
		st = EXEMPTIONS_BG_REFUSED;
	} else if (!ev->in->user) {
		st = EXEMPTIONS_BG_UNVERIFIED;
	} else {
		st = bg_user_allowed(ev) ? EXEMPTIONS_BG_HONOURED : EXEMPTIONS_BG_REFUSED;
	}
	bg_annotate(ann, &r, ev->in->user,
		    st == EXEMPTIONS_BG_HONOURED ? "honoured" : st == EXEMPTIONS_BG_REFUSED ? "refused" : "unverified");
	return st;
}
