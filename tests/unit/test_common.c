/* tests/unit/test_common.c: buf, str and imap_quote helpers of common/. */
#include <stdint.h>
#include <string.h>

#include "../../common/buf.h"
#include "../../common/str.h"
#include "test.h"

static void
test_buf_cap(void)
{
	struct buf b;
	buf_init(&b, 8);
	T_EQ_INT(buf_addstr(&b, "12345678"), 0);
	T_EQ_INT(buf_addc(&b, 'x'), -1);
	T_EQ_INT(b.len, 8);
	T_EQ_STR(buf_cstr(&b), "12345678");
	buf_consume(&b, 3);
	T_EQ_STR(buf_cstr(&b), "45678");
	T_EQ_INT(buf_printf(&b, "%d", 123), 0);
	T_EQ_INT(buf_printf(&b, "%d", 1234), -1);
	T_EQ_STR(buf_cstr(&b), "45678123");
	buf_clear(&b);
}

static void
test_u64_limits(void)
{
	uint64_t v;
	T_EQ_INT(str_cstr_to_u64("100", 100, &v), 0);
	T_EQ_INT(v, 100);
	T_EQ_INT(str_cstr_to_u64("101", 100, &v), -1);
	T_EQ_INT(str_cstr_to_u64("-1", 100, &v), -1);
	T_EQ_INT(str_cstr_to_u64("99999999999999999999999", UINT64_MAX, &v), -1);
	T_EQ_INT(str_cstr_to_u64("18446744073709551615", UINT64_MAX, &v), 0);
	T_EQ_INT(str_cstr_to_u64("18446744073709551616", UINT64_MAX, &v), -1);
	T_EQ_INT(str_cstr_to_u64("abc", 100, &v), -1);
	T_EQ_INT(str_cstr_to_u64("", 100, &v), -1);
}

static void
test_casemem(void)
{
	const char *h = "Hello World";
	T_ASSERT(str_memcasemem(h, strlen(h), "WORLD", 5) == h + 6);
	T_ASSERT(str_memcasemem(h, strlen(h), "worlds", 6) == NULL);
}

static const struct test_case tests[] = {
	{ "buf_cap", test_buf_cap },
	{ "u64_limits", test_u64_limits },
	{ "casemem", test_casemem },
	{ NULL, NULL },
};

TEST_MAIN(tests)
