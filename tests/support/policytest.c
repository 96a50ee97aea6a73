/* Policy test helpers (see policytest.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonutil.h"
#include "common/yamljson.h"
#include "policytest.h"

json_t *policytest_yaml(const char *yaml)
{
	char err[256];
	json_t *v = NULL;

	if (yaml_to_json(yaml, strlen(yaml), 1u << 20, &v, err, sizeof(err)) != 0)
		fail_msg("bad test YAML: %s", err);
	return v;
}

struct policy *policytest_policy(const char *yaml)
{
	struct policy *p = NULL;
	char err[512];

	if (policy_load_buffer(yaml, strlen(yaml), "test.yaml", &p, err, sizeof(err)) != 0)
		fail_msg("test policy does not load: %s", err);
	return p;
}

struct policy *policytest_only(const char *group, const char *extra)
{
	static const char *const groups[] = {"podSecurity", "zeroTrust", "dataResidency", "compliance"};
	char yaml[8192];
	size_t i, n;

	n = (size_t)snprintf(yaml, sizeof(yaml),
			     "apiVersion: saqr.dev/v1alpha1\nkind: AdmissionPolicy\nspec:\n");
	for (i = 0; i < 4 && n < sizeof(yaml); i++) {
		bool on = strcmp(group, groups[i]) == 0;

		n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "  %s:\n    enabled: %s\n%s", groups[i],
				      on ? "true" : "false", on && extra ? extra : "");
	}
	return policytest_policy(yaml);
}

/* Step into (or create) the child named by the segment [seg, seg+n). */
static json_t *policytest_step(json_t *cur, const char *seg, size_t n, bool create)
{
	char key[256];
	json_t *next;

	assert_true(n < sizeof(key));
	memcpy(key, seg, n);
	key[n] = '\0';
	if (json_is_array(cur))
		return json_array_get(cur, strtoul(key, NULL, 10));
	next = json_object_get(cur, key);
	if (!next && create) {
		next = json_object();
		json_object_set_new(cur, key, next);
	}
	return next;
}

void policytest_set(json_t *root, const char *path, json_t *value)
{
	json_t *cur = root;
	const char *seg = path, *dot;

	while ((dot = strchr(seg, '.')) != NULL) {
		cur = policytest_step(cur, seg, (size_t)(dot - seg), true);
		assert_non_null(cur);
		seg = dot + 1;
	}
	if (json_is_array(cur)) {
		size_t i = strtoul(seg, NULL, 10);

		assert_true(value != NULL);
		assert_int_equal(json_array_set_new(cur, i, value), 0);
	} else if (value) {
		assert_int_equal(json_object_set_new(cur, seg, value), 0);
	} else {
		json_object_del(cur, seg);
	}
}

void policytest_eval_as(const struct policy *p, const json_t *obj, const struct policy_user *user,
			struct policy_decision *d)
{
	struct policy_input in = {obj, "CREATE", NULL, user, POLICYTEST_NOW};

	policy_decision_init(d);
	assert_int_equal(policy_eval(p, &in, d), 0);
}

void policytest_eval(const struct policy *p, const json_t *obj, struct policy_decision *d)
{
	policytest_eval_as(p, obj, NULL, d);
}

size_t policytest_count(const struct policy_decision *d, const char *rule, const char *path)
{
	size_t i, n = 0;

	for (i = 0; i < d->nviolations; i++)
		if (strcmp(d->violations[i].rule, rule) == 0 &&
		    (!path || strcmp(d->violations[i].path, path) == 0))
			n++;
	return n;
}

const struct policy_violation *policytest_find(const struct policy_decision *d, const char *rule,
					       const char *path)
{
	size_t i;

	for (i = 0; i < d->nviolations; i++)
		if (strcmp(d->violations[i].rule, rule) == 0 &&
		    (!path || strcmp(d->violations[i].path, path) == 0))
			return &d->violations[i];
	return NULL;
}

void policytest_dump(const struct policy_decision *d)
{
	size_t i;

	for (i = 0; i < d->nviolations; i++)
		print_message("  [%s] %s: %s\n", d->violations[i].rule, d->violations[i].path,
			      d->violations[i].message);
}

const char *policytest_path(const char *relpath)
{
	static char path[4096];
	const char *root = getenv("SAQR_ROOT");

	snprintf(path, sizeof(path), "%s/%s", root && root[0] ? root : ".", relpath);
	return path;
}

char *policytest_read(const char *relpath, size_t *len)
{
	FILE *f = fopen(policytest_path(relpath), "rb");
	char *data;
	long n;

	if (!f)
		fail_msg("cannot open %s", policytest_path(relpath));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = malloc((size_t)n + 1);
	assert_non_null(data);
	assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
	data[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return data;
}
