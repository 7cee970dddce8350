/*
 * bridge/imap_write.c: flag lists and dates in IMAP syntax (RFC 3501
 * sections 2.3.2, 9 "date-time", "flag-list").
 */
#include "imap_write.h"

#include <string.h>
#include <time.h>

#include "../common/buf.h"
#include "../common/limits.h"
#include "../common/str.h"
#include "../db/store.h"
#include "imap_parser.h"

static const char *const months[12] = { "Jan", "Feb", "Mar", "Apr",
					"May", "Jun", "Jul", "Aug",
					"Sep", "Oct", "Nov", "Dec" };

static const struct {
	uint32_t bit;
	const char *name;
} sysflags[] = {
	{ STORE_FLAG_SEEN, "\\Seen" },	       { STORE_FLAG_ANSWERED, "\\Answered" },
	{ STORE_FLAG_FLAGGED, "\\Flagged" }, { STORE_FLAG_DELETED, "\\Deleted" },
	{ STORE_FLAG_DRAFT, "\\Draft" },
};

void
imap_write_flags(struct buf *out, uint32_t flags, const char *keywords,
		 int recent)
{
	size_t i;
	int first = 1;

	buf_addc(out, '(');
	for (i = 0; i < sizeof sysflags / sizeof sysflags[0]; i++) {
		if (flags & sysflags[i].bit) {
			if (!first)
				buf_addc(out, ' ');
			buf_addstr(out, sysflags[i].name);
			first = 0;
		}
	}
	if (recent) {
		if (!first)
			buf_addc(out, ' ');
		buf_addstr(out, "\\Recent");
		first = 0;
	}
	if (keywords && *keywords) {
		if (!first)
			buf_addc(out, ' ');
		buf_addstr(out, keywords);
	}
	buf_addc(out, ')');
}

void
imap_write_datetime(struct buf *out, int64_t t, int tz)
{
	time_t local = (time_t)(t + (int64_t)tz * 60);
	struct tm tm;
	int atz = tz < 0 ? -tz : tz;

	gmtime_r(&local, &tm);
	buf_printf(out, "\"%2d-%s-%04d %02d:%02d:%02d %c%02d%02d\"", tm.tm_mday,
		   months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		   tm.tm_sec, tz < 0 ? '-' : '+', atz / 60, atz % 60);
}

static int
is_atom_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return 0;
	return strchr("(){%*\"\\]", c) == NULL;
}

static int
add_flag(const char *s, size_t len, uint32_t *flags, struct buf *kw,
	 const char **error_r)
{
	size_t i;

	if (len > 0 && s[0] == '\\') {
		struct str f = str_make(s, len);
		for (i = 0; i < sizeof sysflags / sizeof sysflags[0]; i++) {
			if (str_eqi_cstr(f, sysflags[i].name)) {
				*flags |= sysflags[i].bit;
				return 0;
			}
		}
		if (str_eqi_cstr(f, "\\Recent"))
			return 0;
		*error_r = "Unknown system flag";
		return -1;
	}
	if (len == 0 || len > KEYWORD_LEN_MAX) {
		*error_r = "Invalid keyword";
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (!is_atom_char((unsigned char)s[i])) {
			*error_r = "Invalid keyword";
			return -1;
		}
	}
	/* Skip duplicates (case-insensitive, RFC 3501 keywords). */
	{
		const char *p = buf_cstr(kw);
		while (*p) {
			const char *e = strchr(p, ' ');
			size_t l = e ? (size_t)(e - p) : strlen(p);
			if (l == len && str_ncasecmp_ascii(p, s, len) == 0)
				return 0;
			p += l;
			if (*p == ' ')
				p++;
		}
	}
	if ((kw->len && buf_addc(kw, ' ') < 0) || buf_add(kw, s, len) < 0) {
		*error_r = "Too many keywords";
		return -1;
	}
	return 0;
}

int
imap_parse_flags(const struct imap_arg *a, uint32_t *flags_r, struct buf *kw,
		 const char **error_r)
{
	size_t i;

	*flags_r = 0;
	buf_reset(kw);
	if (a->type == IMAP_ARG_ATOM)
		return add_flag(a->s, a->len, flags_r, kw, error_r);
	if (a->type != IMAP_ARG_LIST) {
		*error_r = "Flag list expected";
		return -1;
	}
	for (i = 0; i < a->nlist; i++) {
		if (a->list[i].type != IMAP_ARG_ATOM) {
			*error_r = "Flag expected";
			return -1;
		}
		if (add_flag(a->list[i].s, a->list[i].len, flags_r, kw,
			     error_r) < 0)
			return -1;
	}
	return 0;
}

static int
parse_month(const char *s)
{
	int i;
	for (i = 0; i < 12; i++)
		if (str_ncasecmp_ascii(s, months[i], 3) == 0)
			return i;
	return -1;
}

static int
digits(const char *s, size_t n, int *v)
{
	size_t i;
	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

static int64_t
days_from_civil(int y, int m, int d)
{
	/* Howard Hinnant's algorithm: days since 1970-01-01. */
	int64_t era, yoe, doy, doe;
	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* "d-Mon-yyyy" or "dd-Mon-yyyy"; *used_r gets the bytes consumed. */
static int
parse_day_month_year(const char *s, size_t len, int *d, int *m, int *y,
		     size_t *used_r)
{
	size_t dl;

	if (len >= 1 && s[0] == ' ') {
		s++;
		len--;
		*used_r = 1;
	} else {
		*used_r = 0;
	}
	if (len >= 2 && s[1] == '-')
		dl = 1;
	else if (len >= 3 && s[2] == '-')
		dl = 2;
	else
		return -1;
	if (digits(s, dl, d) < 0 || *d < 1 || *d > 31)
		return -1;
	if (len < dl + 1 + 3 + 1 + 4 || s[dl + 4] != '-')
		return -1;
	if ((*m = parse_month(s + dl + 1)) < 0)
		return -1;
	if (digits(s + dl + 5, 4, y) < 0)
		return -1;
	*used_r += dl + 9;
	return 0;
}

int
imap_parse_date(const char *s, size_t len, int64_t *t_r)
{
	int d, m, y;
	size_t used;

	if (parse_day_month_year(s, len, &d, &m, &y, &used) < 0 || used != len)
		return -1;
	*t_r = days_from_civil(y, m + 1, d) * 86400;
	return 0;
}

int
imap_parse_datetime(const char *s, size_t len, int64_t *t_r, int *tz_r)
{
	int d, m, y, hh, mm, ss, zh, zm;
	size_t used;
	const char *p;

	if (parse_day_month_year(s, len, &d, &m, &y, &used) < 0)
		return -1;
	p = s + used;
	len -= used;
	/* " hh:mm:ss +zzzz" */
	if (len != 15 || p[0] != ' ' || p[3] != ':' || p[6] != ':' ||
	    p[9] != ' ' || (p[10] != '+' && p[10] != '-'))
		return -1;
	if (digits(p + 1, 2, &hh) < 0 || digits(p + 4, 2, &mm) < 0 ||
	    digits(p + 7, 2, &ss) < 0 || digits(p + 11, 2, &zh) < 0 ||
	    digits(p + 13, 2, &zm) < 0)
		return -1;
	if (hh > 23 || mm > 59 || ss > 60 || zm > 59)
		return -1;
	*tz_r = (zh * 60 + zm) * (p[10] == '-' ? -1 : 1);
	*t_r = days_from_civil(y, m + 1, d) * 86400 + hh * 3600 + mm * 60 +
	       ss - (int64_t)*tz_r * 60;
	return 0;
}
