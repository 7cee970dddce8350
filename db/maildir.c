/*
 * db/maildir.c: lists and reads a Maildir's messages (see maildir.h; the
 * Maildir format as in https://cr.yp.to/proto/maildir.html).
 */
#include "maildir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/buf.h"
#include "../common/limits.h"
#include "../common/xalloc.h"
#include "store.h"

static int
is_dir(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

int
maildir_is_maildir(const char *dir)
{
	char *cur = xasprintf("%s/cur", dir), *new = xasprintf("%s/new", dir);
	int r = is_dir(cur) || is_dir(new);

	free(cur);
	free(new);
	return r;
}

uint32_t
maildir_name_flags(const char *name)
{
	const char *info = strstr(name, ":2,");
	uint32_t f = 0;

	if (info == NULL)
		return 0;
	for (info += 3; *info; info++) {
		switch (*info) {
		case 'S':
			f |= STORE_FLAG_SEEN;
			break;
		case 'R':
			f |= STORE_FLAG_ANSWERED;
			break;
		case 'F':
			f |= STORE_FLAG_FLAGGED;
			break;
		case 'T':
			f |= STORE_FLAG_DELETED;
			break;
		case 'D':
			f |= STORE_FLAG_DRAFT;
			break;
		default:
			break;
		}
	}
	return f;
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct maildir_entry *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	return r != 0 ? r : strcmp(x->path, y->path);
}

static int
list_sub(const char *dir, const char *sub, struct maildir_entry **list,
         size_t *n, size_t *alloc, const char **error_r)
{
	char *d = xasprintf("%s/%s", dir, sub);
	DIR *dp = opendir(d);
	struct dirent *de;
	int rc = -1;

	if (dp == NULL) {
		free(d);
		if (errno == ENOENT)
			return 0;
		*error_r = "cannot open the Maildir's cur/ or new/";
		return -1;
	}
	for (;;) {
		struct maildir_entry *e;
		struct stat sb;
		char *path;

		errno = 0;
		de = readdir(dp);
		if (de == NULL) {
			if (errno != 0) {
				*error_r = "cannot read the Maildir";
				goto out;
			}
			break;
		}
		if (de->d_name[0] == '.')
			continue;
		path = xasprintf("%s/%s", d, de->d_name);
		if (stat(path, &sb) < 0 || !S_ISREG(sb.st_mode)) {
			/* Gone since the listing (delivered/moved) or not a
			 * file: not a message. */
			free(path);
			continue;
		}
		if (*n >= MAILDIR_MAX_FILES) {
			free(path);
			errno = EFBIG;
			*error_r = "too many files in the Maildir";
			goto out;
		}
		if (*n == *alloc) {
			*alloc = *alloc ? *alloc * 2 : 256;
			*list = xreallocarray(*list, *alloc, sizeof **list);
		}
		e = &(*list)[(*n)++];
		e->path = path;
		e->name = strrchr(path, '/') + 1;
		e->flags = maildir_name_flags(e->name);
		e->mtime = (int64_t)sb.st_mtime;
		e->size = (uint64_t)sb.st_size;
	}
	rc = 0;
out:
	closedir(dp);
	free(d);
	return rc;
}

int
maildir_list(const char *dir, struct maildir_entry **list_r, size_t *n_r,
             const char **error_r)
{
	struct maildir_entry *list = NULL;
	size_t n = 0, alloc = 0;

	*list_r = NULL;
	*n_r = 0;
	if (!maildir_is_maildir(dir)) {
		errno = ENOENT;
		*error_r = "not a Maildir (no cur/ or new/ directory)";
		return -1;
	}
	if (list_sub(dir, "cur", &list, &n, &alloc, error_r) < 0 ||
	    list_sub(dir, "new", &list, &n, &alloc, error_r) < 0) {
		int e = errno;
		maildir_list_free(list, n);
		errno = e;
		return -1;
	}
	if (n > 1)
		qsort(list, n, sizeof *list, entry_cmp);
	*list_r = list;
	*n_r = n;
	return 0;
}

void
maildir_list_free(struct maildir_entry *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(list[i].path);
	free(list);
}

int
maildir_read(const struct maildir_entry *e, struct buf *out)
{
	int fd = open(e->path, O_RDONLY | O_CLOEXEC), saved;

	buf_reset(out);
	if (fd < 0)
		return -1;
	/* Read straight into the buffer: one copy, sized by the stat. */
	if (e->size > out->cap || buf_reserve(out, (size_t)e->size) < 0) {
		errno = EFBIG;
		goto fail;
	}
	for (;;) {
		ssize_t r;
		size_t room = out->size - out->len - 1;

		if (room == 0) {
			if (buf_reserve(out, 65536) < 0 &&
			    buf_reserve(out, 1) < 0) {
				errno = EFBIG;
				goto fail;
			}
			room = out->size - out->len - 1;
		}
		r = read(fd, out->data + out->len, room);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (r == 0)
			break;
		out->len += (size_t)r;
		out->data[out->len] = '\0';
	}
	close(fd);
	return 0;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}
