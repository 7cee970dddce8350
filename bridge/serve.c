/*
 * bridge/serve.c: `popbridge serve`: opens the store, loads TLS, binds the
 * IMAP listeners (plain with STARTTLS, and implicit TLS), and runs the one
 * event loop: accepting connections (up to MAX_CONNECTIONS), signals through
 * a signalfd (TERM/INT stop, HUP reloads the TLS certificate), the
 * data_version check for other processes' commits (notify.c), the hourly
 * Trash/Junk retention, the POP3 poller (poller.c), whose new mail
 * wakes IDLE sessions within POLL_NOTIFY_DELAY_MS of its commit, and the
 * web admin (web/web.h: libmicrohttpd's epoll fd in this loop).
 */
#include "serve.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "../common/limits.h"
#include "../common/log.h"
#include "../common/xalloc.h"
#include "../db/secret.h"
#include "../db/store.h"
#include "../common/auth_throttle.h"
#include "config.h"
#include "ev.h"
#include "imap_server.h"
#include "imap_session.h"
#include "net.h"
#include "poller.h"
#include "retention.h"
#include "tls.h"
#include "../web/web.h"

#define MAX_LISTENERS 16
#define RETENTION_INTERVAL_MS (60ull * 60 * 1000)
/* New mail from the poller reaches IDLE sessions after at most this many
 * ms: a poll storing many messages wakes them once per batch, not once
 * per message. */
#define POLL_NOTIFY_DELAY_MS 20
#define POLL_NOTIFY_FOLDERS 16

struct listener {
	int fd;
	int tls;
};

struct serve {
	struct imap_server srv;
	struct listener l[MAX_LISTENERS];
	size_t nl;
	int sigfd;
	uint64_t retention_timer;
	const struct pb_config *cfg;
	struct poller *poller;
	struct web *web;
	int64_t notify_folders[POLL_NOTIFY_FOLDERS];
	size_t nnotify;
	uint64_t notify_timer;
};

static void
accept_cb(int fd, unsigned events, void *arg)
{
	struct serve *sv = arg;
	size_t i;
	int tls = 0;

	(void)events;
	for (i = 0; i < sv->nl; i++)
		if (sv->l[i].fd == fd)
			tls = sv->l[i].tls;
	for (;;) {
		char addr[128];
		int loop = 0;
		int cfd = net_accept(fd, addr, sizeof addr, &loop);
		if (cfd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				log_warn("accept");
			return;
		}
		if (sv->srv.nsessions >= MAX_CONNECTIONS) {
			static const char bye[] =
				"* BYE Too many connections, try later\r\n";
			ssize_t w = write(cfd, bye, sizeof bye - 1);
			(void)w;
			close(cfd);
			log_warnx("imap refused peer=%s reason=max_connections",
				  addr);
			continue;
		}
		if (tls && sv->srv.tls == NULL) {
			close(cfd);
			continue;
		}
		imap_session_new(&sv->srv, cfd, addr, loop, tls);
	}
}

static void
reload_tls(struct serve *sv)
{
	const char *err = NULL;
	SSL_CTX *ctx = tls_server_ctx_new(sv->cfg->tls_cert, sv->cfg->tls_key,
					  &err);
	if (ctx == NULL) {
		log_warnx("tls reload failed, keeping the old certificate: %s",
			  err ? err : "?");
		return;
	}
	tls_ctx_free(&sv->srv.tls);
	sv->srv.tls = ctx;
	log_info("tls certificate reloaded cert=%s", sv->cfg->tls_cert);
}

static void
signal_cb(int fd, unsigned events, void *arg)
{
	struct serve *sv = arg;
	struct signalfd_siginfo si;

	(void)events;
	while (read(fd, &si, sizeof si) == (ssize_t)sizeof si) {
		switch (si.ssi_signo) {
		case SIGHUP:
			reload_tls(sv);
			break;
		case SIGTERM:
		case SIGINT:
			log_info("stopping on signal %u", si.ssi_signo);
			ev_stop(sv->srv.loop);
			break;
		default:
			break;
		}
	}
}

static void
retention_cb(void *arg)
{
	struct serve *sv = arg;
	size_t n = 0;

	sv->retention_timer = ev_timer_add(sv->srv.loop, RETENTION_INTERVAL_MS,
					   retention_cb, sv);
	if (retention_run(sv->srv.st, (int64_t)time(NULL), &n) == 0 && n) {
		struct imap_session *s, *next;
		log_info("retention expunged=%zu", n);
		for (s = sv->srv.sessions; s; s = next) {
			next = s->next;
			if (s->view)
				imap_session_folder_changed(s,
							    s->view->folder_id);
		}
	}
}

static void
poll_notify_cb(void *arg)
{
	struct serve *sv = arg;
	size_t i;

	sv->notify_timer = 0;
	for (i = 0; i < sv->nnotify; i++)
		notify_folder_changed(&sv->srv, NULL, sv->notify_folders[i]);
	sv->nnotify = 0;
}

/* The poller committed a message into folder_id. */
static void
poll_stored_cb(int64_t folder_id, void *arg)
{
	struct serve *sv = arg;
	size_t i;

	for (i = 0; i < sv->nnotify; i++)
		if (sv->notify_folders[i] == folder_id)
			break;
	if (i == sv->nnotify) {
		if (sv->nnotify == POLL_NOTIFY_FOLDERS)
			poll_notify_cb(sv);
		sv->notify_folders[sv->nnotify++] = folder_id;
	}
	if (sv->notify_timer == 0)
		sv->notify_timer = ev_timer_add(sv->srv.loop,
						POLL_NOTIFY_DELAY_MS,
						poll_notify_cb, sv);
}

/* Starts the POP3 poller with the data directory's secret.key. */
static int
start_poller(struct serve *sv)
{
	unsigned char key[SECRET_KEY_LEN];
	const char *err = NULL;
	char *path = xasprintf("%s/secret.key", sv->cfg->data_dir);

	if (secret_key_create(path, &err) < 0 ||
	    secret_key_load(path, key, &err) < 0) {
		log_error("%s", err ? err : "cannot load secret.key");
		free(path);
		return -1;
	}
	free(path);
	sv->poller = poller_new(sv->srv.loop, sv->srv.st, key,
				sv->cfg->max_message_size);
	OPENSSL_cleanse(key, sizeof key);
	poller_set_stored_cb(sv->poller, poll_stored_cb, sv);
	poller_schedule_start(sv->poller);
	return 0;
}

static void
web_fd_cb(int fd, unsigned events, void *arg)
{
	struct serve *sv = arg;

	(void)fd;
	(void)events;
	web_run(sv->web);
}

/* Each loop round: libmicrohttpd's timers, and a cap on the sleep. */
static void
web_before_sleep(void *arg)
{
	struct serve *sv = arg;
	int64_t t;

	web_run(sv->web);
	t = web_timeout_ms(sv->web);
	if (t >= 0)
		ev_cap_sleep(sv->srv.loop, (uint64_t)t);
}

static int
web_poll_now_hook(const char *account, void *arg)
{
	struct serve *sv = arg;

	return poller_poll_now(sv->poller, account, 0, NULL, NULL) < 0 ? -1
									: 0;
}

static unsigned
web_imap_sessions_hook(void *arg)
{
	struct serve *sv = arg;

	return (unsigned)sv->srv.nsessions;
}

/* The web admin on [web] listen (its first address), in this loop. */
static int
start_web(struct serve *sv)
{
	int fds[MAX_LISTENERS];
	const char *err = NULL;
	struct web_config wc;
	struct web_hooks hooks;
	int n, i;

	if (sv->cfg->web_listen == NULL || sv->cfg->web_listen[0] == '\0')
		return 0;
	n = net_listen(sv->cfg->web_listen, fds, MAX_LISTENERS, &err);
	if (n <= 0) {
		log_error("web: %s", err ? err : "cannot listen");
		return -1;
	}
	for (i = 1; i < n; i++) {
		log_warnx("web: libmicrohttpd takes one socket: only the first "
			  "address of %s is served", sv->cfg->web_listen);
		close(fds[i]);
	}
	memset(&wc, 0, sizeof wc);
	wc.listen_fd = fds[0];
	wc.tls = sv->cfg->web_tls;
	wc.cert_path = sv->cfg->tls_cert;
	wc.key_path = sv->cfg->tls_key;
	wc.data_dir = sv->cfg->data_dir;
	wc.imap_listen = sv->cfg->imap_listen;
	wc.imap_listen_tls = sv->cfg->imap_listen_tls;
	memset(&hooks, 0, sizeof hooks);
	hooks.poll_now = web_poll_now_hook;
	hooks.imap_sessions = web_imap_sessions_hook;
	hooks.arg = sv;
	sv->web = web_new(&wc, sv->srv.st, &hooks, &err);
	if (sv->web == NULL) {
		log_error("%s", err ? err : "web: cannot start");
		return -1;
	}
	if (ev_fd_set(sv->srv.loop, web_epoll_fd(sv->web), EV_READ,
		      web_fd_cb, sv) < 0) {
		log_error("web: cannot watch its sockets");
		return -1;
	}
	ev_set_before_sleep(sv->srv.loop, web_before_sleep, sv);
	log_info("web admin listening on %s%s", sv->cfg->web_listen,
		 sv->cfg->web_tls ? " (TLS)" : "");
	return 0;
}

static int
add_listeners(struct serve *sv, const char *spec, int tls)
{
	int fds[MAX_LISTENERS];
	const char *err = NULL;
	int n, i;

	if (spec == NULL || *spec == '\0')
		return 0;
	n = net_listen(spec, fds, MAX_LISTENERS - sv->nl, &err);
	if (n < 0) {
		log_error("%s", err ? err : "cannot listen");
		return -1;
	}
	for (i = 0; i < n; i++) {
		sv->l[sv->nl].fd = fds[i];
		sv->l[sv->nl].tls = tls;
		sv->nl++;
		ev_fd_set(sv->srv.loop, fds[i], EV_READ, accept_cb, sv);
	}
	log_info("imap listening on %s%s", spec, tls ? " (TLS)" : "");
	return 0;
}

static void
log_setup_hint(struct serve *sv)
{
	char *token = NULL;

	if (store_password_is_set(sv->srv.st))
		return;
	store_setting_get(sv->srv.st, "setup_token", &token);
	if (token != NULL && sv->web != NULL)
		log_warnx("no password is set yet: open %s://%s/setup?token=%s "
			  "(this machine's address in place of the listen "
			  "address when it is 0.0.0.0), or run `popbridge "
			  "passwd --data %s`",
			  sv->cfg->web_tls ? "https" : "http",
			  sv->cfg->web_listen, token, sv->cfg->data_dir);
	else
		log_warnx("no password is set yet: run `popbridge passwd "
			  "--data %s` to set it%s%s",
			  sv->cfg->data_dir, token ? "; setup token: " : "",
			  token ? token : "");
	free(token);
}

int
serve_run(const struct pb_config *cfg)
{
	struct serve sv;
	const char *err = NULL;
	char *dbpath;
	sigset_t mask;
	size_t i;
	int rc = 1;

	memset(&sv, 0, sizeof sv);
	sv.cfg = cfg;
	sv.sigfd = -1;
	signal(SIGPIPE, SIG_IGN);
	dbpath = xasprintf("%s/popbridge.db", cfg->data_dir);
	if (access(dbpath, F_OK) != 0) {
		log_error("no store at %s: run `popbridge init --data %s "
			  "--user NAME` first",
			  dbpath, cfg->data_dir);
		free(dbpath);
		return 1;
	}
	if (store_open(dbpath, 0, &sv.srv.st, &err) < 0) {
		log_error("cannot open store %s: %s", dbpath, err ? err : "?");
		free(dbpath);
		return 1;
	}
	free(dbpath);
	sv.srv.cfg = cfg;
	sv.srv.loop = ev_loop_new();
	sv.srv.throttle = auth_throttle_new();
	sv.srv.spool_dir = xasprintf("%s/tmp", cfg->data_dir);
	if (mkdir(sv.srv.spool_dir, 0700) < 0 && errno != EEXIST) {
		log_error("cannot create %s: %s", sv.srv.spool_dir,
			  strerror(errno));
		goto out;
	}
	sv.srv.tls = tls_server_ctx_new(cfg->tls_cert, cfg->tls_key, &err);
	if (sv.srv.tls == NULL) {
		if (cfg->imap_listen_tls && *cfg->imap_listen_tls) {
			log_error("cannot load TLS certificate %s: %s",
				  cfg->tls_cert, err ? err : "?");
			goto out;
		}
		log_warnx("no TLS (%s): STARTTLS is not offered",
			  err ? err : "?");
	}
	if (add_listeners(&sv, cfg->imap_listen, 0) < 0 ||
	    add_listeners(&sv, cfg->imap_listen_tls, 1) < 0)
		goto out;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sv.sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sv.sigfd < 0) {
		log_error("signalfd: %s", strerror(errno));
		goto out;
	}
	ev_fd_set(sv.srv.loop, sv.sigfd, EV_READ, signal_cb, &sv);
	notify_start(&sv.srv);
	if (start_poller(&sv) < 0 || start_web(&sv) < 0)
		goto out;
	sv.retention_timer = ev_timer_add(sv.srv.loop, 1000, retention_cb, &sv);
	log_setup_hint(&sv);
	log_info("popbridge serving data=%s", cfg->data_dir);
	if (ev_run(sv.srv.loop) < 0)
		log_error("event loop failed: %s", strerror(errno));
	else
		rc = 0;
out:
	if (sv.web != NULL) {
		ev_fd_del(sv.srv.loop, web_epoll_fd(sv.web));
		web_free(&sv.web);
	}
	poller_free(&sv.poller);
	if (sv.notify_timer)
		ev_timer_del(sv.srv.loop, sv.notify_timer);
	while (sv.srv.sessions) {
		struct imap_session *s = sv.srv.sessions;
		imap_session_free(&s);
	}
	for (i = 0; i < sv.nl; i++) {
		ev_fd_del(sv.srv.loop, sv.l[i].fd);
		close(sv.l[i].fd);
	}
	if (sv.sigfd >= 0) {
		ev_fd_del(sv.srv.loop, sv.sigfd);
		close(sv.sigfd);
	}
	if (sv.srv.poll_timer)
		notify_stop(&sv.srv);
	if (sv.retention_timer)
		ev_timer_del(sv.srv.loop, sv.retention_timer);
	tls_ctx_free(&sv.srv.tls);
	auth_throttle_free(&sv.srv.throttle);
	ev_loop_free(&sv.srv.loop);
	store_close(&sv.srv.st);
	free(sv.srv.spool_dir);
	return rc;
}
