/* DriftPolicy rules. The retrain template becomes a TrainingJob that the operator creates
 * under its exempt identity, so it is judged here, at the DriftPolicy's admission, with every
 * TrainingJob rule; URLs the operator will call are limited to allowed endpoints. */
#include "policy/driftcheck.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "policy/exemptions.h"
#include "policy/finding.h"

#define DC_HOST_MAX 256
#define DC_PATH_MAX 160

bool driftcheck_is_driftpolicy(const json_t *obj)
{
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	const char *api = json_string_value(json_object_get(obj, "apiVersion"));

	return kind && strcmp(kind, "DriftPolicy") == 0 && (!api || strncmp(api, "saqr.dev/", 9) == 0);
}

static const char *dc_namespace(const struct policy_eval_ctx *ev)
{
	if (ev->in->namespace && ev->in->namespace[0])
		return ev->in->namespace;
	return json_path_str(ev->obj, "metadata.namespace", NULL);
}

/* ---- retrain template ---- */

/* The saqr.dev labels or annotations of the DriftPolicy, which the TrainingJob carries; the
 * DriftPolicy's own break-glass stays with it. */
static json_t *dc_saqr_keys(const json_t *from)
{
	json_t *out = json_object();
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)from, key, v)
	{
		if (!out || strncmp(key, "saqr.dev/", 9) != 0 || strcmp(key, EXEMPTIONS_BREAK_GLASS_KEY) == 0)
			continue;
		if (json_object_set(out, key, v) != 0) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

static json_t *dc_training_job(const struct policy_eval_ctx *ev, const json_t *tmpl)
{
	const json_t *meta = json_object_get(ev->obj, "metadata");
	const char *ns = dc_namespace(ev);
	json_t *tj =
	    json_pack("{s:s, s:s, s:{s:s, s:o*, s:o*}, s:O}", "apiVersion", "saqr.dev/v1alpha1", "kind",
		      "TrainingJob", "metadata", "name", json_path_str(ev->obj, "metadata.name", "retrain"),
		      "labels", dc_saqr_keys(json_object_get(meta, "labels")), "annotations",
		      dc_saqr_keys(json_object_get(meta, "annotations")), "spec", tmpl);

	if (tj && ns && json_object_set_new(json_object_get(tj, "metadata"), "namespace", json_string(ns))) {
		json_decref(tj);
		return NULL;
	}
	return tj;
}

int driftcheck_retrain_job(const struct policy_eval_ctx *ev, json_t **out)
{
	const json_t *tmpl = json_path(ev->obj, DRIFTCHECK_RETRAIN_PATH);

	*out = NULL;
	if (!json_is_object(tmpl))
		return 0;
	*out = dc_training_job(ev, tmpl);
	return *out ? 0 : SAQR_ENOMEM;
}

/* ---- endpoints ---- */

static bool dc_ipv4_forbidden(const char *host)
{
	struct in_addr a;
	unsigned long ip;

	if (inet_aton(host, &a) == 0)
		return false;
	ip = ntohl(a.s_addr);
	return (ip >> 16) == ((169ul << 8) | 254ul); /* 169.254.0.0/16 */
}

static bool dc_ipv6_forbidden(const char *host)
{
	static const unsigned char ec2[16] = {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0,	  0,
					      0,    0,	  0,	0,    0, 0, 0x02, 0x54};
	unsigned char b[16];

	if (inet_pton(AF_INET6, host, b) != 1)
		return false;
	if (memcmp(b, ec2, 16) == 0 || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80))
		return true;
	/* IPv4-mapped ::ffff:169.254.x.x */
	return memcmp(b, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0 && b[12] == 169 && b[13] == 254;
}

bool driftcheck_forbidden_host(const char *host)
{
	return strcasecmp(host, "metadata.google.internal") == 0 || dc_ipv4_forbidden(host) ||
	       dc_ipv6_forbidden(host);
}

/* The host of an http(s) URL whose scheme is skipped in rest: without userinfo, port and the
 * brackets of an IPv6 literal, lower-cased. False when there is none or it does not fit. */
static bool dc_host(const char *rest, char *host, size_t n)
{
	size_t len = strcspn(rest, "/?#"), i;
	const char *at, *end;

	for (at = rest + len; at > rest && at[-1] != '@'; at--)
		;
	len -= (size_t)(at - rest);
	rest = at;
	if (rest[0] == '[') {
		end = memchr(rest, ']', len);
		if (!end)
			return false;
		rest++;
		len = (size_t)(end - rest);
	} else if (memchr(rest, ':', len)) {
		len = (size_t)((const char *)memchr(rest, ':', len) - rest);
	}
	if (len == 0 || len >= n)
		return false;
	for (i = 0; i < len; i++)
		host[i] = (char)tolower((unsigned char)rest[i]);
	host[len] = '\0';
	return true;
}

/* An entry is a URL prefix (it has a scheme: it allows what it prefixes) or a host (https to it). */
static bool dc_listed(const struct policy_strlist *l, const char *url, const char *host, bool https)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (strstr(l->v[i], "://") ? strncmp(url, l->v[i], strlen(l->v[i])) == 0
					   : https && strcasecmp(l->v[i], host) == 0)
			return true;
	}
	return false;
}

static void dc_report(struct policy_eval_ctx *ev, const char *rule, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void dc_report(struct policy_eval_ctx *ev, const char *rule, const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	policy__vviolation(ev, ev->p->zero_trust.g.enforcement, rule, path, fmt, ap);
	va_end(ap);
}

static void dc_endpoint(struct policy_eval_ctx *ev, const char *url, const char *path)
{
	const struct policy_strlist *allowed = &ev->p->zero_trust.allowed_endpoints;
	bool https = strncmp(url, "https://", 8) == 0;
	char host[DC_HOST_MAX];
	struct buf list;

	if ((!https && strncmp(url, "http://", 7) != 0) ||
	    !dc_host(url + (https ? 8 : 7), host, sizeof(host))) {
		dc_report(ev, "zeroTrust.endpoint", path, "\"%s\" is not an https:// URL with a host", url);
		return;
	}
	if (driftcheck_forbidden_host(host)) {
		dc_report(ev, "zeroTrust.endpoint", path,
			  "\"%s\" is a link-local or cloud metadata address, which Saqr never calls", host);
		return;
	}
	if (allowed->n == 0 ? https : dc_listed(allowed, url, host, https))
		return;
	buf_init(&list, 4096);
	policy__strlist_join(allowed, &list);
	if (allowed->n == 0)
		dc_report(ev, "zeroTrust.endpoint", path,
			  "\"%s\" is plain http; use https://, or list the URL prefix in "
			  "zeroTrust.allowedEndpoints",
			  url);
	else
		dc_report(
		    ev, "zeroTrust.endpoint", path,
		    "\"%s\" is not an allowed endpoint; allowed (hosts over https, or URL prefixes): %s", url,
		    buf_str(&list));
	buf_release(&list);
}

static void dc_endpoints(struct policy_eval_ctx *ev)
{
	const json_t *sinks = json_path(ev->obj, "spec.actions.alert.sinks");
	const char *url = json_path_str(ev->obj, "spec.source.prometheus.url", NULL);
	char path[DC_PATH_MAX];
	size_t i;

	if (url)
		dc_endpoint(ev, url, "spec.source.prometheus.url");
	for (i = 0; i < json_array_size(sinks); i++) {
		url = json_string_value(json_object_get(json_array_get(sinks, i), "url"));
		snprintf(path, sizeof(path), "spec.actions.alert.sinks[%zu].url", i);
		if (url)
			dc_endpoint(ev, url, path);
	}
}

/* ---- Secret references ---- */

static void dc_secret_ref(struct policy_eval_ctx *ev, const json_t *ref, const char *path)
{
	const char *ns = json_string_value(json_object_get(ref, "namespace"));
	const char *own = dc_namespace(ev);
	char field[DC_PATH_MAX];

	if (!ns || (own && strcmp(ns, own) == 0))
		return;
	snprintf(field, sizeof(field), "%s.namespace", path);
	dc_report(ev, "zeroTrust.secretNamespace", field,
		  "the Secret is in namespace \"%s\"; a DriftPolicy may only reference Secrets in its own "
		  "namespace%s%s%s",
		  ns, own ? " (\"" : "", own ? own : "", own ? "\")" : "");
}

static void dc_secret_refs(struct policy_eval_ctx *ev)
{
	const json_t *sinks = json_path(ev->obj, "spec.actions.alert.sinks");
	char path[DC_PATH_MAX];
	size_t i;

	dc_secret_ref(ev, json_path(ev->obj, "spec.source.prometheus.bearerTokenSecretRef"),
		      "spec.source.prometheus.bearerTokenSecretRef");
	dc_secret_ref(ev, json_path(ev->obj, "spec.source.prometheus.caSecretRef"),
		      "spec.source.prometheus.caSecretRef");
	for (i = 0; i < json_array_size(sinks); i++) {
		snprintf(path, sizeof(path), "spec.actions.alert.sinks[%zu].secretRef", i);
		dc_secret_ref(ev, json_object_get(json_array_get(sinks, i), "secretRef"), path);
	}
}

void driftcheck_check(struct policy_eval_ctx *ev)
{
	if (!ev->p->zero_trust.g.enabled)
		return;
	dc_endpoints(ev);
	dc_secret_refs(ev);
}
