/*
 * bridge/cli_device.c: `popbridge device add NAME | list | remove NAME`
 * (PRODUCT.md "Identity"): per-device IMAP passwords. `add` prints the new
 * password once; it is the only command that ever prints a password.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/limits.h"
#include "../db/store.h"
#include "cli.h"

#define DEVICE_USAGE "device add NAME | device list | device remove NAME"

static int
device_add(struct cli_ctx *c, const char *name)
{
	char *pw = NULL, *user = NULL;
	int rc;

	rc = store_device_add(c->st, name, &pw);
	if (rc == -STORE_ERR_EXISTS) {
		cli_error(c,
		          "a device named '%s' exists already (remove it "
		          "first to get a new password)",
		          name);
		return CLI_EXIT_FAIL;
	}
	if (rc < 0)
		return cli_store_error(c, rc, "adding the device");
	if (store_user_get(c->st, &user) < 0)
		user = NULL;
	printf("device '%s' added; its IMAP password (shown only this once):\n"
	       "\n"
	       "    %s\n"
	       "\n"
	       "Use it with the login name '%s' in that device's mail app; "
	       "'popbridge device remove %s' revokes it.\n",
	       name, pw, user ? user : "(not set)", name);
	cli_password_free(&pw);
	free(user);
	return CLI_EXIT_OK;
}

static int
device_list(struct cli_ctx *c)
{
	struct store_device *list = NULL;
	size_t n = 0, i, w = 4;
	int rc = store_device_list(c->st, &list, &n);

	if (rc < 0)
		return cli_store_error(c, rc, "listing the devices");
	if (n == 0) {
		puts("no devices (add one with 'popbridge device add NAME')");
		store_device_list_free(list, n);
		return CLI_EXIT_OK;
	}
	for (i = 0; i < n; i++)
		if (strlen(list[i].name) > w)
			w = strlen(list[i].name);
	printf("%-*s  %-16s  %s\n", (int)w, "NAME", "CREATED", "LAST USED");
	for (i = 0; i < n; i++) {
		char created[32], used[32];
		printf("%-*s  %-16s  %s\n", (int)w, list[i].name,
		       cli_fmt_time(list[i].created, created, sizeof created),
		       cli_fmt_time(list[i].last_used, used, sizeof used));
	}
	store_device_list_free(list, n);
	return CLI_EXIT_OK;
}

static int
device_remove(struct cli_ctx *c, const char *name)
{
	int rc = store_device_remove(c->st, name);

	if (rc == -STORE_ERR_NOTFOUND) {
		cli_error(c,
		          "no device named '%s' (see 'popbridge device "
		          "list')",
		          name);
		return CLI_EXIT_FAIL;
	}
	if (rc < 0)
		return cli_store_error(c, rc, "removing the device");
	printf("device '%s' removed; its password no longer works\n", name);
	return CLI_EXIT_OK;
}

int
cli_device(struct cli_ctx *c, int argc, char **argv)
{
	const char *pos[2], *why;
	int npos;

	if (cli_parse(c, argc, argv, 1, NULL, pos, 2, 1, &npos, DEVICE_USAGE) <
	    0)
		return CLI_EXIT_USAGE;
	if (strcmp(pos[0], "list") == 0) {
		if (npos != 1)
			return cli_usage_error(c, DEVICE_USAGE,
			                       "list takes no argument");
		if (cli_store_open(c, 0) < 0)
			return CLI_EXIT_FAIL;
		return device_list(c);
	}
	if (strcmp(pos[0], "add") != 0 && strcmp(pos[0], "remove") != 0)
		return cli_usage_error(c, DEVICE_USAGE,
		                       "unknown subcommand '%s'", pos[0]);
	if (npos != 2)
		return cli_usage_error(c, DEVICE_USAGE, "%s needs a NAME",
		                       pos[0]);
	if (cli_check_name(pos[1], CLI_DEVICE_NAME_MAX, &why) < 0)
		return cli_usage_error(c, DEVICE_USAGE, "bad device name: %s",
		                       why);
	if (cli_store_open(c, 0) < 0)
		return CLI_EXIT_FAIL;
	if (strcmp(pos[0], "add") == 0)
		return device_add(c, pos[1]);
	return device_remove(c, pos[1]);
}
