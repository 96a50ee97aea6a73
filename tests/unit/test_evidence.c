/* Unit tests for saqrctl/evidence*.c (`saqrctl report`) on recorded inputs in
 * tests/data/evidence: a List of OpenReports and wgpolicyk8s reports (one from another engine)
 * and a decision log in the webhook's exact format, hash-chained by decisionlog_hash, with a
 * restart, other log lines, a dropped-lines record, an exemption and a break-glass used and one
 * refused. The JSON says what the inputs hold; the HTML holds the tables and the SVG chart and
 * escapes `<script>` in object names; a broken chain is stated; a short log (written by the real
 * decision log writer) is counted per hour; bad input is named by file, line and field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/jsonutil.h"
#include "common/log.h"
#include "oms/digest.h"
#include "policy/policy.h"
#include "saqrctl/evidence.h"
#include "webhook/decisionlog.h"

struct run {
	int rc;
	char *out, *err;
};

static char data_dir[512];

static int setup(void **state)
{
	const char *root = getenv("SAQR_ROOT");

	(void)state;
	snprintf(data_dir, sizeof(data_dir), "%s/tests/data/evidence", root ? root : ".");
	return 0;
}

static const char *data(const char *name)
{
	static char paths[4][640];
	static int next;
	char *p = paths[next++ % 4];

	snprintf(p, sizeof(paths[0]), "%s/%s", data_dir, name);
	return p;
}

/* Run `report args...` (NULL-terminated) with stdin_text; capture stdout and stderr. */
static struct run report(const char *stdin_text, const char *first, ...)
{
	char *argv[16] = {"report"};
	struct run r = {0, NULL, NULL};
	size_t olen, elen;
	int argc = 1;
	va_list ap;
	FILE *in =
	    fmemopen((void *)(stdin_text ? stdin_text : " "), stdin_text ? strlen(stdin_text) : 1, "r");
	FILE *out = open_memstream(&r.out, &olen), *err = open_memstream(&r.err, &elen);

	va_start(ap, first);
	for (const char *a = first; a && argc < 15; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	r.rc = cli_evidence_main(argc, argv, in, out, err);
	fclose(in);
	fclose(out);
	fclose(err);
	return r;
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static json_t *report_json(struct run *r)
{
	json_t *doc;

	if (r->rc != 0)
		fail_msg("exit %d: %s", r->rc, r->err);
	doc = json_loads(r->out, 0, NULL);
	assert_non_null(doc);
	return doc;
}

/* The row of list whose member key is value. */
static const json_t *row(const json_t *list, const char *key, const char *value)
{
	size_t i;
	const json_t *v;

	json_array_foreach(list, i, v) if (strcmp(json_path_str(v, key, ""), value) == 0) return v;
	fail_msg("no row with %s %s", key, value);
	return NULL;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_policy_in_force(void **state)
{
	struct run r = report(NULL, "--reports", data("reports.json"), NULL);
	json_t *doc = report_json(&r);
	unsigned char md[OMS_SHA256_LEN];
	char hex[OMS_SHA256_HEX], want[OMS_SHA256_HEX + 8];
	size_t len;
	const char *text = policy_default_text(&len);

	(void)state;
	assert_int_equal(oms_sha256_mem(text, len, md), 0);
	oms_hex(md, hex);
	snprintf(want, sizeof(want), "sha256:%s", hex);
	assert_string_equal(json_path_str(doc, "kind", ""), "EvidenceReport");
	assert_string_equal(json_path_str(doc, "policy.digest", ""), want);
	assert_non_null(strstr(json_path_str(doc, "policy.source", ""), "built-in"));
	assert_string_equal(json_path_str(doc, "policy.groups.0.name", ""), "podSecurity");
	assert_string_equal(json_path_str(doc, "policy.groups.0.enforcement", ""), "deny");
	assert_string_equal(json_path_str(doc, "policy.groups.0.level", ""), "restricted");
	assert_string_equal(json_path_str(doc, "policy.exemptions.breakGlass.maxDuration", ""), "PT4H");
	assert_string_equal(json_path_str(doc, "policy.exemptions.breakGlass.groups.0", ""),
			    "saqr:break-glass");
	assert_null(json_object_get(doc, "decisionLog"));
	json_decref(doc);
	run_free(&r);
}

/* A policy file: its own digest (of the file's bytes) and enforcement. */
static void test_policy_from_a_file(void **state)
{
	char path[] = "/tmp/saqr-evidence-policy-XXXXXX";
	const char yaml[] =
	    "apiVersion: saqr.dev/v1alpha1\nkind: AdmissionPolicy\nmetadata: {name: p}\n"
	    "spec:\n  podSecurity: {enforcement: warn, level: baseline}\n  compliance: {enabled: false}\n";
	unsigned char md[OMS_SHA256_LEN];
	char hex[OMS_SHA256_HEX], want[OMS_SHA256_HEX + 8];
	struct run r;
	json_t *doc;

	(void)state;
	close(mkstemp(path));
	write_text(path, yaml);
	r = report(NULL, "--reports", data("reports.json"), "--policy", path, NULL);
	doc = report_json(&r);
	oms_sha256_mem(yaml, strlen(yaml), md);
	oms_hex(md, hex);
	snprintf(want, sizeof(want), "sha256:%s", hex);
	assert_string_equal(json_path_str(doc, "policy.digest", ""), want);
	assert_string_equal(json_path_str(doc, "policy.source", ""), path);
	assert_string_equal(json_path_str(doc, "policy.groups.0.enforcement", ""), "warn");
	assert_string_equal(json_path_str(doc, "policy.groups.0.level", ""), "baseline");
	assert_false(json_is_true(json_path(doc, "policy.groups.3.enabled")));
	json_decref(doc);
	run_free(&r);
	write_text(path, "spec: {podSecurity: {enforcement: sometimes}}\n");
	r = report(NULL, "--reports", data("reports.json"), "--policy", path, NULL);
	assert_int_equal(r.rc, EVIDENCE_EXIT_INPUT);
	assert_non_null(strstr(r.err, path));
	assert_non_null(strstr(r.err, "enforcement"));
	run_free(&r);
	unlink(path);
}

static void test_violations_by_rule_namespace_owner(void **state)
{
	struct run r = report(NULL, "--reports", data("reports.json"), NULL);
	json_t *doc = report_json(&r);
	const json_t *v = json_object_get(doc, "violations"), *x;

	(void)state;
	assert_int_equal(json_path_int(doc, "reports.reports", -1), 5);
	assert_int_equal(json_path_int(doc, "reports.results.fail", -1), 6);
	assert_int_equal(json_path_int(doc, "reports.results.warn", -1), 2);
	assert_int_equal(json_path_int(doc, "reports.results.pass", -1), 1);
	assert_int_equal(json_path_int(doc, "reports.results.skip", -1), 2);
	assert_int_equal(json_path_int(doc, "reports.otherSources", -1), 1); /* kyverno's */
	assert_int_equal(json_path_int(v, "fail", -1), 6);
	assert_int_equal(json_array_size(json_object_get(v, "byRule")), 8);
	x = row(json_object_get(v, "byRule"), "rule", "dataResidency.location");
	assert_int_equal(json_path_int(x, "fail", -1), 1);
	assert_non_null(strstr(json_path_str(x, "clause.framework", ""), "45 of 2021"));
	assert_non_null(strstr(json_path_str(x, "clause.clause", ""), "Art. 22-23"));
	x = row(json_object_get(v, "byRule"), "rule", "compliance.retention");
	assert_int_equal(json_path_int(x, "warn", -1), 1);
	/* most violations first */
	assert_string_equal(json_path_str(v, "byNamespace.0.namespace", ""), "ml-dev");
	assert_int_equal(json_path_int(v, "byNamespace.0.fail", -1), 3);
	assert_int_equal(json_path_int(v, "byNamespace.0.warn", -1), 1);
	assert_int_equal(
	    json_path_int(row(json_object_get(v, "byNamespace"), "namespace", "shop"), "fail", -1), 1);
	assert_string_equal(json_path_str(v, "byOwner.0.owner", ""), "team-payments");
	assert_int_equal(json_path_int(v, "byOwner.0.fail", -1), 2);
	assert_int_equal(json_path_int(row(json_object_get(v, "byOwner"), "owner", "unknown"), "fail", -1),
			 2);
	assert_int_equal(json_path_int(doc, "exemptedObjects.total", -1), 2);
	assert_string_equal(json_path_str(doc, "exemptedObjects.objects.1.name", ""),
			    "<script>alert('skip')</script>");
	json_decref(doc);
	run_free(&r);
}

static void test_decision_log(void **state)
{
	struct run r = report(NULL, "--decision-log", data("decisions.log"), "--format", "json", NULL);
	json_t *doc = report_json(&r);
	const json_t *log = json_object_get(doc, "decisionLog"), *bg, *buckets;

	(void)state;
	assert_true(json_is_true(json_path(log, "chain.verified")));
	assert_string_equal(json_path_str(log, "chain.result", ""), "ok");
	assert_int_equal(json_path_int(log, "chain.lines", -1), 10);
	assert_int_equal(json_path_int(log, "chain.chains", -1), 2);
	assert_non_null(strstr(json_path_str(log, "chain.message", ""), "ok: 10 decision log lines"));
	assert_int_equal(json_path_int(log, "decisions", -1), 9);
	assert_int_equal(json_path_int(log, "denied", -1), 6);
	assert_int_equal(json_path_int(log, "allowed", -1), 3);
	assert_int_equal(json_path_int(log, "dryRun", -1), 1);
	assert_int_equal(json_path_int(log, "droppedLines", -1), 2);
	assert_string_equal(json_path_str(log, "first", ""), "2026-11-30T09:12:03Z");
	bg = json_object_get(log, "breakGlass");
	assert_int_equal(json_path_int(bg, "honoured", -1), 1);
	assert_int_equal(json_path_int(bg, "refused", -1), 1);
	assert_string_equal(json_path_str(bg, "events.0.user", ""), "carol@example.ae");
	assert_string_equal(json_path_str(bg, "events.0.time", ""), "2026-12-01T08:00:17.230Z");
	assert_string_equal(json_path_str(bg, "events.0.name", ""), "fraud-model");
	assert_string_equal(json_path_str(bg, "events.0.reason", ""), "INC-4711 fraud model outage");
	assert_string_equal(json_path_str(bg, "events.0.status", ""), "honoured");
	assert_string_equal(json_path_str(bg, "events.0.waived", ""),
			    "dataResidency.location,zeroTrust.imageDigest");
	assert_string_equal(json_path_str(bg, "events.1.status", ""), "refused");
	assert_string_equal(json_path_str(log, "exemptions.events.0.reason", ""), "namespace kube-system");
	assert_int_equal(json_path_int(log, "exemptions.total", -1), 1);
	/* three days: per day */
	assert_string_equal(json_path_str(log, "denials.unit", ""), "day");
	buckets = json_path(log, "denials.buckets");
	assert_int_equal(json_array_size(buckets), 3);
	assert_string_equal(json_path_str(buckets, "0.start", ""), "2026-11-30T00:00:00Z");
	assert_int_equal(json_path_int(buckets, "0.denied", -1), 2);
	assert_int_equal(json_path_int(buckets, "1.denied", -1), 1);
	assert_int_equal(json_path_int(buckets, "2.denied", -1), 3);
	assert_int_equal(json_path_int(log, "denials.max", -1), 3);
	assert_null(json_object_get(doc, "violations")); /* no reports given */
	json_decref(doc);
	run_free(&r);
}

static void test_html_is_self_contained_and_escaped(void **state)
{
	char path[] = "/tmp/saqr-evidence-html-XXXXXX";
	struct run r;
	char *html;
	size_t len = 0, bars = 0;
	FILE *f;

	(void)state;
	close(mkstemp(path));
	r = report(NULL, "--reports", data("reports.json"), "--decision-log", data("decisions.log"),
		   "--format", "html", "-o", path, NULL);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, ""); /* it went to the file */
	f = fopen(path, "r");
	assert_non_null(f);
	html = calloc(1, 1 << 20);
	len = fread(html, 1, (1 << 20) - 1, f);
	fclose(f);
	unlink(path);
	assert_true(len > 1000);
	assert_true(strncmp(html, "<!DOCTYPE html>", 15) == 0);
	assert_non_null(strstr(html, "<style>"));
	assert_non_null(strstr(html, "<table>"));
	assert_non_null(strstr(html, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
	assert_non_null(strstr(html, "Hash chain verified."));
	assert_non_null(strstr(html, "team-payments"));
	assert_non_null(strstr(html, "INC-4711 fraud model outage"));
	assert_non_null(strstr(html, "Art. 22-23"));
	/* waived rules get room to wrap (a long comma-joined list pushed the table past the page) */
	assert_non_null(strstr(html, "<td>dataResidency.location, zeroTrust.imageDigest</td>"));
	/* the object names, escaped: in the break-glass table and among exempt objects */
	assert_non_null(strstr(html, "ml-dev/&lt;script&gt;alert(1)&lt;/script&gt;"));
	assert_non_null(strstr(html, "&lt;script&gt;alert(&#39;skip&#39;)&lt;/script&gt;"));
	assert_non_null(strstr(html, "just testing &lt;b&gt;"));
	assert_null(strstr(html, "<script"));
	assert_null(strstr(html, "testing <b>"));
	/* nothing fetched from elsewhere */
	assert_null(strstr(html, "<link"));
	assert_null(strstr(html, "src="));
	assert_null(strstr(html, "url("));
	for (const char *p = html; (p = strstr(p, "<rect class=\"bar\"")) != NULL; p++)
		bars++;
	assert_int_equal(bars, 3);
	assert_non_null(strstr(html, "<title>2026-12-02T00:00:00Z: 3 denied</title>"));
	assert_non_null(strstr(html, "</html>\n"));
	free(html);
	run_free(&r);
}

/* An altered line: the report is still written, and says the chain is broken and where. */
static void test_broken_chain_is_stated(void **state)
{
	char path[] = "/tmp/saqr-evidence-log-XXXXXX", line[8192];
	FILE *in = fopen(data("decisions.log"), "r"), *out;
	struct run r;
	json_t *doc;

	(void)state;
	close(mkstemp(path));
	out = fopen(path, "w");
	assert_non_null(in);
	while (fgets(line, sizeof(line), in)) {
		char *at = strstr(line, "\"bob@example.ae\"");

		if (at)
			memcpy(at + 1, "eve", 3); /* the same length: only the hash shows it */
		fputs(line, out);
	}
	fclose(in);
	fclose(out);
	r = report(NULL, "--decision-log", path, NULL);
	doc = report_json(&r);
	assert_false(json_is_true(json_path(doc, "decisionLog.chain.verified")));
	assert_string_equal(json_path_str(doc, "decisionLog.chain.result", ""), "broken");
	assert_non_null(
	    strstr(json_path_str(doc, "decisionLog.chain.message", ""), "broken: line 4 (seq 3)"));
	assert_int_equal(json_path_int(doc, "decisionLog.decisions", -1), 9);
	json_decref(doc);
	run_free(&r);
	unlink(path);
}

/* A log written now by the real writer (as the webhook does) spans minutes: per hour. */
static void test_short_log_is_counted_per_hour(void **state)
{
	char path[] = "/tmp/saqr-evidence-short-XXXXXX";
	struct decisionlog *dl = NULL;
	int saved = dup(2);
	FILE *f;
	struct run r;
	json_t *doc;

	(void)state;
	close(mkstemp(path));
	f = fopen(path, "w");
	log_set_level(LOG_LVL_INFO);
	fflush(stderr);
	assert_true(dup2(fileno(f), 2) >= 0);
	assert_int_equal(decisionlog_new(16, NULL, &dl), 0);
	for (int i = 0; i < 3; i++)
		decisionlog_push(dl, "admission decision",
				 json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:[], s:b, s:b}", "uid", "u",
					   "user", "alice", "kind", "Pod", "namespace", "ns", "name", "p",
					   "operation", "CREATE", "decision", i == 1 ? "allow" : "deny",
					   "rules", "dryRun", 0, "exempt", 0));
	decisionlog_free(dl);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	fclose(f);
	r = report(NULL, "--decision-log", path, NULL);
	doc = report_json(&r);
	assert_true(json_is_true(json_path(doc, "decisionLog.chain.verified")));
	assert_string_equal(json_path_str(doc, "decisionLog.denials.unit", ""), "hour");
	assert_int_equal(json_path_int(doc, "decisionLog.denied", -1), 2);
	/* the three lines may straddle an hour */
	assert_true(json_array_size(json_path(doc, "decisionLog.denials.buckets")) <= 2);
	assert_int_equal(json_path_int(doc, "decisionLog.denials.buckets.0.denied", -1) +
			     json_path_int(doc, "decisionLog.denials.buckets.1.denied", 0),
			 2);
	json_decref(doc);
	run_free(&r);
	unlink(path);
}

/* Bad report lists: exit 1 and the field named. */
static void test_bad_reports_name_the_field(void **state)
{
	static const char *const cases[][2] = {
	    {"{\"items\": [", "(stdin): not JSON: "},
	    {"[]", "(stdin): (document): not a JSON object"},
	    {"{\"kind\": \"List\", \"items\": {}}", "(stdin): items: not a list"},
	    {"{\"items\": [{\"kind\": \"Pod\"}]}", "items[0].kind: not Report, ClusterReport"},
	    {"{\"items\": [{\"metadata\": {}}]}", "items[0].kind: missing"},
	    {"{\"items\": [7]}", "items[0]: not an object"},
	    {"{\"items\": [{\"kind\": \"Report\", \"metadata\": []}]}", "items[0].metadata: not an object"},
	    {"{\"items\": [{\"kind\": \"Report\", \"metadata\": {\"namespace\": 1}}]}",
	     "items[0].metadata.namespace: not a string"},
	    {"{\"items\": [{\"kind\": \"Report\", \"results\": {}}]}", "items[0].results: not a list"},
	    {"{\"items\": [{\"kind\": \"Report\", \"results\": [{\"result\": 3}]}]}",
	     "items[0].results[0].result: not a string"},
	    {"{\"items\": [{\"kind\": \"Report\", \"results\": [{}]}]}",
	     "items[0].results[0].result: missing"},
	    {"{\"items\": [{\"kind\": \"Report\", \"results\": [{\"result\": \"maybe\"}]}]}",
	     "items[0].results[0].result: not one of pass, fail, warn, error, skip"},
	    {"{\"items\": [{\"kind\": \"Report\", \"results\": [{\"result\": \"fail\", \"rule\": []}]}]}",
	     "items[0].results[0].rule: not a string"},
	    {"{\"items\": [{\"kind\": \"Report\", \"results\": [{\"result\": \"fail\", \"resources\": "
	     "{}}]}]}",
	     "items[0].results[0].resources: not a list"},
	    {"{\"items\": [{\"kind\": \"Report\", \"results\": [{\"result\": \"fail\", \"resources\": "
	     "[{\"name\": "
	     "7}]}]}]}",
	     "items[0].results[0].resources[0].name: not a string"},
	    {"{\"items\": [{\"kind\": \"Report\", \"results\": [{\"result\": \"fail\", \"properties\": "
	     "{\"owner\": true}}]}]}",
	     "items[0].results[0].properties.owner: not a string"},
	    {"{\"kind\": \"Report\", \"results\": [{\"result\": \"fail\", \"properties\": 1}]}",
	     "(stdin): results[0].properties: not an object"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run r = report(cases[i][0], "--reports", "-", NULL);

		if (r.rc != EVIDENCE_EXIT_INPUT || !strstr(r.err, cases[i][1]))
			fail_msg("case %zu: exit %d, stderr \"%s\", wanted \"%s\"", i, r.rc, r.err,
				 cases[i][1]);
		assert_string_equal(r.out, "");
		run_free(&r);
	}
}

/* Bad decision log lines: exit 1, the line and the field named; other lines are skipped. */
static void test_bad_decision_log_names_the_line(void **state)
{
	static const char *const cases[][2] = {
	    {"{\"msg\":\"admission decision\",\"decision\":\"deny\"}", "line 2: time: missing"},
	    {"{\"msg\":\"admission decision\",\"time\":5,\"decision\":\"deny\"}",
	     "line 2: time: not a string"},
	    {"{\"msg\":\"admission decision\",\"time\":\"yesterday\",\"decision\":\"deny\"}",
	     "line 2: time: not an RFC 3339 time"},
	    {"{\"msg\":\"admission decision\",\"time\":\"2026-12-01T00:00:00Z\"}",
	     "line 2: decision: missing"},
	    {"{\"msg\":\"admission decision\",\"time\":\"2026-12-01T00:00:00Z\",\"decision\":\"maybe\"}",
	     "line 2: decision: not allow, deny or error"},
	    {"{\"msg\":\"admission "
	     "decision\",\"time\":\"2026-12-01T00:00:00Z\",\"decision\":\"deny\",\"exempt\":"
	     "\"yes\"}",
	     "line 2: exempt: not true or false"},
	    {"{\"msg\":\"admission "
	     "decision\",\"time\":\"2026-12-01T00:00:00Z\",\"decision\":\"deny\",\"rules\":[1]}",
	     "line 2: rules: an item is not a string"},
	    {"{\"msg\":\"admission "
	     "decision\",\"time\":\"2026-12-01T00:00:00Z\",\"decision\":\"deny\",\"user\":{}}",
	     "line 2: user: not a string"},
	};
	char path[] = "/tmp/saqr-evidence-bad-XXXXXX", text[1024];
	struct run r;

	(void)state;
	close(mkstemp(path));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "not json at all\n%s\n", cases[i][0]);
		write_text(path, text);
		r = report(NULL, "--decision-log", path, NULL);
		if (r.rc != EVIDENCE_EXIT_INPUT || !strstr(r.err, path) || !strstr(r.err, cases[i][1]))
			fail_msg("case %zu: exit %d, stderr \"%s\", wanted \"%s\"", i, r.rc, r.err,
				 cases[i][1]);
		run_free(&r);
	}
	unlink(path);
	r = report(NULL, "--decision-log", path, NULL); /* gone */
	assert_int_equal(r.rc, EVIDENCE_EXIT_INPUT);
	assert_non_null(strstr(r.err, "cannot open"));
	run_free(&r);
	r = report(NULL, "--reports", "/nonexistent/reports.json", NULL);
	assert_int_equal(r.rc, EVIDENCE_EXIT_INPUT);
	assert_non_null(strstr(r.err, "/nonexistent/reports.json: cannot open"));
	run_free(&r);
}

static void test_usage(void **state)
{
	struct run r;

	(void)state;
	r = report(NULL, NULL);
	assert_int_equal(r.rc, EVIDENCE_EXIT_USAGE);
	assert_non_null(strstr(r.err, "give --reports, --decision-log or both"));
	run_free(&r);
	r = report(NULL, "--reports", data("reports.json"), "--format", "pdf", NULL);
	assert_int_equal(r.rc, EVIDENCE_EXIT_USAGE);
	assert_non_null(strstr(r.err, "\"pdf\" is not json or html"));
	run_free(&r);
	r = report(NULL, "--reports", data("reports.json"), "--verbose", NULL);
	assert_int_equal(r.rc, EVIDENCE_EXIT_USAGE);
	assert_non_null(strstr(r.err, "unknown argument --verbose"));
	run_free(&r);
	r = report(NULL, "--reports", NULL);
	assert_int_equal(r.rc, EVIDENCE_EXIT_USAGE);
	assert_non_null(strstr(r.err, "--reports needs a value"));
	run_free(&r);
	r = report(NULL, "--help", NULL);
	assert_int_equal(r.rc, EVIDENCE_EXIT_OK);
	assert_non_null(strstr(r.out, "Usage: saqrctl report"));
	run_free(&r);
	r = report(NULL, "--reports", data("reports.json"), "-o", "/nonexistent/dir/out.html", NULL);
	assert_int_equal(r.rc, EVIDENCE_EXIT_INPUT);
	assert_non_null(strstr(r.err, "/nonexistent/dir/out.html: cannot open"));
	run_free(&r);
}

/* Every rule id of docs/policy.md's rule tables maps to a clause; the table is complete. */
static void test_every_documented_rule_has_a_clause(void **state)
{
	static const char *const groups[] = {"podSecurity.", "zeroTrust.", "dataResidency.", "compliance.",
					     "exemptions."};
	char path[640], line[2048];
	struct evidence_clause c;
	size_t n, rules = 0;
	const struct evidence_clause *t = evidence_clauses(&n);
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/../../../docs/policy.md", data_dir);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char rule[128];

		if (strncmp(line, "| `", 3) != 0 || sscanf(line + 3, "%127[^`]", rule) != 1)
			continue;
		for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++)
			if (strncmp(rule, groups[g], strlen(groups[g])) == 0 && !strchr(rule, ' ')) {
				if (!evidence_clause_for(rule, &c))
					fail_msg("%s has no clause", rule);
				rules++;
			}
	}
	fclose(f);
	assert_true(rules >= 30);
	for (size_t i = 0; i < n; i++)
		assert_true(t[i].framework[0] && t[i].clause[0] && t[i].how[0]);
	assert_true(evidence_clause_for("podSecurity.baseline.hostPorts", &c));
	assert_string_equal(c.clause, "Baseline profile");
	assert_true(evidence_clause_for("dataResidency.transferBasis", &c));
	assert_non_null(strstr(c.framework, "DIFC"));
	assert_non_null(strstr(c.framework, "ADGM"));
	assert_true(evidence_clause_for("zeroTrust.modelTLS", &c));
	assert_non_null(strstr(c.framework, "800-207"));
	assert_false(evidence_clause_for("require-labels", &c));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_policy_in_force),
	    cmocka_unit_test(test_policy_from_a_file),
	    cmocka_unit_test(test_violations_by_rule_namespace_owner),
	    cmocka_unit_test(test_decision_log),
	    cmocka_unit_test(test_html_is_self_contained_and_escaped),
	    cmocka_unit_test(test_broken_chain_is_stated),
	    cmocka_unit_test(test_short_log_is_counted_per_hour),
	    cmocka_unit_test(test_bad_reports_name_the_field),
	    cmocka_unit_test(test_bad_decision_log_names_the_line),
	    cmocka_unit_test(test_usage),
	    cmocka_unit_test(test_every_documented_rule_has_a_clause),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
