/*
 * bridge/poller.h: the POP3 poller. Runs in the one event loop (the
 * daemon's, or a small one of its own for `popbridge poll` and `account
 * test`): schedules each account on its interval with jitter, backs off
 * after failures, takes the account's lease in the store so that two
 * pollers never poll one account at once, drives a pop3_client session per
 * poll, and writes what happened to the account's status.
 *
 * Exactly once: a message is stored with its UIDL in one transaction
 * (store_pop3_deliver, synced to disk) before any DELE of it is sent, and a
 * message whose UIDL the account already knows is never fetched again.
 */
#ifndef PB_POLLER_H
#define PB_POLLER_H

#include <stdint.h>

#include "../db/secret.h"

struct ev_loop;
struct store;
struct poller;

/* What one poll (or test) of one account did; valid during the callback. */
struct poller_report {
	const char *account;
	int ok;		      /* 1: the poll ran to its end */
	int busy;	      /* another poller held the lease: nothing done */
	const char *error;    /* one sentence when !ok, else NULL */
	uint32_t fetched;     /* stored by this poll */
	uint64_t fetched_bytes;
	uint32_t deleted;     /* removed from the server by this poll */
	uint32_t skipped;     /* newly found over the size limit */
	uint32_t on_server;   /* messages in the maildrop when listed */
	uint64_t server_bytes; /* their total size */
	uint32_t new_on_server; /* of those, not yet stored (test mode) */
	const char *tls_info; /* "TLSv1.3 TLS_AES_256_GCM_SHA384", NULL: plain */
	const char *auth;     /* "SASL PLAIN", "APOP", "USER/PASS" */
};
typedef void (*poller_report_cb)(const struct poller_report *r, void *arg);
/* Called after a message was committed to folder_id (IDLE push). */
typedef void (*poller_stored_cb)(int64_t folder_id, void *arg);

/*
 * A poller over st (which it does not own) for the loop. key opens the
 * accounts' sealed passwords; max_message_size is [poller]
 * max_message_size. Never fails (allocation failure is fatal).
 */
struct poller *poller_new(struct ev_loop *loop, struct store *st,
			  const unsigned char key[SECRET_KEY_LEN],
			  uint64_t max_message_size);
/*
 * Stops every poll in flight (what was committed stays; nothing is half
 * stored), releases leases, frees. Sets *p to NULL.
 */
void poller_free(struct poller **p);

void poller_set_stored_cb(struct poller *p, poller_stored_cb cb, void *arg);
/* Every finished poll (scheduled or asked for) is also reported here. */
void poller_set_report_cb(struct poller *p, poller_report_cb cb, void *arg);

/*
 * Daemon mode: polls each account when it is due (its next_due in the
 * store, else now) and re-reads the account list every few seconds, so
 * accounts added, changed or removed by other processes are followed.
 */
void poller_schedule_start(struct poller *p);

/*
 * Polls now: the account named name, or every account when name is NULL
 * ("poll now" of the CLI and the web admin). With test_only the session
 * logs in and lists the maildrop, and fetches, stores and deletes
 * nothing (`account test`). cb (may be NULL) is called once per account
 * when its poll ends. Returns the number of polls started (an account
 * already being polled by this poller reports busy), or -1 when name is
 * unknown.
 */
int poller_poll_now(struct poller *p, const char *name, int test_only,
		    poller_report_cb cb, void *arg);
/* Number of polls in flight. */
unsigned poller_running(const struct poller *p);

#endif
