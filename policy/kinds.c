/* Kinds known by paths, and their storage URIs. A URI names its location (scheme or endpoint
 * host): one that names no allowed (provider, region) pair is refused, as the residency of
 * ModelDeployment and TrainingJob storage is. These kinds have no provider/region fields, so
 * a URI whose region is unknown is refused too (fail closed). */
#include "policy/kinds.h"

#include "policy/residency.h"

const struct podspec_paths *kinds_paths(const struct policy *p, const json_t *obj)
{
	size_t i;

	for (i = 0; i < p->custom_kinds.n; i++)
		if (podspec_paths_match(&p->custom_kinds.v[i].paths, obj))
			return &p->custom_kinds.v[i].paths;
	return podspec_ecosystem(obj);
}

static void kd_uri(void *arg, const json_t *value, const char *path)
{
	const char *uri = json_string_value(value);

	if (uri)
		residency_check_uri(arg, uri, path);
}

void kinds_uris(struct policy_eval_ctx *ev, const struct podspec_paths *k)
{
	size_t i;

	if (!ev->p->residency.g.enabled)
		return;
	for (i = 0; i < k->uris.n; i++)
		podspec_each(ev->obj, k->uris.v[i], kd_uri, ev);
}
