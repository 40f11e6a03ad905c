// SPDX-License-Identifier: GPL-2.0
/*
 * Packets made up from a peer's address and delivered to a restored socket
 * through a raw socket that writes its own IP header (IPPROTO_RAW): the
 * FIN a connection had received, and the datagrams a UDP socket had queued
 * with their senders' addresses, which may not be local. The packet goes
 * out to a local address, so the kernel loops it back and takes it in as
 * any other; by the time sendto() returns it is queued on the socket.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "net/inet-repair.h"

#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE 136
#endif

#define IP4_MAX_PAYLOAD (65535 - 20)
#define IP6_MAX_PAYLOAD 65535

static uint32_t sum16(const void *p, size_t len, uint32_t sum)
{
	const uint8_t *b = p;

	for (; len > 1; b += 2, len -= 2)
		sum += (uint32_t)b[0] << 8 | b[1];
	if (len)
		sum += (uint32_t)b[0] << 8;
	return sum;
}

/* The Internet checksum of the pseudo header and @len bytes at @p, in network order. */
static uint16_t l4_csum(int family, const uint8_t *src, const uint8_t *dst, int proto,
			uint32_t l4len, const void *p, size_t len)
{
	size_t alen = family == AF_INET ? 4 : 16;
	uint32_t sum = 0;

	sum = sum16(src, alen, sum);
	sum = sum16(dst, alen, sum);
	sum += proto;
	sum += l4len >> 16;
	sum += l4len & 0xffff;
	sum = sum16(p, len, sum);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	/* UDP sends a computed 0 as all ones: 0 means no checksum. */
	return htons(sum ? sum : 0xffff);
}

/*
 * An IPv4-mapped IPv6 address travels as IPv4: the packet must, for the
 * socket to see it.
 */
static int real_family(int family, const uint8_t *a)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	return family == AF_INET6 && !memcmp(a, mapped, 12) ? AF_INET : family;
}

/* Send @l4 (@len bytes of protocol @proto) from @src to @dst, with an IP header of our own. */
static int send_raw(int family, int proto, const uint8_t *src, const uint8_t *dst, const void *l4,
		    size_t len, const char *who)
{
	struct sockaddr_storage ss = {0};
	size_t hlen = family == AF_INET ? sizeof(struct iphdr) : sizeof(struct ip6_hdr);
	uint8_t *pkt = malloc(hlen + len);
	socklen_t slen;
	int fd, ret;

	if (!pkt) {
		pr_err("%s: out of memory", who);
		return -1;
	}
	if (family == AF_INET) {
		struct iphdr *ip = (struct iphdr *)pkt;
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		memset(ip, 0, sizeof(*ip));
		ip->version = 4;
		ip->ihl = 5;
		ip->ttl = 64;
		ip->protocol = proto;
		ip->tot_len = htons(hlen + len);
		memcpy(&ip->saddr, src, 4);
		memcpy(&ip->daddr, dst, 4);
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, dst, 4);
		slen = sizeof(*sin);
	} else {
		struct ip6_hdr *ip6 = (struct ip6_hdr *)pkt;
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		memset(ip6, 0, sizeof(*ip6));
		ip6->ip6_flow = htonl(6u << 28);
		ip6->ip6_plen = htons(len);
		ip6->ip6_nxt = proto;
		ip6->ip6_hlim = 64;
		memcpy(&ip6->ip6_src, src, 16);
		memcpy(&ip6->ip6_dst, dst, 16);
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, dst, 16);
		slen = sizeof(*sin6);
	}
	memcpy(pkt + hlen, l4, len);
	fd = socket(family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (fd < 0) {
		pr_perror("%s: cannot make a raw socket to deliver a packet from its peer", who);
		free(pkt);
		return -1;
	}
	ret = sendto(fd, pkt, hlen + len, 0, (struct sockaddr *)&ss, slen);
	if (ret < 0)
		pr_perror("%s: cannot deliver a packet from its peer", who);
	close(fd);
	free(pkt);
	return ret < 0 ? -1 : 0;
}

/* The address bytes of @a as @family carries them (the last 4 of a mapped one). */
static const uint8_t *addr_of(int family, const uint8_t *a, int real)
{
	return family == AF_INET6 && real == AF_INET ? a + 12 : a;
}

int inet_inject_fin(const struct tcp_ends *e, uint32_t seq, uint32_t ack, uint16_t win,
		    const char *who)
{
	int fam = real_family(e->family, e->raddr);
	const uint8_t *src = addr_of(e->family, e->raddr, fam);
	const uint8_t *dst = addr_of(e->family, e->laddr, fam);
	struct tcphdr th;

	memset(&th, 0, sizeof(th));
	th.source = htons(e->rport);
	th.dest = htons(e->lport);
	th.seq = htonl(seq);
	th.ack_seq = htonl(ack);
	th.doff = sizeof(th) / 4;
	th.fin = 1;
	th.ack = 1;
	th.window = htons(win);
	th.check = l4_csum(fam, src, dst, IPPROTO_TCP, sizeof(th), &th, sizeof(th));
	return send_raw(fam, IPPROTO_TCP, src, dst, &th, sizeof(th), who);
}

int inet_inject_dgram(int family, int protocol, const uint8_t *src, uint16_t sport,
		      const uint8_t *dst, uint16_t dport, const uint8_t *data, size_t len,
		      const char *who)
{
	int fam = real_family(family, src);
	size_t max = fam == AF_INET ? IP4_MAX_PAYLOAD : IP6_MAX_PAYLOAD;
	struct udphdr *uh;
	uint8_t *pkt;
	int ret;

	if (len + sizeof(*uh) > max) {
		pr_err("%s: a queued datagram of %zu bytes, more than one packet can carry back",
		       who, len);
		return -1;
	}
	pkt = malloc(sizeof(*uh) + len);
	if (!pkt) {
		pr_err("%s: out of memory", who);
		return -1;
	}
	src = addr_of(family, src, fam);
	dst = addr_of(family, dst, fam);
	uh = (struct udphdr *)pkt;
	uh->source = htons(sport);
	uh->dest = htons(dport);
	/* UDP-lite: this field is the checksum coverage, 0 for all of it. */
	uh->len = protocol == IPPROTO_UDPLITE ? 0 : htons(sizeof(*uh) + len);
	uh->check = 0;
	memcpy(pkt + sizeof(*uh), data, len);
	uh->check = l4_csum(fam, src, dst, protocol, sizeof(*uh) + len, pkt, sizeof(*uh) + len);
	ret = send_raw(fam, protocol, src, dst, pkt, sizeof(*uh) + len, who);
	free(pkt);
	return ret;
}
