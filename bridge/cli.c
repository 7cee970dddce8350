/*
 * bridge/cli.c: helpers shared by the command-line commands (see cli.h):
 * option parsing, one-line errors, the store path, password files.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "../common/limits.h"
#include "../common/xalloc.h"
#include "../db/secret.h"
#include "../db/store.h"

static void verror(const struct cli_ctx *c, const char *fmt, va_list ap)
        __attribute__((format(printf, 2, 0)));

static void
verror(const struct cli_ctx *c, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof msg, fmt, ap);
	fflush(stdout);
	if (c != NULL && c->cmd != NULL)
		fprintf(stderr, "popbridge: %s: %s\n", c->cmd, msg);
	else
		fprintf(stderr, "popbridge: %s\n", msg);
	fflush(stderr);
}

void
cli_error(const struct cli_ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(c, fmt, ap);
	va_end(ap);
}

int
cli_usage_error(const struct cli_ctx *c, const char *usage, const char *fmt,
                ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(c, fmt, ap);
	va_end(ap);
	if (usage != NULL)
		fprintf(stderr, "usage: popbridge %s\n", usage);
	else
		fputs("run 'popbridge --help' for the commands\n", stderr);
	return CLI_EXIT_USAGE;
}

int
cli_store_error(const struct cli_ctx *c, int rc, const char *what)
{
	const char *detail = c->st ? store_last_error(c->st) : NULL;
	const char *name = store_strerror(rc < 0 ? -rc : rc);

	if (detail != NULL && detail[0] != '\0' && strcmp(detail, name) != 0)
		cli_error(c, "%s: %s: %s", what, name, detail);
	else
		cli_error(c, "%s: %s", what, name);
	return CLI_EXIT_FAIL;
}

int
cli_parse(const struct cli_ctx *c, int argc, char **argv, int first,
          struct cli_opt *opts, const char **pos, int max_pos, int min_pos,
          int *npos_r, const char *usage)
{
	int i, npos = 0, only_pos = 0;
	struct cli_opt *o;

	for (o = opts; o && o->name; o++)
		o->value = NULL;
	for (i = first; i < argc; i++) {
		const char *a = argv[i], *eq, *val = NULL;
		size_t nlen;

		if (only_pos || a[0] != '-' || a[1] == '\0') {
			if (npos >= max_pos) {
				cli_usage_error(c, usage,
				                "unexpected argument '%s'", a);
				return -1;
			}
			pos[npos++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_pos = 1;
			continue;
		}
		eq = strchr(a, '=');
		nlen = eq ? (size_t)(eq - a) : strlen(a);
		for (o = opts; o && o->name; o++) {
			if (strlen(o->name) == nlen &&
			    strncmp(o->name, a, nlen) == 0)
				break;
		}
		if (o == NULL || o->name == NULL) {
			cli_usage_error(c, usage, "unknown option '%.*s'",
			                (int)nlen, a);
			return -1;
		}
		if (o->value != NULL) {
			cli_usage_error(c, usage, "%s given twice", o->name);
			return -1;
		}
		if (o->has_arg) {
			if (eq != NULL)
				val = eq + 1;
			else if (i + 1 < argc)
				val = argv[++i];
			else {
				cli_usage_error(c, usage, "%s needs a value",
				                o->name);
				return -1;
			}
		} else {
			if (eq != NULL) {
				cli_usage_error(c, usage, "%s takes no value",
				                o->name);
				return -1;
			}
			val = "";
		}
		o->value = val;
	}
	if (npos < min_pos) {
		cli_usage_error(c, usage, "missing argument");
		return -1;
	}
	if (npos_r != NULL)
		*npos_r = npos;
	return 0;
}

char *
cli_data_path(const struct cli_ctx *c, const char *name)
{
	return xasprintf("%s/%s", c->cfg.data_dir, name);
}

int
cli_store_open(struct cli_ctx *c, int create)
{
	char *path = cli_data_path(c, CLI_STORE_FILE);
	const char *err = NULL;
	struct stat sb;
	int rc;

	if (!create && stat(path, &sb) < 0) {
		if (errno == ENOENT)
			cli_error(c,
			          "no store in %s (run 'popbridge init --data "
			          "%s --user NAME' first)",
			          c->cfg.data_dir, c->cfg.data_dir);
		else
			cli_error(c, "%s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	rc = store_open(path, create ? STORE_OPEN_CREATE : 0, &c->st, &err);
	if (rc < 0) {
		cli_error(c, "cannot open the store %s: %s", path,
		          err ? err : store_strerror(-rc));
		c->st = NULL;
		free(path);
		return -1;
	}
	free(path);
	return 0;
}

void
cli_store_close(struct cli_ctx *c)
{
	if (c->st != NULL)
		store_close(&c->st);
	c->st = NULL;
}

int
cli_mkdir_p(const char *path, unsigned mode, int *created_r)
{
	char *p = xstrdup(path);
	size_t i, n = strlen(p);
	struct stat sb;
	int rc = -1;

	if (created_r)
		*created_r = 0;
	if (stat(path, &sb) == 0) {
		free(p);
		if (!S_ISDIR(sb.st_mode)) {
			errno = ENOTDIR;
			return -1;
		}
		return 0;
	}
	for (i = 1; i <= n; i++) {
		if (i < n && p[i] != '/')
			continue;
		if (i < n && p[i - 1] == '/')
			continue;
		p[i] = '\0';
		if (mkdir(p, i == n ? (mode_t)mode : 0755) == 0) {
			if (i == n && created_r)
				*created_r = 1;
		} else if (errno != EEXIST) {
			goto out;
		} else if (stat(p, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
			errno = ENOTDIR;
			goto out;
		}
		if (i < n)
			p[i] = '/';
	}
	rc = 0;
out:
	free(p);
	return rc;
}

void
cli_password_free(char **pw)
{
	if (*pw == NULL)
		return;
	OPENSSL_cleanse(*pw, strlen(*pw));
	free(*pw);
	*pw = NULL;
}

int
cli_read_password_file(const struct cli_ctx *c, const char *path, char **pw_r)
{
	/* The longest password, its CRLF, and one byte to see it is over. */
	char buf[CLI_PASSWORD_MAX + 3];
	size_t len = 0, i;
	int fd, rc = -1, is_stdin = strcmp(path, "-") == 0;

	*pw_r = NULL;
	fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		cli_error(c, "cannot read the password file %s: %s", path,
		          strerror(errno));
		return -1;
	}
	/* Stop at the first line end: stdin may carry more after it. */
	while (len < sizeof buf && memchr(buf, '\n', len) == NULL) {
		ssize_t r =
		        read(fd, buf + len, is_stdin ? 1 : sizeof buf - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			cli_error(c, "cannot read the password file %s: %s",
			          is_stdin ? "(standard input)" : path,
			          strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	for (i = 0; i < len && buf[i] != '\n'; i++)
		;
	len = i;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	if (len > CLI_PASSWORD_MAX) {
		cli_error(c, "the password in %s is longer than %d bytes",
		          is_stdin ? "(standard input)" : path,
		          CLI_PASSWORD_MAX);
		goto out;
	}
	if (len == 0) {
		cli_error(c, "the password in %s is empty",
		          is_stdin ? "(standard input)" : path);
		goto out;
	}
	if (memchr(buf, '\0', len) != NULL) {
		cli_error(c, "the password in %s contains a NUL byte",
		          is_stdin ? "(standard input)" : path);
		goto out;
	}
	*pw_r = xmemdup0(buf, len);
	rc = 0;
out:
	OPENSSL_cleanse(buf, sizeof buf);
	if (!is_stdin)
		close(fd);
	return rc;
}

int
cli_check_name(const char *s, size_t max, const char **why_r)
{
	size_t i, n = strlen(s);

	if (n == 0) {
		*why_r = "empty name";
		return -1;
	}
	if (n > max) {
		*why_r = "name too long";
		return -1;
	}
	for (i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
		      ch == '@' || ch == '+' || ch == '-')) {
			*why_r = "only letters, digits and . _ @ + - are "
			         "allowed";
			return -1;
		}
	}
	return 0;
}

const char *
cli_fmt_size(uint64_t bytes, char *b, size_t blen)
{
	static const char *const units[] = {"KB", "MB", "GB", "TB"};
	double v = (double)bytes;
	int u = -1;

	if (bytes < 1024) {
		snprintf(b, blen, "%llu B", (unsigned long long)bytes);
		return b;
	}
	while (v >= 1024.0 && u < 3) {
		v /= 1024.0;
		u++;
	}
	snprintf(b, blen, "%.1f %s", v, units[u]);
	return b;
}

const char *
cli_fmt_time(int64_t t, char *b, size_t blen)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0) {
		snprintf(b, blen, "never");
		return b;
	}
	if (localtime_r(&tt, &tm) == NULL ||
	    strftime(b, blen, "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(b, blen, "%lld", (long long)t);
	return b;
}

int64_t
cli_now(void)
{
	return (int64_t)time(NULL);
}

double
cli_monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
cli_secret_key_load(const struct cli_ctx *c, unsigned char *key)
{
	const char *err = NULL;
	char *path = cli_data_path(c, CLI_SECRET_FILE);
	int rc = secret_key_load(path, key, &err);

	if (rc < 0)
		cli_error(c, "%s", err ? err : "cannot read the secret key");
	free(path);
	return rc < 0 ? -1 : 0;
}
