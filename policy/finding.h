/* Internal to policy/: what the check groups (podsecurity, zerotrust, residency, compliance,
 * exemptions) share to report a finding. Below both the groups and engine.c, which runs them:
 * nothing here calls a group or the engine. */
#ifndef SAQR_POLICY_FINDING_H
#define SAQR_POLICY_FINDING_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "policy/policy_internal.h"

/* Record a finding in ev->d (the decision owns the copies of rule, path and message). Past
 * POLICY_MAX_VIOLATIONS it is only counted in ev->dropped, except that a denial displaces a
 * warn or audit finding (warnings never crowd out denials); an allocation failure is kept in
 * ev->err and the caller carries on. */
void policy__violation(struct policy_eval_ctx *ev, enum policy_enforcement enf, const char *rule,
		       const char *path, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void policy__vviolation(struct policy_eval_ctx *ev, enum policy_enforcement enf, const char *rule,
			const char *path, const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

/* The value of a saqr.dev key: the object's label, else its annotation, else NULL (borrowed). */
const char *policy__meta_value(const struct policy_eval_ctx *ev, const char *key);
/* "metadata.annotations[key]" when key is only an annotation, else "metadata.labels[key]"
 * (under ev->meta_prefix instead of "metadata" during the template pass, whose findings also
 * say that pods created from the template would be refused). */
void policy__meta_path(const struct policy_eval_ctx *ev, const char *key, char *out, size_t n);

/* Whether ev's pod comes from a pod template of the object's own (a workload controller), so
 * that its metadata is what the object's children carry. */
bool policy__has_template(const struct policy_eval_ctx *ev);

bool policy__strlist_has(const struct policy_strlist *l, const char *s);
/* Append the list as `a, b, c` (or `(none)`) to b. 0, SAQR_ENOMEM or SAQR_ETOOBIG. */
int policy__strlist_join(const struct policy_strlist *l, struct buf *b);

#endif
