/*
 * bridge/cli_account.c: `popbridge account add | list | show | remove |
 * test` (PRODUCT.md "Commands", the poller's CLI surface): the POP3
 * accounts the poller fetches from. `add` checks every option before it
 * touches the store, seals the password with the data directory's
 * secret.key (db/secret.h; only the sealed text is stored), makes the
 * target folder when it is missing, and does not connect; `test` logs in
 * and lists the maildrop through the poller (cli_poll_run), fetching and
 * deleting nothing. TLS options: RFC 8314 implicit TLS, RFC 2595 STLS,
 * or plaintext only with --allow-plaintext.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "../common/limits.h"
#include "../common/str.h"
#include "../common/xalloc.h"
#include "../db/secret.h"
#include "../db/store.h"
#include "cli.h"
#include "poller.h"
#include "tls.h"
#include "tls_client.h"

#define ACCOUNT_USAGE                                                          \
	"account add NAME ... | account list | account show NAME | "           \
	"account remove NAME | account test NAME"
#define ADD_USAGE                                                              \
	"account add NAME --host HOST [--port N] "                             \
	"[--tls implicit|starttls|none] [--allow-plaintext] --user USER "      \
	"--password-file FILE [--folder FOLDER] [--interval SECONDS] "         \
	"[--keep | --delete | --keep-days N] "                                 \
	"[--ca-file FILE | --fingerprint SHA256]"

/* The options of `account add`, in this order in the table. */
enum {
	OPT_HOST,
	OPT_PORT,
	OPT_TLS,
	OPT_PLAIN,
	OPT_USER,
	OPT_PWFILE,
	OPT_FOLDER,
	OPT_INTERVAL,
	OPT_KEEP,
	OPT_DELETE,
	OPT_KEEP_DAYS,
	OPT_CA_FILE,
	OPT_FINGERPRINT,
	OPT_COUNT
};

/* `account test`: the account as stored, and how the test ended. */
struct test_out {
	struct cli_ctx *c;
	const struct store_acct *a;
	int reported;
	int ok;
};

/* struct store_acct holds char *; add fills it with argv strings that
 * store_acct_add (const) only reads. */
static char *
unconst(const char *s)
{
	return (char *)(uintptr_t)s;
}

const char *
cli_acct_tls_name(int tls)
{
	switch (tls) {
	case STORE_ACCT_TLS_IMPLICIT:
		return "implicit";
	case STORE_ACCT_TLS_STARTTLS:
		return "starttls";
	case STORE_ACCT_TLS_NONE:
		return "none";
	default:
		return "?";
	}
}

const char *
cli_acct_retention(const struct store_acct *a, int short_form, char *b,
                   size_t blen)
{
	switch (a->keep) {
	case STORE_ACCT_DELETE:
		snprintf(b, blen, "delete");
		break;
	case STORE_ACCT_KEEP_DAYS:
		snprintf(b, blen, short_form ? "keep %ud" : "keep %u days",
		         (unsigned)a->keep_days);
		break;
	case STORE_ACCT_KEEP:
	default:
		snprintf(b, blen, "keep");
		break;
	}
	return b;
}

/* How the add line says the connection is made. */
static const char *
tls_phrase(enum store_acct_tls tls)
{
	switch (tls) {
	case STORE_ACCT_TLS_STARTTLS:
		return "STARTTLS";
	case STORE_ACCT_TLS_NONE:
		return "plaintext";
	case STORE_ACCT_TLS_IMPLICIT:
	default:
		return "implicit TLS";
	}
}

/*
 * A host name or an IP address literal (IPv6 without brackets): letters,
 * digits and ". - _ :", not starting with '-' or '.'.
 */
static int
check_host(const char *h)
{
	size_t i, n = strlen(h);

	if (n == 0 || n > STORE_ACCT_HOST_MAX || h[0] == '-' || h[0] == '.')
		return -1;
	for (i = 0; i < n; i++) {
		char ch = h[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ||
		      ch == '_' || ch == ':'))
			return -1;
	}
	return 0;
}

/* 1..POP3_USER_MAX bytes without control characters (they would end or
 * split the USER command). */
static int
check_user(const char *u)
{
	size_t i, n = strlen(u);

	if (n == 0 || n > POP3_USER_MAX)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)u[i];
		if (ch < 0x20 || ch == 0x7f)
			return -1;
	}
	return 0;
}

/* What store_folder_create would refuse, checked before the store is
 * opened so that it is a command-line error. */
static int
check_folder(const char *f)
{
	size_t i, n = strlen(f);

	if (n == 0 || n > FOLDER_NAME_MAX || f[0] == '/' || f[n - 1] == '/' ||
	    strstr(f, "//") != NULL)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)f[i];
		if (ch < 0x20 || ch == 0x7f)
			return -1;
	}
	return 0;
}

/*
 * Parses and checks the options of `account add` into *a (strings point
 * into argv, or into fp[65] for the fingerprint). 0, or an exit status
 * after printing the error. Needs neither the store nor the network.
 */
static int
add_settings(struct cli_ctx *c, struct cli_opt *o, struct store_acct *a,
             char fp[65])
{
	uint64_t v;
	int nret;

	if (o[OPT_HOST].value == NULL)
		return cli_usage_error(c, ADD_USAGE, "--host is missing");
	if (check_host(o[OPT_HOST].value) < 0)
		return cli_usage_error(c, ADD_USAGE,
		                       "--host: expected a host name or an IP "
		                       "address (at most %d characters)",
		                       STORE_ACCT_HOST_MAX);
	a->host = unconst(o[OPT_HOST].value);

	a->tls = STORE_ACCT_TLS_IMPLICIT;
	if (o[OPT_TLS].value != NULL) {
		if (strcmp(o[OPT_TLS].value, "implicit") == 0)
			a->tls = STORE_ACCT_TLS_IMPLICIT;
		else if (strcmp(o[OPT_TLS].value, "starttls") == 0)
			a->tls = STORE_ACCT_TLS_STARTTLS;
		else if (strcmp(o[OPT_TLS].value, "none") == 0)
			a->tls = STORE_ACCT_TLS_NONE;
		else
			return cli_usage_error(c, ADD_USAGE,
			                       "--tls: expected implicit, "
			                       "starttls or none");
	}
	a->allow_plaintext = o[OPT_PLAIN].value != NULL;
	if (a->tls == STORE_ACCT_TLS_NONE && !a->allow_plaintext)
		return cli_usage_error(c, ADD_USAGE,
		                       "--tls none would send the password in "
		                       "the clear; add --allow-plaintext to "
		                       "accept that");

	a->port = a->tls == STORE_ACCT_TLS_IMPLICIT ? 995 : 110;
	if (o[OPT_PORT].value != NULL) {
		if (str_cstr_to_u64(o[OPT_PORT].value, 65535, &v) < 0 || v == 0)
			return cli_usage_error(c, ADD_USAGE,
			                       "--port: expected a port number "
			                       "from 1 to 65535");
		a->port = (unsigned)v;
	}

	if (o[OPT_USER].value == NULL)
		return cli_usage_error(c, ADD_USAGE, "--user is missing");
	if (check_user(o[OPT_USER].value) < 0)
		return cli_usage_error(c, ADD_USAGE,
		                       "--user: expected 1 to %d characters "
		                       "without control characters",
		                       POP3_USER_MAX);
	a->user = unconst(o[OPT_USER].value);
	if (o[OPT_PWFILE].value == NULL)
		return cli_usage_error(c, ADD_USAGE,
		                       "--password-file is missing");

	a->folder =
	        unconst(o[OPT_FOLDER].value ? o[OPT_FOLDER].value : "INBOX");
	if (str_casecmp_ascii(a->folder, "INBOX") == 0)
		a->folder = unconst("INBOX");
	if (check_folder(a->folder) < 0)
		return cli_usage_error(c, ADD_USAGE,
		                       "--folder: bad folder name (empty, an "
		                       "empty level, a control character or "
		                       "over %d bytes)",
		                       FOLDER_NAME_MAX);

	a->interval = POLL_INTERVAL_DEFAULT;
	if (o[OPT_INTERVAL].value != NULL) {
		if (str_cstr_to_u64(o[OPT_INTERVAL].value, POLL_INTERVAL_MAX,
		                    &v) < 0 ||
		    v < POLL_INTERVAL_MIN)
			return cli_usage_error(c, ADD_USAGE,
			                       "--interval: expected seconds "
			                       "from %d to %d",
			                       POLL_INTERVAL_MIN,
			                       POLL_INTERVAL_MAX);
		a->interval = (uint32_t)v;
	}

	nret = (o[OPT_KEEP].value != NULL) + (o[OPT_DELETE].value != NULL) +
	       (o[OPT_KEEP_DAYS].value != NULL);
	if (nret > 1)
		return cli_usage_error(c, ADD_USAGE,
		                       "give only one of --keep, --delete and "
		                       "--keep-days");
	a->keep = STORE_ACCT_KEEP;
	if (o[OPT_DELETE].value != NULL)
		a->keep = STORE_ACCT_DELETE;
	if (o[OPT_KEEP_DAYS].value != NULL) {
		if (str_cstr_to_u64(o[OPT_KEEP_DAYS].value, RETENTION_DAYS_MAX,
		                    &v) < 0 ||
		    v == 0)
			return cli_usage_error(c, ADD_USAGE,
			                       "--keep-days: expected a number "
			                       "of days from 1 to %d",
			                       RETENTION_DAYS_MAX);
		a->keep = STORE_ACCT_KEEP_DAYS;
		a->keep_days = (uint32_t)v;
	}

	if (o[OPT_CA_FILE].value != NULL && o[OPT_FINGERPRINT].value != NULL)
		return cli_usage_error(c, ADD_USAGE,
		                       "give --ca-file or --fingerprint, not "
		                       "both");
	if (o[OPT_FINGERPRINT].value != NULL) {
		if (tls_client_fingerprint_parse(o[OPT_FINGERPRINT].value, fp) <
		    0)
			return cli_usage_error(c, ADD_USAGE,
			                       "--fingerprint: expected the "
			                       "SHA-256 fingerprint, 64 hex "
			                       "digits (':' allowed)");
		a->fingerprint = fp;
	}
	return 0;
}

/*
 * --ca-file: made absolute, and it must load as a PEM trust store. Sets
 * *abs_r (malloc'd). 0 or an exit status after printing the error.
 */
static int
add_ca_file(struct cli_ctx *c, const char *path, char **abs_r)
{
	const char *err = NULL;
	SSL_CTX *ctx;
	char *abs;

	*abs_r = NULL;
	abs = realpath(path, NULL);
	if (abs == NULL) {
		cli_error(c, "--ca-file %s: %s", path, strerror(errno));
		return CLI_EXIT_FAIL;
	}
	ctx = tls_client_ctx_new(abs, NULL, &err);
	if (ctx == NULL) {
		if (err != NULL)
			cli_error(c, "--ca-file: %s", err);
		else
			cli_error(c, "--ca-file %s: cannot load it as PEM "
			          "certificates", abs);
		free(abs);
		return CLI_EXIT_FAIL;
	}
	tls_ctx_free(&ctx);
	*abs_r = abs;
	return 0;
}

/* Seals the password read from path with <data>/secret.key into
 * *sealed_r (malloc'd). 0 or an exit status after printing the error. */
static int
add_seal_password(struct cli_ctx *c, const char *path, char **sealed_r)
{
	unsigned char key[SECRET_KEY_LEN];
	char *pw = NULL;
	size_t len;
	int rc = CLI_EXIT_FAIL;

	*sealed_r = NULL;
	if (cli_secret_key_load(c, key) < 0)
		return CLI_EXIT_FAIL;
	if (cli_read_password_file(c, path, &pw) < 0)
		goto out;
	len = strlen(pw);
	if (len > POP3_PASSWORD_MAX) {
		cli_error(c, "the password is longer than %d bytes",
		          POP3_PASSWORD_MAX);
		goto out;
	}
	if (secret_seal(key, pw, len, sealed_r) < 0) {
		cli_error(c, "cannot seal the password with the secret key");
		*sealed_r = NULL;
		goto out;
	}
	rc = 0;
out:
	cli_password_free(&pw);
	OPENSSL_cleanse(key, sizeof key);
	return rc;
}

static int
account_add(struct cli_ctx *c, int argc, char **argv)
{
	struct cli_opt o[] = {
	        [OPT_HOST] = {"--host", 1, NULL},
	        [OPT_PORT] = {"--port", 1, NULL},
	        [OPT_TLS] = {"--tls", 1, NULL},
	        [OPT_PLAIN] = {"--allow-plaintext", 0, NULL},
	        [OPT_USER] = {"--user", 1, NULL},
	        [OPT_PWFILE] = {"--password-file", 1, NULL},
	        [OPT_FOLDER] = {"--folder", 1, NULL},
	        [OPT_INTERVAL] = {"--interval", 1, NULL},
	        [OPT_KEEP] = {"--keep", 0, NULL},
	        [OPT_DELETE] = {"--delete", 0, NULL},
	        [OPT_KEEP_DAYS] = {"--keep-days", 1, NULL},
	        [OPT_CA_FILE] = {"--ca-file", 1, NULL},
	        [OPT_FINGERPRINT] = {"--fingerprint", 1, NULL},
	        [OPT_COUNT] = {NULL, 0, NULL},
	};
	struct store_acct a, old;
	char fp[65], *ca_abs = NULL, *sealed = NULL, rbuf[32];
	const char *why, *pos[1], *name;
	int64_t id;
	int npos, rc, ret;

	if (cli_parse(c, argc, argv, 2, o, pos, 1, 0, &npos, ADD_USAGE) < 0)
		return CLI_EXIT_USAGE;
	if (npos == 0)
		return cli_usage_error(c, ADD_USAGE, "add needs a NAME");
	name = pos[0];
	if (cli_check_name(name, STORE_ACCT_NAME_MAX, &why) < 0)
		return cli_usage_error(c, ADD_USAGE, "bad account name: %s",
		                       why);
	memset(&a, 0, sizeof a);
	a.name = unconst(name);
	if ((ret = add_settings(c, o, &a, fp)) != 0)
		return ret;
	if (o[OPT_CA_FILE].value != NULL) {
		if ((ret = add_ca_file(c, o[OPT_CA_FILE].value, &ca_abs)) != 0)
			return ret;
		a.ca_file = ca_abs;
	}
	ret = CLI_EXIT_FAIL;
	if (cli_store_open(c, 0) < 0)
		goto out;
	/* Before the password is read (it may come from standard input). */
	rc = store_acct_get(c->st, name, &old);
	if (rc == 0) {
		store_acct_clear(&old);
		cli_error(c,
		          "an account named %s exists already (see 'popbridge "
		          "account show %s')",
		          name, name);
		goto out;
	}
	if (rc != -STORE_ERR_NOTFOUND) {
		ret = cli_store_error(c, rc, "reading the accounts");
		goto out;
	}
	if ((ret = add_seal_password(c, o[OPT_PWFILE].value, &sealed)) != 0)
		goto out;
	a.password_sealed = sealed;

	ret = CLI_EXIT_FAIL;
	rc = store_begin(c->st);
	if (rc < 0) {
		ret = cli_store_error(c, rc, "adding the account");
		goto out;
	}
	rc = store_folder_ensure(c->st, a.folder, NULL);
	if (rc < 0) {
		store_rollback(c->st);
		if (rc == -STORE_ERR_INVALID)
			ret = cli_usage_error(c, ADD_USAGE,
			                      "--folder: bad folder name '%s'",
			                      a.folder);
		else
			ret = cli_store_error(c, rc, a.folder);
		goto out;
	}
	rc = store_acct_add(c->st, &a, &id);
	if (rc < 0) {
		store_rollback(c->st);
		if (rc == -STORE_ERR_EXISTS)
			cli_error(c, "an account named %s exists already",
			          name);
		else if (rc == -STORE_ERR_LIMIT)
			cli_error(c,
			          "there are %d accounts already, the most "
			          "popbridge keeps",
			          STORE_ACCTS_MAX);
		else
			cli_store_error(c, rc, "adding the account");
		goto out;
	}
	rc = store_commit(c->st);
	if (rc < 0) {
		ret = cli_store_error(c, rc, "adding the account");
		goto out;
	}
	printf("account %s added: %s@%s:%u over %s, into %s every %u s, "
	       "retention %s\n",
	       name, a.user, a.host, a.port, tls_phrase(a.tls), a.folder,
	       (unsigned)a.interval,
	       cli_acct_retention(&a, 0, rbuf, sizeof rbuf));
	ret = CLI_EXIT_OK;
out:
	free(sealed);
	free(ca_abs);
	return ret;
}

/* STATUS column / status word of an account. */
static void
print_state(const struct store_acct *a)
{
	if (a->last_error != NULL)
		printf("error: %s\n", a->last_error);
	else if (a->last_success > 0)
		puts("ok");
	else
		puts("never polled");
}

static int
account_list(struct cli_ctx *c)
{
	static const char *const head[] = {"NAME",     "SERVER", "TLS",
	                                   "FOLDER",   "EVERY",  "RETENTION",
	                                   "LAST POLL"};
	enum { NCOL = 7 };
	struct store_acct *list = NULL;
	size_t n = 0, i, k, w[NCOL];
	char *cell[NCOL];
	int rc = store_acct_list(c->st, &list, &n);

	if (rc < 0)
		return cli_store_error(c, rc, "listing the accounts");
	if (n == 0) {
		puts("no accounts");
		store_acct_list_free(list, n);
		return CLI_EXIT_OK;
	}
	/* Two passes over the same cells: widths, then the lines. */
	for (k = 0; k < NCOL; k++)
		w[k] = strlen(head[k]);
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			for (k = 0; k < NCOL; k++)
				printf("%-*s  ", (int)w[k], head[k]);
			puts("STATUS");
		}
		for (i = 0; i < n; i++) {
			const struct store_acct *a = &list[i];
			char rb[32], tb[32];

			cell[0] = xasprintf("%s", a->name);
			cell[1] = xasprintf("%s:%u", a->host, a->port);
			cell[2] = xasprintf("%s", cli_acct_tls_name(a->tls));
			cell[3] = xasprintf("%s", a->folder);
			cell[4] = xasprintf("%us", (unsigned)a->interval);
			cell[5] = xasprintf(
			        "%s", cli_acct_retention(a, 1, rb, sizeof rb));
			cell[6] = xasprintf("%s", cli_fmt_time(a->last_attempt,
			                                       tb, sizeof tb));
			for (k = 0; k < NCOL; k++) {
				if (pass == 0 && strlen(cell[k]) > w[k])
					w[k] = strlen(cell[k]);
				if (pass == 1)
					printf("%-*s  ", (int)w[k], cell[k]);
				free(cell[k]);
			}
			if (pass == 1)
				print_state(a);
		}
	}
	store_acct_list_free(list, n);
	return CLI_EXIT_OK;
}

static void show_line(const char *key, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* One "key: value" line of `account show`, values aligned. */
static void
show_line(const char *key, const char *fmt, ...)
{
	char k[32];
	va_list ap;

	snprintf(k, sizeof k, "%s:", key);
	printf("%-14s", k);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* Reads the account, or says there is none. 0 or an exit status. */
static int
get_account(struct cli_ctx *c, const char *name, struct store_acct *a)
{
	int rc = store_acct_get(c->st, name, a);

	if (rc == -STORE_ERR_NOTFOUND) {
		cli_error(c,
		          "no account named %s (see 'popbridge account "
		          "list')",
		          name);
		return CLI_EXIT_FAIL;
	}
	if (rc < 0)
		return cli_store_error(c, rc, "reading the account");
	return 0;
}

static int
account_show(struct cli_ctx *c, const char *name)
{
	struct store_acct a;
	char b[64];
	int ret;

	if ((ret = get_account(c, name, &a)) != 0)
		return ret;
	show_line("name", "%s", a.name);
	show_line("server", "%s:%u", a.host, a.port);
	show_line("tls", "%s", cli_acct_tls_name(a.tls));
	show_line("user", "%s", a.user);
	show_line("folder", "%s", a.folder);
	show_line("interval", "%u s", (unsigned)a.interval);
	show_line("retention", "%s", cli_acct_retention(&a, 0, b, sizeof b));
	if (a.ca_file != NULL)
		show_line("ca file", "%s", a.ca_file);
	if (a.fingerprint != NULL)
		show_line("fingerprint", "%s", a.fingerprint);
	show_line("added", "%s", cli_fmt_time(a.created, b, sizeof b));
	show_line("last attempt", "%s",
	          cli_fmt_time(a.last_attempt, b, sizeof b));
	show_line("last success", "%s",
	          cli_fmt_time(a.last_success, b, sizeof b));
	show_line("last error", "%s", a.last_error ? a.last_error : "none");
	show_line("failures", "%u", (unsigned)a.failures);
	show_line("next poll", "%s",
	          a.next_due > 0 ? cli_fmt_time(a.next_due, b, sizeof b)
	                         : "now");
	show_line("fetched", "%llu", (unsigned long long)a.fetched);
	show_line("deleted", "%llu", (unsigned long long)a.deleted);
	show_line("skipped", "%llu (too big)", (unsigned long long)a.skipped);
	show_line("on server", "%u (%u skipped)", (unsigned)a.on_server,
	          (unsigned)a.skipped_now);
	store_acct_clear(&a);
	return CLI_EXIT_OK;
}

static int
account_remove(struct cli_ctx *c, const char *name)
{
	struct store_acct a;
	int rc, ret;

	if ((ret = get_account(c, name, &a)) != 0)
		return ret;
	rc = store_acct_remove(c->st, name);
	if (rc == -STORE_ERR_NOTFOUND) {
		cli_error(c, "no account named %s", name);
		ret = CLI_EXIT_FAIL;
	} else if (rc < 0) {
		ret = cli_store_error(c, rc, "removing the account");
	} else {
		printf("account %s removed; the messages it stored stay in "
		       "%s\n",
		       name, a.folder);
		ret = CLI_EXIT_OK;
	}
	store_acct_clear(&a);
	return ret;
}

static void
test_report(const struct poller_report *r, void *arg)
{
	struct test_out *t = arg;
	char sz[32];

	t->reported = 1;
	if (r->busy) {
		cli_error(t->c,
		          "%s: another poll of this account is running; try "
		          "again when it has ended",
		          r->account);
		return;
	}
	if (!r->ok) {
		cli_error(t->c, "%s: %s", r->account,
		          r->error ? r->error : "the test failed");
		return;
	}
	t->ok = 1;
	printf("%s: ok: logged in to %s:%u as %s with %s (%s); %u messages "
	       "(%s) on the server, %u not fetched yet\n",
	       r->account, t->a->host, t->a->port, t->a->user,
	       r->auth ? r->auth : "an unknown method",
	       r->tls_info ? r->tls_info : "plaintext", r->on_server,
	       cli_fmt_size(r->server_bytes, sz, sizeof sz), r->new_on_server);
}

static int
account_test(struct cli_ctx *c, const char *name)
{
	struct test_out t;
	struct store_acct a;
	int ret;

	if ((ret = get_account(c, name, &a)) != 0)
		return ret;
	memset(&t, 0, sizeof t);
	t.c = c;
	t.a = &a;
	ret = cli_poll_run(c, name, 1, test_report, &t);
	if (ret == CLI_EXIT_OK && !t.ok) {
		if (!t.reported)
			cli_error(c, "%s: the test ended without a result",
			          name);
		ret = CLI_EXIT_FAIL;
	}
	store_acct_clear(&a);
	return ret;
}

int
cli_account(struct cli_ctx *c, int argc, char **argv)
{
	const char *sub, *pos[1], *why, *name;
	int npos;

	if (argc < 2 || argv[1][0] == '-')
		return cli_usage_error(c, ACCOUNT_USAGE,
		                       argc < 2 ? "missing subcommand"
		                                : "give the subcommand first");
	sub = argv[1];
	if (strcmp(sub, "list") == 0) {
		if (cli_parse(c, argc, argv, 2, NULL, pos, 0, 0, &npos,
		              "account list") < 0)
			return CLI_EXIT_USAGE;
		if (cli_store_open(c, 0) < 0)
			return CLI_EXIT_FAIL;
		return account_list(c);
	}
	if (strcmp(sub, "add") == 0)
		return account_add(c, argc, argv);
	if (strcmp(sub, "show") != 0 && strcmp(sub, "remove") != 0 &&
	    strcmp(sub, "test") != 0)
		return cli_usage_error(c, ACCOUNT_USAGE,
		                       "unknown subcommand '%s'", sub);
	if (cli_parse(c, argc, argv, 2, NULL, pos, 1, 0, &npos, ACCOUNT_USAGE) <
	    0)
		return CLI_EXIT_USAGE;
	if (npos == 0)
		return cli_usage_error(c, ACCOUNT_USAGE, "%s needs a NAME",
		                       sub);
	name = pos[0];
	if (cli_check_name(name, STORE_ACCT_NAME_MAX, &why) < 0)
		return cli_usage_error(c, ACCOUNT_USAGE, "bad account name: %s",
		                       why);
	if (cli_store_open(c, 0) < 0)
		return CLI_EXIT_FAIL;
	if (strcmp(sub, "show") == 0)
		return account_show(c, name);
	if (strcmp(sub, "remove") == 0)
		return account_remove(c, name);
	return account_test(c, name);
}
