/*
 * bridge/imap_cmd.h: the IMAP command handlers (one family per file) and
 * the command table that maps names to them with the states they need.
 * Each handler parses its arguments, calls the store, and ends with a
 * tagged reply (CMD_DONE) or sets a continuation (CMD_AGAIN).
 */
#ifndef PB_IMAP_CMD_H
#define PB_IMAP_CMD_H

#include <stddef.h>
#include <stdint.h>

struct imap_session;
struct imap_arg;

#define IMAP_CMD_FN(name)                                                \
	int name(struct imap_session *s, const struct imap_arg *args, \
		 size_t nargs)

/* imap_cmd_any.c */
IMAP_CMD_FN(cmd_capability);
IMAP_CMD_FN(cmd_noop);
IMAP_CMD_FN(cmd_logout);
IMAP_CMD_FN(cmd_starttls);
IMAP_CMD_FN(cmd_login);
IMAP_CMD_FN(cmd_authenticate);
IMAP_CMD_FN(cmd_id);
IMAP_CMD_FN(cmd_enable);
/* imap_cmd_folder.c */
IMAP_CMD_FN(cmd_select);
IMAP_CMD_FN(cmd_examine);
IMAP_CMD_FN(cmd_create);
IMAP_CMD_FN(cmd_delete);
IMAP_CMD_FN(cmd_rename);
IMAP_CMD_FN(cmd_subscribe);
IMAP_CMD_FN(cmd_unsubscribe);
IMAP_CMD_FN(cmd_namespace);
IMAP_CMD_FN(cmd_status);
/* imap_cmd_list.c */
IMAP_CMD_FN(cmd_list);
IMAP_CMD_FN(cmd_lsub);
/* imap_cmd_append.c */
IMAP_CMD_FN(cmd_append);
/* imap_cmd_msg.c */
IMAP_CMD_FN(cmd_check);
IMAP_CMD_FN(cmd_close);
IMAP_CMD_FN(cmd_unselect);
IMAP_CMD_FN(cmd_expunge);
IMAP_CMD_FN(cmd_copy);
IMAP_CMD_FN(cmd_move);
IMAP_CMD_FN(cmd_store);
/* imap_cmd_idle.c */
IMAP_CMD_FN(cmd_idle);
/* imap_fetch.c */
IMAP_CMD_FN(cmd_fetch);
/* imap_search.c */
IMAP_CMD_FN(cmd_search);

/* STATUS items into "(MESSAGES 3 UNSEEN 1)"; shared by LIST-STATUS.
 * Returns 0, or a negative store error. */
struct buf;
int imap_status_items(struct imap_session *s, int64_t folder_id,
		      const struct imap_arg *items, size_t nitems,
		      struct buf *out);

/* 1 when a is a list of known STATUS items. */
int imap_status_items_check(const struct imap_arg *a);

#endif
