/*
 * bridge/imap_cmd_idle.c: IDLE (RFC 2177). While idling, changes to the
 * selected folder are pushed at once (notify.c calls
 * imap_session_folder_changed), and "* OK Still here" keeps NAT boxes
 * awake every IMAP_IDLE_KEEPALIVE_SECS while output is empty.
 */
#include <string.h>

#include "../common/limits.h"
#include "../common/str.h"
#include "conn.h"
#include "ev.h"
#include "imap_cmd.h"
#include "imap_server.h"
#include "imap_session.h"

static void idle_keepalive_cb(void *arg);

static void
idle_arm(struct imap_session *s)
{
	s->idle_keepalive_timer =
		ev_timer_add(s->srv->loop, IMAP_IDLE_KEEPALIVE_SECS * 1000ull,
			     idle_keepalive_cb, s);
}

static void
idle_keepalive_cb(void *arg)
{
	struct imap_session *s = arg;

	s->idle_keepalive_timer = 0;
	if (!s->idling)
		return;
	if (conn_out_pending(s->conn) == 0)
		imap_send(s, "* OK Still here\r\n");
	idle_arm(s);
}

static void
idle_end(struct imap_session *s)
{
	s->idling = 0;
	if (s->idle_keepalive_timer) {
		ev_timer_del(s->srv->loop, s->idle_keepalive_timer);
		s->idle_keepalive_timer = 0;
	}
}

static int
idle_cont(struct imap_session *s)
{
	const char *line;
	size_t len;
	int r;

	if (s->notify_pending && s->view) {
		imap_view_sync(s, 1);
	}
	r = imap_reader_line(s->reader, conn_in(s->conn), &line, &len);
	if (r == 0)
		return CMD_AGAIN;
	idle_end(s);
	s->cont = NULL;
	if (r < 0)
		return imap_bad(s, "Line too long");
	if (str_eqi_cstr(str_make(line, len), "DONE"))
		return imap_tagged(s, "OK", "IDLE terminated");
	return imap_bad(s, "Expected DONE");
}

int
cmd_idle(struct imap_session *s, const struct imap_arg *args, size_t nargs)
{
	if (nargs != 0)
		return imap_bad(s, "IDLE takes no arguments");
	if (s->view)
		imap_view_sync(s, 1);
	imap_send(s, "+ idling\r\n");
	s->idling = 1;
	idle_arm(s);
	imap_session_set_cont(s, idle_cont, NULL, NULL);
	return idle_cont(s);
}

void
imap_session_folder_changed(struct imap_session *s, int64_t folder_id)
{
	if (s->view == NULL || s->view->folder_id != folder_id)
		return;
	if (s->idling)
		imap_view_sync(s, 1);
	else
		s->notify_pending = 1;
}
