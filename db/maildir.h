/*
 * db/maildir.h: reading a Maildir for `popbridge import`: the files of
 * cur/ and new/ (tmp/ is never read: files there are still being written),
 * sorted by file name so imports are deterministic, with the flags of the
 * ":2," info suffix (S \Seen, R \Answered, F \Flagged, T \Deleted,
 * D \Draft; other letters and Dovecot keyword letters are ignored) and the
 * file's mtime as INTERNALDATE. Sub-folders of Maildir++ (.Name/) are not
 * read. At most MAILDIR_MAX_FILES files.
 */
#ifndef PB_MAILDIR_H
#define PB_MAILDIR_H

#include <stddef.h>
#include <stdint.h>

struct buf;

struct maildir_entry {
	char *path;       /* dir/cur/NAME or dir/new/NAME */
	const char *name; /* the file name inside path */
	uint32_t flags;   /* STORE_FLAG_* */
	int64_t mtime;    /* unix time */
	uint64_t size;
};

/* 1 when dir has a cur/ or new/ directory, else 0. */
int maildir_is_maildir(const char *dir);
/*
 * Lists the messages. 0 with a malloc'd array (free with
 * maildir_list_free), or -1 with *error_r set to static text (errno kept
 * for I/O errors).
 */
int maildir_list(const char *dir, struct maildir_entry **list_r, size_t *n_r,
                 const char **error_r);
void maildir_list_free(struct maildir_entry *list, size_t n);
/* Flags of a file name ("1234.x.host:2,FRS" -> flagged|answered|seen). */
uint32_t maildir_name_flags(const char *name);
/*
 * Reads one message file into out (reset first; out's cap bounds it).
 * 0, or -1 with errno (EFBIG when over the cap).
 */
int maildir_read(const struct maildir_entry *e, struct buf *out);

#endif
