/*
 * db/msg_envelope.h: private helper of msg_derive.c. The IMAP ENVELOPE of
 * a header block (RFC 3501 section 7.4.2, RFC 5322 address lists with
 * groups and obsolete routes) and RFC 5322 dates as unix time.
 */
#ifndef PB_MSG_ENVELOPE_H
#define PB_MSG_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

struct buf;

/*
 * Appends "(date subject from sender reply-to to cc bcc in-reply-to
 * message-id)" for the header block hdr[0..len). The first of each field
 * counts. Subject and display names are shown "for humans" as Dovecot does
 * (line ends and tabs to spaces, runs of spaces collapsed, trimmed), other
 * strings unfolded; all raw (RFC 2047 words not decoded). A mailbox or host
 * that is missing reads MISSING_MAILBOX / MISSING_DOMAIN (as Dovecot), so a
 * NIL host always means group syntax. -1 when out's cap is reached.
 */
int msg_envelope_write(const char *hdr, size_t len, struct buf *out);

/*
 * RFC 5322 section 3.3 date-time, obsolete forms too (section 4.3: two and
 * three digit years, alphabetic and military zones, comments, missing
 * seconds or zone), as unix time; -1 when it cannot be read.
 */
int64_t msg_date_parse(const char *s, size_t len);
/* Same, also giving the zone as minutes east of UTC (0 when absent). */
int64_t msg_date_parse_tz(const char *s, size_t len, int *tz_r);

#endif
