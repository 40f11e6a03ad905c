/*
 * TCP connections between ESTABLISHED and CLOSE, both ends in the test,
 * saved with --tcp-established:
 *
 *   fw2    the client shut down its side: FIN_WAIT2 / CLOSE_WAIT, with bytes
 *          before the FIN the server has not read; the server still sends;
 *   fw1    the client shut down behind bytes the server has no room for:
 *          FIN_WAIT1, its FIN not sent yet;
 *   lastack the client shut down, then the server, whose packets in are
 *          dropped (a socket filter) so that its FIN is not acked: LAST_ACK,
 *          and the client, done, CLOSE (shut both ways);
 *   closing both shut down, the server dropping all it gets: the client
 *          CLOSING (the server's FIN in, its own not acked), the server
 *          FIN_WAIT1 (the client's FIN lost).
 *
 * IPv4, or IPv6 with "v6". After restore each end is in the state it was
 * (or the one the peer's answer moves it to), reads what it had not read
 * then the end of the stream, and the server's filter is lifted so that the
 * ends finish.
 */
#include <linux/filter.h>
#include <stdio.h>

#include "zdtmtst.h"
#include "inet-util.h"

static uint8_t pat(size_t i)
{
	return i ^ (i >> 8) ^ 0xa5;
}

/* @len bytes of pat(), within 10 s. */
static void expect_pat(int fd, size_t len)
{
	uint8_t buf[4096];
	size_t got = 0;
	int idle = 0;

	while (got < len) {
		ssize_t n = recv(fd, buf, len - got < sizeof(buf) ? len - got : sizeof(buf),
				 MSG_DONTWAIT);

		if (n <= 0) {
			if (n == 0 || errno != EAGAIN || ++idle > 1000)
				fail("fd %d: %zu of %zu bytes, then %zd (%m)", fd, got, len, n);
			usleep(10000);
			continue;
		}
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != pat(got + i))
				fail("fd %d: byte %zu differs", fd, got + i);
		got += n;
	}
}

static void drop_all(int s, int on)
{
	struct sock_filter code[] = { BPF_STMT(BPF_RET | BPF_K, 0) };
	struct sock_fprog prog = { 1, code };
	int x = 0;

	if (on ? setsockopt(s, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) :
		 setsockopt(s, SOL_SOCKET, SO_DETACH_FILTER, &x, sizeof(x)))
		fail("socket filter: %m");
}

/* Wait up to 10 s for @fd to be in @state. */
static void wait_state(int fd, int state, const char *what)
{
	for (int i = 0; i < 1000; i++) {
		if (in_tcp_state(fd) == state)
			return;
		usleep(10000);
	}
	fail("%s: state %d, expected %d", what, in_tcp_state(fd), state);
}

static void expect_state(int fd, int state, const char *what)
{
	if (in_tcp_state(fd) != state)
		fail("%s: state %d, expected %d", what, in_tcp_state(fd), state);
}

int main(int argc, char **argv)
{
	int l, c[4], s[4], fam;
	size_t fw1_sent = 0;

	test_init(argc, argv);
	fam = test_argc > 1 && !strcmp(test_argv[1], "v6") ? AF_INET6 : AF_INET;
	l = in_listener(fam, 8);

	/* fw2 */
	c[0] = in_connect(fam, l, &s[0]);
	in_send(c[0], 1000, 1);
	shutdown(c[0], SHUT_WR);
	wait_state(c[0], TCP_FIN_WAIT2, "fw2 client");
	wait_state(s[0], TCP_CLOSE_WAIT, "fw2 server");

	/* fw1: the server's window full, then the FIN behind more bytes. */
	in_setopt(l, SOL_SOCKET, SO_RCVBUF, 16384);
	c[1] = in_connect(fam, l, &s[1]);
	in_setopt(c[1], SOL_SOCKET, SO_SNDBUF, 1 << 20);
	for (;;) {
		uint8_t buf[4096];
		ssize_t n;

		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = pat(fw1_sent + i);
		n = send(c[1], buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0)
			fw1_sent += n;
		if (n != sizeof(buf))
			break;
		if (fw1_sent > (4 << 20))
			fail("fw1: the server's window never filled");
		usleep(100);
	}
	shutdown(c[1], SHUT_WR);
	expect_state(c[1], TCP_FIN_WAIT1, "fw1 client");

	/* lastack */
	c[2] = in_connect(fam, l, &s[2]);
	shutdown(c[2], SHUT_WR);
	wait_state(s[2], TCP_CLOSE_WAIT, "lastack server");
	drop_all(s[2], 1);
	in_send(s[2], 100, 3);
	shutdown(s[2], SHUT_WR);
	in_expect(c[2], 100, 3);
	in_expect_eof(c[2]);
	wait_state(c[2], TCP_CLOSE, "lastack client");
	expect_state(s[2], TCP_LAST_ACK, "lastack server");

	/* closing */
	c[3] = in_connect(fam, l, &s[3]);
	drop_all(s[3], 1);
	shutdown(c[3], SHUT_WR);
	shutdown(s[3], SHUT_WR);
	wait_state(c[3], TCP_CLOSING, "closing client");
	expect_state(s[3], TCP_FIN_WAIT1, "closing server");
	close(l);

	test_daemon();
	test_waitsig();

	/* fw2: the bytes, the end; the server still talks. */
	expect_state(c[0], TCP_FIN_WAIT2, "fw2 client after restore");
	wait_state(s[0], TCP_CLOSE_WAIT, "fw2 server after restore");
	in_expect(s[0], 1000, 1);
	in_expect_eof(s[0]);
	in_send(s[0], 500, 2);
	in_expect(c[0], 500, 2);
	close(s[0]);
	in_expect_eof(c[0]);

	/* fw1: every byte, then the end. */
	expect_pat(s[1], fw1_sent);
	in_expect_eof(s[1]);
	wait_state(c[1], TCP_FIN_WAIT2, "fw1 client after restore");

	/* lastack: the client is done; the server's FIN, unacked, goes again. */
	expect_state(c[2], TCP_CLOSE, "lastack client after restore");
	in_expect_eof(c[2]);
	expect_state(s[2], TCP_LAST_ACK, "lastack server after restore");
	in_expect_eof(s[2]);

	/* closing */
	expect_state(c[3], TCP_CLOSING, "closing client after restore");
	in_expect_eof(c[3]);
	drop_all(s[3], 0);
	in_expect_eof(s[3]);
	for (int i = 0; i < 4; i++) {
		in_abort(c[i]);
		if (i)
			in_abort(s[i]);
	}
	pass();
	return 0;
}
