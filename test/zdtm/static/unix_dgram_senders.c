/*
 * A dgram socket bound to a path with datagrams queued from several
 * senders: one bound to a path, one to an abstract name, an unbound one,
 * one that sent and closed, its own connected peer; and a connected dgram
 * socket whose peer is not connected back. Each datagram comes back in
 * order with its sender's address; the senders still send.
 */
#include <stdio.h>
#include <string.h>

#include "zdtmtst.h"
#include "unix-util.h"

enum { S_PATH, S_ABS, S_UNBOUND, S_CLOSED, S_NR };

static int bound(const char *name, int abstract, struct sockaddr_un *a, socklen_t *len)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

	*len = sk_addr(a, name, abstract);
	if (fd < 0 || bind(fd, (struct sockaddr *)a, *len))
		fail("bind %s: %m", name);
	return fd;
}

static void expect_from(int fd, size_t len, uint64_t seed, const struct sockaddr_un *from,
			socklen_t flen)
{
	char buf[4096];
	struct sockaddr_un a;
	socklen_t alen = sizeof(a);
	ssize_t n;

	memset(&a, 0, sizeof(a));
	n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&a, &alen);
	if (n != (ssize_t)len)
		fail("a %zu-byte datagram expected, got %zd (%m)", len, n);
	CHECK_DATA(buf, len, seed);
	if (alen != flen || memcmp(&a, from, flen))
		fail("datagram %llu: sender address of length %u, expected %u ('%s')",
		     (unsigned long long)seed, alen, flen,
		     a.sun_path[0] ? a.sun_path : a.sun_path + 1);
}

int main(int argc, char **argv)
{
	char rpath[256], spath[256], cpath[256], aname[64];
	struct sockaddr_un ra, sa[S_NR], pa, none;
	socklen_t rlen, slen[S_NR], plen, nlen = 0; /* an unnamed sender has no address */
	int r, s[S_NR], pair[2], one_way, target;
	char buf[8];

	test_init(argc, argv);
	test_path(rpath, sizeof(rpath), "recv.sock");
	test_path(spath, sizeof(spath), "send.sock");
	test_path(cpath, sizeof(cpath), "closed.sock");
	snprintf(aname, sizeof(aname), "zdtm-dgram-senders-%d", getpid());
	unlink(rpath);
	unlink(spath);
	unlink(cpath);
	memset(&none, 0, sizeof(none));
	none.sun_family = AF_UNIX;

	r = bound(rpath, 0, &ra, &rlen);
	s[S_PATH] = bound(spath, 0, &sa[S_PATH], &slen[S_PATH]);
	s[S_ABS] = bound(aname, 1, &sa[S_ABS], &slen[S_ABS]);
	s[S_UNBOUND] = socket(AF_UNIX, SOCK_DGRAM, 0);
	sa[S_UNBOUND] = none;
	slen[S_UNBOUND] = nlen;
	s[S_CLOSED] = bound(cpath, 0, &sa[S_CLOSED], &slen[S_CLOSED]);
	for (int i = 0; i < S_NR; i++) {
		char msg[2048];

		datagen(msg, 100 + i, i);
		if (sendto(s[i], msg, 100 + i, 0, (struct sockaddr *)&ra, rlen) != 100 + i)
			fail("sendto: %m");
	}
	close(s[S_CLOSED]);
	unlink(cpath);
	/* A socketpair's end bound after, and a socket connected one way to a named one. */
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, pair))
		fail("socketpair: %m");
	sk_send(pair[1], 33, 50);
	snprintf(aname, sizeof(aname), "zdtm-dgram-target-%d", getpid());
	target = bound(aname, 1, &pa, &plen);
	one_way = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (connect(one_way, (struct sockaddr *)&pa, plen))
		fail("connect: %m");
	sk_send(one_way, 44, 51);

	test_daemon();
	test_waitsig();

	for (int i = 0; i < S_NR; i++)
		expect_from(r, 100 + i, i, &sa[i], slen[i]);
	sk_expect_empty(r);
	expect_from(pair[0], 33, 50, &none, nlen);
	sk_check_pair(pair[0], pair[1]);
	sk_expect_msg(target, 44, 51);
	/* Still connected one way: a send with no address reaches the target. */
	if (send(one_way, "ok", 2, 0) != 2 || recv(target, buf, sizeof(buf), MSG_DONTWAIT) != 2)
		fail("the one-way connection is gone: %m");
	if (send(target, "no", 2, 0) >= 0 || (errno != ENOTCONN && errno != EDESTADDRREQ))
		fail("the target got connected (%m)");
	/* The senders still send from their names. */
	for (int i = 0; i < S_CLOSED; i++) {
		if (sendto(s[i], "x", 1, 0, (struct sockaddr *)&ra, rlen) != 1)
			fail("sender %d: %m", i);
	}
	for (int i = 0; i < S_CLOSED; i++) {
		struct sockaddr_un a;
		socklen_t alen = sizeof(a);

		memset(&a, 0, sizeof(a));
		if (recvfrom(r, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&a, &alen) != 1 ||
		    alen != slen[i] || memcmp(&a, &sa[i], alen))
			fail("sender %d sends under another name now", i);
	}
	pass();
	return 0;
}
