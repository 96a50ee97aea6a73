/* Policy reports from policy_eval decisions: results per object and rule, the summary, the
 * report document, and the comparison that keeps unchanged reports (and their timestamps) as
 * they are. */
#include "operator/audit/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/jsonutil.h"
#include "policy/iso8601.h"

#define AR_GROUP_MAX 64
#define AR_OMITTED_ANNOTATION "saqr.dev/results-omitted"

static const char *const ar_outcome_names[AUDIT_NOUTCOMES] = {"fail", "warn", "error", "skip", "pass"};

/* Labels Saqr sets on its reports (and compares). */
static const char *const ar_labels[][2] = {
    {"app.kubernetes.io/managed-by", "saqr-operator"},
    {"app.kubernetes.io/part-of", "saqr"},
    {"app.kubernetes.io/component", "audit"},
};

#define AR_NLABELS (sizeof(ar_labels) / sizeof(ar_labels[0]))

int audit_report_init(struct audit_report *r)
{
	memset(r, 0, sizeof(*r));
	for (int o = 0; o < AUDIT_NOUTCOMES; o++)
		r->kept[o] = json_array();
	r->violations = json_object();
	for (int o = 0; o < AUDIT_NOUTCOMES; o++)
		if (!r->kept[o])
			goto fail;
	if (r->violations)
		return 0;
fail:
	audit_report_release(r);
	return SAQR_ENOMEM;
}

void audit_report_release(struct audit_report *r)
{
	if (!r)
		return;
	for (int o = 0; o < AUDIT_NOUTCOMES; o++)
		json_decref(r->kept[o]);
	json_decref(r->violations);
	memset(r, 0, sizeof(*r));
}

const char *audit_outcome_name(enum audit_outcome o)
{
	return o < AUDIT_NOUTCOMES ? ar_outcome_names[o] : "error";
}

int audit_outcome_parse(const char *s, enum audit_outcome *out)
{
	for (int o = 0; s && o < AUDIT_NOUTCOMES; o++)
		if (strcmp(s, ar_outcome_names[o]) == 0) {
			*out = (enum audit_outcome)o;
			return 0;
		}
	return SAQR_EINVAL;
}

void audit_rule_group(const char *rule, char *out, size_t outlen)
{
	const char *dot = strchr(rule, '.');
	size_t n = dot ? (size_t)(dot - rule) : strlen(rule);

	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, rule, n);
	out[n] = '\0';
}

/* How much a finding of each group matters to a compliance officer. */
static const char *ar_severity(const char *group)
{
	if (strcmp(group, "dataResidency") == 0)
		return "critical";
	if (strcmp(group, "podSecurity") == 0 || strcmp(group, "zeroTrust") == 0 ||
	    strcmp(group, "exemptions") == 0)
		return "high";
	return "medium";
}

void audit_break_glass_read(const struct policy_decision *d, time_t now, struct audit_break_glass *bg)
{
	const json_t *ann = d->audit_annotations;
	const char *status = json_string_value(json_object_get(ann, "break-glass-status"));
	time_t at = 0;

	memset(bg, 0, sizeof(*bg));
	bg->reason = json_string_value(json_object_get(ann, "break-glass"));
	bg->present = bg->reason != NULL;
	bg->expires_text = json_string_value(json_object_get(ann, "break-glass-expires"));
	if (!bg->present)
		return;
	if (bg->expires_text && rfc3339_parse(bg->expires_text, &at) == 0)
		bg->expires = at;
	bg->expired = bg->expires != 0 && bg->expires <= now;
	/* Offline the engine cannot check the user ("unverified"); an object in the cluster was
	 * admitted, so a well-formed break-glass within its time is one in force. */
	bg->in_force = status && strcmp(status, "refused") != 0 && bg->expires > now;
}

/* {apiVersion, kind, namespace, name, uid} of obj. */
static json_t *ar_resource_ref(const json_t *obj)
{
	const char *kind = json_path_str(obj, "kind", NULL),
		   *name = json_path_str(obj, "metadata.name", NULL);
	const char *ns = json_path_str(obj, "metadata.namespace", NULL),
		   *uid = json_path_str(obj, "metadata.uid", NULL);
	json_t *ref;

	if (!kind || !name)
		return NULL;
	ref = json_pack("{s:s, s:s, s:s}", "apiVersion", json_path_str(obj, "apiVersion", ""), "kind", kind,
			"name", name);
	if (ref && ns && *ns)
		json_object_set_new(ref, "namespace", json_string(ns));
	if (ref && uid && *uid)
		json_object_set_new(ref, "uid", json_string(uid));
	return ref;
}

static int ar_keep(struct audit_report *r, enum audit_outcome o, json_t *result)
{
	int rc = 0;

	if (!result)
		return SAQR_ENOMEM;
	r->summary.n[o]++;
	if (json_array_size(r->kept[o]) < AUDIT_MAX_RESULTS)
		rc = json_array_append(r->kept[o], result) ? SAQR_ENOMEM : 0;
	json_decref(result);
	return rc;
}

static json_t *ar_result(const char *rule, enum audit_outcome o, const json_t *ref, const char *message)
{
	json_t *res = json_pack("{s:s, s:s, s:s, s:b, s:[O]}", "source", AUDIT_SOURCE, "policy", AUDIT_POLICY,
				"result", audit_outcome_name(o), "scored", 1, "resources", ref);
	char group[AR_GROUP_MAX];

	if (res && rule) {
		audit_rule_group(rule, group, sizeof(group));
		json_object_set_new(res, "rule", json_string(rule));
		json_object_set_new(res, "category", json_string(group));
		json_object_set_new(res, "severity", json_string(ar_severity(group)));
	}
	if (res && message)
		json_object_set_new(res, "message", json_string(message));
	return res;
}

static const char *ar_enforcement_name(enum policy_enforcement e)
{
	return e == POLICY_ENFORCE_DENY ? "deny" : e == POLICY_ENFORCE_WARN ? "warn" : "audit";
}

/* The strictest enforcement among the findings of rule (deny > audit > warn: audit findings
 * are violations that are only not enforced) and the message of all of them. */
static int ar_rule_message(const struct policy_decision *d, const char *rule, struct buf *msg,
			   enum policy_enforcement *enf)
{
	bool first = true;
	int rc = 0;

	*enf = POLICY_ENFORCE_WARN;
	for (size_t i = 0; i < d->nviolations; i++) {
		const struct policy_violation *v = &d->violations[i];

		if (strcmp(v->rule, rule) != 0)
			continue;
		if (v->enforcement == POLICY_ENFORCE_DENY || *enf == POLICY_ENFORCE_WARN)
			*enf = v->enforcement;
		if (rc == 0)
			rc = buf_addf(msg, "%s[%s] %s: %s", first ? "" : "; ", v->rule, v->path, v->message);
		first = false;
	}
	return rc == SAQR_ETOOBIG ? 0 : rc; /* a long message is cut, not lost */
}

static int ar_properties(json_t *res, enum policy_enforcement enf, const char *rule,
			 const struct audit_break_glass *bg, const char *owner)
{
	json_t *p = json_pack("{s:s}", "enforcement", ar_enforcement_name(enf));

	if (p && owner && *owner)
		json_object_set_new(p, "owner", json_string(owner));
	if (p && bg->present && (bg->in_force || strcmp(rule, "exemptions.breakGlass") == 0)) {
		json_object_set_new(p, "breakGlass", json_string(bg->reason ? bg->reason : ""));
		if (bg->expires_text)
			json_object_set_new(p, "breakGlassExpires", json_string(bg->expires_text));
		if (bg->expired)
			json_object_set_new(p, "breakGlassExpired", json_string("true"));
	}
	return p && json_object_set_new(res, "properties", p) == 0 ? 0 : SAQR_ENOMEM;
}

static bool ar_rule_seen_before(const struct policy_decision *d, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (strcmp(d->violations[j].rule, d->violations[i].rule) == 0)
			return true;
	return false;
}

static int ar_add_rule(struct audit_report *r, const json_t *ref, const struct policy_decision *d,
		       const char *rule, const struct audit_break_glass *bg, const char *owner)
{
	enum policy_enforcement enf;
	enum audit_outcome o;
	struct buf msg;
	json_t *res = NULL;
	int rc;

	buf_init(&msg, AUDIT_MESSAGE_MAX);
	rc = ar_rule_message(d, rule, &msg, &enf);
	o = bg->in_force || enf == POLICY_ENFORCE_WARN ? AUDIT_WARN : AUDIT_FAIL;
	if (rc == 0) {
		res = ar_result(rule, o, ref, buf_str(&msg));
		rc = res ? ar_properties(res, enf, rule, bg, owner) : SAQR_ENOMEM;
	}
	if (rc == 0) {
		json_int_t n = json_integer_value(json_object_get(r->violations, rule));

		rc = json_object_set_new(r->violations, rule, json_integer(n + 1)) ? SAQR_ENOMEM : 0;
	}
	buf_release(&msg);
	if (rc) {
		json_decref(res);
		return rc;
	}
	return ar_keep(r, o, res);
}

static int ar_add_findings(struct audit_report *r, const json_t *obj, const json_t *ref,
			   const struct policy_decision *d, time_t now)
{
	const char *owner =
	    json_string_value(json_object_get(json_path(obj, "metadata.labels"), AUDIT_OWNER_LABEL));
	struct audit_break_glass bg;
	int rc = 0;

	audit_break_glass_read(d, now, &bg);
	for (size_t i = 0; i < d->nviolations && rc == 0; i++)
		if (!ar_rule_seen_before(d, i))
			rc = ar_add_rule(r, ref, d, d->violations[i].rule, &bg, owner);
	return rc;
}

int audit_report_add(struct audit_report *r, const json_t *obj, const struct policy_decision *d, time_t now)
{
	json_t *ref = ar_resource_ref(obj);
	const char *why = json_string_value(json_object_get(d->audit_annotations, "exempt"));
	struct buf msg;
	int rc;

	if (!ref)
		return SAQR_EINVAL;
	if (d->exempt && why) {
		buf_init(&msg, AUDIT_MESSAGE_MAX);
		rc = buf_addf(&msg, "exempt from the policy: %s", why);
		rc = rc ? rc : ar_keep(r, AUDIT_SKIP, ar_result(NULL, AUDIT_SKIP, ref, buf_str(&msg)));
		buf_release(&msg);
	} else if (d->nviolations == 0) {
		rc = ar_keep(r, AUDIT_PASS, ar_result(NULL, AUDIT_PASS, ref, "no finding"));
	} else {
		rc = ar_add_findings(r, obj, ref, d, now);
	}
	json_decref(ref);
	return rc;
}

/* ---- the document ---- */

const char *audit_report_kind(enum audit_format f, bool namespaced)
{
	if (f == AUDIT_FORMAT_WGPOLICY)
		return namespaced ? "PolicyReport" : "ClusterPolicyReport";
	return namespaced ? "Report" : "ClusterReport";
}

const char *audit_report_api_version(enum audit_format f)
{
	return f == AUDIT_FORMAT_WGPOLICY ? "wgpolicyk8s.io/v1alpha2" : "openreports.io/v1alpha1";
}

const char *audit_report_resource(enum audit_format f, bool namespaced)
{
	if (f == AUDIT_FORMAT_WGPOLICY)
		return namespaced ? "policyreports" : "clusterpolicyreports";
	return namespaced ? "reports" : "clusterreports";
}

/* A result being sorted. */
struct ar_item {
	const json_t *res;
};

/* "Kind/namespace/name" and the rule of a result, for sorting. */
static int ar_compare(const void *a, const void *b)
{
	const json_t *x = ((const struct ar_item *)a)->res, *y = ((const struct ar_item *)b)->res;
	const json_t *rx = json_array_get(json_object_get(x, "resources"), 0);
	const json_t *ry = json_array_get(json_object_get(y, "resources"), 0);
	static const char *const fields[] = {"kind", "namespace", "name"};
	int c;

	for (size_t i = 0; i < 3; i++) {
		c = strcmp(json_path_str(rx, fields[i], ""), json_path_str(ry, fields[i], ""));
		if (c)
			return c;
	}
	return strcmp(json_path_str(x, "rule", ""), json_path_str(y, "rule", ""));
}

/* The timestamps of prev's results, by the canonical text of the result without it. */
static json_t *ar_prev_timestamps(const json_t *prev)
{
	json_t *map = json_object(), *res, *copy;
	size_t i;

	json_array_foreach(json_object_get(prev, "results"), i, res)
	{
		char *key;

		if (!map || !json_is_object(json_object_get(res, "timestamp")))
			continue;
		copy = json_copy(res);
		if (!copy)
			break;
		json_object_del(copy, "timestamp");
		key = json_dump_canonical(copy);
		if (key)
			json_object_set(map, key, json_object_get(res, "timestamp"));
		free(key);
		json_decref(copy);
	}
	return map;
}

/* A copy of res with its timestamp: the old one when prev had the same result, else now. */
static json_t *ar_stamped(const json_t *res, const json_t *stamps, time_t now)
{
	char *key = json_dump_canonical(res);
	json_t *old = key ? json_object_get(stamps, key) : NULL, *out = json_copy((json_t *)res);

	free(key);
	if (!out)
		return NULL;
	if (old)
		json_object_set(out, "timestamp", old);
	else
		json_object_set_new(out, "timestamp",
				    json_pack("{s:I, s:i}", "seconds", (json_int_t)now, "nanos", 0));
	return out;
}

/* Sorted, stamped results: outcome by outcome, at most AUDIT_MAX_RESULTS. */
static int ar_results(const struct audit_report *r, const json_t *prev, time_t now, json_t *out,
		      size_t *omitted)
{
	json_t *stamps = ar_prev_timestamps(prev);
	int rc = stamps ? 0 : SAQR_ENOMEM;

	*omitted = 0;
	for (int o = 0; o < AUDIT_NOUTCOMES && rc == 0; o++) {
		size_t n = json_array_size(r->kept[o]);
		struct ar_item *v = calloc(n ? n : 1, sizeof(*v));

		if (!v) {
			rc = SAQR_ENOMEM;
			break;
		}
		for (size_t i = 0; i < n; i++)
			v[i].res = json_array_get(r->kept[o], i);
		qsort(v, n, sizeof(*v), ar_compare);
		for (size_t i = 0; i < n && rc == 0; i++)
			if (json_array_size(out) < AUDIT_MAX_RESULTS)
				rc = json_array_append_new(out, ar_stamped(v[i].res, stamps, now))
					 ? SAQR_ENOMEM
					 : 0;
		free(v);
		*omitted += r->summary.n[o];
	}
	*omitted -= json_array_size(out);
	json_decref(stamps);
	return rc;
}

static json_t *ar_metadata(const struct audit_report_meta *m, size_t omitted)
{
	json_t *md = json_pack("{s:s, s:{}}", "name", m->name ? m->name : AUDIT_REPORT_NAME, "labels");
	json_t *labels = json_object_get(md, "labels");
	char n[32];

	for (size_t i = 0; md && i < AR_NLABELS; i++)
		json_object_set_new(labels, ar_labels[i][0], json_string(ar_labels[i][1]));
	if (md && m->namespace)
		json_object_set_new(md, "namespace", json_string(m->namespace));
	if (md && omitted) {
		snprintf(n, sizeof(n), "%zu", omitted);
		json_object_set_new(md, "annotations", json_pack("{s:s}", AR_OMITTED_ANNOTATION, n));
	}
	return md;
}

static json_t *ar_summary(const struct audit_summary *s)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I}", "pass", (json_int_t)s->n[AUDIT_PASS], "fail",
			 (json_int_t)s->n[AUDIT_FAIL], "warn", (json_int_t)s->n[AUDIT_WARN], "error",
			 (json_int_t)s->n[AUDIT_ERROR], "skip", (json_int_t)s->n[AUDIT_SKIP]);
}

int audit_report_build(const struct audit_report *r, const struct audit_report_meta *m, const json_t *prev,
		       time_t now, json_t **out)
{
	json_t *results = json_array(), *doc = NULL;
	size_t omitted = 0;
	int rc = results ? ar_results(r, prev, now, results, &omitted) : SAQR_ENOMEM;

	if (rc == 0)
		doc = json_pack(
		    "{s:s, s:s, s:o, s:o, s:O}", "apiVersion", audit_report_api_version(m->format), "kind",
		    audit_report_kind(m->format, m->namespace != NULL), "metadata", ar_metadata(m, omitted),
		    "summary", ar_summary(&r->summary), "results", results);
	if (doc && m->format == AUDIT_FORMAT_OPENREPORTS) {
		json_object_set_new(doc, "source", json_string(AUDIT_SOURCE));
		json_object_set_new(doc, "configuration",
				    json_pack("{s:{s:i}}", "limits", "maxResults", (int)AUDIT_MAX_RESULTS));
	}
	json_decref(results);
	if (!doc)
		return SAQR_ENOMEM;
	*out = doc;
	return 0;
}

static bool ar_same_at(const json_t *a, const json_t *b, const char *path)
{
	const json_t *x = json_path(a, path), *y = json_path(b, path);

	if (!x || !y)
		return x == y;
	return json_same(x, y);
}

static bool ar_same_label(const json_t *a, const json_t *b, const char *field, const char *key)
{
	const json_t *x = json_object_get(json_path(a, field), key),
		     *y = json_object_get(json_path(b, field), key);

	return (!x && !y) || (x && y && json_equal((json_t *)x, (json_t *)y));
}

bool audit_report_changed(const json_t *prev, const json_t *doc)
{
	static const char *const fields[] = {"source", "scope", "configuration", "summary", "results"};

	if (!prev)
		return true;
	for (size_t i = 0; i < AR_NLABELS; i++)
		if (!ar_same_label(prev, doc, "metadata.labels", ar_labels[i][0]))
			return true;
	if (!ar_same_label(prev, doc, "metadata.annotations", AR_OMITTED_ANNOTATION))
		return true;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (!ar_same_at(prev, doc, fields[i]))
			return true;
	return false;
}
