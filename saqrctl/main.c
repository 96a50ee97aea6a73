/* saqrctl: Saqr's command-line tool. Dispatches to one subcommand per file of saqrctl/. */
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "drift.h"
#include "evidence.h"
#include "model.h"
#include "saqrctl.h"
#include "test.h"

struct saqrctl_command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
};

static const struct saqrctl_command saqrctl_commands[] = {
    {"check", "check manifests against the admission policy, offline (as saqr-webhook would)", saqrctl_check},
    {"test", "run policy test suites (resources and the verdicts they must get), for CI", saqrctl_test},
    {"drift", "drift statistics between a baseline and a current CSV file (PSI, KS, JS, ...)",
     saqrctl_drift_main},
    {"model", "a model's digest; sign and verify it (OpenSSF Model Signing) with your own keys",
     saqrctl_model_main},
    {"audit", "verify the hash chain of a saqr-webhook decision log (audit verify FILE)", saqrctl_audit_main},
    {"report", "evidence for an auditor from policy reports and the decision log (JSON or HTML)",
     saqrctl_evidence},
};

#define SAQRCTL_NCOMMANDS (sizeof(saqrctl_commands) / sizeof(saqrctl_commands[0]))

static void saqrctl_usage(FILE *f)
{
	size_t i;

	fputs("Usage: saqrctl COMMAND [ARGS...]\n\nCommands:\n", f);
	for (i = 0; i < SAQRCTL_NCOMMANDS; i++)
		fprintf(f, "  %-8s %s\n", saqrctl_commands[i].name, saqrctl_commands[i].summary);
	fputs("\nRun `saqrctl COMMAND --help` for a command's options.\n", f);
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		saqrctl_usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		saqrctl_usage(stdout);
		return 0;
	}
	for (i = 0; i < SAQRCTL_NCOMMANDS; i++)
		if (strcmp(argv[1], saqrctl_commands[i].name) == 0)
			return saqrctl_commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "saqrctl: unknown command \"%s\"\n\n", argv[1]);
	saqrctl_usage(stderr);
	return 2;
}
