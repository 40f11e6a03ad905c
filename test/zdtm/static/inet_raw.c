/*
 * Ping (ICMP datagram) and raw sockets, IPv4 and IPv6: a ping socket
 * connected to the loopback, whose echo id (its port) must not change, as
 * replies find it by it; raw ICMP sockets with ICMP_FILTER and ICMP6_FILTER,
 * a raw socket bound to an address with IP_HDRINCL and IP_NODEFRAG, a raw
 * IPv6 socket with IPV6_CHECKSUM. After restore each is what it was, pings
 * are answered to the ping sockets, and the raw ICMP sockets see the
 * replies their filters let through.
 *
 * Ping sockets need the caller's group in net.ipv4.ping_group_range: the
 * test puts root's group in if it is not (as ping setups do) and leaves it
 * so, since the restore needs it too; run.py puts the machine's range back
 * when the suite ends (SYSCTLS there).
 */
#include <fcntl.h>
#include <linux/icmp.h>
#include <netinet/icmp6.h>
#include <stdio.h>

#include "zdtmtst.h"
#include "inet-util.h"

static void allow_ping(void)
{
	unsigned int lo, hi;
	FILE *f = fopen("/proc/sys/net/ipv4/ping_group_range", "r");

	if (!f || fscanf(f, "%u %u", &lo, &hi) != 2)
		skip("no net.ipv4.ping_group_range");
	fclose(f);
	if (lo <= getgid() && getgid() <= hi)
		return;
	f = fopen("/proc/sys/net/ipv4/ping_group_range", "w");
	if (!f || fprintf(f, "%u %u\n", getgid(), getgid()) < 0 || fclose(f))
		skip("cannot allow ping sockets for group %u", getgid());
}

static int ping_socket(int family)
{
	struct sockaddr_storage ss;
	socklen_t len = in_loop(family, 0, &ss);
	int fd = socket(family, SOCK_DGRAM, family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6);

	if (fd < 0)
		fail("ping socket: %m");
	if (connect(fd, (struct sockaddr *)&ss, len))
		fail("connect the ping socket: %m");
	return fd;
}

/* An echo request; the reply comes back to @fd, with its id and @seq. */
static void ping(int fd, int family, int seq)
{
	struct icmphdr h = { .type = family == AF_INET ? ICMP_ECHO : ICMP6_ECHO_REQUEST };
	struct icmphdr r;
	ssize_t n = -1;

	h.un.echo.sequence = htons(seq);
	if (send(fd, &h, sizeof(h), 0) != sizeof(h))
		fail("ping send: %m");
	for (int i = 0; i < 100 && n < 0; i++) {
		n = recv(fd, &r, sizeof(r), MSG_DONTWAIT);
		if (n < 0)
			usleep(10000);
	}
	if (n != sizeof(r) || ntohs(r.un.echo.sequence) != seq)
		fail("no echo reply %d on fd %d (%zd, %m)", seq, fd, n);
}

/* @fd, a raw ICMP socket, saw an echo reply with @seq (and no request: filtered). */
static void saw_reply(int fd, int family, int seq)
{
	uint8_t buf[256];
	int seen = 0;

	for (int i = 0; i < 20; i++) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		struct icmphdr *h;

		if (n < 0) {
			if (seen)
				return;
			usleep(10000);
			continue;
		}
		/* IPv4 raw sockets get the IP header, IPv6 ones do not. */
		h = (struct icmphdr *)(family == AF_INET ? buf + (buf[0] & 0xf) * 4 : buf);
		if (h->type == (family == AF_INET ? ICMP_ECHO : ICMP6_ECHO_REQUEST))
			fail("fd %d: its ICMP filter let an echo request through", fd);
		if (h->type == (family == AF_INET ? ICMP_ECHOREPLY : ICMP6_ECHO_REPLY) &&
		    ntohs(h->un.echo.sequence) == seq)
			seen = 1;
	}
	if (!seen)
		fail("fd %d: the raw ICMP socket saw no echo reply %d", fd, seq);
}

int main(int argc, char **argv)
{
	struct icmp_filter f4 = { ~(1u << ICMP_ECHOREPLY) }, g4;
	struct icmp6_filter f6, g6;
	int p4, p6, r4, r6, rb, rc, id4, id6;
	socklen_t len;

	test_init(argc, argv);
	allow_ping();
	p4 = ping_socket(AF_INET);
	p6 = ping_socket(AF_INET6);
	ping(p4, AF_INET, 1);
	ping(p6, AF_INET6, 1);
	id4 = in_port(p4);
	id6 = in_port(p6);

	r4 = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	if (r4 < 0 || setsockopt(r4, SOL_RAW, ICMP_FILTER, &f4, sizeof(f4)))
		fail("raw ICMP socket: %m");
	r6 = socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
	ICMP6_FILTER_SETBLOCKALL(&f6);
	ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f6);
	if (r6 < 0 || setsockopt(r6, IPPROTO_ICMPV6, ICMP6_FILTER, &f6, sizeof(f6)))
		fail("raw ICMPv6 socket: %m");
	rb = socket(AF_INET, SOCK_RAW, IPPROTO_UDP);
	{
		struct sockaddr_storage ss;
		socklen_t sl = in_loop(AF_INET, 0, &ss);

		if (rb < 0 || bind(rb, (struct sockaddr *)&ss, sl))
			fail("raw bound socket: %m");
	}
	in_setopt(rb, IPPROTO_IP, IP_HDRINCL, 1);
	in_setopt(rb, IPPROTO_IP, IP_NODEFRAG, 1);
	rc = socket(AF_INET6, SOCK_RAW, 253);
	if (rc < 0)
		fail("raw IPv6 socket: %m");
	in_setopt(rc, IPPROTO_IPV6, IPV6_CHECKSUM, 2);
	fcntl(rc, F_SETFL, O_NONBLOCK);
	/* Something queued in a raw socket: left out (with a warning). */
	ping(p4, AF_INET, 2);

	test_daemon();
	test_waitsig();

	CHECK_EQ(in_port(p4), id4);
	CHECK_EQ(in_port(p6), id6);
	CHECK_EQ(in_getopt(p4, SOL_SOCKET, SO_PROTOCOL), IPPROTO_ICMP);
	CHECK_EQ(in_getopt(p6, SOL_SOCKET, SO_PROTOCOL), IPPROTO_ICMPV6);
	len = sizeof(g4);
	if (getsockopt(r4, SOL_RAW, ICMP_FILTER, &g4, &len) || g4.data != f4.data)
		fail("ICMP_FILTER is %#x, was %#x", g4.data, f4.data);
	len = sizeof(g6);
	if (getsockopt(r6, IPPROTO_ICMPV6, ICMP6_FILTER, &g6, &len) || memcmp(&g6, &f6, sizeof(f6)))
		fail("ICMP6_FILTER changed");
	CHECK_EQ(in_getopt(rb, SOL_SOCKET, SO_PROTOCOL), IPPROTO_UDP);
	CHECK_EQ(in_getopt(rb, IPPROTO_IP, IP_HDRINCL), 1);
	CHECK_EQ(in_getopt(rb, IPPROTO_IP, IP_NODEFRAG), 1);
	{
		struct sockaddr_in sin;
		socklen_t sl = sizeof(sin);

		if (getsockname(rb, (struct sockaddr *)&sin, &sl) ||
		    sin.sin_addr.s_addr != htonl(INADDR_LOOPBACK))
			fail("the raw socket is no longer bound to 127.0.0.1");
	}
	CHECK_EQ(in_getopt(rc, IPPROTO_IPV6, IPV6_CHECKSUM), 2);
	CHECK_EQ(fcntl(rc, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	/* Drain what the raw sockets had (the original task's), then a fresh ping each. */
	while (recv(r4, &g4, sizeof(g4), MSG_DONTWAIT) > 0)
		;
	ping(p4, AF_INET, 3);
	ping(p6, AF_INET6, 3);
	saw_reply(r4, AF_INET, 3);
	saw_reply(r6, AF_INET6, 3);
	pass();
	return 0;
}
