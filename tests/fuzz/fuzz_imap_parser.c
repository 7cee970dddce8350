/*
 * tests/fuzz/fuzz_imap_parser.c: libFuzzer target for the IMAP command
 * reader (bridge/imap_parser.c). The input is a client's byte stream. It
 * is read twice under two sets of caps (the real ones, and small ones
 * picked from the input's hash): once in chunks of sizes derived from the
 * input, once a byte at a time. Both must give the same events and parses.
 * Like the session, it switches to raw line mode after IDLE and
 * AUTHENTICATE. Every parse is checked against the limits.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../bridge/imap_parser.h"
#include "../../common/buf.h"
#include "../../common/limits.h"
#include "../../common/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run_cfg {
	size_t line_max;
	uint64_t literal_max;
};

static uint64_t
fnv(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static void
check_arg(const struct imap_arg *a, size_t depth, size_t *count)
{
	size_t i;

	(*count)++;
	if (*count > IMAP_MAX_ARGS || depth > IMAP_MAX_LIST_DEPTH)
		abort();
	if (a->type != IMAP_ARG_LIST) {
		if (a->s == NULL || a->s[a->len] != '\0')
			abort();
		if (a->type != IMAP_ARG_LITERAL &&
		    memchr(a->s, '\0', a->len) != NULL)
			abort();
		return;
	}
	if (a->nlist > 0 && a->list == NULL)
		abort();
	for (i = 0; i < a->nlist; i++)
		check_arg(&a->list[i], depth + 1, count);
}

static void
dump_arg(struct buf *o, const struct imap_arg *a)
{
	size_t i;

	buf_printf(o, "%d:%zu:", (int)a->type, a->len);
	if (a->type != IMAP_ARG_LIST) {
		buf_add(o, a->s, a->len);
		buf_printf(o, "%d", a->literal8);
		return;
	}
	buf_addc(o, '(');
	for (i = 0; i < a->nlist; i++) {
		buf_addc(o, ' ');
		dump_arg(o, &a->list[i]);
	}
	buf_addc(o, ')');
}

static void
record_command(struct buf *log, const struct imap_command *c)
{
	size_t i, count = 0;
	const char *p;

	if (c == NULL || c->tag == NULL || c->name == NULL || c->tag[0] == 0 ||
	    c->name[0] == 0 || (c->nargs > 0 && c->args == NULL))
		abort();
	for (p = c->name; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			abort();
	buf_printf(log, "CMD %s %s", c->tag, c->name);
	for (i = 0; i < c->nargs; i++) {
		check_arg(&c->args[i], 0, &count);
		buf_addc(log, ' ');
		dump_arg(log, &c->args[i]);
	}
	buf_addc(log, '\n');
}

/*
 * Feeds data in chunks (chunk == 0: sizes from a generator seeded by the
 * input; else that size) and returns the transcript in log.
 */
static void
run(const struct run_cfg *cfg, const uint8_t *data, size_t size, size_t chunk,
    struct buf *log)
{
	struct imap_reader *r =
	        imap_reader_new(cfg->line_max, cfg->literal_max, NULL);
	uint64_t rnd = fnv(data, size) | 1;
	struct buf in;
	size_t pos = 0;
	int want_line = 0, fatal = 0;

	buf_init(&in, 0);
	while (!fatal && pos < size) {
		size_t n = chunk;

		if (n == 0) {
			rnd ^= rnd << 13;
			rnd ^= rnd >> 7;
			rnd ^= rnd << 17;
			n = (rnd % 8 == 0) ? (size_t)(rnd >> 8) % 2048 + 1
			                   : (size_t)(rnd >> 8) % 24 + 1;
		}
		if (n > size - pos)
			n = size - pos;
		buf_add(&in, data + pos, n);
		pos += n;
		for (;;) {
			enum imap_read_status st;

			if (want_line) {
				const char *line;
				size_t len;
				int rc = imap_reader_line(r, &in, &line, &len);

				if (rc == 0)
					break;
				if (rc > 0) {
					if (line[len] != '\0')
						abort();
					buf_addstr(log, "LINE ");
					buf_add(log, line, len);
					buf_addc(log, '\n');
				} else {
					buf_addstr(log, "LINE-ERR\n");
				}
				want_line = 0;
				continue;
			}
			st = imap_reader_feed(r, &in);
			if (st == IMAP_READ_NEED_MORE)
				break;
			if (st == IMAP_READ_COMMAND) {
				const struct imap_command *c =
				        imap_reader_command(r);

				record_command(log, c);
				if (strcmp(c->name, "IDLE") == 0 ||
				    (strcmp(c->name, "AUTHENTICATE") == 0 &&
				     c->nargs == 1))
					want_line = 1;
				if (strcmp(c->name, "LOGIN") == 0)
					imap_reader_set_literal_max(
					        r, cfg->literal_max * 2 + 1);
			} else if (st == IMAP_READ_CONTINUE) {
				buf_addstr(log, "CONT\n");
			} else if (st == IMAP_READ_BAD) {
				buf_printf(log, "BAD %s %d %s\n",
				           imap_reader_error_tag(r),
				           imap_reader_toobig(r),
				           imap_reader_error(r));
				if (imap_reader_command(r) != NULL)
					abort();
			} else {
				buf_printf(log, "FATAL %s\n",
				           imap_reader_error(r));
				if (imap_reader_feed(r, &in) != IMAP_READ_FATAL)
					abort();
				fatal = 1;
				break;
			}
		}
	}
	buf_clear(&in);
	imap_reader_free(&r);
}

static void
compare(const struct run_cfg *cfg, const uint8_t *data, size_t size)
{
	struct buf a, b;

	buf_init(&a, 0);
	buf_init(&b, 0);
	run(cfg, data, size, 0, &a);
	run(cfg, data, size, 1, &b);
	if (a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0)) {
		fprintf(stderr, "chunked:\n%s\nbyte-wise:\n%s\n", buf_cstr(&a),
		        buf_cstr(&b));
		abort();
	}
	buf_clear(&a);
	buf_clear(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t lines[] = {1, 16, 64, 300};
	static const uint64_t lits[] = {0, 10, 300, 5000};
	struct run_cfg real = {IMAP_MAX_LINE, 1024 * 1024};
	struct run_cfg small;
	uint64_t h = fnv(data, size);

	log_set_level(LOG_LVL_ERROR);
	if (size > 64 * 1024)
		return 0;
	small.line_max = lines[h & 3];
	small.literal_max = lits[(h >> 2) & 3];
	compare(&real, data, size);
	compare(&small, data, size);
	return 0;
}
