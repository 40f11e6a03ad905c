/*
 * Netlink sockets: NETLINK_ROUTE bound with RTMGRP_LINK and a group past
 * the first 32 (RTNLGRP_BRVLAN), with NETLINK_EXT_ACK and NO_ENOBUFS; a
 * NETLINK_KOBJECT_UEVENT one in group 1; an unbound one. After restore:
 * the same port ids, groups and options; the route socket answers a
 * request, and the uevent socket hears an event.
 */
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "zdtmtst.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif

struct state {
	uint32_t portid;
	uint32_t groups[4];
	int ext_ack, no_enobufs;
};

static void read_state(int fd, struct state *s)
{
	struct sockaddr_nl a;
	socklen_t len = sizeof(a);

	memset(s, 0, sizeof(*s));
	if (getsockname(fd, (struct sockaddr *)&a, &len))
		fail("getsockname: %m");
	s->portid = a.nl_pid;
	len = sizeof(s->groups);
	if (getsockopt(fd, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, s->groups, &len))
		fail("NETLINK_LIST_MEMBERSHIPS: %m");
	len = sizeof(int);
	getsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &s->ext_ack, &len);
	len = sizeof(int);
	getsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &s->no_enobufs, &len);
}

static void same_state(int fd, const struct state *was, const char *what)
{
	struct state now;

	read_state(fd, &now);
	if (now.portid != was->portid)
		fail("%s: port id %u, was %u", what, now.portid, was->portid);
	if (memcmp(now.groups, was->groups, sizeof(now.groups)))
		fail("%s: groups %#x %#x, were %#x %#x", what, now.groups[0], now.groups[1],
		     was->groups[0], was->groups[1]);
	CHECK_EQ(now.ext_ack, was->ext_ack);
	CHECK_EQ(now.no_enobufs, was->no_enobufs);
}

int main(int argc, char **argv)
{
	struct sockaddr_nl a = { .nl_family = AF_NETLINK };
	struct {
		struct nlmsghdr h;
		struct ifinfomsg i;
	} req = {
		.h = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETLINK,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 7 },
		.i = { .ifi_family = AF_UNSPEC },
	};
	struct state s_route, s_uevent, s_plain;
	int route, uevent, plain, one = 1, group = RTNLGRP_BRVLAN, fd;
	struct pollfd p;
	char buf[8192];
	ssize_t n;

	test_init(argc, argv);
	route = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	uevent = socket(AF_NETLINK, SOCK_DGRAM, NETLINK_KOBJECT_UEVENT);
	plain = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	if (route < 0 || uevent < 0 || plain < 0)
		fail("socket: %m");
	a.nl_groups = RTMGRP_LINK;
	if (bind(route, (struct sockaddr *)&a, sizeof(a)) ||
	    setsockopt(route, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) ||
	    setsockopt(route, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one)) ||
	    setsockopt(route, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one)))
		fail("route socket: %m");
	a.nl_groups = 1;
	if (bind(uevent, (struct sockaddr *)&a, sizeof(a)))
		fail("uevent socket: %m");
	fcntl(uevent, F_SETFL, O_NONBLOCK);
	read_state(route, &s_route);
	read_state(uevent, &s_uevent);
	read_state(plain, &s_plain);
	if (!s_route.groups[0] || !(s_route.groups[1] & 1) || !s_route.ext_ack)
		fail("the route socket is not set up");

	test_daemon();
	test_waitsig();

	same_state(route, &s_route, "the route socket");
	same_state(uevent, &s_uevent, "the uevent socket");
	same_state(plain, &s_plain, "the unbound socket");
	CHECK_EQ(fcntl(uevent, F_GETFL) & O_NONBLOCK, O_NONBLOCK);

	if (send(route, &req, sizeof(req), 0) != sizeof(req))
		fail("send: %m");
	n = recv(route, buf, sizeof(buf), 0);
	if (n < (ssize_t)sizeof(struct nlmsghdr) || ((struct nlmsghdr *)buf)->nlmsg_seq != 7)
		fail("the route socket got no answer (%zd, %m)", n);

	fd = open("/sys/devices/virtual/mem/null/uevent", O_WRONLY);
	if (fd < 0 || write(fd, "change", 6) != 6)
		fail("cannot make a uevent: %m");
	close(fd);
	p.fd = uevent;
	p.events = POLLIN;
	for (;;) {
		if (poll(&p, 1, 3000) != 1)
			fail("the uevent socket heard nothing");
		n = recv(uevent, buf, sizeof(buf) - 1, 0);
		if (n > 0 && (buf[n] = 0, strstr(buf, "change@") && strstr(buf, "/null")))
			break;
	}
	pass();
	return 0;
}
