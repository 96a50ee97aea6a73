/* `saqrctl report` over saqr-webhook's decision log. */
#ifndef SAQR_CLI_EVIDENCE_LOG_H
#define SAQR_CLI_EVIDENCE_LOG_H

#include <jansson.h>
#include <stddef.h>

#define EVIDENCE_MAX_ROWS 1000u	   /* rows kept in each list of objects; the rest are counted */
#define EVIDENCE_MAX_BUCKETS 1000u /* bars of the denials chart (the latest are kept) */

/* Add the "decisionLog" member to doc from the log at path: the chain verdict (same code as
 * `saqrctl audit verify`), decisions by outcome, break-glass and exemptions, denials per day
 * (per hour when the log spans under two days). 0, or an error naming the file and line. */
int evidence_decision_log(json_t *doc, const char *path, char *err, size_t errlen);

#endif
