/* The results of `saqrctl check`: one record per object, the errors, a summary, and the text
 * and JSON renderings (the JSON schema is documented in docs/saqrctl.md). */
#ifndef SAQR_CLI_REPORT_H
#define SAQR_CLI_REPORT_H

#include <jansson.h>
#include <stdio.h>

#include "policy/policy.h"

enum cli_exit { CLI_EXIT_ALLOWED = 0, CLI_EXIT_DENIED = 1, CLI_EXIT_ERROR = 2 };

struct cli_report {
	json_t *results; /* array of result records (owned) */
	json_t *errors;	 /* array of {"file", "document"?, "message"} (owned) */
	size_t allowed, denied, warned;
};

/* 0 or SAQR_ENOMEM. Release with cli_report_release (NULL-safe). */
int cli_report_init(struct cli_report *r);
void cli_report_release(struct cli_report *r);

/* Record the decision d on entry (an element of cli_documents_split's output) of file. */
int cli_report_add(struct cli_report *r, const char *file, const json_t *entry,
		   const struct policy_decision *d);
/* Record an error; document 0 means the whole file. */
int cli_report_error(struct cli_report *r, const char *file, size_t document, const char *message);

/* Text: one line per finding, `file: Kind ns/name: [rule] path: message` (warn and audit
 * findings marked "warning:" and "audit:"), then `N objects: A allowed, D denied, W warned`.
 * Errors go to err as `saqrctl check: file: ...`. */
void cli_report_text(const struct cli_report *r, FILE *out, FILE *err);
/* JSON: the CheckReport document. 0 or SAQR_ENOMEM / SAQR_EIO. */
int cli_report_json(const struct cli_report *r, const char *policy_name, FILE *out);

/* 2 when there were errors, else 1 when anything was denied, else 0. */
int cli_report_exit_code(const struct cli_report *r);

#endif
