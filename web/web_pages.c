/*
 * web/web_pages.c: the web admin's pages, rendered on the server as HTML5
 * with one stylesheet of ours (no scripts, no outside assets: the
 * appliance works offline). Every value from the store or the request
 * goes through web_html.h escaping. Layout: a narrow single column that
 * reads on a 375-pixel phone and widens on a desktop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "../common/limits.h"
#include "../db/store.h"
#include "web_html.h"
#include "web_int.h"

static const char web_css[] =
        ":root{--fg:#1d2430;--mut:#5b6675;--bg:#f6f7f9;--card:#fff;"
        "--acc:#1f6feb;--bad:#b42318;--ok:#1a7f37;--line:#d9dee5}\n"
        "*{box-sizing:border-box}\n"
        "body{margin:0;font:16px/1.45 system-ui,-apple-system,'Segoe UI',"
        "Roboto,sans-serif;color:var(--fg);background:var(--bg)}\n"
        "header{background:#24292f;color:#fff;padding:.6rem 1rem;display:flex;"
        "flex-wrap:wrap;gap:.4rem 1rem;align-items:center}\n"
        "header a,header button{color:#fff;text-decoration:none;background:"
        "none;border:0;font:inherit;cursor:pointer;padding:0}\n"
        "header .brand{font-weight:600;margin-right:auto}\n"
        "main{max-width:60rem;margin:0 auto;padding:1rem}\n"
        "section{background:var(--card);border:1px solid var(--line);"
        "border-radius:8px;padding:1rem;margin:0 0 1rem}\n"
        "h1{font-size:1.4rem;margin:.2rem 0 1rem}h2{font-size:1.1rem;"
        "margin:0 0 .6rem}\n"
        "label{display:block;margin:.6rem 0 .2rem;font-weight:600}\n"
        "input[type=text],input[type=password]{width:100%;max-width:28rem;"
        "padding:.5rem;border:1px solid var(--line);border-radius:6px;"
        "font:inherit}\n"
        "button.primary{margin-top:1rem;background:var(--acc);color:#fff;"
        "border:0;border-radius:6px;padding:.55rem 1.1rem;font:inherit;"
        "cursor:pointer}\n"
        ".error{color:var(--bad);font-weight:600}.ok{color:var(--ok)}\n"
        ".muted{color:var(--mut);font-size:.92rem}\n"
        ".table{width:100%;overflow-x:auto}\n"
        "table{border-collapse:collapse;width:100%}th,td{text-align:left;"
        "padding:.35rem .5rem;border-bottom:1px solid var(--line);"
        "vertical-align:top}\n"
        "td.num,th.num{text-align:right}\n"
        "code{background:#eef1f4;padding:0 .25rem;border-radius:4px}\n";

const char *
web_page_css(size_t *len_r)
{
	*len_r = sizeof web_css - 1;
	return web_css;
}

void
web_page_begin(struct web_req *r, const char *title)
{
	struct buf *b = &r->out;

	buf_reset(b);
	web_html_printf(b,
	                "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	                "<meta charset=\"utf-8\">"
	                "<meta name=\"viewport\" content=\"width=device-width, "
	                "initial-scale=1\">"
	                "<title>%s - popbridge</title>"
	                "<link rel=\"stylesheet\" href=\"/style.css\">"
	                "</head><body><header><span class=\"brand\">popbridge"
	                "</span>",
	                title);
	if (r->sess != NULL && r->sess->authed) {
		buf_addstr(b, "<a href=\"/\">Dashboard</a>"
		              "<form method=\"post\" action=\"/logout\">");
		web_page_csrf(r);
		buf_addstr(b, "<button type=\"submit\">Log out</button></form>");
	}
	web_html_printf(b, "</header><main><h1>%s</h1>", title);
}

void
web_page_end(struct web_req *r)
{
	buf_addstr(&r->out, "</main></body></html>\n");
}

void
web_page_csrf(struct web_req *r)
{
	const struct web_session *s = web_ensure_session(r);

	if (s == NULL)
		return;
	buf_addstr(&r->out, "<input type=\"hidden\" name=\"csrf\" value=\"");
	web_html_attr(&r->out, s->csrf);
	buf_addstr(&r->out, "\">");
}

void
web_page_error(struct web_req *r, unsigned status, const char *title,
	       const char *text)
{
	r->status = status;
	r->ctype = NULL;
	r->location[0] = '\0';
	web_page_begin(r, title);
	web_html_printf(&r->out, "<section><p>%s</p><p><a href=\"/\">Back to "
	                         "the dashboard</a></p></section>",
	                text);
	web_page_end(r);
}

/* "host:port" list of a listen setting, for the device instructions. */
static void
web_listen_ports(struct buf *b, const char *spec, const char *what)
{
	if (spec == NULL || spec[0] == '\0')
		return;
	web_html_printf(b, "<li>%s: <code>%s</code></li>", what, spec);
}

void
web_page_setup(struct web_req *r, const char *error)
{
	struct buf *b = &r->out;
	char *user = NULL;
	const char *token = MHD_lookup_connection_value(
	        r->conn, MHD_GET_ARGUMENT_KIND, "token");

	(void)store_user_get(r->w->st, &user);
	web_page_begin(r, "Set up popbridge");
	buf_addstr(b, "<section><p>Choose the password for the web admin and "
	              "your mail apps. The one-time setup token is in the "
	              "log of <code>popbridge serve</code> (or run "
	              "<code>popbridge passwd</code> instead).</p>");
	if (error != NULL)
		web_html_printf(b, "<p class=\"error\" role=\"alert\">%s</p>",
		                error);
	buf_addstr(b, "<form method=\"post\" action=\"/setup\">");
	web_page_csrf(r);
	buf_addstr(b, "<label for=\"token\">Setup token</label>"
	              "<input type=\"text\" id=\"token\" name=\"token\" "
	              "autocomplete=\"off\" required value=\"");
	/* The link the daemon logged carries it; the POST checks it. */
	web_html_attr(b, token != NULL && strlen(token) <= 256 ? token : "");
	buf_addstr(b, "\"><label for=\"user\">Login name</label>"
	              "<input type=\"text\" id=\"user\" name=\"user\" "
	              "autocomplete=\"username\" required value=\"");
	web_html_attr(b, user ? user : "");
	buf_addstr(b, "\"><label for=\"password\">Password</label>"
	              "<input type=\"password\" id=\"password\" "
	              "name=\"password\" autocomplete=\"new-password\" "
	              "required minlength=\"8\">"
	              "<label for=\"password2\">Password again</label>"
	              "<input type=\"password\" id=\"password2\" "
	              "name=\"password2\" autocomplete=\"new-password\" "
	              "required minlength=\"8\">"
	              "<button class=\"primary\" type=\"submit\">Set the "
	              "password</button></form></section>");
	buf_addstr(b, "<section><h2>Connecting a device</h2><p>In your mail "
	              "app, add an IMAP account with this machine's name or "
	              "address as the server, your login name, and the "
	              "password (or a device password made later on the "
	              "Devices page). popbridge listens on:</p><ul>");
	web_listen_ports(b, r->w->imap_listen_tls, "IMAP over TLS (IMAPS)");
	web_listen_ports(b, r->w->imap_listen, "IMAP with STARTTLS");
	buf_addstr(b, "</ul><p class=\"muted\">The certificate is "
	              "self-signed unless you installed your own: your app "
	              "will ask you to trust it once.</p></section>");
	web_page_end(r);
	free(user);
}

void
web_page_login(struct web_req *r, const char *error)
{
	struct buf *b = &r->out;

	web_page_begin(r, "Log in");
	buf_addstr(b, "<section>");
	if (error != NULL)
		web_html_printf(b, "<p class=\"error\" role=\"alert\">%s</p>",
		                error);
	buf_addstr(b, "<form method=\"post\" action=\"/login\">");
	web_page_csrf(r);
	buf_addstr(b, "<label for=\"user\">Login name</label>"
	              "<input type=\"text\" id=\"user\" name=\"user\" "
	              "autocomplete=\"username\" required>"
	              "<label for=\"password\">Password</label>"
	              "<input type=\"password\" id=\"password\" "
	              "name=\"password\" autocomplete=\"current-password\" "
	              "required>"
	              "<button class=\"primary\" type=\"submit\">Log in"
	              "</button></form></section>");
	web_page_end(r);
}

static const char *
web_fmt_time(int64_t t, char *b, size_t len)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t <= 0) {
		snprintf(b, len, "never");
		return b;
	}
	if (localtime_r(&tt, &tm) == NULL ||
	    strftime(b, len, "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(b, len, "%lld", (long long)t);
	return b;
}

static const char *
web_fmt_size(uint64_t n, char *b, size_t len)
{
	if (n < 1024)
		snprintf(b, len, "%llu B", (unsigned long long)n);
	else if (n < 1024 * 1024)
		snprintf(b, len, "%.1f KB", (double)n / 1024);
	else if (n < 1024ull * 1024 * 1024)
		snprintf(b, len, "%.1f MB", (double)n / (1024 * 1024));
	else
		snprintf(b, len, "%.1f GB", (double)n / (1024.0 * 1024 * 1024));
	return b;
}

static void
web_dashboard_accounts(struct web_req *r)
{
	struct buf *b = &r->out;
	struct store_acct *list = NULL;
	size_t n = 0, i;
	char t1[32], t2[32];

	buf_addstr(b, "<section><h2>POP3 accounts</h2>");
	if (store_acct_list(r->w->st, &list, &n) < 0) {
		web_html_printf(b, "<p class=\"error\">Cannot read the "
		                   "accounts: %s</p></section>",
		                store_last_error(r->w->st));
		return;
	}
	if (n == 0) {
		buf_addstr(b, "<p>No accounts yet. Add one with <code>popbridge "
		              "account add</code>.</p></section>");
		return;
	}
	buf_addstr(b, "<div class=\"table\"><table><thead><tr><th>Account"
	              "</th><th>State</th><th>Last poll</th><th>Next poll"
	              "</th><th class=\"num\">Fetched</th><th class=\"num\">"
	              "Deleted</th><th class=\"num\">On server</th></tr>"
	              "</thead><tbody>");
	for (i = 0; i < n; i++) {
		const struct store_acct *a = &list[i];

		web_html_printf(b, "<tr><td>%s<br><span class=\"muted\">%s@%s"
		                   "</span></td>",
		                a->name, a->user, a->host);
		if (a->last_error != NULL)
			web_html_printf(b, "<td class=\"error\">%s</td>",
			                a->last_error);
		else if (a->last_attempt == 0)
			buf_addstr(b, "<td class=\"muted\">not polled yet</td>");
		else
			buf_addstr(b, "<td class=\"ok\">OK</td>");
		web_html_printf(
		        b,
		        "<td>%s</td><td>%s</td><td class=\"num\">%llu</td>"
		        "<td class=\"num\">%llu</td><td class=\"num\">%u</td>"
		        "</tr>",
		        web_fmt_time(a->last_attempt, t1, sizeof t1),
		        a->next_due <= r->now ? "now"
		                              : web_fmt_time(a->next_due, t2,
		                                             sizeof t2),
		        (unsigned long long)a->fetched,
		        (unsigned long long)a->deleted, a->on_server);
	}
	buf_addstr(b, "</tbody></table></div></section>");
	store_acct_list_free(list, n);
}

static void
web_dashboard_folders(struct web_req *r)
{
	struct buf *b = &r->out;
	struct store_folder *list = NULL;
	size_t n = 0, i;
	uint64_t bytes = 0;
	char sz[32];

	buf_addstr(b, "<section><h2>Folders</h2>");
	if (store_folder_list(r->w->st, &list, &n) < 0) {
		web_html_printf(b, "<p class=\"error\">Cannot read the "
		                   "folders: %s</p></section>",
		                store_last_error(r->w->st));
		return;
	}
	buf_addstr(b, "<div class=\"table\"><table><thead><tr><th>Folder</th>"
	              "<th class=\"num\">Messages</th><th class=\"num\">Unread"
	              "</th><th class=\"num\">Size</th></tr></thead><tbody>");
	for (i = 0; i < n; i++) {
		struct store_folder_status fs;

		if (list[i].noselect ||
		    store_folder_status(r->w->st, list[i].id, &fs) < 0)
			continue;
		web_html_printf(b, "<tr><td>%s</td><td class=\"num\">%u</td>"
		                   "<td class=\"num\">%u</td><td class=\"num\">"
		                   "%s</td></tr>",
		                list[i].name, fs.messages, fs.unseen,
		                web_fmt_size(fs.size, sz, sizeof sz));
	}
	buf_addstr(b, "</tbody></table></div>");
	if (store_file_size(r->w->st, &bytes) == 0)
		web_html_printf(b, "<p class=\"muted\">Store: %s on disk.</p>",
		                web_fmt_size(bytes, sz, sizeof sz));
	buf_addstr(b, "</section>");
	store_folder_list_free(list, n);
}

void
web_page_dashboard(struct web_req *r)
{
	web_page_begin(r, "Dashboard");
	web_dashboard_accounts(r);
	web_dashboard_folders(r);
	if (r->w->hooks.imap_sessions != NULL)
		web_html_printf(&r->out,
		                "<section><h2>Devices</h2><p>%u IMAP "
		                "connection(s) open now.</p></section>",
		                r->w->hooks.imap_sessions(r->w->hooks.arg));
	web_page_end(r);
}
