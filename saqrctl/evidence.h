/* `saqrctl report`: evidence for an auditor. From the policy reports in a cluster (OpenReports
 * or wgpolicyk8s, as `kubectl get ... -o json` lists them), the webhook's decision log (its hash
 * chain verified as `saqrctl audit verify` does) and the policy in force, one EvidenceReport:
 * what is in force, violations by rule, namespace and owner, break-glass and exemptions, the
 * clause each rule serves, and denials over time. JSON, or a self-contained HTML page.
 *
 * The JSON document is the model; the HTML page is rendered from it alone (evidence_html.c).
 * Its schema is in docs/audit.md ("Evidence for auditors"). */
#ifndef SAQR_CLI_EVIDENCE_H
#define SAQR_CLI_EVIDENCE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

enum evidence_exit { EVIDENCE_EXIT_OK = 0, EVIDENCE_EXIT_INPUT = 1, EVIDENCE_EXIT_USAGE = 2 };

#define EVIDENCE_MAX_REPORTS_BYTES ((size_t)256 << 20) /* the report list read */
#define EVIDENCE_MAX_ROWS 1000u	   /* rows kept in each list of objects; the rest are counted */
#define EVIDENCE_MAX_BUCKETS 1000u /* bars of the denials chart (the latest are kept) */

struct evidence_opts {
	const char *reports;	  /* FILE, "-" for stdin, or NULL */
	const char *decision_log; /* FILE or NULL */
	const char *policy;	  /* FILE, or NULL for the built-in policy */
	const char *output;	  /* FILE, or NULL for stdout */
	bool html;		  /* --format html (default json) */
	bool help;
};

extern const char evidence_usage[];

/* Parse the arguments after "report". 0, or SAQR_EINVAL with a message in err (a usage error:
 * unknown option, missing value, bad format, no input). */
int evidence_parse_args(int argc, char **argv, struct evidence_opts *o, char *err, size_t errlen);

/* The EvidenceReport for the inputs of o, generated at now; in is read for --reports -.
 * *out is a new reference. 0, or an error with a message naming the file and, for bad content,
 * the line or field (SAQR_EIO, SAQR_EPARSE, SAQR_EINVAL, SAQR_ETOOBIG, SAQR_ECONFIG, SAQR_ENOMEM). */
int evidence_build(const struct evidence_opts *o, FILE *in, time_t now, json_t **out, char *err,
		   size_t errlen);

/* The clause a rule id serves, from a static table: framework (the law or standard), clause
 * (article or section) and how the rule serves it. Static strings; false when no entry fits. */
struct evidence_clause {
	const char *rule; /* a rule id, or a prefix ending in '.' ("podSecurity.baseline.") */
	const char *framework;
	const char *clause;
	const char *how;
};
bool evidence_clause_for(const char *rule, struct evidence_clause *out);
/* The whole table, in its order (*n entries). */
const struct evidence_clause *evidence_clauses(size_t *n);

/* Add the "decisionLog" member to doc from the log at path: the chain verdict (same code as
 * `saqrctl audit verify`), decisions by outcome, break-glass and exemptions, denials per day
 * (per hour when the log spans under two days). 0, or an error naming the file and line. */
int evidence_decision_log(json_t *doc, const char *path, char *err, size_t errlen);

/* Render doc (from evidence_build) as one self-contained HTML page: inline CSS, tables and an
 * inline SVG bar chart; no script, no external resource; every string escaped.
 * 0, SAQR_EIO (write failed) or SAQR_ENOMEM. */
int evidence_html(const json_t *doc, FILE *out);

/* Write s with &, <, >, " and ' escaped for HTML text and attribute values. */
void evidence_html_escape(FILE *out, const char *s);

/* Run the command; argv[0] is "report". Exit code per enum evidence_exit; the document goes to
 * --output or out, diagnostics to err. */
int cli_evidence_main(int argc, char **argv, FILE *in, FILE *out, FILE *err);

int saqrctl_evidence(int argc, char **argv);

#endif
