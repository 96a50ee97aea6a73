/* Manifest files into objects. */
#include "saqrctl/documents.h"

#include <ctype.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "common/yamljson.h"

bool cli_documents_is_json(const char *data, size_t len)
{
	size_t i = 0;

	while (i < len && isspace((unsigned char)data[i]))
		i++;
	return i < len && (data[i] == '{' || data[i] == '[');
}

static bool cli_is_list(const json_t *doc)
{
	const char *kind = json_string_value(json_object_get(doc, "kind"));
	size_t n = kind ? strlen(kind) : 0;

	return n >= 4 && strcmp(kind + n - 4, "List") == 0 && json_is_array(json_object_get(doc, "items"));
}

static int cli_add(json_t *out, size_t doc, long item, json_t *obj)
{
	json_t *e;

	if (!json_is_object(obj))
		e = json_pack("{s:I, s:s}", "document", (json_int_t)doc, "error",
			      "the document is not an object");
	else if (!json_is_string(json_object_get(obj, "kind")))
		e = json_pack("{s:I, s:s}", "document", (json_int_t)doc, "error",
			      "the document is not a Kubernetes object (it has no kind)");
	else
		e = json_pack("{s:I, s:O}", "document", (json_int_t)doc, "object", obj);
	if (e && item >= 0 && json_object_set_new(e, "item", json_integer(item)) != 0) {
		json_decref(e);
		e = NULL;
	}
	return e && json_array_append_new(out, e) == 0 ? 0 : SAQR_ENOMEM;
}

static int cli_expand(json_t *out, json_t *docs)
{
	size_t i, j;
	int rc = 0;

	for (i = 0; i < json_array_size(docs) && rc == 0; i++) {
		json_t *doc = json_array_get(docs, i);
		json_t *items = json_object_get(doc, "items");

		if (!cli_is_list(doc)) {
			rc = cli_add(out, i + 1, -1, doc);
			continue;
		}
		for (j = 0; j < json_array_size(items) && rc == 0; j++)
			rc = cli_add(out, i + 1, (long)j, json_array_get(items, j));
	}
	return rc;
}

int cli_documents_split(const char *data, size_t len, bool json, json_t **out, char *err, size_t errlen)
{
	json_t *docs, *entries;
	int rc;

	if (json) {
		json_t *one = json_parse_capped(data, len, CLI_MAX_FILE_BYTES, err, errlen);

		if (!one)
			return len > CLI_MAX_FILE_BYTES ? SAQR_ETOOBIG : SAQR_EPARSE;
		docs = yaml_json_kube_numbers(one) == 0 ? json_array() : NULL;
		if (!docs)
			json_decref(one);
		if (!docs || json_array_append_new(docs, one) != 0) {
			json_decref(docs);
			return SAQR_ENOMEM;
		}
	} else {
		rc = yaml_to_json_docs(data, len, CLI_MAX_FILE_BYTES, &docs, err, errlen);
		if (rc)
			return rc;
	}
	entries = json_array();
	rc = entries ? cli_expand(entries, docs) : SAQR_ENOMEM;
	json_decref(docs);
	if (rc) {
		json_decref(entries);
		return rc;
	}
	*out = entries;
	return 0;
}
