/*
 * bridge/imap_cmd_list.c: LIST and LSUB (RFC 3501 6.3.8-9) with
 * LIST-EXTENDED (RFC 5258: selection SUBSCRIBED, RECURSIVEMATCH,
 * SPECIAL-USE; RETURN SUBSCRIBED, CHILDREN, SPECIAL-USE), LIST-STATUS
 * (RFC 5819) and SPECIAL-USE attributes (RFC 6154). Wildcards: '*' matches
 * anything, '%' anything but the delimiter '/'.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/str.h"
#include "../common/xalloc.h"
#include "imap_cmd.h"
#include "imap_server.h"
#include "imap_session.h"

#define LIST_MAX_PATTERNS 64

/*
 * Wildcard match by dynamic programming over the name, one pattern char
 * at a time: O(|pattern| * |name|) time, O(|name|) memory, no recursion.
 */
static int
pattern_match(const char *pat, const char *name)
{
	size_t n = strlen(name), i;
	unsigned char *cur = xcalloc(n + 1, 1);
	int r;

	cur[0] = 1; /* empty pattern prefix matches empty name prefix */
	for (; *pat; pat++) {
		if (*pat == '*' || *pat == '%') {
			/* cur[i] |= cur[i-1] when name[i-1] may be eaten. */
			for (i = 1; i <= n; i++)
				if (!cur[i] && cur[i - 1] &&
				    (*pat == '*' || name[i - 1] != '/'))
					cur[i] = 1;
		} else {
			for (i = n; i > 0; i--)
				cur[i] = cur[i - 1] && name[i - 1] == *pat;
			cur[0] = 0;
		}
	}
	r = cur[n];
	free(cur);
	return r;
}

/* Matches a name with INBOX compared case-insensitively. */
static int
name_match(const char *pat, const char *name)
{
	if (str_ncasecmp_ascii(pat, "INBOX", 5) == 0 &&
	    (pat[5] == '\0' || pat[5] == '/')) {
		char *p = xstrdup(pat);
		int r;
		memcpy(p, "INBOX", 5);
		r = pattern_match(p, name);
		free(p);
		return r;
	}
	return pattern_match(pat, name);
}

static int
has_children(const struct store_folder *f, size_t n, const char *name)
{
	size_t i, len = strlen(name);
	for (i = 0; i < n; i++)
		if (strncmp(f[i].name, name, len) == 0 &&
		    f[i].name[len] == '/')
			return 1;
	return 0;
}

static int
in_strv(char **v, size_t n, const char *s)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

struct list_opts {
	int sel_subscribed, sel_special, recursivematch;
	int ret_subscribed, ret_children, ret_special;
	const struct imap_arg *ret_status;
	int lsub;
};

static void
list_one(struct imap_session *s, const struct list_opts *o,
	 const struct store_folder *fl, size_t nf, const struct store_folder *f,
	 const char *name, int subscribed, int nonexistent, struct buf *b)
{
	int first = 1;
	const char *sp;

#define ATTR(x)                              \
	do {                                 \
		if (!first)                  \
			buf_addc(b, ' ');    \
		buf_addstr(b, x);            \
		first = 0;                   \
	} while (0)

	buf_reset(b);
	buf_addstr(b, o->lsub ? "* LSUB (" : "* LIST (");
	if (nonexistent) {
		ATTR(o->lsub ? "\\Noselect" : "\\NonExistent");
	} else {
		if (f->noselect)
			ATTR("\\Noselect");
		if (has_children(fl, nf, name))
			ATTR("\\HasChildren");
		else
			ATTR("\\HasNoChildren");
		sp = store_special_name(f->special);
		if (sp && (!o->lsub))
			ATTR(sp);
	}
	if (subscribed && (o->ret_subscribed || o->sel_subscribed))
		ATTR("\\Subscribed");
#undef ATTR
	buf_addstr(b, ") \"/\" ");
	imap_session_folder_out(s, b, name);
	buf_addstr(b, "\r\n");
	imap_send_raw(s, b->data, b->len);
	if (o->ret_status && f && !nonexistent && !f->noselect) {
		buf_reset(b);
		buf_addstr(b, "* STATUS ");
		imap_session_folder_out(s, b, name);
		buf_addc(b, ' ');
		if (imap_status_items(s, f->id, o->ret_status->list,
				      o->ret_status->nlist, b) == 0) {
			buf_addstr(b, "\r\n");
			imap_send_raw(s, b->data, b->len);
		}
	}
}

/*
 * RFC 3501 6.3.9: with "%", a subscribed child whose parent is not
 * subscribed shows the parent (matched by the pattern) as \Noselect.
 */
static void
lsub_parents(struct imap_session *s, const struct list_opts *o,
	     const struct store_folder *fl, size_t nf, char **subs,
	     size_t nsubs, char **pats, size_t npat, struct buf *b)
{
	char **done = NULL;
	size_t ndone = 0, i, p;

	for (i = 0; i < nsubs; i++) {
		const char *slash = subs[i];
		while ((slash = strchr(slash, '/')) != NULL) {
			char *parent = xmemdup0(subs[i],
						(size_t)(slash - subs[i]));
			int m = 0;
			slash++;
			for (p = 0; p < npat; p++)
				if (name_match(pats[p], parent) &&
				    !name_match(pats[p], subs[i]))
					m = 1;
			if (!m || in_strv(subs, nsubs, parent) ||
			    in_strv(done, ndone, parent)) {
				free(parent);
				continue;
			}
			buf_reset(b);
			buf_addstr(b, "* LSUB (\\Noselect) \"/\" ");
			imap_session_folder_out(s, b, parent);
			buf_addstr(b, "\r\n");
			imap_send_raw(s, b->data, b->len);
			done = xreallocarray(done, ndone + 1, sizeof *done);
			done[ndone++] = parent;
		}
	}
	(void)o;
	(void)fl;
	(void)nf;
	store_strv_free(done, ndone);
}

static int
parse_opts(struct imap_session *s, const struct imap_arg *a, int ret,
	   struct list_opts *o)
{
	size_t i;

	if (a->type != IMAP_ARG_LIST)
		return -1;
	for (i = 0; i < a->nlist; i++) {
		const struct imap_arg *x = &a->list[i];
		if (!ret && imap_arg_atom_is(x, "SUBSCRIBED"))
			o->sel_subscribed = 1;
		else if (!ret && imap_arg_atom_is(x, "SPECIAL-USE"))
			o->sel_special = 1;
		else if (!ret && imap_arg_atom_is(x, "RECURSIVEMATCH"))
			o->recursivematch = 1;
		else if (!ret && imap_arg_atom_is(x, "REMOTE"))
			;
		else if (ret && imap_arg_atom_is(x, "SUBSCRIBED"))
			o->ret_subscribed = 1;
		else if (ret && imap_arg_atom_is(x, "CHILDREN"))
			o->ret_children = 1;
		else if (ret && imap_arg_atom_is(x, "SPECIAL-USE"))
			o->ret_special = 1;
		else if (ret && imap_arg_atom_is(x, "STATUS") &&
			 i + 1 < a->nlist &&
			 imap_status_items_check(&a->list[i + 1]))
			o->ret_status = &a->list[++i];
		else
			return -1;
	}
	if (o->recursivematch && !o->sel_subscribed)
		return -1;
	(void)s;
	return 0;
}

static int
do_list(struct imap_session *s, const struct imap_arg *args, size_t nargs,
	int lsub)
{
	struct list_opts o;
	struct store_folder *fl = NULL;
	size_t nf = 0, i, p, npat = 0, ai = 0;
	char **subs = NULL;
	size_t nsubs = 0;
	char *pats[LIST_MAX_PATTERNS];
	char *ref = NULL;
	struct buf b;
	int r;

	memset(&o, 0, sizeof o);
	o.lsub = lsub;
	if (!lsub && nargs > 0 && args[0].type == IMAP_ARG_LIST) {
		if (parse_opts(s, &args[0], 0, &o) < 0)
			return imap_bad(s, "Invalid LIST selection options");
		ai = 1;
	}
	if (nargs < ai + 2)
		return imap_bad(s, "LIST needs a reference and a pattern");
	if (!lsub && nargs == ai + 4 && imap_arg_atom_is(&args[ai + 2], "RETURN")) {
		if (parse_opts(s, &args[ai + 3], 1, &o) < 0)
			return imap_bad(s, "Invalid LIST return options");
	} else if (nargs != ai + 2) {
		return imap_bad(s, "Too many arguments");
	}
	ref = imap_session_folder_arg(s, &args[ai]);
	if (ref == NULL)
		return CMD_DONE;
	/* Patterns: one string, or a list of them (RFC 5258). */
	{
		const struct imap_arg *pa = &args[ai + 1];
		const struct imap_arg *list = pa;
		size_t cnt = 1;
		if (pa->type == IMAP_ARG_LIST && !lsub) {
			list = pa->list;
			cnt = pa->nlist;
		}
		if (cnt == 0 || cnt > LIST_MAX_PATTERNS) {
			free(ref);
			return imap_bad(s, "Invalid pattern list");
		}
		for (i = 0; i < cnt; i++) {
			char *pt = imap_session_folder_arg(s, &list[i]);
			if (pt == NULL) {
				for (p = 0; p < npat; p++)
					free(pats[p]);
				free(ref);
				return CMD_DONE;
			}
			pats[npat++] = pt;
		}
	}
	buf_init(&b, 0);
	if (npat == 1 && pats[0][0] == '\0' && !lsub) {
		/* The delimiter and root of the reference's hierarchy. */
		imap_send(s, "* LIST (\\Noselect) \"/\" \"\"\r\n");
		goto done;
	}
	r = store_folder_list(s->srv->st, &fl, &nf);
	if (r == 0)
		r = store_subscriptions(s->srv->st, &subs, &nsubs);
	if (r < 0) {
		for (p = 0; p < npat; p++)
			free(pats[p]);
		free(ref);
		buf_clear(&b);
		store_folder_list_free(fl, nf);
		return imap_reply_store_error(s, r, lsub ? "LSUB" : "LIST");
	}
	for (p = 0; p < npat; p++) {
		char *full = xasprintf("%s%s", ref, pats[p]);
		free(pats[p]);
		pats[p] = full;
	}
	if (lsub || o.sel_subscribed) {
		/* Subscribed names, existing or not. */
		for (i = 0; i < nsubs; i++) {
			const struct store_folder *f = NULL;
			size_t k;
			int m = 0;
			for (p = 0; p < npat; p++)
				m |= name_match(pats[p], subs[i]);
			if (!m)
				continue;
			for (k = 0; k < nf; k++)
				if (strcmp(fl[k].name, subs[i]) == 0)
					f = &fl[k];
			if (o.sel_special && (f == NULL || !f->special))
				continue;
			list_one(s, &o, fl, nf, f, subs[i], 1, f == NULL, &b);
		}
		if (lsub)
			lsub_parents(s, &o, fl, nf, subs, nsubs, pats, npat,
				     &b);
	} else {
		for (i = 0; i < nf; i++) {
			int m = 0;
			for (p = 0; p < npat; p++)
				m |= name_match(pats[p], fl[i].name);
			if (!m)
				continue;
			if (o.sel_special && !fl[i].special)
				continue;
			list_one(s, &o, fl, nf, &fl[i], fl[i].name,
				 in_strv(subs, nsubs, fl[i].name), 0, &b);
		}
	}
done:
	for (p = 0; p < npat; p++)
		free(pats[p]);
	free(ref);
	buf_clear(&b);
	store_folder_list_free(fl, nf);
	store_strv_free(subs, nsubs);
	return imap_tagged(s, "OK", "%s completed", lsub ? "LSUB" : "LIST");
}

int
cmd_list(struct imap_session *s, const struct imap_arg *args, size_t nargs)
{
	return do_list(s, args, nargs, 0);
}

int
cmd_lsub(struct imap_session *s, const struct imap_arg *args, size_t nargs)
{
	return do_list(s, args, nargs, 1);
}
