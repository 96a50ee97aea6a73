/* Long flags for Saqr's daemons, parsed from one declarative table: "--name value" and
 * "--name=value", each value checked as it is read (an error names the flag), and the --help text
 * generated from the same table. Flags come in any order; when one is given twice the last wins. */
#ifndef SAQR_COMMON_FLAGS_H
#define SAQR_COMMON_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum flags_type {
	FLAGS_STRING, /* const char **: the argv string itself (borrowed from argv) */
	FLAGS_INT,    /* int *: a decimal integer within [min, max] */
	FLAGS_BOOL,   /* bool *: "--name" alone is true; "--name=true|false|1|0" (never a separate word) */
	FLAGS_FUNC,   /* anything: parse(value, target) returns 0 or SAQR_EINVAL */
	FLAGS_HELP,   /* bool *: set to true, and parsing stops there */
};

struct flags_opt {
	const char *name;  /* without the leading "--"; NULL ends a table */
	const char *alias; /* a second name for the same flag, listed in the help; NULL: none */
	enum flags_type type;
	void *target;  /* where the value goes (see enum flags_type); borrowed */
	long min, max; /* FLAGS_INT: the accepted range */
	int (*parse)(const char *value, void *target); /* FLAGS_FUNC */
	const char *arg;  /* the value's placeholder in the help: "PATH"; one starting with "=" or
			     "[=" is printed right after the name ("--leader-elect[=true|false]") */
	const char *help; /* its help text; "\n" continues it on a line indented to the column.
			     NULL: a hidden flag, accepted but not listed */
};

struct flags_set {
	const struct flags_opt *opts; /* the table, ended by an entry whose name is NULL */
	const char *head;	      /* printed before the flags (the "Usage:" lines) */
	const char *tail;	      /* printed after them; NULL: nothing */
	int column;		      /* where the help texts start */
	bool short_help;	      /* "-h" means --help as well */
};

/* Parse argv[1..argc-1] into the table's targets, in order (the last of a repeated flag wins),
 * stopping after a FLAGS_HELP flag. Values are borrowed from argv, which must outlive their use.
 * 0, or SAQR_EINVAL with a one-line message in err (NUL-terminated, cut to errlen) that names the
 * flag: "unknown flag: --x", "missing value for --port", "bad value for --workers: 0 (out of range
 * 1..64)", "unexpected argument: x". Targets set before the error keep their new values. */
int flags_parse(const struct flags_set *set, int argc, char **argv, char *err, size_t errlen);

/* Write the help text: head, one line (or more) per listed flag, tail. */
void flags_usage(const struct flags_set *set, FILE *out);

#endif
