/*
 * bridge/net.c: listening sockets from "host:port" lists and accept (see
 * net.h). Entries are separated by commas (spaces around them are ignored):
 *   127.0.0.1:1143   [::1]:1143   localhost:1143   *:143   [::]:143
 * A name binds every address it resolves to. "*" binds 0.0.0.0 and, where
 * the kernel has IPv6, [::] with IPV6_V6ONLY (so both can share the port).
 * Sockets are non-blocking, CLOEXEC, SO_REUSEADDR, backlog NET_BACKLOG.
 * Accepted sockets are non-blocking, CLOEXEC and TCP_NODELAY (replies are
 * written whole from the output queue; Nagle would only add latency).
 */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/limits.h"
#include "../common/str.h"

/* listen(2) backlog. */
#define NET_BACKLOG 128
/* Longest host part of one entry (a DNS name is at most 253). */
#define NET_HOST_MAX 256

static char net_errbuf[CONFIG_MAX_LINE + 256];

static int net_fail(const char **error_r, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
static int net_parse_entry(struct str entry, char *host, size_t hostsize,
                           char *port, size_t portsize, int *any_r,
                           const char **error_r);
static int net_bind_one(const struct addrinfo *ai, const char *label,
                        int lenient, int *fd_r, const char **error_r);
static void net_label(const struct addrinfo *ai, char *out, size_t outsize);
static int net_listen_entry(struct str entry, int *fds_r, size_t max, size_t *n,
                            const char **error_r);

static int
net_fail(const char **error_r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(net_errbuf, sizeof net_errbuf, fmt, ap);
	va_end(ap);
	if (error_r)
		*error_r = net_errbuf;
	return -1;
}

/*
 * Splits "host:port", "[v6]:port" or "*:port" into NUL-terminated host and
 * port (host "" with *any_r set for "*"). 0 or -1.
 */
static int
net_parse_entry(struct str entry, char *host, size_t hostsize, char *port,
                size_t portsize, int *any_r, const char **error_r)
{
	const char *p = entry.p, *end = entry.p + entry.len, *colon;
	struct str h, pt;
	uint64_t pv;

	*any_r = 0;
	if (entry.len > 0 && p[0] == '[') {
		const char *close = memchr(p, ']', entry.len);

		if (close == NULL || close + 1 >= end || close[1] != ':')
			return net_fail(error_r,
			                "bad listen address \"%.*s\": "
			                "expected [IPv6]:port",
			                (int)entry.len, entry.p);
		h = str_make(p + 1, (size_t)(close - p - 1));
		colon = close + 1;
	} else {
		colon = NULL;
		for (const char *q = p; q < end; q++)
			if (*q == ':')
				colon = q;
		if (colon == NULL)
			return net_fail(error_r,
			                "bad listen address \"%.*s\": "
			                "expected host:port",
			                (int)entry.len, entry.p);
		h = str_make(p, (size_t)(colon - p));
		if (memchr(h.p, ':', h.len) != NULL)
			return net_fail(error_r,
			                "bad listen address \"%.*s\": put "
			                "IPv6 addresses in brackets",
			                (int)entry.len, entry.p);
	}
	pt = str_make(colon + 1, (size_t)(end - colon - 1));
	if (str_to_u64(pt, 65535, &pv) < 0 || pt.len >= portsize)
		return net_fail(error_r,
		                "bad listen address \"%.*s\": port must be "
		                "0-65535",
		                (int)entry.len, entry.p);
	if (h.len == 0)
		return net_fail(error_r,
		                "bad listen address \"%.*s\": empty host",
		                (int)entry.len, entry.p);
	if (h.len >= hostsize)
		return net_fail(error_r,
		                "bad listen address \"%.*s\": host too long",
		                (int)entry.len, entry.p);
	for (size_t i = 0; i < h.len; i++) {
		unsigned char ch = (unsigned char)h.p[i];

		if (ch <= ' ' || ch >= 0x7f || ch == ',' || ch == '[' ||
		    ch == ']')
			return net_fail(error_r,
			                "bad listen address \"%.*s\": bad "
			                "character in host",
			                (int)entry.len, entry.p);
	}
	if (h.len == 1 && h.p[0] == '*') {
		*any_r = 1;
		host[0] = '\0';
	} else {
		memcpy(host, h.p, h.len);
		host[h.len] = '\0';
	}
	memcpy(port, pt.p, pt.len);
	port[pt.len] = '\0';
	return 0;
}

/*
 * Creates, binds and listens one socket. 0, -1 with error, or 1 to skip it
 * when lenient ("*" or a name) and the address family or address is not
 * available here (IPv6 off, no ::1).
 */
static int
net_bind_one(const struct addrinfo *ai, const char *label, int lenient,
             int *fd_r, const char **error_r)
{
	int fd, one = 1, err;

	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	            0);
	if (fd < 0) {
		err = errno;
		if (lenient && (err == EAFNOSUPPORT || err == EPROTONOSUPPORT))
			return 1;
		return net_fail(error_r, "cannot listen on %s: %s", label,
		                strerror(err));
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
		goto fail;
	if (ai->ai_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0)
		goto fail;
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0)
		goto fail;
	if (listen(fd, NET_BACKLOG) < 0)
		goto fail;
	*fd_r = fd;
	return 0;
fail:
	err = errno;
	close(fd);
	if (lenient && (err == EADDRNOTAVAIL || err == EAFNOSUPPORT))
		return 1;
	return net_fail(error_r, "cannot listen on %s: %s", label,
	                strerror(err));
}

/* Formats an address as "1.2.3.4:143" or "[::1]:143". */
static void
net_label(const struct addrinfo *ai, char *out, size_t outsize)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (ai->ai_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ai->ai_addr;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
		port = ntohs(sin->sin_port);
		snprintf(out, outsize, "%s:%u", host, port);
	} else {
		const struct sockaddr_in6 *sin6 = (const void *)ai->ai_addr;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
		port = ntohs(sin6->sin6_port);
		snprintf(out, outsize, "[%s]:%u", host, port);
	}
}

static int
net_listen_entry(struct str entry, int *fds_r, size_t max, size_t *n,
                 const char **error_r)
{
	char host[NET_HOST_MAX], port[8], label[INET6_ADDRSTRLEN + 16];
	struct addrinfo hints, *res = NULL, *ai;
	size_t first = *n;
	unsigned char tmp[sizeof(struct in6_addr)];
	int any, r, lenient;

	if (net_parse_entry(entry, host, sizeof host, port, sizeof port, &any,
	                    error_r) < 0)
		return -1;
	lenient = any || (inet_pton(AF_INET, host, tmp) != 1 &&
	                  inet_pton(AF_INET6, host, tmp) != 1);
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
	r = getaddrinfo(any ? NULL : host, port, &hints, &res);
	if (r != 0)
		return net_fail(error_r, "cannot listen on %.*s: %s",
		                (int)entry.len, entry.p,
		                r == EAI_SYSTEM ? strerror(errno)
		                                : gai_strerror(r));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		int fd = -1, dup = 0;

		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		/* getaddrinfo may list one address more than once. */
		for (const struct addrinfo *b = res; b != ai; b = b->ai_next)
			if (b->ai_addrlen == ai->ai_addrlen &&
			    memcmp(b->ai_addr, ai->ai_addr, ai->ai_addrlen) ==
			            0)
				dup = 1;
		if (dup)
			continue;
		net_label(ai, label, sizeof label);
		if (*n >= max) {
			net_fail(error_r,
			         "cannot listen on %s: too many listening "
			         "addresses (at most %zu)",
			         label, max);
			goto fail;
		}
		r = net_bind_one(ai, label, lenient, &fd, error_r);
		if (r < 0)
			goto fail;
		if (r == 0)
			fds_r[(*n)++] = fd;
	}
	freeaddrinfo(res);
	if (*n == first)
		return net_fail(error_r,
		                "cannot listen on %.*s: no usable address",
		                (int)entry.len, entry.p);
	return 0;
fail:
	freeaddrinfo(res);
	while (*n > first)
		close(fds_r[--*n]);
	return -1;
}

int
net_listen(const char *spec, int *fds_r, size_t max, const char **error_r)
{
	const char *p = spec, *end;
	size_t n = 0, len;

	if (spec == NULL)
		return 0;
	len = strlen(spec);
	if (len > CONFIG_MAX_LINE)
		return net_fail(error_r, "listen list too long");
	end = spec + len;
	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *e = comma ? comma : end, *s = p;

		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (e > s) {
			if (net_listen_entry(str_make(s, (size_t)(e - s)),
			                     fds_r, max, &n, error_r) < 0)
				goto fail;
		} else if (comma != NULL) {
			net_fail(error_r, "bad listen list \"%s\": empty entry",
			         spec);
			goto fail;
		}
		p = comma ? comma + 1 : end;
	}
	return (int)n;
fail:
	while (n > 0)
		close(fds_r[--n]);
	return -1;
}

int
net_accept(int lfd, char *addr_r, size_t addrlen, int *is_loopback_r)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	char host[INET6_ADDRSTRLEN] = "unknown";
	int fd, one = 1, loopback = 0;

	do {
		fd = accept4(lfd, (struct sockaddr *)&ss, &sl,
		             SOCK_NONBLOCK | SOCK_CLOEXEC);
	} while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return -1;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)&ss;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
		loopback = (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)&ss;
		const struct in6_addr *a = &sin6->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a)) {
			/* Show "::ffff:127.0.0.1" as the IPv4 it is. */
			inet_ntop(AF_INET, &a->s6_addr[12], host, sizeof host);
			loopback = a->s6_addr[12] == 127;
		} else {
			inet_ntop(AF_INET6, a, host, sizeof host);
			loopback = IN6_IS_ADDR_LOOPBACK(a);
		}
	}
	/* Not fatal: a socket that refuses it still works. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (addr_r != NULL && addrlen > 0) {
		size_t hl = strlen(host);

		if (hl >= addrlen)
			hl = addrlen - 1;
		memcpy(addr_r, host, hl);
		addr_r[hl] = '\0';
	}
	if (is_loopback_r != NULL)
		*is_loopback_r = loopback;
	return fd;
}
