/*
 * An established TCP connection on loopback, both ends in the test (one in
 * a child with "fork"), saved with --tcp-established: data queued both
 * ways, read in part, and bytes the receiver has no room for (its small
 * SO_RCVBUF), which wait in the sender's send queue, sent and not acked or
 * not sent at all. After restore every byte arrives once and in order, the
 * ends still have their ports, and new data flows both ways.
 *
 * Arguments: v4, v6 or mapped (an IPv6 socket to ::ffff:127.0.0.1); "fork":
 * the accepting end lives in a child; "unacked": the accepting end drops
 * every packet it gets (a socket filter) while the client sends more and
 * it answers, so that both ends hold bytes sent and not acked, until it
 * lifts the filter after restore; "opts": options on both ends
 * (SO_KEEPALIVE, TCP_KEEPIDLE/INTVL/CNT, TCP_NODELAY, SO_LINGER,
 * TCP_USER_TIMEOUT, IP_TOS, IP_RECVERR, IP_BIND_ADDRESS_NO_PORT, SO_PRIORITY,
 * TCP_CONGESTION, TCP_CORK on the server) read the same after;
 * "listening": the listener stays open, with SO_REUSEADDR as servers set it
 * (the accepted end inherits it), and still listens after restore.
 */
#include <fcntl.h>
#include <linux/filter.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>

#include "zdtmtst.h"
#include "inet-util.h"

#define BIG (4 << 20)
#define PEER_MSG 70000

static uint8_t pat(size_t i)
{
	return i ^ (i >> 8) ^ (i >> 16) ^ 0x5a;
}

static size_t send_pat(int fd, size_t from, size_t len)
{
	uint8_t *buf = malloc(len);
	ssize_t n;

	for (size_t i = 0; i < len; i++)
		buf[i] = pat(from + i);
	n = send(fd, buf, len, MSG_DONTWAIT);
	free(buf);
	if (n < 0)
		fail("send: %m");
	return n;
}

/* Read @len bytes that must be pat(@from...), waiting up to 10 s. */
static void expect_pat(int fd, size_t from, size_t len)
{
	uint8_t *buf = malloc(65536);
	size_t got = 0;
	int idle = 0;

	while (got < len) {
		size_t want = len - got < 65536 ? len - got : 65536;
		ssize_t n = recv(fd, buf, want, MSG_DONTWAIT);

		if (n <= 0) {
			if (n == 0 || errno != EAGAIN || ++idle > 1000)
				fail("fd %d: %zu of %zu bytes read, then %zd (%m)", fd, got, len, n);
			usleep(10000);
			continue;
		}
		idle = 0;
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != pat(from + got + i))
				fail("fd %d: byte %zu differs", fd, from + got + i);
		got += n;
	}
	free(buf);
}

static int has_arg(const char *a)
{
	for (int i = 1; i < test_argc; i++)
		if (!strcmp(test_argv[i], a))
			return 1;
	return 0;
}

struct opts {
	int keepalive, keepidle, keepintvl, keepcnt, nodelay, user_timeout, tos, prio, cork;
	int recverr, noport;
	struct linger lg;
	char cc[16];
};

static void set_opts(int fd, int family)
{
	struct linger lg = { 1, 7 };

	in_setopt(fd, SOL_SOCKET, SO_KEEPALIVE, 1);
	in_setopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, 77);
	in_setopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, 13);
	in_setopt(fd, IPPROTO_TCP, TCP_KEEPCNT, 4);
	in_setopt(fd, IPPROTO_TCP, TCP_NODELAY, 1);
	in_setopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, 12345);
	in_setopt(fd, SOL_SOCKET, SO_PRIORITY, 3);
	in_setopt(fd, family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6,
		  family == AF_INET ? IP_TOS : IPV6_TCLASS, 0x28);
	/* Two of the options a dump takes from sock_diag (INET_DIAG_SOCKOPT). */
	in_setopt(fd, IPPROTO_IP, IP_RECVERR, 1);
	in_setopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1);
	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)))
		fail("SO_LINGER: %m");
	/* reno is built in: always there. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, "reno", 4))
		fail("TCP_CONGESTION: %m");
}

static void get_opts(int fd, int family, struct opts *o)
{
	socklen_t len = sizeof(o->lg);

	o->keepalive = in_getopt(fd, SOL_SOCKET, SO_KEEPALIVE);
	o->keepidle = in_getopt(fd, IPPROTO_TCP, TCP_KEEPIDLE);
	o->keepintvl = in_getopt(fd, IPPROTO_TCP, TCP_KEEPINTVL);
	o->keepcnt = in_getopt(fd, IPPROTO_TCP, TCP_KEEPCNT);
	o->nodelay = in_getopt(fd, IPPROTO_TCP, TCP_NODELAY);
	o->cork = in_getopt(fd, IPPROTO_TCP, TCP_CORK);
	o->user_timeout = in_getopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT);
	o->prio = in_getopt(fd, SOL_SOCKET, SO_PRIORITY);
	o->tos = in_getopt(fd, family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6,
			   family == AF_INET ? IP_TOS : IPV6_TCLASS);
	o->recverr = in_getopt(fd, IPPROTO_IP, IP_RECVERR);
	o->noport = in_getopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT);
	if (getsockopt(fd, SOL_SOCKET, SO_LINGER, &o->lg, &len))
		fail("SO_LINGER: %m");
	memset(o->cc, 0, sizeof(o->cc));
	len = sizeof(o->cc) - 1;
	if (getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, o->cc, &len))
		fail("TCP_CONGESTION: %m");
}

static void check_opts(const struct opts *a, const struct opts *b)
{
	CHECK_EQ(a->keepalive, b->keepalive);
	CHECK_EQ(a->keepidle, b->keepidle);
	CHECK_EQ(a->keepintvl, b->keepintvl);
	CHECK_EQ(a->keepcnt, b->keepcnt);
	CHECK_EQ(a->nodelay, b->nodelay);
	CHECK_EQ(a->cork, b->cork);
	CHECK_EQ(a->user_timeout, b->user_timeout);
	CHECK_EQ(a->prio, b->prio);
	CHECK_EQ(a->tos, b->tos);
	CHECK_EQ(a->recverr, b->recverr);
	CHECK_EQ(a->noport, b->noport);
	CHECK_EQ(a->lg.l_onoff, b->lg.l_onoff);
	CHECK_EQ(a->lg.l_linger, b->lg.l_linger);
	if (strcmp(a->cc, b->cc))
		fail("TCP_CONGESTION is %s, was %s", a->cc, b->cc);
}

/* The accepting end drops all it gets, or no longer. */
static void drop_all(int s, int on)
{
	struct sock_filter code[] = { BPF_STMT(BPF_RET | BPF_K, 0) };
	struct sock_fprog prog = { 1, code };
	int x = 0;

	if (on ? setsockopt(s, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) :
		 setsockopt(s, SOL_SOCKET, SO_DETACH_FILTER, &x, sizeof(x)))
		fail("socket filter: %m");
}

/* The filter drop_all() set came back with the connection: one instruction. */
static void expect_filter(int s)
{
	socklen_t len = 0;

	if (getsockopt(s, SOL_SOCKET, SO_GET_FILTER, NULL, &len))
		fail("SO_GET_FILTER: %m");
	CHECK_EQ(len, 1);
}

/* The accepting end: reads what it was given, then what is left, then talks. */
static void server(int s, size_t sent, size_t read_before, const struct opts *so, int family,
		   int check)
{
	struct opts now;

	if (check && so) {
		get_opts(s, family, &now);
		check_opts(&now, so);
	}
	expect_pat(s, read_before, sent - read_before);
	in_expect_empty(s);
	send_pat(s, 0, 1000);
}

int main(int argc, char **argv)
{
	int family = AF_INET, l, c, s, port_c, port_s, status = 0;
	int do_opts, do_fork;
	size_t sent, read_before = 100000;
	struct opts co, so;
	pid_t child = 0;
	char *peer_buf;
	int sync[2];

	test_init(argc, argv);
	do_opts = has_arg("opts");
	do_fork = has_arg("fork");

	if (has_arg("v6") || has_arg("mapped"))
		family = AF_INET6;

	/* A small receive buffer on the accepting end: the sender's bytes back up. */
	l = socket(family, SOCK_STREAM, 0);
	{
		struct sockaddr_storage ss;
		socklen_t len = in_loop(family, 0, &ss);

		if (has_arg("mapped")) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

			inet_pton(AF_INET6, "::ffff:127.0.0.1", &s6->sin6_addr);
		}
		in_setopt(l, SOL_SOCKET, SO_RCVBUF, has_arg("unacked") ? 262144 : 32768);
		if (has_arg("listening"))
			in_setopt(l, SOL_SOCKET, SO_REUSEADDR, 1);
		if (bind(l, (struct sockaddr *)&ss, len) || listen(l, 4))
			fail("listener: %m");
		c = socket(family, SOCK_STREAM, 0);
		in_setopt(c, SOL_SOCKET, SO_SNDBUF, BIG);
		len = in_loop(family, in_port(l), &ss);
		if (has_arg("mapped"))
			inet_pton(AF_INET6, "::ffff:127.0.0.1",
				  &((struct sockaddr_in6 *)&ss)->sin6_addr);
		if (connect(c, (struct sockaddr *)&ss, len))
			fail("connect: %m");
		s = accept(l, NULL, NULL);
		if (s < 0)
			fail("accept: %m");
	}
	if (!has_arg("listening"))
		close(l);
	if (do_opts) {
		set_opts(c, family);
		set_opts(s, family);
		in_setopt(s, IPPROTO_TCP, TCP_KEEPIDLE, 99);
		in_setopt(s, IPPROTO_TCP, TCP_CORK, 1);
		get_opts(c, family, &co);
		get_opts(s, family, &so);
	}
	port_c = in_port(c);
	port_s = in_port(s);

	/* Client to server: far more than the server has room for. */
	sent = 0;
	for (int i = 0; i < 100 && sent < BIG; i++) {
		size_t n = send_pat(c, sent, BIG - sent);

		sent += n;
		if (!n)
			break;
		usleep(2000);
	}
	usleep(100000);
	/* Dropped from here on: what the client sends now and the acks of what we send. */
	if (has_arg("unacked")) {
		int inq;

		drop_all(s, 1);
		/* All that is queued: the window opens wide, and what comes is dropped. */
		if (ioctl(s, SIOCINQ, &inq))
			fail("SIOCINQ: %m");
		read_before = inq;
	}
	expect_pat(s, 0, read_before);
	/* And a little more that stays unsent: the window is full again. */
	usleep(100000);
	/* Server to client: not read by the client before the dump. */
	peer_buf = malloc(PEER_MSG);
	datagen(peer_buf, PEER_MSG, 7);
	if (send(s, peer_buf, PEER_MSG, MSG_DONTWAIT) != PEER_MSG)
		fail("server send: %m");
	usleep(100000);
	test_msg("sent %zu, read %zu before the dump\n", sent, read_before);
	if (has_arg("unacked")) {
		int out, nsd;

		if (ioctl(c, SIOCOUTQ, &out) || ioctl(c, SIOCOUTQNSD, &nsd))
			fail("SIOCOUTQ: %m");
		if (out - nsd <= 0)
			fail("no unacked bytes in the client (%d queued, %d not sent)", out, nsd);
		if (ioctl(s, SIOCOUTQ, &out) || ioctl(s, SIOCOUTQNSD, &nsd) || out - nsd <= 0)
			fail("no unacked bytes in the server (%d queued, %d not sent)", out, nsd);
	}
	if (sent < read_before + 300000)
		fail("only %zu bytes sent: the test needs more queued", sent);

	if (do_fork) {
		if (pipe(sync))
			fail("pipe: %m");
	}
	test_daemon();
	if (do_fork) {
		child = fork();
		if (child < 0)
			fail("fork: %m");
		if (!child) {
			char b;

			close(c);
			close(sync[1]);
			/* The parent says when: after SIGTERM reached it. */
			while (read(sync[0], &b, 1) < 0 && errno == EINTR)
				;
			if (has_arg("unacked")) {
				expect_filter(s);
				drop_all(s, 0);
			}
			CHECK_EQ(in_port(s), port_s);
			server(s, sent, read_before, do_opts ? &so : NULL, family, do_opts);
			_exit(0);
		}
		close(s);
		close(sync[0]);
	}
	test_waitsig();

	/* Both ends are stuck until the server takes packets again. */
	if (has_arg("unacked") && !do_fork) {
		expect_filter(s);
		drop_all(s, 0);
	}
	CHECK_EQ(in_port(c), port_c);
	CHECK_EQ(in_tcp_state(c), TCP_ESTABLISHED);
	if (has_arg("listening")) {
		int on = 0;

		CHECK_EQ(in_tcp_state(l), TCP_LISTEN);
		CHECK_EQ(in_port(l), port_s);
		if (getsockopt(l, SOL_SOCKET, SO_REUSEADDR, &on, &(socklen_t){ sizeof(on) }))
			fail("SO_REUSEADDR: %m");
		CHECK_EQ(on, 1);
	}
	if (do_opts) {
		struct opts now;

		get_opts(c, family, &now);
		check_opts(&now, &co);
	}
	if (do_fork) {
		if (write(sync[1], "x", 1) != 1)
			fail("write: %m");
		in_expect(c, PEER_MSG, 7);
		expect_pat(c, 0, 1000);
		if (waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			fail("the server end failed (status %#x)", status);
	} else {
		CHECK_EQ(in_port(s), port_s);
		CHECK_EQ(in_peer_port(s), port_c);
		in_expect(c, PEER_MSG, 7);
		in_expect_empty(c);
		server(s, sent, read_before, do_opts ? &so : NULL, family, do_opts);
		expect_pat(c, 0, 1000);
		in_abort(s);
	}
	in_abort(c);
	pass();
	return 0;
}
