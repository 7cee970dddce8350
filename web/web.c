/*
 * web/web.c: the web admin's HTTP server (web.h): libmicrohttpd with no
 * thread of its own (MHD_USE_EPOLL; the daemon's loop drives it through
 * web_epoll_fd / web_run / web_timeout_ms), the request life cycle
 * (bounded bodies, form parsing, the session cookie), the route table,
 * and the headers every response carries: a Content-Security-Policy that
 * allows only our own stylesheet and forms, no framing, no referrer, no
 * caching, no MIME sniffing (RFC 9110 semantics; RFC 6265 cookies:
 * HttpOnly, SameSite=Strict, Secure under TLS).
 */
#include "web.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/crypto.h>

#include "../common/auth_throttle.h"
#include "../common/limits.h"
#include "../common/log.h"
#include "../common/xalloc.h"
#include "../db/store.h"
#include "web_int.h"

#define WEB_COOKIE "pbsid"
/* Idle keep-alive connections close after this many seconds. */
#define WEB_CONN_TIMEOUT_SECS 30
/* PEM files of the certificate and key: at most this big. */
#define WEB_PEM_MAX (256 * 1024)

static const char web_csp[] =
        "default-src 'none'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

static char web_errbuf[512];

static enum MHD_Result web_access_cb(void *cls, struct MHD_Connection *conn,
				     const char *url, const char *method,
				     const char *version,
				     const char *upload_data,
				     size_t *upload_data_size, void **con_cls);
static void web_completed_cb(void *cls, struct MHD_Connection *conn,
			     void **con_cls,
			     enum MHD_RequestTerminationCode toe);
static void web_dispatch(struct web_req *r);

/* Reads a whole PEM file (bounded). NULL on error, with errno. */
static char *
web_read_pem(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct buf b;
	char tmp[4096];
	ssize_t n;

	if (fd < 0)
		return NULL;
	buf_init(&b, WEB_PEM_MAX);
	while ((n = read(fd, tmp, sizeof tmp)) > 0)
		if (buf_add(&b, tmp, (size_t)n) < 0) {
			errno = EFBIG;
			n = -1;
			break;
		}
	close(fd);
	if (n < 0) {
		buf_clear(&b);
		return NULL;
	}
	return buf_steal(&b, NULL);
}

struct web *
web_new(const struct web_config *cfg, struct store *st,
	const struct web_hooks *hooks, const char **error_r)
{
	struct web *w = xcalloc(1, sizeof *w);
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;

	w->st = st;
	if (hooks != NULL)
		w->hooks = *hooks;
	w->tls = cfg->tls;
	w->data_dir = xstrdup(cfg->data_dir ? cfg->data_dir : "");
	w->imap_listen = xstrdup(cfg->imap_listen ? cfg->imap_listen : "");
	w->imap_listen_tls =
	        xstrdup(cfg->imap_listen_tls ? cfg->imap_listen_tls : "");
	w->auth = web_auth_new();
	w->throttle = auth_throttle_new();
	if (cfg->tls) {
		w->cert_pem = web_read_pem(cfg->cert_path);
		w->key_pem = w->cert_pem ? web_read_pem(cfg->key_path) : NULL;
		if (w->key_pem == NULL) {
			snprintf(web_errbuf, sizeof web_errbuf,
			         "web: cannot read %s: %s",
			         w->cert_pem ? cfg->key_path : cfg->cert_path,
			         strerror(errno));
			goto fail;
		}
		flags |= MHD_USE_TLS;
	}
	if (cfg->tls)
		w->mhd = MHD_start_daemon(
		        flags, 0, NULL, NULL, web_access_cb, w,
		        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)cfg->listen_fd,
		        MHD_OPTION_CONNECTION_LIMIT,
		        (unsigned)WEB_MAX_CONNECTIONS,
		        MHD_OPTION_CONNECTION_TIMEOUT,
		        (unsigned)WEB_CONN_TIMEOUT_SECS,
		        MHD_OPTION_NOTIFY_COMPLETED, web_completed_cb, w,
		        MHD_OPTION_HTTPS_MEM_CERT, w->cert_pem,
		        MHD_OPTION_HTTPS_MEM_KEY, w->key_pem, MHD_OPTION_END);
	else
		w->mhd = MHD_start_daemon(
		        flags, 0, NULL, NULL, web_access_cb, w,
		        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)cfg->listen_fd,
		        MHD_OPTION_CONNECTION_LIMIT,
		        (unsigned)WEB_MAX_CONNECTIONS,
		        MHD_OPTION_CONNECTION_TIMEOUT,
		        (unsigned)WEB_CONN_TIMEOUT_SECS,
		        MHD_OPTION_NOTIFY_COMPLETED, web_completed_cb, w,
		        MHD_OPTION_END);
	if (w->mhd == NULL) {
		snprintf(web_errbuf, sizeof web_errbuf,
		         "web: libmicrohttpd did not start%s",
		         cfg->tls ? " (is the certificate/key pair valid?)" : "");
		goto fail;
	}
	return w;
fail:
	close(cfg->listen_fd);
	if (error_r)
		*error_r = web_errbuf;
	web_free(&w);
	return NULL;
}

void
web_free(struct web **wp)
{
	struct web *w;

	if (wp == NULL || (w = *wp) == NULL)
		return;
	*wp = NULL;
	if (w->mhd != NULL)
		MHD_stop_daemon(w->mhd);
	web_auth_free(&w->auth);
	auth_throttle_free(&w->throttle);
	if (w->key_pem != NULL) {
		OPENSSL_cleanse(w->key_pem, strlen(w->key_pem));
		free(w->key_pem);
	}
	free(w->cert_pem);
	free(w->data_dir);
	free(w->imap_listen);
	free(w->imap_listen_tls);
	free(w);
}

int
web_epoll_fd(struct web *w)
{
	const union MHD_DaemonInfo *i =
	        MHD_get_daemon_info(w->mhd, MHD_DAEMON_INFO_EPOLL_FD);

	return i ? i->epoll_fd : -1;
}

void
web_run(struct web *w)
{
	(void)MHD_run(w->mhd);
}

int64_t
web_timeout_ms(struct web *w)
{
	MHD_UNSIGNED_LONG_LONG t = 0;

	if (MHD_get_timeout(w->mhd, &t) != MHD_YES)
		return -1;
	return t > INT64_MAX ? INT64_MAX : (int64_t)t;
}

/* ---- requests ---- */

static void
web_req_free(struct web_req *r)
{
	if (r == NULL)
		return;
	if (r->body.data != NULL)
		OPENSSL_cleanse(r->body.data, r->body.len);
	buf_clear(&r->body);
	web_form_free(&r->form);
	buf_clear(&r->out);
	free(r);
}

static void
web_completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
		 enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	web_req_free(*con_cls);
	*con_cls = NULL;
}

static void
web_client_addr(struct MHD_Connection *conn, char *out, size_t len)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
	        conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	snprintf(out, len, "?");
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET,
		          &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		          out, (socklen_t)len);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
		          &((const struct sockaddr_in6 *)(const void *)sa)
		                   ->sin6_addr,
		          out, (socklen_t)len);
}

/* Sends r's response with the headers every response carries. */
static enum MHD_Result
web_respond(struct web_req *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(
	        r->out.len, r->out.data ? r->out.data : (void *)(uintptr_t)"",
	        MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type",
	                        r->ctype ? r->ctype : "text/html; charset=utf-8");
	MHD_add_response_header(resp, "Content-Security-Policy", web_csp);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	if (r->w->tls)
		MHD_add_response_header(resp, "Strict-Transport-Security",
		                        "max-age=31536000");
	if (r->cookie[0] != '\0')
		MHD_add_response_header(resp, "Set-Cookie", r->cookie);
	if (r->location[0] != '\0')
		MHD_add_response_header(resp, "Location", r->location);
	ret = MHD_queue_response(r->conn, r->status ? r->status : 200, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
web_access_cb(void *cls, struct MHD_Connection *conn, const char *url,
	      const char *method, const char *version, const char *upload_data,
	      size_t *upload_data_size, void **con_cls)
{
	struct web *w = cls;
	struct web_req *r = *con_cls;

	(void)version;
	if (r == NULL) {
		r = xcalloc(1, sizeof *r);
		r->w = w;
		r->conn = conn;
		r->method = method;
		r->path = url;
		r->is_post = strcmp(method, "POST") == 0;
		buf_init(&r->body, WEB_BODY_MAX);
		buf_init(&r->out, 4 * 1024 * 1024);
		web_client_addr(conn, r->addr, sizeof r->addr);
		*con_cls = r;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		/* Past the cap the rest is read and dropped; the answer is
		 * 413 once the request is complete. */
		if (!r->body_too_big &&
		    buf_add(&r->body, upload_data, *upload_data_size) < 0)
			r->body_too_big = 1;
		*upload_data_size = 0;
		return MHD_YES;
	}
	r->now = (int64_t)time(NULL);
	web_dispatch(r);
	return web_respond(r);
}

/* ---- helpers for the handlers ---- */

void
web_redirect(struct web_req *r, const char *path)
{
	r->status = 303;
	snprintf(r->location, sizeof r->location, "%s", path);
	buf_reset(&r->out);
}

void
web_set_session_cookie(struct web_req *r, const struct web_session *s)
{
	snprintf(r->cookie, sizeof r->cookie,
	         WEB_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict%s", s->id,
	         r->w->tls ? "; Secure" : "");
}

const struct web_session *
web_ensure_session(struct web_req *r)
{
	if (r->sess == NULL) {
		r->sess = web_auth_session_new(r->w->auth, 0, r->now);
		if (r->sess != NULL)
			web_set_session_cookie(r, r->sess);
	}
	return r->sess;
}

int
web_check_csrf(struct web_req *r)
{
	const char *tok = web_form_get(&r->form, "csrf", WEB_TOKEN_LEN);

	if (r->sess != NULL && tok != NULL && web_auth_csrf_ok(r->sess, tok))
		return 1;
	web_page_error(r, 403, "Form expired",
	               "This form is out of date or did not come from this "
	               "page. Go back, reload the page and try again.");
	return 0;
}

/* ---- routes ---- */

struct web_route {
	const char *path;
	void (*get)(struct web_req *r);
	void (*post)(struct web_req *r);
	int need_login; /* else: reachable logged out */
};

static void
web_get_css(struct web_req *r)
{
	size_t len;
	const char *css = web_page_css(&len);

	r->ctype = "text/css; charset=utf-8";
	buf_add(&r->out, css, len);
}

static void
web_get_setup(struct web_req *r)
{
	if (store_password_is_set(r->w->st)) {
		web_redirect(r, r->sess && r->sess->authed ? "/" : "/login");
		return;
	}
	web_page_setup(r, NULL);
}

static void
web_get_login(struct web_req *r)
{
	if (!store_password_is_set(r->w->st)) {
		web_redirect(r, "/setup");
		return;
	}
	if (r->sess != NULL && r->sess->authed) {
		web_redirect(r, "/");
		return;
	}
	web_page_login(r, NULL);
}

static const struct web_route web_routes[] = {
	{"/", web_page_dashboard, NULL, 1},
	{"/style.css", web_get_css, NULL, 0},
	{"/setup", web_get_setup, web_action_setup, 0},
	{"/login", web_get_login, web_action_login, 0},
	{"/logout", NULL, web_action_logout, 1},
	{NULL, NULL, NULL, 0},
};

static void
web_dispatch(struct web_req *r)
{
	const struct web_route *rt;
	const char *sid;
	const char *err = NULL;

	sid = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, WEB_COOKIE);
	if (sid != NULL)
		r->sess = web_auth_session_get(r->w->auth, sid, r->now);
	for (rt = web_routes; rt->path != NULL; rt++)
		if (strcmp(rt->path, r->path) == 0)
			break;
	if (rt->path == NULL) {
		web_page_error(r, 404, "Not found",
		               "There is no such page here.");
		return;
	}
	if (strcmp(r->method, "HEAD") == 0)
		r->method = "GET"; /* MHD drops the body of a HEAD reply */
	if ((r->is_post && rt->post == NULL) ||
	    (!r->is_post && (rt->get == NULL || strcmp(r->method, "GET") != 0))) {
		web_page_error(r, 405, "Not allowed",
		               "This page does not take that kind of request.");
		return;
	}
	if (rt->need_login && (r->sess == NULL || !r->sess->authed)) {
		web_redirect(r, store_password_is_set(r->w->st) ? "/login"
		                                                 : "/setup");
		return;
	}
	if (r->is_post) {
		const char *ct = MHD_lookup_connection_value(
		        r->conn, MHD_HEADER_KIND, "Content-Type");

		if (r->body_too_big) {
			web_page_error(r, 413, "Too much data",
			               "The form sent more than the web admin "
			               "accepts.");
			return;
		}
		if (ct == NULL ||
		    strncasecmp(ct, "application/x-www-form-urlencoded", 33) !=
		            0) {
			web_page_error(r, 415, "Unsupported form",
			               "Forms must be sent as "
			               "application/x-www-form-urlencoded.");
			return;
		}
		if (web_form_parse(r->body.data ? r->body.data : "",
		                   r->body.len, &r->form, &err) < 0) {
			web_page_error(r, 400, "Bad form",
			               err ? err : "The form could not be read.");
			return;
		}
		rt->post(r);
		return;
	}
	rt->get(r);
}
