/* Operator test fixtures: load JSON from tests/data/operator/, look into produced objects. */
#include "opfixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *opfix_load(const char *name)
{
	const char *root = getenv("SAQR_ROOT");
	char path[1024];
	json_error_t err;
	json_t *v;

	snprintf(path, sizeof(path), "%s/tests/data/operator/%s", root && *root ? root : ".", name);
	v = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
	if (!v)
		fprintf(stderr, "opfix_load %s: line %d: %s\n", path, err.line, err.text);
	return v;
}

int opfix_env_index(const json_t *container, const char *name)
{
	json_t *env = json_object_get(container, "env");
	size_t i;
	json_t *e;

	json_array_foreach(env, i, e)
	{
		const char *n = json_string_value(json_object_get(e, "name"));

		if (n && strcmp(n, name) == 0)
			return (int)i;
	}
	return -1;
}

json_t *opfix_env(const json_t *container, const char *name)
{
	int i = opfix_env_index(container, name);

	return i < 0 ? NULL : json_array_get(json_object_get(container, "env"), (size_t)i);
}

const char *opfix_dump(const json_t *v)
{
	static char out[65536];
	char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);

	snprintf(out, sizeof(out), "%s", s ? s : "(null)");
	free(s);
	return out;
}
