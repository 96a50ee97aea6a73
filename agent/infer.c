/* KServe V1 and Open Inference Protocol V2 payloads into the agent's distributions. */
#include "agent/infer.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/err.h"

#define IF_MAX_DEPTH 8 /* nested tensor data deeper than this is not a value */

enum infer_proto infer_route(const char *method, const char *target)
{
	size_t n = strcspn(target, "?#"), pre;
	const char *m, *slash;

	if (strcmp(method, "POST") != 0)
		return INFER_NONE;
	pre = strlen("/v1/models/");
	if (n > pre + 8 && strncmp(target, "/v1/models/", pre) == 0 &&
	    strncmp(target + n - 8, ":predict", 8) == 0)
		return memchr(target + pre, '/', n - pre) ? INFER_NONE : INFER_V1;
	pre = strlen("/v2/models/");
	if (n <= pre + 6 || strncmp(target, "/v2/models/", pre) != 0 ||
	    strncmp(target + n - 6, "/infer", 6) != 0)
		return INFER_NONE;
	m = target + pre; /* <m>/infer or <m>/versions/<v>/infer */
	slash = memchr(m, '/', (size_t)(target + n - m));
	if (slash == m)
		return INFER_NONE;
	if (slash == target + n - 6)
		return INFER_V2;
	if (strncmp(slash, "/versions/", 10) != 0 || slash + 10 >= target + n - 6)
		return INFER_NONE;
	return memchr(slash + 10, '/', (size_t)(target + n - 6 - (slash + 10))) ? INFER_NONE : INFER_V2;
}

/* ---- values ---- */

static void if_value(struct agent_dist *d, const struct agent_feature *f, const json_t *v, size_t *invalid)
{
	if (json_is_number(v))
		agent_dist_number(d, f, json_number_value(v));
	else if (json_is_string(v) && agent_dist_string(d, f, json_string_value(v)))
		return;
	else if (json_is_boolean(v) && f->type == AGENT_CATEGORICAL)
		agent_dist_string(d, f, json_is_true(v) ? "true" : "false");
	else if (json_is_boolean(v))
		agent_dist_number(d, f, json_is_true(v) ? 1 : 0);
	else
		(*invalid)++;
}

/* The key a feature is found under (V1 object rows, V2 tensor names). */
static const char *if_key(const struct agent_feature *f)
{
	return f->input ? f->input : f->name;
}

/* ---- tensors ---- */

struct if_walk {
	struct agent_dist *d;
	const struct agent_feature *f;
	size_t pos;   /* leaves seen */
	size_t width; /* elements per row; 0: unknown */
	size_t *invalid;
};

static void if_leaves(const json_t *v, struct if_walk *w, int depth)
{
	size_t i;

	if (json_is_array(v) && depth < IF_MAX_DEPTH) {
		for (i = 0; i < json_array_size(v); i++)
			if_leaves(json_array_get(v, i), w, depth + 1);
		return;
	}
	i = w->pos++;
	if (w->f->index < 0 || (w->width && i % w->width == (size_t)w->f->index))
		if_value(w->d, w->f, v, w->invalid);
}

/* Elements per row: the product of shape[1:], else the length of data's first row. */
static size_t if_row_width(const json_t *tensor, const json_t *data)
{
	const json_t *shape = json_object_get(tensor, "shape");
	uint64_t w = 1;

	if (json_is_array(shape) && json_array_size(shape) >= 1) {
		for (size_t i = 1; i < json_array_size(shape); i++) {
			const json_t *dim = json_array_get(shape, i);

			if (!json_is_number(dim) || json_number_value(dim) < 1 ||
			    json_number_value(dim) > 1e9)
				return 0;
			w *= (uint64_t)json_number_value(dim);
			if (w > ((uint64_t)1 << 32))
				return 0;
		}
		return (size_t)w;
	}
	return json_is_array(json_array_get(data, 0)) ? json_array_size(json_array_get(data, 0)) : 1;
}

static void if_tensor(struct agent_dist *d, const struct agent_feature *f, const json_t *tensor,
		      size_t *invalid)
{
	const json_t *data = json_object_get(tensor, "data");
	struct if_walk w = {d, f, 0, 0, invalid};

	if (!json_is_array(data)) {
		(*invalid)++;
		return;
	}
	w.width = if_row_width(tensor, data);
	if_leaves(data, &w, 0);
}

/* The tensor called name in a list of tensors, or with first, the first one. */
static const json_t *if_find_tensor(const json_t *list, const char *name, bool first)
{
	for (size_t i = 0; i < json_array_size(list); i++) {
		const json_t *t = json_array_get(list, i);
		const char *tn = json_string_value(json_object_get(t, "name"));

		if (tn && name && strcmp(tn, name) == 0)
			return t;
	}
	return first ? json_array_get(list, 0) : NULL;
}

/* ---- V1 rows ---- */

static void if_row(struct agent_dist *d, const struct agent_feature *f, const json_t *row, const char *key,
		   size_t *invalid)
{
	const json_t *v = NULL;

	if (json_is_array(row))
		v = json_array_get(row, f->index >= 0 ? (size_t)f->index : 0);
	else if (json_is_object(row))
		v = key ? json_object_get(row, key) : NULL;
	else if (f->index <= 0)
		v = row;
	if (v)
		if_value(d, f, v, invalid);
}

/* A V1 request row: arrays need the feature's index. */
static void if_request_row(struct agent_dist *d, const struct agent_feature *f, const json_t *row,
			   size_t *invalid)
{
	if (json_is_array(row) && f->index < 0)
		return;
	if_row(d, f, row, if_key(f), invalid);
}

/* ---- payloads ---- */

static int if_parse(const char *body, size_t len, json_t **out)
{
	json_t *doc = json_loadb(body, len, JSON_DECODE_INT_AS_REAL, NULL);

	if (!doc)
		return SAQR_EPARSE;
	if (!json_is_object(doc)) {
		json_decref(doc);
		return SAQR_EINVAL;
	}
	*out = doc;
	return 0;
}

static int if_v1_request(struct agent_stats *s, const json_t *doc, size_t *invalid)
{
	const json_t *rows = json_object_get(doc, "instances");
	size_t i;

	if (!rows)
		rows = json_object_get(doc, "inputs");
	if (!json_is_array(rows))
		return SAQR_EINVAL;
	for (i = 0; i < json_array_size(rows); i++)
		for (size_t j = 0; j < s->cfg->nfeatures; j++)
			if_request_row(&s->features[j], &s->cfg->features[j], json_array_get(rows, i),
				       invalid);
	return 0;
}

static int if_v2_request(struct agent_stats *s, const json_t *doc, size_t *invalid)
{
	const json_t *inputs = json_object_get(doc, "inputs");

	if (!json_is_array(inputs))
		return SAQR_EINVAL;
	for (size_t j = 0; j < s->cfg->nfeatures; j++) {
		const json_t *t = if_find_tensor(inputs, if_key(&s->cfg->features[j]), false);

		if (t)
			if_tensor(&s->features[j], &s->cfg->features[j], t, invalid);
	}
	return 0;
}

int infer_request(struct agent_stats *s, enum infer_proto proto, const char *body, size_t len,
		  size_t *invalid)
{
	size_t skipped = 0;
	json_t *doc = NULL;
	int rc = if_parse(body, len, &doc);

	if (rc == 0)
		rc = proto == INFER_V1 ? if_v1_request(s, doc, &skipped) : if_v2_request(s, doc, &skipped);
	json_decref(doc);
	if (invalid)
		*invalid = skipped;
	return rc;
}

int infer_response(struct agent_stats *s, enum infer_proto proto, const char *body, size_t len,
		   size_t *invalid)
{
	const struct agent_feature *f = &s->cfg->prediction;
	const json_t *list, *t;
	size_t skipped = 0, i;
	json_t *doc = NULL;
	int rc;

	if (!s->cfg->predictions)
		return 0;
	rc = if_parse(body, len, &doc);
	list = json_object_get(doc, proto == INFER_V1 ? "predictions" : "outputs");
	if (rc == 0 && !json_is_array(list))
		rc = SAQR_EINVAL;
	if (rc == 0 && proto == INFER_V1) {
		for (i = 0; i < json_array_size(list); i++)
			if_row(&s->prediction, f, json_array_get(list, i), f->input, &skipped);
	} else if (rc == 0) {
		t = if_find_tensor(list, f->input, true);
		if (t)
			if_tensor(&s->prediction, f, t, &skipped);
	}
	json_decref(doc);
	if (invalid)
		*invalid = skipped;
	return rc;
}
