/*
 * Connections in flight, for --tcp-skip-in-flight (img/inet_tcp_skip_in_flight
 * only): a listener with backlog 0 whose queue holds one connection not
 * accepted yet (its client end @c1 established, here too), so that a second
 * connect() (@c2, non-blocking) has its SYN dropped and stays in SYN_SENT.
 * Dumped with the option (killed) and restored, it checks, after SIGTERM:
 * the listener's queue is empty (the waiting connection was left out), the
 * client end of it is reset by the peer's side, which no longer exists;
 * @c2 is a socket never connected; and the listener takes a new connection.
 */
#include <fcntl.h>
#include <poll.h>

#include "zdtmtst.h"
#include "inet-util.h"

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	struct pollfd pfd;
	socklen_t len;
	int l, c1, c2, c3, s;
	char byte = 1;

	test_init(argc, argv);
	l = in_listener(AF_INET, 0);
	len = in_loop(AF_INET, in_port(l), &ss);
	c1 = socket(AF_INET, SOCK_STREAM, 0);
	if (c1 < 0 || connect(c1, (struct sockaddr *)&ss, len))
		fail("connect: %m");
	c2 = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c2 < 0 || !connect(c2, (struct sockaddr *)&ss, len) || errno != EINPROGRESS)
		fail("connect in progress: %m");
	/* Its SYN dropped (the queue is full), it stays there. */
	CHECK_EQ(in_tcp_state(c2), TCP_SYN_SENT);

	test_daemon();
	test_waitsig();

	CHECK_EQ(in_tcp_state(c2), TCP_CLOSE);
	if (fcntl(l, F_SETFL, O_NONBLOCK))
		fail("fcntl: %m");
	s = accept(l, NULL, NULL);
	if (s >= 0 || errno != EAGAIN)
		fail("accept: %d (%m), expected an empty queue", s);
	if (fcntl(l, F_SETFL, 0))
		fail("fcntl: %m");
	/* The peer's side is gone: what c1 sends draws a reset from the listener. */
	if (send(c1, &byte, 1, MSG_NOSIGNAL) != 1)
		fail("send: %m");
	pfd = (struct pollfd){ .fd = c1, .events = POLLIN };
	if (poll(&pfd, 1, 5000) != 1)
		fail("no reset of the left-out connection in 5 s");
	if (recv(c1, &byte, 1, 0) >= 0 || errno != ECONNRESET)
		fail("recv on the left-out connection: %m, expected ECONNRESET");
	/* The listener still listens. */
	c3 = socket(AF_INET, SOCK_STREAM, 0);
	if (c3 < 0 || connect(c3, (struct sockaddr *)&ss, len))
		fail("connect after restore: %m");
	s = accept(l, NULL, NULL);
	if (s < 0)
		fail("accept: %m");
	in_send(c3, 100, 1);
	in_expect(s, 100, 1);
	in_abort(c3);
	in_abort(s);
	pass();
	return 0;
}
