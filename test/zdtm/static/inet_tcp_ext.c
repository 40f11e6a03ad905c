/*
 * A TCP connection to a peer outside the dumped tree (127.0.0.1:PORT, the
 * first argument), which keeps sending: only img/inet_tcp_ext_peer runs it.
 * The task reads on all the time and sends a numbered byte stream back, a
 * byte for each read (so that it is quiet when the peer is);
 * after SIGTERM it checks that what it read is the peer's stream, in order,
 * without a gap, and that the connection still stands. "FAIL: reset" says
 * the peer reset it (what happens across a dump and restore without the
 * network lock).
 *
 * With "stuck" (img/inet_tcp_peer_reset): the peer never reads, shuts its
 * side, and is gone by the restore. The task sends until bytes stay unsent
 * (the peer's window shut), then waits, its end in CLOSE_WAIT; after
 * SIGTERM it checks that it finds the connection reset by the peer's
 * answer to the ACK of its FIN: closed, with the error a reset leaves in
 * CLOSE_WAIT (EPIPE), as it would have had it run on.
 */
#include <fcntl.h>
#include <linux/sockios.h>
#include <poll.h>
#include <stdio.h>
#include <sys/ioctl.h>

#include "zdtmtst.h"
#include "inet-util.h"

static uint8_t pat(uint64_t i)
{
	return i * 7 + (i >> 8);
}

/* Bytes in the send queue the peer's shut window keeps unsent. */
static void fill(int fd)
{
	uint8_t buf[4096] = { 0 };
	int nsd = 0;

	for (int i = 0; i < 500 && nsd <= 0; i++) {
		while (send(fd, buf, sizeof(buf), MSG_NOSIGNAL) > 0)
			;
		if (errno != EAGAIN)
			fail("send: %m");
		usleep(10000);
		if (ioctl(fd, SIOCOUTQNSD, &nsd))
			fail("SIOCOUTQNSD: %m");
	}
	if (nsd <= 0)
		fail("the peer's window never shut");
	test_msg("%d bytes not sent\n", nsd);
}

static int stuck(int fd)
{
	fill(fd);
	test_daemon();
	test_ready();
	test_waitsig();
	CHECK_EQ(in_tcp_state(fd), TCP_CLOSE);
	CHECK_EQ(in_getopt(fd, SOL_SOCKET, SO_ERROR), EPIPE);
	pass();
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	uint64_t got = 0, sent = 0;
	uint8_t buf[4096];
	socklen_t len;
	int fd;

	test_init(argc, argv);
	if (test_argc < 2)
		fail("usage: inet_tcp_ext PORT");
	len = in_loop(AF_INET, atoi(test_argv[1]), &ss);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len))
		fail("connect to the peer: %m");
	fcntl(fd, F_SETFL, O_NONBLOCK);
	if (test_argc > 2 && !strcmp(test_argv[2], "stuck"))
		return stuck(fd);

	test_daemon();
	test_ready();
	while (test_go()) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		poll(&p, 1, 10);
		n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0)
			fail("the peer closed the connection after %llu bytes",
			     (unsigned long long)got);
		if (n < 0 && errno == ECONNRESET)
			fail("reset after %llu bytes", (unsigned long long)got);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			fail("recv: %m");
		for (ssize_t i = 0; i < n; i++, got++)
			if (buf[i] != pat(got))
				fail("byte %llu from the peer differs", (unsigned long long)got);
		/* A byte back for what came: quiet when the peer is. */
		if (n <= 0)
			continue;
		buf[0] = pat(sent);
		if (send(fd, buf, 1, MSG_NOSIGNAL) == 1)
			sent++;
		else if (errno == ECONNRESET || errno == EPIPE)
			fail("reset after %llu bytes", (unsigned long long)got);
	}
	if (!got)
		fail("nothing from the peer");
	test_msg("%llu bytes in, %llu out\n", (unsigned long long)got, (unsigned long long)sent);
	pass();
	return 0;
}
