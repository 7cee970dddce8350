/*
 * bridge/cli_retention.c: `popbridge retention set [--trash-days N]
 * [--junk-days N]`, `retention show` and `retention run` (PRODUCT.md
 * "Retention"): the settings trash_days / junk_days (0 = never, at most
 * RETENTION_DAYS_MAX, default RETENTION_DAYS_DEFAULT) and one expunge pass
 * now, as the daemon does hourly (bridge/retention.c).
 */
#include <stdio.h>
#include <string.h>

#include "../common/limits.h"
#include "../common/str.h"
#include "../db/store.h"
#include "cli.h"
#include "retention.h"

#define RETENTION_USAGE                                                        \
	"retention set [--trash-days N] [--junk-days N] | retention show "     \
	"| retention run"

static void
print_days(const char *what, unsigned days)
{
	if (days == 0)
		printf("%s  0 (never expunged)\n", what);
	else
		printf("%s  %u\n", what, days);
}

static int
retention_show(struct cli_ctx *c)
{
	unsigned trash, junk;
	int rc = retention_get_days(c->st, &trash, &junk);

	if (rc < 0)
		return cli_store_error(c, rc, "reading the settings");
	print_days("trash-days", trash);
	print_days("junk-days ", junk);
	return CLI_EXIT_OK;
}

static int
retention_set(struct cli_ctx *c, struct cli_opt *opts)
{
	static const char *const keys[2] = {"trash_days", "junk_days"};
	uint64_t v[2];
	int i, rc;

	for (i = 0; i < 2; i++) {
		if (opts[i].value != NULL &&
		    str_cstr_to_u64(opts[i].value, RETENTION_DAYS_MAX, &v[i]) <
		            0)
			return cli_usage_error(c, RETENTION_USAGE,
			                       "%s: expected a number of days "
			                       "from 0 to %d",
			                       opts[i].name,
			                       RETENTION_DAYS_MAX);
	}
	if (opts[0].value == NULL && opts[1].value == NULL)
		return cli_usage_error(c, RETENTION_USAGE,
		                       "give --trash-days N, --junk-days N or "
		                       "both");
	if (cli_store_open(c, 0) < 0)
		return CLI_EXIT_FAIL;
	rc = store_begin(c->st);
	if (rc < 0)
		return cli_store_error(c, rc, "saving the settings");
	for (i = 0; i < 2; i++) {
		char num[24];
		if (opts[i].value == NULL)
			continue;
		snprintf(num, sizeof num, "%u", (unsigned)v[i]);
		rc = store_setting_set(c->st, keys[i], num);
		if (rc < 0) {
			store_rollback(c->st);
			return cli_store_error(c, rc, "saving the settings");
		}
	}
	rc = store_commit(c->st);
	if (rc < 0)
		return cli_store_error(c, rc, "saving the settings");
	return retention_show(c);
}

static int
retention_now(struct cli_ctx *c)
{
	size_t n = 0;
	int rc;

	if (cli_store_open(c, 0) < 0)
		return CLI_EXIT_FAIL;
	rc = retention_run(c->st, cli_now(), &n);
	if (rc < 0)
		return cli_store_error(c, rc, "expunging");
	printf("expunged %zu message%s from Trash and Junk\n", n,
	       n == 1 ? "" : "s");
	return CLI_EXIT_OK;
}

int
cli_retention(struct cli_ctx *c, int argc, char **argv)
{
	struct cli_opt opts[] = {
	        {"--trash-days", 1, NULL},
	        {"--junk-days", 1, NULL},
	        {NULL, 0, NULL},
	};
	const char *pos[1];
	int npos;

	if (cli_parse(c, argc, argv, 1, opts, pos, 1, 1, &npos,
	              RETENTION_USAGE) < 0)
		return CLI_EXIT_USAGE;
	if (strcmp(pos[0], "set") == 0)
		return retention_set(c, opts);
	if (opts[0].value != NULL || opts[1].value != NULL)
		return cli_usage_error(c, RETENTION_USAGE,
		                       "--trash-days/--junk-days go with "
		                       "'retention set'");
	if (strcmp(pos[0], "show") == 0) {
		if (cli_store_open(c, 0) < 0)
			return CLI_EXIT_FAIL;
		return retention_show(c);
	}
	if (strcmp(pos[0], "run") == 0)
		return retention_now(c);
	return cli_usage_error(c, RETENTION_USAGE, "unknown subcommand '%s'",
	                       pos[0]);
}
