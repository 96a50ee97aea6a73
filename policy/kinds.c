/* Kinds known by paths, and their storage URIs. A URI names its location (scheme or endpoint
 * host): one that names no allowed (provider, region) pair is refused, as the residency of
 * ModelDeployment and TrainingJob storage is. These kinds have no provider/region fields, so
 * a URI whose region is unknown is refused too (fail closed). */
#include "policy/kinds.h"

#include <stdio.h>
#include <string.h>

#include "policy/finding.h"
#include "policy/residency.h"

const struct podspec_paths *kinds_paths(const struct policy *p, const json_t *obj)
{
	size_t i;

	for (i = 0; i < p->custom_kinds.n; i++)
		if (podspec_paths_match(&p->custom_kinds.v[i].paths, obj))
			return &p->custom_kinds.v[i].paths;
	return podspec_ecosystem(obj);
}

static bool kd_pair_allowed(const struct policy_residency *r, const char *provider, const char *region)
{
	size_t i;

	for (i = 0; i < r->allowed_locations.n; i++)
		if (strcmp(r->allowed_locations.v[i].provider, provider) == 0 &&
		    strcmp(r->allowed_locations.v[i].region, region) == 0)
			return true;
	return false;
}

static void kd_allowed(const struct policy_residency *r, struct buf *b)
{
	size_t i;

	for (i = 0; i < r->allowed_locations.n; i++)
		buf_addf(b, "%s%s/%s", i ? ", " : "", r->allowed_locations.v[i].provider,
			 r->allowed_locations.v[i].region);
	if (r->allowed_locations.n == 0)
		buf_adds(b, "(none)");
}

static void kd_uri(void *arg, const json_t *value, const char *path)
{
	struct policy_eval_ctx *ev = arg;
	const struct policy_residency *r = &ev->p->residency;
	const char *uri = json_string_value(value);
	struct residency_uri u;
	struct buf allowed;

	if (!uri)
		return;
	residency_parse_uri(uri, &u);
	if (u.in_cluster || (u.provider[0] && u.region[0] && kd_pair_allowed(r, u.provider, u.region)))
		return;
	buf_init(&allowed, 4096);
	kd_allowed(r, &allowed);
	if (u.provider[0] && u.region[0])
		policy__violation(ev, r->g.enforcement, "dataResidency.location", path,
				  "\"%s\" is in %s/%s, which is not an allowed location; allowed: %s", uri,
				  u.provider, u.region, buf_str(&allowed));
	else
		policy__violation(ev, r->g.enforcement, "dataResidency.location", path,
				  "the location of \"%s\" is unknown: use a URL that names its region (e.g. "
				  "https://<bucket>.s3.me-central-1.amazonaws.com/...) in an allowed "
				  "location (%s), or pvc://",
				  uri, buf_str(&allowed));
	buf_release(&allowed);
}

void kinds_uris(struct policy_eval_ctx *ev, const struct podspec_paths *k)
{
	size_t i;

	if (!ev->p->residency.g.enabled)
		return;
	for (i = 0; i < k->uris.n; i++)
		podspec_each(ev->obj, k->uris.v[i], kd_uri, ev);
}
