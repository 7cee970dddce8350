/*
 * bridge/imap_seqset.c: IMAP sequence sets (RFC 3501 section 9
 * "sequence-set", RFC 5182 "$") parsed into sorted, merged ranges, "*"
 * resolution, the mapping of sequence numbers to UIDs through a session's
 * sequence map, and the "1:3,5" text of UID lists (RFC 4315 COPYUID,
 * APPENDUID; RFC 4731 ESEARCH).
 *
 * Before imap_seqset_resolve_star() a range ending in "*" holds
 * IMAP_SEQ_STAR and is merged as if "*" were infinite. After resolution
 * the set is exact for every number up to star (the largest number in
 * use); it may differ from RFC 3501 only on numbers above star, which name
 * no message anyway ("7,5:*" with star 3 gives 3:5, not 3:5,7).
 */
#include "imap_seqset.h"

#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/limits.h"
#include "../common/xalloc.h"

static int parse_number(const char *s, size_t len, size_t *pos, uint32_t *v_r);
static int range_cmp(const void *a, const void *b);
static size_t ranges_normalize(struct store_uid_range *r, size_t n);
static int ranges_are_normal(const struct store_uid_range *r, size_t n);
static void out_add(struct imap_seqset *out, size_t *alloc, uint32_t lo,
                    uint32_t hi);
static size_t lower_bound(const uint32_t *uids, size_t from, size_t n,
                          uint32_t v);

/*
 * seq-number = nz-number / "*"; nz-number = digit-nz *DIGIT, at most
 * 4294967295 (which is also IMAP_SEQ_STAR: RFC 3501 numbers are 32-bit).
 */
static int
parse_number(const char *s, size_t len, size_t *pos, uint32_t *v_r)
{
	size_t i = *pos;
	uint64_t v = 0;

	if (i >= len)
		return -1;
	if (s[i] == '*') {
		*v_r = IMAP_SEQ_STAR;
		*pos = i + 1;
		return 0;
	}
	if (s[i] < '1' || s[i] > '9')
		return -1;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > UINT32_MAX)
			return -1;
	}
	*v_r = (uint32_t)v;
	*pos = i;
	return 0;
}

static int
range_cmp(const void *a, const void *b)
{
	const struct store_uid_range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	return 0;
}

static int
ranges_are_normal(const struct store_uid_range *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (r[i].lo > r[i].hi)
			return 0;
		/* sorted, and a gap of at least one number to the next */
		if (i > 0 &&
		    (r[i - 1].hi == UINT32_MAX || r[i].lo <= r[i - 1].hi + 1))
			return 0;
	}
	return 1;
}

/* Sorts by lo and merges overlapping or adjacent ranges; returns the count. */
static size_t
ranges_normalize(struct store_uid_range *r, size_t n)
{
	size_t i, o;

	if (n == 0 || ranges_are_normal(r, n))
		return n;
	for (i = 0; i < n; i++) {
		if (r[i].lo > r[i].hi) {
			uint32_t t = r[i].lo;
			r[i].lo = r[i].hi;
			r[i].hi = t;
		}
	}
	qsort(r, n, sizeof *r, range_cmp);
	o = 0;
	for (i = 1; i < n; i++) {
		if (r[o].hi == UINT32_MAX || r[i].lo <= r[o].hi + 1) {
			if (r[i].hi > r[o].hi)
				r[o].hi = r[i].hi;
		} else {
			r[++o] = r[i];
		}
	}
	return o + 1;
}

int
imap_seqset_parse(const char *s, size_t len, struct imap_seqset *set)
{
	struct store_uid_range *r;
	size_t i, n, count;

	memset(set, 0, sizeof *set);
	if (len == 0)
		return -1;
	if (len == 1 && s[0] == '$') {
		set->is_searchres = 1;
		return 0;
	}
	count = 1;
	for (i = 0; i < len; i++) {
		if (s[i] == ',' && ++count > IMAP_MAX_SEQ_RANGES)
			return -1;
	}
	r = xreallocarray(NULL, count, sizeof *r);
	n = 0;
	i = 0;
	for (;;) {
		uint32_t a, b;

		if (parse_number(s, len, &i, &a) < 0)
			goto fail;
		b = a;
		if (i < len && s[i] == ':') {
			i++;
			if (parse_number(s, len, &i, &b) < 0)
				goto fail;
		}
		r[n].lo = a < b ? a : b;
		r[n].hi = a < b ? b : a;
		n++;
		if (i == len)
			break;
		if (s[i] != ',')
			goto fail;
		i++;
	}
	set->r = r;
	set->n = ranges_normalize(r, n);
	return 0;
fail:
	free(r);
	return -1;
}

void
imap_seqset_clear(struct imap_seqset *set)
{
	free(set->r);
	set->r = NULL;
	set->n = 0;
	set->is_searchres = 0;
}

void
imap_seqset_resolve_star(struct imap_seqset *set, uint32_t star)
{
	size_t i;

	for (i = 0; i < set->n; i++) {
		if (set->r[i].lo == IMAP_SEQ_STAR)
			set->r[i].lo = star;
		if (set->r[i].hi == IMAP_SEQ_STAR)
			set->r[i].hi = star;
	}
	set->n = ranges_normalize(set->r, set->n);
}

int
imap_seqset_contains(const struct imap_seqset *set, uint32_t v)
{
	size_t lo = 0, hi = set->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v < set->r[mid].lo)
			hi = mid;
		else if (v > set->r[mid].hi)
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

/* Appends lo:hi to out, merging with the last range when adjacent. */
static void
out_add(struct imap_seqset *out, size_t *alloc, uint32_t lo, uint32_t hi)
{
	if (out->n > 0 && out->r[out->n - 1].hi != UINT32_MAX &&
	    lo <= out->r[out->n - 1].hi + 1) {
		if (hi > out->r[out->n - 1].hi)
			out->r[out->n - 1].hi = hi;
		return;
	}
	if (out->n == *alloc) {
		*alloc = *alloc ? *alloc * 2 : 16;
		out->r = xreallocarray(out->r, *alloc, sizeof *out->r);
	}
	out->r[out->n].lo = lo;
	out->r[out->n].hi = hi;
	out->n++;
}

/*
 * The ranges hold exactly the UIDs of the selected messages: a run of
 * sequence numbers maps to runs of consecutive UIDs (the UIDs are
 * ascending, so the output comes out sorted). O(ranges + matched UIDs).
 */
void
imap_seqset_seq_to_uid(const struct imap_seqset *set, const uint32_t *uids,
                       size_t n, struct imap_seqset *out)
{
	size_t i, alloc = 0;

	memset(out, 0, sizeof *out);
	for (i = 0; i < set->n; i++) {
		uint64_t lo = set->r[i].lo, hi = set->r[i].hi, k;

		if (lo == 0)
			lo = 1;
		if (hi > n)
			hi = n;
		if (lo > hi)
			continue;
		/* sequence k is uids[k - 1] */
		for (k = lo; k <= hi;) {
			uint64_t start = k;

			while (k < hi && uids[k] == uids[k - 1] + 1)
				k++;
			out_add(out, &alloc, uids[start - 1], uids[k - 1]);
			k++;
		}
	}
	/* uids should be strictly ascending; be safe if they are not. */
	out->n = ranges_normalize(out->r, out->n);
}

/* First index i in uids[from..n) with uids[i] >= v (galloping search). */
static size_t
lower_bound(const uint32_t *uids, size_t from, size_t n, uint32_t v)
{
	size_t step = 1, lo = from, hi;

	if (lo >= n || uids[lo] >= v)
		return lo;
	/* uids[lo] < v: gallop to find hi with uids[hi] >= v (or n) */
	hi = lo + 1;
	while (hi < n && uids[hi] < v) {
		lo = hi;
		step *= 2;
		hi = (n - hi > step) ? hi + step : n;
	}
	/* uids[lo] < v, and hi == n or uids[hi] >= v */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (uids[mid] < v)
			lo = mid;
		else
			hi = mid;
	}
	return hi;
}

void
imap_seqset_uid_clip(const struct imap_seqset *set, const uint32_t *uids,
                     size_t n, struct imap_seqset *out)
{
	const struct store_uid_range *r = set->r;
	struct store_uid_range *copy = NULL;
	size_t nr = set->n, i, j = 0, alloc = 0;

	memset(out, 0, sizeof *out);
	if (!ranges_are_normal(r, nr)) {
		/* a hand-built set (e.g. a saved search result) */
		copy = xreallocarray(NULL, nr ? nr : 1, sizeof *copy);
		if (nr)
			memcpy(copy, r, nr * sizeof *copy);
		nr = ranges_normalize(copy, nr);
		r = copy;
	}
	for (i = 0; i < nr && j < n; i++) {
		j = lower_bound(uids, j, n, r[i].lo);
		while (j < n && uids[j] <= r[i].hi) {
			size_t start = j;

			while (j + 1 < n && uids[j + 1] <= r[i].hi &&
			       uids[j + 1] == uids[j] + 1)
				j++;
			out_add(out, &alloc, uids[start], uids[j]);
			j++;
		}
	}
	free(copy);
	out->n = ranges_normalize(out->r, out->n);
}

int
imap_seqset_format_uids(const uint32_t *uids, size_t n, struct buf *out)
{
	size_t i = 0, start_len = out->len;

	while (i < n) {
		size_t j = i;
		int rc;

		/* a run of ascending consecutive values, kept in input order */
		while (j + 1 < n && uids[j] != UINT32_MAX &&
		       uids[j + 1] == uids[j] + 1)
			j++;
		if (j > i)
			rc = buf_printf(out, "%s%u:%u", i ? "," : "",
			                (unsigned)uids[i], (unsigned)uids[j]);
		else
			rc = buf_printf(out, "%s%u", i ? "," : "",
			                (unsigned)uids[i]);
		if (rc < 0) {
			out->len = start_len;
			if (out->data)
				out->data[start_len] = '\0';
			return -1;
		}
		i = j + 1;
	}
	return 0;
}
