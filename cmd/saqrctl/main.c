/* saqrctl: Saqr's command-line tool. Each subcommand lives in its own file and is
 * listed in the table below. */
#include <stdio.h>
#include <string.h>

#include "drift.h"

struct subcommand {
	const char *name;
	int (*main)(int argc, char **argv);
	const char *summary;
};

static const struct subcommand subcommands[] = {
    {"drift", saqrctl_drift_main, "drift statistics between a baseline and a current CSV file"},
};

static int usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: saqrctl <command> [options]\n\ncommands:\n");
	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(f, "  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
	return 2;
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2)
		return usage(stderr);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return subcommands[i].main(argc - 1, argv + 1);
	fprintf(stderr, "saqrctl: unknown command \"%s\"\n", argv[1]);
	return usage(stderr);
}
