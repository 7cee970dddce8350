/*
 * db/msg_envelope.c: the IMAP ENVELOPE structure (RFC 3501 section 7.4.2)
 * from RFC 5322 header fields: address lists (section 3.4) with groups,
 * quoted and commented display names, obsolete routes (section 4.4) and
 * broken input taken as well as it can be; and Date: parsing (section 3.3
 * and the obsolete forms of 4.3).
 * Strings are the raw header text (no RFC 2047 decoding), as RFC 3501 says.
 */
#include "msg_envelope.h"

#include <string.h>

#include "../common/buf.h"
#include "../common/imap_quote.h"
#include "../common/limits.h"
#include "hdr_parse.h"

enum env_field {
	ENV_DATE,
	ENV_SUBJECT,
	ENV_FROM,
	ENV_SENDER,
	ENV_REPLY_TO,
	ENV_TO,
	ENV_CC,
	ENV_BCC,
	ENV_IN_REPLY_TO,
	ENV_MESSAGE_ID,
	ENV_COUNT
};

static const char *const env_names[ENV_COUNT] = {
        "date", "subject", "from", "sender",      "reply-to",
        "to",   "cc",      "bcc",  "in-reply-to", "message-id",
};

/* scratch strings of one address */
struct addr_parts {
	struct buf phrase;  /* display name words, space separated */
	struct buf joined;  /* the same words without spaces (local-part) */
	struct buf comment; /* last comment seen */
	struct buf route, local, domain;
};

static int is_wsp(char c);
static int is_atext(unsigned char c);
static int quote_human(struct buf *out, const char *s, size_t len);
static size_t skip_cfws(const char *s, size_t len, size_t i,
                        struct buf *comment, int *saw_space);
static size_t read_words(const char *s, size_t len, size_t i,
                         struct buf *phrase, struct buf *joined,
                         struct buf *comment);
static size_t read_domain(const char *s, size_t len, size_t i, struct buf *out,
                          struct buf *comment);
static int addr_emit(struct buf *out, const char *name, size_t nlen,
                     const char *route, size_t rlen, const char *mbox,
                     size_t mlen, const char *host, size_t hlen);
static int quote_unfolded(struct buf *out, const char *s, size_t len);
static int addr_list_write(const char *s, size_t len, struct buf *out,
                           size_t *count_r);

static int
is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* RFC 5322 atext; 8-bit bytes are taken too (RFC 6532, broken mail). */
static int
is_atext(unsigned char c)
{
	if (c >= 0x80)
		return 1;
	if (c <= 0x20 || c == 0x7f)
		return 0;
	return strchr("()<>[]:;@\\,.\"", c) == NULL;
}

/*
 * A string "for humans" (Dovecot imap_append_string_for_humans): CR, LF,
 * HT become spaces, runs of spaces one, none at either end.
 */
static int
quote_human(struct buf *out, const char *s, size_t len)
{
	struct buf b;
	size_t i;
	int space = 0, rc;

	/* the common case: nothing to change */
	for (i = 0; i < len; i++) {
		if (s[i] == '\r' || s[i] == '\n' || s[i] == '\t' ||
		    (s[i] == ' ' &&
		     (i == 0 || i + 1 == len || s[i + 1] == ' ')))
			break;
	}
	if (i == len)
		return imap_quote_string(out, s, len);
	buf_init(&b, MIME_MAX_FIELD);
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c == '\r' || c == '\n' || c == '\t' || c == ' ') {
			space = b.len > 0;
			continue;
		}
		if ((space && buf_addc(&b, ' ') < 0) || buf_addc(&b, c) < 0)
			break;
		space = 0;
	}
	rc = imap_quote_string(out, buf_cstr(&b), b.len);
	buf_clear(&b);
	return rc;
}

/* Appends an unfolded, trimmed value as an IMAP string. */
static int
quote_unfolded(struct buf *out, const char *s, size_t len)
{
	struct buf b;
	int rc;

	buf_init(&b, MIME_MAX_FIELD);
	hdr_unfold(s, len, MIME_MAX_FIELD, &b);
	rc = imap_quote_string(out, buf_cstr(&b), b.len);
	buf_clear(&b);
	return rc;
}

/*
 * Skips white space and comments; the text of the last comment goes to
 * comment (when not NULL). *saw_space is set when anything was skipped.
 */
static size_t
skip_cfws(const char *s, size_t len, size_t i, struct buf *comment,
          int *saw_space)
{
	for (;;) {
		size_t start = i;

		while (i < len && is_wsp(s[i]))
			i++;
		if (i < len && s[i] == '(') {
			size_t depth = 0, cstart = i + 1, cend;

			for (; i < len; i++) {
				if (s[i] == '\\') {
					i++;
					continue;
				}
				if (s[i] == '(')
					depth++;
				else if (s[i] == ')' && --depth == 0)
					break;
			}
			if (i > len)
				i = len;
			cend = i;
			if (i < len)
				i++;
			if (comment != NULL) {
				buf_reset(comment);
				buf_add(comment, s + cstart, cend - cstart);
			}
		}
		if (i > start && saw_space != NULL)
			*saw_space = 1;
		if (i == start)
			return i;
	}
}

/*
 * Reads a phrase / local-part: atoms, quoted strings and dots, into
 * a->phrase (words separated by one space where the input had space) and
 * a->joined (no spaces). Stops at anything else.
 */
static size_t
read_words(const char *s, size_t len, size_t i, struct buf *phrase,
           struct buf *joined, struct buf *comment)
{
	int first = 1;

	for (;;) {
		int space = 0;
		size_t start;

		i = skip_cfws(s, len, i, comment, &space);
		if (i >= len)
			return i;
		if (!first && space && phrase != NULL)
			buf_addc(phrase, ' ');
		if (s[i] == '"') {
			size_t run;

			i++;
			run = i;
			while (i < len && s[i] != '"') {
				if (s[i] == '\\') {
					if (phrase != NULL)
						buf_add(phrase, s + run,
						        i - run);
					buf_add(joined, s + run, i - run);
					run = ++i;
				}
				if (i < len)
					i++;
			}
			if (phrase != NULL)
				buf_add(phrase, s + run, i - run);
			buf_add(joined, s + run, i - run);
			if (i < len)
				i++;
		} else if (s[i] == '.') {
			if (phrase != NULL)
				buf_addc(phrase, '.');
			buf_addc(joined, '.');
			i++;
		} else if (is_atext((unsigned char)s[i])) {
			start = i;
			while (i < len && is_atext((unsigned char)s[i]))
				i++;
			if (phrase != NULL)
				buf_add(phrase, s + start, i - start);
			buf_add(joined, s + start, i - start);
		} else {
			/* do not leave a trailing space behind */
			if (!first && space && phrase != NULL &&
			    phrase->len > 0)
				phrase->data[--phrase->len] = '\0';
			return i;
		}
		first = 0;
	}
}

/* dot-atom, obs-domain or [domain literal], without spaces. */
static size_t
read_domain(const char *s, size_t len, size_t i, struct buf *out,
            struct buf *comment)
{
	for (;;) {
		size_t start;

		i = skip_cfws(s, len, i, comment, NULL);
		if (i >= len)
			return i;
		if (s[i] == '[') {
			start = i;
			while (i < len && s[i] != ']')
				i++;
			if (i < len)
				i++;
			buf_add(out, s + start, i - start);
		} else if (s[i] == '.') {
			buf_addc(out, '.');
			i++;
		} else if (is_atext((unsigned char)s[i])) {
			start = i;
			while (i < len && is_atext((unsigned char)s[i]))
				i++;
			buf_add(out, s + start, i - start);
		} else {
			return i;
		}
	}
}

/* One address structure; NULL gives NIL. */
static int
addr_emit(struct buf *out, const char *name, size_t nlen, const char *route,
          size_t rlen, const char *mbox, size_t mlen, const char *host,
          size_t hlen)
{
	if (buf_addc(out, '(') < 0 ||
	    (name ? quote_human(out, name, nlen) : buf_add(out, "NIL", 3)) <
	            0 ||
	    buf_addc(out, ' ') < 0 ||
	    imap_quote_nstring(out, route, rlen) < 0 ||
	    buf_addc(out, ' ') < 0 ||
	    (mbox && !host ? quote_human(out, mbox, mlen)
	                   : imap_quote_nstring(out, mbox, mlen)) < 0 ||
	    buf_addc(out, ' ') < 0 || imap_quote_nstring(out, host, hlen) < 0 ||
	    buf_addc(out, ')') < 0)
		return -1;
	return 0;
}

static void
parts_reset(struct addr_parts *a)
{
	buf_reset(&a->phrase);
	buf_reset(&a->joined);
	buf_reset(&a->comment);
	buf_reset(&a->route);
	buf_reset(&a->local);
	buf_reset(&a->domain);
}

/* Writes a mailbox from the parts collected; name from phrase or comment. */
static int
mailbox_emit(struct buf *out, struct addr_parts *a, const struct buf *local)
{
	const struct buf *name = a->phrase.len ? &a->phrase : &a->comment;
	const char *mbox = local->len ? local->data : "MISSING_MAILBOX";
	const char *host = a->domain.len ? a->domain.data : "MISSING_DOMAIN";

	return addr_emit(out, name->len ? name->data : NULL, name->len,
	                 a->route.len ? a->route.data : NULL, a->route.len,
	                 mbox, strlen(mbox), host, strlen(host));
}

/*
 * Appends the address list s[0..len) (unfolded) as "(addr...)" to out,
 * or nothing when it holds no address; *count_r counts structures.
 */
static int
addr_list_write(const char *s, size_t len, struct buf *out, size_t *count_r)
{
	struct addr_parts a;
	size_t i = 0, n = 0, old = out->len;
	int in_group = 0, rc = -1;

	buf_init(&a.phrase, MIME_MAX_FIELD);
	buf_init(&a.joined, MIME_MAX_FIELD);
	buf_init(&a.comment, MIME_MAX_FIELD);
	buf_init(&a.route, MIME_MAX_FIELD);
	buf_init(&a.local, MIME_MAX_FIELD);
	buf_init(&a.domain, MIME_MAX_FIELD);
	if (buf_addc(out, '(') < 0)
		goto out;
	while (i < len) {
		size_t start;
		char c;

		parts_reset(&a);
		i = skip_cfws(s, len, i, NULL, NULL);
		if (i >= len)
			break;
		if (s[i] == ',') {
			i++;
			continue;
		}
		if (s[i] == ';') {
			i++;
			if (in_group) {
				if (addr_emit(out, NULL, 0, NULL, 0, NULL, 0,
				              NULL, 0) < 0)
					goto out;
				n++;
				in_group = 0;
			}
			continue;
		}
		start = i;
		i = read_words(s, len, i, &a.phrase, &a.joined, &a.comment);
		c = i < len ? s[i] : '\0';
		if (c == ':') {
			/* group start (a stray second one ends the first) */
			if (in_group) {
				if (addr_emit(out, NULL, 0, NULL, 0, NULL, 0,
				              NULL, 0) < 0)
					goto out;
				n++;
			}
			if (addr_emit(out, NULL, 0, NULL, 0,
			              buf_cstr(&a.phrase), a.phrase.len, NULL,
			              0) < 0)
				goto out;
			n++;
			in_group = 1;
			i++;
			continue;
		}
		if (c == '<') {
			/* angle-addr, with an obsolete route "@a,@b:" */
			struct buf *cmt = &a.comment;

			i = skip_cfws(s, len, i + 1, NULL, NULL);
			if (i < len && s[i] == '@') {
				size_t r = i;

				/* stop early: "<@<@<@..." must stay linear */
				while (r < len && !strchr(":>;<", s[r]))
					r++;
				if (r < len && s[r] == ':') {
					for (; i < r; i++) {
						if (!is_wsp(s[i]))
							buf_addc(&a.route,
							         s[i]);
					}
					i = r + 1;
				}
			}
			i = read_words(s, len, i, NULL, &a.local, NULL);
			if (i < len && s[i] == '@')
				i = read_domain(s, len, i + 1, &a.domain, NULL);
			while (i < len && s[i] != '>' && s[i] != ',' &&
			       s[i] != ';')
				i++;
			if (i < len && s[i] == '>')
				i++;
			/* a comment after <...> is no display name */
			buf_reset(cmt);
			i = skip_cfws(s, len, i, NULL, NULL);
			if (mailbox_emit(out, &a, &a.local) < 0)
				goto out;
			n++;
			continue;
		}
		if (c == '@') {
			buf_reset(&a.comment);
			i = read_domain(s, len, i + 1, &a.domain, &a.comment);
			/* the local-part was read as words: no display name */
			buf_reset(&a.phrase);
			if (mailbox_emit(out, &a, &a.joined) < 0)
				goto out;
			n++;
			continue;
		}
		if (a.joined.len > 0) {
			/* a bare word: an address without "@domain" */
			buf_reset(&a.phrase);
			if (mailbox_emit(out, &a, &a.joined) < 0)
				goto out;
			n++;
		}
		if (i == start || (i < len && s[i] != ',' && s[i] != ';'))
			i++; /* skip a character that fits nowhere */
	}
	if (in_group) {
		if (addr_emit(out, NULL, 0, NULL, 0, NULL, 0, NULL, 0) < 0)
			goto out;
		n++;
	}
	if (n == 0) {
		out->len = old;
		out->data[old] = '\0';
	} else if (buf_addc(out, ')') < 0) {
		goto out;
	}
	*count_r = n;
	rc = 0;
out:
	buf_clear(&a.phrase);
	buf_clear(&a.joined);
	buf_clear(&a.comment);
	buf_clear(&a.route);
	buf_clear(&a.local);
	buf_clear(&a.domain);
	return rc;
}

int
msg_envelope_write(const char *hdr, size_t len, struct buf *out)
{
	struct str v[ENV_COUNT];
	struct hdr_iter it;
	struct hdr_field f;
	struct buf uf, from;
	size_t i, n;
	int rc = -1;

	memset(v, 0, sizeof(v));
	hdr_iter_init(&it, hdr, len);
	while (hdr_iter_next(&it, &f)) {
		for (i = 0; i < ENV_COUNT; i++) {
			if (v[i].p == NULL &&
			    str_eqi_cstr(f.name, env_names[i])) {
				v[i] = f.value;
				break;
			}
		}
	}
	buf_init(&uf, MIME_MAX_FIELD);
	buf_init(&from, 0);
	if (buf_addc(out, '(') < 0)
		goto out;
	for (i = 0; i < ENV_COUNT; i++) {
		if (i > 0 && buf_addc(out, ' ') < 0)
			goto out;
		if (i == ENV_FROM || i == ENV_SENDER || i == ENV_REPLY_TO ||
		    i == ENV_TO || i == ENV_CC || i == ENV_BCC) {
			size_t old = out->len;

			n = 0;
			if (v[i].p != NULL) {
				buf_reset(&uf);
				hdr_unfold(v[i].p, v[i].len, MIME_MAX_FIELD,
				           &uf);
				if (addr_list_write(buf_cstr(&uf), uf.len, out,
				                    &n) < 0)
					goto out;
			}
			if (i == ENV_FROM && n > 0 &&
			    buf_add(&from, out->data + old, out->len - old) < 0)
				goto out;
			/* RFC 3501: sender and reply-to default to from */
			if (n == 0 && (i == ENV_SENDER || i == ENV_REPLY_TO) &&
			    from.len > 0) {
				if (buf_add(out, from.data, from.len) < 0)
					goto out;
				n = 1;
			}
			if (n == 0 && buf_add(out, "NIL", 3) < 0)
				goto out;
			continue;
		}
		if (v[i].p == NULL) {
			if (buf_add(out, "NIL", 3) < 0)
				goto out;
		} else if (i == ENV_SUBJECT) {
			struct str s = v[i];

			if (s.len > MIME_MAX_FIELD)
				s.len = MIME_MAX_FIELD;
			if (quote_human(out, s.p, s.len) < 0)
				goto out;
		} else if (quote_unfolded(out, v[i].p, v[i].len) < 0) {
			goto out;
		}
	}
	rc = buf_addc(out, ')');
out:
	buf_clear(&uf);
	buf_clear(&from);
	return rc;
}

/* ---- Dates ---- */

static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	/* Howard Hinnant's algorithm, proleptic Gregorian */
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

struct date_lex {
	const char *s;
	size_t len, i;
};

static void
date_skip(struct date_lex *l)
{
	l->i = skip_cfws(l->s, l->len, l->i, NULL, NULL);
}

/* Reads 1..max digits; -1 when none. */
static int64_t
date_num(struct date_lex *l, size_t max, size_t *ndig_r)
{
	int64_t v = 0;
	size_t n = 0;

	date_skip(l);
	while (l->i < l->len && l->s[l->i] >= '0' && l->s[l->i] <= '9' &&
	       n < max) {
		v = v * 10 + (l->s[l->i] - '0');
		l->i++;
		n++;
	}
	if (ndig_r)
		*ndig_r = n;
	return n ? v : -1;
}

/* Reads a word of letters; returns its length (copied lower-case). */
static size_t
date_word(struct date_lex *l, char *w, size_t max)
{
	size_t n = 0;

	date_skip(l);
	while (l->i < l->len &&
	       ((l->s[l->i] | 0x20) >= 'a' && (l->s[l->i] | 0x20) <= 'z')) {
		if (n < max)
			w[n] = (char)(l->s[l->i] | 0x20);
		n++;
		l->i++;
	}
	if (n < max)
		w[n] = '\0';
	else
		w[max - 1] = '\0';
	return n;
}

static int
is_weekday(const char *w)
{
	static const char days[] = "sunmontuewedthufrisat";
	size_t i;

	for (i = 0; i < 7; i++) {
		if (memcmp(w, days + 3 * i, 3) == 0)
			return 1;
	}
	return 0;
}

static int
month_index(const char *w)
{
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	size_t i;

	for (i = 0; i < 12; i++) {
		if (memcmp(w, months + 3 * i, 3) == 0)
			return (int)i + 1;
	}
	return -1;
}

/* Obsolete zone names (RFC 5322 4.3); military letters count as +0000. */
static int
zone_name(const char *w, size_t n, int *mins_r)
{
	static const struct {
		const char *name;
		int hours;
	} zones[] = {
	        {"ut", 0},   {"gmt", 0},  {"utc", 0},  {"z", 0},
	        {"est", -5}, {"edt", -4}, {"cst", -6}, {"cdt", -5},
	        {"mst", -7}, {"mdt", -6}, {"pst", -8}, {"pdt", -7},
	};
	size_t i;

	for (i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		if (strcmp(w, zones[i].name) == 0) {
			*mins_r = zones[i].hours * 60;
			return 0;
		}
	}
	if (n == 1) {
		*mins_r = 0;
		return 0;
	}
	return -1;
}

int64_t
msg_date_parse(const char *s, size_t len)
{
	int tz;
	return msg_date_parse_tz(s, len, &tz);
}

int64_t
msg_date_parse_tz(const char *s, size_t len, int *tz_r)
{
	struct date_lex l = {s, len > 256 ? 256 : len, 0};
	char w[16];
	int64_t day, year, hh, mm, ss = 0;
	int mon, zone = 0;
	size_t n, save, ydig;

	/* [day-of-week ","] */
	save = l.i;
	n = date_word(&l, w, sizeof(w));
	if (n >= 3 && is_weekday(w)) {
		date_skip(&l);
		if (l.i < l.len && l.s[l.i] == ',')
			l.i++;
	} else {
		l.i = save;
	}
	date_skip(&l);
	save = l.i;
	mon = -1;
	if ((day = date_num(&l, 2, NULL)) < 0) {
		/* month name first: "Feb 7 21:52:25 1994" or "Feb 7 1994 ..."
		 */
		l.i = save;
		if (date_word(&l, w, sizeof(w)) < 3 ||
		    (mon = month_index(w)) < 0)
			return -1;
		if ((day = date_num(&l, 2, NULL)) < 0)
			return -1;
	} else {
		date_skip(&l);
		if (l.i < l.len && l.s[l.i] == '-')
			l.i++;
		if (date_word(&l, w, sizeof(w)) < 3 ||
		    (mon = month_index(w)) < 0)
			return -1;
		date_skip(&l);
		if (l.i < l.len && l.s[l.i] == '-')
			l.i++;
	}
	save = l.i;
	year = date_num(&l, 4, &ydig);
	date_skip(&l);
	if (year >= 0 && l.i < l.len && l.s[l.i] == ':' && ydig <= 2) {
		/* asctime: the time comes before the year */
		l.i = save;
		year = -1;
	}
	if (year < 0) {
		hh = date_num(&l, 2, NULL);
		date_skip(&l);
		if (hh < 0 || l.i >= l.len || l.s[l.i] != ':')
			return -1;
		l.i++;
		if ((mm = date_num(&l, 2, NULL)) < 0)
			return -1;
		date_skip(&l);
		if (l.i < l.len && l.s[l.i] == ':') {
			l.i++;
			if ((ss = date_num(&l, 2, NULL)) < 0)
				return -1;
		}
		if ((year = date_num(&l, 4, &ydig)) < 0)
			return -1;
	} else {
		hh = date_num(&l, 2, NULL);
		date_skip(&l);
		if (hh < 0 || l.i >= l.len || l.s[l.i] != ':')
			return -1;
		l.i++;
		if ((mm = date_num(&l, 2, NULL)) < 0)
			return -1;
		date_skip(&l);
		if (l.i < l.len && l.s[l.i] == ':') {
			l.i++;
			if ((ss = date_num(&l, 2, NULL)) < 0)
				return -1;
		}
	}
	/* RFC 5322 4.3: two-digit years, and three-digit ones + 1900 */
	if (ydig <= 2)
		year += year < 50 ? 2000 : 1900;
	else if (ydig == 3)
		year += 1900;
	date_skip(&l);
	if (l.i < l.len && (l.s[l.i] == '+' || l.s[l.i] == '-')) {
		int sign = l.s[l.i] == '-' ? -1 : 1;
		size_t zd;
		int64_t z;

		l.i++;
		z = date_num(&l, 4, &zd);
		if (z < 0 || zd != 4 || z % 100 > 59)
			return -1;
		zone = sign * (int)((z / 100) * 60 + z % 100);
	} else if ((n = date_word(&l, w, sizeof(w))) > 0) {
		if (n >= sizeof(w) || zone_name(w, n, &zone) < 0)
			zone = 0; /* unknown zone: like -0000 */
	}
	if (day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 ||
	    year < 1900 || year > 9999)
		return -1;
	if (ss == 60)
		ss = 59;
	*tz_r = zone;
	return days_from_civil(year, (unsigned)mon, (unsigned)day) * 86400 +
	       hh * 3600 + mm * 60 + ss - (int64_t)zone * 60;
}
