/* `saqrctl check [--policy FILE] [-o text|json] PATH...`: the admission policy engine over
 * manifest files, directories (recursively, *.yaml, *.yml, *.json) and stdin ("-"). */
#ifndef SAQR_CLI_CHECK_H
#define SAQR_CLI_CHECK_H

#include <stdbool.h>
#include <jansson.h>
#include <stdio.h>
#include <time.h>

struct cli_check_opts {
	const char *policy; /* NULL: the built-in default */
	bool json;	    /* -o json */
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

struct policy;
struct policy_decision;

/* The building blocks `saqrctl test` shares with check. */
/* Load the policy file, or the built-in default when path is NULL. 0 or the loader's error
 * (message in err). */
int cli_check_load_policy(const char *path, struct policy **out, char *err, size_t errlen);
/* Read all of f, at most CLI_MAX_FILE_BYTES; *out (caller frees) on success.
 * 0, SAQR_ENOMEM, SAQR_EIO or SAQR_ETOOBIG. */
int cli_check_read(FILE *f, char **out, size_t *outlen);
/* Evaluate one object as check does (a CREATE, no user, at now) into d (initialised here;
 * release it with policy_decision_release). 0 or policy_eval's error. */
int cli_check_eval(const struct policy *p, const json_t *object, time_t now, struct policy_decision *d);

#endif
