/*
 * bridge/imap_cmd_msg.c: commands on the selected folder's messages
 * (RFC 3501 6.4): CHECK, CLOSE, UNSELECT (RFC 3691), EXPUNGE and UID
 * EXPUNGE (RFC 4315), STORE with UNCHANGEDSINCE (RFC 7162), COPY with
 * COPYUID (RFC 4315), MOVE (RFC 6851).
 */
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/limits.h"
#include "../common/str.h"
#include "../common/xalloc.h"
#include "imap_cmd.h"
#include "imap_seqset.h"
#include "imap_server.h"
#include "imap_session.h"
#include "imap_write.h"

int
cmd_check(struct imap_session *s, const struct imap_arg *args, size_t nargs)
{
	if (nargs != 0)
		return imap_bad(s, "CHECK takes no arguments");
	return imap_tagged(s, "OK", "CHECK completed");
}

static void
unselect(struct imap_session *s)
{
	imap_view_free(&s->view);
	s->state = IMAP_STATE_AUTH;
}

int
cmd_close(struct imap_session *s, const struct imap_arg *args, size_t nargs)
{
	if (nargs != 0)
		return imap_bad(s, "CLOSE takes no arguments");
	if (!s->view->readonly) {
		uint32_t *uids = NULL;
		size_t n = 0;
		int64_t fid = s->view->folder_id;
		/* Silent expunge (no EXPUNGE responses, RFC 3501 6.4.2). */
		if (store_msg_expunge(s->srv->st, fid, NULL, 0, &uids, &n) ==
			    0 &&
		    n)
			notify_folder_changed(s->srv, s, fid);
		free(uids);
	}
	unselect(s);
	return imap_tagged(s, "OK", "CLOSE completed");
}

int
cmd_unselect(struct imap_session *s, const struct imap_arg *args,
	     size_t nargs)
{
	if (nargs != 0)
		return imap_bad(s, "UNSELECT takes no arguments");
	unselect(s);
	return imap_tagged(s, "OK", "UNSELECT completed");
}

int
cmd_expunge(struct imap_session *s, const struct imap_arg *args,
	    size_t nargs)
{
	struct imap_seqset set = { NULL, 0, 0 };
	uint32_t *uids = NULL;
	size_t n = 0;
	int r;

	if (nargs != (size_t)(s->cmd_uid ? 1 : 0))
		return imap_bad(s, s->cmd_uid ? "UID EXPUNGE needs a UID set"
					      : "EXPUNGE takes no arguments");
	if (s->view->readonly)
		return imap_tagged(s, "NO", "[READ-ONLY] Folder is read-only");
	if (s->cmd_uid && imap_session_uidset(s, &args[0], 1, &set) < 0)
		return CMD_DONE;
	if (s->cmd_uid && set.n == 0) {
		imap_seqset_clear(&set);
		return imap_tagged(s, "OK", "EXPUNGE completed");
	}
	r = store_msg_expunge(s->srv->st, s->view->folder_id,
			      s->cmd_uid ? set.r : NULL, s->cmd_uid ? set.n : 0,
			      &uids, &n);
	imap_seqset_clear(&set);
	if (r < 0)
		return imap_reply_store_error(s, r, "EXPUNGE");
	imap_view_report_removed(s, uids, n);
	free(uids);
	if (n)
		notify_folder_changed(s->srv, s, s->view->folder_id);
	return imap_tagged(s, "OK", "EXPUNGE completed");
}

struct store_ctx {
	struct imap_session *s;
};

static void
store_changed_cb(uint32_t uid, uint32_t flags, const char *keywords,
		 uint64_t modseq, void *ctx)
{
	struct store_ctx *c = ctx;
	(void)flags;
	(void)keywords;
	imap_view_own_change(c->s, uid, modseq);
}

struct store_out {
	struct imap_session *s;
	struct buf b;
	int uid, condstore;
};

static int
store_out_cb(const struct store_msg *m, void *ctx)
{
	struct store_out *o = ctx;
	struct imap_view *v = o->s->view;
	uint32_t seq = imap_view_seq(v, m->uid);

	if (seq == 0)
		return 0;
	buf_reset(&o->b);
	buf_printf(&o->b, "* %u FETCH (", seq);
	if (o->uid)
		buf_printf(&o->b, "UID %u ", m->uid);
	buf_addstr(&o->b, "FLAGS ");
	imap_write_flags(&o->b, m->flags, m->keywords,
			 m->uid >= v->first_recent);
	if (o->condstore)
		buf_printf(&o->b, " MODSEQ (%llu)",
			   (unsigned long long)m->modseq);
	buf_addstr(&o->b, ")\r\n");
	imap_send_raw(o->s, o->b.data, o->b.len);
	return 0;
}

int
cmd_store(struct imap_session *s, const struct imap_arg *args, size_t nargs)
{
	struct imap_seqset set;
	enum store_flag_op op;
	uint64_t unchangedsince = 0;
	uint32_t flags, *failed = NULL;
	size_t nfailed = 0, ai = 1;
	struct buf kw;
	struct str item;
	int silent = 0, r;
	const char *err = NULL;
	struct store_ctx ctx;

	if (nargs < 3)
		return imap_bad(s, "STORE needs a set, an item and flags");
	if (args[1].type == IMAP_ARG_LIST) {
		/* (UNCHANGEDSINCE n) */
		const struct imap_arg *m = &args[1];
		if (m->nlist != 2 ||
		    !imap_arg_atom_is(&m->list[0], "UNCHANGEDSINCE") ||
		    m->list[1].type != IMAP_ARG_ATOM ||
		    str_to_u64(str_make(m->list[1].s, m->list[1].len),
			       INT64_MAX, &unchangedsince) < 0)
			return imap_bad(s, "Invalid STORE modifier");
		s->condstore = 1;
		ai = 2;
		if (nargs < 4)
			return imap_bad(s, "STORE needs flags");
	}
	if (args[ai].type != IMAP_ARG_ATOM || nargs - ai < 2)
		return imap_bad(s, "Invalid STORE item");
	item = str_make(args[ai].s, args[ai].len);
	if (item.len > 7 && str_eqi_cstr(str_make(item.p + item.len - 7, 7),
					  ".SILENT")) {
		silent = 1;
		item.len -= 7;
	}
	if (str_eqi_cstr(item, "FLAGS"))
		op = STORE_FLAGS_SET;
	else if (str_eqi_cstr(item, "+FLAGS"))
		op = STORE_FLAGS_ADD;
	else if (str_eqi_cstr(item, "-FLAGS"))
		op = STORE_FLAGS_DEL;
	else
		return imap_bad(s, "Invalid STORE item");
	buf_init(&kw, (size_t)KEYWORDS_PER_FOLDER_MAX * (KEYWORD_LEN_MAX + 1));
	if (nargs - ai == 2) {
		r = imap_parse_flags(&args[ai + 1], &flags, &kw, &err);
	} else {
		/* Flags given without parentheses: "+FLAGS \Seen \Deleted". */
		struct imap_arg l;
		memset(&l, 0, sizeof l);
		l.type = IMAP_ARG_LIST;
		l.list = (struct imap_arg *)(uintptr_t)&args[ai + 1];
		l.nlist = nargs - ai - 1;
		r = imap_parse_flags(&l, &flags, &kw, &err);
	}
	if (r < 0) {
		buf_clear(&kw);
		return imap_bad(s, err);
	}
	if (s->view->readonly) {
		buf_clear(&kw);
		return imap_tagged(s, "NO", "[READ-ONLY] Folder is read-only");
	}
	if (imap_session_uidset(s, &args[0], s->cmd_uid, &set) < 0) {
		buf_clear(&kw);
		return CMD_DONE;
	}
	/* Report other sessions' changes before ours (no EXPUNGE here). */
	imap_view_sync(s, s->cmd_uid);
	ctx.s = s;
	r = set.n ? store_msg_set_flags(s->srv->st, s->view->folder_id, set.r,
					set.n, op, flags, buf_cstr(&kw),
					unchangedsince, store_changed_cb, &ctx,
					&failed, &nfailed)
		  : 0;
	buf_clear(&kw);
	if (r < 0) {
		imap_seqset_clear(&set);
		return imap_reply_store_error(s, r, "STORE");
	}
	if (s->view->nown)
		notify_folder_changed(s->srv, s, s->view->folder_id);
	if ((!silent || unchangedsince) && set.n) {
		struct store_out o;
		o.s = s;
		o.uid = s->cmd_uid;
		o.condstore = s->condstore;
		buf_init(&o.b, 0);
		store_msg_iter(s->srv->st, s->view->folder_id, set.r, set.n,
			       STORE_WANT_BASIC, store_out_cb, &o);
		buf_clear(&o.b);
	}
	/* Flags may now hold keywords the client has not seen in FLAGS. */
	imap_seqset_clear(&set);
	if (nfailed) {
		struct buf b;
		size_t i;
		buf_init(&b, 0);
		if (s->cmd_uid) {
			imap_seqset_format_uids(failed, nfailed, &b);
		} else {
			uint32_t *seqs = xcalloc(nfailed, sizeof *seqs);
			size_t k = 0;
			for (i = 0; i < nfailed; i++) {
				uint32_t q = imap_view_seq(s->view, failed[i]);
				if (q)
					seqs[k++] = q;
			}
			imap_seqset_format_uids(seqs, k, &b);
			free(seqs);
		}
		free(failed);
		imap_tagged(s, "OK", "[MODIFIED %s] Conditional STORE failed",
			    buf_cstr(&b));
		buf_clear(&b);
		return CMD_DONE;
	}
	free(failed);
	return imap_tagged(s, "OK", "STORE completed");
}

static int
do_copy(struct imap_session *s, const struct imap_arg *args, size_t nargs,
	int move)
{
	const char *cmd = move ? "MOVE" : "COPY";
	struct imap_seqset set;
	struct store_folder dst;
	uint32_t *src_uids = NULL, *dst_uids = NULL, uidvalidity = 0;
	size_t n = 0;
	char *name;
	int r;

	if (nargs != 2)
		return imap_bad(s, "Needs a message set and a folder");
	if (move && s->view->readonly)
		return imap_tagged(s, "NO", "[READ-ONLY] Folder is read-only");
	name = imap_session_folder_arg(s, &args[1]);
	if (name == NULL)
		return CMD_DONE;
	if (imap_session_uidset(s, &args[0], s->cmd_uid, &set) < 0) {
		free(name);
		return CMD_DONE;
	}
	r = store_folder_get(s->srv->st, name, &dst);
	free(name);
	if (r == -STORE_ERR_NOTFOUND || (r == 0 && dst.noselect)) {
		if (r == 0)
			store_folder_clear(&dst);
		imap_seqset_clear(&set);
		return imap_tagged(s, "NO",
				   "[TRYCREATE] No such destination folder");
	}
	if (r < 0) {
		imap_seqset_clear(&set);
		return imap_reply_store_error(s, r, cmd);
	}
	if (set.n == 0) {
		imap_seqset_clear(&set);
		store_folder_clear(&dst);
		return imap_tagged(s, "OK", "%s completed (no messages)", cmd);
	}
	if (move && dst.id == s->view->folder_id) {
		imap_seqset_clear(&set);
		store_folder_clear(&dst);
		return imap_tagged(s, "NO",
				   "[CANNOT] Source and destination are the "
				   "same folder");
	}
	r = store_msg_copy(s->srv->st, s->view->folder_id, set.r, set.n,
			   dst.id, move, &src_uids, &dst_uids, &n,
			   &uidvalidity);
	imap_seqset_clear(&set);
	if (r < 0) {
		store_folder_clear(&dst);
		return imap_reply_store_error(s, r, cmd);
	}
	notify_folder_changed(s->srv, s, dst.id);
	store_folder_clear(&dst);
	if (n == 0)
		return imap_tagged(s, "OK", "%s completed", cmd);
	{
		struct buf a, b;
		buf_init(&a, 0);
		buf_init(&b, 0);
		imap_seqset_format_uids(src_uids, n, &a);
		/* dst UIDs are ascending in the order of src: a plain list
		 * keeps the pairing (RFC 4315 uid-set order matters). */
		imap_seqset_format_uids(dst_uids, n, &b);
		if (move) {
			imap_send(s, "* OK [COPYUID %u %s %s] Moved\r\n",
				  uidvalidity, buf_cstr(&a), buf_cstr(&b));
			imap_view_report_removed(s, src_uids, n);
			notify_folder_changed(s->srv, s, s->view->folder_id);
			imap_tagged(s, "OK", "MOVE completed");
		} else {
			imap_tagged(s, "OK", "[COPYUID %u %s %s] COPY completed",
				    uidvalidity, buf_cstr(&a), buf_cstr(&b));
		}
		buf_clear(&a);
		buf_clear(&b);
	}
	free(src_uids);
	free(dst_uids);
	return CMD_DONE;
}

int
cmd_copy(struct imap_session *s, const struct imap_arg *args, size_t nargs)
{
	return do_copy(s, args, nargs, 0);
}

int
cmd_move(struct imap_session *s, const struct imap_arg *args, size_t nargs)
{
	return do_copy(s, args, nargs, 1);
}
