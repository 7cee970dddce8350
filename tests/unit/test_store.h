/*
 * tests/unit/test_store.h: helpers shared by the test_store*.c binaries:
 * a store in a fresh temporary directory, and short ways to append, count
 * and look up. Everything is static inline: each test binary stands alone.
 */
#ifndef PB_TEST_STORE_H
#define PB_TEST_STORE_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../db/store.h"

static char ts_dir[256];
static char ts_path[300];

/* Opens a new store in a new temporary directory; NULL on failure. */
static inline struct store *
ts_open_new(void)
{
	struct store *st = NULL;
	const char *err = NULL;
	const char *base = getenv("TMPDIR");

	snprintf(ts_dir, sizeof ts_dir, "%s/pbstore.XXXXXX",
	         base && *base ? base : "/tmp");
	if (mkdtemp(ts_dir) == NULL)
		return NULL;
	snprintf(ts_path, sizeof ts_path, "%s/popbridge.db", ts_dir);
	if (store_open(ts_path, STORE_OPEN_CREATE, &st, &err) < 0) {
		fprintf(stderr, "  store_open: %s\n", err ? err : "?");
		return NULL;
	}
	return st;
}

/* Removes the temporary directory and the files in it. */
static inline void
ts_cleanup(void)
{
	char p[600];
	DIR *d = opendir(ts_dir);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof p, "%s/%s", ts_dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(ts_dir);
}

static inline void
ts_close_cleanup(struct store **st)
{
	store_close(st);
	ts_cleanup();
}

static inline int64_t
ts_folder_id(struct store *st, const char *name)
{
	struct store_folder f;
	int64_t id;

	if (store_folder_get(st, name, &f) < 0)
		return -1;
	id = f.id;
	store_folder_clear(&f);
	return id;
}

/* Appends raw; returns the UID or a negative store error. */
static inline int64_t
ts_append_full(struct store *st, int64_t folder, const char *raw, size_t len,
               uint32_t flags, const char *kw, int64_t idate)
{
	struct store_append a;
	uint32_t uid = 0, uv = 0;
	int rc;

	memset(&a, 0, sizeof a);
	a.raw = raw;
	a.len = len;
	a.flags = flags;
	a.keywords = kw;
	a.internaldate = idate;
	rc = store_msg_append(st, folder, &a, &uid, &uv);
	if (rc < 0)
		return rc;
	return uid;
}

static inline int64_t
ts_append(struct store *st, int64_t folder, const char *raw, uint32_t flags,
          const char *kw)
{
	return ts_append_full(st, folder, raw, strlen(raw), flags, kw, 0);
}

static inline int64_t
ts_append_len(struct store *st, int64_t folder, const char *raw, size_t len)
{
	return ts_append_full(st, folder, raw, len, 0, NULL, 0);
}

static inline int64_t
ts_count(struct store *st, int64_t folder)
{
	struct store_folder_status s;

	if (store_folder_status(st, folder, &s) < 0)
		return -1;
	return s.messages;
}

struct ts_one {
	struct store_msg m;
	char keywords[4096];
	int found;
};

static inline int
ts_one_cb(const struct store_msg *m, void *ctx)
{
	struct ts_one *o = ctx;

	o->m = *m;
	snprintf(o->keywords, sizeof o->keywords, "%s", m->keywords);
	o->m.keywords = NULL; /* see o->keywords */
	o->m.envelope = NULL;
	o->m.bodystructure = NULL;
	o->m.body = NULL;
	o->m.partmap = NULL;
	o->m.search_hdr = NULL;
	o->m.search_text = NULL;
	o->found = 1;
	return 0;
}

/* One message's META fields (pointers cleared; the keyword list is in
 * .keywords); found is 0 when there is no such UID. */
static inline struct ts_one
ts_get(struct store *st, int64_t folder, uint32_t uid)
{
	struct ts_one o;
	struct store_uid_range r = {uid, uid};

	memset(&o, 0, sizeof o);
	if (store_msg_iter(st, folder, &r, 1, STORE_WANT_META, ts_one_cb, &o) <
	    0)
		o.found = 0;
	return o;
}

static inline int64_t
ts_blob_id(struct store *st, int64_t folder, uint32_t uid)
{
	struct ts_one o = ts_get(st, folder, uid);

	return o.found ? o.m.blob_id : -1;
}

#endif
