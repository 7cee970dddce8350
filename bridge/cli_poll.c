/*
 * bridge/cli_poll.c: `popbridge poll [NAME]` (PRODUCT.md "Commands", the
 * poller's CLI surface): one poll now of one account or of every account,
 * one line per account as its poll ends, exit 1 when any failed.
 *
 * Also owns cli_poll_run (cli.h), the small event loop of its own that the
 * CLI runs the poller in, for `poll` and for `account test`: the key from
 * <data>/secret.key, SIGINT/SIGTERM through a signalfd in that loop (the
 * poller is freed, which stops the polls in flight cleanly: what was
 * stored stays), and the loop ends when no poll is in flight any more.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "../common/log.h"
#include "../db/secret.h"
#include "../db/store.h"
#include "cli.h"
#include "ev.h"
#include "poller.h"

/* SQLite page cache of a poll process (KiB). */
#define CLI_POLL_CACHE_KIB 2048

#define POLL_USAGE "poll [NAME]"

struct poll_run {
	struct ev_loop *loop;
	struct poller *p;
	cli_poll_report_fn cb;
	void *arg;
	int interrupted;
};

/* What `poll` counts while the reports come in. */
struct poll_out {
	const struct cli_ctx *c;
	unsigned reported;
	unsigned failed;
};

static void
run_report_cb(const struct poller_report *r, void *arg)
{
	struct poll_run *pr = arg;

	/* Polls that poller_free stops on a signal are not reported. */
	if (pr->interrupted)
		return;
	pr->cb(r, pr->arg);
	fflush(stdout);
}

/*
 * Before each sleep: once no poll is in flight the run is over. Checked
 * here rather than in the report callback, so the poller has finished
 * its own bookkeeping of the poll that just reported.
 */
static void
run_before_sleep(void *arg)
{
	struct poll_run *pr = arg;

	if (pr->p == NULL || poller_running(pr->p) == 0)
		ev_stop(pr->loop);
}

static void
run_signal_cb(int fd, unsigned events, void *arg)
{
	struct poll_run *pr = arg;
	struct signalfd_siginfo si;

	(void)events;
	while (read(fd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM)
			pr->interrupted = 1;
	}
	if (pr->interrupted) {
		if (pr->p != NULL)
			poller_free(&pr->p);
		ev_stop(pr->loop);
	}
}

/* The CLI prints each poll's outcome itself: the poller's own log lines
 * would repeat it, unless the config asks for debug traces. */
static void
quiet_logs(const struct cli_ctx *c)
{
	if (c->cfg.log_level >= LOG_LVL_DEBUG)
		log_set_level(LOG_LVL_DEBUG);
	else
		log_set_level(LOG_LVL_ERROR);
}

int
cli_poll_run(struct cli_ctx *c, const char *name, int test_only,
             cli_poll_report_fn cb, void *arg)
{
	unsigned char key[SECRET_KEY_LEN];
	struct signalfd_siginfo si;
	struct poll_run pr;
	sigset_t mask, old_mask;
	int sigfd, n, rc = CLI_EXIT_FAIL;

	if (cli_secret_key_load(c, key) < 0)
		return CLI_EXIT_FAIL;
	quiet_logs(c);

	memset(&pr, 0, sizeof pr);
	pr.cb = cb;
	pr.arg = arg;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, &old_mask);
	sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sigfd < 0) {
		cli_error(c, "signalfd: %s", strerror(errno));
		goto out_mask;
	}
	pr.loop = ev_loop_new();
	if (pr.loop == NULL) {
		cli_error(c, "cannot make an event loop: %s", strerror(errno));
		goto out_sigfd;
	}
	if (ev_fd_set(pr.loop, sigfd, EV_READ, run_signal_cb, &pr) < 0) {
		cli_error(c, "cannot watch for signals: %s", strerror(errno));
		goto out_loop;
	}
	/* This process writes new messages and reads little: a small page
	 * cache keeps its memory flat however much mail comes in. */
	(void)store_set_cache_kib(c->st, CLI_POLL_CACHE_KIB);
	pr.p = poller_new(pr.loop, c->st, key, c->cfg.max_message_size);
	n = poller_poll_now(pr.p, name, test_only, run_report_cb, &pr);
	if (n < 0) {
		cli_error(c, "no account named %s", name ? name : "(none)");
		goto out_poller;
	}
	ev_set_before_sleep(pr.loop, run_before_sleep, &pr);
	if (ev_run(pr.loop) < 0) {
		cli_error(c, "the event loop failed: %s", strerror(errno));
		goto out_poller;
	}
	if (pr.interrupted) {
		cli_error(c, "%s",
		          test_only ? "interrupted"
		                    : "interrupted; what was stored "
		                      "stays");
		rc = CLI_EXIT_INTERRUPTED;
	} else {
		rc = CLI_EXIT_OK;
	}
out_poller:
	if (pr.p != NULL)
		poller_free(&pr.p);
	ev_fd_del(pr.loop, sigfd);
out_loop:
	ev_loop_free(&pr.loop);
out_sigfd:
	/* A signal that came during the cleanup must not kill us now. */
	while (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si)
		;
	close(sigfd);
out_mask:
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	OPENSSL_cleanse(key, sizeof key);
	return rc;
}

static void
poll_report(const struct poller_report *r, void *arg)
{
	struct poll_out *po = arg;
	char sz[32];

	po->reported++;
	if (r->busy) {
		printf("%s: another poll of this account is running; nothing "
		       "done\n",
		       r->account);
		return;
	}
	if (!r->ok) {
		po->failed++;
		cli_error(po->c, "%s: %s", r->account,
		          r->error ? r->error : "the poll failed");
		return;
	}
	printf("%s: fetched %u (%s), deleted %u, skipped %u too big; %u on "
	       "the server\n",
	       r->account, r->fetched,
	       cli_fmt_size(r->fetched_bytes, sz, sizeof sz), r->deleted,
	       r->skipped, r->on_server);
}

int
cli_poll(struct cli_ctx *c, int argc, char **argv)
{
	struct poll_out po;
	const char *pos[1], *name;
	int npos, rc;

	if (cli_parse(c, argc, argv, 1, NULL, pos, 1, 0, &npos, POLL_USAGE) < 0)
		return CLI_EXIT_USAGE;
	name = npos == 1 ? pos[0] : NULL;
	if (cli_store_open(c, 0) < 0)
		return CLI_EXIT_FAIL;
	if (name != NULL) {
		struct store_acct a;

		rc = store_acct_get(c->st, name, &a);
		if (rc == -STORE_ERR_NOTFOUND || rc == -STORE_ERR_INVALID) {
			cli_error(c, "no account named %s", name);
			return CLI_EXIT_FAIL;
		}
		if (rc < 0)
			return cli_store_error(c, rc, "reading the account");
		store_acct_clear(&a);
	} else {
		struct store_acct *list = NULL;
		size_t n = 0;

		rc = store_acct_list(c->st, &list, &n);
		if (rc < 0)
			return cli_store_error(c, rc, "listing the accounts");
		store_acct_list_free(list, n);
		if (n == 0) {
			puts("no accounts; add one with: popbridge account "
			     "add");
			return CLI_EXIT_OK;
		}
	}
	memset(&po, 0, sizeof po);
	po.c = c;
	rc = cli_poll_run(c, name, 0, poll_report, &po);
	if (rc != CLI_EXIT_OK)
		return rc;
	return po.failed > 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}
