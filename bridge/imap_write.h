/*
 * bridge/imap_write.h: formatting of IMAP response pieces shared by the
 * commands: flag lists, dates (RFC 3501 date-time), and flag parsing.
 */
#ifndef PB_IMAP_WRITE_H
#define PB_IMAP_WRITE_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct imap_arg;

/* "(\Seen \Answered kw1)"; \Recent added when recent. */
void imap_write_flags(struct buf *out, uint32_t flags, const char *keywords,
		      int recent);
/* "\"17-Jul-1996 02:44:25 -0700\"" */
void imap_write_datetime(struct buf *out, int64_t t, int tz_minutes);

/*
 * Parses a flag list argument (a list, or a single flag atom) into system
 * flag bits and a space-separated keyword string in kw (reset first).
 * \Recent is ignored (RFC 3501: it cannot be set). Returns 0 or -1 with
 * *error_r.
 */
int imap_parse_flags(const struct imap_arg *a, uint32_t *flags_r,
		     struct buf *kw, const char **error_r);

/*
 * Parses an RFC 3501 date-time ("17-Jul-1996 02:44:25 -0700") into unix
 * time and zone minutes. 0 or -1.
 */
int imap_parse_datetime(const char *s, size_t len, int64_t *t_r, int *tz_r);
/* date ("1-Feb-1994") into the unix time of that day's 00:00 UTC. */
int imap_parse_date(const char *s, size_t len, int64_t *t_r);

#endif
