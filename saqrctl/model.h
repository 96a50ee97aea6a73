/* `saqrctl model`: model digests and OMS signatures with keys users bring. */
#ifndef SAQRCTL_MODEL_H
#define SAQRCTL_MODEL_H

#include <stdio.h>

/* The subcommand; argv[0] is "model". Exit status: 0 success, 1 verification failed, 2 error. */
int saqrctl_model_main(int argc, char **argv);
/* The same, writing results to out and diagnostics to errs (for tests). */
int saqrctl_model_run(int argc, char **argv, FILE *out, FILE *errs);

#endif
