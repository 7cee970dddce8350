/*
 * bridge/net.h: listening sockets from "host:port" lists ("127.0.0.1:1143,
 * [::1]:1143", "*:143" for all addresses). Non-blocking, CLOEXEC, REUSEADDR.
 */
#ifndef PB_NET_H
#define PB_NET_H

#include <stddef.h>

/* Appends listening fds to fds_r (up to max). Returns count, -1 on error. */
int net_listen(const char *spec, int *fds_r, size_t max, const char **error_r);
/* Accepts one connection (non-blocking, CLOEXEC); -1 with errno. */
int net_accept(int lfd, char *addr_r, size_t addrlen, int *is_loopback_r);

#endif
