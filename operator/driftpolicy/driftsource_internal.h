/* Helpers shared by the files of the driftsource module (not part of its interface). */
#ifndef SAQR_OPERATOR_DRIFTSOURCE_INTERNAL_H
#define SAQR_OPERATOR_DRIFTSOURCE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "operator/driftpolicy/driftsource.h"

/* Add value to key's count in *c (n entries), appending the key when new; at most cap keys.
 * 0, SAQR_ETOOBIG or SAQR_ENOMEM. */
int driftsource__count_add(struct driftsource_count **c, size_t *n, const char *key, double value,
			   size_t cap);
/* The feature called name of that kind in d (mutable), or NULL. */
struct driftsource_feature *driftsource__find(const struct driftsource_data *d, const char *name,
					      bool categorical);
/* A new empty feature appended to d (at most DRIFTSOURCE_MAX_FEATURES) into *out (borrowed).
 * 0, SAQR_ETOOBIG or SAQR_ENOMEM. */
int driftsource__feature_new(struct driftsource_data *d, const char *name, bool categorical,
			     struct driftsource_feature **out);

#endif
