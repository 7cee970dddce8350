/*
 * bridge/config.c: the INI config file of PRODUCT.md ("Config file") and
 * the resolution of the data directory.
 *
 * Syntax: "[section]" lines, "key = value" lines, blank lines and comments.
 * A comment starts with '#' or ';' at the start of a line, or after a value
 * when preceded by a space or tab ("listen = x   # comment"); a '#' inside a
 * value ("cert = /a#b") is part of it. Lines are at most CONFIG_MAX_LINE
 * bytes, the file at most CONFIG_MAX_SIZE. The last of repeated keys wins.
 * Every problem is a sentence "FILE:LINE: reason".
 *
 * A relative data_dir is taken relative to the directory of the config file
 * that named it; relative tls cert/key paths are relative to the data
 * directory (config_resolve).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/buf.h"
#include "../common/limits.h"
#include "../common/log.h"
#include "../common/str.h"
#include "../common/xalloc.h"

enum cfg_section {
	SEC_NONE,
	SEC_STORE,
	SEC_IMAP,
	SEC_WEB,
	SEC_TLS,
	SEC_POLLER,
	SEC_LOG,
};

static const char *const section_names[] = {
        [SEC_NONE] = "",   [SEC_STORE] = "store", [SEC_IMAP] = "imap",
        [SEC_WEB] = "web", [SEC_TLS] = "tls",     [SEC_POLLER] = "poller",
        [SEC_LOG] = "log",
};

static int is_space(char c);
static struct str trim(struct str s);
static char *printable_copy(struct str s);
static int set_str(char **dst, struct str v);
static int parse_listen(struct str v, char **out_r, const char **why_r);
static int parse_bool(struct str v, int *b_r);
static int parse_size(struct str v, uint64_t *size_r);
static int apply_key(struct pb_config *cfg, enum cfg_section sec,
                     struct str key, struct str val, struct buf *why);
static int parse_line(struct pb_config *cfg, enum cfg_section *sec,
                      struct str line, struct buf *why);
static char *path_join(const char *dir, const char *rel);
static char *path_absolute(const char *base_dir, const char *path);
static char *path_dirname(const char *path);

void
config_init(struct pb_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->data_dir = NULL; /* ./popbridge-data unless set */
	cfg->imap_listen = xstrdup("127.0.0.1:1143");
	cfg->imap_listen_tls = xstrdup("127.0.0.1:1993");
	cfg->plaintext_login = PLAINTEXT_LOGIN_LOOPBACK;
	cfg->web_listen = xstrdup("127.0.0.1:8080");
	cfg->web_tls = 0;
	cfg->tls_cert = xstrdup("tls/cert.pem");
	cfg->tls_key = xstrdup("tls/key.pem");
	cfg->max_message_size = (uint64_t)POP3_MAX_MESSAGE_DEFAULT;
	cfg->log_level = LOG_LVL_INFO;
	cfg->config_path = NULL;
}

void
config_clear(struct pb_config *cfg)
{
	free(cfg->data_dir);
	free(cfg->imap_listen);
	free(cfg->imap_listen_tls);
	free(cfg->web_listen);
	free(cfg->tls_cert);
	free(cfg->tls_key);
	free(cfg->config_path);
	memset(cfg, 0, sizeof *cfg);
}

const char *
config_default_text(void)
{
	return "# popbridge.conf: every key is optional; the values shown are "
	       "the defaults.\n"
	       "# Comments start with '#' or ';'. See `popbridge --help`.\n"
	       "\n"
	       "[store]\n"
	       "# data_dir = /var/lib/popbridge   # --data DIR wins over it\n"
	       "\n"
	       "[imap]\n"
	       "# listen = 127.0.0.1:1143       # plain IMAP with STARTTLS; "
	       "a comma-separated list; empty turns it off\n"
	       "# listen_tls = 127.0.0.1:1993   # implicit TLS (IMAPS)\n"
	       "# plaintext_login = loopback    # never | loopback | always\n"
	       "\n"
	       "[web]\n"
	       "# listen = 127.0.0.1:8080\n"
	       "# tls = off                     # on: HTTPS with the [tls] "
	       "certificate\n"
	       "\n"
	       "[tls]\n"
	       "# cert = tls/cert.pem           # relative to the data "
	       "directory; reloaded on SIGHUP\n"
	       "# key = tls/key.pem\n"
	       "\n"
	       "[poller]\n"
	       "# max_message_size = 100M\n"
	       "\n"
	       "[log]\n"
	       "# level = info                  # error | warn | info | "
	       "debug\n";
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
	       c == '\v';
}

static struct str
trim(struct str s)
{
	while (s.len > 0 && is_space(s.p[0])) {
		s.p++;
		s.len--;
	}
	while (s.len > 0 && is_space(s.p[s.len - 1]))
		s.len--;
	return s;
}

/* A copy for an error message: control bytes become '?', at most 64. */
static char *
printable_copy(struct str s)
{
	size_t i, n = s.len > 64 ? 64 : s.len;
	char *r = xmalloc(n + 4);

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s.p[i];
		r[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (n < s.len) {
		memcpy(r + n, "...", 3);
		n += 3;
	}
	r[n] = '\0';
	return r;
}

static int
set_str(char **dst, struct str v)
{
	free(*dst);
	*dst = xmemdup0(v.p, v.len);
	return 0;
}

static int
is_host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

static int
is_v6_char(char c)
{
	return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
	       (c >= '0' && c <= '9') || c == ':' || c == '.' || c == '%';
}

/* One "host:port": "*:143", "[::1]:1143", "127.0.0.1:1143", "name:1143". */
static int
check_listen_entry(struct str e, const char **why_r)
{
	const char *colon;
	struct str host, port;
	uint64_t pv;
	size_t i;

	if (e.len == 0) {
		*why_r = "empty entry in the list";
		return -1;
	}
	colon = NULL;
	for (i = e.len; i > 0; i--) {
		if (e.p[i - 1] == ':') {
			colon = e.p + i - 1;
			break;
		}
	}
	if (colon == NULL) {
		*why_r = "expected host:port";
		return -1;
	}
	host = str_make(e.p, (size_t)(colon - e.p));
	port = str_make(colon + 1, e.len - host.len - 1);
	if (str_to_u64(port, 65535, &pv) < 0 || pv == 0) {
		*why_r = "port must be a number from 1 to 65535";
		return -1;
	}
	if (host.len == 0) {
		*why_r = "expected host:port (use *:PORT for all addresses)";
		return -1;
	}
	if (str_eq_cstr(host, "*"))
		return 0;
	if (host.p[0] == '[') {
		if (host.len < 3 || host.p[host.len - 1] != ']') {
			*why_r = "bad IPv6 address (expected [ADDR]:PORT)";
			return -1;
		}
		for (i = 1; i + 1 < host.len; i++) {
			if (!is_v6_char(host.p[i])) {
				*why_r = "bad IPv6 address";
				return -1;
			}
		}
		return 0;
	}
	for (i = 0; i < host.len; i++) {
		if (!is_host_char(host.p[i])) {
			*why_r = host.p[i] == ':'
			                 ? "IPv6 addresses go in brackets: "
			                   "[ADDR]:PORT"
			                 : "bad character in host name";
			return -1;
		}
	}
	return 0;
}

/*
 * A comma-separated list of host:port; "" turns the listener off. The
 * result has the spaces around entries removed.
 */
static int
parse_listen(struct str v, char **out_r, const char **why_r)
{
	struct buf b;
	size_t n = 0;
	const char *p = v.p, *end = v.p + v.len;

	buf_init(&b, CONFIG_MAX_LINE);
	if (v.len == 0) {
		*out_r = xstrdup("");
		return 0;
	}
	for (;;) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *e_end = comma ? comma : end;
		struct str e = trim(str_make(p, (size_t)(e_end - p)));

		if (check_listen_entry(e, why_r) < 0)
			goto fail;
		if (++n > CONFIG_MAX_LISTEN) {
			*why_r = "too many entries in the list";
			goto fail;
		}
		if ((n > 1 && buf_addc(&b, ',') < 0) ||
		    buf_add(&b, e.p, e.len) < 0) {
			*why_r = "list too long";
			goto fail;
		}
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	*out_r = buf_steal(&b, NULL);
	return 0;
fail:
	buf_clear(&b);
	return -1;
}

static int
parse_bool(struct str v, int *b_r)
{
	if (str_eqi_cstr(v, "on") || str_eqi_cstr(v, "yes") ||
	    str_eqi_cstr(v, "true") || str_eq_cstr(v, "1")) {
		*b_r = 1;
		return 0;
	}
	if (str_eqi_cstr(v, "off") || str_eqi_cstr(v, "no") ||
	    str_eqi_cstr(v, "false") || str_eq_cstr(v, "0")) {
		*b_r = 0;
		return 0;
	}
	return -1;
}

/* "100M", "64K", "1G", "4096": binary multiples, within the config bounds. */
static int
parse_size(struct str v, uint64_t *size_r)
{
	uint64_t n, mult = 1;

	if (v.len == 0)
		return -1;
	switch (v.p[v.len - 1]) {
	case 'k':
	case 'K':
		mult = 1024;
		break;
	case 'm':
	case 'M':
		mult = 1024 * 1024;
		break;
	case 'g':
	case 'G':
		mult = 1024 * 1024 * 1024;
		break;
	default:
		break;
	}
	if (mult != 1)
		v.len--;
	if (str_to_u64(v, (uint64_t)CONFIG_MESSAGE_SIZE_MAX, &n) < 0)
		return -1;
	if (n > (uint64_t)CONFIG_MESSAGE_SIZE_MAX / mult)
		return -1;
	n *= mult;
	if (n < (uint64_t)CONFIG_MESSAGE_SIZE_MIN)
		return -1;
	*size_r = n;
	return 0;
}

static int
apply_key(struct pb_config *cfg, enum cfg_section sec, struct str key,
          struct str val, struct buf *why)
{
	const char *lwhy = NULL;
	char *vcopy;
	int b;

	switch (sec) {
	case SEC_STORE:
		if (str_eq_cstr(key, "data_dir")) {
			if (val.len == 0) {
				lwhy = "empty path";
				goto bad_value;
			}
			return set_str(&cfg->data_dir, val);
		}
		break;
	case SEC_IMAP:
		if (str_eq_cstr(key, "listen") ||
		    str_eq_cstr(key, "listen_tls")) {
			char *out;
			if (parse_listen(val, &out, &lwhy) < 0)
				goto bad_listen;
			if (str_eq_cstr(key, "listen")) {
				free(cfg->imap_listen);
				cfg->imap_listen = out;
			} else {
				free(cfg->imap_listen_tls);
				cfg->imap_listen_tls = out;
			}
			return 0;
		}
		if (str_eq_cstr(key, "plaintext_login")) {
			if (str_eq_cstr(val, "never"))
				cfg->plaintext_login = PLAINTEXT_LOGIN_NEVER;
			else if (str_eq_cstr(val, "loopback"))
				cfg->plaintext_login = PLAINTEXT_LOGIN_LOOPBACK;
			else if (str_eq_cstr(val, "always"))
				cfg->plaintext_login = PLAINTEXT_LOGIN_ALWAYS;
			else {
				lwhy = "expected never, loopback or always";
				goto bad_value;
			}
			return 0;
		}
		break;
	case SEC_WEB:
		if (str_eq_cstr(key, "listen")) {
			char *out;
			if (parse_listen(val, &out, &lwhy) < 0)
				goto bad_listen;
			free(cfg->web_listen);
			cfg->web_listen = out;
			return 0;
		}
		if (str_eq_cstr(key, "tls")) {
			if (parse_bool(val, &b) < 0) {
				lwhy = "expected on or off";
				goto bad_value;
			}
			cfg->web_tls = b;
			return 0;
		}
		break;
	case SEC_TLS:
		if (str_eq_cstr(key, "cert") || str_eq_cstr(key, "key")) {
			if (val.len == 0) {
				lwhy = "empty path";
				goto bad_value;
			}
			return set_str(str_eq_cstr(key, "cert") ? &cfg->tls_cert
			                                        : &cfg->tls_key,
			               val);
		}
		break;
	case SEC_POLLER:
		if (str_eq_cstr(key, "max_message_size")) {
			uint64_t sz;
			if (parse_size(val, &sz) < 0) {
				lwhy = "expected a size from 1K to 1G, "
				       "like 100M, 64K or 1G";
				goto bad_value;
			}
			cfg->max_message_size = sz;
			return 0;
		}
		break;
	case SEC_LOG:
		if (str_eq_cstr(key, "level")) {
			char *lv = xmemdup0(val.p, val.len);
			int l = log_level_parse(lv);
			free(lv);
			if (l < 0) {
				lwhy = "expected error, warn, info or debug";
				goto bad_value;
			}
			cfg->log_level = l;
			return 0;
		}
		break;
	case SEC_NONE:
		buf_addstr(why, "key outside a section (add a [section] line "
		                "before it)");
		return -1;
	}
	vcopy = printable_copy(key);
	buf_printf(why, "unknown key '%s' in [%s]", vcopy, section_names[sec]);
	free(vcopy);
	return -1;

bad_listen:
	vcopy = printable_copy(val);
	buf_printf(why, "bad listen address '%s': %s", vcopy, lwhy);
	free(vcopy);
	return -1;
bad_value:
	vcopy = printable_copy(val);
	{
		char *k = printable_copy(key);
		buf_printf(why, "bad value '%s' for %s: %s", vcopy, k, lwhy);
		free(k);
	}
	free(vcopy);
	return -1;
}

/* Cuts a trailing comment: '#' or ';' at the start or after a blank. */
static struct str
cut_comment(struct str v)
{
	size_t i;

	for (i = 0; i < v.len; i++) {
		if ((v.p[i] == '#' || v.p[i] == ';') &&
		    (i == 0 || v.p[i - 1] == ' ' || v.p[i - 1] == '\t'))
			return str_make(v.p, i);
	}
	return v;
}

static int
parse_line(struct pb_config *cfg, enum cfg_section *sec, struct str line,
           struct buf *why)
{
	const char *eq;
	struct str key, val;
	size_t i;

	line = trim(line);
	if (line.len == 0 || line.p[0] == '#' || line.p[0] == ';')
		return 0;
	if (line.p[0] == '[') {
		const char *close = memchr(line.p, ']', line.len);
		struct str name, rest;
		int s;

		if (close == NULL) {
			buf_addstr(why, "section line without ']'");
			return -1;
		}
		name = trim(str_make(line.p + 1, (size_t)(close - line.p - 1)));
		rest = trim(cut_comment(str_make(
		        close + 1, line.len - (size_t)(close - line.p) - 1)));
		if (rest.len != 0) {
			buf_addstr(why, "unexpected text after ']'");
			return -1;
		}
		for (s = SEC_STORE; s <= SEC_LOG; s++) {
			if (str_eq_cstr(name, section_names[s])) {
				*sec = (enum cfg_section)s;
				return 0;
			}
		}
		{
			char *n = printable_copy(name);
			buf_printf(why,
			           "unknown section [%s] (known: store, imap, "
			           "web, tls, poller, log)",
			           n);
			free(n);
		}
		return -1;
	}
	eq = memchr(line.p, '=', line.len);
	if (eq == NULL) {
		buf_addstr(why, "expected 'key = value' or '[section]'");
		return -1;
	}
	key = trim(str_make(line.p, (size_t)(eq - line.p)));
	val = trim(cut_comment(
	        str_make(eq + 1, line.len - (size_t)(eq - line.p) - 1)));
	if (key.len == 0) {
		buf_addstr(why, "missing key before '='");
		return -1;
	}
	for (i = 0; i < key.len; i++) {
		char c = key.p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_')) {
			char *k = printable_copy(key);
			buf_printf(why, "bad key '%s'", k);
			free(k);
			return -1;
		}
	}
	return apply_key(cfg, *sec, key, val, why);
}

int
config_load(struct pb_config *cfg, const char *path, char **error_r)
{
	FILE *f;
	struct buf line, why;
	enum cfg_section sec = SEC_NONE;
	unsigned lineno = 0;
	size_t total = 0;
	int c, rc = -1, eof = 0;

	*error_r = NULL;
	f = fopen(path, "r");
	if (f == NULL) {
		*error_r =
		        xasprintf("%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	buf_init(&line, CONFIG_MAX_LINE);
	buf_init(&why, 512);
	while (!eof) {
		buf_reset(&line);
		lineno++;
		for (;;) {
			c = getc(f);
			if (c == EOF) {
				if (ferror(f)) {
					*error_r = xasprintf(
					        "%s:%u: read error: %s", path,
					        lineno, strerror(errno));
					goto out;
				}
				eof = 1;
				break;
			}
			if (++total > CONFIG_MAX_SIZE) {
				*error_r = xasprintf(
				        "%s:%u: file larger than %d bytes",
				        path, lineno, CONFIG_MAX_SIZE);
				goto out;
			}
			if (c == '\n')
				break;
			if (c == '\0') {
				*error_r = xasprintf("%s:%u: NUL byte in line",
				                     path, lineno);
				goto out;
			}
			if (buf_addc(&line, (char)c) < 0) {
				*error_r = xasprintf(
				        "%s:%u: line longer than %d bytes",
				        path, lineno, CONFIG_MAX_LINE);
				goto out;
			}
		}
		if (eof && line.len == 0)
			break;
		{
			struct str l = str_make(buf_cstr(&line), line.len);
			/* A UTF-8 byte order mark from some editors. */
			if (lineno == 1 && l.len >= 3 &&
			    memcmp(l.p, "\xef\xbb\xbf", 3) == 0) {
				l.p += 3;
				l.len -= 3;
			}
			buf_reset(&why);
			if (parse_line(cfg, &sec, l, &why) < 0) {
				*error_r = xasprintf("%s:%u: %s", path, lineno,
				                     buf_cstr(&why));
				goto out;
			}
		}
	}
	free(cfg->config_path);
	cfg->config_path = xstrdup(path);
	rc = 0;
out:
	buf_clear(&line);
	buf_clear(&why);
	fclose(f);
	return rc;
}

static char *
path_join(const char *dir, const char *rel)
{
	size_t dl = strlen(dir);

	while (rel[0] == '.' && rel[1] == '/') {
		rel += 2;
		while (rel[0] == '/')
			rel++;
	}
	if (strcmp(rel, ".") == 0 || rel[0] == '\0')
		return xstrdup(dir);
	while (dl > 1 && dir[dl - 1] == '/')
		dl--;
	if (dl == 1 && dir[0] == '/')
		return xasprintf("/%s", rel);
	return xasprintf("%.*s/%s", (int)dl, dir, rel);
}

/* NULL when the working directory cannot be found. */
static char *
path_absolute(const char *base_dir, const char *path)
{
	char cwd[PATH_MAX];

	if (path[0] == '/')
		return xstrdup(path);
	if (base_dir != NULL && base_dir[0] == '/')
		return path_join(base_dir, path);
	if (getcwd(cwd, sizeof cwd) == NULL)
		return NULL;
	if (base_dir != NULL) {
		char *b = path_join(cwd, base_dir), *r = path_join(b, path);
		free(b);
		return r;
	}
	return path_join(cwd, path);
}

static char *
path_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

int
config_resolve(struct pb_config *cfg, const char *data_opt, char **error_r)
{
	char *dir = NULL, *cert, *key;

	*error_r = NULL;
	if (data_opt != NULL) {
		if (data_opt[0] == '\0') {
			*error_r = xstrdup("--data: empty path");
			return -1;
		}
		dir = path_absolute(NULL, data_opt);
	} else if (cfg->data_dir != NULL) {
		char *base = cfg->config_path ? path_dirname(cfg->config_path)
		                              : NULL;
		dir = path_absolute(base, cfg->data_dir);
		free(base);
	} else {
		dir = path_absolute(NULL, "popbridge-data");
	}
	if (dir == NULL) {
		*error_r = xasprintf("cannot find the working directory: %s",
		                     strerror(errno));
		return -1;
	}
	cert = cfg->tls_cert[0] == '/' ? xstrdup(cfg->tls_cert)
	                               : path_join(dir, cfg->tls_cert);
	key = cfg->tls_key[0] == '/' ? xstrdup(cfg->tls_key)
	                             : path_join(dir, cfg->tls_key);
	free(cfg->data_dir);
	free(cfg->tls_cert);
	free(cfg->tls_key);
	cfg->data_dir = dir;
	cfg->tls_cert = cert;
	cfg->tls_key = key;
	return 0;
}
