/*
 * bridge/imap_server.h: what all IMAP sessions of the daemon share: the
 * loop, the store, TLS, the list of sessions, failed-login throttling, and
 * change notification between sessions (notify.c).
 */
#ifndef PB_IMAP_SERVER_H
#define PB_IMAP_SERVER_H

#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct store;
struct pb_config;
struct imap_session;
struct auth_throttle;
typedef struct ssl_ctx_st SSL_CTX;

struct imap_server {
	struct ev_loop *loop;
	struct store *st;
	const struct pb_config *cfg;
	SSL_CTX *tls; /* NULL: STARTTLS not offered */
	char *spool_dir;
	struct imap_session *sessions;
	size_t nsessions;
	uint64_t next_id;
	struct auth_throttle *throttle;
	uint64_t data_version;
	uint64_t poll_timer;
};

/*
 * Called after this process committed a change to folder_id (origin is the
 * session that made it, or NULL): sessions in IDLE on that folder are told
 * at once; others at their next command.
 */
void notify_folder_changed(struct imap_server *srv,
			   struct imap_session *origin, int64_t folder_id);
/* Starts the ~250 ms PRAGMA data_version check for other processes. */
void notify_start(struct imap_server *srv);
void notify_stop(struct imap_server *srv);

#endif
