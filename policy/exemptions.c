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
	if (strncmp(t, "expires=", 8) != 0 ||
	    !bg_trim_copy(t + 8, t + strlen(t), r->expires, sizeof(r->expires)))
		return false;
	return rfc3339_parse(r->expires, &r->at) == 0;
}

/* One break-glass annotation being judged: where it is and whether the requester's groups count. */
struct bg_site {
	const char *path;  /* "metadata.annotations[saqr.dev/break-glass]" */
	bool check_groups; /* false for a controller creating a child of an admitted object */
};

static void bg_refuse(struct policy_eval_ctx *ev, const struct bg_site *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void bg_refuse(struct policy_eval_ctx *ev, const struct bg_site *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	policy__vviolation(ev, ev->p->exemptions.g.enforcement, "exemptions.breakGlass", at->path, fmt, ap);
	va_end(ap);
}

/* Expiry and duration; false (with a finding) when the request is out of bounds. */
static bool bg_in_time(struct policy_eval_ctx *ev, const struct bg_site *at, const struct bg_request *r)
{
	long long max = ev->p->exemptions.break_glass_max;
	char maxs[48], left[48];

	iso8601_duration_format(max, maxs, sizeof(maxs));
	if (r->at <= ev->in->now) {
		bg_refuse(ev, at, "break-glass expired at %s; set a new expiry at most %s from now",
			  r->expires, maxs);
		return false;
	}
	if ((long long)(r->at - ev->in->now) > max) {
		iso8601_duration_format((long long)(r->at - ev->in->now), left, sizeof(left));
		bg_refuse(ev, at, "break-glass expires at %s, %s from now; the policy allows at most %s",
			  r->expires, left, maxs);
		return false;
	}
	return true;
}

static bool bg_user_allowed(struct policy_eval_ctx *ev, const struct bg_site *at)
{
	const struct policy_exemptions *x = &ev->p->exemptions;
	const struct policy_user *u = ev->in->user;
	struct buf groups;

	if (ex_group_in(u, &x->break_glass_groups))
		return true;
	buf_init(&groups, 4096);
	policy__strlist_join(&x->break_glass_groups, &groups);
	if (x->break_glass_groups.n == 0)
		bg_refuse(ev, at,
			  "break-glass is disabled: the policy lists no spec.exemptions.breakGlass.groups");
	else
		bg_refuse(ev, at, "user \"%s\" is in no break-glass group; allowed groups: %s",
			  u->username ? u->username : "", buf_str(&groups));
	buf_release(&groups);
	return false;
}

static const char *bg_status(enum exemptions_break_glass_state st)
{
	if (st == EXEMPTIONS_BG_HONOURED)
		return "honoured";
	return st == EXEMPTIONS_BG_REFUSED ? "refused" : "unverified";
}

/* prefix "break-glass" for the object's own annotation, "template-break-glass" for its pod
 * template's. */
static void bg_annotate(json_t *ann, const char *prefix, const struct bg_request *r,
			const struct policy_user *u, const char *status, bool inherited)
{
	char key[64];

	json_object_set_new(ann, prefix, json_string(r->reason));
	snprintf(key, sizeof(key), "%s-expires", prefix);
	if (r->expires[0])
		json_object_set_new(ann, key, json_string(r->expires));
	snprintf(key, sizeof(key), "%s-user", prefix);
	if (u && u->username)
		json_object_set_new(ann, key, json_string(u->username));
	snprintf(key, sizeof(key), "%s-status", prefix);
	json_object_set_new(ann, key, json_string(status));
	snprintf(key, sizeof(key), "%s-inherited", prefix);
	if (inherited)
		json_object_set_new(
		    ann, key,
		    json_string("controller child: the group check was made at the parent's admission"));
}

static enum exemptions_break_glass_state bg_judge(struct policy_eval_ctx *ev, const struct bg_site *at,
						  const char *v, struct bg_request *r)
{
	memset(r, 0, sizeof(*r));
	if (!bg_parse(v, r)) {
		bg_refuse(ev, at, "\"%s\" is not \"<reason>; expires=<RFC3339 time>\"", v);
		snprintf(r->reason, sizeof(r->reason), "%s", v);
		return EXEMPTIONS_BG_REFUSED;
	}
	if (!bg_in_time(ev, at, r))
		return EXEMPTIONS_BG_REFUSED;
	if (!at->check_groups)
		return EXEMPTIONS_BG_HONOURED;
	if (!ev->in->user)
		return EXEMPTIONS_BG_UNVERIFIED;
	return bg_user_allowed(ev, at) ? EXEMPTIONS_BG_HONOURED : EXEMPTIONS_BG_REFUSED;
}

static bool ex_controller_user(const char *u)
{
	static const char sa[] = "system:serviceaccount:kube-system:";
	size_t n = u ? strlen(u) : 0;

	if (!u)
		return false;
	if (strcmp(u, "system:kube-controller-manager") == 0)
		return true;
	return n > sizeof(sa) - 1 + 11 && strncmp(u, sa, sizeof(sa) - 1) == 0 &&
	       strcmp(u + n - 11, "-controller") == 0 && strchr(u + sizeof(sa) - 1, ':') == NULL;
}

bool exemptions_controller_child(const struct policy_eval_ctx *ev)
{
	static const char *const kinds[] = {"Pod", "ReplicaSet", "Job"};
	const json_t *refs = json_path(ev->obj, "metadata.ownerReferences");
	const char *kind = json_string_value(json_object_get(ev->obj, "kind"));
	bool known = false;
	size_t i;

	for (i = 0; kind && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		known = known || strcmp(kind, kinds[i]) == 0;
	if (!known || !ev->in->user || !ex_controller_user(ev->in->user->username))
		return false;
	for (i = 0; i < json_array_size(refs); i++)
		if (json_is_true(json_object_get(json_array_get(refs, i), "controller")))
			return true;
	return false;
}

/* A break-glass on the pod template travels to every child: judge it now, with the
 * requester's groups, so that only a permitted one is ever inherited. */
static void bg_template(struct policy_eval_ctx *ev, json_t *ann, bool child)
{
	const char *v;
	char path[320];
	struct bg_site at = {path, !child};
	struct bg_request r;
	enum exemptions_break_glass_state st;

	if (!policy__has_template(ev))
		return;
	v = json_string_value(
	    json_object_get(json_object_get(ev->pod.meta, "annotations"), EXEMPTIONS_BREAK_GLASS_KEY));
	if (!v)
		return;
	podspec_annotation_path(&ev->pod, EXEMPTIONS_BREAK_GLASS_KEY, path, sizeof(path));
	st = bg_judge(ev, &at, v, &r);
	bg_annotate(ann, "template-break-glass", &r, ev->in->user, bg_status(st), child);
}

enum exemptions_break_glass_state exemptions_break_glass(struct policy_eval_ctx *ev, json_t *ann)
{
	const char *v = json_string_value(json_object_get(ev->annotations, EXEMPTIONS_BREAK_GLASS_KEY));
	bool child = exemptions_controller_child(ev);
	struct bg_site at = {BG_PATH, !child};
	struct bg_request r;
	enum exemptions_break_glass_state st;

	bg_template(ev, ann, child);
	if (!v)
		return EXEMPTIONS_BG_ABSENT;
	st = bg_judge(ev, &at, v, &r);
	bg_annotate(ann, "break-glass", &r, ev->in->user, bg_status(st), child);
	return st;
}
