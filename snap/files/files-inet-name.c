// SPDX-License-Identifier: GPL-2.0
/*
 * Inet sockets: names for messages ("pid 5 fd 3: TCP 127.0.0.1:80 ->
 * 127.0.0.1:4000", "files.img file id 7 (UDP 0.0.0.0:53)") and addresses
 * made from an entry's bytes.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "files/files-inet.h"

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

const char *inet_addr_str(uint32_t family, const uint8_t *addr, int port, char *buf, size_t size)
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
