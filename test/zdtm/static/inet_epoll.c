/*
 * An epoll watching inet sockets: a TCP listener, an established connection
 * with bytes to read, a UDP socket with a datagram queued, each with its
 * own data. After restore (with --tcp-established) epoll_wait reports the
 * connection and the UDP socket ready, not the listener, until a client
 * connects to it.
 *
 * The connection accepted from the listener shares its port: restore must
 * make the listener first whatever order the fd table opens files in. The
 * listener comes before its connection in fd numbers, or after it with
 * the argument "listener-high" (moved to fd 100).
 */
#include <sys/epoll.h>

#include "zdtmtst.h"
#include "inet-util.h"

static uint64_t ready(int ep, uint64_t *seen)
{
	struct epoll_event ev[8];
	int n = epoll_wait(ep, ev, 8, 100);

	*seen = 0;
	for (int i = 0; i < n; i++)
		*seen |= ev[i].data.u64;
	return n;
}

static void add(int ep, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
		fail("EPOLL_CTL_ADD: %m");
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	int ep, l, c, s, u, v, k;
	uint64_t seen;
	socklen_t len;

	test_init(argc, argv);
	l = in_listener(AF_INET, 2);
	c = in_connect(AF_INET, l, &s);
	if (test_argc > 1 && !strcmp(test_argv[1], "listener-high")) {
		if (dup2(l, 100) != 100)
			fail("dup2: %m");
		close(l);
		l = 100;
	}
	if ((l > s) != (test_argc > 1))
		fail("setup: listener at fd %d, its connection at %d", l, s);
	in_send(c, 100, 1);
	u = socket(AF_INET, SOCK_DGRAM, 0);
	v = socket(AF_INET, SOCK_DGRAM, 0);
	len = in_loop(AF_INET, 0, &ss);
	if (bind(u, (struct sockaddr *)&ss, len))
		fail("bind: %m");
	len = sizeof(ss);
	getsockname(u, (struct sockaddr *)&ss, &len);
	if (sendto(v, "dgram", 5, 0, (struct sockaddr *)&ss, len) != 5)
		fail("sendto: %m");
	ep = epoll_create1(0);
	add(ep, l, 1);
	add(ep, s, 2);
	add(ep, u, 4);
	usleep(10000);
	if (ready(ep, &seen) != 2 || seen != 6)
		fail("before: ready %#llx", (unsigned long long)seen);

	test_daemon();
	test_waitsig();

	if (ready(ep, &seen) != 2 || seen != 6)
		fail("after restore: ready %#llx, expected the connection and the UDP socket",
		     (unsigned long long)seen);
	in_expect(s, 100, 1);
	{
		char buf[8];

		if (recv(u, buf, sizeof(buf), MSG_DONTWAIT) != 5)
			fail("the datagram is gone (%m)");
	}
	if (ready(ep, &seen) != 0)
		fail("still ready after reading: %#llx", (unsigned long long)seen);
	len = in_loop(AF_INET, in_port(l), &ss);
	k = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(k, (struct sockaddr *)&ss, len))
		fail("connect: %m");
	if (ready(ep, &seen) != 1 || seen != 1)
		fail("the listener is not ready with a connection waiting: %#llx",
		     (unsigned long long)seen);
	in_abort(k);
	in_abort(c);
	in_abort(s);
	pass();
	return 0;
}
