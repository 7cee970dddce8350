/*
 * tests/fuzz/fuzz_imap_seqset.c: libFuzzer target for sequence sets
 * (bridge/imap_seqset.c). Input: one byte giving the number of UIDs, that
 * many bytes of UID increments, two bytes of "*", then the set's text.
 * Checks the ranges' invariants, "*" resolution, and the UID mappings and
 * the "1:3,5" text against brute force.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../bridge/imap_seqset.h"
#include "../../common/buf.h"
#include "../../common/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_normal(const struct imap_seqset *s)
{
	size_t i;

	if (s->n > 0 && s->r == NULL)
		abort();
	for (i = 0; i < s->n; i++) {
		if (s->r[i].lo > s->r[i].hi)
			abort();
		if (i > 0 && (s->r[i - 1].hi == UINT32_MAX ||
		              s->r[i].lo <= s->r[i - 1].hi + 1))
			abort();
	}
}

/* Naive membership, to check the binary search. */
static int
naive_contains(const struct imap_seqset *s, uint32_t v)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (v >= s->r[i].lo && v <= s->r[i].hi)
			return 1;
	return 0;
}

static uint64_t
total(const struct imap_seqset *s)
{
	uint64_t t = 0;
	size_t i;

	for (i = 0; i < s->n; i++)
		t += (uint64_t)s->r[i].hi - s->r[i].lo + 1;
	return t;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_seqset set, out, back;
	uint32_t uids[256], star, v;
	size_t n, i;
	uint64_t expect;
	struct buf b;

	if (size < 3)
		return 0;
	n = data[0];
	if (size < 1 + n + 2)
		return 0;
	v = 0;
	for (i = 0; i < n; i++) {
		v += (uint32_t)data[1 + i] % 8 + 1;
		uids[i] = v;
	}
	star = (uint32_t)data[1 + n] | (uint32_t)data[2 + n] << 8;
	data += 3 + n;
	size -= 3 + n;

	if (imap_seqset_parse((const char *)data, size, &set) < 0) {
		if (set.r != NULL || set.n != 0)
			abort();
		return 0;
	}
	check_normal(&set);
	if (set.is_searchres && (set.n != 0 || size != 1 || data[0] != '$'))
		abort();
	for (v = 0; v < 300; v++)
		if (imap_seqset_contains(&set, v) != naive_contains(&set, v))
			abort();
	if (imap_seqset_contains(&set, UINT32_MAX) !=
	    naive_contains(&set, UINT32_MAX))
		abort();

	imap_seqset_resolve_star(&set, star);
	check_normal(&set);
	for (i = 0; i < set.n; i++)
		if (set.r[i].hi == IMAP_SEQ_STAR && star != IMAP_SEQ_STAR)
			abort();

	/* sequence numbers -> UIDs: exactly uids[k-1] for k in the set */
	imap_seqset_seq_to_uid(&set, uids, n, &out);
	check_normal(&out);
	expect = 0;
	for (i = 0; i < n; i++) {
		int in = imap_seqset_contains(&set, (uint32_t)i + 1);

		if (in != imap_seqset_contains(&out, uids[i]))
			abort();
		expect += (uint64_t)in;
	}
	if (total(&out) != expect)
		abort();
	imap_seqset_clear(&out);

	/* UIDs clipped to the existing ones */
	imap_seqset_uid_clip(&set, uids, n, &out);
	check_normal(&out);
	expect = 0;
	for (i = 0; i < n; i++) {
		int in = imap_seqset_contains(&set, uids[i]);

		if (in != imap_seqset_contains(&out, uids[i]))
			abort();
		expect += (uint64_t)in;
	}
	if (total(&out) != expect)
		abort();

	/* the text of the clipped UIDs parses back to the same set */
	buf_init(&b, 0);
	{
		struct buf list;
		size_t k;

		buf_init(&list, 0);
		for (k = 0; k < n; k++)
			if (imap_seqset_contains(&out, uids[k]))
				buf_add(&list, &uids[k], sizeof uids[k]);
		if (imap_seqset_format_uids((const uint32_t *)(void *)list.data,
		                            list.len / sizeof(uint32_t),
		                            &b) < 0)
			abort();
		buf_clear(&list);
	}
	if (out.n == 0) {
		if (b.len != 0)
			abort();
	} else {
		if (imap_seqset_parse(b.data, b.len, &back) < 0)
			abort();
		if (back.n != out.n ||
		    memcmp(back.r, out.r, out.n * sizeof *out.r) != 0)
			abort();
		imap_seqset_clear(&back);
	}
	buf_clear(&b);
	imap_seqset_clear(&out);
	imap_seqset_clear(&set);
	return 0;
}
