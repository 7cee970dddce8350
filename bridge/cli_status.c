/*
 * bridge/cli_status.c: `popbridge status [--json]`: the user, whether a
 * password is set, devices, the POP3 accounts with their last poll and
 * totals, retention, folders with message, unseen and size totals, and the
 * store's file size. --json prints one object with a stable key order:
 *   {"data_dir":S,"user":S|null,"password_set":B,"devices":N,
 *    "accounts":[{"name":S,"host":S,"port":N,"tls":S,"user":S,
 *                 "folder":S,"interval":N,"retention":S,"keep_days":N,
 *                 "last_attempt":N,"last_success":N,"last_error":S|null,
 *                 "failures":N,"next_due":N,"fetched":N,"deleted":N,
 *                 "skipped":N,"on_server":N},...],
 *    "retention":{"trash_days":N,"junk_days":N},
 *    "store":{"path":S,"size":N},
 *    "folders":[{"name":S,"special":S|null,"noselect":B,"subscribed":B,
 *                "messages":N,"unseen":N,"size":N},...]}
 * (times as unix seconds, 0 = never; "tls" is implicit, starttls or none;
 * "retention" keep, delete or keep-days, with "keep_days" its N, else 0).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/xalloc.h"
#include "../db/store.h"
#include "cli.h"
#include "retention.h"

#define STATUS_USAGE "status [--json]"

struct status_info {
	char *user;
	int password_set;
	size_t devices;
	struct store_acct *accts;
	size_t naccts;
	unsigned trash_days, junk_days;
	uint64_t store_size;
	char *store_path;
	struct store_folder *folders;
	struct store_folder_status *fst;
	size_t nfolders;
};

/* JSON string (RFC 8259): quotes, backslash and controls escaped. */
static void
json_str(struct buf *b, const char *s)
{
	buf_addc(b, '"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			buf_addc(b, '\\');
			buf_addc(b, (char)ch);
		} else if (ch == '\n') {
			buf_addstr(b, "\\n");
		} else if (ch == '\t') {
			buf_addstr(b, "\\t");
		} else if (ch < 0x20 || ch == 0x7f) {
			buf_printf(b, "\\u%04x", ch);
		} else {
			buf_addc(b, (char)ch);
		}
	}
	buf_addc(b, '"');
}

static void
json_accounts(struct buf *b, const struct status_info *si)
{
	size_t i;

	buf_addc(b, '[');
	for (i = 0; i < si->naccts; i++) {
		const struct store_acct *a = &si->accts[i];
		const char *ret = "keep";

		if (a->keep == STORE_ACCT_DELETE)
			ret = "delete";
		else if (a->keep == STORE_ACCT_KEEP_DAYS)
			ret = "keep-days";

		buf_addstr(b, i ? ",{\"name\":" : "{\"name\":");
		json_str(b, a->name);
		buf_addstr(b, ",\"host\":");
		json_str(b, a->host);
		buf_printf(b, ",\"port\":%u,\"tls\":\"%s\",\"user\":", a->port,
		           cli_acct_tls_name(a->tls));
		json_str(b, a->user);
		buf_addstr(b, ",\"folder\":");
		json_str(b, a->folder);
		buf_printf(
		        b,
		        ",\"interval\":%u,\"retention\":\"%s\","
		        "\"keep_days\":%u,\"last_attempt\":%lld,"
		        "\"last_success\":%lld,\"last_error\":",
		        (unsigned)a->interval, ret,
		        a->keep == STORE_ACCT_KEEP_DAYS ? (unsigned)a->keep_days
		                                        : 0u,
		        (long long)a->last_attempt, (long long)a->last_success);
		if (a->last_error != NULL)
			json_str(b, a->last_error);
		else
			buf_addstr(b, "null");
		buf_printf(
		        b,
		        ",\"failures\":%u,\"next_due\":%lld,\"fetched\":%llu,"
		        "\"deleted\":%llu,\"skipped\":%llu,"
		        "\"on_server\":%u}",
		        (unsigned)a->failures, (long long)a->next_due,
		        (unsigned long long)a->fetched,
		        (unsigned long long)a->deleted,
		        (unsigned long long)a->skipped, (unsigned)a->on_server);
	}
	buf_addc(b, ']');
}

static void
print_json(const struct cli_ctx *c, const struct status_info *si)
{
	struct buf b;
	size_t i;

	buf_init(&b, 0);
	buf_addstr(&b, "{\"data_dir\":");
	json_str(&b, c->cfg.data_dir);
	buf_addstr(&b, ",\"user\":");
	if (si->user)
		json_str(&b, si->user);
	else
		buf_addstr(&b, "null");
	buf_printf(&b, ",\"password_set\":%s,\"devices\":%zu,\"accounts\":",
	           si->password_set ? "true" : "false", si->devices);
	json_accounts(&b, si);
	buf_printf(&b,
	           ",\"retention\":{\"trash_days\":%u,\"junk_days\":%u},"
	           "\"store\":{\"path\":",
	           si->trash_days, si->junk_days);
	json_str(&b, si->store_path);
	buf_printf(&b, ",\"size\":%llu},\"folders\":[",
	           (unsigned long long)si->store_size);
	for (i = 0; i < si->nfolders; i++) {
		const struct store_folder *f = &si->folders[i];
		const struct store_folder_status *s = &si->fst[i];
		const char *sp = store_special_name(f->special);

		buf_addstr(&b, i ? ",{\"name\":" : "{\"name\":");
		json_str(&b, f->name);
		buf_addstr(&b, ",\"special\":");
		if (sp)
			json_str(&b, sp);
		else
			buf_addstr(&b, "null");
		buf_printf(&b,
		           ",\"noselect\":%s,\"subscribed\":%s,"
		           "\"messages\":%u,\"unseen\":%u,\"size\":%llu}",
		           f->noselect ? "true" : "false",
		           f->subscribed ? "true" : "false", s->messages,
		           s->unseen, (unsigned long long)s->size);
	}
	buf_addstr(&b, "]}\n");
	fwrite(b.data, 1, b.len, stdout);
	buf_clear(&b);
}

/* "accounts    NAME: last poll TIME ok|error: ...; fetched N, ..." */
static void
print_accounts(const struct status_info *si)
{
	size_t i;

	if (si->naccts == 0) {
		printf("accounts    none\n");
		return;
	}
	for (i = 0; i < si->naccts; i++) {
		const struct store_acct *a = &si->accts[i];
		char t[32];

		printf("accounts    %s: last poll %s", a->name,
		       cli_fmt_time(a->last_attempt, t, sizeof t));
		if (a->last_error != NULL)
			printf(" error: %s", a->last_error);
		else if (a->last_success > 0)
			printf(" ok");
		printf("; fetched %llu, deleted %llu, skipped %llu\n",
		       (unsigned long long)a->fetched,
		       (unsigned long long)a->deleted,
		       (unsigned long long)a->skipped);
	}
}

static void
print_text(const struct cli_ctx *c, const struct status_info *si)
{
	char sz[32];
	size_t i, w = 6;

	printf("data        %s\n", c->cfg.data_dir);
	printf("user        %s\n", si->user ? si->user : "(none)");
	printf("password    %s\n",
	       si->password_set ? "set" : "not set (run 'popbridge passwd')");
	printf("devices     %zu\n", si->devices);
	print_accounts(si);
	printf("retention   Trash %u days, Junk %u days (0 = never)\n",
	       si->trash_days, si->junk_days);
	printf("store       %s (%s)\n", si->store_path,
	       cli_fmt_size(si->store_size, sz, sizeof sz));
	for (i = 0; i < si->nfolders; i++)
		if (strlen(si->folders[i].name) > w)
			w = strlen(si->folders[i].name);
	printf("\n%-*s  %8s  %8s  %10s\n", (int)w, "FOLDER", "MESSAGES",
	       "UNSEEN", "SIZE");
	for (i = 0; i < si->nfolders; i++) {
		const struct store_folder *f = &si->folders[i];
		if (f->noselect) {
			printf("%-*s  %8s  %8s  %10s\n", (int)w, f->name, "-",
			       "-", "-");
			continue;
		}
		printf("%-*s  %8u  %8u  %10s\n", (int)w, f->name,
		       si->fst[i].messages, si->fst[i].unseen,
		       cli_fmt_size(si->fst[i].size, sz, sizeof sz));
	}
}

int
cli_status(struct cli_ctx *c, int argc, char **argv)
{
	struct cli_opt opts[] = {
	        {"--json", 0, NULL},
	        {NULL, 0, NULL},
	};
	struct status_info si;
	struct store_device *devs = NULL;
	size_t i;
	int npos, rc, ret = CLI_EXIT_FAIL;

	if (cli_parse(c, argc, argv, 1, opts, NULL, 0, 0, &npos, STATUS_USAGE) <
	    0)
		return CLI_EXIT_USAGE;
	if (cli_store_open(c, 0) < 0)
		return CLI_EXIT_FAIL;
	memset(&si, 0, sizeof si);
	si.store_path = cli_data_path(c, CLI_STORE_FILE);
	rc = store_user_get(c->st, &si.user);
	if (rc < 0 && rc != -STORE_ERR_NOTFOUND) {
		cli_store_error(c, rc, "reading the user");
		goto out;
	}
	rc = store_password_is_set(c->st);
	if (rc < 0) {
		cli_store_error(c, rc, "reading the password state");
		goto out;
	}
	si.password_set = rc > 0;
	rc = store_device_list(c->st, &devs, &si.devices);
	if (rc < 0) {
		cli_store_error(c, rc, "listing the devices");
		goto out;
	}
	store_device_list_free(devs, si.devices);
	rc = store_acct_list(c->st, &si.accts, &si.naccts);
	if (rc < 0) {
		cli_store_error(c, rc, "listing the accounts");
		goto out;
	}
	rc = retention_get_days(c->st, &si.trash_days, &si.junk_days);
	if (rc < 0) {
		cli_store_error(c, rc, "reading the retention settings");
		goto out;
	}
	rc = store_file_size(c->st, &si.store_size);
	if (rc < 0) {
		cli_store_error(c, rc, "reading the store size");
		goto out;
	}
	rc = store_folder_list(c->st, &si.folders, &si.nfolders);
	if (rc < 0) {
		cli_store_error(c, rc, "listing the folders");
		goto out;
	}
	si.fst = xcalloc(si.nfolders ? si.nfolders : 1, sizeof *si.fst);
	for (i = 0; i < si.nfolders; i++) {
		if (si.folders[i].noselect)
			continue;
		rc = store_folder_status(c->st, si.folders[i].id, &si.fst[i]);
		if (rc < 0) {
			cli_store_error(c, rc, si.folders[i].name);
			goto out;
		}
	}
	if (opts[0].value != NULL)
		print_json(c, &si);
	else
		print_text(c, &si);
	ret = CLI_EXIT_OK;
out:
	free(si.user);
	free(si.store_path);
	free(si.fst);
	store_folder_list_free(si.folders, si.nfolders);
	if (si.accts != NULL)
		store_acct_list_free(si.accts, si.naccts);
	return ret;
}
