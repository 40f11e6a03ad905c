/*
 * A listening unix socket with three connections it has not accepted, made
 * in turn by three child processes: the first wrote 100 bytes, the second
 * nothing, the third 3000 bytes and shut down for writing. And one accepted
 * connection with data queued both ways. After restore the listener accepts
 * the three in the order they came, each with its data; each child's socket
 * is still the other end of its connection (a reply reaches it, its answer
 * comes back). A second listener has two empty connections waiting, made by
 * the test itself: they come back in their order too.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "zdtmtst.h"
#include "unix-util.h"

#define NR 3

static const size_t sent[NR] = { 100, 0, 3000 };

static void child(struct sockaddr_un *a, socklen_t alen, int i, int ready)
{
	sigset_t set;
	char buf[16];
	int c, sig;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (struct sockaddr *)a, alen))
		fail("child %d: connect: %m", i);
	if (sent[i])
		sk_send(c, sent[i], 10 + i);
	if (i == 2 && shutdown(c, SHUT_WR))
		fail("shutdown: %m");
	if (write(ready, "r", 1) != 1)
		fail("write: %m");
	sigwait(&set, &sig);
	/* The other end of this socket is the connection the listener accepted. */
	snprintf(buf, sizeof(buf), "reply-%d", i);
	if (recv(c, buf + 8, 8, 0) != 7 || memcmp(buf, buf + 8, 7))
		_exit(10 + i);
	if (i != 2 && send(c, "bye", 3, 0) != 3)
		_exit(20 + i);
	_exit(0);
}

int main(int argc, char **argv)
{
	int l, l2, a0, c0, ready[2], conn[NR], e[2], status;
	pid_t kids[NR];
	struct sockaddr_un a;
	socklen_t alen;
	char name[64], buf[16], r;

	test_init(argc, argv);
	test_daemon();

	snprintf(name, sizeof(name), "zdtm-unix-listen-%d", getpid());
	alen = sk_addr(&a, name, 1);
	l = socket(AF_UNIX, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&a, alen) || listen(l, 8))
		fail("listen: %m");
	c0 = socket(AF_UNIX, SOCK_STREAM, 0);
	if (connect(c0, (struct sockaddr *)&a, alen) || (a0 = accept(l, NULL, NULL)) < 0)
		fail("accept: %m");
	sk_send(c0, 777, 1);
	sk_send(a0, 555, 2);
	if (pipe(ready))
		fail("pipe: %m");
	/* One at a time: the queue holds them in this order. */
	for (int i = 0; i < NR; i++) {
		kids[i] = fork();
		if (kids[i] < 0)
			fail("fork: %m");
		if (!kids[i])
			child(&a, alen, i, ready[1]);
		if (read(ready[0], &r, 1) != 1)
			fail("child %d did not connect", i);
	}

	snprintf(name, sizeof(name), "zdtm-unix-listen2-%d", getpid());
	alen = sk_addr(&a, name, 1);
	l2 = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	if (l2 < 0 || bind(l2, (struct sockaddr *)&a, alen) || listen(l2, 8))
		fail("listen: %m");
	for (int i = 0; i < 2; i++) {
		e[i] = socket(AF_UNIX, SOCK_SEQPACKET, 0);
		if (e[i] < 0 || connect(e[i], (struct sockaddr *)&a, alen))
			fail("connect: %m");
	}

	test_waitsig();

	for (int i = 0; i < 2; i++) {
		int c = accept(l2, NULL, NULL);

		if (c < 0 || send(c, "which", 5, 0) != 5)
			fail("accept on the second listener: %m");
		if (recv(e[i], buf, sizeof(buf), MSG_DONTWAIT) != 5 ||
		    recv(e[!i], buf, sizeof(buf), MSG_DONTWAIT) >= 0)
			fail("the second listener's connection %d is not the %s made", i,
			     i ? "second" : "first");
	}

	sk_expect_bytes(a0, 777, 1);
	sk_expect_bytes(c0, 555, 2);
	sk_check_pair(a0, c0);
	for (int i = 0; i < NR; i++) {
		conn[i] = accept(l, NULL, NULL);
		if (conn[i] < 0)
			fail("accept %d: %m", i);
		if (sent[i])
			sk_expect_bytes(conn[i], sent[i], 10 + i);
		if (i == 2)
			sk_expect_eof(conn[i]);
		else
			sk_expect_empty(conn[i]);
	}
	fcntl(l, F_SETFL, O_NONBLOCK);
	if (accept(l, NULL, NULL) >= 0 || errno != EAGAIN)
		fail("a fourth connection waits");
	for (int i = 0; i < NR; i++) {
		snprintf(buf, sizeof(buf), "reply-%d", i);
		if (send(conn[i], buf, 7, 0) != 7)
			fail("send: %m");
		kill(kids[i], SIGUSR1);
	}
	for (int i = 0; i < NR; i++) {
		if (waitpid(kids[i], &status, 0) != kids[i] || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			fail("child %d: status %#x (10+: no reply, 20+: could not answer)", i,
			     status);
		if (i != 2 && (recv(conn[i], buf, sizeof(buf), MSG_DONTWAIT) != 3 ||
			       memcmp(buf, "bye", 3)))
			fail("child %d's answer did not come (%m)", i);
	}
	pass();
	return 0;
}
