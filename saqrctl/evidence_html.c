/* The EvidenceReport as one self-contained HTML page: inline CSS, tables, and the denials over
 * time as an inline SVG bar chart. No script and no external resource, so that the page can be
 * archived and opened anywhere; every string from the inputs is escaped. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "saqrctl/evidence_html.h"

#define EVH_W 760 /* the chart's size and margins, in px */
#define EVH_H 260
#define EVH_LEFT 48
#define EVH_RIGHT 12
#define EVH_TOP 16
#define EVH_BOTTOM 40
#define EVH_XLABELS 12 /* about this many labels on the time axis */

/* A column: the member shown and its header. "@object" shows "Kind namespace/name". */
struct evh_col {
	const char *key;
	const char *header;
};

static const char evh_style[] =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1b1f24;"
    "max-width:1100px;margin:2em auto;padding:0 1em}"
    "h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid "
    "#d0d7de;padding-bottom:.2em}h3{font-size:1em;margin-top:1.4em}"
    ".meta,.note{color:#57606a}.note{font-size:.9em}"
    "table{border-collapse:collapse;margin:.6em 0;width:100%}"
    "th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}"
    "th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums}"
    "table.kv th{width:14em}code{font-size:.92em;word-break:break-all}"
    ".ok{background:#dafbe1;border:1px solid #4ac26b}.bad{background:#ffebe9;border:1px solid #ff8182}"
    ".verdict{padding:.6em 1em;border-radius:6px;margin:.6em 0}"
    "svg text{font:11px system-ui,sans-serif;fill:#57606a}svg .bar{fill:#cf222e}"
    "svg .axis{stroke:#8c959f;stroke-width:1}svg .grid{stroke:#eaeef2;stroke-width:1}"
    "@media print{body{margin:0}}";

void evidence_html_escape(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", out);
			break;
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		case '\'':
			fputs("&#39;", out);
			break;
		default:
			fputc(*s, out);
		}
	}
}

/* The string v, or def when v is not one. */
static const char *evh_or(const json_t *v, const char *def)
{
	return json_is_string(v) ? json_string_value(v) : def;
}

static void evh_text(FILE *f, const char *tag, const char *text)
{
	fprintf(f, "<%s>", tag);
	evidence_html_escape(f, text);
	fprintf(f, "</%s>\n", tag);
}

/* A list of strings as "a, b, c"; "none" when empty. */
static void evh_list(FILE *f, const json_t *list)
{
	size_t i;
	const json_t *v;

	if (!json_array_size(list))
		fputs("<i>none</i>", f);
	json_array_foreach(list, i, v)
	{
		if (i)
			fputs(", ", f);
		fputs("<code>", f);
		evidence_html_escape(f, json_string_value(v));
		fputs("</code>", f);
	}
}

static void evh_value(FILE *f, const json_t *row, const char *key)
{
	const json_t *v = json_object_get(row, key);

	if (strcmp(key, "@object") == 0) {
		const char *ns = json_string_value(json_object_get(row, "namespace"));

		evidence_html_escape(f, json_string_value(json_object_get(row, "kind")));
		fputc(' ', f);
		if (ns && *ns) {
			evidence_html_escape(f, ns);
			fputc('/', f);
		}
		evidence_html_escape(f, json_string_value(json_object_get(row, "name")));
	} else if (json_is_integer(v)) {
		fprintf(f, "%lld", (long long)json_integer_value(v));
	} else if (json_is_boolean(v)) {
		fputs(json_is_true(v) ? "yes" : "no", f);
	} else if (json_is_array(v)) {
		evh_list(f, v);
	} else if (json_is_object(v)) { /* a clause: framework, clause */
		evidence_html_escape(f, json_string_value(json_object_get(v, "framework")));
		fputs(": ", f);
		evidence_html_escape(f, json_string_value(json_object_get(v, "clause")));
	} else if (strcmp(key, "waived") == 0 && json_string_value(v)) { /* "a,b": room to wrap */
		char *copy = strdup(json_string_value(v)), *save = NULL;

		for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save)) {
			fputs(t == copy ? "" : ", ", f);
			evidence_html_escape(f, t);
		}
		free(copy);
	} else {
		evidence_html_escape(f, json_string_value(v));
	}
}

/* rows as a table of ncols columns; empty says so. */
static void evh_table(FILE *f, const json_t *rows, const struct evh_col *cols, size_t ncols,
		      const char *empty)
{
	size_t i;
	const json_t *row;

	if (!json_array_size(rows)) {
		fprintf(f, "<p class=\"note\">%s</p>\n", empty);
		return;
	}
	fputs("<table>\n<thead><tr>", f);
	for (size_t c = 0; c < ncols; c++)
		evh_text(f, "th", cols[c].header);
	fputs("</tr></thead>\n<tbody>\n", f);
	json_array_foreach(rows, i, row)
	{
		fputs("<tr>", f);
		for (size_t c = 0; c < ncols; c++) {
			fputs(json_is_integer(json_object_get(row, cols[c].key)) ? "<td class=\"n\">"
										 : "<td>",
			      f);
			evh_value(f, row, cols[c].key);
			fputs("</td>", f);
		}
		fputs("</tr>\n", f);
	}
	fputs("</tbody>\n</table>\n", f);
}

static void evh_kv(FILE *f, const char *key, const char *value, bool code)
{
	fputs("<tr><th>", f);
	evidence_html_escape(f, key);
	fputs(code ? "</th><td><code>" : "</th><td>", f);
	evidence_html_escape(f, value);
	fputs(code ? "</code></td></tr>\n" : "</td></tr>\n", f);
}

static void evh_head(FILE *f, const json_t *doc)
{
	const json_t *in = json_object_get(doc, "inputs");

	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<title>Saqr evidence report</title>\n<style>",
	      f);
	fputs(evh_style, f);
	fputs("</style>\n</head>\n<body>\n<h1>Saqr evidence report</h1>\n<p class=\"meta\">Generated ", f);
	evidence_html_escape(f, json_string_value(json_object_get(doc, "generated")));
	fputs(" by <code>saqrctl report</code>.</p>\n<table class=\"kv\">\n", f);
	evh_kv(f, "Policy reports", evh_or(json_object_get(in, "reports"), "not given"), true);
	evh_kv(f, "Decision log", evh_or(json_object_get(in, "decisionLog"), "not given"), true);
	fputs("</table>\n", f);
}

static void evh_policy(FILE *f, const json_t *p)
{
	static const struct evh_col cols[] = {
	    {"name", "Group"}, {"enabled", "Enabled"}, {"enforcement", "Enforcement"}, {"level", "Level"}};
	const json_t *x = json_object_get(p, "exemptions"), *bg = json_object_get(x, "breakGlass");

	fputs("<h2>Policy in force</h2>\n<table class=\"kv\">\n", f);
	evh_kv(f, "Source", json_string_value(json_object_get(p, "source")), false);
	evh_kv(f, "Digest of the policy text", json_string_value(json_object_get(p, "digest")), true);
	fputs("<tr><th>Allowed locations</th><td>", f);
	evh_list(f, json_object_get(p, "allowedLocations"));
	fputs("</td></tr>\n</table>\n<h3>Rule groups</h3>\n", f);
	evh_table(f, json_object_get(p, "groups"), cols, sizeof(cols) / sizeof(cols[0]), "No groups.");
	fputs("<h3>Exemptions in the policy</h3>\n<table class=\"kv\">\n<tr><th>Namespaces</th><td>", f);
	evh_list(f, json_object_get(x, "namespaces"));
	fputs("</td></tr>\n<tr><th>Users</th><td>", f);
	evh_list(f, json_object_get(x, "users"));
	fputs("</td></tr>\n<tr><th>Groups</th><td>", f);
	evh_list(f, json_object_get(x, "groups"));
	fputs("</td></tr>\n<tr><th>Break-glass groups</th><td>", f);
	evh_list(f, json_object_get(bg, "groups"));
	fputs("</td></tr>\n", f);
	evh_kv(f, "Break-glass at most", json_string_value(json_object_get(bg, "maxDuration")), false);
	fputs("</table>\n", f);
}

static void evh_chain(FILE *f, const json_t *log)
{
	const json_t *chain = json_object_get(log, "chain");
	bool ok = json_is_true(json_object_get(chain, "verified"));

	fputs("<h2>Decision log</h2>\n", f);
	fprintf(f, "<div class=\"verdict %s\"><b>Hash chain %s.</b> ", ok ? "ok" : "bad",
		ok ? "verified" : "BROKEN");
	evidence_html_escape(f, json_string_value(json_object_get(chain, "message")));
	fputs("</div>\n<table class=\"kv\">\n", f);
	evh_kv(f, "File", json_string_value(json_object_get(log, "file")), true);
	fprintf(f,
		"<tr><th>Decisions</th><td>%lld (%lld allowed, %lld denied, %lld errors; %lld "
		"dry-run)</td></tr>\n"
		"<tr><th>Lines dropped by the writer</th><td>%lld</td></tr>\n",
		json_integer_value(json_object_get(log, "decisions")),
		json_integer_value(json_object_get(log, "allowed")),
		json_integer_value(json_object_get(log, "denied")),
		json_integer_value(json_object_get(log, "errors")),
		json_integer_value(json_object_get(log, "dryRun")),
		json_integer_value(json_object_get(log, "droppedLines")));
	if (json_is_string(json_object_get(log, "first"))) {
		fputs("<tr><th>From</th><td>", f);
		evidence_html_escape(f, json_string_value(json_object_get(log, "first")));
		fputs(" to ", f);
		evidence_html_escape(f, json_string_value(json_object_get(log, "last")));
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
}

static void evh_violations(FILE *f, const json_t *doc)
{
	static const struct evh_col by_rule[] = {
	    {"rule", "Rule"}, {"fail", "Fail"}, {"warn", "Warn"}, {"clause", "Serves"}};
	static const struct evh_col by_ns[] = {
	    {"namespace", "Namespace"}, {"fail", "Fail"}, {"warn", "Warn"}};
	static const struct evh_col by_owner[] = {{"owner", "Owner"}, {"fail", "Fail"}, {"warn", "Warn"}};
	const json_t *v = json_object_get(doc, "violations"), *r = json_object_get(doc, "reports");
	const json_t *res = json_object_get(r, "results");

	fputs("<h2>Violations in the policy reports</h2>\n", f);
	fprintf(f, "<p>%lld reports: %lld fail and %lld warn results (%lld pass, %lld skip, %lld error).",
		json_integer_value(json_object_get(r, "reports")),
		json_integer_value(json_object_get(res, "fail")),
		json_integer_value(json_object_get(res, "warn")),
		json_integer_value(json_object_get(res, "pass")),
		json_integer_value(json_object_get(res, "skip")),
		json_integer_value(json_object_get(res, "error")));
	if (json_integer_value(json_object_get(r, "otherSources")))
		fprintf(f, " Results from other engines (%lld) are not counted.",
			json_integer_value(json_object_get(r, "otherSources")));
	fputs(" Owners come from the objects' <code>saqr.dev/owner</code> label.</p>\n<h3>By rule</h3>\n", f);
	evh_table(f, json_object_get(v, "byRule"), by_rule, 4, "No violations.");
	fputs("<h3>By namespace</h3>\n", f);
	evh_table(f, json_object_get(v, "byNamespace"), by_ns, 3, "No violations.");
	fputs("<h3>By owner</h3>\n", f);
	evh_table(f, json_object_get(v, "byOwner"), by_owner, 3, "No violations.");
}

/* "2026-12-04T13:00:00Z" as "12-04" (days) or "04 13h" (hours). */
static void evh_tick(const char *start, bool daily, char *out, size_t n)
{
	if (!start || strlen(start) < 13)
		snprintf(out, n, "?");
	else if (daily)
		snprintf(out, n, "%.5s", start + 5);
	else
		snprintf(out, n, "%.2s %.2sh", start + 8, start + 11);
}

static void evh_bar(FILE *f, const json_t *b, double x, double w, double plot_h, json_int_t max)
{
	json_int_t n = json_integer_value(json_object_get(b, "denied"));
	double h = max ? plot_h * (double)n / (double)max : 0;

	fprintf(f, "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"><title>", x,
		EVH_TOP + plot_h - h, w, h);
	evidence_html_escape(f, json_string_value(json_object_get(b, "start")));
	fprintf(f, ": %lld denied</title></rect>\n", (long long)n);
}

static void evh_axes(FILE *f, double plot_w, double plot_h, json_int_t max)
{
	for (int i = 0; i <= 2; i++) {
		double y = EVH_TOP + plot_h - plot_h * i / 2.0;

		fprintf(f, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", EVH_LEFT,
			y, EVH_LEFT + plot_w, y);
		if (i != 1 || max % 2 == 0) /* a middle label only where it is a whole number */
			fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%lld</text>\n",
				EVH_LEFT - 6, y + 4, (long long)(max * i / 2));
	}
	fprintf(f, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%.1f\"/>\n", EVH_LEFT, EVH_TOP,
		EVH_LEFT, EVH_TOP + plot_h);
	fprintf(f, "<line class=\"axis\" x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", EVH_LEFT,
		EVH_TOP + plot_h, EVH_LEFT + plot_w, EVH_TOP + plot_h);
}

static void evh_chart(FILE *f, const json_t *series)
{
	const json_t *buckets = json_object_get(series, "buckets"), *b;
	bool daily = strcmp(evh_or(json_object_get(series, "unit"), ""), "day") == 0;
	size_t n = json_array_size(buckets), i, every = n / EVH_XLABELS + 1;
	json_int_t max = json_integer_value(json_object_get(series, "max"));
	double plot_w = EVH_W - EVH_LEFT - EVH_RIGHT, plot_h = EVH_H - EVH_TOP - EVH_BOTTOM,
	       step = n ? plot_w / n : 0;
	char tick[32];

	fprintf(
	    f,
	    "<h2>Denials over time</h2>\n<p>Denied admission requests per %s, from the decision log.%s</p>\n",
	    daily ? "day (UTC)" : "hour (UTC)",
	    json_is_true(json_object_get(series, "truncated")) ? " Only the latest periods are drawn." : "");
	if (!n) {
		fputs("<p class=\"note\">No decisions in the log.</p>\n", f);
		return;
	}
	fprintf(f,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" aria-label=\"Denials per %s\">\n<title>Denials per %s</title>\n",
		EVH_W, EVH_H, EVH_W, EVH_H, daily ? "day" : "hour", daily ? "day" : "hour");
	evh_axes(f, plot_w, plot_h, max);
	json_array_foreach(buckets, i, b)
	{
		evh_bar(f, b, EVH_LEFT + step * i + step * 0.1, step * 0.8, plot_h, max);
		if (i % every == 0) {
			evh_tick(json_string_value(json_object_get(b, "start")), daily, tick, sizeof(tick));
			fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">",
				EVH_LEFT + step * (i + 0.5), EVH_TOP + plot_h + 16);
			evidence_html_escape(f, tick);
			fputs("</text>\n", f);
		}
	}
	fputs("</svg>\n", f);
}

static void evh_exemptions(FILE *f, const json_t *doc)
{
	static const struct evh_col bg[] = {
	    {"time", "Time"},	  {"user", "User"},	{"@object", "Object"},	{"operation", "Operation"},
	    {"reason", "Reason"}, {"status", "Status"}, {"expires", "Expires"}, {"waived", "Rules waived"}};
	static const struct evh_col ex[] = {{"time", "Time"},	     {"user", "User"},
					    {"@object", "Object"},   {"operation", "Operation"},
					    {"reason", "Exempt by"}, {"waived", "Rules waived"}};
	static const struct evh_col skip[] = {{"@object", "Object"}, {"message", "Why"}};
	const json_t *log = json_object_get(doc, "decisionLog"),
		     *objs = json_object_get(doc, "exemptedObjects");
	const json_t *bgs = json_object_get(log, "breakGlass");

	fputs("<h2>Break-glass and exemptions</h2>\n", f);
	if (log) {
		fprintf(f, "<h3>Break-glass in the decision log</h3>\n<p>%lld used, %lld refused.</p>\n",
			json_integer_value(json_object_get(bgs, "honoured")),
			json_integer_value(json_object_get(bgs, "refused")));
		evh_table(f, json_object_get(bgs, "events"), bg, 8, "No break-glass requests.");
		fputs("<h3>Exempt requests in the decision log</h3>\n", f);
		evh_table(f, json_object_get(json_object_get(log, "exemptions"), "events"), ex, 6,
			  "No exempt requests.");
	}
	if (objs) {
		fputs("<h3>Exempt objects in the policy reports</h3>\n", f);
		evh_table(f, json_object_get(objs, "objects"), skip, 2, "No exempt objects.");
	}
}

static void evh_clauses(FILE *f, const json_t *doc)
{
	static const struct evh_col cols[] = {{"rule", "Rule"},
					      {"framework", "Law or standard"},
					      {"clause", "Provision"},
					      {"how", "What the rule checks"}};

	fputs("<h2>Rules and the provisions they serve</h2>\n", f);
	fputs("<p class=\"note\">A rule id ending in a dot stands for every rule that starts with it.</p>\n",
	      f);
	evh_table(f, json_object_get(doc, "clauses"), cols, 4, "No table.");
	fputs("<p class=\"note\">", f);
	evidence_html_escape(f, json_string_value(json_object_get(doc, "note")));
	fputs("</p>\n", f);
}

int evidence_html(const json_t *doc, FILE *out)
{
	const json_t *log = json_object_get(doc, "decisionLog");

	if (!json_is_object(doc))
		return SAQR_EINVAL;
	evh_head(out, doc);
	evh_policy(out, json_object_get(doc, "policy"));
	if (log)
		evh_chain(out, log);
	if (json_object_get(doc, "violations"))
		evh_violations(out, doc);
	if (log)
		evh_chart(out, json_object_get(log, "denials"));
	evh_exemptions(out, doc);
	evh_clauses(out, doc);
	fputs("</body>\n</html>\n", out);
	return ferror(out) ? SAQR_EIO : 0;
}
