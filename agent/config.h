/* saqr-agent's configuration: which features of the inference payloads to record and how (bin
 * edges, categories, where each sits in a V1 row or a V2 tensor), and whether to record the
 * predictions. A JSON or YAML file (the operator mounts it from a ConfigMap); docs/agent.md
 * defines the format. Immutable once loaded: a reload builds a new one. */
#ifndef SAQR_AGENT_CONFIG_H
#define SAQR_AGENT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define AGENT_MAX_CONFIG ((size_t)1 << 20) /* bytes of the file */
#define AGENT_MAX_FEATURES 200
#define AGENT_MAX_EDGES 200	  /* as a DriftPolicy baseline: 201 buckets with +Inf */
#define AGENT_MAX_CATEGORIES 1000 /* per feature, __other__ besides */
#define AGENT_MAX_NAME 128
#define AGENT_OTHER "__other__"

enum agent_ftype { AGENT_NUMERICAL, AGENT_CATEGORICAL };

/* One recorded distribution (a feature, or the predictions). */
struct agent_feature {
	char *name; /* the `feature` label */
	enum agent_ftype type;
	double *edges; /* numerical: increasing bucket bounds (le), +Inf implied */
	size_t nedges;
	char **categories; /* categorical: sorted, unique */
	size_t ncategories;
	long index;  /* column in a V1 row array / V2 tensor row; -1: none */
	char *input; /* V2 tensor (or output) name, V1 object key; NULL: name */
};

struct agent_config {
	struct agent_feature *features;
	size_t nfeatures;
	bool predictions;		 /* record the predictions */
	struct agent_feature prediction; /* its distribution (name "prediction" by default) */
};

/* Parse a configuration (JSON or YAML text of len bytes). 0 with *out owned by the caller
 * (agent_config_free), or SAQR_EPARSE / SAQR_EINVAL / SAQR_ETOOBIG with the reason in err
 * ("features[2].edges: must increase"). */
int agent_config_parse(const char *text, size_t len, struct agent_config **out, char *err, size_t errlen);
/* Read and parse a file; SAQR_EIO as well. */
int agent_config_load(const char *path, struct agent_config **out, char *err, size_t errlen);
/* An empty configuration (nothing recorded but latency and codes). NULL when out of memory. */
struct agent_config *agent_config_empty(void);
/* NULL is a no-op. */
void agent_config_free(struct agent_config *c);
/* Whether two distributions have the same name, type, bins and categories (so their counts
 * carry over a reload). */
bool agent_feature_same(const struct agent_feature *a, const struct agent_feature *b);

#endif
