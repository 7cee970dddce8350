/*
 * tests/fuzz/fuzz_pop3_reply.c: libFuzzer target for the POP3 reply
 * parsers (bridge/pop3_reply.c). The input is a server's byte stream. It
 * is cut into lines by pop3_reply_line under two caps (POP3_MAX_LINE, and
 * a small one picked from the input's hash), once in chunks of sizes
 * derived from the input and once a byte at a time; both must give the same
 * transcript. Every line goes through every parser (status, continuation,
 * APOP stamp, CAPA, multi-line, UIDL, LIST, STAT) and each result is
 * checked against the contract: slices inside the line, numbers and UIDL
 * within their limits. pop3_reply_line is also run on a copy holding only
 * max + 2 bytes behind a buffer claiming more, so ASan catches a read past
 * its scan bound.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../bridge/pop3_reply.h"
#include "../../common/buf.h"
#include "../../common/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ALL_CAPS                                                               \
	(POP3_CAP_TOP | POP3_CAP_UIDL | POP3_CAP_USER | POP3_CAP_PIPELINING |  \
	 POP3_CAP_RESP_CODES | POP3_CAP_AUTH_RESP_CODE | POP3_CAP_STLS |       \
	 POP3_CAP_SASL_PLAIN | POP3_CAP_UTF8)

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

static int
inside(const char *p, size_t n, const char *base, size_t len)
{
	return p >= base && n <= len && (size_t)(p - base) <= len - n;
}

static void
check_stamp(const char *text, size_t len, struct buf *log)
{
	const char *st;
	size_t n, i;
	int at = 0;

	if (pop3_reply_apop_stamp(text, len, &st, &n) != 1)
		return;
	if (!inside(st, n, text, len) || n < 3 || st[0] != '<' ||
	    st[n - 1] != '>')
		abort();
	for (i = 1; i + 1 < n; i++) {
		if (st[i] < 0x21 || st[i] > 0x7e || st[i] == '<' ||
		    st[i] == '>')
			abort();
		at |= st[i] == '@';
	}
	if (!at)
		abort();
	buf_printf(log, " apop=%zu", n);
}

static void
check_uidl(const char *line, size_t len, struct buf *log)
{
	const char *u;
	size_t ul, i;
	uint32_t n;

	if (pop3_reply_uidl_line(line, len, &n, &u, &ul) < 0)
		return;
	if (n < 1 || n > POP3_MAX_MESSAGES || ul < 1 || ul > POP3_UIDL_MAX ||
	    !inside(u, ul, line, len))
		abort();
	for (i = 0; i < ul; i++)
		if (u[i] < 0x21 || u[i] > 0x7e)
			abort();
	buf_printf(log, " uidl=%u:", n);
	buf_add(log, u, ul);
}

static void
check_numbers(const char *line, size_t len, struct buf *log)
{
	uint32_t n;
	uint64_t sz;

	if (pop3_reply_list_line(line, len, &n, &sz) == 0) {
		if (n < 1 || n > POP3_MAX_MESSAGES)
			abort();
		buf_printf(log, " list=%u:%llu", n, (unsigned long long)sz);
	}
	if (pop3_reply_stat(line, len, &n, &sz) == 0)
		buf_printf(log, " stat=%u:%llu", n, (unsigned long long)sz);
	check_uidl(line, len, log);
}

static void
parse_line(const char *line, size_t len, struct pop3_caps *caps,
           struct buf *log)
{
	struct pop3_status s;
	const char *ml = line;
	size_t mlen = len;
	int cont, rc;

	cont = pop3_reply_is_continuation(line, len);
	if (cont != 0 && cont != 1)
		abort();
	rc = pop3_reply_status(line, len, &s);
	buf_printf(log, "L%zu c%d s%d", len, cont, rc);
	if (rc == 0) {
		if (cont || (s.ok != 0 && s.ok != 1) ||
		    (unsigned)s.code > POP3_CODE_OTHER ||
		    !inside(s.text, s.text_len, line, len) ||
		    pop3_code_name(s.code) == NULL)
			abort();
		if (s.text_len > 0 && (s.text[0] == ' ' || s.text[0] == '\t' ||
		                       s.text[s.text_len - 1] == ' ' ||
		                       s.text[s.text_len - 1] == '\t'))
			abort();
		buf_printf(log, " ok%d %s ", s.ok, pop3_code_name(s.code));
		buf_add(log, s.text, s.text_len);
		check_stamp(s.text, s.text_len, log);
		check_numbers(s.text, s.text_len, log);
	}
	check_stamp(line, len, log);
	rc = pop3_reply_multi_line(&ml, &mlen);
	if (rc == 1) {
		if (len != 1 || line[0] != '.')
			abort();
	} else if (rc == 0) {
		if (!(ml == line && mlen == len) &&
		    !(ml == line + 1 && mlen + 1 == len && line[0] == '.'))
			abort();
		check_numbers(ml, mlen, log);
		pop3_reply_capa_line(caps, ml, mlen);
		if ((caps->caps & ~ALL_CAPS) != 0 || caps->login_delay < -1 ||
		    caps->expire < -2)
			abort();
	} else {
		abort();
	}
	buf_printf(log, " m%d caps=%x/%lld/%lld\n", rc, caps->caps,
	           (long long)caps->login_delay, (long long)caps->expire);
}

/*
 * pop3_reply_line on a copy of only the bytes it may look at, behind a
 * buffer that claims all of in: must agree with the real call.
 */
static void
check_bound(const struct buf *in, size_t max, int rc, size_t len,
            size_t consumed)
{
	struct buf fake;
	const char *l;
	size_t flen, fcons;
	int frc;

	if (in->len <= max + 2)
		return;
	fake.data = malloc(max + 2);
	if (fake.data == NULL)
		abort();
	memcpy(fake.data, in->data, max + 2);
	fake.len = in->len;
	fake.size = max + 2;
	fake.cap = in->len;
	frc = pop3_reply_line(&fake, max, &l, &flen, &fcons);
	if (frc != rc ||
	    (rc == 1 && (l != fake.data || flen != len || fcons != consumed)))
		abort();
	free(fake.data);
}

static void
run(const uint8_t *data, size_t size, size_t max, size_t chunk, struct buf *log)
{
	struct buf in;
	struct pop3_caps caps;
	uint64_t rnd = fnv(data, size) | 1;
	size_t pos = 0;
	int dead = 0;

	buf_init(&in, 0);
	pop3_caps_init(&caps);
	while (!dead && pos < size) {
		size_t n = chunk;

		if (n == 0) {
			rnd ^= rnd << 13;
			rnd ^= rnd >> 7;
			rnd ^= rnd << 17;
			n = (rnd % 8 == 0) ? (size_t)(rnd >> 8) % 4096 + 1
			                   : (size_t)(rnd >> 8) % 40 + 1;
		}
		if (n > size - pos)
			n = size - pos;
		buf_add(&in, data + pos, n);
		pos += n;
		for (;;) {
			const char *line = NULL;
			size_t len = 0, consumed = 0;
			int rc = pop3_reply_line(&in, max, &line, &len,
			                         &consumed);

			check_bound(&in, max, rc, len, consumed);
			if (rc == 0) {
				if (in.len > max + 1 ||
				    memchr(in.data, '\n', in.len) != NULL)
					abort();
				break;
			}
			if (rc < 0) {
				buf_addstr(log, "TOOLONG\n");
				dead = 1;
				break;
			}
			if (line != in.data || len > max || consumed > in.len ||
			    (consumed != len + 1 && consumed != len + 2) ||
			    in.data[consumed - 1] != '\n' ||
			    (consumed == len + 2 && in.data[len] != '\r') ||
			    memchr(line, '\n', len) != NULL)
				abort();
			parse_line(line, len, &caps, log);
			buf_consume(&in, consumed);
		}
	}
	buf_clear(&in);
}

static void
compare(const uint8_t *data, size_t size, size_t max)
{
	struct buf a, b;

	buf_init(&a, 0);
	buf_init(&b, 0);
	run(data, size, max, 0, &a);
	run(data, size, max, 1, &b);
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
	static const size_t small[] = {0, 1, 8, 80};

	if (size > 64 * 1024)
		return 0;
	compare(data, size, POP3_MAX_LINE);
	compare(data, size, small[fnv(data, size) & 3]);
	return 0;
}
