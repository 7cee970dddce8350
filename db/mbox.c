/*
 * db/mbox.c: mbox reading (import) and mboxrd writing (export); the format
 * choice is explained in mbox.h. The reader never copies: messages are
 * slices of the caller's buffer (an mmap of the file), found with memmem,
 * so a file of any size is read in one linear pass.
 */
#include "mbox.h"

#include <string.h>
#include <time.h>

#include "../common/buf.h"
#include "../common/str.h"
#include "store.h"

#define FROM_TOKENS_MAX 16

static const char *const month_names[12] = {
        "Jan", "Feb", "Mar", "Apr", "May", "Jun",
        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};
static const char *const day_names[7] = {
        "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
};

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
name_index(struct str t, const char *const *names, int n)
{
	int i;

	if (t.len != 3)
		return -1;
	for (i = 0; i < n; i++)
		if (str_eqi_cstr(t, names[i]))
			return i;
	return -1;
}

/* Days since 1970-01-01 of a civil date (H. Hinnant's algorithm). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* "+0200" / "-0530": minutes east; -1 when not a numeric zone. */
static int
parse_zone(struct str t, int *tz_r)
{
	uint64_t v;
	int mins;

	if (t.len != 5 || (t.p[0] != '+' && t.p[0] != '-'))
		return -1;
	if (str_to_u64(str_make(t.p + 1, 4), 9999, &v) < 0)
		return -1;
	if (v % 100 >= 60 || v / 100 > 23)
		return -1;
	mins = (int)(v / 100) * 60 + (int)(v % 100);
	*tz_r = t.p[0] == '-' ? -mins : mins;
	return 0;
}

static int
is_alpha_zone(struct str t)
{
	size_t i;

	if (t.len < 1 || t.len > 5)
		return 0;
	for (i = 0; i < t.len; i++)
		if (!((t.p[i] >= 'A' && t.p[i] <= 'Z') ||
		      (t.p[i] >= 'a' && t.p[i] <= 'z')))
			return 0;
	return 1;
}

/* "hh:mm" or "hh:mm:ss" -> seconds of the day. */
static int
parse_clock(struct str t, int64_t *secs_r)
{
	uint64_t h, m, s = 0;

	if (t.len != 5 && t.len != 8)
		return -1;
	if (t.p[2] != ':' || (t.len == 8 && t.p[5] != ':'))
		return -1;
	if (str_to_u64(str_make(t.p, 2), 23, &h) < 0 ||
	    str_to_u64(str_make(t.p + 3, 2), 59, &m) < 0 ||
	    (t.len == 8 && str_to_u64(str_make(t.p + 6, 2), 60, &s) < 0))
		return -1;
	*secs_r = (int64_t)(h * 3600 + m * 60 + s);
	return 0;
}

int
mbox_parse_from_line(const char *line, size_t len, int64_t *t_r, int *tz_r)
{
	struct str tok[FROM_TOKENS_MAX];
	size_t i = 0, nt = 0;
	int j, tz = 0;

	if (len >= 5 && memcmp(line, "From ", 5) == 0) {
		line += 5;
		len -= 5;
	}
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
		len--;
	while (i < len && nt < FROM_TOKENS_MAX) {
		size_t s;
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		s = i;
		while (i < len && line[i] != ' ' && line[i] != '\t')
			i++;
		if (i > s)
			tok[nt++] = str_make(line + s, i - s);
	}
	for (j = 1; j + 3 < (int)nt; j++) {
		int mon, k;
		uint64_t day, year;
		int64_t secs, days;

		if (name_index(tok[j - 1], day_names, 7) < 0)
			continue;
		mon = name_index(tok[j], month_names, 12);
		if (mon < 0)
			continue;
		if (tok[j + 1].len > 2 ||
		    str_to_u64(tok[j + 1], 31, &day) < 0 || day == 0)
			return -1;
		if (parse_clock(tok[j + 2], &secs) < 0)
			return -1;
		k = j + 3;
		/* A zone may sit before the year ("+0000 2011", "PST 1996"). */
		if (k + 1 < (int)nt &&
		    (parse_zone(tok[k], &tz) == 0 || is_alpha_zone(tok[k])))
			k++;
		if (tok[k].len != 4 || !is_digit(tok[k].p[0]) ||
		    str_to_u64(tok[k], 9999, &year) < 0 || year < 1000)
			return -1;
		if (k + 1 < (int)nt)
			parse_zone(tok[k + 1], &tz);
		days = days_from_civil((int64_t)year, (unsigned)mon + 1,
		                       (unsigned)day);
		*t_r = days * 86400 + secs - (int64_t)tz * 60;
		*tz_r = tz;
		return 0;
	}
	return -1;
}

void
mbox_reader_init(struct mbox_reader *r, const char *data, size_t len)
{
	r->data = data;
	r->len = len;
	r->pos = 0;
	r->started = 0;
}

/* A separator line at off: "From " and a date that parses. */
static int
is_separator(const char *data, size_t len, size_t off)
{
	const char *eol;
	size_t ll;
	int64_t t;
	int tz;

	if (len - off < 5 || memcmp(data + off, "From ", 5) != 0)
		return 0;
	eol = memchr(data + off, '\n', len - off);
	ll = eol ? (size_t)(eol - (data + off)) : len - off;
	return mbox_parse_from_line(data + off, ll, &t, &tz) == 0;
}

int
mbox_reader_next(struct mbox_reader *r, struct mbox_msg *m)
{
	const char *d = r->data, *eol;
	size_t body, search, end, ll;

	if (!r->started) {
		r->started = 1;
		/* Tolerate blank lines before the first From_ line. */
		while (r->pos < r->len &&
		       (d[r->pos] == '\n' || d[r->pos] == '\r'))
			r->pos++;
		if (r->pos == r->len)
			return 0;
		if (r->len - r->pos < 5 || memcmp(d + r->pos, "From ", 5) != 0)
			return -1;
	}
	if (r->pos >= r->len)
		return 0;
	m->offset = r->pos;
	eol = memchr(d + r->pos, '\n', r->len - r->pos);
	ll = eol ? (size_t)(eol - (d + r->pos)) : r->len - r->pos;
	if (mbox_parse_from_line(d + r->pos, ll, &m->date, &m->date_tz) < 0) {
		m->date = -1;
		m->date_tz = 0;
	}
	if (eol == NULL) {
		m->raw = d + r->len;
		m->len = 0;
		r->pos = r->len;
		return 1;
	}
	body = (size_t)(eol - d) + 1;
	/* The next separator: "\nFrom " whose line has a date. */
	search = body - 1;
	end = r->len;
	for (;;) {
		const char *q =
		        memmem(d + search, r->len - search, "\nFrom ", 6);
		if (q == NULL)
			break;
		if (is_separator(d, r->len, (size_t)(q - d) + 1)) {
			end = (size_t)(q - d) + 1;
			break;
		}
		search = (size_t)(q - d) + 1;
	}
	r->pos = end;
	/* Drop the empty line that ends the message (LF or CRLF). */
	if (end > body && d[end - 1] == '\n') {
		if (end >= 2 && d[end - 2] == '\n')
			end -= 1;
		else if (end >= 3 && d[end - 2] == '\r' && d[end - 3] == '\n')
			end -= 2;
		if (end < body)
			end = body;
	}
	m->raw = d + body;
	m->len = end - body;
	return 1;
}

size_t
mbox_count(const char *data, size_t len)
{
	struct mbox_reader r;
	struct mbox_msg m;
	size_t n = 0;

	mbox_reader_init(&r, data, len);
	while (mbox_reader_next(&r, &m) == 1)
		n++;
	return n;
}

int
mbox_unquote(const char *raw, size_t len, struct buf *out, const char **p_r,
             size_t *len_r)
{
	size_t search = 0, copied = 0;
	int changed = 0;

	for (;;) {
		const char *q = memmem(raw + search, len - search, ">From ", 6);
		size_t k, b;

		if (q == NULL)
			break;
		k = (size_t)(q - raw);
		search = k + 1;
		b = k;
		while (b > 0 && raw[b - 1] == '>')
			b--;
		if (b != 0 && raw[b - 1] != '\n')
			continue;
		/* A quoted line: drop its first '>' (at b). */
		if (!changed) {
			buf_reset(out);
			changed = 1;
		}
		if (buf_add(out, raw + copied, b - copied) < 0)
			return -1;
		copied = b + 1;
	}
	if (!changed) {
		*p_r = raw;
		*len_r = len;
		return 0;
	}
	if (buf_add(out, raw + copied, len - copied) < 0)
		return -1;
	*p_r = out->data;
	*len_r = out->len;
	return 0;
}

static uint32_t
status_letters(struct str v, int x_status)
{
	uint32_t f = 0;
	size_t i;

	for (i = 0; i < v.len; i++) {
		switch (v.p[i]) {
		case 'R':
			if (!x_status)
				f |= STORE_FLAG_SEEN;
			break;
		case 'A':
			if (x_status)
				f |= STORE_FLAG_ANSWERED;
			break;
		case 'F':
			if (x_status)
				f |= STORE_FLAG_FLAGGED;
			break;
		case 'D':
			if (x_status)
				f |= STORE_FLAG_DELETED;
			break;
		case 'T':
			if (x_status)
				f |= STORE_FLAG_DRAFT;
			break;
		default:
			break;
		}
	}
	return f;
}

uint32_t
mbox_status_flags(const char *raw, size_t len)
{
	size_t pos = 0;
	uint32_t f = 0;

	while (pos < len) {
		const char *nl = memchr(raw + pos, '\n', len - pos);
		size_t e = nl ? (size_t)(nl - raw) : len;
		struct str line = str_make(raw + pos, e - pos);

		if (line.len > 0 && line.p[line.len - 1] == '\r')
			line.len--;
		if (line.len == 0)
			break; /* end of the header */
		if (line.len >= 7 &&
		    str_ncasecmp_ascii(line.p, "Status:", 7) == 0)
			f |= status_letters(str_make(line.p + 7, line.len - 7),
			                    0);
		else if (line.len >= 9 &&
		         str_ncasecmp_ascii(line.p, "X-Status:", 9) == 0)
			f |= status_letters(str_make(line.p + 9, line.len - 9),
			                    1);
		if (nl == NULL)
			break;
		pos = e + 1;
	}
	return f;
}

void
mbox_writer_init(struct mbox_writer *w, mbox_write_fn fn, void *ctx)
{
	memset(w, 0, sizeof *w);
	w->fn = fn;
	w->ctx = ctx;
}

int
mbox_writer_begin(struct mbox_writer *w, int64_t date)
{
	char line[128];
	time_t t = (time_t)(date > 0 ? date : (int64_t)time(NULL));
	struct tm tm;
	size_t n;

	if (gmtime_r(&t, &tm) == NULL)
		return -1;
	n = strftime(line, sizeof line,
	             "From MAILER-DAEMON %a %b %e %H:%M:%S %Y\n", &tm);
	if (n == 0)
		return -1;
	w->in_prefix = 1;
	w->gt = 0;
	w->from_matched = 0;
	w->last[0] = w->last[1] = '\0';
	w->msg_len = 0;
	return w->fn(line, n, w->ctx);
}

static int
write_gts(struct mbox_writer *w, size_t n)
{
	static const char gts[64] = ">>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>"
	                            ">>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>";
	while (n > 0) {
		size_t k = n > 63 ? 63 : n;
		if (w->fn(gts, k, w->ctx) < 0)
			return -1;
		n -= k;
	}
	return 0;
}

/* Writes the pending prefix as it was ('>'s and part of "From "). */
static int
flush_prefix(struct mbox_writer *w)
{
	if (write_gts(w, w->gt) < 0)
		return -1;
	if (w->from_matched > 0 && w->fn("From ", w->from_matched, w->ctx) < 0)
		return -1;
	w->gt = 0;
	w->from_matched = 0;
	w->in_prefix = 0;
	return 0;
}

int
mbox_writer_data(struct mbox_writer *w, const char *p, size_t n)
{
	size_t i = 0;

	if (n >= 2) {
		w->last[0] = p[n - 2];
		w->last[1] = p[n - 1];
	} else if (n == 1) {
		w->last[0] = w->last[1];
		w->last[1] = p[0];
	}
	w->msg_len += n;
	while (i < n) {
		const char *nl;
		size_t end;

		if (w->in_prefix) {
			char c = p[i];
			if (w->from_matched == 0 && c == '>') {
				w->gt++;
				i++;
				continue;
			}
			if (c == "From "[w->from_matched]) {
				w->from_matched++;
				i++;
				if (w->from_matched == 5) {
					/* ^>*From : one more '>' (mboxrd). */
					w->gt++;
					if (flush_prefix(w) < 0)
						return -1;
				}
				continue;
			}
			if (flush_prefix(w) < 0)
				return -1;
			continue;
		}
		nl = memchr(p + i, '\n', n - i);
		end = nl ? (size_t)(nl - p) + 1 : n;
		if (w->fn(p + i, end - i, w->ctx) < 0)
			return -1;
		i = end;
		if (nl != NULL) {
			w->in_prefix = 1;
			w->gt = 0;
			w->from_matched = 0;
		}
	}
	return 0;
}

int
mbox_writer_end(struct mbox_writer *w)
{
	if (w->in_prefix && flush_prefix(w) < 0)
		return -1;
	w->in_prefix = 0;
	if (w->msg_len == 0)
		return w->fn("\n", 1, w->ctx);
	if (w->last[1] != '\n')
		return w->fn("\n\n", 2, w->ctx);
	if (w->last[0] == '\r')
		return w->fn("\r\n", 2, w->ctx);
	return w->fn("\n", 1, w->ctx);
}
