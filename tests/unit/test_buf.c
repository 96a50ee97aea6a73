/* Unit tests for lib/common/buf.c: appends, the size cap, detach and consume. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"

static void test_add_and_format(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	assert_string_equal(buf_str(&b), "");
	assert_int_equal(buf_adds(&b, "abc"), 0);
	assert_int_equal(buf_addf(&b, "-%d-%s", 42, "x"), 0);
	assert_string_equal(buf_str(&b), "abc-42-x");
	assert_int_equal(b.len, 8);
	buf_release(&b);
}

static void test_cap_is_enforced(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 4);
	assert_int_equal(buf_adds(&b, "abcd"), 0);
	assert_int_equal(buf_adds(&b, "e"), SAQR_ETOOBIG);
	assert_string_equal(buf_str(&b), "abcd");
	buf_release(&b);
}

static void test_long_format(void **state)
{
	struct buf b;
	char big[1000];

	(void)state;
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_init(&b, 4096);
	assert_int_equal(buf_addf(&b, "<%s>", big), 0);
	assert_int_equal(b.len, 1001);
	buf_release(&b);
}

static void test_consume_and_detach(void **state)
{
	struct buf b;
	char *s;

	(void)state;
	buf_init(&b, 100);
	buf_adds(&b, "line1\nline2");
	buf_consume(&b, 6);
	assert_string_equal(buf_str(&b), "line2");
	s = buf_detach(&b);
	assert_string_equal(s, "line2");
	assert_null(b.data);
	free(s);
	s = buf_detach(&b);
	assert_string_equal(s, "");
	free(s);
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_add_and_format),
	    cmocka_unit_test(test_cap_is_enforced),
	    cmocka_unit_test(test_long_format),
	    cmocka_unit_test(test_consume_and_detach),
	};

	return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
