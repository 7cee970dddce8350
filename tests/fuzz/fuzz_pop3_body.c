/*
 * tests/fuzz/fuzz_pop3_body.c: libFuzzer target for the streaming RETR/TOP
 * body reader (bridge/pop3_body.c). The first byte picks the size cap, the
 * next four the chunk sizes (cycled); the rest is the server's stream. It
 * is fed in those chunks, a byte at a time, and in one piece counting only
 * (out NULL), and each run is checked against a line-by-line model of the
 * rules: same output (cut at max), same counters and flags, consumed never
 * more than given and ending right after the terminator, every LF of the
 * output preceded by CR, as many line ends out as came in.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../bridge/pop3_body.h"
#include "../../common/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HDR 5

struct result {
	struct buf out;
	uint64_t total, wire;
	size_t consumed;
	int done, too_big, bad;
};

static void
feed(const char *in, size_t n, const uint8_t *sizes, uint64_t max,
     int count_only, struct result *r)
{
	struct pop3_body b;
	size_t pos = 0, k = 0;

	memset(r, 0, sizeof(*r));
	buf_init(&r->out, 0);
	pop3_body_init(&b, count_only ? NULL : &r->out, max);
	while (pos < n && !b.done) {
		size_t chunk = n - pos;
		long got;

		if (sizes != NULL) {
			chunk = sizes[k++ % 4];
			chunk = chunk >= 200 ? (chunk - 199) * 97
			                     : chunk % 32 + 1;
		}
		if (chunk > n - pos)
			chunk = n - pos;
		got = pop3_body_feed(&b, in + pos, chunk);
		if (got < 0 || (size_t)got > chunk ||
		    (!b.done && (size_t)got != chunk))
			abort();
		pos += (size_t)got;
		if (b.done && pos < n && pop3_body_feed(&b, in + pos, 1) != 0)
			abort();
		if (b.wire != pos || r->out.len > max)
			abort();
	}
	r->consumed = pos;
	r->total = b.total;
	r->wire = b.wire;
	r->done = b.done;
	r->too_big = b.too_big;
	r->bad = b.bad_stuffing;
}

/* The whole input at once, line by line: the reference. */
static void
model(const char *in, size_t n, struct result *r)
{
	size_t pos = 0;

	memset(r, 0, sizeof(*r));
	buf_init(&r->out, 0);
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
	r->consumed = pos;
	r->wire = pos;
	r->total = r->out.len;
}

static void
expect(const struct result *a, const struct result *m, uint64_t max,
       int count_only, const char *what)
{
	size_t keep = m->total < max ? (size_t)m->total : (size_t)max;

	if (a->total != m->total || a->wire != m->wire ||
	    a->consumed != m->consumed || a->done != m->done ||
	    a->bad != m->bad || a->too_big != (m->total > max) ||
	    a->out.len != (count_only ? 0 : keep) ||
	    (a->out.len && memcmp(a->out.data, m->out.data, a->out.len))) {
		fprintf(stderr,
		        "%s: total %llu/%llu wire %llu/%llu done %d/%d "
		        "bad %d/%d out %zu/%zu\n",
		        what, (unsigned long long)a->total,
		        (unsigned long long)m->total,
		        (unsigned long long)a->wire,
		        (unsigned long long)m->wire, a->done, m->done, a->bad,
		        m->bad, a->out.len, keep);
		abort();
	}
}

static size_t
count_lf(const char *p, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		c += p[i] == '\n';
	return c;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t caps[] = {UINT64_MAX, 0, 1, 7, 64, 1000};
	struct result chunked, bytes, whole, m;
	const char *in;
	size_t n, i;
	uint8_t one[4] = {0, 0, 0, 0};
	uint64_t max;

	if (size < HDR || size > 256 * 1024)
		return 0;
	max = caps[data[0] % 6];
	in = (const char *)data + HDR;
	n = size - HDR;

	model(in, n, &m);
	feed(in, n, data + 1, max, 0, &chunked);
	feed(in, n, one, max, 0, &bytes);
	feed(in, n, NULL, max, 1, &whole);
	expect(&chunked, &m, max, 0, "chunked");
	expect(&bytes, &m, max, 0, "bytewise");
	expect(&whole, &m, max, 1, "count only");

	/* No LF without its CR, and every line end of the input is kept. */
	for (i = 0; i < chunked.out.len; i++)
		if (chunked.out.data[i] == '\n' &&
		    (i == 0 || chunked.out.data[i - 1] != '\r'))
			abort();
	if (!chunked.too_big &&
	    count_lf(chunked.out.data, chunked.out.len) + (size_t)m.done !=
	            count_lf(in, m.consumed))
		abort();

	buf_clear(&chunked.out);
	buf_clear(&bytes.out);
	buf_clear(&whole.out);
	buf_clear(&m.out);
	return 0;
}
