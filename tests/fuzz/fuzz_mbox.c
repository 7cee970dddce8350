/*
 * tests/fuzz/fuzz_mbox.c: db/mbox.c on any bytes: the reader walks the
 * whole input within bounds, unquoting and Status: flags never fail, and
 * every message read (that ends in a line end) survives a write with the
 * mboxrd writer (fed in odd chunks) and a read back byte for byte.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/buf.h"
#include "../../db/mbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
to_buf(const void *p, size_t n, void *ctx)
{
	return buf_add(ctx, p, n);
}

static void
check_round_trip(const char *msg, size_t len, size_t step)
{
	struct mbox_writer w;
	struct mbox_reader r;
	struct mbox_msg m;
	struct buf out, unq;
	const char *p;
	size_t off, plen;

	buf_init(&out, 0);
	buf_init(&unq, 0);
	mbox_writer_init(&w, to_buf, &out);
	if (mbox_writer_begin(&w, 1420070400) < 0)
		abort();
	for (off = 0; off < len; off += step) {
		size_t k = len - off < step ? len - off : step;
		if (mbox_writer_data(&w, msg + off, k) < 0)
			abort();
	}
	if (mbox_writer_end(&w) < 0)
		abort();
	mbox_reader_init(&r, out.data, out.len);
	if (mbox_reader_next(&r, &m) != 1)
		abort();
	if (mbox_unquote(m.raw, m.len, &unq, &p, &plen) < 0)
		abort();
	if (plen != len || memcmp(p, msg, len) != 0 || m.date != 1420070400)
		abort();
	if (mbox_reader_next(&r, &m) != 0)
		abort();
	buf_clear(&out);
	buf_clear(&unq);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data;
	struct mbox_reader r;
	struct mbox_msg m;
	struct buf unq;
	size_t n = 0, count;
	int64_t t;
	int tz, rc;

	if (size > 1024 * 1024)
		return 0;
	mbox_parse_from_line(d, size, &t, &tz);
	buf_init(&unq, 0);
	mbox_reader_init(&r, d, size);
	while ((rc = mbox_reader_next(&r, &m)) == 1) {
		const char *p;
		size_t len;

		if (m.raw < d || m.raw + m.len > d + size)
			abort();
		if (mbox_unquote(m.raw, m.len, &unq, &p, &len) < 0)
			abort();
		if (len > m.len)
			abort();
		(void)mbox_status_flags(p, len);
		if (len > 0 && p[len - 1] == '\n')
			check_round_trip(p, len, 1 + (size_t)(data[0] % 13));
		n++;
	}
	count = mbox_count(d, size);
	if (rc < 0 ? count != 0 : count != n)
		abort();
	buf_clear(&unq);
	return 0;
}
