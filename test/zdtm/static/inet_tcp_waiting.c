/*
 * A TCP listener with a connection not accepted yet: only bad/dump_tcp_waiting
 * runs it (snap refuses it, naming the listener and the peer). The task runs
 * on untouched: it then accepts the connection and data flows.
 */
#include "zdtmtst.h"
#include "inet-util.h"

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int l, c, s;

	test_init(argc, argv);
	l = in_listener(AF_INET, 4);
	len = in_loop(AF_INET, in_port(l), &ss);
	c = socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&ss, len))
		fail("connect: %m");
	in_send(c, 100, 1);

	test_daemon();
	test_waitsig();

	s = accept(l, NULL, NULL);
	if (s < 0)
		fail("accept: %m");
	in_expect(s, 100, 1);
	in_send(s, 10, 2);
	in_expect(c, 10, 2);
	in_abort(c);
	in_abort(s);
	pass();
	return 0;
}
