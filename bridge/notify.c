/*
 * bridge/notify.c: telling sessions that a folder changed. After this
 * process commits, notify_folder_changed() pushes to the sessions idling on
 * the folder at once. Commits by other processes (popbridge import, poll,
 * retention) are seen by checking PRAGMA data_version every
 * NOTIFY_POLL_MS while any session has a folder selected; on a change every
 * idling session syncs (its view asks the store what changed since the
 * modseq it last reported), which keeps the one-second promise.
 */
#include <stdint.h>

#include "../db/store.h"
#include "ev.h"
#include "imap_server.h"
#include "imap_session.h"

#define NOTIFY_POLL_MS 250

void
notify_folder_changed(struct imap_server *srv, struct imap_session *origin,
		      int64_t folder_id)
{
	struct imap_session *s, *next;

	for (s = srv->sessions; s; s = next) {
		next = s->next;
		if (s != origin && !s->closing)
			imap_session_folder_changed(s, folder_id);
	}
	/* Our own commit changes no data_version for us; nothing to do. */
}

static void
notify_poll_cb(void *arg)
{
	struct imap_server *srv = arg;
	struct imap_session *s, *next;
	uint64_t v;
	int any = 0;

	srv->poll_timer = ev_timer_add(srv->loop, NOTIFY_POLL_MS,
				       notify_poll_cb, srv);
	for (s = srv->sessions; s; s = s->next)
		if (s->view)
			any = 1;
	if (!any)
		return;
	if (store_data_version(srv->st, &v) < 0 || v == srv->data_version)
		return;
	srv->data_version = v;
	for (s = srv->sessions; s; s = next) {
		next = s->next;
		if (s->view && !s->closing)
			imap_session_folder_changed(s, s->view->folder_id);
	}
}

void
notify_start(struct imap_server *srv)
{
	store_data_version(srv->st, &srv->data_version);
	srv->poll_timer = ev_timer_add(srv->loop, NOTIFY_POLL_MS,
				       notify_poll_cb, srv);
}

void
notify_stop(struct imap_server *srv)
{
	ev_timer_del(srv->loop, srv->poll_timer);
	srv->poll_timer = 0;
}
