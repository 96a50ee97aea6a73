/* `saqrctl drift`: drift statistics between a baseline and a current CSV file. */
#ifndef SAQRCTL_DRIFT_H
#define SAQRCTL_DRIFT_H

#include <stdio.h>

/* The subcommand; argv[0] is "drift". Exit status: 0 no drift, 1 drift, 2 error. */
int saqrctl_drift_main(int argc, char **argv);
/* The same, writing the report to out and diagnostics to errs (for tests). */
int saqrctl_drift_run(int argc, char **argv, FILE *out, FILE *errs);

#endif
