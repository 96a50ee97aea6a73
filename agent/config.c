/* Loading and checking saqr-agent's configuration. Unknown keys are refused, so that a typo
 * ("edge:") is an error and not a feature silently not recorded. */
#include "agent/config.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/yamljson.h"

static int cf_fail(int rc, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int cf_fail(int rc, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static void cf_feature_release(struct agent_feature *f)
{
	free(f->name);
	free(f->edges);
	for (size_t i = 0; i < f->ncategories; i++)
		free(f->categories[i]);
	free(f->categories);
	free(f->input);
	memset(f, 0, sizeof(*f));
}

void agent_config_free(struct agent_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nfeatures; i++)
		cf_feature_release(&c->features[i]);
	free(c->features);
	cf_feature_release(&c->prediction);
	free(c);
}

struct agent_config *agent_config_empty(void)
{
	return calloc(1, sizeof(struct agent_config));
}

/* Refuse keys other than the allowed ones (a NULL-terminated list). */
static int cf_keys(const json_t *o, const char *const *allowed, const char *where, char *err, size_t errlen)
{
	for (void *it = json_object_iter((json_t *)o); it; it = json_object_iter_next((json_t *)o, it)) {
		const char *key = json_object_iter_key(it);
		size_t i = 0;

		while (allowed[i] && strcmp(allowed[i], key) != 0)
			i++;
		if (!allowed[i])
			return cf_fail(SAQR_EINVAL, err, errlen, "%s: unknown key %s", where, key);
	}
	return 0;
}

static int cf_edges(const json_t *a, struct agent_feature *f, const char *where, char *err, size_t errlen)
{
	size_t n = json_array_size(a);

	if (!json_is_array(a) || n == 0 || n > AGENT_MAX_EDGES)
		return cf_fail(SAQR_EINVAL, err, errlen, "%s.edges: 1 to %d numbers", where, AGENT_MAX_EDGES);
	f->edges = malloc(n * sizeof(double));
	if (!f->edges)
		return SAQR_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const json_t *e = json_array_get(a, i);

		if (!json_is_number(e) || !isfinite(json_number_value(e)))
			return cf_fail(SAQR_EINVAL, err, errlen, "%s.edges[%zu]: not a finite number", where,
				       i);
		f->edges[i] = json_number_value(e);
		if (i > 0 && !(f->edges[i] > f->edges[i - 1]))
			return cf_fail(SAQR_EINVAL, err, errlen, "%s.edges: must increase", where);
		f->nedges = i + 1;
	}
	return 0;
}

static int cf_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cf_categories(const json_t *a, struct agent_feature *f, const char *where, char *err,
			 size_t errlen)
{
	size_t n = json_array_size(a);

	if (!json_is_array(a) || n == 0 || n > AGENT_MAX_CATEGORIES)
		return cf_fail(SAQR_EINVAL, err, errlen, "%s.categories: 1 to %d strings", where,
			       AGENT_MAX_CATEGORIES);
	f->categories = calloc(n, sizeof(char *));
	if (!f->categories)
		return SAQR_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(a, i));

		if (!s || !s[0] || strlen(s) > AGENT_MAX_NAME || strcmp(s, AGENT_OTHER) == 0)
			return cf_fail(SAQR_EINVAL, err, errlen,
				       "%s.categories[%zu]: a non-empty string of at most %d bytes, not %s",
				       where, i, AGENT_MAX_NAME, AGENT_OTHER);
		f->categories[i] = strdup(s);
		if (!f->categories[i])
			return SAQR_ENOMEM;
		f->ncategories = i + 1;
	}
	qsort(f->categories, n, sizeof(char *), cf_strcmp);
	for (size_t i = 1; i < n; i++)
		if (strcmp(f->categories[i], f->categories[i - 1]) == 0)
			return cf_fail(SAQR_EINVAL, err, errlen, "%s.categories: %s twice", where,
				       f->categories[i]);
	return 0;
}

static int cf_name(const char *s, char **out, const char *what, const char *where, char *err, size_t errlen)
{
	if (!s || !s[0] || strlen(s) > AGENT_MAX_NAME)
		return cf_fail(SAQR_EINVAL, err, errlen, "%s.%s: a non-empty string of at most %d bytes",
			       where, what, AGENT_MAX_NAME);
	*out = strdup(s);
	return *out ? 0 : SAQR_ENOMEM;
}

/* The fields a feature and the predictions share: type, bins or categories, index, input. */
static int cf_distribution(const json_t *o, const char *input_key, struct agent_feature *f, const char *where,
			   char *err, size_t errlen)
{
	const char *type = json_string_value(json_object_get(o, "type"));
	const json_t *index = json_object_get(o, "index"), *input = json_object_get(o, input_key);
	int rc;

	if (type && strcmp(type, "categorical") == 0)
		f->type = AGENT_CATEGORICAL;
	else if (type && strcmp(type, "numerical") != 0)
		return cf_fail(SAQR_EINVAL, err, errlen, "%s.type: numerical or categorical", where);
	if (f->type == AGENT_NUMERICAL && json_object_get(o, "categories"))
		return cf_fail(SAQR_EINVAL, err, errlen, "%s: a numerical feature has edges, not categories",
			       where);
	if (f->type == AGENT_CATEGORICAL && json_object_get(o, "edges"))
		return cf_fail(SAQR_EINVAL, err, errlen,
			       "%s: a categorical feature has categories, not edges", where);
	rc = f->type == AGENT_NUMERICAL
		 ? cf_edges(json_object_get(o, "edges"), f, where, err, errlen)
		 : cf_categories(json_object_get(o, "categories"), f, where, err, errlen);
	if (rc)
		return rc;
	f->index = -1;
	if (index &&
	    (!json_is_integer(index) || json_integer_value(index) < 0 || json_integer_value(index) > 1000000))
		return cf_fail(SAQR_EINVAL, err, errlen, "%s.index: an integer from 0 to 1000000", where);
	if (index)
		f->index = (long)json_integer_value(index);
	if (input)
		return cf_name(json_string_value(input), &f->input, input_key, where, err, errlen);
	return 0;
}

static int cf_feature(const json_t *o, struct agent_feature *f, const char *where, char *err, size_t errlen)
{
	static const char *const keys[] = {"name", "type", "edges", "categories", "index", "input", NULL};
	int rc;

	if (!json_is_object(o))
		return cf_fail(SAQR_EINVAL, err, errlen, "%s: not an object", where);
	if (!json_object_get(o, "type"))
		return cf_fail(SAQR_EINVAL, err, errlen, "%s.type: required (numerical or categorical)",
			       where);
	rc = cf_keys(o, keys, where, err, errlen);
	if (!rc)
		rc = cf_name(json_string_value(json_object_get(o, "name")), &f->name, "name", where, err,
			     errlen);
	if (!rc)
		rc = cf_distribution(o, "input", f, where, err, errlen);
	return rc;
}

static int cf_features(const json_t *a, struct agent_config *c, char *err, size_t errlen)
{
	size_t n = json_array_size(a);
	char where[48];
	int rc = 0;

	if (!a)
		return 0;
	if (!json_is_array(a) || n > AGENT_MAX_FEATURES)
		return cf_fail(SAQR_EINVAL, err, errlen, "features: a list of at most %d",
			       AGENT_MAX_FEATURES);
	c->features = calloc(n ? n : 1, sizeof(*c->features));
	if (!c->features)
		return SAQR_ENOMEM;
	for (size_t i = 0; i < n && rc == 0; i++) {
		snprintf(where, sizeof(where), "features[%zu]", i);
		rc = cf_feature(json_array_get(a, i), &c->features[i], where, err, errlen);
		c->nfeatures = i + 1;
		for (size_t j = 0; rc == 0 && c->features[i].name && j < i; j++)
			if (c->features[j].name && strcmp(c->features[j].name, c->features[i].name) == 0)
				rc = cf_fail(SAQR_EINVAL, err, errlen, "%s.name: %s twice", where,
					     c->features[i].name);
	}
	return rc;
}

static int cf_predictions(const json_t *o, struct agent_config *c, char *err, size_t errlen)
{
	static const char *const keys[] = {"enabled",	 "name",  "type",   "edges",
					   "categories", "index", "output", NULL};
	const json_t *enabled = json_object_get(o, "enabled");
	const json_t *name = json_object_get(o, "name");
	int rc;

	if (!o)
		return 0;
	if (!json_is_object(o))
		return cf_fail(SAQR_EINVAL, err, errlen, "predictions: not an object");
	rc = cf_keys(o, keys, "predictions", err, errlen);
	if (rc)
		return rc;
	if (enabled && !json_is_boolean(enabled))
		return cf_fail(SAQR_EINVAL, err, errlen, "predictions.enabled: true or false");
	c->predictions = !enabled || json_is_true(enabled);
	if (!c->predictions)
		return 0;
	rc = cf_name(name ? json_string_value(name) : "prediction", &c->prediction.name, "name",
		     "predictions", err, errlen);
	if (!rc)
		rc = cf_distribution(o, "output", &c->prediction, "predictions", err, errlen);
	return rc;
}

static int cf_document(const char *text, size_t len, json_t **out, char *err, size_t errlen)
{
	char why[256] = "";
	int rc;

	if (len > AGENT_MAX_CONFIG)
		return cf_fail(SAQR_ETOOBIG, err, errlen, "larger than %zu bytes", AGENT_MAX_CONFIG);
	rc = yaml_to_json(text, len, AGENT_MAX_CONFIG, out, why, sizeof(why));
	if (rc)
		return cf_fail(rc, err, errlen, "%s", why);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return cf_fail(SAQR_EINVAL, err, errlen, "the configuration is not a mapping");
	}
	return 0;
}

int agent_config_parse(const char *text, size_t len, struct agent_config **out, char *err, size_t errlen)
{
	static const char *const keys[] = {"features", "predictions", NULL};
	struct agent_config *c = agent_config_empty();
	json_t *doc = NULL;
	int rc;

	if (!c)
		return SAQR_ENOMEM;
	rc = cf_document(text, len, &doc, err, errlen);
	if (!rc)
		rc = cf_keys(doc, keys, "configuration", err, errlen);
	if (!rc)
		rc = cf_features(json_object_get(doc, "features"), c, err, errlen);
	if (!rc)
		rc = cf_predictions(json_object_get(doc, "predictions"), c, err, errlen);
	json_decref(doc);
	if (rc == SAQR_ENOMEM)
		cf_fail(rc, err, errlen, "out of memory");
	if (rc) {
		agent_config_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

int agent_config_load(const char *path, struct agent_config **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *text;
	size_t n;
	int rc;

	if (!f)
		return cf_fail(SAQR_EIO, err, errlen, "%s: cannot open", path);
	text = malloc(AGENT_MAX_CONFIG + 1);
	if (!text) {
		fclose(f);
		return SAQR_ENOMEM;
	}
	n = fread(text, 1, AGENT_MAX_CONFIG + 1, f);
	rc = ferror(f) ? cf_fail(SAQR_EIO, err, errlen, "%s: cannot read", path)
		       : agent_config_parse(text, n, out, err, errlen);
	fclose(f);
	free(text);
	return rc;
}

bool agent_feature_same(const struct agent_feature *a, const struct agent_feature *b)
{
	if (!a->name || !b->name || strcmp(a->name, b->name) != 0 || a->type != b->type ||
	    a->nedges != b->nedges || a->ncategories != b->ncategories)
		return false;
	if (a->nedges && memcmp(a->edges, b->edges, a->nedges * sizeof(double)) != 0)
		return false;
	for (size_t i = 0; i < a->ncategories; i++)
		if (strcmp(a->categories[i], b->categories[i]) != 0)
			return false;
	return true;
}
