/* tests/unit/test_mbox.c: db/mbox.c (reader, From_ dates, mboxrd quoting,
 * writer, round trips) and db/maildir.c (listing, flags, order, reading). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "../../common/buf.h"
#include "../../db/maildir.h"
#include "../../db/mbox.h"
#include "../../db/store.h"
#include "test.h"

/* ---- helpers ---- */

static int
to_buf_cb(const void *p, size_t n, void *ctx)
{
	return buf_add(ctx, p, n);
}

/* Writes messages with the mbox writer, feeding each `step` bytes. */
static void
write_mbox(struct buf *out, const char *const *msgs, const size_t *lens,
           size_t n, size_t step)
{
	struct mbox_writer w;
	size_t i, off;

	mbox_writer_init(&w, to_buf_cb, out);
	for (i = 0; i < n; i++) {
		mbox_writer_begin(&w, 1420070400 + (int64_t)i);
		for (off = 0; off < lens[i]; off += step) {
			size_t k = lens[i] - off < step ? lens[i] - off : step;
			mbox_writer_data(&w, msgs[i] + off, k);
		}
		mbox_writer_end(&w);
	}
}

/* Reads back and unquotes message i; 1 if it equals want. */
static int
read_back_equals(const struct buf *mbox, const char *const *msgs,
                 const size_t *lens, size_t n)
{
	struct mbox_reader r;
	struct mbox_msg m;
	struct buf unq;
	size_t i = 0;
	int ok = 1;

	buf_init(&unq, 0);
	mbox_reader_init(&r, mbox->data, mbox->len);
	while (mbox_reader_next(&r, &m) == 1) {
		const char *p;
		size_t len;
		if (i >= n || mbox_unquote(m.raw, m.len, &unq, &p, &len) < 0 ||
		    len != lens[i] || memcmp(p, msgs[i], len) != 0 ||
		    m.date != 1420070400 + (int64_t)i) {
			fprintf(stderr, "  message %zu differs\n", i);
			ok = 0;
			break;
		}
		i++;
	}
	if (i != n) {
		fprintf(stderr, "  read %zu messages, wrote %zu\n", i, n);
		ok = 0;
	}
	buf_clear(&unq);
	return ok;
}

/* ---- From_ line ---- */

static void
test_from_dates(void)
{
	int64_t t;
	int tz;

	T_EQ_INT(mbox_parse_from_line("From a@b Thu Jan  1 00:00:00 1970", 33,
	                              &t, &tz),
	         0);
	T_EQ_INT(t, 0);
	T_EQ_INT(tz, 0);
	T_EQ_INT(mbox_parse_from_line("From - Wed Nov 02 12:34:56 2011\r", 32,
	                              &t, &tz),
	         0);
	T_EQ_INT(t, 1320237296);
	/* Gmail Takeout: zone before the year. */
	{
		const char *l = "From 1234@xxx Wed Nov 13 12:00:00 +0100 2019";
		T_EQ_INT(mbox_parse_from_line(l, strlen(l), &t, &tz), 0);
		T_EQ_INT(tz, 60);
		T_EQ_INT(t, 1573646400 - 3600);
	}
	{
		const char *l = "From x Sat Jan  3 01:05 1996 remote from y";
		T_EQ_INT(mbox_parse_from_line(l, strlen(l), &t, &tz), 0);
		T_EQ_INT(t, 820631100);
	}
	{
		const char *l = "From MAILER-DAEMON Mon Feb 29 23:59:59 2016";
		T_EQ_INT(mbox_parse_from_line(l, strlen(l), &t, &tz), 0);
		T_EQ_INT(t, 1456790399);
	}
	/* Not dates. */
	{
		static const char *const bad[] = {
		        "From here we go",
		        "From a@b",
		        "From a@b Thu Jan 32 00:00:00 1970",
		        "From a@b Thu Jan  1 24:00:00 1970",
		        "From a@b Thu Foo  1 00:00:00 1970",
		        "From a@b Thu Jan  1 00:00:00 70",
		        "From a@b Thu Jan  1 00:00:00",
		        "From a@b Jan  1 00:00:00 1970",
		        "From ",
		        "",
		};
		size_t i;
		for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
			T_EQ_INT(mbox_parse_from_line(bad[i], strlen(bad[i]),
			                              &t, &tz),
			         -1);
	}
}

/* ---- reader ---- */

static void
test_reader_lf(void)
{
	const char *data = "From a Thu Jan  1 00:00:01 2015\n"
	                   "Subject: 1\n\nbody one\n\n"
	                   "From b Thu Jan  1 00:00:02 2015\n"
	                   "Subject: 2\n\n>From quoted\n"
	                   "From here is not a separator\n\n"
	                   "From c Thu Jan  1 00:00:03 2015\n"
	                   "Subject: 3\n\nlast, no blank line at the end\n";
	struct mbox_reader r;
	struct mbox_msg m;

	mbox_reader_init(&r, data, strlen(data));
	T_EQ_INT(mbox_reader_next(&r, &m), 1);
	T_EQ_INT(m.len, strlen("Subject: 1\n\nbody one\n"));
	T_ASSERT(memcmp(m.raw, "Subject: 1\n\nbody one\n", m.len) == 0);
	T_EQ_INT(m.date, 1420070401);
	T_EQ_INT(m.offset, 0);
	T_EQ_INT(mbox_reader_next(&r, &m), 1);
	T_ASSERT(m.len == strlen("Subject: 2\n\n>From quoted\nFrom here is "
	                         "not a separator\n"));
	T_EQ_INT(mbox_reader_next(&r, &m), 1);
	T_EQ_INT(m.len, strlen("Subject: 3\n\nlast, no blank line at the "
	                       "end\n"));
	T_EQ_INT(mbox_reader_next(&r, &m), 0);
	T_EQ_INT(mbox_reader_next(&r, &m), 0);
	T_EQ_INT(mbox_count(data, strlen(data)), 3);
}

static void
test_reader_crlf(void)
{
	const char *data = "From a Thu Jan  1 00:00:01 2015\r\n"
	                   "Subject: 1\r\n\r\nbody\r\n\r\n"
	                   "From b Thu Jan  1 00:00:02 2015\r\n"
	                   "Subject: 2\r\n\r\nx\r\n\n"
	                   "From c Thu Jan  1 00:00:03 2015\r\n"
	                   "\r\n";
	struct mbox_reader r;
	struct mbox_msg m;

	mbox_reader_init(&r, data, strlen(data));
	T_EQ_INT(mbox_reader_next(&r, &m), 1);
	T_EQ_INT(m.len, strlen("Subject: 1\r\n\r\nbody\r\n"));
	T_EQ_INT(mbox_reader_next(&r, &m), 1);
	T_EQ_INT(m.len, strlen("Subject: 2\r\n\r\nx\r\n"));
	T_EQ_INT(mbox_reader_next(&r, &m), 1);
	T_EQ_INT(m.len, 0);
	T_EQ_INT(mbox_reader_next(&r, &m), 0);
}

static void
test_reader_edges(void)
{
	struct mbox_reader r;
	struct mbox_msg m;

	/* Empty and blank: no messages. */
	mbox_reader_init(&r, "", 0);
	T_EQ_INT(mbox_reader_next(&r, &m), 0);
	mbox_reader_init(&r, "\n\r\n", 3);
	T_EQ_INT(mbox_reader_next(&r, &m), 0);
	/* Not an mbox. */
	mbox_reader_init(&r, "Subject: x\n\nhi\n", 15);
	T_EQ_INT(mbox_reader_next(&r, &m), -1);
	T_EQ_INT(mbox_count("Subject: x\n", 11), 0);
	/* A first From_ line without a date still starts the file. */
	{
		const char *d = "From foo\nA\n";
		mbox_reader_init(&r, d, strlen(d));
		T_EQ_INT(mbox_reader_next(&r, &m), 1);
		T_EQ_INT(m.date, -1);
		T_EQ_INT(m.len, 2);
	}
	/* A From_ line without a line end at EOF. */
	{
		const char *d = "From a Thu Jan  1 00:00:01 2015";
		mbox_reader_init(&r, d, strlen(d));
		T_EQ_INT(mbox_reader_next(&r, &m), 1);
		T_EQ_INT(m.len, 0);
		T_EQ_INT(mbox_reader_next(&r, &m), 0);
	}
	/* Separators right after each other: empty messages. */
	{
		const char *d = "From a Thu Jan  1 00:00:01 2015\n"
		                "From b Thu Jan  1 00:00:01 2015\n"
		                "\n"
		                "From c Thu Jan  1 00:00:01 2015\n";
		T_EQ_INT(mbox_count(d, strlen(d)), 3);
		mbox_reader_init(&r, d, strlen(d));
		T_EQ_INT(mbox_reader_next(&r, &m), 1);
		T_EQ_INT(m.len, 0);
		T_EQ_INT(mbox_reader_next(&r, &m), 1);
		T_EQ_INT(m.len, 0);
	}
}

/* ---- quoting ---- */

static void
test_unquote(void)
{
	struct buf b;
	const char *p;
	size_t len;
	const char *in = ">From a\n>>From b\nx>From c\n>>>From d\n> From e\n"
	                 "From f\n>From";

	buf_init(&b, 0);
	T_EQ_INT(mbox_unquote("plain\n", 6, &b, &p, &len), 0);
	T_ASSERT(len == 6 && strcmp(p, "plain\n") == 0);
	T_EQ_INT(mbox_unquote(in, strlen(in), &b, &p, &len), 0);
	T_ASSERT(p == b.data);
	T_ASSERT(len == strlen(in) - 3);
	T_ASSERT(memcmp(p,
	                "From a\n>From b\nx>From c\n>>From d\n> From e\n"
	                "From f\n>From",
	                len) == 0);
	/* The cap is honoured. */
	buf_clear(&b);
	buf_init(&b, 4);
	T_EQ_INT(mbox_unquote(in, strlen(in), &b, &p, &len), -1);
	buf_clear(&b);
}

static void
test_writer_quotes(void)
{
	const char *msg = "From x\n>From y\n>>From z\nFrom\n>Fro\n>\nok\n";
	const char *want =
	        "From MAILER-DAEMON Thu Jan  1 00:00:00 2015\n"
	        ">From x\n>>From y\n>>>From z\nFrom\n>Fro\n>\nok\n\n";
	size_t step;

	/* Every chunking gives the same bytes. */
	for (step = 1; step <= strlen(msg); step++) {
		struct buf out;
		size_t len = strlen(msg);
		buf_init(&out, 0);
		write_mbox(&out, &msg, &len, 1, step);
		if (strcmp(buf_cstr(&out), want) != 0)
			fprintf(stderr, "  step %zu: %s\n", step,
			        buf_cstr(&out));
		T_EQ_STR(buf_cstr(&out), want);
		buf_clear(&out);
	}
}

static void
test_writer_endings(void)
{
	static const char *const msgs[] = {
	        "a\r\n", "b\n", "c", "", "d\n\n", "e\r\n\r\n", "f\r",
	};
	static const char *const want[] = {
	        "a\r\n\r\n", "b\n\n",         "c\n\n",   "\n",
	        "d\n\n\n",   "e\r\n\r\n\r\n", "f\r\n\n",
	};
	size_t i;

	for (i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
		struct buf out;
		size_t len = strlen(msgs[i]), hl;
		buf_init(&out, 0);
		write_mbox(&out, &msgs[i], &len, 1, 1);
		hl = strlen("From MAILER-DAEMON Thu Jan  1 00:00:00 2015\n");
		T_ASSERT(out.len >= hl);
		T_EQ_STR(out.data + hl, want[i]);
		buf_clear(&out);
	}
}

/* Export then import gives back the bytes (when they end in a line end). */
static void
test_round_trip(void)
{
	static const char *const msgs[] = {
	        "From: a\r\nSubject: x\r\n\r\nFrom the start\r\n>From q\r\n",
	        "Subject: lf\n\nbody\n\nFrom a Thu Jan  1 00:00:00 2015\n",
	        "Subject: ends blank\n\n\n",
	        "Subject: crlf blank\r\n\r\n\r\n",
	        ">>>>From deep\n",
	        "\n",
	        "From \n",
	};
	size_t lens[sizeof msgs / sizeof msgs[0]], i,
	        n = sizeof msgs / sizeof msgs[0];
	size_t step;

	for (i = 0; i < n; i++)
		lens[i] = strlen(msgs[i]);
	for (step = 1; step < 9; step += 3) {
		struct buf out;
		buf_init(&out, 0);
		write_mbox(&out, msgs, lens, n, step);
		T_ASSERT(read_back_equals(&out, msgs, lens, n));
		buf_clear(&out);
	}
}

/* Pseudo-random messages from a small alphabet full of traps. */
static void
test_round_trip_random(void)
{
	static const char *const atoms[] = {
	        "From ",
	        ">",
	        "\n",
	        "\r\n",
	        "x",
	        " ",
	        "From a Thu Jan  1 00:00:00 2015",
	        "\r",
	        "F",
	};
	uint32_t seed = 12345;
	int round;

	for (round = 0; round < 300; round++) {
		char *msgs[4];
		const char *cm[4];
		size_t lens[4], i;
		struct buf out;

		for (i = 0; i < 4; i++) {
			struct buf m;
			int k, natoms;
			buf_init(&m, 0);
			seed = seed * 1103515245 + 12345;
			natoms = (int)(seed >> 16) % 40;
			for (k = 0; k < natoms; k++) {
				seed = seed * 1103515245 + 12345;
				buf_addstr(&m, atoms[(seed >> 16) % 9]);
			}
			/* Messages end in a line end (see mbox.h). */
			buf_addstr(&m, (seed >> 20) & 1 ? "\r\n" : "\n");
			msgs[i] = buf_steal(&m, &lens[i]);
			cm[i] = msgs[i];
		}
		buf_init(&out, 0);
		write_mbox(&out, cm, lens, 4, 1 + (size_t)round % 7);
		T_ASSERT(read_back_equals(&out, cm, lens, 4));
		buf_clear(&out);
		for (i = 0; i < 4; i++)
			free(msgs[i]);
	}
}

static void
test_status_flags(void)
{
	const char *m1 = "Subject: x\r\nStatus: RO\r\nX-Status: AFT\r\n\r\n"
	                 "Status: D\r\n";
	const char *m2 = "status: O\nx-status: D\n\n";
	const char *m3 = "Subject: none\n";

	T_EQ_INT(mbox_status_flags(m1, strlen(m1)),
	         STORE_FLAG_SEEN | STORE_FLAG_ANSWERED | STORE_FLAG_FLAGGED |
	                 STORE_FLAG_DRAFT);
	T_EQ_INT(mbox_status_flags(m2, strlen(m2)), STORE_FLAG_DELETED);
	T_EQ_INT(mbox_status_flags(m3, strlen(m3)), 0);
	T_EQ_INT(mbox_status_flags("", 0), 0);
}

/* ---- Maildir ---- */

static void
put_file(const char *path, const char *text, time_t mtime)
{
	FILE *f = fopen(path, "w");
	struct timeval tv[2];

	fputs(text, f);
	fclose(f);
	tv[0].tv_sec = tv[1].tv_sec = mtime;
	tv[0].tv_usec = tv[1].tv_usec = 0;
	utimes(path, tv);
}

static void
test_maildir(void)
{
	char dir[] = "/tmp/pb_test_maildir_XXXXXX", p[512];
	struct maildir_entry *list = NULL;
	const char *err = NULL;
	struct buf b;
	size_t n = 0;

	T_ASSERT(mkdtemp(dir) != NULL);
	T_EQ_INT(maildir_is_maildir(dir), 0);
	T_EQ_INT(maildir_list(dir, &list, &n, &err), -1);
	snprintf(p, sizeof p, "%s/cur", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/new", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/tmp", dir);
	mkdir(p, 0700);
	T_EQ_INT(maildir_is_maildir(dir), 1);
	snprintf(p, sizeof p, "%s/cur/200.b.host:2,FRS", dir);
	put_file(p, "Subject: b\n\nB\n", 2000000000);
	snprintf(p, sizeof p, "%s/new/100.a.host", dir);
	put_file(p, "Subject: a\n\nA\n", 1000000000);
	snprintf(p, sizeof p, "%s/cur/300.c.host:2,DTab", dir);
	put_file(p, "", 1500000000);
	snprintf(p, sizeof p, "%s/tmp/050.x.host", dir);
	put_file(p, "partial", 1);
	snprintf(p, sizeof p, "%s/cur/.hidden", dir);
	put_file(p, "x", 1);
	snprintf(p, sizeof p, "%s/cur/subdir", dir);
	mkdir(p, 0700);

	T_EQ_INT(maildir_list(dir, &list, &n, &err), 0);
	T_EQ_INT(n, 3);
	T_EQ_STR(list[0].name, "100.a.host");
	T_EQ_INT(list[0].flags, 0);
	T_EQ_INT(list[0].mtime, 1000000000);
	T_EQ_STR(list[1].name, "200.b.host:2,FRS");
	T_EQ_INT(list[1].flags,
	         STORE_FLAG_FLAGGED | STORE_FLAG_ANSWERED | STORE_FLAG_SEEN);
	T_EQ_INT(list[2].flags, STORE_FLAG_DRAFT | STORE_FLAG_DELETED);
	T_EQ_INT(list[2].size, 0);

	buf_init(&b, 1024);
	T_EQ_INT(maildir_read(&list[1], &b), 0);
	T_EQ_STR(buf_cstr(&b), "Subject: b\n\nB\n");
	T_EQ_INT(maildir_read(&list[2], &b), 0);
	T_EQ_INT(b.len, 0);
	buf_clear(&b);
	/* Over the buffer's cap. */
	buf_init(&b, 4);
	T_EQ_INT(maildir_read(&list[1], &b), -1);
	buf_clear(&b);

	maildir_list_free(list, n);
	T_EQ_INT(maildir_name_flags("x:2,"), 0);
	T_EQ_INT(maildir_name_flags("x"), 0);
	T_EQ_INT(maildir_name_flags("x:2,S"), STORE_FLAG_SEEN);
	T_EQ_INT(maildir_name_flags("x:1,S"), 0);

	{
		char cmd[600];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		T_EQ_INT(system(cmd), 0);
	}
}

static const struct test_case tests[] = {
        {"from_dates", test_from_dates},
        {"reader_lf", test_reader_lf},
        {"reader_crlf", test_reader_crlf},
        {"reader_edges", test_reader_edges},
        {"unquote", test_unquote},
        {"writer_quotes", test_writer_quotes},
        {"writer_endings", test_writer_endings},
        {"round_trip", test_round_trip},
        {"round_trip_random", test_round_trip_random},
        {"status_flags", test_status_flags},
        {"maildir", test_maildir},
        {NULL, NULL},
};

TEST_MAIN(tests)
