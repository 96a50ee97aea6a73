/* A policy_decision's findings: recording one for the check groups (capped at
 * POLICY_MAX_VIOLATIONS), the metadata and list helpers their messages use, the deny message,
 * and freeing the decision. */
#include "policy/finding.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

#define FINDING_MESSAGE_MAX 4096
#define FINDING_PATH_MAX 512

void policy_decision_init(struct policy_decision *d)
{
	memset(d, 0, sizeof(*d));
	d->allowed = true;
}

void policy_decision_release(struct policy_decision *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->nviolations; i++) {
		free(d->violations[i].rule);
		free(d->violations[i].path);
		free(d->violations[i].message);
	}
	free(d->violations);
	json_decref(d->audit_annotations);
	policy_decision_init(d);
}

/* Room for one more violation: capacity is 8, then doubles at each power of two. */
static int finding_grow(struct policy_decision *d)
{
	size_t n = d->nviolations, cap;
	struct policy_violation *v;

	if (n != 0 && (n < 8 || (n & (n - 1)) != 0))
		return 0;
	cap = n == 0 ? 8 : n * 2;
	v = realloc(d->violations, cap * sizeof(*v));
	if (!v)
		return SAQR_ENOMEM;
	d->violations = v;
	return 0;
}

/* The list is full. A warn or audit finding is only counted. A denial is never lost: it takes
 * the place of the last warn or audit finding (which is counted instead), and when every kept
 * finding is a denial it is counted in ev->dropped_denials, which still denies. */
static bool finding_make_room(struct policy_eval_ctx *ev, enum policy_enforcement enf)
{
	struct policy_decision *d = ev->d;
	size_t i;

	ev->dropped++;
	if (enf != POLICY_ENFORCE_DENY)
		return false;
	for (i = d->nviolations; i > 0; i--)
		if (d->violations[i - 1].enforcement != POLICY_ENFORCE_DENY)
			break;
	if (i == 0) {
		ev->dropped_denials++;
		return false;
	}
	i--;
	free(d->violations[i].rule);
	free(d->violations[i].path);
	free(d->violations[i].message);
	memmove(&d->violations[i], &d->violations[i + 1],
		(d->nviolations - i - 1) * sizeof(d->violations[0]));
	d->nviolations--;
	return true;
}

static bool finding_seen(const struct policy_decision *d, const char *rule, const char *path, const char *msg)
{
	size_t i;

	for (i = 0; i < d->nviolations; i++)
		if (strcmp(d->violations[i].path, path) == 0 && strcmp(d->violations[i].rule, rule) == 0 &&
		    strcmp(d->violations[i].message, msg) == 0)
			return true;
	return false;
}

/* A nested evaluation's "spec..." path, as a path in the object being admitted. */
static const char *finding_rebase(const struct policy_eval_ctx *ev, const char *path, char *out, size_t n)
{
	if (!ev->spec_rebase || strncmp(path, "spec", 4) != 0 ||
	    (path[4] != '\0' && path[4] != '.' && path[4] != '['))
		return path;
	snprintf(out, n, "%s%s", ev->spec_rebase, path + 4);
	return out;
}

void policy__vviolation(struct policy_eval_ctx *ev, enum policy_enforcement enf, const char *rule,
			const char *path, const char *fmt, va_list ap)
{
	struct policy_decision *d = ev->d;
	struct policy_violation *v;
	char rebased[FINDING_PATH_MAX];
	struct buf msg;

	path = finding_rebase(ev, path, rebased, sizeof(rebased));
	buf_init(&msg, FINDING_MESSAGE_MAX);
	buf_vaddf(&msg, fmt, ap);
	if (ev->meta_prefix && strncmp(path, ev->meta_prefix, strlen(ev->meta_prefix)) == 0)
		buf_addf(&msg,
			 " (pods created from this template would be refused: copy the object's saqr.dev "
			 "labels and "
			 "annotations to %s)",
			 ev->meta_prefix);
	if ((ev->dedupe && finding_seen(d, rule, path, buf_str(&msg))) ||
	    (d->nviolations >= POLICY_MAX_VIOLATIONS && !finding_make_room(ev, enf))) {
		buf_release(&msg);
		return;
	}
	if (finding_grow(d) != 0) {
		buf_release(&msg);
		ev->err = SAQR_ENOMEM;
		return;
	}
	v = &d->violations[d->nviolations];
	v->rule = strdup(rule);
	v->path = strdup(path);
	v->message = buf_detach(&msg);
	v->enforcement = enf;
	if (!v->rule || !v->path || !v->message) {
		free(v->rule);
		free(v->path);
		free(v->message);
		ev->err = SAQR_ENOMEM;
		return;
	}
	d->nviolations++;
}

void policy__violation(struct policy_eval_ctx *ev, enum policy_enforcement enf, const char *rule,
		       const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	policy__vviolation(ev, enf, rule, path, fmt, ap);
	va_end(ap);
}

const char *policy__meta_value(const struct policy_eval_ctx *ev, const char *key)
{
	const char *v = json_string_value(json_object_get(ev->labels, key));

	return v ? v : json_string_value(json_object_get(ev->annotations, key));
}

void policy__meta_path(const struct policy_eval_ctx *ev, const char *key, char *out, size_t n)
{
	bool annotation = !json_object_get(ev->labels, key) && json_object_get(ev->annotations, key);

	snprintf(out, n, "%s.%s[%s]", ev->meta_prefix ? ev->meta_prefix : "metadata",
		 annotation ? "annotations" : "labels", key);
}

/* Whether the object's pod comes from a template of its own (not a Pod, not synthesised). */
bool policy__has_template(const struct policy_eval_ctx *ev)
{
	return ev->has_pod && !ev->pod.map && ev->pod.meta_path && strcmp(ev->pod.meta_path, "metadata") != 0;
}

bool policy__strlist_has(const struct policy_strlist *l, const char *s)
{
	size_t i;

	for (i = 0; s && i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return true;
	return false;
}

int policy__strlist_join(const struct policy_strlist *l, struct buf *b)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < l->n && rc == 0; i++)
		rc = buf_addf(b, "%s%s", i ? ", " : "", l->v[i]);
	return l->n == 0 ? buf_adds(b, "(none)") : rc;
}

int policy_decision_deny_message(const struct policy_decision *d, struct buf *out)
{
	size_t i;
	int rc = 0;
	bool first = true;

	for (i = 0; i < d->nviolations && rc == 0; i++) {
		const struct policy_violation *v = &d->violations[i];

		if (v->enforcement != POLICY_ENFORCE_DENY)
			continue;
		rc = buf_addf(out, "%s[%s] %s: %s", first ? "" : "; ", v->rule, v->path, v->message);
		first = false;
	}
	return rc;
}
