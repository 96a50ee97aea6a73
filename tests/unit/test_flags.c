/* lib/common/flags: both spellings of a value, typed checks with messages that name the flag,
 * last-wins, --help stopping the parse, and the help text generated from the table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"
#include "common/flags.h"

struct opts {
	const char *file;
	int port;
	bool verbose;
	bool help;
	int mode;
};

static int parse_mode(const char *s, void *target)
{
	if (strcmp(s, "fast") != 0 && strcmp(s, "slow") != 0)
		return SAQR_EINVAL;
	*(int *)target = s[0] == 'f' ? 1 : 2;
	return 0;
}

static struct opts o;
static char err[256];
static const struct flags_opt table[] = {
    {"file", "input", FLAGS_STRING, &o.file, .arg = "PATH", .help = "the file"},
    {"port", NULL, FLAGS_INT, &o.port, 1, 100, .arg = "N", .help = "a port\nin range (default 7)"},
    {"verbose", NULL, FLAGS_BOOL, &o.verbose, .arg = "[=true|false]", .help = "talk"},
    {"mode", NULL, FLAGS_FUNC, &o.mode, .parse = parse_mode, .arg = "fast|slow", .help = "how"},
    {"secret", NULL, FLAGS_INT, &o.port, 1, 100, .help = NULL},
    {"help", NULL, FLAGS_HELP, &o.help, .help = "this text"},
    {NULL},
};
static const struct flags_set set = {
    .opts = table, .head = "Usage: t\n", .tail = "end\n", .column = 20, .short_help = true};

/* Parse a NULL-terminated list of words after a program name. */
static int parse(const char *first, ...)
{
	char *argv[16] = {"prog"};
	int argc = 1;
	va_list ap;

	memset(&o, 0, sizeof(o));
	o.port = 7;
	va_start(ap, first);
	for (const char *w = first; w && argc < 15; w = va_arg(ap, const char *))
		argv[argc++] = (char *)w;
	va_end(ap);
	return flags_parse(&set, argc, argv, err, sizeof(err));
}

static void test_both_spellings_and_last_wins(void **state)
{
	(void)state;
	assert_int_equal(parse("--file", "a", "--port=9", "--input=b", "--port", "10", NULL), 0);
	assert_string_equal(o.file, "b");
	assert_int_equal(o.port, 10);
	assert_int_equal(parse("--file=", NULL), 0);
	assert_string_equal(o.file, "");
	assert_int_equal(parse(NULL), 0);
	assert_null(o.file);
	assert_int_equal(o.port, 7);
}

static void test_int_errors_name_the_flag(void **state)
{
	(void)state;
	assert_int_equal(parse("--port", "x", NULL), SAQR_EINVAL);
	assert_string_equal(err, "bad value for --port: x (not a number)");
	assert_int_equal(parse("--port=0", NULL), SAQR_EINVAL);
	assert_string_equal(err, "bad value for --port: 0 (out of range 1..100)");
	assert_int_equal(parse("--port", NULL), SAQR_EINVAL);
	assert_string_equal(err, "missing value for --port");
	assert_int_equal(parse("--secret", "5", NULL), 0);
	assert_int_equal(o.port, 5);
}

static void test_bool(void **state)
{
	(void)state;
	assert_int_equal(parse("--verbose", NULL), 0);
	assert_true(o.verbose);
	assert_int_equal(parse("--verbose=true", "--verbose=0", NULL), 0);
	assert_false(o.verbose);
	assert_int_equal(parse("--verbose=maybe", NULL), SAQR_EINVAL);
	assert_string_equal(err, "bad value for --verbose: maybe (want true or false)");
	assert_int_equal(parse("--verbose", "false", NULL), SAQR_EINVAL); /* never a separate word */
	assert_string_equal(err, "unexpected argument: false");
}

static void test_func(void **state)
{
	(void)state;
	assert_int_equal(parse("--mode", "slow", NULL), 0);
	assert_int_equal(o.mode, 2);
	assert_int_equal(parse("--mode=warp", NULL), SAQR_EINVAL);
	assert_string_equal(err, "bad value for --mode: warp");
}

static void test_unknown_and_stray(void **state)
{
	(void)state;
	assert_int_equal(parse("--bogus=1", NULL), SAQR_EINVAL);
	assert_string_equal(err, "unknown flag: --bogus=1");
	assert_int_equal(parse("-x", NULL), SAQR_EINVAL);
	assert_string_equal(err, "unknown flag: -x");
	assert_int_equal(parse("--port", "3", "extra", NULL), SAQR_EINVAL);
	assert_string_equal(err, "unexpected argument: extra");
	assert_int_equal(parse("--", "--port", NULL), SAQR_EINVAL);
	assert_string_equal(err, "unexpected argument: --port");
	assert_int_equal(parse("--help=yes", NULL), SAQR_EINVAL);
	assert_string_equal(err, "--help takes no value");
	assert_int_equal(flags_parse(NULL, 1, NULL, err, sizeof(err)), SAQR_EINVAL);
}

static void test_help_stops_the_parse(void **state)
{
	(void)state;
	assert_int_equal(parse("--help", "--port", "x", NULL), 0);
	assert_true(o.help);
	assert_int_equal(parse("-h", NULL), 0);
	assert_true(o.help);
	assert_int_equal(parse("--port", "x", "--help", NULL), SAQR_EINVAL);
}

static void test_usage_from_the_table(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	assert_non_null(f);
	flags_usage(&set, f);
	assert_int_equal(fclose(f), 0);
	assert_string_equal(text, "Usage: t\n"
				  "  --file, --input PATH the file\n"
				  "  --port N          a port\n"
				  "                    in range (default 7)\n"
				  "  --verbose[=true|false] talk\n"
				  "  --mode fast|slow  how\n"
				  "  --help            this text\n"
				  "end\n");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_both_spellings_and_last_wins),
	    cmocka_unit_test(test_int_errors_name_the_flag),
	    cmocka_unit_test(test_bool),
	    cmocka_unit_test(test_func),
	    cmocka_unit_test(test_unknown_and_stray),
	    cmocka_unit_test(test_help_stops_the_parse),
	    cmocka_unit_test(test_usage_from_the_table),
	};

	return cmocka_run_group_tests_name("flags", tests, NULL, NULL);
}
