/* Converts libyaml's document tree into jansson values. */
#include "common/yamljson.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "common/err.h"

#define YAMLJSON_MAX_DEPTH 64

static json_t *yj_node(yaml_document_t *doc, yaml_node_t *node, int depth);

static json_t *yj_plain_scalar(const char *s, size_t n)
{
	char *end;
	long long ll;
	double d;

	if (n == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
	    strcmp(s, "NULL") == 0)
		return json_null();
	if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0)
		return json_true();
	if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
		return json_false();
	errno = 0;
	ll = strtoll(s, &end, 10);
	if (*end == '\0' && errno == 0 && (s[0] == '-' || s[0] == '+' || (s[0] >= '0' && s[0] <= '9')))
		return json_integer(ll);
	if ((s[0] == '-' || s[0] == '+' || s[0] == '.' || (s[0] >= '0' && s[0] <= '9')) &&
	    strspn(s, "+-.0123456789eE") == n) {
		d = strtod(s, &end);
		if (*end == '\0' && errno == 0)
			return json_real(d);
	}
	return json_stringn(s, n);
}

static json_t *yj_scalar(yaml_node_t *node)
{
	const char *s = (const char *)node->data.scalar.value;
	size_t n = node->data.scalar.length;

	if (node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return json_stringn(s, n);
	if (node->tag && strcmp((const char *)node->tag, YAML_STR_TAG) == 0 &&
	    node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return json_stringn(s, n);
	return yj_plain_scalar(s, n);
}

static json_t *yj_mapping(yaml_document_t *doc, yaml_node_t *node, int depth)
{
	json_t *obj = json_object();
	yaml_node_pair_t *p;

	for (p = node->data.mapping.pairs.start; obj && p < node->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		yaml_node_t *v = yaml_document_get_node(doc, p->value);
		json_t *jv;

		if (!k || k->type != YAML_SCALAR_NODE || !v)
			goto fail;
		jv = yj_node(doc, v, depth + 1);
		if (!jv)
			goto fail;
		json_object_setn_new(obj, (const char *)k->data.scalar.value, k->data.scalar.length, jv);
	}
	return obj;
fail:
	json_decref(obj);
	return NULL;
}

static json_t *yj_sequence(yaml_document_t *doc, yaml_node_t *node, int depth)
{
	json_t *arr = json_array();
	yaml_node_item_t *it;

	for (it = node->data.sequence.items.start; arr && it < node->data.sequence.items.top; it++) {
		yaml_node_t *v = yaml_document_get_node(doc, *it);
		json_t *jv = v ? yj_node(doc, v, depth + 1) : NULL;

		if (!jv) {
			json_decref(arr);
			return NULL;
		}
		json_array_append_new(arr, jv);
	}
	return arr;
}

static json_t *yj_node(yaml_document_t *doc, yaml_node_t *node, int depth)
{
	if (depth > YAMLJSON_MAX_DEPTH)
		return NULL;
	switch (node->type) {
	case YAML_SCALAR_NODE: return yj_scalar(node);
	case YAML_MAPPING_NODE: return yj_mapping(doc, node, depth);
	case YAML_SEQUENCE_NODE: return yj_sequence(doc, node, depth);
	default: return NULL;
	}
}

static void yj_error(const yaml_parser_t *p, char *err, size_t errlen)
{
	if (!err)
		return;
	snprintf(err, errlen, "line %zu column %zu: %s%s%s", p->problem_mark.line + 1,
		 p->problem_mark.column + 1, p->problem ? p->problem : "invalid YAML",
		 p->context ? " " : "", p->context ? p->context : "");
}

/* Refuse aliases: they allow exponential blow-up ("billion laughs"). */
static int yj_check_no_alias(const char *data, size_t len, char *err, size_t errlen)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int rc = 0;

	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
	for (;;) {
		if (!yaml_parser_parse(&p, &ev)) {
			yj_error(&p, err, errlen);
			rc = SAQR_EPARSE;
			break;
		}
		if (ev.type == YAML_ALIAS_EVENT) {
			if (err)
				snprintf(err, errlen, "line %zu column %zu: YAML aliases are not supported",
					 ev.start_mark.line + 1, ev.start_mark.column + 1);
			rc = SAQR_EPARSE;
		}
		if (ev.type == YAML_STREAM_END_EVENT || rc) {
			yaml_event_delete(&ev);
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return rc;
}

int yaml_to_json_docs(const char *data, size_t len, size_t max, json_t **out, char *err, size_t errlen)
{
	yaml_parser_t p;
	yaml_document_t doc;
	json_t *docs;
	int rc = 0;

	if (len > max) {
		if (err)
			snprintf(err, errlen, "document of %zu bytes exceeds the %zu-byte limit", len, max);
		return SAQR_ETOOBIG;
	}
	rc = yj_check_no_alias(data, len, err, errlen);
	if (rc)
		return rc;
	docs = json_array();
	if (!docs)
		return SAQR_ENOMEM;
	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
	for (;;) {
		yaml_node_t *root;
		json_t *v;

		if (!yaml_parser_load(&p, &doc)) {
			yj_error(&p, err, errlen);
			rc = SAQR_EPARSE;
			break;
		}
		root = yaml_document_get_root_node(&doc);
		if (!root) {
			yaml_document_delete(&doc);
			break;
		}
		v = yj_node(&doc, root, 0);
		if (!v) {
			if (err)
				snprintf(err, errlen, "line %zu column %zu: unsupported YAML (non-scalar key or nesting over %d levels)",
					 root->start_mark.line + 1, root->start_mark.column + 1, YAMLJSON_MAX_DEPTH);
			rc = SAQR_EPARSE;
		} else if (!json_is_null(v)) {
			json_array_append(docs, v);
		}
		json_decref(v);
		yaml_document_delete(&doc);
		if (rc)
			break;
	}
	yaml_parser_delete(&p);
	if (rc) {
		json_decref(docs);
		return rc;
	}
	*out = docs;
	return 0;
}

int yaml_to_json(const char *data, size_t len, size_t max, json_t **out, char *err, size_t errlen)
{
	json_t *docs;
	int rc = yaml_to_json_docs(data, len, max, &docs, err, errlen);

	if (rc)
		return rc;
	if (json_array_size(docs) > 1) {
		if (err)
			snprintf(err, errlen, "expected one YAML document, found %zu", json_array_size(docs));
		json_decref(docs);
		return SAQR_EPARSE;
	}
	*out = json_array_size(docs) ? json_incref(json_array_get(docs, 0)) : json_object();
	json_decref(docs);
	return 0;
}
