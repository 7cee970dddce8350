/*
 * bridge/imap_seqset.h: sequence sets (RFC 3501 sequence-set, RFC 5182 "$")
 * as sorted, merged ranges, and their mapping to UIDs through a session's
 * sequence map.
 */
#ifndef PB_IMAP_SEQSET_H
#define PB_IMAP_SEQSET_H

#include <stddef.h>
#include <stdint.h>

#include "../db/store.h"

#define IMAP_SEQ_STAR UINT32_MAX

struct imap_seqset {
	struct store_uid_range *r; /* sorted by lo, merged, lo <= hi */
	size_t n;
	int is_searchres; /* "$" */
};

/*
 * Parses "1,3:5,7:*". '*' is IMAP_SEQ_STAR; a:b with a > b is swapped.
 * Zero is refused. Returns 0, or -1 on syntax error (nothing allocated).
 * At most 100000 ranges (then -1).
 */
int imap_seqset_parse(const char *s, size_t len, struct imap_seqset *set);
void imap_seqset_clear(struct imap_seqset *set);

/*
 * Replaces IMAP_SEQ_STAR by star (the largest sequence number or UID in
 * the folder) and re-sorts/merges (RFC 3501: "*" is the largest number in
 * use; "5:*" with star 3 means 3:5).
 */
void imap_seqset_resolve_star(struct imap_seqset *set, uint32_t star);

/* 1 when v is in the set. */
int imap_seqset_contains(const struct imap_seqset *set, uint32_t v);

/*
 * Maps a sequence-number set to UID ranges through uids[0..n) (sequence i+1
 * has uids[i]); numbers beyond n are dropped. Returns ranges in *out
 * (malloc'd, sorted and merged).
 */
void imap_seqset_seq_to_uid(const struct imap_seqset *set,
			    const uint32_t *uids, size_t n,
			    struct imap_seqset *out);
/* Restricts a UID set to UIDs present in uids[0..n) (sorted), merged. */
void imap_seqset_uid_clip(const struct imap_seqset *set, const uint32_t *uids,
			  size_t n, struct imap_seqset *out);

/* Appends the set as "1:3,5" text (for COPYUID/APPENDUID/ESEARCH). */
struct buf;
int imap_seqset_format_uids(const uint32_t *uids, size_t n, struct buf *out);

#endif
