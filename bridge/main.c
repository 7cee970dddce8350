/*
 * bridge/main.c: the popbridge entry point (PRODUCT.md "Commands"): takes
 * the global options (--data DIR, --config FILE, before or after the
 * command), loads the config file, resolves the data directory and runs
 * one command. Exit statuses: 0 ok, 1 failure, 2 bad command line,
 * 130 interrupted.
 *
 * Config: --config FILE when given; otherwise <data dir>/popbridge.conf
 * when it exists (its data_dir cannot move the data directory it lives in).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/log.h"
#include "../common/version.h"
#include "../common/xalloc.h"
#include "cli.h"
#include "config.h"
#include "serve.h"

int main(int argc, char **argv);

static int cmd_serve(struct cli_ctx *c, int argc, char **argv);

struct command {
	const char *name;
	cli_cmd_fn fn;
	int needs_config; /* 0: runs before any config is read */
};

static const struct command commands[] = {
        {"init", cli_init, 1},           {"serve", cmd_serve, 1},
        {"device", cli_device, 1},       {"passwd", cli_passwd, 1},
        {"retention", cli_retention, 1}, {"import", cli_import, 1},
        {"export", cli_export, 1},       {"backup", cli_backup, 1},
        {"status", cli_status, 1},       {"account", cli_account, 1},
        {"poll", cli_poll, 1},           {NULL, NULL, 0},
};

static void
usage(FILE *f)
{
	fputs("usage: popbridge [--data DIR] [--config FILE] COMMAND "
	      "[ARGS]\n"
	      "\n"
	      "commands:\n"
	      "  init --user NAME [--password-file FILE]\n"
	      "        create the data directory, store, folders, TLS "
	      "certificate and\n"
	      "        secret key; idempotent, never destroys data\n"
	      "  serve                 run the appliance (IMAP server, POP3 "
	      "poller)\n"
	      "  device add NAME       print a new IMAP password for one "
	      "device, once\n"
	      "  device list | remove NAME\n"
	      "  passwd [--password-file FILE]\n"
	      "        change the main password (prompts on a terminal)\n"
	      "  retention set [--trash-days N] [--junk-days N]\n"
	      "        expunge Trash/Junk messages after N days (0 = never, "
	      "default 30)\n"
	      "  retention show | run  show the settings, or expunge now\n"
	      "  import --folder FOLDER PATH\n"
	      "        import an mbox file or a Maildir (re-runnable, no "
	      "duplicates)\n"
	      "  export --folder FOLDER\n"
	      "        write a folder as mbox (mboxrd) on standard output\n"
	      "  backup FILE           a consistent copy of the store, "
	      "daemon running or not\n"
	      "  account add NAME --host HOST --user USER --password-file "
	      "FILE\n"
	      "        [--port N] [--tls implicit|starttls|none] "
	      "[--allow-plaintext]\n"
	      "        [--folder FOLDER] [--interval SECONDS]\n"
	      "        [--keep | --delete | --keep-days N]\n"
	      "        [--ca-file FILE | --fingerprint SHA256]\n"
	      "        add a POP3 account (the password is stored sealed; "
	      "no connection)\n"
	      "  account list | show NAME | remove NAME\n"
	      "  account test NAME     log in and list the maildrop; fetch "
	      "nothing\n"
	      "  poll [NAME]           poll one account or all now; print "
	      "what was fetched\n"
	      "  status [--json]       user, devices, accounts and last "
	      "polls, folders and\n"
	      "                        counts, store size\n"
	      "\n"
	      "options (every command):\n"
	      "  --data DIR            the data directory (default "
	      "./popbridge-data)\n"
	      "  --config FILE         the config file (default DIR/"
	      "popbridge.conf if present)\n"
	      "  --help, --version\n"
	      "\n"
	      "A --password-file holds the password on its first line; - reads "
	      "standard input.\n",
	      f);
}

static int
cmd_serve(struct cli_ctx *c, int argc, char **argv)
{
	int npos;

	if (cli_parse(c, argc, argv, 1, NULL, NULL, 0, 0, &npos,
	              "serve [--data DIR | --config FILE]") < 0)
		return CLI_EXIT_USAGE;
	log_init("popbridge", (enum log_level)c->cfg.log_level);
	return serve_run(&c->cfg);
}

/*
 * Takes "--NAME VALUE" or "--NAME=VALUE" at argv[*i]. Returns 1 when it
 * matched (and *val_r is set, *i advanced past a separate value), 0 when
 * not this option, -1 when the value is missing.
 */
static int
take_global(char **argv, int argc, int *i, const char *name, const char **val_r)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	if (strncmp(a, name, n) != 0)
		return 0;
	if (a[n] == '=') {
		*val_r = a + n + 1;
		return 1;
	}
	if (a[n] != '\0')
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*val_r = argv[++*i];
	return 1;
}

static int
file_exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0;
}

int
main(int argc, char **argv)
{
	struct cli_ctx c;
	const struct command *cmd;
	const char *data_opt = NULL, *config_opt = NULL;
	char **args, *err = NULL, *implicit_dir = NULL;
	int i, nargs = 0, only_args = 0, rc;

	memset(&c, 0, sizeof c);
	log_init("popbridge", LOG_LVL_WARN);
	args = xcalloc((size_t)argc + 1, sizeof *args);
	args[nargs++] = NULL; /* slot for the command name */
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], **slot = NULL, *val = NULL;
		int r;

		if (only_args) {
			args[nargs++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			/* The command's own "--" (end of its options). */
			only_args = 1;
			args[nargs++] = argv[i];
			continue;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 ||
		    (args[0] == NULL && strcmp(a, "help") == 0)) {
			usage(stdout);
			rc = CLI_EXIT_OK;
			goto out;
		}
		if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
			puts("popbridge " PB_VERSION);
			rc = CLI_EXIT_OK;
			goto out;
		}
		if ((r = take_global(argv, argc, &i, "--data", &val)) != 0)
			slot = &data_opt;
		else if ((r = take_global(argv, argc, &i, "--config", &val)) !=
		         0)
			slot = &config_opt;
		if (slot != NULL) {
			if (r < 0) {
				rc = cli_usage_error(NULL, NULL,
				                     "%s needs a value", a);
				goto out;
			}
			if (*slot != NULL) {
				rc = cli_usage_error(
				        NULL, NULL, "%s given twice",
				        slot == &data_opt ? "--data"
				                          : "--config");
				goto out;
			}
			*slot = val;
			continue;
		}
		if (args[0] == NULL) {
			if (a[0] == '-') {
				rc = cli_usage_error(NULL, NULL,
				                     "unknown option '%s'", a);
				goto out;
			}
			args[0] = argv[i];
			continue;
		}
		args[nargs++] = argv[i];
	}
	if (args[0] == NULL) {
		rc = cli_usage_error(NULL, NULL, "no command given");
		goto out;
	}
	for (cmd = commands; cmd->name; cmd++)
		if (strcmp(cmd->name, args[0]) == 0)
			break;
	if (cmd->name == NULL) {
		rc = cli_usage_error(NULL, NULL, "unknown command '%s'",
		                     args[0]);
		goto out;
	}
	c.cmd = cmd->name;
	config_init(&c.cfg);
	if (cmd->needs_config) {
		if (config_opt != NULL) {
			c.config_given = 1;
			if (config_load(&c.cfg, config_opt, &err) < 0) {
				cli_error(&c, "%s", err);
				rc = CLI_EXIT_FAIL;
				goto out_cfg;
			}
		} else {
			char *conf;
			implicit_dir =
			        xstrdup(data_opt ? data_opt : "popbridge-data");
			conf = xasprintf("%s/%s", implicit_dir,
			                 CLI_CONFIG_FILE);
			if (file_exists(conf) &&
			    config_load(&c.cfg, conf, &err) < 0) {
				cli_error(&c, "%s", err);
				free(conf);
				rc = CLI_EXIT_FAIL;
				goto out_cfg;
			}
			free(conf);
		}
		if (config_resolve(&c.cfg,
		                   implicit_dir ? implicit_dir : data_opt,
		                   &err) < 0) {
			cli_error(&c, "%s", err);
			rc = CLI_EXIT_FAIL;
			goto out_cfg;
		}
	}
	rc = cmd->fn(&c, nargs, args);
	cli_store_close(&c);
out_cfg:
	config_clear(&c.cfg);
out:
	free(err);
	free(implicit_dir);
	free(args);
	if (fflush(stdout) != 0 && rc == CLI_EXIT_OK) {
		fprintf(stderr, "popbridge: %s: cannot write the output: %s\n",
		        c.cmd ? c.cmd : "output", strerror(errno));
		rc = CLI_EXIT_FAIL;
	}
	return rc;
}
