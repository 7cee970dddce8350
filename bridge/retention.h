/*
 * bridge/retention.h: store retention (PRODUCT.md "Retention"): messages
 * in the Trash and Junk folders (found by their SPECIAL-USE attribute) are
 * expunged once they have been in the folder (since the append, copy
 * or move that put them there) longer than the settings "trash_days"
 * and "junk_days" (default RETENTION_DAYS_DEFAULT, 0 = never). The daemon
 * calls retention_run() hourly; `popbridge retention run` once.
 */
#ifndef PB_RETENTION_H
#define PB_RETENTION_H

#include <stddef.h>
#include <stdint.h>

struct store;

/*
 * The configured days (a missing or unreadable setting gives the
 * default). Returns 0, or a negative store error.
 */
int retention_get_days(struct store *st, unsigned *trash_days_r,
                       unsigned *junk_days_r);

/*
 * Expunges what is due at time now (unix seconds). *expunged_r (may be
 * NULL) gets the number of messages expunged. Returns 0 or a negative
 * store error (what was expunged before the error stays expunged).
 */
int retention_run(struct store *st, int64_t now, size_t *expunged_r);

#endif
