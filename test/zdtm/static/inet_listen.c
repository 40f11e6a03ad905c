/*
 * TCP listeners, IPv4 and IPv6 (one of them IPV6_V6ONLY, one dual-stack),
 * with options: backlog, SO_REUSEADDR, SO_REUSEPORT (two listeners on one
 * port), TCP_DEFER_ACCEPT, TCP_FASTOPEN, TCP_MAXSEG, SO_KEEPALIVE, IP_TOS,
 * a bigger SO_RCVBUF, O_NONBLOCK. After restore each listens on its port
 * with the same options, and takes a new connection.
 */
#include <fcntl.h>
#include <stdio.h>

#include "zdtmtst.h"
#include "inet-util.h"

struct lsk {
	int fd, family, port;
	int reuseaddr, reuseport, defer, fastopen, maxseg, keepalive, tos, rcvbuf, fl, v6only;
};

static void read_opts(struct lsk *l)
{
	l->port = in_port(l->fd);
	l->reuseaddr = in_getopt(l->fd, SOL_SOCKET, SO_REUSEADDR);
	l->reuseport = in_getopt(l->fd, SOL_SOCKET, SO_REUSEPORT);
	l->defer = in_getopt(l->fd, IPPROTO_TCP, TCP_DEFER_ACCEPT);
	l->fastopen = in_getopt(l->fd, IPPROTO_TCP, TCP_FASTOPEN);
	l->maxseg = in_getopt(l->fd, IPPROTO_TCP, TCP_MAXSEG);
	l->keepalive = in_getopt(l->fd, SOL_SOCKET, SO_KEEPALIVE);
	l->rcvbuf = in_getopt(l->fd, SOL_SOCKET, SO_RCVBUF);
	l->fl = fcntl(l->fd, F_GETFL);
	if (l->family == AF_INET) {
		l->tos = in_getopt(l->fd, IPPROTO_IP, IP_TOS);
		l->v6only = -1;
	} else {
		l->tos = in_getopt(l->fd, IPPROTO_IPV6, IPV6_TCLASS);
		l->v6only = in_getopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY);
	}
}

static int make(int family, int port, int v6only, int reuseport)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = socket(family, SOCK_STREAM, 0);

	if (fd < 0)
		fail("socket: %m");
	in_setopt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
	if (reuseport)
		in_setopt(fd, SOL_SOCKET, SO_REUSEPORT, 1);
	if (family == AF_INET6) {
		in_setopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, v6only);
		memset(&ss, 0, sizeof(ss));
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
		len = sizeof(struct sockaddr_in6); /* :: */
	} else {
		len = in_loop(family, port, &ss);
	}
	if (bind(fd, (struct sockaddr *)&ss, len))
		fail("bind: %m");
	return fd;
}

int main(int argc, char **argv)
{
	struct lsk l[4], after;
	int i, c, s;

	test_init(argc, argv);
	l[0].family = AF_INET;
	l[0].fd = make(AF_INET, 0, 0, 1);
	l[1].family = AF_INET;
	l[1].fd = make(AF_INET, in_port(l[0].fd), 0, 1);
	l[2].family = AF_INET6;
	l[2].fd = make(AF_INET6, 0, 1, 0);
	l[3].family = AF_INET6;
	l[3].fd = make(AF_INET6, 0, 0, 0);
	in_setopt(l[0].fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, 5);
	in_setopt(l[0].fd, IPPROTO_TCP, TCP_FASTOPEN, 16);
	in_setopt(l[0].fd, IPPROTO_TCP, TCP_MAXSEG, 1200);
	in_setopt(l[0].fd, IPPROTO_IP, IP_TOS, 0x10);
	in_setopt(l[2].fd, SOL_SOCKET, SO_KEEPALIVE, 1);
	in_setopt(l[2].fd, SOL_SOCKET, SO_RCVBUF, 300000);
	in_setopt(l[2].fd, IPPROTO_IPV6, IPV6_TCLASS, 0x20);
	for (i = 0; i < 4; i++) {
		if (listen(l[i].fd, 7 + i))
			fail("listen: %m");
		read_opts(&l[i]);
	}
	fcntl(l[3].fd, F_SETFL, O_NONBLOCK);
	l[3].fl = fcntl(l[3].fd, F_GETFL);

	test_daemon();
	test_waitsig();

	for (i = 0; i < 4; i++) {
		after.fd = l[i].fd;
		after.family = l[i].family;
		CHECK_EQ(in_tcp_state(l[i].fd), TCP_LISTEN);
		read_opts(&after);
		CHECK_EQ(after.port, l[i].port);
		CHECK_EQ(after.reuseaddr, l[i].reuseaddr);
		CHECK_EQ(after.reuseport, l[i].reuseport);
		CHECK_EQ(after.defer, l[i].defer);
		CHECK_EQ(after.fastopen, l[i].fastopen);
		CHECK_EQ(after.maxseg, l[i].maxseg);
		CHECK_EQ(after.keepalive, l[i].keepalive);
		CHECK_EQ(after.tos, l[i].tos);
		CHECK_EQ(after.rcvbuf, l[i].rcvbuf);
		CHECK_EQ(after.fl, l[i].fl);
		CHECK_EQ(after.v6only, l[i].v6only);
	}
	/* Each takes a connection: the reuseport pair shares one port. */
	for (i = 2; i < 4; i++) {
		c = in_connect(l[i].family, l[i].fd, &s);
		in_send(c, 100, i);
		in_expect(s, 100, i);
		in_abort(c);
		in_abort(s);
	}
	/* The dual-stack one takes IPv4 too, the v6-only one does not. */
	{
		struct sockaddr_storage ss;
		socklen_t len = in_loop(AF_INET, l[3].port, &ss);

		c = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(c, (struct sockaddr *)&ss, len))
			fail("IPv4 connect to the dual-stack listener: %m");
		in_abort(c);
		in_abort(accept(l[3].fd, NULL, NULL));
	}
	{
		struct sockaddr_storage ss;
		socklen_t len = in_loop(AF_INET, l[0].port, &ss);

		c = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(c, (struct sockaddr *)&ss, len))
			fail("connect to the reuseport pair: %m");
		in_abort(c);
	}
	pass();
	return 0;
}
