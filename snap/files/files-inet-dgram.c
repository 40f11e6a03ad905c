// SPDX-License-Identifier: GPL-2.0
/*
 * UDP and UDP-lite datagrams queued to read: peeked at dump, delivered
 * again at restore.
 *
 * Dump reads them without taking them: MSG_PEEK from an SO_PEEK_OFF that
 * walks the queue one datagram at a time (UDP moves the offset by what a
 * peek copies), from 0, and puts the program's offset back after. Each
 * comes with its sender's address.
 *
 * Restore sends each again from its sender's address and port, as a
 * packet made up with that source (inet-inject.c), to the restored socket,
 * bound and not yet connected (a connected socket takes datagrams from its
 * peer only), then counts them in its queue. What the kernel adds to a
 * datagram it takes in (IP_PKTINFO, IP_RECVTTL...) is the loopback's, not
 * what the first arrival had.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "files/files-inet.h"
#include "log.h"

#define DGRAM_MAX 65536
/* More would be a queue snap cannot have filled: stop rather than loop. */
#define DGRAM_MAX_COUNT (1U << 20)

typedef int (*dgram_fn)(void *arg, uint8_t *data, size_t len, const struct sockaddr_storage *from);

static int get_peek_off(int fd, int *v)
{
	socklen_t len = sizeof(*v);

	return getsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, v, &len);
}

static int set_peek_off(int fd, int v)
{
	return setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &v, sizeof(v));
}

/* Each datagram queued in @fd, in order, to @fn (which takes @data). 0 or -1 logged. */
static int peek_all(int fd, dgram_fn fn, void *arg, size_t *count, const char *who)
{
	struct sockaddr_storage from;
	struct iovec iov;
	struct msghdr mh;
	int off, ret = 0;
	uint8_t *buf;
	ssize_t n;

	*count = 0;
	if (get_peek_off(fd, &off) || set_peek_off(fd, 0)) {
		pr_perror("%s: cannot set SO_PEEK_OFF to read its queue", who);
		return -1;
	}
	while (!ret && *count < DGRAM_MAX_COUNT) {
		buf = malloc(DGRAM_MAX);
		if (!buf) {
			pr_err("%s: out of memory", who);
			ret = -1;
			break;
		}
		memset(&mh, 0, sizeof(mh));
		iov.iov_base = buf;
		iov.iov_len = DGRAM_MAX;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_name = &from;
		mh.msg_namelen = sizeof(from);
		memset(&from, 0, sizeof(from));
		n = recvmsg(fd, &mh, MSG_PEEK | MSG_DONTWAIT);
		if (n < 0) {
			free(buf);
			if (errno != EAGAIN) {
				pr_perror("%s: cannot read its queue", who);
				ret = -1;
			}
			break;
		}
		if (mh.msg_flags & MSG_TRUNC) {
			free(buf);
			pr_err("%s: a queued datagram larger than %d bytes (UDP_GRO?)", who,
			       DGRAM_MAX);
			ret = -1;
			break;
		}
		(*count)++;
		ret = fn(arg, buf, n, &from);
	}
	if (set_peek_off(fd, off)) {
		pr_perror("%s: cannot put SO_PEEK_OFF back to %d", who, off);
		ret = -1;
	}
	return ret;
}

struct dgram_dump {
	struct inet_dump_state *is;
	const InetSkEntry *ie;
	const char *who;
};

static int keep_one(void *arg, uint8_t *data, size_t len, const struct sockaddr_storage *from)
{
	struct dgram_dump *dd = arg;
	const uint8_t *addr;
	uint32_t port;

	if (from->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)from;

		addr = (const uint8_t *)&s->sin6_addr;
		port = ntohs(s->sin6_port);
	} else if (from->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)from;

		addr = (const uint8_t *)&s->sin_addr;
		port = ntohs(s->sin_port);
	} else {
		free(data);
		pr_err("%s: a queued datagram without a sender address", dd->who);
		return -1;
	}
	return inet_queue_add(dd->is, dd->ie->ino, INET_QUEUE__INET_RECV, data, len, addr,
			      from->ss_family == AF_INET6 ? 16 : 4, port);
}

int inet_dgram_dump(struct inet_dump_state *is, int fd, const InetSkEntry *ie, const char *who)
{
	struct dgram_dump dd = {is, ie, who};
	size_t count;

	if (peek_all(fd, keep_one, &dd, &count, who))
		return -1;
	if (count)
		pr_debug("%s: %zu datagrams queued", who, count);
	return 0;
}

static int drop_one(void *arg, uint8_t *data, size_t len, const struct sockaddr_storage *from)
{
	(void)arg;
	(void)len;
	(void)from;
	free(data);
	return 0;
}

/* Where the datagrams go: the bound address, or the loopback of a wildcard. */
static void dest_of(const InetSkEntry *ie, const uint8_t *sender, uint8_t *dst)
{
	static const uint8_t zero[16];
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	memset(dst, 0, 16);
	if (ie->has_src_addr && memcmp(ie->src_addr.data, zero, ie->src_addr.len)) {
		memcpy(dst, ie->src_addr.data, ie->src_addr.len);
	} else if (ie->family == AF_INET) {
		dst[0] = 127;
		dst[3] = 1;
	} else if (!memcmp(sender, mapped, 12)) {
		/* An IPv4 sender reaches a dual-stack socket as ::ffff:127.0.0.1. */
		memcpy(dst, mapped, 12);
		dst[12] = 127;
		dst[15] = 1;
	} else {
		dst[15] = 1;
	}
}

int inet_dgram_restore(int fd, const struct inet_rsk *r, const char *who)
{
	const InetSkEntry *ie = r->ie;
	size_t count;
	uint8_t dst[16];

	if (!r->nr_q)
		return 0;
	for (size_t i = 0; i < r->nr_q; i++) {
		const InetQueueEntry *q = r->q[i];

		dest_of(ie, q->addr.data, dst);
		if (inet_inject_dgram(ie->family, ie->protocol, q->addr.data, q->port, dst,
				      ie->src_port, q->data.data, q->data.len, who))
			return -1;
	}
	if (peek_all(fd, drop_one, NULL, &count, who))
		return -1;
	if (count != r->nr_q) {
		pr_err("%s: %zu of its %zu queued datagrams got in again (SO_RCVBUF too small, or "
		       "another socket on its port took them)",
		       who, count, r->nr_q);
		return -1;
	}
	return 0;
}
