/*
 * bridge/imap_session.h: one IMAP connection's state (RFC 3501 section 3:
 * not authenticated, authenticated, selected, logout), the selected
 * folder's view (the sequence-number map and what this session has been
 * told), and the command table. The command handlers live in
 * imap_cmd_*.c, imap_fetch.c and imap_search.c; they see the store only
 * through db/store.h.
 */
#ifndef PB_IMAP_SESSION_H
#define PB_IMAP_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../db/store.h"
#include "imap_parser.h"

struct conn;
struct imap_server;
struct imap_session;

enum imap_state {
	IMAP_STATE_NOTAUTH,
	IMAP_STATE_AUTH,
	IMAP_STATE_SELECTED,
	IMAP_STATE_LOGOUT,
};

/* Handler results. */
#define CMD_DONE 1  /* tagged reply sent */
#define CMD_AGAIN 0 /* call s->cont again on the next event */

typedef int (*imap_cmd_fn)(struct imap_session *s, const struct imap_arg *args,
			   size_t nargs);
typedef int (*imap_cont_fn)(struct imap_session *s);

/* Command flags. */
#define CMDF_NOTAUTH 0x01u  /* allowed before login */
#define CMDF_AUTH 0x02u	    /* allowed once logged in */
#define CMDF_SELECTED 0x04u /* needs a selected folder */
#define CMDF_UID 0x08u	    /* has a UID variant */
/* No EXPUNGE may be sent after it (RFC 3501 7.4.1): FETCH, STORE, SEARCH. */
#define CMDF_NO_EXPUNGE 0x10u

struct imap_cmd_def {
	const char *name;
	imap_cmd_fn fn;
	unsigned flags;
};

/* One selected folder's view. */
struct imap_view {
	int64_t folder_id;
	char *name;
	uint32_t uidvalidity;
	int readonly;
	uint32_t *uids; /* sequence i+1 has uids[i] */
	size_t n, alloc;
	uint32_t first_recent; /* UIDs >= this are \Recent here */
	uint64_t known_modseq;	   /* flag changes reported up to here */
	uint64_t known_exp_modseq; /* expunges reported up to here */
	/* This session's own flag changes since the last sync, so they are
	 * not echoed back as unsolicited FETCHes. */
	struct {
		uint32_t uid;
		uint64_t modseq;
	} *own;
	size_t nown, ownalloc;
	uint32_t *searchres; /* SEARCH RETURN (SAVE) result, UIDs */
	size_t nsearchres;
	char **keywords; /* known keywords (FLAGS response sent) */
	size_t nkeywords;
};

struct imap_session {
	struct imap_server *srv;
	struct conn *conn;
	struct imap_reader *reader;
	enum imap_state state;
	uint64_t id; /* for log lines */
	char *user;
	char *device;

	/* Current command. */
	struct buf tag;
	const struct imap_cmd_def *cmd;
	int cmd_uid; /* "UID xxx" */
	imap_cont_fn cont;
	void *cont_ctx;
	void (*cont_free)(void *ctx);
	unsigned bad_count;

	/* Extensions enabled. */
	int condstore;
	int qresync;
	int utf8_accept;
	int rev2;

	int idling;
	uint64_t idle_keepalive_timer;
	uint64_t auth_delay_timer;
	int auth_waiting;

	struct imap_view *view; /* NULL unless selected */
	int notify_pending;	/* another session changed our folder */

	int greeted_tls;   /* implicit TLS: greeting sent after handshake */
	int starttls_done; /* STARTTLS happened: no second greeting */
	int closing;
	int in_handler;
	struct imap_session *next, *prev;
};

/* ---- used by the server (serve.c) ---- */
struct imap_session *imap_session_new(struct imap_server *srv, int fd,
				      const char *peer, int is_loopback,
				      int implicit_tls);
void imap_session_free(struct imap_session **s);
/* Another session or process changed folder_id: sync sessions that need it. */
void imap_session_folder_changed(struct imap_session *s, int64_t folder_id);

/* ---- used by command handlers ---- */
void imap_send(struct imap_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void imap_send_raw(struct imap_session *s, const void *p, size_t len);
/* "TAG OK text" (status is OK/NO/BAD); text may start with "[CODE] ". */
int imap_tagged(struct imap_session *s, const char *status, const char *fmt,
		...) __attribute__((format(printf, 3, 4)));
/* Maps a store error to NO [NONEXISTENT]/[ALREADYEXISTS]/... and replies. */
int imap_reply_store_error(struct imap_session *s, int err,
			   const char *what);
/* Bad syntax: "TAG BAD ...". */
int imap_bad(struct imap_session *s, const char *why);

/*
 * Sends pending untagged updates of the selected folder (EXISTS, RECENT,
 * FETCH flag changes, and EXPUNGE/VANISHED when allow_expunge).
 */
void imap_view_sync(struct imap_session *s, int allow_expunge);
/* Drops uids from the view and tells the client (EXPUNGE, or VANISHED
 * with QRESYNC). */
void imap_view_report_removed(struct imap_session *s, const uint32_t *uids,
			      size_t n);
/* "* seq FETCH (UID u FLAGS (...) [MODSEQ (m)])" for a change; b is
 * scratch space. */
void imap_view_send_change(struct imap_session *s, uint32_t seq,
			   const struct store_change *ch, int with_modseq,
			   struct buf *b);
/* "* VANISHED [(EARLIER)] uids" when n > 0. */
void imap_view_send_vanished(struct imap_session *s, const uint32_t *uids,
			     size_t n, int earlier);
/* Records this session's own flag change (see imap_view.own). */
void imap_view_own_change(struct imap_session *s, uint32_t uid,
			  uint64_t modseq);
/* Removes uid from the map; returns its former sequence number or 0. */
uint32_t imap_view_remove_uid(struct imap_view *v, uint32_t uid);
/* Sequence number of uid (binary search), 0 when absent. */
uint32_t imap_view_seq(const struct imap_view *v, uint32_t uid);
void imap_view_free(struct imap_view **v);
/* Sends FLAGS and PERMANENTFLAGS (reloading the folder's keywords). */
void imap_view_send_flags(struct imap_session *s);

/*
 * Turns a sequence set argument (sequence numbers, or UIDs when uid) into
 * UID ranges of messages in the view. Returns 0, or -1 after replying BAD.
 */
struct imap_seqset;
int imap_session_uidset(struct imap_session *s, const struct imap_arg *a,
			int uid, struct imap_seqset *out);
/* Same without replying: -1 on a bad set. */
int imap_session_uidset_quiet(struct imap_session *s, const struct imap_arg *a,
			      int uid, struct imap_seqset *out);

/* Folder name argument: modified UTF-7 decoded (unless UTF8=ACCEPT) into a
 * heap string; "INBOX" normalised. NULL after replying BAD. */
char *imap_session_folder_arg(struct imap_session *s, const struct imap_arg *a);
/* Appends a folder name for output (modified UTF-7 unless UTF8=ACCEPT). */
void imap_session_folder_out(struct imap_session *s, struct buf *out,
			     const char *name);

/* Command handler sets a continuation: called on next DRAINED/DATA. */
void imap_session_set_cont(struct imap_session *s, imap_cont_fn fn, void *ctx,
			   void (*ctx_free)(void *));

/* Processes buffered input from outside a connection event (timers). */
void imap_session_kick(struct imap_session *s);

/* Ends the session after flushing output. */
void imap_session_close(struct imap_session *s);

/* Capability string for the current state (no leading "CAPABILITY"). */
void imap_session_capabilities(struct imap_session *s, struct buf *out);

/* Command handler lookup (imap_cmd_table.c). */
const struct imap_cmd_def *imap_cmd_find(const char *name);

#endif
