/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers the inet socket tests share: addresses, options, connections on loopback. */
#ifndef ZDTM_INET_UTIL_H
#define ZDTM_INET_UTIL_H

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "zdtmtst.h"

/* A loopback address of @family, port @port. */
static inline socklen_t in_loop(int family, int port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)ss;

		s->sin_family = AF_INET;
		s->sin_port = htons(port);
		s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof(*s);
	}
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(port);
	s6->sin6_addr = in6addr_loopback;
	return sizeof(*s6);
}

static inline int in_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		fail("getsockname: %m");
	return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port :
					       ((struct sockaddr_in6 *)&ss)->sin6_port);
}

static inline int in_peer_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &len))
		return -1;
	return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port :
					       ((struct sockaddr_in6 *)&ss)->sin6_port);
}

static inline int in_getopt(int fd, int level, int opt)
{
	socklen_t len = sizeof(int);
	int v;

	if (getsockopt(fd, level, opt, &v, &len))
		fail("getsockopt(%d, %d): %m", level, opt);
	return v;
}

static inline void in_setopt(int fd, int level, int opt, int v)
{
	if (setsockopt(fd, level, opt, &v, sizeof(v)))
		fail("setsockopt(%d, %d, %d): %m", level, opt, v);
}

static inline int in_tcp_state(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
		fail("TCP_INFO: %m");
	return ti.tcpi_state;
}

/* A listener on loopback (@family), any port, with @backlog. */
static inline int in_listener(int family, int backlog)
{
	struct sockaddr_storage ss;
	socklen_t len = in_loop(family, 0, &ss);
	int fd = socket(family, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) || listen(fd, backlog))
		fail("listener: %m");
	return fd;
}

/* A connection to @lfd's port, and its accepted end in *@srv. */
static inline int in_connect(int family, int lfd, int *srv)
{
	struct sockaddr_storage ss;
	socklen_t len = in_loop(family, in_port(lfd), &ss);
	int fd = socket(family, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len))
		fail("connect: %m");
	*srv = accept(lfd, NULL, NULL);
	if (*srv < 0)
		fail("accept: %m");
	return fd;
}

/* Write all of @len bytes of datagen(@seed), without blocking. */
static inline void in_send(int fd, size_t len, uint64_t seed)
{
	char *buf = malloc(len + 1);
	size_t done = 0;

	datagen(buf, len, seed);
	while (done < len) {
		ssize_t n = send(fd, buf + done, len - done, MSG_DONTWAIT);

		if (n <= 0)
			fail("send %zu bytes on fd %d: %zu sent, then %m", len, fd, done);
		done += n;
	}
	free(buf);
}

/* Read exactly @len bytes and check they are datagen(@seed); wait up to 10 s. */
static inline void in_expect(int fd, size_t len, uint64_t seed)
{
	char *buf = malloc(len + 1);
	size_t got = 0;
	int idle = 0;

	while (got < len) {
		ssize_t n = recv(fd, buf + got, len - got, MSG_DONTWAIT);

		if (n > 0) {
			got += n;
			idle = 0;
			continue;
		}
		if (n == 0 || errno != EAGAIN || ++idle > 1000)
			fail("fd %d: %zu of %zu bytes read, then %zd (%m)", fd, got, len, n);
		usleep(10000);
	}
	CHECK_DATA(buf, len, seed);
	free(buf);
}

/* The end of the stream, within 10 s. */
static inline void in_expect_eof(int fd)
{
	char c;

	for (int i = 0; i < 1000; i++) {
		ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);

		if (n == 0)
			return;
		if (n > 0 || errno != EAGAIN)
			fail("fd %d: expected the end of the stream, recv gave %zd (%m)", fd, n);
		usleep(10000);
	}
	fail("fd %d: no end of stream after 10 s", fd);
}

/* Nothing to read now (and no end of stream). */
static inline void in_expect_empty(int fd)
{
	char c;
	ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);

	if (n >= 0 || errno != EAGAIN)
		fail("fd %d: expected nothing to read, recv gave %zd (%m)", fd, n);
}

/* Close without FIN: a reset, so that no TIME_WAIT is left for the next restore. */
static inline void in_abort(int fd)
{
	struct linger lg = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/*
 * On a SOCK_DGRAM packet socket (the filter sees the IP header): only UDP
 * to @port from here on, as lo carries the rest of the suite's traffic too.
 */
static inline void in_only_udp_port(int fd, int port)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 9),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 0, 4),
		BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),
		BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, port, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0xffff),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = { .len = sizeof(code) / sizeof(code[0]), .filter = code };

	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)))
		fail("SO_ATTACH_FILTER: %m");
}

#endif
