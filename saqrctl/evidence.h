/* `saqrctl report`: evidence for an auditor. From the policy reports in a cluster (OpenReports
 * or wgpolicyk8s, as `kubectl get ... -o json` lists them), the webhook's decision log (its hash
 * chain verified as `saqrctl audit verify` does) and the policy in force, one EvidenceReport:
 * what is in force, violations by rule, namespace and owner, break-glass and exemptions, the
 * clause each rule serves, and denials over time. JSON, or a self-contained HTML page.
 *
 * The JSON document is the model; the HTML page is rendered from it alone. evidence.c reads the
 * arguments, the policy and the reports and assembles the document; evidence_log.c reads the
 * decision log, evidence_clauses.c holds the rule-to-provision table, evidence_html.c renders.
 * The schema is in docs/audit.md ("Evidence for auditors"). */
#ifndef SAQR_CLI_EVIDENCE_H
#define SAQR_CLI_EVIDENCE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "saqrctl/evidence_clauses.h"
#include "saqrctl/evidence_html.h"
#include "saqrctl/evidence_log.h"

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

/* Run the command; argv[0] is "report". Exit code per enum evidence_exit; the document goes to
 * --output or out, diagnostics to err. */
int cli_evidence_main(int argc, char **argv, FILE *in, FILE *out, FILE *err);

int saqrctl_evidence(int argc, char **argv);

#endif
