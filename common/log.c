/* common/log.c: stderr logger with levels (see log.h). */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *log_prog = "popbridge";
static enum log_level log_lvl = LOG_LVL_INFO;

void
log_init(const char *progname, enum log_level level)
{
	log_prog = progname;
	log_lvl = level;
}

void
log_set_level(enum log_level level)
{
	log_lvl = level;
}

enum log_level
log_get_level(void)
{
	return log_lvl;
}

int
log_level_parse(const char *s)
{
	if (strcmp(s, "error") == 0)
		return LOG_LVL_ERROR;
	if (strcmp(s, "warn") == 0)
		return LOG_LVL_WARN;
	if (strcmp(s, "info") == 0)
		return LOG_LVL_INFO;
	if (strcmp(s, "debug") == 0)
		return LOG_LVL_DEBUG;
	return -1;
}

static void
vlog(enum log_level lvl, const char *tag, const char *suffix, const char *fmt,
     va_list ap) __attribute__((format(printf, 4, 0)));

static void
vlog(enum log_level lvl, const char *tag, const char *suffix, const char *fmt,
     va_list ap)
{
	char line[2048];
	char ts[32];
	time_t now;
	struct tm tm;

	if (lvl > log_lvl)
		return;
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
	vsnprintf(line, sizeof line, fmt, ap);
	fprintf(stderr, "%s %s %s: %s%s%s\n", ts, log_prog, tag, line,
		suffix ? ": " : "", suffix ? suffix : "");
	fflush(stderr);
}

#define LOGFN(name, lvl, tag)                    \
	void name(const char *fmt, ...)          \
	{                                        \
		va_list ap;                      \
		va_start(ap, fmt);               \
		vlog(lvl, tag, NULL, fmt, ap);   \
		va_end(ap);                      \
	}

LOGFN(log_error, LOG_LVL_ERROR, "error")
LOGFN(log_warnx, LOG_LVL_WARN, "warn")
LOGFN(log_info, LOG_LVL_INFO, "info")
LOGFN(log_debug, LOG_LVL_DEBUG, "debug")

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	const char *e = strerror(errno);
	va_start(ap, fmt);
	vlog(LOG_LVL_WARN, "warn", e, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;
	const char *e = strerror(errno);
	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, "fatal", e, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, "fatal", NULL, fmt, ap);
	va_end(ap);
	exit(1);
}
