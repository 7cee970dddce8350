/*
 * tests/unit/test_pop3_body.c: bridge/pop3_body.c, the streaming RETR/TOP
 * body reader: the terminator (CRLF and bare LF), dot-unstuffing, line end
 * repair, bytes kept as they are, the size cap with its five cases, and
 * the same result for every way of splitting the input (byte by byte,
 * every 2-way and 3-way split, and random inputs against a line-based
 * model).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../bridge/pop3_body.h"
#include "../../common/buf.h"
#include "test.h"

struct result {
	struct buf out;
	uint64_t total, wire;
	long consumed;
	int done, too_big, bad, err;
};

static void
result_init(struct result *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->out, 0);
}

/*
 * Feeds in[0..n) cut at the given offsets (cuts ascending, ncuts of them),
 * as a client would: each chunk until the body is done.
 */
static void
feed_split(const char *in, size_t n, const size_t *cuts, size_t ncuts,
           uint64_t max, int count_only, struct result *r)
{
	struct pop3_body b;
	size_t pos = 0, k;

	result_init(r);
	pop3_body_init(&b, count_only ? NULL : &r->out, max);
	for (k = 0; k <= ncuts && !b.done; k++) {
		size_t end = k < ncuts ? cuts[k] : n;
		long got;

		got = pop3_body_feed(&b, in + pos, end - pos);
		if (got < 0) {
			r->err = 1;
			break;
		}
		r->consumed += got;
		if (!b.done && (size_t)got != end - pos)
			r->err = 2;
		pos = end;
	}
	if (b.done && pop3_body_feed(&b, "x", 1) != 0)
		r->err = 3;
	r->total = b.total;
	r->wire = b.wire;
	r->done = b.done;
	r->too_big = b.too_big;
	r->bad = b.bad_stuffing;
}

static void
feed_all(const char *in, size_t n, uint64_t max, struct result *r)
{
	feed_split(in, n, NULL, 0, max, 0, r);
}

static void
feed_bytes(const char *in, size_t n, uint64_t max, struct result *r)
{
	size_t cuts[256], i;

	for (i = 1; i < n && i <= 256; i++)
		cuts[i - 1] = i;
	feed_split(in, n, cuts, n ? n - 1 : 0, max, 0, r);
}

static int
same(const struct result *a, const struct result *b)
{
	return a->out.len == b->out.len &&
	       (a->out.len == 0 ||
	        memcmp(a->out.data, b->out.data, a->out.len) == 0) &&
	       a->total == b->total && a->wire == b->wire &&
	       a->consumed == b->consumed && a->done == b->done &&
	       a->too_big == b->too_big && a->bad == b->bad && a->err == b->err;
}

/*
 * The rules spelled out line by line, over the whole input at once: what
 * pop3_body must produce however the input is cut.
 */
static void
model(const char *in, size_t n, struct result *r)
{
	size_t pos = 0;

	result_init(r);
	while (pos < n) {
		const char *lf = memchr(in + pos, '\n', n - pos);
		const char *l = in + pos;
		size_t len;

		if (lf == NULL) {
			/* Unfinished line: all but a held ".", ".\r". */
			len = n - pos;
			if (l[0] == '.') {
				if (len == 1 || (len == 2 && l[1] == '\r'))
					len = 0;
				else if (l[1] != '.')
					r->bad = 1;
				l++;
				len = len ? len - 1 : 0;
			}
			buf_add(&r->out, l, len);
			pos = n;
			break;
		}
		len = (size_t)(lf - l);
		pos += len + 1;
		if (len > 0 && l[len - 1] == '\r')
			len--;
		if (len == 1 && l[0] == '.') {
			r->done = 1;
			break;
		}
		if (len > 0 && l[0] == '.') {
			if (l[1] != '.')
				r->bad = 1;
			l++;
			len--;
		}
		buf_add(&r->out, l, len);
		buf_add(&r->out, "\r\n", 2);
	}
	r->consumed = (long)pos;
	r->wire = pos;
	r->total = r->out.len;
}

static void
check(const char *in, size_t n, const char *want, size_t want_len,
      long consumed, int bad)
{
	struct result a, m;

	feed_all(in, n, UINT64_MAX, &a);
	model(in, n, &m);
	if (a.out.len != want_len ||
	    (want_len && memcmp(a.out.data, want, want_len) != 0) ||
	    a.consumed != consumed || a.bad != bad || !a.done || a.err ||
	    !same(&a, &m)) {
		fprintf(stderr,
		        "  input %zu bytes: out %zu (want %zu), "
		        "consumed %ld (want %ld), bad %d, done %d\n",
		        n, a.out.len, want_len, a.consumed, consumed, a.bad,
		        a.done);
		test_failed_now = 1;
	}
	buf_clear(&a.out);
	buf_clear(&m.out);
}

#define CHECK(in, want, consumed, bad)                                         \
	do {                                                                   \
		check(in, sizeof(in) - 1, want, sizeof(want) - 1, consumed,    \
		      bad);                                                    \
		if (test_failed_now)                                           \
			return;                                                \
	} while (0)

static void
test_basic(void)
{
	CHECK("abc\r\n.\r\n", "abc\r\n", 8, 0);
	CHECK("Subject: x\r\n\r\nbody\r\n.\r\n", "Subject: x\r\n\r\nbody\r\n",
	      23, 0);
	CHECK("\r\n.\r\n", "\r\n", 5, 0);
	CHECK("a\r\n\r\n\r\n.\r\n", "a\r\n\r\n\r\n", 10, 0);
}

static void
test_empty(void)
{
	CHECK(".\r\n", "", 3, 0);
	CHECK(".\n", "", 2, 0);
}

static void
test_stuffing(void)
{
	CHECK("..abc\r\n.\r\n", ".abc\r\n", 10, 0);
	CHECK("...\r\n..\r\n.\r\n", "..\r\n.\r\n", 12, 0);
	CHECK("a.\r\n.a.\r\n.\r\n", "a.\r\na.\r\n", 12, 1);
	CHECK(". x\r\n.\r\n", " x\r\n", 8, 1);
	CHECK(".\tx\r\n.\r\n", "\tx\r\n", 8, 1);
	CHECK(".\r\r\n.\r\n", "\r\r\n", 7, 1);
	CHECK(".\rx\r\n.\r\n", "\rx\r\n", 8, 1);
	CHECK(".\r.\r\n.\r\n", "\r.\r\n", 8, 1);
	/* Not at line start: nothing special. */
	CHECK("x.\r\n\r.\r\n.\r\n", "x.\r\n\r.\r\n", 11, 0);
	CHECK(" .\r\n.\r\n", " .\r\n", 7, 0);
}

static void
test_bare_lf(void)
{
	CHECK("a\nb\n.\n", "a\r\nb\r\n", 6, 0);
	CHECK("a\n\n.\n", "a\r\n\r\n", 5, 0);
	CHECK("\n.\n", "\r\n", 3, 0);
	CHECK("a\r\n.\n", "a\r\n", 5, 0);
	CHECK("a\n.\r\n", "a\r\n", 5, 0);
	CHECK("..a\n.\n", ".a\r\n", 6, 0);
	CHECK(".\r\r\n.\n", "\r\r\n", 6, 1);
}

static void
test_bytes_kept(void)
{
	CHECK("a\rb\r\n.\r\n", "a\rb\r\n", 8, 0);
	CHECK("a\r\r\n.\r\n", "a\r\r\n", 7, 0);
	CHECK("\r\r\r\n.\r\n", "\r\r\r\n", 7, 0);
	CHECK("\r.\r\n.\r\n", "\r.\r\n", 7, 0);
	CHECK("a\0b\r\n\0\r\n.\r\n", "a\0b\r\n\0\r\n", 11, 0);
	CHECK("\xff\xfe\x80\xc3\xa9\r\n.\r\n", "\xff\xfe\x80\xc3\xa9\r\n", 10,
	      0);
	CHECK("a\r\n.\r\0\r\n.\r\n", "a\r\n\r\0\r\n", 11, 1);
}

/* It stops right after the terminator; the rest is the next reply's. */
static void
test_stops(void)
{
	const char *in = "a\r\n.\r\n+OK next\r\n";
	struct pop3_body b;
	struct buf out;

	buf_init(&out, 0);
	pop3_body_init(&b, &out, 100);
	T_EQ_INT(pop3_body_feed(&b, in, strlen(in)), 6);
	T_EQ_INT(b.done, 1);
	T_EQ_INT(b.wire, 6);
	T_EQ_INT(b.total, 3);
	T_EQ_INT(pop3_body_feed(&b, in + 6, strlen(in + 6)), 0);
	T_EQ_STR(buf_cstr(&out), "a\r\n");
	buf_clear(&out);
	CHECK(".\n.\r\n", "", 2, 0);
	CHECK(".\r\n.\r\n", "", 3, 0);
}

/* Unfinished bodies: everything consumed, nothing done. */
static void
test_unfinished(void)
{
	static const char *ins[] = {
	        "",           "abc",       "abc\r\n",     "abc\r\n.",
	        "abc\r\n.\r", "abc\r\n..", "abc\r\n.\rx", "abc\r\n\r\n.x",
	};
	size_t i;

	for (i = 0; i < sizeof(ins) / sizeof(ins[0]); i++) {
		struct result a, m;

		feed_all(ins[i], strlen(ins[i]), 1000, &a);
		model(ins[i], strlen(ins[i]), &m);
		T_EQ_INT(a.done, 0);
		T_EQ_INT(a.err, 0);
		T_EQ_INT(a.consumed, (long)strlen(ins[i]));
		T_ASSERT(same(&a, &m));
		buf_clear(&a.out);
		buf_clear(&m.out);
	}
}

/* out is appended to, not cleared. */
static void
test_appends(void)
{
	struct pop3_body b;
	struct buf out;

	buf_init(&out, 0);
	buf_addstr(&out, "Return-Path: <x@y>\r\n");
	pop3_body_init(&b, &out, 100);
	T_EQ_INT(pop3_body_feed(&b, "a\r\n.\r\n", 6), 6);
	T_EQ_STR(buf_cstr(&out), "Return-Path: <x@y>\r\na\r\n");
	T_EQ_INT(b.total, 3);
	buf_clear(&out);
}

/*
 * The size cap: at it, one over, 0, huge, count only (no out). The body is
 * read to its end in every case.
 */
static void
test_max(void)
{
	const char *in = "0123456789\r\n.\r\n"; /* 12 bytes of message */
	size_t n = strlen(in), i;
	struct result r;

	feed_split(in, n, NULL, 0, 12, 0, &r);
	T_EQ_INT(r.done, 1);
	T_EQ_INT(r.too_big, 0);
	T_EQ_INT(r.out.len, 12);
	buf_clear(&r.out);
	feed_split(in, n, NULL, 0, 11, 0, &r);
	T_EQ_INT(r.done, 1);
	T_EQ_INT(r.too_big, 1);
	T_EQ_INT(r.total, 12);
	T_EQ_INT(r.consumed, (long)n);
	T_EQ_STR(buf_cstr(&r.out), "0123456789\r");
	buf_clear(&r.out);
	feed_split(in, n, NULL, 0, 0, 0, &r);
	T_EQ_INT(r.too_big, 1);
	T_EQ_INT(r.out.len, 0);
	T_EQ_INT(r.total, 12);
	T_EQ_INT(r.done, 1);
	buf_clear(&r.out);
	feed_split(in, n, NULL, 0, UINT64_MAX, 0, &r);
	T_EQ_INT(r.too_big, 0);
	T_EQ_INT(r.out.len, 12);
	buf_clear(&r.out);
	feed_split(in, n, NULL, 0, 5, 1, &r);
	T_EQ_INT(r.too_big, 1);
	T_EQ_INT(r.out.len, 0);
	T_EQ_INT(r.total, 12);
	T_EQ_INT(r.done, 1);
	buf_clear(&r.out);
	/* The cut falls the same way byte by byte, at every max. */
	for (i = 0; i <= 13; i++) {
		struct result a;

		feed_split(in, n, NULL, 0, i, 0, &r);
		feed_bytes(in, n, i, &a);
		T_ASSERT(same(&r, &a));
		T_EQ_INT(r.out.len, i < 12 ? i : 12);
		T_EQ_INT(r.too_big, i < 12);
		buf_clear(&r.out);
		buf_clear(&a.out);
	}
}

/* out's own cap below max: -1. */
static void
test_out_cap(void)
{
	struct pop3_body b;
	struct buf out;

	buf_init(&out, 4);
	pop3_body_init(&b, &out, 100);
	T_EQ_INT(pop3_body_feed(&b, "abcdef\r\n.\r\n", 11), -1);
	buf_clear(&out);
	/* Within max it fits: fine. */
	buf_init(&out, 4);
	pop3_body_init(&b, &out, 4);
	T_EQ_INT(pop3_body_feed(&b, "abcdef\r\n.\r\n", 11), 11);
	T_EQ_INT(b.too_big, 1);
	T_EQ_STR(buf_cstr(&out), "abcd");
	buf_clear(&out);
}

static const char *const split_inputs[] = {
        "abc\r\n.\r\n",
        ".\r\n",
        ".\n",
        "\r\n.\r\n",
        "..a\r\n...\r\n.\r\n",
        ".a\r\n.\r\r\n.\rx\r\n.\r\n",
        "a\nb\n\n.\n",
        "a\rb\r\r\n\r.\r\n.\r\n",
        "x\r\n.\r\n+OK tail\r\n",
        "Subject: hi\r\n\r\n.. dots\n..\r\n.\r",
        "\r\r\n.\n\r\n",
};

/* Every split in two and in three gives the same as whole and bytewise. */
static void
test_splits(void)
{
	size_t k;

	for (k = 0; k < sizeof(split_inputs) / sizeof(split_inputs[0]); k++) {
		const char *in = split_inputs[k];
		size_t n = strlen(in), i, j;
		struct result whole, bytes, m;
		uint64_t max;

		for (max = 0; max < 8; max += 3) {
			uint64_t mx = max == 6 ? UINT64_MAX : max;

			feed_all(in, n, mx, &whole);
			feed_bytes(in, n, mx, &bytes);
			T_ASSERT(same(&whole, &bytes));
			for (i = 0; i <= n; i++) {
				for (j = i; j <= n; j++) {
					size_t cuts[2] = {i, j};
					struct result s;

					feed_split(in, n, cuts, 2, mx, 0, &s);
					if (!same(&whole, &s))
						fprintf(stderr,
						        "  input %zu split "
						        "%zu,%zu\n",
						        k, i, j);
					T_ASSERT(same(&whole, &s));
					buf_clear(&s.out);
				}
			}
			buf_clear(&whole.out);
			buf_clear(&bytes.out);
		}
		feed_all(in, n, UINT64_MAX, &whole);
		model(in, n, &m);
		T_ASSERT(same(&whole, &m));
		buf_clear(&whole.out);
		buf_clear(&m.out);
	}
}

/* Random inputs over a hostile alphabet, against the model. */
static void
test_random(void)
{
	static const char alpha[] = {'.', '.',  '\r',   '\n', '\n',
	                             'a', '\0', '\xff', ' '};
	uint64_t rnd = 0x9e3779b97f4a7c15ULL;
	char in[40];
	int iter;

	for (iter = 0; iter < 20000; iter++) {
		size_t n, i, cut;
		struct result a, b, m, s;

		rnd ^= rnd << 13;
		rnd ^= rnd >> 7;
		rnd ^= rnd << 17;
		n = (size_t)(rnd % sizeof(in));
		for (i = 0; i < n; i++) {
			rnd ^= rnd << 13;
			rnd ^= rnd >> 7;
			rnd ^= rnd << 17;
			in[i] = alpha[(rnd >> 16) % sizeof(alpha)];
		}
		cut = n ? (size_t)(rnd >> 40) % (n + 1) : 0;
		feed_all(in, n, UINT64_MAX, &a);
		feed_bytes(in, n, UINT64_MAX, &b);
		feed_split(in, n, &cut, 1, UINT64_MAX, 0, &s);
		model(in, n, &m);
		T_ASSERT(same(&a, &m));
		T_ASSERT(same(&a, &b));
		T_ASSERT(same(&a, &s));
		for (i = 0; i < a.out.len; i++)
			if (a.out.data[i] == '\n')
				T_ASSERT(i > 0 && a.out.data[i - 1] == '\r');
		buf_clear(&a.out);
		buf_clear(&b.out);
		buf_clear(&s.out);
		buf_clear(&m.out);
	}
}

/* A big CRLF body in 64 KiB chunks: byte exact, one pass. */
static void
test_big(void)
{
	size_t lines = 200000, i, n;
	struct buf in, out;
	struct pop3_body b;
	size_t pos = 0;

	buf_init(&in, 0);
	for (i = 0; i < lines; i++)
		buf_addstr(&in, i % 100 == 7
		                        ? "..stuffed line of the body\r\n"
		                        : "an ordinary line of the body\r\n");
	n = in.len;
	buf_addstr(&in, ".\r\n");
	buf_init(&out, 0);
	pop3_body_init(&b, &out, UINT64_MAX);
	while (!b.done && pos < in.len) {
		size_t k = in.len - pos < 65536 ? in.len - pos : 65536;
		long got = pop3_body_feed(&b, in.data + pos, k);

		T_ASSERT(got >= 0);
		pos += (size_t)got;
	}
	T_EQ_INT(b.done, 1);
	T_EQ_INT(pos, in.len);
	T_EQ_INT(b.bad_stuffing, 0);
	T_EQ_INT(out.len, n - lines / 100);
	T_EQ_INT(b.total, out.len);
	buf_clear(&in);
	buf_clear(&out);
}

static const struct test_case tests[] = {
        {"basic", test_basic},
        {"empty", test_empty},
        {"stuffing", test_stuffing},
        {"bare_lf", test_bare_lf},
        {"bytes_kept", test_bytes_kept},
        {"stops", test_stops},
        {"unfinished", test_unfinished},
        {"appends", test_appends},
        {"max", test_max},
        {"out_cap", test_out_cap},
        {"splits", test_splits},
        {"random", test_random},
        {"big", test_big},
        {NULL, NULL},
};

TEST_MAIN(tests)
