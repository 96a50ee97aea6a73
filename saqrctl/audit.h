/* `saqrctl audit`: tools over saqr-webhook's decision log. */
#ifndef SAQRCTL_AUDIT_H
#define SAQRCTL_AUDIT_H

#include <stdio.h>

/* The subcommand; argv[0] is "audit". `audit verify FILE [--head HEX]`: exit 0 when the hash
 * chain holds, 1 at the first broken or missing line (named on out), 2 on an error. */
int saqrctl_audit_main(int argc, char **argv);
/* The same, writing the report to out and diagnostics to errs (for tests). */
int saqrctl_audit_run(int argc, char **argv, FILE *out, FILE *errs);

#endif
