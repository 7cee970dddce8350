/*
 * bridge/cli_export.c: `popbridge export --folder FOLDER`: the folder as
 * an mbox file (mboxrd, see db/mbox.h) on standard output, in UID order,
 * each message streamed from the store in chunks (never whole in memory).
 * A one-line count goes to stderr; standard output must not be a terminal.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/xalloc.h"
#include "../db/mbox.h"
#include "../db/store.h"
#include "cli.h"

#define EXPORT_USAGE "export --folder FOLDER > FILE.mbox"
#define EXPORT_CHUNK (1024 * 1024)

struct export_item {
	int64_t blob_id;
	int64_t internaldate;
	uint64_t size;
};

struct export_list {
	struct export_item *v;
	size_t n, alloc;
};

static int
export_collect_cb(const struct store_msg *m, void *ctx)
{
	struct export_list *l = ctx;

	if (l->n == l->alloc) {
		l->alloc = l->alloc ? l->alloc * 2 : 1024;
		l->v = xreallocarray(l->v, l->alloc, sizeof *l->v);
	}
	l->v[l->n].blob_id = m->blob_id;
	l->v[l->n].internaldate = m->internaldate;
	l->v[l->n].size = m->size;
	l->n++;
	return 0;
}

static int
export_write_cb(const void *p, size_t n, void *ctx)
{
	(void)ctx;
	return fwrite(p, 1, n, stdout) == n ? 0 : -1;
}

/*
 * Writes p[0..n) with each CRLF as LF. A CR at the end of a chunk waits in
 * *cr_pending for the next byte.
 */
static int
write_lf(struct mbox_writer *w, const char *p, size_t n, int *cr_pending)
{
	size_t i, start = 0;

	if (*cr_pending) {
		*cr_pending = 0;
		if ((n == 0 || p[0] != '\n') && mbox_writer_data(w, "\r", 1) < 0)
			return -1;
	}
	for (i = 0; i < n; i++) {
		if (p[i] != '\r')
			continue;
		if (i + 1 == n) {
			if (mbox_writer_data(w, p + start, i - start) < 0)
				return -1;
			*cr_pending = 1;
			return 0;
		}
		if (p[i + 1] == '\n') {
			if (mbox_writer_data(w, p + start, i - start) < 0)
				return -1;
			start = i + 1;
		}
	}
	return mbox_writer_data(w, p + start, n - start);
}

int
cli_export(struct cli_ctx *c, int argc, char **argv)
{
	struct cli_opt opts[] = {
	        {"--folder", 1, NULL},
	        {NULL, 0, NULL},
	};
	struct export_list list = {NULL, 0, 0};
	struct store_folder f;
	struct mbox_writer w;
	char *chunk = NULL, size[32];
	uint64_t total = 0;
	size_t i, done = 0;
	int npos, rc, ret = CLI_EXIT_FAIL;

	if (cli_parse(c, argc, argv, 1, opts, NULL, 0, 0, &npos, EXPORT_USAGE) <
	    0)
		return CLI_EXIT_USAGE;
	if (opts[0].value == NULL)
		return cli_usage_error(c, EXPORT_USAGE, "--folder is missing");
	if (isatty(STDOUT_FILENO))
		return cli_usage_error(c, EXPORT_USAGE,
		                       "standard output is a terminal; "
		                       "redirect it to a file");
	if (cli_store_open(c, 0) < 0)
		return CLI_EXIT_FAIL;
	rc = store_folder_get(c->st, opts[0].value, &f);
	if (rc == -STORE_ERR_NOTFOUND) {
		cli_error(c, "no folder named '%s'", opts[0].value);
		return CLI_EXIT_FAIL;
	}
	if (rc < 0)
		return cli_store_error(c, rc, opts[0].value);
	rc = store_msg_iter(c->st, f.id, NULL, 0, STORE_WANT_META,
	                    export_collect_cb, &list);
	if (rc < 0) {
		cli_store_error(c, rc, "listing the messages");
		goto out;
	}
	/* A closed pipe is an error to report, not a silent death. */
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOFBF, 256 * 1024);
	chunk = xmalloc(EXPORT_CHUNK);
	mbox_writer_init(&w, export_write_cb, NULL);
	for (i = 0; i < list.n; i++) {
		const struct export_item *it = &list.v[i];
		uint64_t off = 0;

		int cr_pending = 0;

		if (mbox_writer_begin(&w, it->internaldate) < 0)
			goto write_error;
		while (off < it->size) {
			uint64_t got = 0;
			rc = store_blob_read(c->st, it->blob_id, off,
			                     EXPORT_CHUNK, chunk, &got);
			if (rc < 0) {
				cli_store_error(c, rc, "reading a message");
				goto out;
			}
			if (got == 0)
				break;
			off += got;
			/* mbox holds LF lines: CRLF -> LF (import undoes it). */
			if (write_lf(&w, chunk, (size_t)got, &cr_pending) < 0)
				goto write_error;
		}
		if (cr_pending && mbox_writer_data(&w, "\r", 1) < 0)
			goto write_error;
		if (mbox_writer_end(&w) < 0)
			goto write_error;
		total += off;
		done++;
	}
	if (fflush(stdout) != 0)
		goto write_error;
	fprintf(stderr, "exported %zu message%s (%s) from %s\n", done,
	        done == 1 ? "" : "s", cli_fmt_size(total, size, sizeof size),
	        f.name);
	ret = CLI_EXIT_OK;
	goto out;
write_error:
	cli_error(c, "cannot write to standard output: %s",
	          strerror(errno ? errno : EIO));
out:
	free(chunk);
	free(list.v);
	store_folder_clear(&f);
	return ret;
}
