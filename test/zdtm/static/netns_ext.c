/*
 * A tree in a network namespace made outside it (ip netns add, lo up,
 * 127.0.0.3/8 on lo): only img/netns_external runs it, dumped with
 * --external net[INODE]:KEY and restored with --inherit-fd fd[N]:KEY into
 * that namespace or another set up the same. Sockets on the namespace's
 * own address: a TCP listener and an established connection with data
 * queued both ways. After restore the connection carries the queued bytes
 * and more, the listener has its address and port and accepts a new
 * connection, and the namespace's address is there.
 */
#include <stdio.h>

#include "zdtmtst.h"
#include "inet-util.h"

#define ADDR "127.0.0.3"

static socklen_t addr_of(int port, struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons(port);
	inet_pton(AF_INET, ADDR, &sa->sin_addr);
	return sizeof(*sa);
}

static int tcp_connect(int port)
{
	struct sockaddr_in sa;
	socklen_t len = addr_of(port, &sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, len))
		fail("connect %s:%d: %m", ADDR, port);
	return fd;
}

/* The listener is on ADDR, at @port, listening. */
static void check_listener(int lfd, int port)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	char got[INET_ADDRSTRLEN] = "";

	if (getsockname(lfd, (struct sockaddr *)&sa, &len))
		fail("getsockname of the listener: %m");
	inet_ntop(AF_INET, &sa.sin_addr, got, sizeof(got));
	if (strcmp(got, ADDR) || ntohs(sa.sin_port) != port)
		fail("the listener is on %s:%d, not %s:%d", got, ntohs(sa.sin_port), ADDR, port);
	CHECK_EQ(in_getopt(lfd, SOL_SOCKET, SO_ACCEPTCONN), 1);
}

/* A new connection to the listener: the client's fd, the accepted one in *@srv. */
static int connected(int lfd, int port, int *srv)
{
	int fd = tcp_connect(port);

	*srv = accept(lfd, NULL, NULL);
	if (*srv < 0)
		fail("accept on %s:%d: %m", ADDR, port);
	return fd;
}

/* @len bytes of datagen(@seed) each way, client first. */
static void both_ways(int cfd, int sfd, size_t len, uint64_t seed)
{
	in_send(cfd, len, seed);
	in_expect(sfd, len, seed);
	in_send(sfd, len, seed + 1);
	in_expect(cfd, len, seed + 1);
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa;
	socklen_t len = addr_of(0, &sa);
	int lfd, cfd, sfd, port, c, a;

	test_init(argc, argv);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0)
		fail("socket: %m");
	if (bind(lfd, (struct sockaddr *)&sa, len))
		skip("cannot bind %s (run it in a namespace with lo up and %s/8): %m", ADDR, ADDR);
	if (listen(lfd, 4))
		fail("listen: %m");
	port = in_port(lfd);
	cfd = connected(lfd, port, &sfd);
	in_send(cfd, 3000, 1);
	in_send(sfd, 2000, 2);

	test_daemon();
	test_waitsig();

	check_listener(lfd, port);
	/* The bytes queued at dump come first, in order, then new ones. */
	in_expect(cfd, 2000, 2);
	in_expect(sfd, 3000, 1);
	both_ways(cfd, sfd, 100, 3);
	CHECK_EQ(in_peer_port(sfd), in_port(cfd));

	/* The listener takes a new connection in the namespace it is in now. */
	c = connected(lfd, port, &a);
	both_ways(c, a, 10, 5);
	close(a);
	close(c);
	pass();
	return 0;
}
