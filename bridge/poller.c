/*
 * bridge/poller.c: the POP3 poller (poller.h): scheduling, the per-account
 * lease, what to fetch and delete, and the account's status.
 *
 * One poll of one account:
 *   1. take the account's lease in the store (or report busy); a lease
 *      held by a process that no longer exists is taken over;
 *   2. open the sealed password (secret.key), make the TLS context, find
 *      or create the target folder, load the UIDLs the account knows;
 *   3. run a pop3_client session; at its listing, forget UIDLs gone from
 *      the server, skip (and remember) messages over the size limit, and
 *      choose per message: fetch (new), fetch then delete (new, retention
 *      delete), delete (stored before, retention delete or kept long
 *      enough for keep-days), or leave it;
 *   4. store each fetched message with its UIDL in one transaction
 *      (store_pop3_deliver, synchronous=FULL) before its DELE is sent;
 *   5. write the status: on success the next poll is an interval away
 *      with up to POLL_JITTER_PCT of jitter; on failure it backs off
 *      exponentially up to POLL_BACKOFF_MAX_SECS, and a refused login
 *      waits at least POLL_AUTH_RETRY_SECS (servers lock accounts that
 *      are hammered with a wrong password); a server's CAPA LOGIN-DELAY
 *      (RFC 2449) is a lower bound too.
 *
 * Scheduling (daemon): a rescan every POLLER_RESCAN_MS reads the account
 * list and starts the polls that are due, so accounts and next_due changed
 * by other processes (`popbridge account`, `popbridge poll`) are followed.
 *
 * The test knob POPBRIDGE_POP3_TIMEOUT (seconds, 1..POP3_READ_TIMEOUT_SECS)
 * shortens the connect and read timeouts so tests of a hanging server do
 * not wait two minutes.
 */
#include "poller.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "../common/limits.h"
#include "../common/log.h"
#include "../common/str.h"
#include "../common/xalloc.h"
#include "../db/secret.h"
#include "../db/store.h"
#include "ev.h"
#include "pop3_client.h"
#include "tls.h"
#include "tls_client.h"

/* How often the daemon re-reads the account list. */
#define POLLER_RESCAN_MS 5000
/* The lease is renewed when less than this much of it is left. */
#define POLLER_LEASE_RENEW_SECS (POLL_LEASE_SECS / 2)

/* A UIDL the account knows: an open-addressing hash set entry. */
struct known_slot {
	const struct store_pop3_uidl *u; /* NULL: empty */
};

struct known_set {
	struct store_pop3_uidl *list;
	size_t n;
	struct known_slot *slots;
	size_t nslots; /* a power of two, > 2n */
};

struct poll_run {
	struct poller *p;
	struct store_acct acct;
	int test_only;
	poller_report_cb cb;
	void *cb_arg;
	struct pop3_client *client;
	SSL_CTX *tls_ctx;
	int64_t folder_id;
	struct known_set known;
	int64_t lease_until;
	int have_lease;
	int64_t started;
	int64_t login_delay; /* the server's CAPA LOGIN-DELAY, -1 none */
	/* counts for the report */
	uint32_t fetched, skipped, new_on_server, on_server;
	uint64_t fetched_bytes, server_bytes;
	struct poll_run *next;
};

struct poller {
	struct ev_loop *loop;
	struct store *st;
	unsigned char key[SECRET_KEY_LEN];
	uint64_t max_size;
	unsigned timeout_secs;
	char owner[64];
	poller_stored_cb stored_cb;
	void *stored_arg;
	poller_report_cb report_cb;
	void *report_arg;
	uint64_t rescan_timer;
	struct poll_run *runs;
	unsigned nruns;
	/* reports delivered from a 0 ms timer (never from within a call) */
	struct pending_report *pending;
	uint64_t pending_timer;
};

/* A report to deliver later (busy or a failure before any I/O). */
struct pending_report {
	char *account;
	char *error;
	int busy;
	poller_report_cb cb;
	void *cb_arg;
	struct pending_report *next;
};

static void poller_rescan_cb(void *arg);
static int poller_start(struct poller *p, const struct store_acct *a,
			int test_only, poller_report_cb cb, void *cb_arg);
static void run_end(struct poll_run *r, int ok, const char *error,
		    int auth_failed, int temp_only, uint32_t deleted,
		    const char *tls_info, const char *auth);

static int64_t
poller_now(void)
{
	return (int64_t)time(NULL);
}

/* ---- the known-UIDL set ---- */

static uint64_t
known_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

static void
known_build(struct known_set *k)
{
	size_t i;

	k->nslots = 16;
	while (k->nslots < 2 * k->n + 1)
		k->nslots *= 2;
	k->slots = xcalloc(k->nslots, sizeof *k->slots);
	for (i = 0; i < k->n; i++) {
		size_t j = (size_t)known_hash(k->list[i].uidl) & (k->nslots - 1);

		while (k->slots[j].u != NULL)
			j = (j + 1) & (k->nslots - 1);
		k->slots[j].u = &k->list[i];
	}
}

static const struct store_pop3_uidl *
known_find(const struct known_set *k, const char *uidl)
{
	size_t j;

	if (k->nslots == 0)
		return NULL;
	j = (size_t)known_hash(uidl) & (k->nslots - 1);
	while (k->slots[j].u != NULL) {
		if (strcmp(k->slots[j].u->uidl, uidl) == 0)
			return k->slots[j].u;
		j = (j + 1) & (k->nslots - 1);
	}
	return NULL;
}

static void
known_free(struct known_set *k)
{
	store_pop3_known_free(k->list, k->n);
	free(k->slots);
	memset(k, 0, sizeof *k);
}

/* ---- poller ---- */

struct poller *
poller_new(struct ev_loop *loop, struct store *st,
	   const unsigned char key[SECRET_KEY_LEN], uint64_t max_message_size)
{
	struct poller *p = xcalloc(1, sizeof *p);
	unsigned char rnd[4] = {0, 0, 0, 0};
	const char *env;
	uint64_t t;

	p->loop = loop;
	p->st = st;
	memcpy(p->key, key, SECRET_KEY_LEN);
	p->max_size = max_message_size ? max_message_size
	                               : (uint64_t)POP3_MAX_MESSAGE_DEFAULT;
	p->timeout_secs = POP3_READ_TIMEOUT_SECS;
	env = getenv("POPBRIDGE_POP3_TIMEOUT");
	if (env != NULL && str_cstr_to_u64(env, POP3_READ_TIMEOUT_SECS, &t) == 0 &&
	    t >= 1)
		p->timeout_secs = (unsigned)t;
	(void)RAND_bytes(rnd, sizeof rnd);
	snprintf(p->owner, sizeof p->owner, "pid:%ld:%02x%02x%02x%02x",
	         (long)getpid(), rnd[0], rnd[1], rnd[2], rnd[3]);
	return p;
}

void
poller_set_stored_cb(struct poller *p, poller_stored_cb cb, void *arg)
{
	p->stored_cb = cb;
	p->stored_arg = arg;
}

void
poller_set_report_cb(struct poller *p, poller_report_cb cb, void *arg)
{
	p->report_cb = cb;
	p->report_arg = arg;
}

unsigned
poller_running(const struct poller *p)
{
	unsigned n = p->nruns;
	const struct pending_report *pr;

	for (pr = p->pending; pr != NULL; pr = pr->next)
		n++;
	return n;
}

static void
run_unlink(struct poll_run *r)
{
	struct poll_run **pp;

	for (pp = &r->p->runs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			r->p->nruns--;
			return;
		}
}

static void
run_free(struct poll_run *r)
{
	pop3_client_free(&r->client);
	tls_ctx_free(&r->tls_ctx);
	known_free(&r->known);
	store_acct_clear(&r->acct);
	free(r);
}

void
poller_free(struct poller **pp)
{
	struct poller *p;

	if (pp == NULL || (p = *pp) == NULL)
		return;
	*pp = NULL;
	ev_timer_del(p->loop, p->rescan_timer);
	ev_timer_del(p->loop, p->pending_timer);
	while (p->runs != NULL) {
		struct poll_run *r = p->runs;

		p->runs = r->next;
		/* No QUIT: the server deletes nothing not yet confirmed;
		 * everything stored so far is committed. */
		if (r->have_lease)
			(void)store_acct_lease_release(p->st, r->acct.id,
			                               p->owner);
		run_free(r);
	}
	while (p->pending != NULL) {
		struct pending_report *pr = p->pending;

		p->pending = pr->next;
		free(pr->account);
		free(pr->error);
		free(pr);
	}
	OPENSSL_cleanse(p->key, sizeof p->key);
	free(p);
}

/* ---- reports ---- */

static void
poller_deliver_report(struct poller *p, poller_report_cb cb, void *cb_arg,
		      const struct poller_report *rep)
{
	if (cb != NULL)
		cb(rep, cb_arg);
	if (p->report_cb != NULL && p->report_cb != cb)
		p->report_cb(rep, p->report_arg);
}

static void
poller_pending_cb(void *arg)
{
	struct poller *p = arg;

	p->pending_timer = 0;
	while (p->pending != NULL) {
		struct pending_report *pr = p->pending;
		struct poller_report rep;

		p->pending = pr->next;
		memset(&rep, 0, sizeof rep);
		rep.account = pr->account;
		rep.busy = pr->busy;
		rep.ok = 0;
		rep.error = pr->error;
		poller_deliver_report(p, pr->cb, pr->cb_arg, &rep);
		free(pr->account);
		free(pr->error);
		free(pr);
	}
}

/* Reports busy or an early failure from the loop, not from the caller. */
static void
poller_report_later(struct poller *p, const char *account, int busy,
		    const char *error, poller_report_cb cb, void *cb_arg)
{
	struct pending_report *pr = xcalloc(1, sizeof *pr), **pp;

	pr->account = xstrdup(account);
	pr->busy = busy;
	pr->error = error ? xstrdup(error) : NULL;
	pr->cb = cb;
	pr->cb_arg = cb_arg;
	for (pp = &p->pending; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = pr;
	if (p->pending_timer == 0)
		p->pending_timer = ev_timer_add(p->loop, 0, poller_pending_cb, p);
}

/* ---- scheduling ---- */

/* Seconds until the next poll after one that ended (ok or not). */
static int64_t
poller_delay(const struct store_acct *a, int ok, uint32_t failures,
	     int auth_failed)
{
	int64_t d = a->interval, jitter;
	unsigned char rnd[2] = {0, 0};

	if (!ok) {
		/* interval, 2x, 4x ... up to the cap; an interval above the
		 * cap stays as it is. */
		unsigned shift = failures > 1 ? failures - 1 : 0;

		while (shift-- > 0 && d < POLL_BACKOFF_MAX_SECS)
			d *= 2;
		if (d > POLL_BACKOFF_MAX_SECS)
			d = a->interval > POLL_BACKOFF_MAX_SECS
			            ? a->interval
			            : POLL_BACKOFF_MAX_SECS;
		if (auth_failed && d < POLL_AUTH_RETRY_SECS)
			d = POLL_AUTH_RETRY_SECS;
	}
	(void)RAND_bytes(rnd, sizeof rnd);
	jitter = d * POLL_JITTER_PCT / 100;
	if (jitter > 0)
		d += (int64_t)(((unsigned)rnd[0] << 8 | rnd[1]) %
		               (unsigned)(jitter + 1));
	return d;
}

static struct poll_run *
poller_find_run(struct poller *p, int64_t acct_id)
{
	struct poll_run *r;

	for (r = p->runs; r != NULL; r = r->next)
		if (r->acct.id == acct_id)
			return r;
	return NULL;
}

static void
poller_rescan_cb(void *arg)
{
	struct poller *p = arg;
	struct store_acct *list = NULL;
	size_t n = 0, i;
	int64_t now = poller_now();

	p->rescan_timer = 0;
	if (store_acct_list(p->st, &list, &n) < 0) {
		log_warnx("poller: cannot read the accounts: %s",
		          store_last_error(p->st));
	} else {
		for (i = 0; i < n; i++) {
			if (list[i].next_due > now ||
			    poller_find_run(p, list[i].id) != NULL)
				continue;
			(void)poller_start(p, &list[i], 0, NULL, NULL);
		}
		store_acct_list_free(list, n);
	}
	p->rescan_timer =
	        ev_timer_add(p->loop, POLLER_RESCAN_MS, poller_rescan_cb, p);
}

void
poller_schedule_start(struct poller *p)
{
	if (p->rescan_timer == 0)
		p->rescan_timer = ev_timer_add(p->loop, 0, poller_rescan_cb, p);
}

int
poller_poll_now(struct poller *p, const char *name, int test_only,
		poller_report_cb cb, void *arg)
{
	struct store_acct *list = NULL;
	size_t n = 0, i;
	int started = 0;

	if (name != NULL) {
		struct store_acct a;

		memset(&a, 0, sizeof a);
		if (store_acct_get(p->st, name, &a) < 0)
			return -1;
		(void)poller_start(p, &a, test_only, cb, arg);
		store_acct_clear(&a);
		return 1;
	}
	if (store_acct_list(p->st, &list, &n) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		(void)poller_start(p, &list[i], test_only, cb, arg);
		started++;
	}
	store_acct_list_free(list, n);
	return started;
}

/* ---- the lease ---- */

/* 1 when the lease holder "pid:N:..." is a process that is gone. */
static int
poller_holder_dead(const char *holder)
{
	uint64_t pid;
	const char *colon;

	if (holder == NULL || strncmp(holder, "pid:", 4) != 0)
		return 0;
	colon = strchr(holder + 4, ':');
	if (colon == NULL ||
	    str_to_u64(str_make(holder + 4, (size_t)(colon - holder - 4)),
	               0x7fffffff, &pid) < 0 ||
	    pid == 0)
		return 0;
	return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

/* 0 taken, 1 busy, -1 store error. */
static int
poller_take_lease(struct poller *p, struct poll_run *r)
{
	int64_t now = poller_now();
	char *holder = NULL;
	int rc;

	rc = store_acct_lease_take(p->st, r->acct.id, p->owner, now,
	                           now + POLL_LEASE_SECS, NULL, &holder);
	if (rc == -STORE_ERR_BUSY && poller_holder_dead(holder)) {
		log_info("poller: %s: taking over the lease of %s, which "
		         "has gone",
		         r->acct.name, holder);
		rc = store_acct_lease_take(p->st, r->acct.id, p->owner, now,
		                           now + POLL_LEASE_SECS, holder, NULL);
	}
	free(holder);
	if (rc == -STORE_ERR_BUSY)
		return 1;
	if (rc < 0)
		return -1;
	r->have_lease = 1;
	r->lease_until = now + POLL_LEASE_SECS;
	return 0;
}

/* Renews the lease when half of it has gone; -1 when it was lost. */
static int
poller_renew_lease(struct poll_run *r)
{
	int64_t now = poller_now();

	if (!r->have_lease || r->lease_until - now > POLLER_LEASE_RENEW_SECS)
		return 0;
	if (store_acct_lease_take(r->p->st, r->acct.id, r->p->owner, now,
	                          now + POLL_LEASE_SECS, NULL, NULL) < 0)
		return -1;
	r->lease_until = now + POLL_LEASE_SECS;
	return 0;
}

/* ---- the session's hooks ---- */

static int
run_listing_cb(void *arg, struct pop3_msg *msgs, size_t n, int complete)
{
	struct poll_run *r = arg;
	struct poller *p = r->p;
	const char **present = NULL;
	struct known_set seen;
	int64_t now = poller_now();
	size_t i;

	r->on_server = (uint32_t)n;
	for (i = 0; i < n; i++)
		r->server_bytes += msgs[i].size;

	/* A UIDL listed twice would let one message's DELE follow the
	 * other's fetch: only the first of each is handled. */
	memset(&seen, 0, sizeof seen);
	seen.list = xcalloc(n ? n : 1, sizeof *seen.list);
	for (i = 0; i < n; i++)
		seen.list[i].uidl = msgs[i].uidl;
	seen.n = n;
	known_build(&seen);

	if (!r->test_only && complete) {
		size_t forgotten = 0;

		present = xcalloc(n ? n : 1, sizeof *present);
		for (i = 0; i < n; i++)
			present[i] = msgs[i].uidl;
		if (store_pop3_forget_absent(p->st, r->acct.id, present, n,
		                             &forgotten) < 0)
			log_warnx("poller: %s: cannot forget old UIDLs: %s",
			          r->acct.name, store_last_error(p->st));
		else if (forgotten > 0)
			log_debug("poller: %s: forgot %zu UIDLs gone from "
			          "the server",
			          r->acct.name, forgotten);
		free(present);
	}

	for (i = 0; i < n; i++) {
		struct pop3_msg *m = &msgs[i];
		const struct store_pop3_uidl *k;

		m->action = POP3_ACT_NONE;
		if (known_find(&seen, m->uidl) != &seen.list[i]) {
			log_warnx("poller: %s: UIDL %s is listed twice; "
			          "message %u left alone",
			          r->acct.name, m->uidl, m->msgno);
			continue;
		}
		k = known_find(&r->known, m->uidl);
		if (k == NULL) {
			r->new_on_server++;
			if (r->test_only)
				continue;
			if (m->size > p->max_size) {
				if (store_pop3_skip(p->st, r->acct.id, m->uidl,
				                    m->size, now) == 0) {
					r->skipped++;
					log_warnx("poller: %s: message %u is "
					          "%llu bytes, over the limit "
					          "of %llu: skipped",
					          r->acct.name, m->msgno,
					          (unsigned long long)m->size,
					          (unsigned long long)p->max_size);
				}
				continue;
			}
			m->action = r->acct.keep == STORE_ACCT_DELETE
			                    ? POP3_ACT_FETCH_DELE
			                    : POP3_ACT_FETCH;
			continue;
		}
		if (k->state != STORE_POP3_STORED)
			continue; /* skipped for size: never retried */
		if (r->acct.keep == STORE_ACCT_DELETE ||
		    (r->acct.keep == STORE_ACCT_KEEP_DAYS &&
		     now - k->first_fetched >=
		             (int64_t)r->acct.keep_days * 86400))
			m->action = POP3_ACT_DELE;
	}
	free(seen.list);
	free(seen.slots);
	return r->test_only ? -1 : 0;
}

static int
run_message_cb(void *arg, const struct pop3_msg *m, const char *raw,
	       size_t len)
{
	struct poll_run *r = arg;
	struct poller *p = r->p;
	struct store_append a;
	uint32_t uid = 0;
	int rc;

	if (poller_renew_lease(r) < 0) {
		log_warnx("poller: %s: lost the account's lease; stopping",
		          r->acct.name);
		return -1;
	}
	memset(&a, 0, sizeof a);
	a.raw = raw;
	a.len = len;
	rc = store_pop3_deliver(p->st, r->acct.id, r->folder_id, m->uidl,
	                        m->size, poller_now(), &a, &uid);
	if (rc == -STORE_ERR_EXISTS)
		return 0; /* stored by another poller: safe to delete */
	if (rc < 0) {
		log_warnx("poller: %s: cannot store message %u: %s",
		          r->acct.name, m->msgno, store_last_error(p->st));
		return -1;
	}
	r->fetched++;
	r->fetched_bytes += len;
	if (p->stored_cb != NULL)
		p->stored_cb(r->folder_id, p->stored_arg);
	return 0;
}

static void
run_too_big_cb(void *arg, const struct pop3_msg *m)
{
	struct poll_run *r = arg;

	if (store_pop3_skip(r->p->st, r->acct.id, m->uidl, m->size,
	                    poller_now()) == 0)
		r->skipped++;
	log_warnx("poller: %s: message %u was bigger than announced and "
	          "over the limit of %llu bytes: skipped",
	          r->acct.name, m->msgno, (unsigned long long)r->p->max_size);
}

static void
run_done_cb(void *arg, const struct pop3_result *res)
{
	struct poll_run *r = arg;

	r->login_delay = res->login_delay;
	run_end(r, res->ok, res->error, res->fail == POP3_FAIL_AUTH,
	        res->fail == POP3_FAIL_TEMP, res->deleted, res->tls_info,
	        res->auth);
}

/*
 * The end of a poll: status, lease, report; frees r. tls_info and auth
 * belong to the client, which is freed last.
 */
static void
run_end(struct poll_run *r, int ok, const char *error, int auth_failed,
	int temp_only, uint32_t deleted, const char *tls_info,
	const char *auth)
{
	struct poller *p = r->p;
	struct poller_report rep;
	int64_t now = poller_now();

	(void)temp_only;
	if (!r->test_only) {
		struct store_acct cur;
		struct store_acct_status s;

		memset(&cur, 0, sizeof cur);
		if (store_acct_get_by_id(p->st, r->acct.id, &cur) == 0) {
			memset(&s, 0, sizeof s);
			s.last_attempt = r->started;
			s.last_success = ok ? now : 0;
			s.last_error = ok ? NULL : error;
			s.failures = ok ? 0 : cur.failures + 1;
			s.auth_failed = ok ? 0 : auth_failed;
			s.next_due = now + poller_delay(&cur, ok, s.failures,
			                                s.auth_failed);
			/* RFC 2449 LOGIN-DELAY: the server refuses logins
			 * that come sooner. */
			if (r->login_delay > 0 &&
			    s.next_due < now + r->login_delay)
				s.next_due = now + r->login_delay;
			if (store_acct_set_status(p->st, r->acct.id, &s) < 0)
				log_warnx("poller: %s: cannot save status: %s",
				          r->acct.name, store_last_error(p->st));
			if (deleted > 0 &&
			    store_acct_add_deleted(p->st, r->acct.id, deleted) < 0)
				log_warnx("poller: %s: cannot count deletions: "
				          "%s",
				          r->acct.name, store_last_error(p->st));
			store_acct_clear(&cur);
		}
		if (r->have_lease) {
			(void)store_acct_lease_release(p->st, r->acct.id,
			                               p->owner);
			r->have_lease = 0;
		}
		if (ok)
			log_info("poller: %s: fetched %u, deleted %u, skipped %u;"
			         " %u on the server",
			         r->acct.name, r->fetched, deleted, r->skipped,
			         r->on_server);
		else
			log_warnx("poller: %s: %s", r->acct.name, error);
	}
	memset(&rep, 0, sizeof rep);
	rep.account = r->acct.name;
	rep.ok = ok;
	rep.error = ok ? NULL : error;
	rep.fetched = r->fetched;
	rep.fetched_bytes = r->fetched_bytes;
	rep.deleted = deleted;
	rep.skipped = r->skipped;
	rep.on_server = r->on_server;
	rep.server_bytes = r->server_bytes;
	rep.new_on_server = r->new_on_server;
	rep.tls_info = tls_info;
	rep.auth = auth;
	run_unlink(r);
	poller_deliver_report(p, r->cb, r->cb_arg, &rep);
	run_free(r);
	/* A poll that stored much mail filled the page cache with pages the
	 * IMAP side may never read: give them back once no poll runs. */
	if (p->nruns == 0)
		(void)store_release_memory(p->st);
}

/* ---- starting a poll ---- */

static int
poller_start(struct poller *p, const struct store_acct *a, int test_only,
	     poller_report_cb cb, void *cb_arg)
{
	struct poll_run *r;
	struct pop3_client_cfg cfg;
	struct pop3_client_hooks hooks;
	char *password = NULL;
	const char *err = NULL;
	char errbuf[512];
	int rc;

	if (poller_find_run(p, a->id) != NULL) {
		poller_report_later(p, a->name, 1, NULL, cb, cb_arg);
		return 0;
	}
	r = xcalloc(1, sizeof *r);
	r->p = p;
	r->test_only = test_only;
	r->cb = cb;
	r->cb_arg = cb_arg;
	r->started = poller_now();
	r->login_delay = -1;
	if (store_acct_get_by_id(p->st, a->id, &r->acct) < 0) {
		poller_report_later(p, a->name, 0, "the account is gone", cb,
		                    cb_arg);
		free(r);
		return -1;
	}
	if (!test_only) {
		rc = poller_take_lease(p, r);
		if (rc != 0) {
			poller_report_later(p, a->name, rc == 1,
			                    rc == 1 ? NULL
			                            : "cannot take the "
			                              "account's lease",
			                    cb, cb_arg);
			run_free(r);
			return rc == 1 ? 0 : -1;
		}
	}
	/* From here on the run is in the list and ends through run_end. */
	r->next = p->runs;
	p->runs = r;
	p->nruns++;

	if (secret_open(p->key, r->acct.password_sealed, &password, NULL) < 0) {
		run_end(r, 0,
		        "cannot decrypt the stored password (was secret.key "
		        "replaced?); set it again with account add",
		        0, 0, 0, NULL, NULL);
		return -1;
	}
	if (r->acct.tls != STORE_ACCT_TLS_NONE) {
		r->tls_ctx = tls_client_ctx_new(r->acct.ca_file,
		                                r->acct.fingerprint, &err);
		if (r->tls_ctx == NULL) {
			snprintf(errbuf, sizeof errbuf, "%s",
			         err ? err : "cannot set up TLS");
			secret_free(password);
			run_end(r, 0, errbuf, 0, 0, 0, NULL, NULL);
			return -1;
		}
	}
	if (!test_only) {
		rc = store_folder_ensure(p->st, r->acct.folder, &r->folder_id);
		if (rc < 0) {
			snprintf(errbuf, sizeof errbuf,
			         "cannot use folder %s: %s", r->acct.folder,
			         store_last_error(p->st));
			secret_free(password);
			run_end(r, 0, errbuf, 0, 0, 0, NULL, NULL);
			return -1;
		}
	}
	if (store_pop3_known(p->st, r->acct.id, &r->known.list,
	                     &r->known.n) < 0) {
		snprintf(errbuf, sizeof errbuf, "cannot read the known UIDLs: %s",
		         store_last_error(p->st));
		secret_free(password);
		run_end(r, 0, errbuf, 0, 0, 0, NULL, NULL);
		return -1;
	}
	known_build(&r->known);

	memset(&cfg, 0, sizeof cfg);
	cfg.host = r->acct.host;
	cfg.port = r->acct.port;
	cfg.tls = r->acct.tls == STORE_ACCT_TLS_IMPLICIT   ? POP3_TLS_IMPLICIT
	          : r->acct.tls == STORE_ACCT_TLS_STARTTLS ? POP3_TLS_STARTTLS
	                                                   : POP3_TLS_NONE;
	cfg.tls_ctx = r->tls_ctx;
	cfg.user = r->acct.user;
	cfg.password = password;
	cfg.max_size = p->max_size;
	cfg.timeout_secs = p->timeout_secs;
	cfg.list_only = test_only;
	memset(&hooks, 0, sizeof hooks);
	hooks.listing = run_listing_cb;
	hooks.message = run_message_cb;
	hooks.too_big = run_too_big_cb;
	hooks.done = run_done_cb;
	if (!test_only) {
		struct store_acct_status s;

		memset(&s, 0, sizeof s);
		s.last_attempt = r->started;
		s.last_error = r->acct.last_error;
		s.failures = r->acct.failures;
		s.auth_failed = r->acct.auth_failed;
		/* While it runs, a crash must not make it due at once in a
		 * loop: the next try is one backoff step away. */
		s.next_due = r->started + poller_delay(&r->acct, 0,
		                                       r->acct.failures + 1, 0);
		(void)store_acct_set_status(p->st, r->acct.id, &s);
	}
	log_debug("poller: %s: polling %s:%u", r->acct.name, r->acct.host,
	          r->acct.port);
	r->client = pop3_client_new(p->loop, &cfg, &hooks, r);
	secret_free(password);
	return 0;
}
