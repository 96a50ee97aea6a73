/* Helpers for the policy engine's unit tests: objects from YAML, policies from YAML, dotted-path
 * edits, evaluation, and finding lookups. Failures abort the test through cmocka. */
#ifndef SAQR_TESTS_POLICYTEST_H
#define SAQR_TESTS_POLICYTEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "policy/policy.h"

/* 2030-01-01T00:00:00Z: the "now" of every evaluation below. */
#define POLICYTEST_NOW ((time_t)1893456000)

/* One YAML (or JSON) document as a new object. */
json_t *policytest_yaml(const char *yaml);
/* A policy from a YAML text (asserts it loads). */
struct policy *policytest_policy(const char *yaml);
/* A policy with only the named check group enabled ("podSecurity", "zeroTrust",
 * "dataResidency" or "compliance"; exemptions keep their defaults), with extra YAML lines
 * (indented by 4 spaces) appended under that group. */
struct policy *policytest_only(const char *group, const char *extra);

/* Set (a new reference) or, with value NULL, delete the value at a dotted path, creating
 * objects on the way; digit segments index arrays that must already be long enough. */
void policytest_set(json_t *root, const char *path, json_t *value);

/* Evaluate obj as a CREATE with no user at POLICYTEST_NOW; asserts policy_eval returns 0. */
void policytest_eval(const struct policy *p, const json_t *obj, struct policy_decision *d);
void policytest_eval_as(const struct policy *p, const json_t *obj, const struct policy_user *user,
			struct policy_decision *d);

/* Findings with this rule (and, unless path is NULL, this path). */
size_t policytest_count(const struct policy_decision *d, const char *rule, const char *path);
/* The first such finding, or NULL. */
const struct policy_violation *policytest_find(const struct policy_decision *d, const char *rule,
					       const char *path);
/* Print every finding (for failing tests). */
void policytest_dump(const struct policy_decision *d);

/* The contents of a file under $SAQR_ROOT (or the working directory); caller frees. */
char *policytest_read(const char *relpath, size_t *len);
/* The absolute path of a file under $SAQR_ROOT, in a static buffer. */
const char *policytest_path(const char *relpath);

#endif
