/*
 * bridge/imap_cmd_append.c: APPEND (RFC 3501 6.3.11) with APPENDUID
 * (RFC 4315), literal8 (RFC 3516) and APPENDLIMIT (RFC 7889). The literal
 * was already capped (and spooled to disk when large) by imap_parser; the
 * message is stored in one transaction, so a client that drops mid-APPEND
 * leaves nothing behind.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/limits.h"
#include "../common/xalloc.h"
#include "imap_cmd.h"
#include "imap_server.h"
#include "imap_session.h"
#include "imap_write.h"

int
cmd_append(struct imap_session *s, const struct imap_arg *args, size_t nargs)
{
	struct store_folder f;
	struct store_append a;
	struct buf kw;
	const struct imap_arg *msg;
	size_t i = 1;
	uint32_t uid = 0, uidvalidity = 0;
	const char *err = NULL;
	char *name;
	int r;

	memset(&a, 0, sizeof a);
	if (nargs < 2 || nargs > 5)
		return imap_bad(s, "APPEND needs a folder and a message");
	buf_init(&kw, (size_t)KEYWORDS_PER_FOLDER_MAX * (KEYWORD_LEN_MAX + 1));
	if (args[i].type == IMAP_ARG_LIST) {
		if (imap_parse_flags(&args[i], &a.flags, &kw, &err) < 0) {
			buf_clear(&kw);
			return imap_bad(s, err);
		}
		i++;
	}
	if (i < nargs - 1 && !imap_arg_atom_is(&args[i], "UTF8")) {
		if (args[i].type != IMAP_ARG_STRING ||
		    imap_parse_datetime(args[i].s, args[i].len,
					&a.internaldate,
					&a.internaldate_tz) < 0) {
			buf_clear(&kw);
			return imap_bad(s, "Invalid date-time");
		}
		i++;
	}
	if (s->utf8_accept && i == nargs - 2 &&
	    imap_arg_atom_is(&args[i], "UTF8") &&
	    args[i + 1].type == IMAP_ARG_LIST && args[i + 1].nlist == 1 &&
	    args[i + 1].list[0].type == IMAP_ARG_LITERAL) {
		/* RFC 6855 4: UTF8 (~{N}...) */
		msg = &args[i + 1].list[0];
	} else if (i != nargs - 1 || args[i].type != IMAP_ARG_LITERAL) {
		buf_clear(&kw);
		return imap_bad(s, "Message literal expected");
	} else {
		msg = &args[i];
	}
	if (msg->len == 0) {
		buf_clear(&kw);
		return imap_tagged(s, "NO", "[CANNOT] Empty message");
	}
	name = imap_session_folder_arg(s, &args[0]);
	if (name == NULL) {
		buf_clear(&kw);
		return CMD_DONE;
	}
	r = store_folder_get(s->srv->st, name, &f);
	free(name);
	if (r == -STORE_ERR_NOTFOUND || (r == 0 && f.noselect)) {
		if (r == 0)
			store_folder_clear(&f);
		buf_clear(&kw);
		return imap_tagged(s, "NO", "[TRYCREATE] No such folder");
	}
	if (r < 0) {
		buf_clear(&kw);
		return imap_reply_store_error(s, r, "APPEND");
	}
	a.raw = msg->s;
	a.len = msg->len;
	a.keywords = kw.len ? buf_cstr(&kw) : NULL;
	r = store_msg_append(s->srv->st, f.id, &a, &uid, &uidvalidity);
	buf_clear(&kw);
	if (r < 0) {
		store_folder_clear(&f);
		return imap_reply_store_error(s, r, "APPEND");
	}
	notify_folder_changed(s->srv, s, f.id);
	store_folder_clear(&f);
	return imap_tagged(s, "OK", "[APPENDUID %u %u] APPEND completed",
			   uidvalidity, uid);
}
