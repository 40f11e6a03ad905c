/*
 * More inet sockets than snap looks up one by one in sock_diag (16, then it
 * walks the kernel's tables): what only sock_diag tells, a UDP socket shut
 * for writing, must come back for the sockets found either way. In fd
 * order: a listener (closed before the dump), a TCP connection shut for
 * reading, a UDP peer, 24 UDP sockets connected to it (every fifth shut for
 * writing: three of them among the first 16 sockets, two after), then
 * another TCP connection shut for reading. After restore each socket is
 * shut as it was, and still gets data. With "fork", a child shares them
 * all (snap looks each up once for both): the child checks everything,
 * then the parent what reading nothing tells (ports, shutdowns).
 */
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "zdtmtst.h"
#include "inet-util.h"

#define NR_UDP 24

static int c[2], s[2], peer, u[NR_UDP], port[NR_UDP];

static int udp_to(int peer)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0 || getsockname(peer, (struct sockaddr *)&ss, &sl))
		fail("socket: %m");
	if (connect(fd, (struct sockaddr *)&ss, sl))
		fail("connect: %m");
	return fd;
}

static bool rdhup(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};

	return poll(&p, 1, 0) == 1 && (p.revents & POLLRDHUP);
}

static void expect_shut(int fd, bool shut, const char *what, int i)
{
	if (rdhup(fd) != shut)
		fail("%s %d: %s for reading after restore", what, i, shut ? "not shut" : "shut");
}

/* Whether UDP socket @fd is shut for writing: send() says EPIPE. */
static bool wr_shut(int fd)
{
	return send(fd, "x", 1, MSG_DONTWAIT) < 0 && errno == EPIPE;
}

/* After restore; @all: also what sends and reads (once, in one process). */
static void check(bool all)
{
	for (int i = 0; i < 2; i++) {
		expect_shut(c[i], true, "connection client", i);
		expect_shut(s[i], false, "connection server", i);
		if (!all)
			continue;
		/* The other way still carries bytes. */
		in_send(c[i], 100, i + 1);
		in_expect(s[i], 100, i + 1);
	}
	for (int i = 0; i < NR_UDP; i++) {
		char buf[8];

		CHECK_EQ(in_port(u[i]), port[i]);
		CHECK_EQ(in_peer_port(u[i]), in_port(peer));
		expect_shut(u[i], false, "UDP socket", i);
		if (!all && i % 5)
			continue;
		if (wr_shut(u[i]) != (i % 5 == 0))
			fail("UDP socket %d: %s for writing after restore", i,
			     i % 5 ? "shut" : "not shut");
		if (!all)
			continue;
		if (sendto(peer, "abc", 3, 0,
			   (struct sockaddr *)&(struct sockaddr_in){.sin_family = AF_INET,
								    .sin_port = htons(port[i]),
								    .sin_addr.s_addr =
									    htonl(INADDR_LOOPBACK)},
			   sizeof(struct sockaddr_in)) != 3)
			fail("sendto: %m");
		if (recv(u[i], buf, sizeof(buf), MSG_DONTWAIT) != 3)
			fail("UDP socket %d: no datagram from its peer (%m)", i);
	}
}

int main(int argc, char **argv)
{
	int l, sync[2], status;
	pid_t child = 0;

	test_init(argc, argv);
	l = in_listener(AF_INET, 8);
	c[0] = in_connect(AF_INET, l, &s[0]);
	if (shutdown(c[0], SHUT_RD))
		fail("shutdown: %m");
	peer = socket(AF_INET, SOCK_DGRAM, 0);
	{
		struct sockaddr_storage ss;
		socklen_t len = in_loop(AF_INET, 0, &ss);

		if (peer < 0 || bind(peer, (struct sockaddr *)&ss, len))
			fail("bind: %m");
	}
	for (int i = 0; i < NR_UDP; i++) {
		u[i] = udp_to(peer);
		port[i] = in_port(u[i]);
		if (i % 5 == 0 && (shutdown(u[i], SHUT_WR) || !wr_shut(u[i])))
			fail("UDP socket %d: not shut for writing (%m)", i);
	}
	c[1] = in_connect(AF_INET, l, &s[1]);
	if (shutdown(c[1], SHUT_RD))
		fail("shutdown: %m");
	/* Its port would be taken by the running original (leave-running). */
	close(l);
	for (int i = 0; i < 2; i++)
		if (!rdhup(c[i]) || rdhup(s[i]))
			fail("connection %d: the shutdown does not show before the dump", i);

	if (pipe(sync))
		fail("pipe: %m");
	test_daemon();
	if (test_argc > 1 && !strcmp(test_argv[1], "fork")) {
		child = fork();
		if (child < 0)
			fail("fork: %m");
		if (!child) {
			char b;

			/* The parent says when: after SIGTERM reached it. */
			while (read(sync[0], &b, 1) < 0 && errno == EINTR)
				;
			check(true);
			_exit(0);
		}
	}
	test_waitsig();

	if (child) {
		if (write(sync[1], "x", 1) != 1)
			fail("write: %m");
		if (waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			fail("the child's checks failed (status %#x)", status);
	}
	check(!child);
	pass();
	return 0;
}
