/* tests/unit/test_imap_write.c: flag lists, dates, auth throttling. */
#include <stdint.h>
#include <string.h>

#include "../../common/auth_throttle.h"
#include "../../bridge/imap_parser.h"
#include "../../bridge/imap_write.h"
#include "../../common/buf.h"
#include "../../db/store.h"
#include "test.h"

static void
test_write_flags(void)
{
	struct buf b;
	buf_init(&b, 0);
	imap_write_flags(&b, STORE_FLAG_SEEN | STORE_FLAG_DELETED, "$Junk x",
			 1);
	T_EQ_STR(buf_cstr(&b), "(\\Seen \\Deleted \\Recent $Junk x)");
	buf_reset(&b);
	imap_write_flags(&b, 0, "", 0);
	T_EQ_STR(buf_cstr(&b), "()");
	buf_clear(&b);
}

static void
test_datetime_roundtrip(void)
{
	struct buf b;
	int64_t t;
	int tz;
	const char *in = "17-Jul-1996 02:44:25 -0700";

	T_EQ_INT(imap_parse_datetime(in, strlen(in), &t, &tz), 0);
	T_EQ_INT(tz, -420);
	T_EQ_INT(t, 837596665);
	buf_init(&b, 0);
	imap_write_datetime(&b, t, tz);
	T_EQ_STR(buf_cstr(&b), "\"17-Jul-1996 02:44:25 -0700\"");
	buf_clear(&b);
	/* day with one digit, leading space form */
	T_EQ_INT(imap_parse_datetime(" 1-Feb-2020 00:00:00 +0000", 26, &t, &tz),
		 0);
	T_EQ_INT(t, 1580515200);
	T_EQ_INT(imap_parse_datetime("1-Feb-2020 00:00:00 +0000", 25, &t, &tz),
		 0);
	/* errors */
	T_EQ_INT(imap_parse_datetime("32-Feb-2020 00:00:00 +0000", 26, &t, &tz),
		 -1);
	T_EQ_INT(imap_parse_datetime("1-Foo-2020 00:00:00 +0000", 25, &t, &tz),
		 -1);
	T_EQ_INT(imap_parse_datetime("1-Feb-2020 24:00:00 +0000", 25, &t, &tz),
		 -1);
	T_EQ_INT(imap_parse_datetime("1-Feb-2020 00:00:00 0000", 24, &t, &tz),
		 -1);
	T_EQ_INT(imap_parse_datetime("", 0, &t, &tz), -1);
}

static void
test_date(void)
{
	int64_t t;
	T_EQ_INT(imap_parse_date("1-Feb-1994", 10, &t), 0);
	T_EQ_INT(t, 760060800);
	T_EQ_INT(imap_parse_date("01-Feb-1994", 11, &t), 0);
	T_EQ_INT(t, 760060800);
	T_EQ_INT(imap_parse_date("1-Feb-94", 8, &t), -1);
	T_EQ_INT(imap_parse_date("1-Feb-1994x", 11, &t), -1);
}

static void
test_parse_flags(void)
{
	struct imap_arg l[3], list;
	struct buf kw;
	uint32_t f;
	const char *err;

	memset(l, 0, sizeof l);
	memset(&list, 0, sizeof list);
	l[0].type = l[1].type = l[2].type = IMAP_ARG_ATOM;
	l[0].s = "\\Seen";
	l[0].len = 5;
	l[1].s = "Work";
	l[1].len = 4;
	l[2].s = "work";
	l[2].len = 4;
	list.type = IMAP_ARG_LIST;
	list.list = l;
	list.nlist = 3;
	buf_init(&kw, 0);
	T_EQ_INT(imap_parse_flags(&list, &f, &kw, &err), 0);
	T_EQ_INT(f, STORE_FLAG_SEEN);
	T_EQ_STR(buf_cstr(&kw), "Work");
	l[1].s = "\\Bogus";
	l[1].len = 6;
	T_EQ_INT(imap_parse_flags(&list, &f, &kw, &err), -1);
	l[1].s = "a]b";
	l[1].len = 3;
	T_EQ_INT(imap_parse_flags(&list, &f, &kw, &err), -1);
	buf_clear(&kw);
}

static void
test_throttle(void)
{
	struct auth_throttle *t = auth_throttle_new();
	T_EQ_INT(auth_throttle_fail(t, "1.2.3.4", 1000), 1000);
	T_EQ_INT(auth_throttle_fail(t, "1.2.3.4", 2000), 2000);
	T_EQ_INT(auth_throttle_fail(t, "1.2.3.4", 3000), 4000);
	T_EQ_INT(auth_throttle_fail(t, "5.6.7.8", 3000), 1000);
	T_EQ_INT(auth_throttle_fail(t, "1.2.3.4", 4000), 8000);
	T_EQ_INT(auth_throttle_fail(t, "1.2.3.4", 5000), 16000);
	T_EQ_INT(auth_throttle_fail(t, "1.2.3.4", 6000), 16000);
	auth_throttle_ok(t, "1.2.3.4");
	T_EQ_INT(auth_throttle_fail(t, "1.2.3.4", 7000), 1000);
	/* forgotten after 15 minutes */
	T_EQ_INT(auth_throttle_fail(t, "5.6.7.8", 3000 + 16 * 60 * 1000), 1000);
	auth_throttle_free(&t);
}

static const struct test_case tests[] = {
	{ "write_flags", test_write_flags },
	{ "datetime_roundtrip", test_datetime_roundtrip },
	{ "date", test_date },
	{ "parse_flags", test_parse_flags },
	{ "throttle", test_throttle },
	{ NULL, NULL },
};

TEST_MAIN(tests)
