/*
 * bridge/cli_passwd.c: `popbridge passwd [--password-file FILE]`: sets the
 * main password (web admin and IMAP). Without the option it prompts twice
 * on the terminal with echo off; without a terminal it refuses. Setting a
 * password ends the one-time setup token of a fresh store.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "../common/limits.h"
#include "../common/xalloc.h"
#include "../db/store.h"
#include "cli.h"

#define PASSWD_USAGE "passwd [--password-file FILE]"

static volatile sig_atomic_t passwd_interrupted;

static void
passwd_on_signal(int sig)
{
	(void)sig;
	passwd_interrupted = 1;
}

/*
 * Reads one line from the terminal with echo off. 0 with *pw_r, -1 on
 * error (printed), -2 when interrupted. The terminal is always restored.
 */
static int
tty_read(const struct cli_ctx *c, const char *prompt, char **pw_r)
{
	char buf[CLI_PASSWORD_MAX + 2];
	struct termios old, noecho;
	struct sigaction sa, old_int, old_term;
	size_t len = 0;
	int rc = -1, over = 0;

	*pw_r = NULL;
	if (tcgetattr(STDIN_FILENO, &old) < 0) {
		cli_error(c, "cannot read the terminal: %s", strerror(errno));
		return -1;
	}
	/* No SA_RESTART: read() returns EINTR so the echo comes back. */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = passwd_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	noecho = old;
	noecho.c_lflag &= ~(tcflag_t)ECHO;
	noecho.c_lflag |= ECHONL;
	fputs(prompt, stderr);
	fflush(stderr);
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &noecho) < 0) {
		cli_error(c, "cannot turn off the echo: %s", strerror(errno));
		goto restore_sig;
	}
	for (;;) {
		char ch;
		ssize_t r;

		if (passwd_interrupted) {
			rc = -2;
			goto restore;
		}
		r = read(STDIN_FILENO, &ch, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			cli_error(c, "cannot read the terminal: %s",
			          strerror(errno));
			goto restore;
		}
		if (r == 0 || ch == '\n')
			break;
		if (len < sizeof buf)
			buf[len++] = ch;
		else
			over = 1;
	}
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	if (over || len > CLI_PASSWORD_MAX)
		cli_error(c, "password longer than %d bytes", CLI_PASSWORD_MAX);
	else if (len == 0)
		cli_error(c, "empty password refused");
	else if (memchr(buf, '\0', len) != NULL)
		cli_error(c, "the password contains a NUL byte");
	else {
		*pw_r = xmemdup0(buf, len);
		rc = 0;
	}
restore:
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
restore_sig:
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	OPENSSL_cleanse(buf, sizeof buf);
	if (rc == -2)
		fputc('\n', stderr);
	return rc;
}

static int
prompt_password(const struct cli_ctx *c, char **pw_r)
{
	char *a = NULL, *b = NULL;
	int r;

	*pw_r = NULL;
	r = tty_read(c, "New password: ", &a);
	if (r < 0)
		return r == -2 ? CLI_EXIT_INTERRUPTED : CLI_EXIT_FAIL;
	r = tty_read(c, "Repeat it: ", &b);
	if (r < 0) {
		cli_password_free(&a);
		return r == -2 ? CLI_EXIT_INTERRUPTED : CLI_EXIT_FAIL;
	}
	if (strcmp(a, b) != 0) {
		cli_password_free(&a);
		cli_password_free(&b);
		cli_error(c, "the two passwords differ; nothing changed");
		return CLI_EXIT_FAIL;
	}
	cli_password_free(&b);
	*pw_r = a;
	return 0;
}

int
cli_passwd(struct cli_ctx *c, int argc, char **argv)
{
	struct cli_opt opts[] = {
	        {"--password-file", 1, NULL},
	        {NULL, 0, NULL},
	};
	char *pw = NULL, *user = NULL;
	int npos, rc;

	if (cli_parse(c, argc, argv, 1, opts, NULL, 0, 0, &npos, PASSWD_USAGE) <
	    0)
		return CLI_EXIT_USAGE;
	if (opts[0].value == NULL && !isatty(STDIN_FILENO))
		return cli_usage_error(c, PASSWD_USAGE,
		                       "standard input is not a terminal: give "
		                       "--password-file FILE (- reads standard "
		                       "input)");
	if (cli_store_open(c, 0) < 0)
		return CLI_EXIT_FAIL;
	rc = store_user_get(c->st, &user);
	if (rc < 0 || user == NULL) {
		free(user);
		if (rc == -STORE_ERR_NOTFOUND || rc == 0) {
			cli_error(c,
			          "the store has no user yet (run 'popbridge "
			          "init --user NAME')");
			return CLI_EXIT_FAIL;
		}
		return cli_store_error(c, rc, "reading the user");
	}
	if (opts[0].value != NULL) {
		if (cli_read_password_file(c, opts[0].value, &pw) < 0) {
			free(user);
			return CLI_EXIT_FAIL;
		}
	} else {
		rc = prompt_password(c, &pw);
		if (rc != 0) {
			free(user);
			return rc;
		}
	}
	rc = store_password_set(c->st, pw);
	cli_password_free(&pw);
	if (rc < 0) {
		free(user);
		return cli_store_error(c, rc, "setting the password");
	}
	rc = store_setting_del(c->st, "setup_token");
	if (rc < 0 && rc != -STORE_ERR_NOTFOUND) {
		free(user);
		return cli_store_error(c, rc, "removing the setup token");
	}
	printf("password set for user %s\n", user);
	free(user);
	return CLI_EXIT_OK;
}
