/* The daemons' flag parser and help generator (see flags.h): a linear walk over argv that looks
 * every "--name" up in the table and converts its value by type. */
#include "common/flags.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

/* One argument being parsed: the flag's name as written, and its value when it has one. */
struct flags__arg {
	const char *word;  /* argv[i] as given, for messages */
	const char *name;  /* after the "--" */
	size_t name_len;   /* up to '=' or the end */
	const char *value; /* after '=' or the next argv word; NULL: none */
	bool inline_value; /* the value came after '=' */
};

static bool flags__named(const char *name, const struct flags__arg *a)
{
	return name && strlen(name) == a->name_len && strncmp(name, a->name, a->name_len) == 0;
}

static const struct flags_opt *flags__find(const struct flags_set *set, const struct flags__arg *a)
{
	for (const struct flags_opt *o = set->opts; o->name; o++)
		if (flags__named(o->name, a) || flags__named(o->alias, a))
			return o;
	return NULL;
}

/* A value's type checks fill why ("" when there is nothing to add) on failure. */
#define FLAGS__WHY_MAX 64

static int flags__int(const struct flags_opt *o, const char *s, char *why)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end) {
		snprintf(why, FLAGS__WHY_MAX, "not a number");
		return SAQR_EINVAL;
	}
	if (v < o->min || v > o->max) {
		snprintf(why, FLAGS__WHY_MAX, "out of range %ld..%ld", o->min, o->max);
		return SAQR_EINVAL;
	}
	*(int *)o->target = (int)v;
	return 0;
}

static int flags__bool(const struct flags_opt *o, const char *s, char *why)
{
	bool *b = o->target;

	if (!s || strcmp(s, "true") == 0 || strcmp(s, "1") == 0)
		*b = true;
	else if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0)
		*b = false;
	else {
		snprintf(why, FLAGS__WHY_MAX, "want true or false");
		return SAQR_EINVAL;
	}
	return 0;
}

/* Store value in o's target. */
static int flags__store(const struct flags_opt *o, const char *value, char *why)
{
	why[0] = '\0';
	switch (o->type) {
	case FLAGS_STRING:
		*(const char **)o->target = value;
		return 0;
	case FLAGS_INT:
		return flags__int(o, value, why);
	case FLAGS_BOOL:
		return flags__bool(o, value, why);
	case FLAGS_FUNC:
		return o->parse(value, o->target) == 0 ? 0 : SAQR_EINVAL;
	case FLAGS_HELP:
		*(bool *)o->target = true;
		return 0;
	}
	return SAQR_EINVAL;
}

static void flags__bad_value(const struct flags__arg *a, const char *why, char *err, size_t errlen)
{
	snprintf(err, errlen, "bad value for --%.*s: %s%s%s%s", (int)a->name_len, a->name, a->value,
		 why[0] ? " (" : "", why, why[0] ? ")" : "");
}

/* Split argv[*i] ("--name" or "--name=value") and take the value from argv[*i + 1] when o needs
 * one and none is inline. */
static int flags__value(const struct flags_opt *o, struct flags__arg *a, int argc, char **argv, int *i,
			char *err, size_t errlen)
{
	bool takes_word = o->type == FLAGS_STRING || o->type == FLAGS_INT || o->type == FLAGS_FUNC;

	if (a->inline_value && o->type == FLAGS_HELP) {
		snprintf(err, errlen, "--%s takes no value", o->name);
		return SAQR_EINVAL;
	}
	if (a->inline_value || !takes_word)
		return 0;
	if (*i + 1 >= argc) {
		snprintf(err, errlen, "missing value for --%.*s", (int)a->name_len, a->name);
		return SAQR_EINVAL;
	}
	a->value = argv[++*i];
	return 0;
}

static void flags__split(const char *word, struct flags__arg *a)
{
	const char *eq;

	*a = (struct flags__arg){.word = word, .name = word + 2};
	eq = strchr(a->name, '=');
	a->name_len = eq ? (size_t)(eq - a->name) : strlen(a->name);
	a->value = eq ? eq + 1 : NULL;
	a->inline_value = eq != NULL;
}

/* The flag at argv[*i] (which starts with '-'); *i moves past what it used. */
static int flags__one(const struct flags_set *set, int argc, char **argv, int *i, char *err, size_t errlen)
{
	const struct flags_opt *o = NULL;
	struct flags__arg a;
	char why[FLAGS__WHY_MAX];
	int rc;

	if (strncmp(argv[*i], "--", 2) == 0) {
		flags__split(argv[*i], &a);
		o = flags__find(set, &a);
	} else if (set->short_help && strcmp(argv[*i], "-h") == 0) {
		a = (struct flags__arg){.word = argv[*i], .name = "help", .name_len = 4};
		o = flags__find(set, &a);
	}
	if (!o) {
		snprintf(err, errlen, "unknown flag: %s", argv[*i]);
		return SAQR_EINVAL;
	}
	rc = flags__value(o, &a, argc, argv, i, err, errlen);
	if (rc == 0 && (rc = flags__store(o, a.value, why)) != 0)
		flags__bad_value(&a, why, err, errlen);
	return rc;
}

/* A FLAGS_HELP flag has been given. */
static bool flags__help_given(const struct flags_set *set)
{
	for (const struct flags_opt *o = set->opts; o->name; o++)
		if (o->type == FLAGS_HELP && *(bool *)o->target)
			return true;
	return false;
}

int flags_parse(const struct flags_set *set, int argc, char **argv, char *err, size_t errlen)
{
	int i, rc = 0;

	if (err && errlen)
		err[0] = '\0';
	if (!set || !set->opts || !err || argc < 0 || (argc > 0 && !argv))
		return SAQR_EINVAL;
	for (i = 1; i < argc && rc == 0; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (argv[i][0] != '-' || argv[i][1] == '\0')
			break;
		rc = flags__one(set, argc, argv, &i, err, errlen);
		if (rc == 0 && flags__help_given(set))
			return 0;
	}
	if (rc == 0 && i < argc) {
		snprintf(err, errlen, "unexpected argument: %s", argv[i]);
		rc = SAQR_EINVAL;
	}
	return rc;
}

/* "  --name, --alias ARG" for o; its length. */
static int flags__lead(const struct flags_opt *o, FILE *out)
{
	const char *sep = o->arg && o->arg[0] != '=' && strncmp(o->arg, "[=", 2) != 0 ? " " : "";

	return fprintf(out, "  --%s%s%s%s%s", o->name, o->alias ? ", --" : "", o->alias ? o->alias : "", sep,
		       o->arg ? o->arg : "");
}

static void flags__help_text(const char *help, int column, FILE *out)
{
	for (const char *p = help; *p; p++) {
		fputc(*p, out);
		if (*p == '\n' && p[1])
			fprintf(out, "%*s", column, "");
	}
	fputc('\n', out);
}

void flags_usage(const struct flags_set *set, FILE *out)
{
	fputs(set->head, out);
	for (const struct flags_opt *o = set->opts; o->name; o++) {
		int len;

		if (!o->help)
			continue;
		len = flags__lead(o, out);
		fprintf(out, "%*s", len < set->column ? set->column - len : 1, "");
		flags__help_text(o->help, set->column, out);
	}
	if (set->tail)
		fputs(set->tail, out);
}
