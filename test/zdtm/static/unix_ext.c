/*
 * Unix sockets connected to a process outside the dumped tree: a helper the
 * launcher forks before the test daemonizes (so not the test's descendant)
 * serves a dgram socket (it answers "ack:" + each datagram) and a stream
 * listener (it echoes). The test holds a dgram socket connected to the
 * helper's, with an answer queued, and a stream connection to it. Dumped
 * with --ext-unix-sk (else refused: bad/unix_ext_refused), restored with it:
 * both are connected again by name and the helper answers them.
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "zdtmtst.h"
#include "unix-util.h"

#define IDLE_MS 30000	/* the helper goes once no one talked to it for that long */

static void helper(int d, int l)
{
	struct pollfd p[16] = { { .fd = d, .events = POLLIN }, { .fd = l, .events = POLLIN } };
	int n = 2;
	char buf[256];

	while (poll(p, n, IDLE_MS) > 0) {
		if (p[0].revents & POLLIN) {
			struct sockaddr_un a;
			socklen_t alen = sizeof(a);
			ssize_t len = recvfrom(d, buf + 4, sizeof(buf) - 4, 0, (struct sockaddr *)&a,
					       &alen);

			memcpy(buf, "ack:", 4);
			if (len >= 0 && alen > sizeof(sa_family_t))
				sendto(d, buf, len + 4, 0, (struct sockaddr *)&a, alen);
		}
		if ((p[1].revents & POLLIN) && n < 16) {
			p[n].fd = accept(l, NULL, NULL);
			p[n++].events = POLLIN;
		}
		for (int i = 2; i < n; i++) {
			if (p[i].revents & (POLLIN | POLLHUP)) {
				ssize_t len = recv(p[i].fd, buf, sizeof(buf), 0);

				if (len <= 0)
					p[i].fd = -1;
				else
					send(p[i].fd, buf, len, 0);
			}
		}
	}
	_exit(0);
}

/* An answer within 5 s. */
static void expect_answer(int fd, const char *want)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[64];
	ssize_t n;

	if (poll(&p, 1, 5000) != 1)
		fail("no answer '%s' from the helper", want);
	n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n != (ssize_t)strlen(want) || memcmp(buf, want, n))
		fail("'%s' expected from the helper, got %zd bytes", want, n);
}

int main(int argc, char **argv)
{
	struct sockaddr_un da, la, ca;
	socklen_t dlen, llen, clen;
	char name[64];
	int d, l, c1, c2;
	pid_t h;

	test_init(argc, argv);
	snprintf(name, sizeof(name), "zdtm-unix-ext-d-%d", getpid());
	dlen = sk_addr(&da, name, 1);
	snprintf(name, sizeof(name), "zdtm-unix-ext-l-%d", getpid());
	llen = sk_addr(&la, name, 1);
	d = socket(AF_UNIX, SOCK_DGRAM, 0);
	l = socket(AF_UNIX, SOCK_STREAM, 0);
	if (bind(d, (struct sockaddr *)&da, dlen) || bind(l, (struct sockaddr *)&la, llen) ||
	    listen(l, 4))
		fail("helper sockets: %m");
	h = fork();
	if (h < 0)
		fail("fork: %m");
	if (!h)
		helper(d, l);
	close(d);
	close(l);

	test_daemon();

	snprintf(name, sizeof(name), "zdtm-unix-ext-c-%d", getpid());
	clen = sk_addr(&ca, name, 1);
	c1 = socket(AF_UNIX, SOCK_DGRAM, 0);
	c2 = socket(AF_UNIX, SOCK_STREAM, 0);
	if (c1 < 0 || bind(c1, (struct sockaddr *)&ca, clen) ||
	    connect(c1, (struct sockaddr *)&da, dlen) || connect(c2, (struct sockaddr *)&la, llen))
		fail("connect to the helper: %m");
	if (send(c1, "hello", 5, 0) != 5 || send(c2, "ping", 4, 0) != 4)
		fail("send: %m");
	expect_answer(c2, "ping");
	/* The dgram answer stays queued through the dump. */
	{
		struct pollfd p = { .fd = c1, .events = POLLIN };

		if (poll(&p, 1, 5000) != 1)
			fail("no answer from the helper");
	}

	test_waitsig();

	/* Queued from outside: the bytes come back (from the helper's name if free). */
	expect_answer(c1, "ack:hello");
	if (send(c1, "again", 5, 0) != 5)
		fail("the dgram socket is not connected to the helper any more: %m");
	expect_answer(c1, "ack:again");
	if (send(c2, "pong", 4, MSG_NOSIGNAL) != 4)
		fail("the stream socket is not connected to the helper any more: %m");
	expect_answer(c2, "pong");
	pass();
	return 0;
}
