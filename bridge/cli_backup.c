/*
 * bridge/cli_backup.c: `popbridge backup FILE`: a consistent copy of the
 * store made with SQLite's online backup API (store_backup), safe while
 * the daemon runs. An existing FILE is never overwritten. The copy holds
 * the password hashes, so it is made with mode 0600.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../db/store.h"
#include "cli.h"

#define BACKUP_USAGE "backup FILE"

int
cli_backup(struct cli_ctx *c, int argc, char **argv)
{
	const char *pos[1];
	struct stat sb;
	char size[32];
	mode_t old_mask;
	int npos, rc;

	if (cli_parse(c, argc, argv, 1, NULL, pos, 1, 1, &npos, BACKUP_USAGE) <
	    0)
		return CLI_EXIT_USAGE;
	if (lstat(pos[0], &sb) == 0) {
		cli_error(c, "%s exists already; give a new file name", pos[0]);
		return CLI_EXIT_FAIL;
	}
	if (errno != ENOENT) {
		cli_error(c, "%s: %s", pos[0], strerror(errno));
		return CLI_EXIT_FAIL;
	}
	if (cli_store_open(c, 0) < 0)
		return CLI_EXIT_FAIL;
	old_mask = umask(077);
	rc = store_backup(c->st, pos[0]);
	umask(old_mask);
	if (rc < 0)
		return cli_store_error(c, rc, "backup");
	if (stat(pos[0], &sb) < 0) {
		cli_error(c, "%s: %s", pos[0], strerror(errno));
		return CLI_EXIT_FAIL;
	}
	printf("backup written to %s (%s)\n", pos[0],
	       cli_fmt_size((uint64_t)sb.st_size, size, sizeof size));
	return CLI_EXIT_OK;
}
