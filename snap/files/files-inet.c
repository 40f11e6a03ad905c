// SPDX-License-Identifier: GPL-2.0
/*
 * Inet sockets (TCP, UDP, UDP-lite, raw, ICMP "ping"; IPv4 and IPv6): the
 * fd kind. What it does, and where (files-inet.h lists the files):
 *
 * Dump. collect takes the sock_diag tables of every inet socket of snap's
 * network namespace (shutdown states, connections waiting in listeners'
 * queues) and the multicast groups joined on each interface. Each socket
 * fd then saves its family, type, protocol, state, addresses, options,
 * groups and file flags; a UDP socket its queued datagrams (peeked, with
 * their senders); a TCP listener its backlog; an established connection,
 * with --tcp-established, what TCP_REPAIR reads (inet-queues.img holds its
 * queues), or with --tcp-close only that it was connected. A dump that
 * kills the tree holds each connection in repair mode from write() on, so
 * that the kill closes it without a word to the peer, and names it in
 * dump_ctx.lock_conns for the network lock.
 *
 * Restore. Every port the image binds is checked free before anything is
 * made. Sockets are opened in snap, before any process, in snap's network
 * namespace: bound, connected, listening as they were; UDP datagrams are
 * delivered again from their senders' addresses; a connection is made in
 * repair mode (no packet leaves) with its sequence numbers, options, queues
 * and windows, and once every socket exists all_opened() takes them out of
 * repair mode, sends what had not been sent and feeds in the FINs.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "files/files-inet.h"
#include "log.h"

static bool inet_match(const struct fd_desc *d)
{
	socklen_t len = sizeof(int);
	int domain;

	return !getsockopt(d->local, SOL_SOCKET, SO_DOMAIN, &domain, &len) &&
	       (domain == AF_INET || domain == AF_INET6);
}

static int inet_collect(struct dump_ctx *ctx, void *st)
{
	struct inet_dump_state *is = st;

	is->ctx = ctx;
	if (inet_diag_collect(&is->diag))
		return -1;
	return inet_mc_cands_read(&is->mc);
}

const char *inet_proto_str(uint32_t family, uint32_t type, uint32_t protocol, char *buf,
			   size_t size)
{
	const char *v6 = family == AF_INET6 ? "v6" : "";

	if (type == SOCK_STREAM && protocol == IPPROTO_TCP)
		snprintf(buf, size, "TCP%s", v6);
	else if (type == SOCK_DGRAM && protocol == IPPROTO_UDP)
		snprintf(buf, size, "UDP%s", v6);
	else if (type == SOCK_DGRAM && protocol == IPPROTO_UDPLITE)
		snprintf(buf, size, "UDP-lite%s", v6);
	else if (type == SOCK_DGRAM && (protocol == IPPROTO_ICMP || protocol == IPPROTO_ICMPV6))
		snprintf(buf, size, "ping%s", v6);
	else if (type == SOCK_RAW)
		snprintf(buf, size, "raw%s (protocol %u)", v6, protocol);
	else
		snprintf(buf, size, "inet%s (type %u, protocol %u)", v6, type, protocol);
	return buf;
}

const char *inet_addr_str(uint32_t family, const uint8_t *addr, int port, char *buf,
			  size_t size)
{
	char a[INET6_ADDRSTRLEN] = "?";
	static const uint8_t zero[16];

	if (!addr)
		addr = zero;
	inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, addr, a, sizeof(a));
	if (port < 0)
		snprintf(buf, size, "%s", a);
	else if (family == AF_INET6)
		snprintf(buf, size, "[%s]:%d", a, port);
	else
		snprintf(buf, size, "%s:%d", a, port);
	return buf;
}

/* "TCP 127.0.0.1:80 -> 127.0.0.1:4000" of @ie. */
static void describe(const InetSkEntry *ie, char *buf, size_t size)
{
	char proto[48], src[INET_ADDR_STR], dst[INET_ADDR_STR];

	inet_proto_str(ie->family, ie->type, ie->protocol, proto, sizeof(proto));
	inet_addr_str(ie->family, ie->has_src_addr ? ie->src_addr.data : NULL,
		      ie->has_src_port ? (int)ie->src_port : 0, src, sizeof(src));
	if (ie->has_dst_addr)
		snprintf(buf, size, "%s %s -> %s", proto, src,
			 inet_addr_str(ie->family, ie->dst_addr.data, ie->dst_port, dst,
				       sizeof(dst)));
	else
		snprintf(buf, size, "%s %s", proto, src);
}

const char *inet_who(const struct fd_desc *d, const InetSkEntry *ie, char *buf, size_t size)
{
	char what[INET_WHO_MAX];
	int n;

	if (d->inflight)
		n = snprintf(buf, size, "a socket in flight in a queued message");
	else
		n = snprintf(buf, size, "pid %d fd %d", d->pid, d->fd);
	if (ie && n > 0 && (size_t)n < size) {
		describe(ie, what, sizeof(what));
		snprintf(buf + n, size - n, ": %s", what);
	}
	return buf;
}

const char *inet_rwho(const FileEntry *fe, char *buf, size_t size)
{
	char what[INET_WHO_MAX];

	if (!fe->inet_sk) {
		snprintf(buf, size, "files.img file id %u", fe->id);
		return buf;
	}
	describe(fe->inet_sk, what, sizeof(what));
	snprintf(buf, size, "files.img file id %u (%s)", fe->id, what);
	return buf;
}

socklen_t inet_sockaddr(uint32_t family, const uint8_t *addr, uint32_t port, uint32_t scope,
			struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		if (addr)
			memcpy(&sin->sin_addr, addr, 4);
		return sizeof(*sin);
	}
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	sin6->sin6_scope_id = scope;
	if (addr)
		memcpy(&sin6->sin6_addr, addr, 16);
	return sizeof(*sin6);
}

const struct fd_ops inet_fd_ops = {
	.type = FD_TYPE__FD_INET,
	.name = "inet socket",
	.fmts = FD_FMT(S_IFSOCK),
	.match = inet_match,
	.dump_state = sizeof(struct inet_dump_state),
	.collect = inet_collect,
	.dump = inet_dump,
	.write = inet_write,
	.dump_free = inet_dump_free,
	.restore_state = sizeof(struct inet_restore_state),
	.load = inet_load,
	.prepare = inet_prepare,
	.open = inet_open,
	.all_opened = inet_all_opened,
	.restore_free = inet_restore_free,
};
