/*
 * For bad/dump_unix_pending_ext: a listening unix socket with a connection
 * not yet accepted whose data was written by a process outside the tree
 * (a helper the launcher forked). snap cannot read that data without
 * breaking the connection, which it cannot make again for the outsider:
 * the dump is refused, and the test checks afterwards that the connection
 * and its data are still there.
 */
#include <stdio.h>
#include <string.h>

#include "zdtmtst.h"
#include "unix-util.h"

int main(int argc, char **argv)
{
	struct sockaddr_un a;
	socklen_t alen;
	char name[64];
	int l, c, ready[2];
	pid_t h;

	test_init(argc, argv);
	snprintf(name, sizeof(name), "zdtm-unix-pending-ext-%d", getpid());
	alen = sk_addr(&a, name, 1);
	l = socket(AF_UNIX, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&a, alen) || listen(l, 4) || pipe(ready))
		fail("listen: %m");
	h = fork();
	if (h < 0)
		fail("fork: %m");
	if (!h) {
		c = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(c, (struct sockaddr *)&a, alen))
			_exit(1);
		sk_send(c, 1000, 5);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		sleep(60);
		_exit(0);
	}
	if (read(ready[0], name, 1) != 1)
		fail("the helper did not connect");

	test_daemon();
	test_waitsig();

	c = accept(l, NULL, NULL);
	if (c < 0)
		fail("the connection is gone: %m");
	sk_expect_bytes(c, 1000, 5);
	kill(h, SIGKILL);
	pass();
	return 0;
}
