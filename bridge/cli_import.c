/*
 * bridge/cli_import.c: `popbridge import --folder FOLDER PATH`: PATH is an
 * mbox file (db/mbox.h: mboxrd unquoting, INTERNALDATE from the From_
 * line, flags from Status:/X-Status:) or a Maildir (db/maildir.h: cur/ and
 * new/, flags from ":2,", INTERNALDATE from the file's mtime).
 *
 * Messages go in with store_msg_append, IMPORT_BATCH_MSGS (or
 * IMPORT_BATCH_BYTES) per transaction. Re-runnable: the SHA-256 of each
 * message's bytes is looked up with store_import_seen and recorded with
 * store_import_mark in the same transaction as the message, so a second
 * run adds nothing (identical messages inside one source also go in once).
 * Empty messages and messages over [poller] max_message_size are skipped.
 * SIGINT/SIGTERM stop between messages: the current batch is committed,
 * the summary printed, exit status 130; a second signal kills at once
 * (SQLite keeps every committed batch). The file is mmap'd, so any size is
 * read in one pass; a progress line shows on a terminal.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "../common/buf.h"
#include "../common/limits.h"
#include "../common/xalloc.h"
#include "../db/maildir.h"
#include "../db/mbox.h"
#include "../db/store.h"
#include "cli.h"

#define IMPORT_USAGE   "import --folder FOLDER PATH (mbox file or Maildir)"
#define PROGRESS_EVERY 0.2 /* seconds */
/* Pages of the mapped mbox given back after this many bytes are read. */
#define IMPORT_RELEASE_BYTES (64 * 1024 * 1024)

static volatile sig_atomic_t import_stop;

struct import {
	struct cli_ctx *c;
	int64_t folder_id;
	const char *folder;
	uint64_t max_size;
	size_t total; /* messages in the source, 0 when unknown */
	size_t done;  /* looked at */
	size_t added, present, skipped;
	/* the open transaction */
	int in_txn;
	size_t batch_msgs, batch_added;
	uint64_t batch_bytes;
	/* progress */
	int tty;
	double t0, last_progress;
};

static void
import_on_signal(int sig)
{
	(void)sig;
	import_stop = 1;
}

static void
progress(struct import *im, int final)
{
	double now = cli_monotonic(), el, rate;

	if (!im->tty)
		return;
	if (final) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		return;
	}
	if (now - im->last_progress < PROGRESS_EVERY)
		return;
	im->last_progress = now;
	el = now - im->t0;
	rate = el > 0 ? (double)im->done / el : 0;
	if (im->total > 0 && rate > 0)
		fprintf(stderr,
		        "\rimported %zu/%zu (%.0f msg/s), %.0f s left\033[K",
		        im->done, im->total, rate,
		        (double)(im->total > im->done ? im->total - im->done
		                                      : 0) /
		                rate);
	else
		fprintf(stderr, "\rimported %zu (%.0f msg/s)\033[K", im->done,
		        rate);
	fflush(stderr);
}

static int
batch_commit(struct import *im)
{
	int rc;

	if (!im->in_txn)
		return 0;
	rc = store_commit(im->c->st);
	im->in_txn = 0;
	if (rc < 0) {
		/* Nothing of the batch stayed. */
		store_rollback(im->c->st);
		im->added -= im->batch_added;
		im->batch_msgs = im->batch_added = 0;
		im->batch_bytes = 0;
		return cli_store_error(im->c, rc, "committing");
	}
	im->batch_msgs = im->batch_added = 0;
	im->batch_bytes = 0;
	return 0;
}

static void
batch_abort(struct import *im)
{
	if (!im->in_txn)
		return;
	store_rollback(im->c->st);
	im->in_txn = 0;
	im->added -= im->batch_added;
	im->batch_msgs = im->batch_added = 0;
	im->batch_bytes = 0;
}

static int
is_blank(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != '\r' && p[i] != '\n' && p[i] != ' ' && p[i] != '\t')
			return 0;
	return 1;
}

/*
 * A copy of raw with every bare LF turned into CRLF, or NULL when raw has
 * none (then *len_r is len).
 */
static char *
lf_to_crlf(const char *raw, size_t len, size_t *len_r)
{
	size_t i, bare = 0, o = 0;
	char *out;

	*len_r = len;
	for (i = 0; i < len; i++)
		if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r'))
			bare++;
	if (bare == 0)
		return NULL;
	out = xmalloc(len + bare);
	for (i = 0; i < len; i++) {
		if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r'))
			out[o++] = '\r';
		out[o++] = raw[i];
	}
	*len_r = o;
	return out;
}

/* One message; 0 or an exit status (error printed, batch rolled back). */
static int
import_one_crlf(struct import *im, const char *raw, size_t len,
		uint32_t flags, int64_t date, int tz)
{
	struct store *st = im->c->st;
	unsigned char md[32];
	unsigned int mdlen = 0;
	struct store_append a;
	int rc;

	im->done++;
	if (len == 0 || is_blank(raw, len) || len > im->max_size) {
		im->skipped++;
		return 0;
	}
	if (!im->in_txn) {
		rc = store_begin(st);
		if (rc < 0)
			return cli_store_error(im->c, rc, "starting a batch");
		im->in_txn = 1;
	}
	if (EVP_Digest(raw, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != sizeof md) {
		batch_abort(im);
		cli_error(im->c, "SHA-256 failed");
		return CLI_EXIT_FAIL;
	}
	rc = store_import_seen(st, im->folder_id, md);
	if (rc < 0) {
		batch_abort(im);
		return cli_store_error(im->c, rc, "checking for duplicates");
	}
	if (rc == 1) {
		im->present++;
	} else {
		memset(&a, 0, sizeof a);
		a.raw = raw;
		a.len = len;
		a.flags = flags & STORE_FLAGS_ALL;
		a.keywords = NULL;
		a.internaldate = date > 0 ? date : 0;
		a.internaldate_tz = tz;
		rc = store_msg_append(st, im->folder_id, &a, NULL, NULL);
		if (rc == -STORE_ERR_TOOBIG) {
			im->skipped++;
			return 0;
		}
		if (rc < 0) {
			batch_abort(im);
			return cli_store_error(im->c, rc, "storing a message");
		}
		rc = store_import_mark(st, im->folder_id, md);
		if (rc < 0) {
			batch_abort(im);
			return cli_store_error(im->c, rc, "storing a message");
		}
		im->added++;
		im->batch_added++;
	}
	im->batch_msgs++;
	im->batch_bytes += len;
	if (im->batch_msgs >= IMPORT_BATCH_MSGS ||
	    im->batch_bytes >= IMPORT_BATCH_BYTES) {
		rc = batch_commit(im);
		if (rc != 0)
			return rc;
	}
	progress(im, 0);
	return 0;
}

/*
 * IMAP serves CRLF lines (RFC 3501 2.2); mbox and Maildir files hold LF
 * ones. Messages are stored, and their import digest taken, in the CRLF
 * form, so the same message from an LF or a CRLF file is recognised.
 */
static int
import_one(struct import *im, const char *raw, size_t len, uint32_t flags,
	   int64_t date, int tz)
{
	size_t n;
	char *crlf = lf_to_crlf(raw, len, &n);
	int rc = import_one_crlf(im, crlf ? crlf : raw, n, flags, date, tz);
	free(crlf);
	return rc;
}

static int
import_mbox(struct import *im, const char *path)
{
	struct mbox_reader r;
	struct mbox_msg m;
	struct stat sb;
	struct buf unq;
	char *map = NULL;
	size_t released = 0, page = (size_t)sysconf(_SC_PAGESIZE);
	int fd, rc = 0, more;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) < 0) {
		cli_error(im->c, "cannot open %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return CLI_EXIT_FAIL;
	}
	if (sb.st_size == 0) {
		close(fd);
		return 0;
	}
	if ((uint64_t)sb.st_size > SIZE_MAX / 2) {
		cli_error(im->c, "%s is too large to map", path);
		close(fd);
		return CLI_EXIT_FAIL;
	}
	map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		cli_error(im->c, "cannot map %s: %s", path, strerror(errno));
		return CLI_EXIT_FAIL;
	}
	madvise(map, (size_t)sb.st_size, MADV_SEQUENTIAL);
	mbox_reader_init(&r, map, (size_t)sb.st_size);
	if (mbox_reader_next(&r, &m) < 0) {
		cli_error(im->c,
		          "%s is not an mbox file (it does not start with a "
		          "'From ' line) nor a Maildir",
		          path);
		munmap(map, (size_t)sb.st_size);
		return CLI_EXIT_FAIL;
	}
	if (im->tty)
		im->total = mbox_count(map, (size_t)sb.st_size);
	mbox_reader_init(&r, map, (size_t)sb.st_size);
	buf_init(&unq, 0);
	while (!import_stop && (more = mbox_reader_next(&r, &m)) == 1) {
		const char *p;
		size_t len;
		uint32_t flags;

		/* Drop the pages read so far from our resident set. */
		if (m.offset - released >= IMPORT_RELEASE_BYTES) {
			size_t upto = (size_t)m.offset & ~(size_t)(page - 1);
			madvise(map + released, upto - released, MADV_DONTNEED);
			released = upto;
		}

		if (m.len > im->max_size) {
			im->done++;
			im->skipped++;
			continue;
		}
		if (mbox_unquote(m.raw, m.len, &unq, &p, &len) < 0) {
			im->done++;
			im->skipped++;
			continue;
		}
		flags = mbox_status_flags(p, len);
		rc = import_one(im, p, len, flags, m.date, m.date_tz);
		if (rc != 0)
			break;
	}
	buf_clear(&unq);
	munmap(map, (size_t)sb.st_size);
	return rc;
}

static int
import_maildir(struct import *im, const char *path)
{
	struct maildir_entry *list;
	const char *err = NULL;
	struct buf msg;
	size_t n, i;
	int rc = 0;

	if (maildir_list(path, &list, &n, &err) < 0) {
		cli_error(im->c, "%s: %s: %s", path, err, strerror(errno));
		return CLI_EXIT_FAIL;
	}
	im->total = n;
	buf_init(&msg, (size_t)im->max_size);
	for (i = 0; i < n && !import_stop; i++) {
		if (list[i].size > im->max_size) {
			im->done++;
			im->skipped++;
			continue;
		}
		if (maildir_read(&list[i], &msg) < 0) {
			if (errno == ENOENT || errno == EFBIG) {
				/* Moved by a mail reader, or grew. */
				im->done++;
				im->skipped++;
				continue;
			}
			batch_abort(im);
			cli_error(im->c, "cannot read %s: %s", list[i].path,
			          strerror(errno));
			rc = CLI_EXIT_FAIL;
			break;
		}
		rc = import_one(im, buf_cstr(&msg), msg.len, list[i].flags,
		                list[i].mtime, 0);
		if (rc != 0)
			break;
	}
	buf_clear(&msg);
	maildir_list_free(list, n);
	return rc;
}

/* Before anything is created: does the file start like an mbox? */
static int
looks_like_mbox(const char *path)
{
	char head[4096];
	ssize_t n;
	size_t i = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, head, sizeof head);
	close(fd);
	if (n < 0)
		return -1;
	while (i < (size_t)n && (head[i] == '\n' || head[i] == '\r'))
		i++;
	if (i == (size_t)n)
		return 1; /* empty (or only blank lines): no messages */
	return (size_t)n - i >= 5 && memcmp(head + i, "From ", 5) == 0;
}

/* Finds the folder, or creates it (saying so). 0 or an exit status. */
static int
import_folder(struct import *im, const char *name)
{
	struct store_folder f;
	int rc = store_folder_get(im->c->st, name, &f);

	if (rc == 0 && !f.noselect) {
		im->folder_id = f.id;
		store_folder_clear(&f);
		return 0;
	}
	if (rc == 0)
		store_folder_clear(&f);
	else if (rc != -STORE_ERR_NOTFOUND)
		return cli_store_error(im->c, rc, name);
	rc = store_folder_create(im->c->st, name, STORE_SPECIAL_NONE,
	                         &im->folder_id);
	if (rc == -STORE_ERR_INVALID) {
		cli_error(im->c, "bad folder name '%s'", name);
		return CLI_EXIT_FAIL;
	}
	if (rc < 0)
		return cli_store_error(im->c, rc, name);
	store_folder_subscribe(im->c->st, name, 1);
	printf("created folder %s\n", name);
	return 0;
}

int
cli_import(struct cli_ctx *c, int argc, char **argv)
{
	struct cli_opt opts[] = {
	        {"--folder", 1, NULL},
	        {NULL, 0, NULL},
	};
	struct sigaction sa, old_int, old_term;
	struct import im;
	const char *pos[1];
	struct stat sb;
	int npos, rc, is_maildir;

	if (cli_parse(c, argc, argv, 1, opts, pos, 1, 1, &npos, IMPORT_USAGE) <
	    0)
		return CLI_EXIT_USAGE;
	if (opts[0].value == NULL)
		return cli_usage_error(c, IMPORT_USAGE, "--folder is missing");
	if (stat(pos[0], &sb) < 0) {
		cli_error(c, "%s: %s", pos[0], strerror(errno));
		return CLI_EXIT_FAIL;
	}
	is_maildir = S_ISDIR(sb.st_mode);
	if (is_maildir && !maildir_is_maildir(pos[0])) {
		cli_error(c,
		          "%s is a directory but not a Maildir (no cur/ or "
		          "new/)",
		          pos[0]);
		return CLI_EXIT_FAIL;
	}
	if (!is_maildir && !S_ISREG(sb.st_mode)) {
		cli_error(c, "%s is neither an mbox file nor a Maildir",
		          pos[0]);
		return CLI_EXIT_FAIL;
	}
	if (!is_maildir) {
		int r = looks_like_mbox(pos[0]);
		if (r < 0) {
			cli_error(c, "cannot read %s: %s", pos[0],
			          strerror(errno));
			return CLI_EXIT_FAIL;
		}
		if (r == 0) {
			cli_error(c,
			          "%s is not an mbox file (it does not start "
			          "with a 'From ' line) nor a Maildir",
			          pos[0]);
			return CLI_EXIT_FAIL;
		}
	}
	if (cli_store_open(c, 0) < 0)
		return CLI_EXIT_FAIL;

	memset(&im, 0, sizeof im);
	im.c = c;
	im.folder = opts[0].value;
	im.max_size = c->cfg.max_message_size;
	im.tty = isatty(STDERR_FILENO);
	rc = import_folder(&im, opts[0].value);
	if (rc != 0)
		return rc;

	import_stop = 0;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = import_on_signal;
	sa.sa_flags = SA_RESETHAND; /* a second signal ends it at once */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);

	im.t0 = cli_monotonic();
	im.last_progress = im.t0; /* the first line after PROGRESS_EVERY */
	rc = is_maildir ? import_maildir(&im, pos[0])
	                : import_mbox(&im, pos[0]);
	if (rc == 0)
		rc = batch_commit(&im);
	else
		batch_abort(&im);
	progress(&im, 1);

	printf("imported %zu new, %zu already present, %zu skipped (too "
	       "large/empty) into %s in %.1f s\n",
	       im.added, im.present, im.skipped, im.folder,
	       cli_monotonic() - im.t0);
	fflush(stdout);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (rc == 0 && import_stop) {
		cli_error(c, "interrupted; what was imported stays, run the "
		             "same command again to go on");
		return CLI_EXIT_INTERRUPTED;
	}
	return rc;
}
