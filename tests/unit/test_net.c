/*
 * tests/unit/test_net.c: bridge/net.c: "host:port" lists (IPv4, [IPv6], *,
 * names), the error texts, socket flags, and net_accept's address, loopback
 * flag and flags on loopback.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../bridge/net.h"
#include "test.h"

static void
test_net_listen(void)
{
	const char *err = NULL;
	char spec[64], want[128];
	int fds[8], n, fl;
	struct sockaddr_in sin;
	socklen_t sl = sizeof sin;

	n = net_listen("127.0.0.1:0, [::1]:0", fds, 8, &err);
	T_EQ_INT(n, 2);
	fl = fcntl(fds[0], F_GETFL);
	T_ASSERT(fl & O_NONBLOCK);
	T_ASSERT(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
	getsockname(fds[0], (void *)&sin, &sl);
	snprintf(spec, sizeof spec, "127.0.0.1:%d", ntohs(sin.sin_port));
	snprintf(want, sizeof want,
	         "cannot listen on %s: Address already in use", spec);
	T_EQ_INT(net_listen(spec, fds + 2, 6, &err), -1);
	T_EQ_STR(err, want);
	close(fds[0]);
	close(fds[1]);
	n = net_listen("*:0", fds, 8, &err);
	T_ASSERT(n == 1 || n == 2);
	while (n > 0)
		close(fds[--n]);
	T_EQ_INT(net_listen("", fds, 8, &err), 0);
	T_EQ_INT(net_listen("127.0.0.1:0,127.0.0.1:0", fds, 1, &err), -1);
	T_ASSERT(strstr(err, "too many") != NULL);
	T_EQ_INT(net_listen("127.0.0.1", fds, 8, &err), -1);
	T_ASSERT(strstr(err, "host:port") != NULL);
	T_EQ_INT(net_listen("127.0.0.1:65536", fds, 8, &err), -1);
	T_EQ_INT(net_listen("127.0.0.1:-1", fds, 8, &err), -1);
	T_EQ_INT(net_listen("127.0.0.1:x", fds, 8, &err), -1);
	T_EQ_INT(net_listen("::1:143", fds, 8, &err), -1);
	T_ASSERT(strstr(err, "brackets") != NULL);
	T_EQ_INT(net_listen("[::1]143", fds, 8, &err), -1);
	T_EQ_INT(net_listen(":143", fds, 8, &err), -1);
	T_EQ_INT(net_listen("127.0.0.1:0,,", fds, 8, &err), -1);
	T_EQ_INT(net_listen("192.0.2.1:0", fds, 8, &err), -1);
	T_ASSERT(strstr(err, "cannot listen on 192.0.2.1:0: ") == err);
}

static void
test_net_accept(void)
{
	const char *err = NULL;
	char addr[64];
	int fds[2], c4, c6, a, lo = -1, one = 0;
	struct sockaddr_in6 sin6;
	struct sockaddr_in sin;
	socklen_t sl = sizeof sin, ol = sizeof one;

	T_EQ_INT(net_listen("127.0.0.1:0,[::1]:0", fds, 2, &err), 2);
	/* Nothing pending: -1 with EAGAIN, never blocks. */
	T_EQ_INT(net_accept(fds[0], addr, sizeof addr, &lo), -1);
	T_ASSERT(errno == EAGAIN || errno == EWOULDBLOCK);
	getsockname(fds[0], (void *)&sin, &sl);
	c4 = socket(AF_INET, SOCK_STREAM, 0);
	T_EQ_INT(connect(c4, (void *)&sin, sl), 0);
	a = net_accept(fds[0], addr, sizeof addr, &lo);
	T_ASSERT(a >= 0);
	T_EQ_STR(addr, "127.0.0.1");
	T_EQ_INT(lo, 1);
	T_ASSERT(fcntl(a, F_GETFL) & O_NONBLOCK);
	T_ASSERT(fcntl(a, F_GETFD) & FD_CLOEXEC);
	getsockopt(a, IPPROTO_TCP, TCP_NODELAY, &one, &ol);
	T_EQ_INT(one, 1);
	close(a);
	sl = sizeof sin6;
	getsockname(fds[1], (void *)&sin6, &sl);
	c6 = socket(AF_INET6, SOCK_STREAM, 0);
	T_EQ_INT(connect(c6, (void *)&sin6, sl), 0);
	/* A short address buffer truncates, still NUL-terminated. */
	a = net_accept(fds[1], addr, 2, &lo);
	T_ASSERT(a >= 0);
	T_EQ_STR(addr, ":");
	T_EQ_INT(lo, 1);
	close(a);
	close(c4);
	close(c6);
	close(fds[0]);
	close(fds[1]);
}

static void
test_names(void)
{
	const char *err = NULL;
	int fds[4], n;

	/* A name binds each address it resolves to (at least 127.0.0.1). */
	n = net_listen(" localhost:0 ", fds, 4, &err);
	T_ASSERT(n >= 1);
	while (n > 0)
		close(fds[--n]);
}

static const struct test_case tests[] = {
        {"net_listen", test_net_listen},
        {"net_accept", test_net_accept},
        {"names", test_names},
        {NULL, NULL},
};

TEST_MAIN(tests)
