/* `saqrctl check [--policy FILE] [-o text|json] PATH...`: the admission policy engine over
 * manifest files, directories (recursively, *.yaml, *.yml, *.json) and stdin ("-"). */
#ifndef SAQR_CLI_CHECK_H
#define SAQR_CLI_CHECK_H

#include <stdbool.h>
#include <stdio.h>

struct cli_check_opts {
	const char *policy; /* NULL: the built-in default */
	bool json;          /* -o json */
	bool help;
	char **paths; /* borrowed from argv */
	int npaths;
};

/* Parse the arguments after "check". 0, or SAQR_EINVAL with a message in err. */
int cli_check_parse_args(int argc, char **argv, struct cli_check_opts *o, char *err, size_t errlen);

/* Run the command; argv[0] is "check". Reads "-" from in, writes the report to out and
 * diagnostics to err. Returns the exit code: 0 all allowed, 1 something denied, 2 usage,
 * policy or parse errors. */
int cli_check_main(int argc, char **argv, FILE *in, FILE *out, FILE *err);

extern const char cli_check_usage[];

#endif
