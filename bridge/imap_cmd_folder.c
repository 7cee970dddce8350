/*
 * bridge/imap_cmd_folder.c: folder commands (RFC 3501 6.3): SELECT and
 * EXAMINE (with RFC 7162 CONDSTORE/QRESYNC parameters), CREATE, DELETE,
 * RENAME, SUBSCRIBE, UNSUBSCRIBE, STATUS (RFC 8438 SIZE, RFC 7162
 * HIGHESTMODSEQ, RFC 9051 DELETED), NAMESPACE (RFC 2342).
 */
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/limits.h"
#include "../common/log.h"
#include "../common/str.h"
#include "../common/xalloc.h"
#include "imap_cmd.h"
#include "imap_seqset.h"
#include "imap_server.h"
#include "imap_session.h"
#include "imap_write.h"

struct qresync_args {
	uint32_t uidvalidity;
	uint64_t modseq;
	struct imap_seqset known; /* UIDs the client knows (may be empty) */
};

static int
parse_select_params(struct imap_session *s, const struct imap_arg *a,
		    int *condstore_r, int *qresync_r, struct qresync_args *q)
{
	size_t i;

	for (i = 0; i < a->nlist; i++) {
		const struct imap_arg *p = &a->list[i];
		if (imap_arg_atom_is(p, "CONDSTORE")) {
			*condstore_r = 1;
		} else if (imap_arg_atom_is(p, "QRESYNC") &&
			   i + 1 < a->nlist &&
			   a->list[i + 1].type == IMAP_ARG_LIST) {
			const struct imap_arg *ql = &a->list[++i];
			uint64_t v;
			if (!s->qresync)
				return -1;
			if (ql->nlist < 2 || ql->list[0].type != IMAP_ARG_ATOM ||
			    ql->list[1].type != IMAP_ARG_ATOM ||
			    str_to_u64(str_make(ql->list[0].s, ql->list[0].len),
				       UINT32_MAX, &v) < 0 || v == 0)
				return -1;
			q->uidvalidity = (uint32_t)v;
			if (str_to_u64(str_make(ql->list[1].s, ql->list[1].len),
				       INT64_MAX, &q->modseq) < 0 ||
			    q->modseq == 0)
				return -1;
			if (ql->nlist >= 3) {
				if (ql->list[2].type != IMAP_ARG_ATOM ||
				    imap_seqset_parse(ql->list[2].s,
						      ql->list[2].len,
						      &q->known) < 0)
					return -1;
			}
			*qresync_r = 1;
		} else {
			return -1;
		}
	}
	return 0;
}

/* RFC 7162 3.2.5.1: VANISHED (EARLIER) and FETCHes of what changed. */
static void
qresync_report(struct imap_session *s, const struct qresync_args *q)
{
	struct imap_view *v = s->view;
	struct store_change *ch = NULL;
	uint32_t *uids = NULL;
	size_t n = 0, i;
	struct buf b;

	if (q->uidvalidity != v->uidvalidity)
		return;
	buf_init(&b, 0);
	if (store_expunged_since(s->srv->st, v->folder_id, q->modseq, &uids,
				 &n) == 0 &&
	    n > 0) {
		uint32_t *sel = xcalloc(n, sizeof *sel);
		size_t ns = 0;
		for (i = 0; i < n; i++)
			if (q->known.n == 0 ||
			    imap_seqset_contains(&q->known, uids[i]))
				sel[ns++] = uids[i];
		imap_view_send_vanished(s, sel, ns, 1);
		free(sel);
	}
	free(uids);
	if (store_changes_since(s->srv->st, v->folder_id, q->modseq, &ch, &n) ==
	    0) {
		for (i = 0; i < n; i++) {
			uint32_t seq = imap_view_seq(v, ch[i].uid);
			if (seq == 0)
				continue;
			if (q->known.n && !imap_seqset_contains(&q->known,
								ch[i].uid))
				continue;
			imap_view_send_change(s, seq, &ch[i], 1, &b);
		}
		store_changes_free(ch, n);
	}
	buf_clear(&b);
}

static int
do_select(struct imap_session *s, const struct imap_arg *args, size_t nargs,
	  int readonly)
{
	struct store_folder f;
	struct imap_view *v;
	struct qresync_args q;
	int condstore = 0, qresync = 0, r;
	uint32_t unseen_uid = 0;
	char *name;
	const char *cmdname = readonly ? "EXAMINE" : "SELECT";

	memset(&q, 0, sizeof q);
	if (nargs < 1 || nargs > 2 ||
	    (nargs == 2 && args[1].type != IMAP_ARG_LIST))
		return imap_bad(s, "SELECT needs a folder name");
	if (nargs == 2 &&
	    parse_select_params(s, &args[1], &condstore, &qresync, &q) < 0) {
		imap_seqset_clear(&q.known);
		return imap_bad(s, "Invalid SELECT parameters");
	}
	if (condstore)
		s->condstore = 1;
	name = imap_session_folder_arg(s, &args[0]);
	if (name == NULL) {
		imap_seqset_clear(&q.known);
		return CMD_DONE;
	}
	/* A failed SELECT leaves no folder selected (RFC 3501 6.3.1). */
	if (s->view) {
		imap_view_free(&s->view);
		s->state = IMAP_STATE_AUTH;
		if (s->qresync || s->rev2)
			imap_send(s, "* OK [CLOSED] Previous folder closed\r\n");
	}
	r = store_folder_get(s->srv->st, name, &f);
	if (r == 0 && f.noselect) {
		store_folder_clear(&f);
		free(name);
		imap_seqset_clear(&q.known);
		return imap_tagged(s, "NO", "[CANNOT] Folder cannot be selected");
	}
	if (r < 0) {
		free(name);
		imap_seqset_clear(&q.known);
		return imap_reply_store_error(s, r, cmdname);
	}
	v = xcalloc(1, sizeof *v);
	v->folder_id = f.id;
	v->name = name;
	v->uidvalidity = f.uidvalidity;
	v->readonly = readonly;
	/* Read the watermark first: anything committed after it is reported
	 * by the next sync (possibly twice, which is harmless). */
	v->known_modseq = f.highestmodseq;
	v->known_exp_modseq = f.highestmodseq;
	if (store_folder_uids(s->srv->st, f.id, &v->uids, &v->n, NULL) < 0) {
		store_folder_clear(&f);
		imap_view_free(&v);
		return imap_reply_store_error(s, -STORE_ERR_INTERNAL, cmdname);
	}
	v->alloc = v->n;
	if (readonly ||
	    store_folder_claim_recent(s->srv->st, f.id, &v->first_recent) < 0)
		v->first_recent = UINT32_MAX;
	s->view = v;
	s->state = IMAP_STATE_SELECTED;

	imap_view_send_flags(s);
	imap_send(s, "* %zu EXISTS\r\n", v->n);
	if (!s->rev2) {
		uint32_t recent = 0;
		size_t j;
		for (j = v->n; j-- > 0 && v->uids[j] >= v->first_recent;)
			recent++;
		imap_send(s, "* %u RECENT\r\n", recent);
		store_folder_first_unseen(s->srv->st, f.id, &unseen_uid);
		if (unseen_uid)
			imap_send(s, "* OK [UNSEEN %u] First unseen\r\n",
				  imap_view_seq(v, unseen_uid));
	}
	imap_send(s, "* OK [UIDVALIDITY %u] UIDs valid\r\n", f.uidvalidity);
	imap_send(s, "* OK [UIDNEXT %u] Predicted next UID\r\n", f.uidnext);
	imap_send(s, "* OK [HIGHESTMODSEQ %llu] Highest\r\n",
		  (unsigned long long)f.highestmodseq);
	if (s->rev2) {
		struct buf b;
		buf_init(&b, 0);
		buf_addstr(&b, "* LIST () \"/\" ");
		imap_session_folder_out(s, &b, v->name);
		buf_addstr(&b, "\r\n");
		imap_send_raw(s, b.data, b.len);
		buf_clear(&b);
	}
	if (qresync)
		qresync_report(s, &q);
	imap_seqset_clear(&q.known);
	store_folder_clear(&f);
	return imap_tagged(s, "OK", "[%s] %s completed",
			   readonly ? "READ-ONLY" : "READ-WRITE", cmdname);
}

int
cmd_select(struct imap_session *s, const struct imap_arg *args, size_t nargs)
{
	return do_select(s, args, nargs, 0);
}

int
cmd_examine(struct imap_session *s, const struct imap_arg *args,
	    size_t nargs)
{
	return do_select(s, args, nargs, 1);
}

int
cmd_create(struct imap_session *s, const struct imap_arg *args, size_t nargs)
{
	char *name;
	size_t len;
	int r;

	if (nargs < 1 || nargs > 2)
		return imap_bad(s, "CREATE needs a folder name");
	name = imap_session_folder_arg(s, &args[0]);
	if (name == NULL)
		return CMD_DONE;
	/* A trailing delimiter only says a parent is meant (RFC 3501). */
	len = strlen(name);
	if (len > 1 && name[len - 1] == '/')
		name[len - 1] = '\0';
	if (strcmp(name, "INBOX") == 0) {
		free(name);
		return imap_tagged(s, "NO", "[ALREADYEXISTS] INBOX exists");
	}
	r = store_folder_create(s->srv->st, name, STORE_SPECIAL_NONE, NULL);
	free(name);
	if (r < 0)
		return imap_reply_store_error(s, r, "CREATE");
	return imap_tagged(s, "OK", "CREATE completed");
}

int
cmd_delete(struct imap_session *s, const struct imap_arg *args, size_t nargs)
{
	char *name;
	int r;

	if (nargs != 1)
		return imap_bad(s, "DELETE needs a folder name");
	name = imap_session_folder_arg(s, &args[0]);
	if (name == NULL)
		return CMD_DONE;
	if (strcmp(name, "INBOX") == 0) {
		free(name);
		return imap_tagged(s, "NO", "[CANNOT] INBOX cannot be deleted");
	}
	if (s->view && strcmp(s->view->name, name) == 0) {
		/* Deleting the selected folder: unselect first. */
		imap_view_free(&s->view);
		s->state = IMAP_STATE_AUTH;
	}
	r = store_folder_delete(s->srv->st, name);
	free(name);
	if (r < 0)
		return imap_reply_store_error(s, r, "DELETE");
	return imap_tagged(s, "OK", "DELETE completed");
}

int
cmd_rename(struct imap_session *s, const struct imap_arg *args, size_t nargs)
{
	char *from, *to;
	int r;

	if (nargs != 2)
		return imap_bad(s, "RENAME needs two folder names");
	from = imap_session_folder_arg(s, &args[0]);
	if (from == NULL)
		return CMD_DONE;
	to = imap_session_folder_arg(s, &args[1]);
	if (to == NULL) {
		free(from);
		return CMD_DONE;
	}
	if (strcmp(to, "INBOX") == 0) {
		free(from);
		free(to);
		return imap_tagged(s, "NO", "[ALREADYEXISTS] INBOX exists");
	}
	r = store_folder_rename(s->srv->st, from, to);
	free(from);
	free(to);
	if (r < 0)
		return imap_reply_store_error(s, r, "RENAME");
	return imap_tagged(s, "OK", "RENAME completed");
}

static int
do_subscribe(struct imap_session *s, const struct imap_arg *args,
	     size_t nargs, int on)
{
	char *name;
	int r;

	if (nargs != 1)
		return imap_bad(s, "Folder name expected");
	name = imap_session_folder_arg(s, &args[0]);
	if (name == NULL)
		return CMD_DONE;
	r = store_folder_subscribe(s->srv->st, name, on);
	free(name);
	if (r < 0)
		return imap_reply_store_error(s, r,
					      on ? "SUBSCRIBE" : "UNSUBSCRIBE");
	return imap_tagged(s, "OK", "%s completed",
			   on ? "SUBSCRIBE" : "UNSUBSCRIBE");
}

int
cmd_subscribe(struct imap_session *s, const struct imap_arg *args,
	      size_t nargs)
{
	return do_subscribe(s, args, nargs, 1);
}

int
cmd_unsubscribe(struct imap_session *s, const struct imap_arg *args,
		size_t nargs)
{
	return do_subscribe(s, args, nargs, 0);
}

int
cmd_namespace(struct imap_session *s, const struct imap_arg *args,
	      size_t nargs)
{
	if (nargs != 0)
		return imap_bad(s, "NAMESPACE takes no arguments");
	imap_send(s, "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
	return imap_tagged(s, "OK", "NAMESPACE completed");
}

int
imap_status_items(struct imap_session *s, int64_t folder_id,
		  const struct imap_arg *items, size_t nitems, struct buf *out)
{
	struct store_folder_status st;
	size_t i;
	int r = store_folder_status(s->srv->st, folder_id, &st);

	if (r < 0)
		return r;
	/* A session with this folder selected counts its own view. */
	buf_addc(out, '(');
	for (i = 0; i < nitems; i++) {
		struct str it = str_make(items[i].s, items[i].len);
		if (i)
			buf_addc(out, ' ');
		if (str_eqi_cstr(it, "MESSAGES"))
			buf_printf(out, "MESSAGES %u", st.messages);
		else if (str_eqi_cstr(it, "RECENT"))
			buf_printf(out, "RECENT %u", st.recent);
		else if (str_eqi_cstr(it, "UIDNEXT"))
			buf_printf(out, "UIDNEXT %u", st.uidnext);
		else if (str_eqi_cstr(it, "UIDVALIDITY"))
			buf_printf(out, "UIDVALIDITY %u", st.uidvalidity);
		else if (str_eqi_cstr(it, "UNSEEN"))
			buf_printf(out, "UNSEEN %u", st.unseen);
		else if (str_eqi_cstr(it, "DELETED"))
			buf_printf(out, "DELETED %u", st.deleted);
		else if (str_eqi_cstr(it, "SIZE"))
			buf_printf(out, "SIZE %llu",
				   (unsigned long long)st.size);
		else if (str_eqi_cstr(it, "HIGHESTMODSEQ"))
			buf_printf(out, "HIGHESTMODSEQ %llu",
				   (unsigned long long)st.highestmodseq);
		else if (str_eqi_cstr(it, "APPENDLIMIT"))
			buf_printf(out, "APPENDLIMIT %u",
				   (unsigned)IMAP_MAX_LITERAL);
	}
	buf_addc(out, ')');
	return 0;
}

/* 1 when every item is a STATUS item we know. */
static int
status_items_valid(const struct imap_arg *a)
{
	static const char *const known[] = { "MESSAGES", "RECENT", "UIDNEXT",
					     "UIDVALIDITY", "UNSEEN",
					     "DELETED", "SIZE",
					     "HIGHESTMODSEQ", "APPENDLIMIT" };
	size_t i, k;

	if (a->type != IMAP_ARG_LIST || a->nlist == 0)
		return 0;
	for (i = 0; i < a->nlist; i++) {
		int ok = 0;
		if (a->list[i].type != IMAP_ARG_ATOM)
			return 0;
		for (k = 0; k < sizeof known / sizeof known[0]; k++)
			if (imap_arg_atom_is(&a->list[i], known[k]))
				ok = 1;
		if (!ok)
			return 0;
	}
	return 1;
}

int
imap_status_items_check(const struct imap_arg *a)
{
	return status_items_valid(a);
}

int
cmd_status(struct imap_session *s, const struct imap_arg *args, size_t nargs)
{
	struct store_folder f;
	struct buf b;
	char *name;
	int r;

	if (nargs != 2 || !status_items_valid(&args[1]))
		return imap_bad(s, "STATUS needs a folder and a list of items");
	name = imap_session_folder_arg(s, &args[0]);
	if (name == NULL)
		return CMD_DONE;
	r = store_folder_get(s->srv->st, name, &f);
	if (r == 0 && f.noselect) {
		store_folder_clear(&f);
		free(name);
		return imap_tagged(s, "NO",
				   "[NONEXISTENT] STATUS failed: the folder "
				   "only holds other folders");
	}
	if (r < 0) {
		free(name);
		return imap_reply_store_error(s, r, "STATUS");
	}
	if (s->condstore == 0) {
		size_t i;
		for (i = 0; i < args[1].nlist; i++)
			if (imap_arg_atom_is(&args[1].list[i], "HIGHESTMODSEQ"))
				s->condstore = 1;
	}
	buf_init(&b, 0);
	buf_addstr(&b, "* STATUS ");
	imap_session_folder_out(s, &b, name);
	buf_addc(&b, ' ');
	r = imap_status_items(s, f.id, args[1].list, args[1].nlist, &b);
	store_folder_clear(&f);
	free(name);
	if (r < 0) {
		buf_clear(&b);
		return imap_reply_store_error(s, r, "STATUS");
	}
	buf_addstr(&b, "\r\n");
	imap_send_raw(s, b.data, b.len);
	buf_clear(&b);
	return imap_tagged(s, "OK", "STATUS completed");
}
