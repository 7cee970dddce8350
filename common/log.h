/*
 * common/log.h: one-line key=value logging to stderr (journald under
 * systemd). fatal()/fatalx() exit the process (OpenSMTPD log.h): fatal
 * appends strerror(errno). Never pass a password to any of these.
 */
#ifndef PB_LOG_H
#define PB_LOG_H

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_init(const char *progname, enum log_level level);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* "error" | "warn" | "info" | "debug" -> level; -1 when unknown. */
int log_level_parse(const char *s);

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

/* Always-on invariant check. */
#define ASSERT(x)                                                           \
	do {                                                                \
		if (!(x))                                                   \
			fatalx("assertion failed: %s (%s:%d)", #x, __FILE__, \
			       __LINE__);                                   \
	} while (0)

#endif
