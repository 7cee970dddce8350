/*
 * bridge/imap_cmd_table.c: the IMAP command table: name, handler and the
 * states each command is valid in (RFC 3501 section 6, RFC 9051).
 */
#include <string.h>

#include "imap_cmd.h"
#include "imap_session.h"

#define ANY (CMDF_NOTAUTH | CMDF_AUTH)
#define AUTHD CMDF_AUTH
#define SEL (CMDF_AUTH | CMDF_SELECTED)

static const struct imap_cmd_def commands[] = {
	{ "APPEND", cmd_append, AUTHD },
	{ "AUTHENTICATE", cmd_authenticate, CMDF_NOTAUTH },
	{ "CAPABILITY", cmd_capability, ANY },
	{ "CHECK", cmd_check, SEL },
	{ "CLOSE", cmd_close, SEL },
	{ "COPY", cmd_copy, SEL | CMDF_UID },
	{ "CREATE", cmd_create, AUTHD },
	{ "DELETE", cmd_delete, AUTHD },
	{ "ENABLE", cmd_enable, AUTHD },
	{ "EXAMINE", cmd_examine, AUTHD },
	{ "EXPUNGE", cmd_expunge, SEL | CMDF_UID },
	{ "FETCH", cmd_fetch, SEL | CMDF_UID | CMDF_NO_EXPUNGE },
	{ "ID", cmd_id, ANY },
	{ "IDLE", cmd_idle, AUTHD },
	{ "LIST", cmd_list, AUTHD },
	{ "LOGIN", cmd_login, CMDF_NOTAUTH },
	{ "LOGOUT", cmd_logout, ANY },
	{ "LSUB", cmd_lsub, AUTHD },
	{ "MOVE", cmd_move, SEL | CMDF_UID },
	{ "NAMESPACE", cmd_namespace, AUTHD },
	{ "NOOP", cmd_noop, ANY },
	{ "RENAME", cmd_rename, AUTHD },
	{ "SEARCH", cmd_search, SEL | CMDF_UID | CMDF_NO_EXPUNGE },
	{ "SELECT", cmd_select, AUTHD },
	{ "STARTTLS", cmd_starttls, CMDF_NOTAUTH },
	{ "STATUS", cmd_status, AUTHD },
	{ "STORE", cmd_store, SEL | CMDF_UID | CMDF_NO_EXPUNGE },
	{ "SUBSCRIBE", cmd_subscribe, AUTHD },
	{ "UNSELECT", cmd_unselect, SEL },
	{ "UNSUBSCRIBE", cmd_unsubscribe, AUTHD },
};

const struct imap_cmd_def *
imap_cmd_find(const char *name)
{
	size_t lo = 0, hi = sizeof commands / sizeof commands[0];

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, commands[mid].name);
		if (c == 0)
			return &commands[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}
