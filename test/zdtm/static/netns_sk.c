/*
 * A tree in a network namespace of its own (the .desc runs it under
 * `unshare --net`): lo up with two more addresses (127.0.0.2/8 and
 * fd00:5::1/64), a sysctl of the namespace changed (ip_local_port_range),
 * and sockets inside it: an established TCP connection on 127.0.0.2 with
 * data queued both ways, a UDP datagram queued from
 * fd00:5::1, an abstract unix listener (abstract names are per network
 * namespace) and a connected pair with data, a bound NETLINK_ROUTE socket.
 * After restore every socket works and is in the namespace: the netlink
 * socket lists lo alone, the abstract name connects, the addresses are
 * there, the sysctl is as set; the tree's second process is there too.
 *
 * "empty": the sockets on 127.0.0.1 and ::1 only, restored with --empty-ns
 * net: the namespace comes back with lo up alone, the addresses and the
 * sysctl are the new namespace's defaults, the sockets work.
 * "veth": the same, with a veth pair instead of the addresses, dumped with
 * --empty-ns net too (bad/netns_veth checks a dump without it is refused); the
 * restored namespace has lo up and nothing else, the sockets work in it.
 */
#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "zdtmtst.h"
#include "inet-util.h"

#define PORT_RANGE "20000\t20999"
#define ABSTRACT "snap-netns-sk"

static int veth, empty;

static void sh(const char *cmd)
{
	int st = system(cmd);

	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st))
		skip("cannot set the namespace up: %s failed (exit %d)", cmd, WEXITSTATUS(st));
}

/*
 * A fresh network namespace has lo alone, down: anything else is not the
 * test's own, and the setup would change it (the host's lo, say).
 */
static void own_netns(void)
{
	struct if_nameindex *ni = if_nameindex(), *i;
	struct ifreq ifr = { .ifr_name = "lo" };
	int n = 0, fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (!ni || fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr))
		fail("cannot list the network interfaces: %m");
	close(fd);
	for (i = ni; i->if_index; i++)
		n++;
	if_freenameindex(ni);
	if (n != 1 || (ifr.ifr_flags & IFF_UP))
		skip("not in a fresh network namespace of its own (run it under unshare --net)");
}

static void read_sysctl(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	if (!f || !fgets(buf, len, f))
		fail("%s: %m", path);
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

static int addr_in(const char *addr, int port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;

		s->sin6_family = AF_INET6;
		s->sin6_port = htons(port);
		inet_pton(AF_INET6, addr, &s->sin6_addr);
		return sizeof(*s);
	}
	struct sockaddr_in *s = (struct sockaddr_in *)ss;

	s->sin_family = AF_INET;
	s->sin_port = htons(port);
	inet_pton(AF_INET, addr, &s->sin_addr);
	return sizeof(*s);
}

static int bound(int type, const char *addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = addr_in(addr, port, &ss);
	int fd = socket(ss.ss_family, type, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len))
		fail("bind %s: %m", addr);
	return fd;
}

static int tcp_connect(const char *addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = addr_in(addr, port, &ss);
	int fd = socket(ss.ss_family, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len))
		fail("connect %s:%d: %m", addr, port);
	return fd;
}

static socklen_t abstract(struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path + 1, ABSTRACT, strlen(ABSTRACT));
	return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(ABSTRACT);
}

/* The interfaces the namespace has, by a netlink dump on @nl: how many, and whether lo is one. */
static int list_links(int nl, int *lo)
{
	struct {
		struct nlmsghdr h;
		struct ifinfomsg i;
	} req = { .h = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETLINK,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 7 },
		  .i = { .ifi_family = AF_UNSPEC } };
	char buf[32768];
	int n = 0;

	*lo = 0;
	if (send(nl, &req, sizeof(req), 0) != sizeof(req))
		fail("netlink send: %m");
	for (;;) {
		ssize_t len = recv(nl, buf, sizeof(buf), 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;

		if (len <= 0)
			fail("netlink recv: %m");
		for (; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			struct ifinfomsg *ifi = NLMSG_DATA(h);

			if (h->nlmsg_type == NLMSG_DONE)
				return n;
			if (h->nlmsg_type == NLMSG_ERROR)
				fail("netlink: an error reply to RTM_GETLINK");
			if (h->nlmsg_type != RTM_NEWLINK || h->nlmsg_seq != 7)
				continue;
			n++;
			*lo |= !!(ifi->ifi_flags & IFF_LOOPBACK);
		}
	}
}

static int has_addr(const char *want)
{
	struct ifaddrs *ifa, *i;
	char buf[INET6_ADDRSTRLEN];
	int found = 0;

	if (getifaddrs(&ifa))
		fail("getifaddrs: %m");
	for (i = ifa; i && !found; i = i->ifa_next) {
		const void *a;

		if (!i->ifa_addr || strcmp(i->ifa_name, "lo"))
			continue;
		if (i->ifa_addr->sa_family == AF_INET)
			a = &((struct sockaddr_in *)i->ifa_addr)->sin_addr;
		else if (i->ifa_addr->sa_family == AF_INET6)
			a = &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
		else
			continue;
		inet_ntop(i->ifa_addr->sa_family, a, buf, sizeof(buf));
		found = !strcmp(buf, want);
	}
	freeifaddrs(ifa);
	return found;
}

static void check_lo(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr))
		fail("SIOCGIFFLAGS lo: %m");
	close(fd);
	if (!(ifr.ifr_flags & IFF_UP))
		fail("lo is down");
	if (!has_addr("127.0.0.1") || !has_addr("::1"))
		fail("lo lacks 127.0.0.1 or ::1");
	if (!veth && !(empty && test_restored()) &&
	    (!has_addr("127.0.0.2") || !has_addr("fd00:5::1")))
		fail("lo lacks 127.0.0.2 or fd00:5::1");
	if (empty && test_restored() && (has_addr("127.0.0.2") || has_addr("fd00:5::1")))
		fail("lo has an address of the dumped namespace after --empty-ns net");
}

int main(int argc, char **argv)
{
	const char *srv_addr, *udp_addr;
	int lfd, cfd, sfd, u1, u2, ul, up[2], nl, lo, nr;
	struct sockaddr_nl snl = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	struct sockaddr_un sa;
	char buf[64];
	pid_t child;

	test_init(argc, argv);
	veth = test_argc > 1 && !strcmp(test_argv[1], "veth");
	empty = veth || (test_argc > 1 && !strcmp(test_argv[1], "empty"));
	srv_addr = empty ? "127.0.0.1" : "127.0.0.2";
	udp_addr = empty ? "::1" : "fd00:5::1";
	own_netns();
	sh("/usr/sbin/ip link set lo up");
	if (veth)
		sh("/usr/sbin/ip link add snapv0 type veth peer name snapv1");
	else
		sh("/usr/sbin/ip addr add 127.0.0.2/8 dev lo && "
		   "/usr/sbin/ip -6 addr add fd00:5::1/64 dev lo nodad");
	{
		FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "w");

		if (!f || fputs("20000 20999\n", f) < 0 || fclose(f))
			fail("ip_local_port_range: %m");
	}

	test_daemon();

	/* TCP: both ends here, data queued both ways. */
	lfd = bound(SOCK_STREAM, srv_addr, 0);
	if (listen(lfd, 1))
		fail("listen: %m");
	cfd = tcp_connect(srv_addr, in_port(lfd));
	sfd = accept(lfd, NULL, NULL);
	if (sfd < 0)
		fail("accept: %m");
	close(lfd);
	if (in_port(cfd) < 20000 || in_port(cfd) > 20999)
		fail("the client's port %d is outside ip_local_port_range", in_port(cfd));
	in_send(cfd, 3000, 1);
	in_send(sfd, 2000, 2);

	/* A second process of the tree, in the namespace too: the tree is restored whole. */
	child = fork();
	if (child < 0)
		fail("fork: %m");
	if (!child) {
		signal(SIGTERM, SIG_DFL);
		for (;;)
			pause();
	}

	/* UDP: a datagram from the other address waits. */
	u1 = bound(SOCK_DGRAM, udp_addr, 0);
	u2 = bound(SOCK_DGRAM, "::1", 0);
	{
		struct sockaddr_storage ss;
		socklen_t len = addr_in(udp_addr, in_port(u1), &ss);

		datagen(buf, 40, 5);
		if (sendto(u2, buf, 40, 0, (struct sockaddr *)&ss, len) != 40)
			fail("sendto: %m");
	}

	/* Unix: an abstract listener and a pair with data. */
	ul = socket(AF_UNIX, SOCK_STREAM, 0);
	if (ul < 0 || bind(ul, (struct sockaddr *)&sa, abstract(&sa)) || listen(ul, 4))
		fail("abstract listener: %m");
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, up))
		fail("socketpair: %m");
	in_send(up[0], 50, 6);

	/* Netlink: bound, in a group. */
	nl = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	if (nl < 0 || bind(nl, (struct sockaddr *)&snl, sizeof(snl)))
		fail("netlink: %m");

	test_waitsig();

	check_lo();
	/* --empty-ns net: a new namespace's defaults. */
	read_sysctl("/proc/sys/net/ipv4/ip_local_port_range", buf, sizeof(buf));
	if (!(empty && test_restored()) && strcmp(buf, PORT_RANGE))
		fail("ip_local_port_range is \"%s\", not \"%s\"", buf, PORT_RANGE);
	if (empty && test_restored() && !strcmp(buf, PORT_RANGE))
		fail("ip_local_port_range is the dumped namespace's after --empty-ns net");
	nr = list_links(nl, &lo);
	if (!lo || nr != (veth && !test_restored() ? 3 : 1))
		fail("the netlink socket lists %d interfaces (lo %s); expected %s", nr,
		     lo ? "among them" : "not among them",
		     veth && !test_restored() ? "lo and the veth pair" : "lo alone");

	in_expect(cfd, 2000, 2);
	in_expect(sfd, 3000, 1);
	in_send(cfd, 100, 3);
	in_expect(sfd, 100, 3);
	in_send(sfd, 100, 4);
	in_expect(cfd, 100, 4);
	if (kill(child, 0))
		fail("the child of the tree is gone: %m");

	{
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		char got[64];

		if (recvfrom(u1, got, sizeof(got), MSG_DONTWAIT, (struct sockaddr *)&from, &fl) != 40)
			fail("the queued datagram is gone: %m");
		datagen(buf, 40, 5);
		if (memcmp(got, buf, 40) ||
		    ntohs(((struct sockaddr_in6 *)&from)->sin6_port) != in_port(u2))
			fail("the queued datagram differs, or not from its sender");
	}

	in_expect(up[1], 50, 6);
	{
		int c = socket(AF_UNIX, SOCK_STREAM, 0), a;

		if (c < 0 || connect(c, (struct sockaddr *)&sa, abstract(&sa)))
			fail("connect to the abstract listener: %m");
		a = accept(ul, NULL, NULL);
		if (a < 0)
			fail("accept on the abstract listener: %m");
		close(a);
		close(c);
	}

	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	pass();
	return 0;
}
