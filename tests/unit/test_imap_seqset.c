/*
 * tests/unit/test_imap_seqset.c: sequence sets (bridge/imap_seqset.c):
 * parsing and its limits, "*" resolution, membership, the mapping to UIDs
 * and the "1:3,5" text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../bridge/imap_seqset.h"
#include "../../common/buf.h"
#include "../../common/limits.h"
#include "../../common/xalloc.h"
#include "test.h"

/* The ranges as "lo:hi,lo:hi" with "*" for IMAP_SEQ_STAR. */
static const char *
show(const struct imap_seqset *set)
{
	static char out[4096];
	struct buf b;
	size_t i;

	buf_init(&b, sizeof out - 1);
	if (set->is_searchres)
		buf_addstr(&b, "$");
	for (i = 0; i < set->n; i++) {
		uint32_t lo = set->r[i].lo, hi = set->r[i].hi;

		if (i)
			buf_addc(&b, ',');
		if (lo == IMAP_SEQ_STAR)
			buf_addc(&b, '*');
		else
			buf_printf(&b, "%u", (unsigned)lo);
		buf_addc(&b, ':');
		if (hi == IMAP_SEQ_STAR)
			buf_addc(&b, '*');
		else
			buf_printf(&b, "%u", (unsigned)hi);
	}
	snprintf(out, sizeof out, "%s", buf_cstr(&b));
	buf_clear(&b);
	return out;
}

static const char *
parse_show(const char *s)
{
	static char out[4096];
	struct imap_seqset set;

	if (imap_seqset_parse(s, strlen(s), &set) < 0)
		return "ERR";
	snprintf(out, sizeof out, "%s", show(&set));
	imap_seqset_clear(&set);
	return out;
}

static void
test_parse_ok(void)
{
	T_EQ_STR(parse_show("1"), "1:1");
	T_EQ_STR(parse_show("1:5"), "1:5");
	T_EQ_STR(parse_show("*"), "*:*");
	T_EQ_STR(parse_show("5:*"), "5:*");
	T_EQ_STR(parse_show("*:5"), "5:*");
	T_EQ_STR(parse_show("7:3"), "3:7");
	T_EQ_STR(parse_show("1,3,5:7"), "1:1,3:3,5:7");
	T_EQ_STR(parse_show("5:7,1,3"), "1:1,3:3,5:7");
	T_EQ_STR(parse_show("1:3,2:6,8,7"), "1:8");
	T_EQ_STR(parse_show("10,9,8,1"), "1:1,8:10");
	T_EQ_STR(parse_show("3,3,3"), "3:3");
	T_EQ_STR(parse_show("2,1:*"), "1:*");
	T_EQ_STR(parse_show("100:*,3"), "3:3,100:*");
	T_EQ_STR(parse_show("4294967294"), "4294967294:4294967294");
	/* the largest number is also "*" (32-bit numbers) */
	T_EQ_STR(parse_show("4294967295"), "*:*");
	T_EQ_STR(parse_show("1:4294967295"), "1:*");
	T_EQ_STR(parse_show("$"), "$");
}

static void
test_parse_refused(void)
{
	static const char *bad[] = {
	        "0",
	        "1:0",
	        "0:1",
	        "",
	        ",",
	        "1,",
	        ",1",
	        "a",
	        "01",
	        "1:01",
	        "1::2",
	        "1:",
	        ":1",
	        "4294967296",
	        "99999999999999999999999",
	        "-1",
	        "1 ",
	        " 1",
	        "$,1",
	        "1,$",
	        "$$",
	        "**",
	        "1:*:2",
	        "*5",
	        "5*",
	        "1.5",
	        "+1",
	        "1,,2",
	        ("\0"
	         "1"),
	        "1\0",
	};
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct imap_seqset set;
		size_t len = strlen(bad[i]);

		if (i == sizeof bad / sizeof bad[0] - 2)
			len = 2; /* "\0" "1" */
		if (i == sizeof bad / sizeof bad[0] - 1)
			len = 2; /* "1\0" */
		if (imap_seqset_parse(bad[i], len, &set) == 0) {
			fprintf(stderr, "  accepted: %s\n", bad[i]);
			T_ASSERT(0);
		}
		T_ASSERT(set.r == NULL && set.n == 0 && !set.is_searchres);
	}
}

/* Five cases for IMAP_MAX_SEQ_RANGES. */
static void
test_range_limit(void)
{
	struct imap_seqset set;
	struct buf b;
	size_t i;

	buf_init(&b, 0);
	for (i = 0; i < IMAP_MAX_SEQ_RANGES; i++)
		buf_printf(&b, "%s%zu", i ? "," : "", (i * 7919) % 1000003 + 1);
	T_EQ_INT(imap_seqset_parse(b.data, b.len, &set), 0);
	T_ASSERT(set.n > 1000);
	for (i = 1; i < set.n; i++)
		T_ASSERT(set.r[i].lo > set.r[i - 1].hi + 1);
	imap_seqset_clear(&set);
	buf_addstr(&b, ",1");
	T_EQ_INT(imap_seqset_parse(b.data, b.len, &set), -1);
	T_ASSERT(set.r == NULL);
	buf_reset(&b);
	for (i = 0; i < 3 * IMAP_MAX_SEQ_RANGES; i++)
		buf_addstr(&b, "1,");
	buf_addstr(&b, "1");
	T_EQ_INT(imap_seqset_parse(b.data, b.len, &set), -1);
	/* commas only: not a number */
	buf_reset(&b);
	for (i = 0; i < 10; i++)
		buf_addc(&b, ',');
	T_EQ_INT(imap_seqset_parse(b.data, b.len, &set), -1);
	buf_clear(&b);
	imap_seqset_clear(&set);
	imap_seqset_clear(&set);
}

static const char *
resolve_show(const char *s, uint32_t star)
{
	static char out[4096];
	struct imap_seqset set;

	if (imap_seqset_parse(s, strlen(s), &set) < 0)
		return "ERR";
	imap_seqset_resolve_star(&set, star);
	snprintf(out, sizeof out, "%s", show(&set));
	imap_seqset_clear(&set);
	return out;
}

static void
test_resolve_star(void)
{
	T_EQ_STR(resolve_show("1:*", 10), "1:10");
	T_EQ_STR(resolve_show("5:*", 3), "3:5");
	T_EQ_STR(resolve_show("*", 7), "7:7");
	T_EQ_STR(resolve_show("*", 0), "0:0");
	T_EQ_STR(resolve_show("1:*", 0), "0:1");
	T_EQ_STR(resolve_show("1:3,*", 4), "1:4");
	T_EQ_STR(resolve_show("1,*", 1), "1:1");
	T_EQ_STR(resolve_show("2,4:*", 10), "2:2,4:10");
	/* exact up to star; above it "*" was merged as if infinite */
	T_EQ_STR(resolve_show("7,5:*", 3), "3:5");
	T_EQ_STR(resolve_show("9,*:2", 5), "2:5");
	T_EQ_STR(resolve_show("4294967295", 12), "12:12");
	T_EQ_STR(resolve_show("$", 12), "$");
}

static void
test_contains(void)
{
	struct imap_seqset set;
	static const char s[] = "2,4:6,10:20,100,4000000000:*";

	T_EQ_INT(imap_seqset_parse(s, strlen(s), &set), 0);
	T_EQ_INT(imap_seqset_contains(&set, 1), 0);
	T_EQ_INT(imap_seqset_contains(&set, 2), 1);
	T_EQ_INT(imap_seqset_contains(&set, 3), 0);
	T_EQ_INT(imap_seqset_contains(&set, 4), 1);
	T_EQ_INT(imap_seqset_contains(&set, 6), 1);
	T_EQ_INT(imap_seqset_contains(&set, 7), 0);
	T_EQ_INT(imap_seqset_contains(&set, 15), 1);
	T_EQ_INT(imap_seqset_contains(&set, 21), 0);
	T_EQ_INT(imap_seqset_contains(&set, 100), 1);
	T_EQ_INT(imap_seqset_contains(&set, 101), 0);
	T_EQ_INT(imap_seqset_contains(&set, 3999999999u), 0);
	T_EQ_INT(imap_seqset_contains(&set, UINT32_MAX), 1);
	T_EQ_INT(imap_seqset_contains(&set, 0), 0);
	imap_seqset_clear(&set);
	T_EQ_INT(imap_seqset_contains(&set, 1), 0);
}

static const uint32_t UIDS[] = {1, 2, 3, 5, 8, 9, 10, 20};
#define NUIDS (sizeof UIDS / sizeof UIDS[0])

static const char *
seq_show(const char *s, int uid)
{
	static char out[4096];
	struct imap_seqset set, o;

	if (imap_seqset_parse(s, strlen(s), &set) < 0)
		return "ERR";
	if (uid) {
		imap_seqset_resolve_star(&set, UIDS[NUIDS - 1]);
		imap_seqset_uid_clip(&set, UIDS, NUIDS, &o);
	} else {
		imap_seqset_resolve_star(&set, NUIDS);
		imap_seqset_seq_to_uid(&set, UIDS, NUIDS, &o);
	}
	snprintf(out, sizeof out, "%s", show(&o));
	imap_seqset_clear(&set);
	imap_seqset_clear(&o);
	return out;
}

static void
test_seq_to_uid(void)
{
	T_EQ_STR(seq_show("1:*", 0), "1:3,5:5,8:10,20:20");
	T_EQ_STR(seq_show("2,4,6:7", 0), "2:2,5:5,9:10");
	T_EQ_STR(seq_show("7:100", 0), "10:10,20:20");
	T_EQ_STR(seq_show("9:100", 0), "");
	T_EQ_STR(seq_show("*", 0), "20:20");
	T_EQ_STR(seq_show("3,4", 0), "3:3,5:5");
	T_EQ_STR(seq_show("5,6", 0), "8:9");
}

static void
test_uid_clip(void)
{
	struct imap_seqset set, o;

	T_EQ_STR(seq_show("1:4,9:15,18:*", 1), "1:3,9:10,20:20");
	T_EQ_STR(seq_show("1:*", 1), "1:3,5:5,8:10,20:20");
	T_EQ_STR(seq_show("4,6:7,11:19,21:30", 1), "");
	T_EQ_STR(seq_show("25:*", 1), "20:20");
	T_EQ_STR(seq_show("2:8", 1), "2:3,5:5,8:8");
	/* a hand-built set, unsorted and overlapping */
	set.is_searchres = 0;
	set.n = 4;
	set.r = xcalloc(4, sizeof *set.r);
	set.r[0].lo = set.r[0].hi = 9;
	set.r[1].lo = set.r[1].hi = 1;
	set.r[2].lo = 2;
	set.r[2].hi = 3;
	set.r[3].lo = set.r[3].hi = 2;
	imap_seqset_uid_clip(&set, UIDS, NUIDS, &o);
	T_EQ_STR(show(&o), "1:3,9:9");
	imap_seqset_clear(&o);
	/* no UIDs at all */
	imap_seqset_uid_clip(&set, NULL, 0, &o);
	T_EQ_INT(o.n, 0);
	imap_seqset_clear(&o);
	imap_seqset_seq_to_uid(&set, NULL, 0, &o);
	T_EQ_INT(o.n, 0);
	imap_seqset_clear(&o);
	imap_seqset_clear(&set);
}

/* O(n + ranges): a million UIDs against fifty thousand ranges. */
static void
test_mapping_speed(void)
{
	size_t n = 1000000, i;
	uint32_t *uids = xreallocarray(NULL, n, sizeof *uids);
	struct imap_seqset set, o;
	struct buf b;
	clock_t t0;
	double secs;

	for (i = 0; i < n; i++)
		uids[i] = (uint32_t)(i * 3 + 1);
	buf_init(&b, 0);
	for (i = 0; i < 50000; i++)
		buf_printf(&b, "%s%zu:%zu", i ? "," : "", i * 60 + 1,
		           i * 60 + 20);
	T_EQ_INT(imap_seqset_parse(b.data, b.len, &set), 0);
	T_EQ_INT(set.n, 50000);
	t0 = clock();
	imap_seqset_seq_to_uid(&set, uids, n, &o);
	/* sequence k has UID 3k-2: no two are consecutive */
	T_EQ_INT(o.n, (n - 1) / 60 * 20 + 20);
	imap_seqset_clear(&o);
	imap_seqset_uid_clip(&set, uids, n, &o);
	T_ASSERT(o.n > 300000);
	imap_seqset_clear(&o);
	secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	T_ASSERT(secs < 2.0);
	imap_seqset_clear(&set);
	buf_clear(&b);
	free(uids);
}

static void
test_format(void)
{
	static const uint32_t a[] = {1, 2, 3, 5};
	static const uint32_t c[] = {5, 3, 4, 4, 9};
	static const uint32_t d[] = {4294967294u, 4294967295u, 1};
	static const uint32_t e[] = {7};
	struct buf b;

	buf_init(&b, 0);
	T_EQ_INT(imap_seqset_format_uids(NULL, 0, &b), 0);
	T_EQ_STR(buf_cstr(&b), "");
	T_EQ_INT(imap_seqset_format_uids(a, 4, &b), 0);
	T_EQ_STR(buf_cstr(&b), "1:3,5");
	buf_reset(&b);
	T_EQ_INT(imap_seqset_format_uids(c, 5, &b), 0);
	T_EQ_STR(buf_cstr(&b), "5,3:4,4,9");
	buf_reset(&b);
	T_EQ_INT(imap_seqset_format_uids(d, 3, &b), 0);
	T_EQ_STR(buf_cstr(&b), "4294967294:4294967295,1");
	buf_reset(&b);
	T_EQ_INT(imap_seqset_format_uids(e, 1, &b), 0);
	T_EQ_STR(buf_cstr(&b), "7");
	buf_clear(&b);
	/* appends; over the cap: -1 and nothing added */
	buf_init(&b, 10);
	buf_addstr(&b, "[ ");
	T_EQ_INT(imap_seqset_format_uids(a, 4, &b), 0);
	T_EQ_STR(buf_cstr(&b), "[ 1:3,5");
	T_EQ_INT(imap_seqset_format_uids(a, 4, &b), -1);
	T_EQ_STR(buf_cstr(&b), "[ 1:3,5");
	buf_clear(&b);
}

static const struct test_case tests[] = {
        {"parse_ok", test_parse_ok},
        {"parse_refused", test_parse_refused},
        {"range_limit", test_range_limit},
        {"resolve_star", test_resolve_star},
        {"contains", test_contains},
        {"seq_to_uid", test_seq_to_uid},
        {"uid_clip", test_uid_clip},
        {"mapping_speed", test_mapping_speed},
        {"format", test_format},
        {NULL, NULL},
};

TEST_MAIN(tests)
