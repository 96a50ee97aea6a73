/* Data residency. Locations are always matched as (provider, region) pairs: the same region
 * name means different countries at different clouds (alibaba/me-central-1 is Riyadh,
 * aws/me-central-1 is the UAE). */
#include "policy/residency.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "policy/finding.h"
#include "policy/podspec.h"

#define RS_PATH_MAX 320
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

#define RS_LABELS_MAX 128

/* The dot-separated labels of a host in front of a provider's domain suffix. */
struct rs_labels {
	const char *p[RS_LABELS_MAX];
	size_t len[RS_LABELS_MAX];
	size_t n;
};

static bool rs_ends_with(const char *s, size_t n, const char *suffix)
{
	size_t m = strlen(suffix);

	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* Split host into labels when it ends with "." suffix; false when it does not. */
static bool rs_split(const char *host, const char *suffix, struct rs_labels *l)
{
	size_t n = strlen(host), m = strlen(suffix), i, start = 0;

	l->n = 0;
	if (n <= m + 1 || !rs_ends_with(host, n, suffix) || host[n - m - 1] != '.')
		return false;
	n -= m + 1;
	for (i = 0; i <= n && l->n < RS_LABELS_MAX; i++)
		if (i == n || host[i] == '.') {
			l->p[l->n] = host + start;
			l->len[l->n++] = i - start;
			start = i + 1;
		}
	return i > n;
}

/* Label i counted from the right (0 is the last one before the suffix). */
static bool rs_is(const struct rs_labels *l, size_t i, const char *s)
{
	return i < l->n && l->len[l->n - 1 - i] == strlen(s) && memcmp(l->p[l->n - 1 - i], s, strlen(s)) == 0;
}

static bool rs_has_prefix(const struct rs_labels *l, size_t i, const char *s)
{
	return i < l->n && l->len[l->n - 1 - i] > strlen(s) && memcmp(l->p[l->n - 1 - i], s, strlen(s)) == 0;
}

/* A region id: lower-case letters, digits and dashes, starting with a letter, with at least
 * one dash; AWS and OCI ids also end with a digit ("me-central-1", "me-dubai-1"), Alibaba's
 * need not ("cn-hangzhou"). */
static bool rs_region_like(const char *s, size_t n, bool digit_last)
{
	bool dash = false;
	size_t i;

	if (n == 0 || n >= RESIDENCY_REGION_MAX || !islower((unsigned char)s[0]) || s[n - 1] == '-')
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] == '-')
			dash = true;
		else if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]))
			return false;
	}
	return dash && (!digit_last || isdigit((unsigned char)s[n - 1]));
}

static void rs_set(struct residency_uri *out, const char *provider, const char *region, size_t region_len)
{
	out->kind = RESIDENCY_URI_STORAGE;
	snprintf(out->provider, sizeof(out->provider), "%s", provider);
	out->region[0] = '\0';
	if (region && region_len > 0 && region_len < sizeof(out->region)) {
		memcpy(out->region, region, region_len);
		out->region[region_len] = '\0';
	}
}

static bool rs_set_label(struct residency_uri *out, const char *provider, const struct rs_labels *l, size_t i,
			 size_t skip)
{
	rs_set(out, provider, l->p[l->n - 1 - i] + skip, l->len[l->n - 1 - i] - skip);
	return true;
}

/* The S3 services whose label precedes the region: s3.<region>, s3-fips.<region>,
 * s3-accesspoint.<region>, s3express-<az>.<region>, ... (with an optional dualstack label). */
static bool rs_s3_service(const struct rs_labels *l, size_t i)
{
	static const char *const services[] = {
	    "s3", "s3-fips", "s3-accesspoint", "s3-accesspoint-fips", "s3-object-lambda", "s3-website"};
	size_t k;

	for (k = 0; k < sizeof(services) / sizeof(services[0]); k++)
		if (rs_is(l, i, services[k]))
			return true;
	return rs_has_prefix(l, i, "s3express-");
}

/* S3 endpoints, read from the right so that a bucket name with dots cannot pose as one:
 * [bucket.]s3[.dualstack].<region>, s3-<region> (legacy), s3-website-<region>,
 * <bucket>.vpce-<id>.s3.<region>.vpce, the global s3 / s3-global endpoints (region not
 * proved) and s3-outposts (data on the customer's Outpost, not in the region). */
static bool rs_aws(const char *host, struct residency_uri *out)
{
	bool china = false;
	struct rs_labels l;
	size_t svc;

	if (rs_split(host, "amazonaws.com.cn", &l))
		china = true;
	else if (!rs_split(host, "amazonaws.com", &l))
		return false;
	if (rs_is(&l, 0, "vpce"))
		return rs_is(&l, 2, "s3") && rs_has_prefix(&l, 3, "vpce-") &&
		       rs_region_like(l.p[l.n - 2], l.len[l.n - 2], true) &&
		       rs_set_label(out, "aws", &l, 1, 0);
	if (rs_is(&l, 0, "s3-external-1")) {
		rs_set(out, "aws", "us-east-1", 9);
		return true;
	}
	if (rs_is(&l, 0, "s3") || rs_is(&l, 0, "s3-global") || rs_is(&l, 0, "s3-accesspoint-global")) {
		if (china)
			return false; /* no global endpoint in China that Saqr knows: unrecognised */
		rs_set(out, "aws", NULL, 0);
		return true;
	}
	if (rs_has_prefix(&l, 0, "s3-website-") &&
	    rs_region_like(l.p[l.n - 1] + 11, l.len[l.n - 1] - 11, true))
		return rs_set_label(out, "aws", &l, 0, 11);
	if (rs_has_prefix(&l, 0, "s3-") && rs_region_like(l.p[l.n - 1] + 3, l.len[l.n - 1] - 3, true))
		return rs_set_label(out, "aws", &l, 0, 3);
	if (l.n < 2 || !rs_region_like(l.p[l.n - 1], l.len[l.n - 1], true))
		return false;
	svc = rs_is(&l, 1, "dualstack") ? 2 : 1;
	if (rs_is(&l, svc, "s3-outposts")) {
		rs_set(out, "aws", NULL, 0);
		return true;
	}
	return rs_s3_service(&l, svc) && rs_set_label(out, "aws", &l, 0, 0);
}

/* bucket.oss-<region>[-internal].aliyuncs.com, bucket.<region>.oss.aliyuncs.com (dual stack),
 * and the global oss-accelerate[-overseas] endpoints (region not proved). */
static bool rs_oss(const char *host, struct residency_uri *out)
{
	struct rs_labels l;
	const char *r;
	size_t n;

	if (!rs_split(host, "aliyuncs.com", &l))
		return false;
	if (rs_is(&l, 0, "oss") && l.n >= 2 && rs_region_like(l.p[l.n - 2], l.len[l.n - 2], false))
		return rs_set_label(out, "alibaba", &l, 1, 0);
	if (!rs_has_prefix(&l, 0, "oss-"))
		return false;
	r = l.p[l.n - 1] + 4;
	n = l.len[l.n - 1] - 4;
	if (n > 9 && memcmp(r + n - 9, "-internal", 9) == 0)
		n -= 9;
	if ((n == 10 && memcmp(r, "accelerate", 10) == 0) ||
	    (n == 19 && memcmp(r, "accelerate-overseas", 19) == 0)) {
		rs_set(out, "alibaba", NULL, 0);
		return true;
	}
	if (!rs_region_like(r, n, false))
		return false;
	rs_set(out, "alibaba", r, n);
	return true;
}

/* [<ns>.compat.]objectstorage.<region>.oraclecloud.com, swiftobjectstorage.<region>...,
 * <ns>.objectstorage.<region>.oci.customer-oci.com. */
static bool rs_oci(const char *host, struct residency_uri *out)
{
	struct rs_labels l;

	if (!rs_split(host, "oraclecloud.com", &l) && !rs_split(host, "oci.customer-oci.com", &l))
		return false;
	return l.n >= 2 && (rs_is(&l, 1, "objectstorage") || rs_is(&l, 1, "swiftobjectstorage")) &&
	       rs_region_like(l.p[l.n - 1], l.len[l.n - 1], true) && rs_set_label(out, "oci", &l, 0, 0);
}

/* <account>.blob.core.windows.net and .dfs (Data Lake): Azure, with no region in the URL.
 * Sovereign clouds (chinacloudapi.cn, usgovcloudapi.net) are not recognised. */
static bool rs_azure(const char *host, struct residency_uri *out)
{
	struct rs_labels l;

	if (!rs_split(host, "core.windows.net", &l) || l.n < 2 ||
	    (!rs_is(&l, 0, "blob") && !rs_is(&l, 0, "dfs")))
		return false;
	rs_set(out, "azure", NULL, 0);
	return true;
}

/* storage.googleapis.com, <bucket>.storage.googleapis.com, storage.cloud.google.com. */
static bool rs_gcs(const char *host, struct residency_uri *out)
{
	size_t n = strlen(host);

	if (strcmp(host, "storage.googleapis.com") != 0 &&
	    !rs_ends_with(host, n, ".storage.googleapis.com") &&
	    strcmp(host, "storage.cloud.google.com") != 0)
		return false;
	rs_set(out, "gcp", NULL, 0);
	return true;
}

static bool rs_ipv6_literal(const char *h, size_t n)
{
	size_t i;

	if (n < 3 || h[0] != '[' || h[n - 1] != ']')
		return false;
	for (i = 1; i + 1 < n; i++)
		if (!isxdigit((unsigned char)h[i]) && h[i] != ':' && h[i] != '.')
			return false;
	return true;
}

int residency_host_normalize(const char *host, size_t n, char *out, size_t outn, const char **why)
{
	size_t i;

	if (n > 0 && host[n - 1] == '.' && host[0] != '[')
		n--;
	*why = "the host is empty or too long";
	if (n == 0 || n >= outn || n > 253)
		return SAQR_EINVAL;
	*why = "the host is not a plain DNS name or IP literal";
	if (host[0] == '[') {
		if (!rs_ipv6_literal(host, n))
			return SAQR_EINVAL;
	} else {
		for (i = 0; i < n; i++) {
			if (host[i] == '%')
				*why = "the host is percent-encoded";
			if (!isalnum((unsigned char)host[i]) && host[i] != '-' && host[i] != '.')
				return SAQR_EINVAL;
			if (host[i] == '.' && (i == 0 || host[i - 1] == '.' || i + 1 == n))
				return SAQR_EINVAL;
		}
	}
	for (i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)host[i]);
	out[n] = '\0';
	return 0;
}

/* Split the authority of rest ([userinfo@]host[:port]) and normalise its host into out->host;
 * false (with out->why) when it cannot be read without ambiguity. */
static bool rs_authority(const char *rest, struct residency_uri *out)
{
	size_t n = strcspn(rest, "/?#"), hn, i;
	const char *at = NULL, *host, *port;

	for (i = 0; i < n; i++) {
		if (rest[i] == '\\' || isspace((unsigned char)rest[i]) || iscntrl((unsigned char)rest[i])) {
			out->why =
			    "the authority holds a backslash or a space, which URL parsers read differently";
			return false;
		}
		if (rest[i] == '@') {
			if (at) {
				out->why = "the authority holds more than one '@'";
				return false;
			}
			at = rest + i;
		}
	}
	host = at ? at + 1 : rest;
	hn = n - (size_t)(host - rest);
	port = host[0] == '[' ? memchr(host, ']', hn) : host;
	port = port ? memchr(port, ':', hn - (size_t)(port - host)) : NULL;
	if (port) {
		for (i = 1; host + hn > port + i; i++)
			if (!isdigit((unsigned char)port[i]) || i > 5) {
				out->why = "the port is not a number";
				return false;
			}
		hn = (size_t)(port - host);
	}
	return residency_host_normalize(host, hn, out->host, sizeof(out->host), &out->why) == 0;
}

static void rs_host_uri(const char *rest, struct residency_uri *out)
{
	if (!rs_authority(rest, out))
		return;
	if (rs_aws(out->host, out) || rs_oss(out->host, out) || rs_oci(out->host, out) ||
	    rs_azure(out->host, out) || rs_gcs(out->host, out))
		return;
	out->kind = RESIDENCY_URI_HOST;
	out->provider[0] = out->region[0] = '\0';
}

void residency_parse_uri(const char *uri, struct residency_uri *out)
{
	static const struct {
		const char *scheme;
		const char *provider;
	} buckets[] = {{"s3://", "aws"}, {"gs://", "gcp"}, {"azureblob://", "azure"}, {"oss://", "alibaba"}};
	static const char *const hosts[] = {"https://", "http://", "oci://"};
	size_t i;

	memset(out, 0, sizeof(*out));
	out->why = "the scheme is not one of s3, gs, azureblob, oss, pvc, oci, https, http";
	if (!uri)
		return;
	for (i = 0; i < sizeof(buckets) / sizeof(buckets[0]); i++)
		if (strncasecmp(uri, buckets[i].scheme, strlen(buckets[i].scheme)) == 0) {
			rs_set(out, buckets[i].provider, NULL, 0);
			return;
		}
	if (strncasecmp(uri, "pvc://", 6) == 0) {
		out->kind = RESIDENCY_URI_IN_CLUSTER;
		return;
	}
	for (i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++)
		if (strncasecmp(uri, hosts[i], strlen(hosts[i])) == 0) {
			rs_host_uri(uri + strlen(hosts[i]), out);
			return;
		}
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
		if (strcmp(rs_outside[i].provider, provider) == 0 &&
		    strcmp(rs_outside[i].region, region) == 0)
			return rs_outside[i].where;
	return strcmp(provider, "gcp") == 0 ? "Google Cloud has no UAE region" : NULL;
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

static void rs_location_denied(struct policy_eval_ctx *ev, const char *path, const char *what,
			       const char *provider, const char *region)
{
	const char *note = rs_outside_note(provider, region);
	struct buf allowed;

	buf_init(&allowed, 4096);
	rs_allowed_pairs(&ev->p->residency, &allowed);
	rs_report(ev, "dataResidency.location", path,
		  "%s is in %s/%s%s%s%s, which is not an allowed location; allowed: %s", what, provider,
		  region, note ? " (" : "", note ? note : "", note ? ")" : "", buf_str(&allowed));
	buf_release(&allowed);
}

struct rs_storage {
	const char *uri_field;	    /* "spec.model.uri" */
	const char *provider_field; /* "spec.storage.provider" */
	const char *region_field;   /* "spec.storage.region" */
};

/* Where the URI and the declared fields both name a provider or region, they must agree. */
static bool rs_consistent(struct policy_eval_ctx *ev, const struct rs_storage *s, const char *from_uri,
			  const char *declared, const char *field)
{
	if (!from_uri[0] || !declared || strcmp(from_uri, declared) == 0)
		return true;
	rs_report(ev, "dataResidency.location", field, "\"%s\" contradicts %s, which is in \"%s\" by its URI",
		  declared, s->uri_field, from_uri);
	return false;
}

static const struct policy_endpoint *rs_trusted(const struct policy_residency *r, const char *host)
{
	size_t i;

	for (i = 0; i < r->trusted_endpoints.n; i++)
		if (strcmp(r->trusted_endpoints.v[i].host, host) == 0)
			return &r->trusted_endpoints.v[i];
	return NULL;
}

/* Turn what the URI does not prove into a finding; true when u now holds a provider (and a
 * region where the endpoint names one) to judge. */
static bool rs_uri_readable(struct policy_eval_ctx *ev, const struct rs_storage *s, const char *uri,
			    struct residency_uri *u)
{
	const struct policy_endpoint *e;

	if (u->kind == RESIDENCY_URI_UNKNOWN) {
		rs_report(
		    ev, "dataResidency.location", s->uri_field,
		    "the location of \"%s\" cannot be proved: %s; use a storage URI of a known provider or a "
		    "host listed in dataResidency.trustedEndpoints",
		    uri, u->why);
		return false;
	}
	if (u->kind != RESIDENCY_URI_HOST)
		return true;
	e = rs_trusted(&ev->p->residency, u->host);
	if (!e) {
		rs_report(ev, "dataResidency.location", s->uri_field,
			  "host \"%s\" is not a recognised storage endpoint and not in "
			  "dataResidency.trustedEndpoints, "
			  "so the location of its data cannot be proved",
			  u->host);
		return false;
	}
	rs_set(u, e->loc.provider, e->loc.region, strlen(e->loc.region));
	return true;
}

/* A location the URI names is judged by itself; one it does not prove needs the declared
 * fields, which must agree with whatever the URI does prove (its provider). */
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
	if (u.kind == RESIDENCY_URI_IN_CLUSTER)
		return; /* a PVC lives where the pods do: the placement rule covers it */
	if (!rs_uri_readable(ev, s, uri, &u))
		return;
	if (!rs_consistent(ev, s, u.provider, dprov, s->provider_field) ||
	    !rs_consistent(ev, s, u.region, dreg, s->region_field))
		return;
	provider = u.provider[0] ? u.provider : dprov;
	region = u.region[0] ? u.region : dreg;
	if (!provider || !region) {
		rs_report(ev, "dataResidency.location", provider ? s->region_field : s->provider_field,
			  "the location of %s (\"%s\") is unknown: set %s and %s to an allowed (provider, "
			  "region) pair",
			  s->uri_field, uri, s->provider_field, s->region_field);
		return;
	}
	if (!rs_pair_allowed(&ev->p->residency, provider, region))
		rs_location_denied(ev, u.region[0] ? s->uri_field : s->region_field, s->uri_field, provider,
				   region);
}

void residency_check_uri(struct policy_eval_ctx *ev, const char *uri, const char *path)
{
	const struct rs_storage s = {path, NULL, NULL};
	struct residency_uri u;
	char what[RESIDENCY_HOST_MAX + 16];

	residency_parse_uri(uri, &u);
	if (u.kind == RESIDENCY_URI_IN_CLUSTER || !rs_uri_readable(ev, &s, uri, &u))
		return;
	if (!u.provider[0] || !u.region[0]) {
		rs_report(
		    ev, "dataResidency.location", path,
		    "the region of \"%s\" is unknown and this kind has no field to declare it: use a URL "
		    "that names its region (e.g. https://<bucket>.s3.me-central-1.amazonaws.com/...), a host "
		    "in dataResidency.trustedEndpoints, or pvc://",
		    uri);
		return;
	}
	snprintf(what, sizeof(what), "\"%.*s\"", RESIDENCY_HOST_MAX, uri);
	if (!rs_pair_allowed(&ev->p->residency, u.provider, u.region))
		rs_location_denied(ev, path, what, u.provider, u.region);
}

static void rs_storage_all(struct policy_eval_ctx *ev)
{
	static const struct rs_storage model[] = {
	    {"spec.model.uri", "spec.storage.provider", "spec.storage.region"},
	    {"spec.canary.model.uri", "spec.storage.provider", "spec.storage.region"},
	    {"spec.modelOverride.model.uri", "spec.storage.provider", "spec.storage.region"},
	};
	static const struct rs_storage training[] = {
	    {"spec.dataset.uri", "spec.dataset.provider", "spec.dataset.region"},
	    {"spec.output.uri", "spec.output.provider", "spec.output.region"},
	};
	const struct rs_storage *s = NULL;
	size_t i, n = 0;

	if (ev->kind == PODSPEC_KIND_MODEL_DEPLOYMENT) {
		s = model;
		n = sizeof(model) / sizeof(model[0]);
	} else if (ev->kind == PODSPEC_KIND_TRAINING_JOB) {
		s = training;
		n = sizeof(training) / sizeof(training[0]);
	}
	for (i = 0; s && i < n; i++)
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
			snprintf(out, n, " (%s/%s is %s)", rs_outside[i].provider, region,
				 rs_outside[i].where);
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
		snprintf(why, n,
			 "region \"%s\" of the cluster's provider is %s/%s, which is not an allowed location",
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
		if (strcmp(rs_outside[i].region, region) == 0 &&
		    strcmp(rs_outside[i].provider, provider) != 0 &&
		    !rs_pair_allowed(r, rs_outside[i].provider, region)) {
			snprintf(why, n,
				 "region \"%s\" is ambiguous: %s/%s is allowed but %s/%s is %s; declare the "
				 "cluster's "
				 "provider in the policy (spec.dataResidency.clusterLocation)",
				 region, provider, region, rs_outside[i].provider, region,
				 rs_outside[i].where);
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

		if (strcmp(rs_str(e, "key"), RS_REGION_KEY) != 0 ||
		    strcmp(rs_str(e, "operator"), "In") != 0 || json_array_size(values) == 0)
			continue;
		pinned = 1;
		for (k = 0; k < json_array_size(values); k++) {
			snprintf(field, sizeof(field), RS_AFFINITY "[%zu].matchExpressions[%zu].values[%zu]",
				 t, j, k);
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
	const json_t *terms =
	    json_path(ev->pod.affinity,
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
		  "pods are not pinned to an allowed region: set nodeSelector or a required node affinity "
		  "on " RS_REGION_KEY " to one of %s, or declare the cluster's own location in the policy",
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
		rs_report(ev, "dataResidency.label", path, "\"%s\" is not an allowed residency; allowed: %s",
			  v, buf_str(&allowed));
	else
		rs_report(ev, "dataResidency.label", path,
			  "missing; label the object with its data residency (%s)", buf_str(&allowed));
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
		rs_report(
		    ev, "dataResidency.transferBasis", path,
		    "\"%s\" is not an allowed transfer basis for data under %s jurisdiction; allowed: %s",
		    basis, rs_jurisdiction_names[i], buf_str(&allowed));
	else
		rs_report(ev, "dataResidency.transferBasis", path,
			  "missing; data under %s jurisdiction leaves it when processed in onshore UAE "
			  "locations (a "
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
