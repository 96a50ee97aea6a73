/* Dotted-path access to jansson values and capped parsing. */
#include "common/jsonutil.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *json_step(const json_t *cur, const char *seg, size_t n)
{
	char key[256];
	size_t i;
	bool digits = n > 0;

	if (n >= sizeof(key))
		return NULL;
	memcpy(key, seg, n);
	key[n] = '\0';
	for (i = 0; i < n; i++)
		digits = digits && isdigit((unsigned char)key[i]);
	if (json_is_array(cur) && digits)
		return json_array_get(cur, strtoul(key, NULL, 10));
	return json_is_object(cur) ? json_object_get(cur, key) : NULL;
}

json_t *json_path(const json_t *root, const char *path)
{
	const json_t *cur = root;
	const char *seg = path;

	while (cur && seg && *seg) {
		const char *dot = strchr(seg, '.');
		size_t n = dot ? (size_t)(dot - seg) : strlen(seg);

		cur = json_step(cur, seg, n);
		seg = dot ? dot + 1 : NULL;
	}
	return (json_t *)cur;
}

const char *json_path_str(const json_t *root, const char *path, const char *def)
{
	const char *s = json_string_value(json_path(root, path));

	return s ? s : def;
}

long long json_path_int(const json_t *root, const char *path, long long def)
{
	json_t *v = json_path(root, path);

	return json_is_integer(v) ? json_integer_value(v) : def;
}

bool json_path_bool(const json_t *root, const char *path, bool def, bool *present)
{
	json_t *v = json_path(root, path);

	if (present)
		*present = json_is_boolean(v);
	return json_is_boolean(v) ? json_is_true(v) : def;
}

json_t *json_parse_capped(const char *data, size_t len, size_t max, char *err, size_t errlen)
{
	json_error_t je;
	json_t *v;

	if (len > max) {
		if (err)
			snprintf(err, errlen, "document of %zu bytes exceeds the %zu-byte limit", len, max);
		return NULL;
	}
	v = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!v && err)
		snprintf(err, errlen, "line %d column %d: %s", je.line, je.column, je.text);
	return v;
}

char *json_dump_canonical(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

bool json_same(const json_t *a, const json_t *b)
{
	return json_equal((json_t *)a, (json_t *)b) != 0;
}
