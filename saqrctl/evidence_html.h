/* `saqrctl report`: the EvidenceReport as one self-contained HTML page. */
#ifndef SAQR_CLI_EVIDENCE_HTML_H
#define SAQR_CLI_EVIDENCE_HTML_H

#include <jansson.h>
#include <stdio.h>

/* Render doc (from evidence_build) as one self-contained HTML page: inline CSS, tables and an
 * inline SVG bar chart; no script, no external resource; every string escaped.
 * 0, SAQR_EIO (write failed) or SAQR_ENOMEM. */
int evidence_html(const json_t *doc, FILE *out);

/* Write s with &, <, >, " and ' escaped for HTML text and attribute values. */
void evidence_html_escape(FILE *out, const char *s);

#endif
