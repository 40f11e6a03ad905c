/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers the unix socket tests share: sending, receiving and checking queued messages. */
#ifndef ZDTM_UNIX_UTIL_H
#define ZDTM_UNIX_UTIL_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "zdtmtst.h"

static inline void sk_send(int fd, size_t len, uint64_t seed)
{
	char *buf = malloc(len + 1);

	datagen(buf, len, seed);
	if (send(fd, buf, len, MSG_DONTWAIT) != (ssize_t)len)
		fail("send %zu bytes on fd %d: %m", len, fd);
	free(buf);
}

/* The next message (dgram, seqpacket) is @len bytes of datagen(@seed). */
static inline void sk_expect_msg(int fd, size_t len, uint64_t seed)
{
	char *buf = malloc(len + 64);
	ssize_t n = recv(fd, buf, len + 64, MSG_DONTWAIT);

	if (n != (ssize_t)len)
		fail("fd %d: a %zu-byte message expected, got %zd (%m)", fd, len, n);
	CHECK_DATA(buf, len, seed);
	free(buf);
}

/* The next @len bytes (stream) are datagen(@seed). */
static inline void sk_expect_bytes(int fd, size_t len, uint64_t seed)
{
	char *buf = malloc(len + 1);
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = recv(fd, buf + got, len - got, MSG_DONTWAIT);
		if (n <= 0)
			fail("fd %d: %zu of %zu bytes read, then %zd (%m)", fd, got, len, n);
		got += n;
	}
	CHECK_DATA(buf, len, seed);
	free(buf);
}

/* Nothing more queued (and no end of stream either). */
static inline void sk_expect_empty(int fd)
{
	char c;
	ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);

	if (n >= 0 || errno != EAGAIN)
		fail("fd %d: expected an empty queue, recv gave %zd (%m)", fd, n);
}

/* The end: the peer shut down or went away. */
static inline void sk_expect_eof(int fd)
{
	char c;
	ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);

	if (n != 0)
		fail("fd %d: expected the end of the stream, recv gave %zd (%m)", fd, n);
}

static inline int sk_peek_off(int fd)
{
	socklen_t len = sizeof(int);
	int v;

	if (getsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &v, &len))
		fail("SO_PEEK_OFF: %m");
	return v;
}

static inline int sk_type(int fd)
{
	socklen_t len = sizeof(int);
	int v;

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len))
		fail("fd %d: SO_TYPE: %m", fd);
	return v;
}

/* @a and @b are connected to each other: a message each way gets through. */
static inline void sk_check_pair(int a, int b)
{
	char buf[8];

	if (send(a, "ping", 4, MSG_DONTWAIT) != 4 || recv(b, buf, sizeof(buf), MSG_DONTWAIT) != 4 ||
	    memcmp(buf, "ping", 4))
		fail("fd %d -> fd %d: no longer connected (%m)", a, b);
	if (send(b, "pong", 4, MSG_DONTWAIT) != 4 || recv(a, buf, sizeof(buf), MSG_DONTWAIT) != 4 ||
	    memcmp(buf, "pong", 4))
		fail("fd %d -> fd %d: no longer connected (%m)", b, a);
}

static inline socklen_t sk_addr(struct sockaddr_un *a, const char *name, int abstract)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (abstract) {
		strncpy(a->sun_path + 1, name, sizeof(a->sun_path) - 2);
		return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name);
	}
	strncpy(a->sun_path, name, sizeof(a->sun_path) - 1);
	return offsetof(struct sockaddr_un, sun_path) + strlen(name) + 1;
}

#endif
