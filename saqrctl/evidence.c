/* `saqrctl report`: arguments, the policy in force, the policy reports (validated field by
 * field: a bad input is named, never guessed at), and the EvidenceReport document. */
#include "saqrctl/evidence.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/jsonutil.h"
#include "oms/digest.h"
#include "policy/policy.h"

#define EV_FIELD_MAX 128
#define EV_CLUSTER "(cluster)"
#define EV_UNKNOWN_OWNER "unknown"

const char evidence_usage[] =
    "Usage: saqrctl report [--reports FILE|-] [--decision-log FILE] [--policy FILE]\n"
    "                      [--format json|html] [-o FILE]\n"
    "\n"
    "Evidence for an auditor: what policy is in force, violations by rule, namespace and owner,\n"
    "break-glass and exemptions, the regulation clause each rule serves, and denials over time.\n"
    "At least one of --reports and --decision-log is needed.\n"
    "\n"
    "Options:\n"
    "  --reports FILE|-       policy reports as `kubectl get reports.openreports.io,\n"
    "                         clusterreports.openreports.io -A -o json` lists them (or\n"
    "                         wgpolicyk8s.io PolicyReports); - reads stdin\n"
    "  --decision-log FILE    saqr-webhook's decision log (`kubectl logs`); its hash chain is\n"
    "                         verified as `saqrctl audit verify` does and the result stated\n"
    "  -p, --policy FILE      the AdmissionPolicy in force (default: the built-in policy)\n"
    "  -f, --format FORMAT    json (default) or html (one self-contained page)\n"
    "  -o, --output FILE      write there instead of stdout\n"
    "  -h, --help             show this help\n"
    "\n"
    "Exit status: 0 report written, 1 an input error (the file and field are named), 2 usage.\n"
    "A broken hash chain is stated in the report; it is not an error.\n";

/* Where a field of the reports input is, for messages: "items[3].results[0].result". */
struct ev_where {
	const char *file;
	char *err;
	size_t errlen;
};

/* The aggregates built from the reports. */
struct ev_reports {
	size_t reports, other_sources;
	json_int_t outcome[5];			   /* pass fail warn error skip */
	json_t *by_rule, *by_namespace, *by_owner; /* name -> {"fail": n, "warn": n} */
	json_t *exemptions;			   /* skip results, at most EVIDENCE_MAX_ROWS */
	size_t exemptions_total;
};

static const char *const ev_outcomes[] = {"pass", "fail", "warn", "error", "skip"};

/* ---- arguments ---- */

/* The value of -s X, --long X or --long=X; NULL if argv[*i] is not this option (*missing when it
 * is, without a value). */
static const char *ev_opt(int argc, char **argv, int *i, const char *s, const char *l, bool *missing)
{
	const char *arg = argv[*i];
	size_t ln = strlen(l);

	if (!arg)
		return NULL;
	if ((s && strcmp(arg, s) == 0) || strcmp(arg, l) == 0) {
		if (*i + 1 >= argc) {
			*missing = true;
			return NULL;
		}
		return argv[++*i];
	}
	if (strncmp(arg, l, ln) == 0 && arg[ln] == '=')
		return arg + ln + 1;
	return NULL;
}

static int ev_parse_one(int argc, char **argv, int *i, struct evidence_opts *o, char *err, size_t errlen)
{
	bool missing = false;
	const char *v;

	if (strcmp(argv[*i], "-h") == 0 || strcmp(argv[*i], "--help") == 0)
		o->help = true;
	else if ((v = ev_opt(argc, argv, i, NULL, "--reports", &missing)))
		o->reports = v;
	else if (!missing && (v = ev_opt(argc, argv, i, NULL, "--decision-log", &missing)))
		o->decision_log = v;
	else if (!missing && (v = ev_opt(argc, argv, i, "-p", "--policy", &missing)))
		o->policy = v;
	else if (!missing && (v = ev_opt(argc, argv, i, "-o", "--output", &missing)))
		o->output = v;
	else if (!missing && (v = ev_opt(argc, argv, i, "-f", "--format", &missing))) {
		if (strcmp(v, "json") != 0 && strcmp(v, "html") != 0)
			return saqr_fail(SAQR_EINVAL, err, errlen, "--format: \"%s\" is not json or html", v);
		o->html = strcmp(v, "html") == 0;
	} else
		return saqr_fail(SAQR_EINVAL, err, errlen,
				 missing ? "%s needs a value" : "unknown argument %s", argv[*i]);
	return 0;
}

int evidence_parse_args(int argc, char **argv, struct evidence_opts *o, char *err, size_t errlen)
{
	int rc;

	memset(o, 0, sizeof(*o));
	for (int i = 1; i < argc; i++)
		if ((rc = ev_parse_one(argc, argv, &i, o, err, errlen)) != 0)
			return rc;
	if (!o->help && !o->reports && !o->decision_log)
		return saqr_fail(SAQR_EINVAL, err, errlen, "give --reports, --decision-log or both");
	if (o->reports && o->reports[0] == '\0')
		return saqr_fail(SAQR_EINVAL, err, errlen, "--reports needs a file name");
	return 0;
}

/* ---- reading files ---- */

/* All of f, at most max bytes, into b. 0, SAQR_EIO, SAQR_ETOOBIG or SAQR_ENOMEM. */
static int ev_read(FILE *f, size_t max, struct buf *b)
{
	char chunk[65536];
	size_t n;
	int rc = 0;

	buf_init(b, max);
	while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		rc = buf_add(b, chunk, n);
	if (rc == 0 && ferror(f))
		rc = SAQR_EIO;
	if (rc)
		buf_release(b);
	return rc;
}

static int ev_read_path(const char *path, FILE *in, size_t max, struct buf *b, char *err, size_t errlen)
{
	FILE *f = in && strcmp(path, "-") == 0 ? in : fopen(path, "rb");
	int rc;

	if (!f)
		return saqr_fail(SAQR_EIO, err, errlen, "%s: cannot open: %s", path, strerror(errno));
	rc = ev_read(f, max, b);
	if (f != in)
		fclose(f);
	if (rc == SAQR_ETOOBIG)
		return saqr_fail(rc, err, errlen, "%s: larger than %zu MiB", path, max >> 20);
	if (rc)
		return saqr_fail(rc, err, errlen, "%s: cannot read: %s", path, saqr_strerror(rc));
	return 0;
}

/* ---- the policy in force ---- */

static int ev_policy_doc(const char *source, const struct buf *text, const struct policy *p, json_t **out)
{
	unsigned char md[OMS_SHA256_LEN];
	char hex[OMS_SHA256_HEX], digest[OMS_SHA256_HEX + 8];
	json_t *summary = NULL, *doc;
	int rc = oms_sha256_mem(text->data ? text->data : "", text->len, md);

	if (rc == 0)
		rc = policy_summary(p, &summary);
	if (rc)
		return rc;
	oms_hex(md, hex);
	snprintf(digest, sizeof(digest), "sha256:%s", hex);
	doc =
	    json_pack("{s:s, s:s, s:I}", "source", source, "digest", digest, "bytes", (json_int_t)text->len);
	if (!doc || json_object_update(doc, summary)) {
		json_decref(doc);
		json_decref(summary);
		return SAQR_ENOMEM;
	}
	json_decref(summary);
	*out = doc;
	return 0;
}

/* "policy": source, digest of the text, groups and their enforcement, exemptions. */
static int ev_policy(json_t *doc, const char *path, char *err, size_t errlen)
{
	struct buf text;
	struct policy *p = NULL;
	json_t *section = NULL;
	char msg[512] = "";
	int rc;

	if (path) {
		rc = ev_read_path(path, NULL, POLICY_MAX_FILE_BYTES, &text, err, errlen);
		if (rc)
			return rc;
	} else {
		size_t len;
		const char *builtin = policy_default_text(&len);

		buf_init(&text, len + 1);
		if ((rc = buf_add(&text, builtin, len)) != 0)
			return rc;
	}
	rc = policy_load_buffer(buf_str(&text), text.len, path ? path : "built-in", &p, msg, sizeof(msg));
	if (rc && msg[0]) /* the loader's message names the file and line */
		saqr_errf(err, errlen, "%s%s", path ? "" : "built-in policy: ", msg);
	else if (rc)
		saqr_errf(err, errlen, "%s: %s", path ? path : "built-in policy", saqr_strerror(rc));
	else
		rc = ev_policy_doc(path ? path : "built-in (manifests/policy/default.yaml)", &text, p,
				   &section);
	if (rc == 0 && json_object_set_new(doc, "policy", section))
		rc = SAQR_ENOMEM;
	policy_free(p);
	buf_release(&text);
	return rc;
}

/* ---- the reports ---- */

/* "at.member" (just "member" at the top) and "at[i]", cut to n bytes when longer. */
static void ev_join(char *out, size_t n, const char *at, const char *member)
{
	if (snprintf(out, n, "%s%s%s", at, at[0] ? "." : "", member) >= (int)n)
		out[n - 1] = '\0';
}

static void ev_index(char *out, size_t n, const char *at, size_t i)
{
	if (snprintf(out, n, "%s[%zu]", at, i) >= (int)n)
		out[n - 1] = '\0';
}

static int ev_bad(const struct ev_where *w, const char *field, const char *problem)
{
	return saqr_fail(SAQR_EINVAL, w->err, w->errlen, "%s: %s: %s", w->file, field, problem);
}

/* A member that must be a string when it is there: 0 (value or NULL in *out), or an error. */
static int ev_opt_str(const struct ev_where *w, const json_t *obj, const char *key, const char *at,
		      const char **out)
{
	const json_t *v = json_object_get(obj, key);
	char field[EV_FIELD_MAX * 2];

	*out = json_string_value(v);
	if (!v || json_is_string(v))
		return 0;
	ev_join(field, sizeof(field), at, key);
	return ev_bad(w, field, "not a string");
}

static int ev_count(json_t *map, const char *key, const char *outcome)
{
	json_t *row = json_object_get(map, key);

	if (!row) {
		row = json_pack("{s:I, s:I}", "fail", (json_int_t)0, "warn", (json_int_t)0);
		if (!row || json_object_set_new(map, key, row))
			return SAQR_ENOMEM;
	}
	return json_object_set_new(row, outcome,
				   json_integer(json_integer_value(json_object_get(row, outcome)) + 1))
		   ? SAQR_ENOMEM
		   : 0;
}

/* The first resource of a result: kind, namespace and name, each checked to be a string. */
static int ev_resource(const struct ev_where *w, const json_t *res, const char *at, const char **kind,
		       const char **ns, const char **name)
{
	const json_t *list = json_object_get(res, "resources"), *first;
	char field[EV_FIELD_MAX];
	int rc;

	*kind = *ns = *name = NULL;
	ev_join(field, sizeof(field), at, "resources");
	if (list && !json_is_array(list))
		return ev_bad(w, field, "not a list");
	first = json_array_get(list, 0);
	if (!first)
		return 0;
	ev_join(field, sizeof(field), at, "resources[0]");
	if (!json_is_object(first))
		return ev_bad(w, field, "not an object");
	rc = ev_opt_str(w, first, "kind", field, kind);
	if (rc == 0)
		rc = ev_opt_str(w, first, "namespace", field, ns);
	if (rc == 0)
		rc = ev_opt_str(w, first, "name", field, name);
	return rc;
}

static int ev_owner(const struct ev_where *w, const json_t *res, const char *at, const char **owner)
{
	const json_t *props = json_object_get(res, "properties");
	char field[EV_FIELD_MAX];

	*owner = NULL;
	ev_join(field, sizeof(field), at, "properties");
	if (props && !json_is_object(props))
		return ev_bad(w, field, "not an object");
	return props ? ev_opt_str(w, props, "owner", field, owner) : 0;
}

static int ev_exemption(struct ev_reports *r, const char *kind, const char *ns, const char *name,
			const char *message)
{
	if (r->exemptions_total++ >= EVIDENCE_MAX_ROWS)
		return 0;
	return json_array_append_new(r->exemptions,
				     json_pack("{s:s, s:s, s:s, s:s}", "kind", kind ? kind : "", "namespace",
					       ns ? ns : "", "name", name ? name : "", "message",
					       message ? message : ""))
		   ? SAQR_ENOMEM
		   : 0;
}

/* A fail or warn result: counted by rule, namespace and owner. */
static int ev_violation(struct ev_reports *r, const char *outcome, const char *rule, const char *ns,
			const char *owner)
{
	int rc = ev_count(r->by_rule, rule ? rule : "(no rule)", outcome);

	if (rc == 0)
		rc = ev_count(r->by_namespace, ns && *ns ? ns : EV_CLUSTER, outcome);
	if (rc == 0)
		rc = ev_count(r->by_owner, owner && *owner ? owner : EV_UNKNOWN_OWNER, outcome);
	return rc;
}

static int ev_outcome_index(const char *s)
{
	for (int i = 0; s && i < 5; i++)
		if (strcmp(s, ev_outcomes[i]) == 0)
			return i;
	return -1;
}

static int ev_result(struct ev_reports *r, const struct ev_where *w, const json_t *res, const char *at,
		     const char *report_ns, const char *report_source)
{
	const char *outcome, *source, *rule, *message, *kind, *ns, *name, *owner;
	int rc, o;

	if (!json_is_object(res))
		return ev_bad(w, at, "not an object");
	if ((rc = ev_opt_str(w, res, "result", at, &outcome)) != 0)
		return rc;
	if ((o = ev_outcome_index(outcome)) < 0) {
		char field[EV_FIELD_MAX];

		ev_join(field, sizeof(field), at, "result");
		return ev_bad(w, field, outcome ? "not one of pass, fail, warn, error, skip" : "missing");
	}
	if ((rc = ev_opt_str(w, res, "source", at, &source)) ||
	    (rc = ev_opt_str(w, res, "rule", at, &rule)) ||
	    (rc = ev_opt_str(w, res, "message", at, &message)) ||
	    (rc = ev_resource(w, res, at, &kind, &ns, &name)) || (rc = ev_owner(w, res, at, &owner)))
		return rc;
	source = source ? source : report_source;
	if (!source || strcmp(source, "saqr") != 0) {
		r->other_sources++;
		return 0;
	}
	r->outcome[o]++;
	ns = ns && *ns ? ns : report_ns;
	if (o == 1 || o == 2)
		return ev_violation(r, ev_outcomes[o], rule, ns, owner);
	return o == 4 ? ev_exemption(r, kind, ns, name, message) : 0;
}

static bool ev_is_report_kind(const char *kind)
{
	static const char *const kinds[] = {"Report", "ClusterReport", "PolicyReport", "ClusterPolicyReport"};

	for (size_t i = 0; kind && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kind, kinds[i]) == 0)
			return true;
	return false;
}

static int ev_report(struct ev_reports *r, const struct ev_where *w, const json_t *rep, const char *at)
{
	const json_t *results = json_object_get(rep, "results"), *meta = json_object_get(rep, "metadata"),
		     *res;
	const char *kind, *ns = NULL, *source;
	char field[EV_FIELD_MAX];
	size_t i;
	int rc;

	if (!json_is_object(rep))
		return ev_bad(w, at, "not an object");
	if ((rc = ev_opt_str(w, rep, "kind", at, &kind)) != 0)
		return rc;
	ev_join(field, sizeof(field), at, "kind");
	if (!ev_is_report_kind(kind))
		return ev_bad(w, field,
			      kind ? "not Report, ClusterReport, PolicyReport or ClusterPolicyReport"
				   : "missing");
	ev_join(field, sizeof(field), at, "metadata");
	if (meta && !json_is_object(meta))
		return ev_bad(w, field, "not an object");
	if ((meta && (rc = ev_opt_str(w, meta, "namespace", field, &ns))) ||
	    (rc = ev_opt_str(w, rep, "source", at, &source)))
		return rc;
	ev_join(field, sizeof(field), at, "results");
	if (results && !json_is_array(results))
		return ev_bad(w, field, "not a list");
	r->reports++;
	json_array_foreach(results, i, res)
	{
		char item[EV_FIELD_MAX];

		ev_index(item, sizeof(item), field, i);
		if ((rc = ev_result(r, w, res, item, ns, source)) != 0)
			return rc;
	}
	return 0;
}

/* A List of reports (any list kind: List, ReportList, ...) or one report. */
static int ev_report_list(struct ev_reports *r, const struct ev_where *w, const json_t *root)
{
	const json_t *items = json_object_get(root, "items"), *rep;
	size_t i;
	int rc;

	if (!json_is_object(root))
		return ev_bad(w, "(document)", "not a JSON object (a List of reports)");
	if (!items)
		return ev_report(r, w, root, "");
	if (!json_is_array(items))
		return ev_bad(w, "items", "not a list");
	json_array_foreach(items, i, rep)
	{
		char at[EV_FIELD_MAX];

		ev_index(at, sizeof(at), "items", i);
		if ((rc = ev_report(r, w, rep, at)) != 0)
			return rc;
	}
	return 0;
}

/* One row {key: name, fail, warn} (+ the clause it serves, for a rule). */
static json_t *ev_row(const char *key, const char *name, const json_t *counts, bool clauses)
{
	json_t *row = json_pack("{s:s, s:O, s:O}", key, name, "fail", json_object_get(counts, "fail"), "warn",
				json_object_get(counts, "warn"));
	struct evidence_clause c;

	if (row && clauses && evidence_clause_for(name, &c) &&
	    json_object_set_new(row, "clause",
				json_pack("{s:s, s:s}", "framework", c.framework, "clause", c.clause))) {
		json_decref(row);
		return NULL;
	}
	return row;
}

/* A row being sorted (a struct: sizeof of a bare json_t * reads as a mistake to the linters). */
struct ev_item {
	json_t *row;
};

/* By fail + warn, most first, then by name (the member key). */
static int ev_row_compare(const void *a, const void *b, void *key)
{
	const json_t *x = ((const struct ev_item *)a)->row, *y = ((const struct ev_item *)b)->row;
	json_int_t nx =
	    json_integer_value(json_object_get(x, "fail")) + json_integer_value(json_object_get(x, "warn"));
	json_int_t ny =
	    json_integer_value(json_object_get(y, "fail")) + json_integer_value(json_object_get(y, "warn"));

	if (nx != ny)
		return nx > ny ? -1 : 1;
	return strcmp(json_string_value(json_object_get(x, key)), json_string_value(json_object_get(y, key)));
}

/* The map name -> {fail, warn} as a list of rows, sorted. NULL when out of memory. */
static json_t *ev_rows(json_t *map, const char *key, bool clauses)
{
	json_t *out = json_array(), *counts, *row;
	const char *name;
	size_t n;

	json_object_foreach(map, name, counts)
	{
		row = ev_row(key, name, counts, clauses);
		if (!row || !out || json_array_append_new(out, row)) {
			json_decref(out);
			return NULL;
		}
	}
	n = json_array_size(out);
	if (n > 1) {
		struct ev_item *v = calloc(n, sizeof(*v));

		if (!v) {
			json_decref(out);
			return NULL;
		}
		for (size_t i = 0; i < n; i++)
			v[i].row = json_incref(json_array_get(out, i));
		qsort_r(v, n, sizeof(*v), ev_row_compare, (void *)key);
		json_array_clear(out);
		for (size_t i = 0; i < n; i++)
			json_array_append_new(out, v[i].row); /* the array had room for them: cannot fail */
		free(v);
	}
	return out;
}

static json_t *ev_reports_doc(const struct ev_reports *r, const char *file)
{
	json_t *results = json_object(), *total;

	for (int i = 0; results && i < 5; i++)
		json_object_set_new(results, ev_outcomes[i], json_integer(r->outcome[i]));
	total = json_pack("{s:s, s:I, s:o, s:I}", "file", file, "reports", (json_int_t)r->reports, "results",
			  results, "otherSources", (json_int_t)r->other_sources);
	return total;
}

static json_t *ev_violations_doc(const struct ev_reports *r)
{
	return json_pack("{s:I, s:I, s:o, s:o, s:o}", "fail", r->outcome[1], "warn", r->outcome[2], "byRule",
			 ev_rows(r->by_rule, "rule", true), "byNamespace",
			 ev_rows(r->by_namespace, "namespace", false), "byOwner",
			 ev_rows(r->by_owner, "owner", false));
}

static void ev_reports_release(struct ev_reports *r)
{
	json_decref(r->by_rule);
	json_decref(r->by_namespace);
	json_decref(r->by_owner);
	json_decref(r->exemptions);
}

static int ev_reports_add(json_t *doc, const struct ev_reports *r, const char *file)
{
	json_t *ex =
	    json_pack("{s:I, s:O}", "total", (json_int_t)r->exemptions_total, "objects", r->exemptions);

	if (json_object_set_new(doc, "reports", ev_reports_doc(r, file)) ||
	    json_object_set_new(doc, "violations", ev_violations_doc(r)) ||
	    json_object_set_new(doc, "exemptedObjects", ex))
		return SAQR_ENOMEM;
	return 0;
}

/* "reports", "violations" and "exemptedObjects" from the report list at path. */
static int ev_reports_section(json_t *doc, const char *path, FILE *in, char *err, size_t errlen)
{
	struct ev_reports r = {.reports = 0};
	struct ev_where w = {strcmp(path, "-") == 0 ? "(stdin)" : path, err, errlen};
	struct buf text;
	char perr[256];
	json_t *root = NULL;
	int rc = ev_read_path(path, in, EVIDENCE_MAX_REPORTS_BYTES, &text, err, errlen);

	if (rc)
		return rc;
	root = json_parse_capped(buf_str(&text), text.len, EVIDENCE_MAX_REPORTS_BYTES, perr, sizeof(perr));
	buf_release(&text);
	if (!root)
		return saqr_fail(SAQR_EPARSE, err, errlen, "%s: not JSON: %s", w.file, perr);
	r.by_rule = json_object();
	r.by_namespace = json_object();
	r.by_owner = json_object();
	r.exemptions = json_array();
	rc = r.by_rule && r.by_namespace && r.by_owner && r.exemptions ? ev_report_list(&r, &w, root)
								       : SAQR_ENOMEM;
	if (rc == 0)
		rc = ev_reports_add(doc, &r, w.file);
	if (rc == SAQR_ENOMEM)
		saqr_errf(err, errlen, "%s: %s", w.file, saqr_strerror(rc));
	ev_reports_release(&r);
	json_decref(root);
	return rc;
}

/* ---- the document ---- */

static json_t *ev_clauses_doc(void)
{
	size_t n;
	const struct evidence_clause *t = evidence_clauses(&n);
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s}", "rule", t[i].rule, "framework",
						       t[i].framework, "clause", t[i].clause, "how",
						       t[i].how))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *ev_header(const struct evidence_opts *o, time_t now)
{
	char when[32];
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_pack("{s:s, s:s, s:s, s:{s:s?, s:s?, s:s?}}", "apiVersion", "saqr.dev/v1alpha1", "kind",
			 "EvidenceReport", "generated", when, "inputs", "reports",
			 o->reports && strcmp(o->reports, "-") == 0 ? "(stdin)" : o->reports, "decisionLog",
			 o->decision_log, "policy", o->policy);
}

int evidence_build(const struct evidence_opts *o, FILE *in, time_t now, json_t **out, char *err,
		   size_t errlen)
{
	json_t *doc = ev_header(o, now);
	int rc = doc ? ev_policy(doc, o->policy, err, errlen) : SAQR_ENOMEM;

	if (rc == 0 && o->reports)
		rc = ev_reports_section(doc, o->reports, in, err, errlen);
	if (rc == 0 && o->decision_log)
		rc = evidence_decision_log(doc, o->decision_log, err, errlen);
	if (rc == 0 && json_object_set_new(doc, "clauses", ev_clauses_doc()))
		rc = SAQR_ENOMEM;
	if (rc == 0 && json_object_set_new(
			   doc, "note",
			   json_string("The clause table shows which provision each rule helps to evidence. "
				       "Passing these rules does not by itself establish compliance with any "
				       "law or standard.")))
		rc = SAQR_ENOMEM;
	if (rc) {
		if (rc == SAQR_ENOMEM && err && !err[0])
			saqr_errf(err, errlen, "%s", saqr_strerror(rc));
		json_decref(doc);
		return rc;
	}
	*out = doc;
	return 0;
}

/* ---- the command ---- */

static int ev_write(const struct evidence_opts *o, const json_t *doc, FILE *out, FILE *err)
{
	FILE *f = o->output ? fopen(o->output, "w") : out;
	const char *name = o->output ? o->output : "(stdout)";
	int rc;

	if (!f) {
		fprintf(err, "saqrctl report: %s: cannot open: %s\n", name, strerror(errno));
		return EVIDENCE_EXIT_INPUT;
	}
	if (o->html)
		rc = evidence_html(doc, f);
	else {
		rc = json_dumpf(doc, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) ? SAQR_EIO : 0;
		if (rc == 0 && fputc('\n', f) == EOF)
			rc = SAQR_EIO;
	}
	if (fflush(f) != 0 && rc == 0)
		rc = SAQR_EIO;
	if (f != out && fclose(f) != 0 && rc == 0)
		rc = SAQR_EIO;
	if (rc) {
		fprintf(err, "saqrctl report: %s: cannot write: %s\n", name, saqr_strerror(rc));
		return EVIDENCE_EXIT_INPUT;
	}
	return EVIDENCE_EXIT_OK;
}

int cli_evidence_main(int argc, char **argv, FILE *in, FILE *out, FILE *err)
{
	struct evidence_opts o;
	char msg[1024] = "";
	json_t *doc = NULL;
	int rc;

	if (evidence_parse_args(argc, argv, &o, msg, sizeof(msg)) != 0) {
		fprintf(err, "saqrctl report: %s\n\n%s", msg, evidence_usage);
		return EVIDENCE_EXIT_USAGE;
	}
	if (o.help) {
		fputs(evidence_usage, out);
		return EVIDENCE_EXIT_OK;
	}
	if (evidence_build(&o, in, time(NULL), &doc, msg, sizeof(msg)) != 0) {
		fprintf(err, "saqrctl report: %s\n", msg);
		return EVIDENCE_EXIT_INPUT;
	}
	rc = ev_write(&o, doc, out, err);
	json_decref(doc);
	return rc;
}

int saqrctl_evidence(int argc, char **argv)
{
	return cli_evidence_main(argc, argv, stdin, stdout, stderr);
}
