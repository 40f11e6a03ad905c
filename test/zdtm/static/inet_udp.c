/*
 * UDP and UDP-lite sockets: bound (IPv4, IPv6 dual-stack), connected,
 * unbound, shut down, with datagrams queued from several senders (an empty
 * one among them, one from 127.0.0.2, one from an IPv4 sender to the IPv6
 * socket) and the program's SO_PEEK_OFF; options (UDP_CORK with nothing
 * corked, SO_BROADCAST, IP_TTL, IP_PKTINFO, SO_RCVBUF, IP_MULTICAST_TTL,
 * IP_MULTICAST_LOOP, IP_MULTICAST_ALL) and a multicast group joined with a
 * source filter and one without. After restore every datagram comes in
 * order with its sender's address and port, and each socket is as it was.
 */
#include <netinet/udp.h>
#include <poll.h>
#include <stdio.h>

#include "zdtmtst.h"
#include "inet-util.h"

#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE 136
#endif

static int udp(int family, int proto, const char *addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = in_loop(family, port, &ss);
	int fd = socket(family, SOCK_DGRAM, proto);

	if (fd < 0)
		fail("socket: %m");
	if (addr) {
		if (family == AF_INET)
			inet_pton(AF_INET, addr, &((struct sockaddr_in *)&ss)->sin_addr);
		else
			inet_pton(AF_INET6, addr, &((struct sockaddr_in6 *)&ss)->sin6_addr);
		if (bind(fd, (struct sockaddr *)&ss, len))
			fail("bind %s: %m", addr);
	}
	return fd;
}

static void sendto_fd(int from, int to, size_t len, uint64_t seed)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char buf[2048];

	if (getsockname(to, (struct sockaddr *)&ss, &sl))
		fail("getsockname: %m");
	datagen(buf, len, seed);
	if (sendto(from, buf, len, 0, (struct sockaddr *)&ss, sl) != (ssize_t)len)
		fail("sendto: %m");
}

/* The next datagram is @len bytes of datagen(@seed), from @from's port. */
static void expect_from(int fd, int from, size_t len, uint64_t seed)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char buf[2048];
	ssize_t n;
	int port;

	n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&ss, &sl);
	if (n != (ssize_t)len)
		fail("fd %d: a %zu-byte datagram expected, got %zd (%m)", fd, len, n);
	CHECK_DATA(buf, len, seed);
	port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port :
					       ((struct sockaddr_in6 *)&ss)->sin6_port);
	if (port != in_port(from))
		fail("fd %d: a datagram from port %d, expected %d", fd, port, in_port(from));
}

static int member(int fd, const char *group, const char *source)
{
	struct ip_msfilter *f = calloc(1, IP_MSFILTER_SIZE(4));
	socklen_t len = IP_MSFILTER_SIZE(4);
	int ret;

	inet_pton(AF_INET, group, &f->imsf_multiaddr);
	inet_pton(AF_INET, "127.0.0.1", &f->imsf_interface);
	f->imsf_numsrc = 4;
	if (getsockopt(fd, IPPROTO_IP, IP_MSFILTER, f, &len)) {
		free(f);
		return 0;
	}
	ret = 1;
	if (source) {
		struct in_addr s;

		inet_pton(AF_INET, source, &s);
		ret = f->imsf_fmode == MCAST_INCLUDE && f->imsf_numsrc == 1 &&
		      f->imsf_slist[0].s_addr == s.s_addr ? 2 : -1;
	}
	free(f);
	return ret;
}

int main(int argc, char **argv)
{
	int a, b, s1, s2, s3, lite, lsend, d6, u, conn, peer, shut, opt, fb;
	struct ip_mreqn mr = { .imr_ifindex = 1 };
	struct ip_mreq_source ms = { 0 };
	int ttl, rcvbuf, peek;

	test_init(argc, argv);
	a = udp(AF_INET, 0, "127.0.0.1", 0);
	s1 = udp(AF_INET, 0, "127.0.0.1", 0);
	s2 = udp(AF_INET, 0, "127.0.0.2", 0);
	s3 = udp(AF_INET, 0, NULL, 0);
	sendto_fd(s1, a, 100, 1);
	sendto_fd(s2, a, 0, 2);
	sendto_fd(s3, a, 1400, 3);
	sendto_fd(s1, a, 7, 4);
	in_setopt(a, SOL_SOCKET, SO_PEEK_OFF, 0);

	d6 = udp(AF_INET6, 0, "::", 0);
	b = udp(AF_INET6, 0, "::1", 0);
	sendto_fd(b, d6, 300, 5);
	{
		struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(in_port(d6)) };
		char buf[50];

		to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		datagen(buf, sizeof(buf), 6);
		if (sendto(s1, buf, sizeof(buf), 0, (struct sockaddr *)&to, sizeof(to)) != 50)
			fail("sendto the dual-stack socket: %m");
	}

	lite = udp(AF_INET, IPPROTO_UDPLITE, "127.0.0.1", 0);
	lsend = udp(AF_INET, IPPROTO_UDPLITE, "127.0.0.1", 0);
	sendto_fd(lsend, lite, 200, 7);

	conn = udp(AF_INET, 0, "127.0.0.1", 0);
	peer = udp(AF_INET, 0, "127.0.0.1", 0);
	{
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);

		getsockname(peer, (struct sockaddr *)&ss, &sl);
		if (connect(conn, (struct sockaddr *)&ss, sl))
			fail("connect: %m");
	}
	sendto_fd(peer, conn, 64, 8);
	shut = udp(AF_INET, 0, "127.0.0.1", 0);
	{
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);

		getsockname(peer, (struct sockaddr *)&ss, &sl);
		if (connect(shut, (struct sockaddr *)&ss, sl) || shutdown(shut, SHUT_RD))
			fail("shutdown: %m");
	}

	u = udp(AF_INET, 0, NULL, 0);
	opt = udp(AF_INET, 0, "0.0.0.0", 0);
	in_setopt(opt, IPPROTO_UDP, UDP_CORK, 1);
	in_setopt(opt, SOL_SOCKET, SO_BROADCAST, 1);
	in_setopt(opt, IPPROTO_IP, IP_TTL, 33);
	in_setopt(opt, IPPROTO_IP, IP_PKTINFO, 1);
	in_setopt(opt, IPPROTO_IP, IP_MULTICAST_TTL, 5);
	in_setopt(opt, IPPROTO_IP, IP_MULTICAST_LOOP, 0);
	in_setopt(opt, IPPROTO_IP, IP_MULTICAST_ALL, 0);
	in_setopt(opt, SOL_SOCKET, SO_RCVBUF, 200000);
	inet_pton(AF_INET, "239.1.2.3", &mr.imr_multiaddr);
	if (setsockopt(opt, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr)))
		fail("IP_ADD_MEMBERSHIP: %m");
	inet_pton(AF_INET, "232.1.1.1", &ms.imr_multiaddr);
	inet_pton(AF_INET, "127.0.0.1", &ms.imr_interface);
	inet_pton(AF_INET, "10.1.1.1", &ms.imr_sourceaddr);
	if (setsockopt(opt, IPPROTO_IP, IP_ADD_SOURCE_MEMBERSHIP, &ms, sizeof(ms)))
		fail("IP_ADD_SOURCE_MEMBERSHIP: %m");
	if (member(opt, "239.1.2.3", NULL) != 1 || member(opt, "232.1.1.1", "10.1.1.1") != 2)
		fail("the memberships do not read back");
	fb = socket(AF_INET, SOCK_DGRAM, 0);
	in_setopt(fb, IPPROTO_IP, IP_FREEBIND, 1);
	in_setopt(fb, IPPROTO_IP, IP_TRANSPARENT, 1);
	in_setopt(fb, IPPROTO_IP, IP_TOS, 0x10);
	in_setopt(fb, SOL_SOCKET, SO_MARK, 7);
	in_setopt(fb, SOL_SOCKET, SO_PRIORITY, 5);
	if (setsockopt(fb, SOL_SOCKET, SO_BINDTODEVICE, "lo", 2))
		fail("SO_BINDTODEVICE: %m");
	{
		struct sockaddr_in sin = { .sin_family = AF_INET };

		inet_pton(AF_INET, "10.255.255.1", &sin.sin_addr);
		if (bind(fb, (struct sockaddr *)&sin, sizeof(sin)))
			fail("bind to a non-local address with IP_FREEBIND: %m");
	}
	ttl = in_getopt(opt, IPPROTO_IP, IP_TTL);
	rcvbuf = in_getopt(opt, SOL_SOCKET, SO_RCVBUF);
	peek = in_getopt(a, SOL_SOCKET, SO_PEEK_OFF);

	test_daemon();
	test_waitsig();

	CHECK_EQ(in_getopt(a, SOL_SOCKET, SO_PEEK_OFF), peek);
	in_setopt(a, SOL_SOCKET, SO_PEEK_OFF, -1);
	expect_from(a, s1, 100, 1);
	expect_from(a, s2, 0, 2);
	expect_from(a, s3, 1400, 3);
	expect_from(a, s1, 7, 4);
	in_expect_empty(a);
	expect_from(d6, b, 300, 5);
	expect_from(d6, s1, 50, 6);
	in_expect_empty(d6);
	expect_from(lite, lsend, 200, 7);
	CHECK_EQ(in_getopt(lite, SOL_SOCKET, SO_PROTOCOL), IPPROTO_UDPLITE);
	expect_from(conn, peer, 64, 8);
	CHECK_EQ(in_peer_port(conn), in_port(peer));
	/* Still connected: a datagram from elsewhere does not get in. */
	sendto_fd(s1, conn, 10, 9);
	sendto_fd(peer, conn, 11, 10);
	expect_from(conn, peer, 11, 10);
	{
		struct pollfd p = { .fd = shut, .events = POLLIN | POLLRDHUP };

		if (poll(&p, 1, 0) != 1 || !(p.revents & POLLRDHUP))
			fail("the socket shut for reading is not (poll %#x)", p.revents);
	}
	CHECK_EQ(in_port(u), 0);
	CHECK_EQ(in_getopt(opt, IPPROTO_UDP, UDP_CORK), 1);
	CHECK_EQ(in_getopt(opt, SOL_SOCKET, SO_BROADCAST), 1);
	CHECK_EQ(in_getopt(opt, IPPROTO_IP, IP_TTL), ttl);
	CHECK_EQ(in_getopt(opt, IPPROTO_IP, IP_PKTINFO), 1);
	CHECK_EQ(in_getopt(opt, IPPROTO_IP, IP_MULTICAST_TTL), 5);
	CHECK_EQ(in_getopt(opt, IPPROTO_IP, IP_MULTICAST_LOOP), 0);
	CHECK_EQ(in_getopt(opt, IPPROTO_IP, IP_MULTICAST_ALL), 0);
	CHECK_EQ(in_getopt(opt, SOL_SOCKET, SO_RCVBUF), rcvbuf);
	if (member(opt, "239.1.2.3", NULL) != 1)
		fail("no longer in group 239.1.2.3");
	if (member(opt, "232.1.1.1", "10.1.1.1") != 2)
		fail("no longer in group 232.1.1.1 with source 10.1.1.1");
	{
		struct sockaddr_in sin;
		socklen_t sl = sizeof(sin);
		char dev[16] = "";

		if (getsockname(fb, (struct sockaddr *)&sin, &sl) ||
		    sin.sin_addr.s_addr != inet_addr("10.255.255.1"))
			fail("the IP_FREEBIND socket is not bound to 10.255.255.1");
		sl = sizeof(dev);
		if (getsockopt(fb, SOL_SOCKET, SO_BINDTODEVICE, dev, &sl) || strcmp(dev, "lo"))
			fail("SO_BINDTODEVICE is '%s', not lo", dev);
	}
	CHECK_EQ(in_getopt(fb, IPPROTO_IP, IP_FREEBIND), 1);
	CHECK_EQ(in_getopt(fb, IPPROTO_IP, IP_TRANSPARENT), 1);
	CHECK_EQ(in_getopt(fb, IPPROTO_IP, IP_TOS), 0x10);
	CHECK_EQ(in_getopt(fb, SOL_SOCKET, SO_MARK), 7);
	CHECK_EQ(in_getopt(fb, SOL_SOCKET, SO_PRIORITY), 5);
	/* And it still works: a datagram to the port. */
	{
		struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(in_port(opt)) };
		char buf[16];

		to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (sendto(s1, "abc", 3, 0, (struct sockaddr *)&to, sizeof(to)) != 3 ||
		    recv(opt, buf, sizeof(buf), MSG_DONTWAIT) != 3)
			fail("the bound socket does not get datagrams (%m)");
	}
	pass();
	return 0;
}
