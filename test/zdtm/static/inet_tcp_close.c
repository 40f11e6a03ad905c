/*
 * --tcp-close: an established connection (both ends in the test) comes
 * back closed, as CRIU gives it: each end reads the end of the stream,
 * writing fails with EPIPE, it has no peer, poll() says POLLHUP. The
 * original task of a --leave-running dump keeps its connection, which
 * still carries data both ways.
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>

#include "zdtmtst.h"
#include "inet-util.h"

static void check_closed(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
	char c = 'x';

	in_expect_eof(fd);
	if (send(fd, &c, 1, MSG_NOSIGNAL | MSG_DONTWAIT) != -1 || errno != EPIPE)
		fail("fd %d: send on a closed connection did not fail with EPIPE (%m)", fd);
	if (in_peer_port(fd) != -1 || errno != ENOTCONN)
		fail("fd %d: a closed connection still has a peer", fd);
	if (poll(&p, 1, 0) != 1 || !(p.revents & POLLHUP))
		fail("fd %d: poll gives %#x, no POLLHUP", fd, p.revents);
}

int main(int argc, char **argv)
{
	int l, c, s;

	test_init(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	l = in_listener(AF_INET, 1);
	c = in_connect(AF_INET, l, &s);
	close(l);
	in_send(c, 1000, 1);

	test_daemon();
	test_waitsig();

	if (test_restored()) {
		check_closed(c);
		check_closed(s);
	} else {
		in_expect(s, 1000, 1);
		in_send(s, 10, 2);
		in_expect(c, 10, 2);
		in_abort(c);
		in_abort(s);
	}
	pass();
	return 0;
}
