/* `saqrctl audit`: tools over saqr-webhook's decision log. */
#ifndef SAQRCTL_AUDIT_H
#define SAQRCTL_AUDIT_H

#include <stdio.h>

#include "webhook/decisionlog.h"

/* What a verification saw, up to where it stopped. */
struct saqrctl_audit_chain {
	unsigned long nlines, nchains; /* chained lines and chains (restarts) that held */
	unsigned long long last_seq;
	char head[DECISIONLOG_HASH_HEX]; /* SHA-256 of the last line that held */
};

/* The subcommand; argv[0] is "audit". `audit verify FILE [--head HEX]`: exit 0 when the hash
 * chain holds, 1 at the first broken or missing line (named on out), 2 on an error. */
int saqrctl_audit_main(int argc, char **argv);
/* The same, writing the report to out and diagnostics to errs (for tests). */
int saqrctl_audit_run(int argc, char **argv, FILE *out, FILE *errs);
/* Verify the log at path (`audit verify`, also used by `saqrctl report`): the verdict line
 * ("ok: ..." or "broken: ...") goes to out, diagnostics to errs; result (may be NULL) is
 * filled in every case. 0 the chain holds, 1 it is broken, 2 error (cannot open or read). */
int saqrctl_audit_verify(const char *path, const char *head, FILE *out, FILE *errs,
			 struct saqrctl_audit_chain *result);

#endif
