/* Data residency. Locations are always matched as (provider, region) pairs: the same region
 * name means different countries at different clouds (alibaba/me-central-1 is Riyadh,
 * aws/me-central-1 is the UAE). */
#include "policy/residency.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "common/jsonutil.h"
#include "policy/finding.h"
#include "policy/podspec.h"

#define RS_PATH_MAX 320
#define RS_HOST_MAX 256
#define RS_REGION_KEY "topology.kubernetes.io/region"
#define RS_AFFINITY "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"

/* Locations outside the UAE whose names look like UAE ones, for clear messages and to catch
 * a placement region that is ambiguous without the cluster's provider. */
static const struct rs_outside {
	const char *provider;
	const char *region;
	const char *where;
} rs_outside[] = {
	{"alibaba", "me-central-1", "Riyadh, Saudi Arabia"},
	{"aws", "me-south-1", "Bahrain"},
	{"gcp", "me-central1", "Doha, Qatar; Google Cloud has no UAE region"},
	{"gcp", "me-central2", "Dammam, Saudi Arabia; Google Cloud has no UAE region"},
};

static const char *const rs_jurisdictions[] = {"onshore-pdpl", "difc", "adgm"};
static const char *const rs_jurisdiction_names[] = {"onshore UAE", "DIFC", "ADGM"};

/* ---- URIs ---- */

static bool rs_ends_with(const char *s, size_t n, const char *suffix)
{
	size_t m = strlen(suffix);

	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

static void rs_set(struct residency_uri *out, const char *provider, const char *region, size_t region_len)
{
	snprintf(out->provider, sizeof(out->provider), "%s", provider);
	if (region && region_len > 0 && region_len < sizeof(out->region)) {
		memcpy(out->region, region, region_len);
		out->region[region_len] = '\0';
	}
}

/* The region of an S3 endpoint: the last host label before .amazonaws.com when it follows
 * an s3* or dualstack label (bucket.s3.me-central-1, s3.dualstack.me-central-1), or the
 * rest of a last label s3-<region> (legacy endpoints). */
static void rs_aws_host(const char *host, size_t n, struct residency_uri *out)
{
	const char *end = host + n - strlen(".amazonaws.com");
	const char *last = end, *prev;

	rs_set(out, "aws", NULL, 0);
	while (last > host && last[-1] != '.')
		last--;
	if (strncmp(last, "s3-website-", 11) == 0) {
		rs_set(out, "aws", last + 11, (size_t)(end - last - 11));
		return;
	}
	if (end - last > 3 && strncmp(last, "s3-", 3) == 0) {
		rs_set(out, "aws", last + 3, (size_t)(end - last - 3));
		return;
	}
	if (last == host || (end - last == 2 && strncmp(last, "s3", 2) == 0))
		return;
	prev = last - 1;
	while (prev > host && prev[-1] != '.')
		prev--;
	if (strncmp(prev, "s3", 2) == 0 || strncmp(prev, "dualstack.", 10) == 0)
		rs_set(out, "aws", last, (size_t)(end - last));
}

/* bucket.oss-me-east-1.aliyuncs.com (and -internal endpoints). */
static void rs_oss_host(const char *host, struct residency_uri *out)
{
	const char *oss = strstr(host, "oss-");
	const char *dot = oss ? strchr(oss, '.') : NULL;
	size_t len;

	rs_set(out, "alibaba", NULL, 0);
	if (!oss || !dot)
		return;
	len = (size_t)(dot - oss - 4);
	if (len > 9 && strncmp(oss + 4 + len - 9, "-internal", 9) == 0)
		len -= 9;
	rs_set(out, "alibaba", oss + 4, len);
}

/* objectstorage.me-dubai-1.oraclecloud.com or <ns>.objectstorage.<region>.oci.customer-oci.com */
static void rs_oci_host(const char *host, struct residency_uri *out)
{
	const char *os = strstr(host, "objectstorage.");
	const char *r = os ? os + strlen("objectstorage.") : NULL;
	const char *dot = r ? strchr(r, '.') : NULL;

	rs_set(out, "oci", NULL, 0);
	if (dot)
		rs_set(out, "oci", r, (size_t)(dot - r));
}

static void rs_https(const char *rest, struct residency_uri *out)
{
	char host[RS_HOST_MAX];
	size_t n = strcspn(rest, "/?#"); /* the authority: [user@]host[:port] */
	const char *at = memchr(rest, '@', n);
	size_t i;

	if (at) {
		n -= (size_t)(at + 1 - rest);
		rest = at + 1;
	}
	if (strcspn(rest, ":") < n)
		n = strcspn(rest, ":");
	if (n == 0 || n >= sizeof(host))
		return;
	for (i = 0; i < n; i++)
		host[i] = (char)tolower((unsigned char)rest[i]);
	host[n] = '\0';
	if (rs_ends_with(host, n, ".amazonaws.com"))
		rs_aws_host(host, n, out);
	else if (rs_ends_with(host, n, ".aliyuncs.com"))
		rs_oss_host(host, out);
	else if (rs_ends_with(host, n, ".oraclecloud.com") || rs_ends_with(host, n, ".oci.customer-oci.com"))
		rs_oci_host(host, out);
	else if (rs_ends_with(host, n, ".blob.core.windows.net") || rs_ends_with(host, n, ".dfs.core.windows.net"))
		rs_set(out, "azure", NULL, 0);
	else if (strcmp(host, "storage.googleapis.com") == 0 || rs_ends_with(host, n, ".storage.googleapis.com"))
		rs_set(out, "gcp", NULL, 0);
}

void residency_parse_uri(const char *uri, struct residency_uri *out)
{
	static const struct {
		const char *scheme;
		const char *provider;
	} schemes[] = {{"s3://", "aws"}, {"gs://", "gcp"}, {"azureblob://", "azure"}, {"oss://", "alibaba"}};
	size_t i;

	memset(out, 0, sizeof(*out));
	if (!uri)
		return;
	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strncmp(uri, schemes[i].scheme, strlen(schemes[i].scheme)) == 0) {
			rs_set(out, schemes[i].provider, NULL, 0);
			return;
		}
	if (strncmp(uri, "pvc://", 6) == 0)
		out->in_cluster = true;
	else if (strncmp(uri, "https://", 8) == 0)
		rs_https(uri + 8, out);
	else if (strncmp(uri, "http://", 7) == 0)
		rs_https(uri + 7, out);
}

/* ---- locations ---- */

static bool rs_pair_allowed(const struct policy_residency *r, const char *provider, const char *region)
{
	size_t i;

	for (i = 0; i < r->allowed_locations.n; i++)
		if (strcmp(r->allowed_locations.v[i].provider, provider) == 0 &&
		    strcmp(r->allowed_locations.v[i].region, region) == 0)
			return true;
	return false;
}

static const char *rs_outside_note(const char *provider, const char *region)
{
	size_t i;

	for (i = 0; i < sizeof(rs_outside) / sizeof(rs_outside[0]); i++)
		if (strcmp(rs_outside[i].provider, provider) == 0 && strcmp(rs_outside[i].region, region) == 0)
			return rs_outside[i].where;
	return NULL;
}

static void rs_allowed_pairs(const struct policy_residency *r, struct buf *b)
{
	size_t i;

	for (i = 0; i < r->allowed_locations.n; i++)
		buf_addf(b, "%s%s/%s", i ? ", " : "", r->allowed_locations.v[i].provider,
			 r->allowed_locations.v[i].region);
	if (r->allowed_locations.n == 0)
		buf_adds(b, "(none)");
}

static void rs_report(struct policy_eval_ctx *ev, const char *rule, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void rs_report(struct policy_eval_ctx *ev, const char *rule, const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	policy__vviolation(ev, ev->p->residency.g.enforcement, rule, path, fmt, ap);
	va_end(ap);
}

static void rs_location_denied(struct policy_eval_ctx *ev, const char *path, const char *what, const char *provider,
			       const char *region)
{
	const char *note = rs_outside_note(provider, region);
	struct buf allowed;

	buf_init(&allowed, 4096);
	rs_allowed_pairs(&ev->p->residency, &allowed);
	rs_report(ev, "dataResidency.location", path, "%s is in %s/%s%s%s%s, which is not an allowed location; allowed: %s",
		  what, provider, region, note ? " (" : "", note ? note : "", note ? ")" : "", buf_str(&allowed));
	buf_release(&allowed);
}

struct rs_storage {
	const char *uri_field;      /* "spec.model.uri" */
	const char *provider_field; /* "spec.storage.provider" */
	const char *region_field;   /* "spec.storage.region" */
};

/* Where the URI and the declared fields both name a provider or region, they must agree. */
static bool rs_consistent(struct policy_eval_ctx *ev, const struct rs_storage *s, const char *from_uri,
			  const char *declared, const char *field)
{
	if (!from_uri[0] || !declared || strcmp(from_uri, declared) == 0)
		return true;
	rs_report(ev, "dataResidency.location", field, "\"%s\" contradicts %s, which is in \"%s\" by its URI", declared,
		  s->uri_field, from_uri);
	return false;
}

static void rs_storage_check(struct policy_eval_ctx *ev, const struct rs_storage *s)
{
	const char *uri = json_path_str(ev->obj, s->uri_field, NULL);
	const char *dprov = json_path_str(ev->obj, s->provider_field, NULL);
	const char *dreg = json_path_str(ev->obj, s->region_field, NULL);
	struct residency_uri u;
	const char *provider, *region;

	if (!uri)
		return;
	residency_parse_uri(uri, &u);
	if (u.in_cluster)
		return; /* a PVC lives where the pods do: the placement rule covers it */
	if (!rs_consistent(ev, s, u.provider, dprov, s->provider_field) ||
	    !rs_consistent(ev, s, u.region, dreg, s->region_field))
		return;
	provider = u.provider[0] ? u.provider : dprov;
	region = u.region[0] ? u.region : dreg;
	if (!provider || !region) {
		rs_report(ev, "dataResidency.location", provider ? s->region_field : s->provider_field,
			  "the location of %s (\"%s\") is unknown: set %s and %s to an allowed (provider, region) pair",
			  s->uri_field, uri, s->provider_field, s->region_field);
		return;
	}
	if (!rs_pair_allowed(&ev->p->residency, provider, region))
		rs_location_denied(ev, u.region[0] ? s->uri_field : s->region_field, s->uri_field, provider, region);
}

static void rs_storage_all(struct policy_eval_ctx *ev)
{
	static const struct rs_storage model[] = {
		{"spec.model.uri", "spec.storage.provider", "spec.storage.region"},
		{"spec.canary.model.uri", "spec.storage.provider", "spec.storage.region"},
	};
	static const struct rs_storage training[] = {
		{"spec.dataset.uri", "spec.dataset.provider", "spec.dataset.region"},
		{"spec.output.uri", "spec.output.provider", "spec.output.region"},
	};
	const struct rs_storage *s = NULL;
	size_t i;

	if (ev->kind == PODSPEC_KIND_MODEL_DEPLOYMENT)
		s = model;
	else if (ev->kind == PODSPEC_KIND_TRAINING_JOB)
		s = training;
	for (i = 0; s && i < 2; i++)
		rs_storage_check(ev, &s[i]);
}

/* ---- placement ---- */

/* A note on a region that some cloud has outside the UAE: " (aws/me-south-1 is Bahrain)". */
static void rs_region_note(const char *region, char *out, size_t n)
{
	size_t i;

	out[0] = '\0';
	for (i = 0; i < sizeof(rs_outside) / sizeof(rs_outside[0]); i++)
		if (strcmp(rs_outside[i].region, region) == 0) {
			snprintf(out, n, " (%s/%s is %s)", rs_outside[i].provider, region, rs_outside[i].where);
			return;
		}
}

/* Whether pods pinned to region run in an allowed location; why not in why. Without the
 * cluster's provider a region is accepted only when no other cloud uses the same name
 * outside the allowed list. */
static bool rs_region_ok(const struct policy_residency *r, const char *region, char *why, size_t n)
{
	const struct policy_location *hit = NULL;
	const char *provider;
	char note[160];
	size_t i;

	if (r->has_cluster_location) {
		if (rs_pair_allowed(r, r->cluster_location.provider, region))
			return true;
		snprintf(why, n, "region \"%s\" of the cluster's provider is %s/%s, which is not an allowed location",
			 region, r->cluster_location.provider, region);
		return false;
	}
	for (i = 0; i < r->allowed_locations.n && !hit; i++)
		if (strcmp(r->allowed_locations.v[i].region, region) == 0)
			hit = &r->allowed_locations.v[i];
	if (!hit) {
		rs_region_note(region, note, sizeof(note));
		snprintf(why, n, "region \"%s\" is in no allowed location%s", region, note);
		return false;
	}
	provider = hit->provider;
	for (i = 0; i < sizeof(rs_outside) / sizeof(rs_outside[0]); i++)
		if (strcmp(rs_outside[i].region, region) == 0 && strcmp(rs_outside[i].provider, provider) != 0 &&
		    !rs_pair_allowed(r, rs_outside[i].provider, region)) {
			snprintf(why, n,
				 "region \"%s\" is ambiguous: %s/%s is allowed but %s/%s is %s; declare the cluster's "
				 "provider in the policy (spec.dataResidency.clusterLocation)",
				 region, provider, region, rs_outside[i].provider, region, rs_outside[i].where);
			return false;
		}
	return true;
}

/* Check one pinned region; field is the pod-level field that pins it (for the path). */
static bool rs_pin_value(struct policy_eval_ctx *ev, const char *region, const char *field)
{
	char why[512], path[RS_PATH_MAX];
	struct buf allowed;

	if (region && rs_region_ok(&ev->p->residency, region, why, sizeof(why)))
		return true;
	podspec_path(&ev->pod, NULL, field, path, sizeof(path));
	if (!region) {
		rs_report(ev, "dataResidency.placement", path, "the region must be a string");
		return false;
	}
	buf_init(&allowed, 4096);
	rs_allowed_pairs(&ev->p->residency, &allowed);
	rs_report(ev, "dataResidency.placement", path, "%s; allowed: %s", why, buf_str(&allowed));
	buf_release(&allowed);
	return false;
}

static const char *rs_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* A term pins the region when one of its expressions is `region In [allowed...]`. */
static int rs_term_pins(struct policy_eval_ctx *ev, const json_t *term, size_t t)
{
	const json_t *exprs = json_object_get(term, "matchExpressions");
	char field[RS_PATH_MAX];
	size_t j, k;
	int pinned = 0;

	for (j = 0; j < json_array_size(exprs); j++) {
		const json_t *e = json_array_get(exprs, j);
		const json_t *values = json_object_get(e, "values");

		if (strcmp(rs_str(e, "key"), RS_REGION_KEY) != 0 || strcmp(rs_str(e, "operator"), "In") != 0 ||
		    json_array_size(values) == 0)
			continue;
		pinned = 1;
		for (k = 0; k < json_array_size(values); k++) {
			snprintf(field, sizeof(field), RS_AFFINITY "[%zu].matchExpressions[%zu].values[%zu]", t, j, k);
			if (!rs_pin_value(ev, json_string_value(json_array_get(values, k)), field))
				pinned = -1;
		}
	}
	return pinned;
}

/* 1: pinned to allowed regions, 0: not pinned, -1: pinned to a region that is not allowed
 * (already reported). */
static int rs_affinity_pins(struct policy_eval_ctx *ev)
{
	const json_t *terms = json_path(ev->pod.affinity,
					"nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms");
	size_t t;
	int all = json_array_size(terms) > 0 ? 1 : 0;

	for (t = 0; t < json_array_size(terms); t++) {
		int pins = rs_term_pins(ev, json_array_get(terms, t), t);

		if (pins < 0)
			all = -1;
		else if (pins == 0 && all > 0)
			all = 0;
	}
	return all;
}

/* Every explicit pin is checked: 1 when the pod is pinned and every pinned region is
 * allowed, 0 when it is not pinned, -1 when a pinned region is not allowed (reported). */
static int rs_pins(struct policy_eval_ctx *ev)
{
	const json_t *sel = json_object_get(ev->pod.node_selector, RS_REGION_KEY);
	int pins = 0, a;

	if (sel)
		pins = rs_pin_value(ev, json_string_value(sel), "nodeSelector[" RS_REGION_KEY "]") ? 1 : -1;
	if (!ev->pod.affinity)
		return pins;
	a = rs_affinity_pins(ev);
	return (pins < 0 || a < 0) ? -1 : (pins > 0 || a > 0);
}

static void rs_not_pinned(struct policy_eval_ctx *ev)
{
	const struct policy_residency *r = &ev->p->residency;
	char path[RS_PATH_MAX], why[512];
	struct buf regions;
	size_t i;

	buf_init(&regions, 4096);
	for (i = 0; i < r->allowed_locations.n; i++)
		if (rs_region_ok(r, r->allowed_locations.v[i].region, why, sizeof(why)))
			buf_addf(&regions, "%s%s", regions.len ? ", " : "", r->allowed_locations.v[i].region);
	if (regions.len == 0)
		buf_adds(&regions, "(none)");
	podspec_path(&ev->pod, NULL, "nodeSelector", path, sizeof(path));
	rs_report(ev, "dataResidency.placement", path,
		  "pods are not pinned to an allowed region: set nodeSelector or a required node affinity on " RS_REGION_KEY
		  " to one of %s, or declare the cluster's own location in the policy",
		  buf_str(&regions));
	buf_release(&regions);
}

/* A pin is an explicit statement of where the pods run, so every pinned region must be
 * allowed whatever else holds: with an allowed clusterLocation or requirePlacement off, only
 * the absence of a pin stops being a finding. */
static void rs_placement(struct policy_eval_ctx *ev)
{
	const struct policy_residency *r = &ev->p->residency;
	bool home_allowed = r->has_cluster_location &&
			    rs_pair_allowed(r, r->cluster_location.provider, r->cluster_location.region);

	if (!ev->has_pod)
		return;
	if (rs_pins(ev) == 0 && r->require_placement && !home_allowed)
		rs_not_pinned(ev);
}

/* ---- labels ---- */

static void rs_label(struct policy_eval_ctx *ev)
{
	const struct policy_residency *r = &ev->p->residency;
	const char *v = policy__meta_value(ev, r->label);
	char path[RS_PATH_MAX];
	struct buf allowed;

	if (v && (r->allowed_values.n == 0 || policy__strlist_has(&r->allowed_values, v)))
		return;
	policy__meta_path(ev, r->label, path, sizeof(path));
	buf_init(&allowed, 4096);
	policy__strlist_join(&r->allowed_values, &allowed);
	if (v)
		rs_report(ev, "dataResidency.label", path, "\"%s\" is not an allowed residency; allowed: %s", v,
			  buf_str(&allowed));
	else
		rs_report(ev, "dataResidency.label", path, "missing; label the object with its data residency (%s)",
			  buf_str(&allowed));
	buf_release(&allowed);
}

static void rs_jurisdiction(struct policy_eval_ctx *ev)
{
	const char *j = policy__meta_value(ev, "saqr.dev/jurisdiction");
	char path[RS_PATH_MAX];
	const char *basis;
	struct buf allowed;
	size_t i;

	if (!j)
		return;
	for (i = 0; i < 3 && strcmp(rs_jurisdictions[i], j) != 0; i++)
		;
	if (i == 3) {
		policy__meta_path(ev, "saqr.dev/jurisdiction", path, sizeof(path));
		rs_report(ev, "dataResidency.jurisdiction", path,
			  "\"%s\" is not a known jurisdiction; allowed: onshore-pdpl, difc, adgm", j);
		return;
	}
	if (i == 0)
		return;
	basis = policy__meta_value(ev, "saqr.dev/transfer-basis");
	if (basis && policy__strlist_has(&ev->p->residency.transfer_bases, basis))
		return;
	buf_init(&allowed, 4096);
	policy__strlist_join(&ev->p->residency.transfer_bases, &allowed);
	policy__meta_path(ev, "saqr.dev/transfer-basis", path, sizeof(path));
	if (basis)
		rs_report(ev, "dataResidency.transferBasis", path,
			  "\"%s\" is not an allowed transfer basis for data under %s jurisdiction; allowed: %s", basis,
			  rs_jurisdiction_names[i], buf_str(&allowed));
	else
		rs_report(ev, "dataResidency.transferBasis", path,
			  "missing; data under %s jurisdiction leaves it when processed in onshore UAE locations (a "
			  "third country for it): name the transfer basis, one of: %s",
			  rs_jurisdiction_names[i], buf_str(&allowed));
	buf_release(&allowed);
}

void residency_check(struct policy_eval_ctx *ev)
{
	rs_label(ev);
	rs_jurisdiction(ev);
	rs_storage_all(ev);
	rs_placement(ev);
}
