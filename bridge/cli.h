/*
 * bridge/cli.h: what bridge/main.c and the bridge/cli_*.c commands share:
 * the command context (resolved config, opened store), option parsing,
 * one-line errors ("popbridge: <command>: what and why" on stderr), the
 * store path, password files (PRODUCT.md "Commands": first line, "-" is
 * standard input) and exit statuses.
 */
#ifndef PB_CLI_H
#define PB_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct store;

/* Exit statuses of every command. */
#define CLI_EXIT_OK          0
#define CLI_EXIT_FAIL        1   /* the command failed (message printed) */
#define CLI_EXIT_USAGE       2   /* bad command line (message printed) */
#define CLI_EXIT_INTERRUPTED 130 /* SIGINT/SIGTERM (128 + 2) */

/* The store file inside the data directory. */
#define CLI_STORE_FILE  "popbridge.db"
#define CLI_CONFIG_FILE "popbridge.conf"
#define CLI_SECRET_FILE "secret.key"

struct cli_ctx {
	const char *cmd;      /* command name for messages: "init", "device" */
	struct pb_config cfg; /* resolved: data_dir, tls paths absolute */
	int config_given;     /* --config FILE was on the command line */
	struct store *st;     /* set by cli_store_open, else NULL */
};

/*
 * A command. argv[0] is the command name, argv[1..argc-1] its arguments
 * with the global options (--data, --config) already taken out. Returns
 * the process exit status (CLI_EXIT_*), after printing any error.
 */
typedef int (*cli_cmd_fn)(struct cli_ctx *c, int argc, char **argv);

int cli_init(struct cli_ctx *c, int argc, char **argv);
int cli_device(struct cli_ctx *c, int argc, char **argv);
int cli_passwd(struct cli_ctx *c, int argc, char **argv);
int cli_retention(struct cli_ctx *c, int argc, char **argv);
int cli_import(struct cli_ctx *c, int argc, char **argv);
int cli_export(struct cli_ctx *c, int argc, char **argv);
int cli_backup(struct cli_ctx *c, int argc, char **argv);
int cli_status(struct cli_ctx *c, int argc, char **argv);
int cli_account(struct cli_ctx *c, int argc, char **argv);
int cli_poll(struct cli_ctx *c, int argc, char **argv);

/* ---- option parsing ---- */

struct cli_opt {
	const char *name;  /* "--folder" */
	int has_arg;       /* 1: takes a value ("--folder X" or "--folder=X") */
	const char *value; /* out: the value, "" for a flag, NULL if absent */
};

/*
 * Parses argv[first..argc-1]: options of opts (terminated by a NULL name)
 * in any order, the rest positional into pos[] (at most max_pos; "--"
 * ends the options). Fewer than min_pos positionals, an unknown or
 * repeated option, or a missing value print an error with the usage line
 * and return -1 (exit CLI_EXIT_USAGE); else 0 with *npos_r set.
 */
int cli_parse(const struct cli_ctx *c, int argc, char **argv, int first,
              struct cli_opt *opts, const char **pos, int max_pos, int min_pos,
              int *npos_r, const char *usage);

/* ---- messages ---- */

/* "popbridge: <cmd>: <message>\n" on stderr. */
void cli_error(const struct cli_ctx *c, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* cli_error plus "usage: popbridge <usage>"; returns CLI_EXIT_USAGE. */
int cli_usage_error(const struct cli_ctx *c, const char *usage, const char *fmt,
                    ...) __attribute__((format(printf, 3, 4)));
/*
 * "popbridge: <cmd>: <what>: <store error>[: <detail>]" for a negative
 * store result rc; returns CLI_EXIT_FAIL.
 */
int cli_store_error(const struct cli_ctx *c, int rc, const char *what);

/* ---- data directory and store ---- */

/* data_dir + "/" + name (malloc'd). */
char *cli_data_path(const struct cli_ctx *c, const char *name);
/*
 * Opens <data_dir>/popbridge.db into c->st. Without create, a missing
 * store is an error telling to run `popbridge init`. Prints its error;
 * returns 0 or -1.
 */
int cli_store_open(struct cli_ctx *c, int create);
void cli_store_close(struct cli_ctx *c);
/*
 * Makes a directory and its missing parents (the last with mode, the
 * others 0755). *created_r (may be NULL) is 1 when the last was made.
 * 0 or -1 with errno.
 */
int cli_mkdir_p(const char *path, unsigned mode, int *created_r);

/* Loads <data>/secret.key into key[SECRET_KEY_LEN] (db/secret.h). Prints
 * its error; 0 or -1. The caller wipes key (OPENSSL_cleanse) after use. */
int cli_secret_key_load(const struct cli_ctx *c, unsigned char *key);

/* ---- passwords (never printed, never logged) ---- */

/*
 * Reads a password from the first line of path ("-" = standard input),
 * without its line end (LF or CRLF). Refuses an empty password, NUL bytes
 * and more than CLI_PASSWORD_MAX bytes. Prints its error; 0 or -1.
 * Free *pw_r with cli_password_free.
 */
int cli_read_password_file(const struct cli_ctx *c, const char *path,
                           char **pw_r);
/* Overwrites and frees a password; sets *pw to NULL. */
void cli_password_free(char **pw);

/* ---- small helpers ---- */

/*
 * A login or device name: 1..max bytes of letters, digits and "._@+-".
 * 0 or -1 with *why_r set to a static sentence.
 */
int cli_check_name(const char *s, size_t max, const char **why_r);
/* "512 B", "12.3 KB", "4.0 MB", "1.2 GB" (1024-based) into b. */
const char *cli_fmt_size(uint64_t bytes, char *b, size_t blen);
/* Local time "2024-01-31 17:05", or "never" for 0, into b. */
const char *cli_fmt_time(int64_t t, char *b, size_t blen);
/* Seconds since the epoch, and a monotonic clock in seconds. */
int64_t cli_now(void);
double cli_monotonic(void);

/* ---- POP3 accounts and the poller (cli_account.c, cli_poll.c) ---- */

struct store_acct;
struct poller_report;

/* "implicit", "starttls" or "none" for an enum store_acct_tls. */
const char *cli_acct_tls_name(int tls);
/*
 * The account's retention on the server into b: "keep", "delete", and
 * "keep N days" (short: "keep Nd"). Returns b.
 */
const char *cli_acct_retention(const struct store_acct *a, int short_form,
                               char *b, size_t blen);

/* Same type as poller.h poller_report_cb. */
typedef void (*cli_poll_report_fn)(const struct poller_report *r, void *arg);
/*
 * Runs one poll now (test_only: `account test`: log in and list only) of
 * the account name, or of every account when name is NULL, with the
 * poller (bridge/poller.h) in an event loop of its own over c->st (open),
 * the key of <data>/secret.key and [poller] max_message_size. cb is called
 * once per account as its poll ends. SIGINT/SIGTERM stop the polls in
 * flight cleanly. Returns CLI_EXIT_OK once every poll has ended, else
 * CLI_EXIT_FAIL or CLI_EXIT_INTERRUPTED after printing why.
 */
int cli_poll_run(struct cli_ctx *c, const char *name, int test_only,
                 cli_poll_report_fn cb, void *arg);

#endif
