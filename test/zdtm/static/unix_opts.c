/*
 * Socket options a program sets on unix sockets: SO_PASSCRED, SO_RCVBUF,
 * SO_SNDBUF past net.core.wmem_max (set with SO_SNDBUFFORCE), SO_PEEK_OFF
 * inside queued data, timeouts, SO_RCVLOWAT, O_NONBLOCK, and a classic BPF
 * filter, locked. Every value reads the same after restore, the peek
 * offset still applies, and the filter still filters.
 */
#include <fcntl.h>
#include <linux/filter.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "zdtmtst.h"
#include "unix-util.h"

static int opt(int fd, int name)
{
	socklen_t len = sizeof(int);
	int v;

	if (getsockopt(fd, SOL_SOCKET, name, &v, &len))
		fail("getsockopt %d: %m", name);
	return v;
}

static long timeo(int fd, int name)
{
	struct timeval tv;
	socklen_t len = sizeof(tv);

	if (getsockopt(fd, SOL_SOCKET, name, &tv, &len))
		fail("getsockopt %d: %m", name);
	return tv.tv_sec * 1000000 + tv.tv_usec;
}

struct seen {
	int passcred, rcvbuf, sndbuf, peek_off, lowat, fl;
	long rcvtimeo, sndtimeo;
};

static void read_all(int fd, struct seen *s)
{
	s->passcred = opt(fd, SO_PASSCRED);
	s->rcvbuf = opt(fd, SO_RCVBUF);
	s->sndbuf = opt(fd, SO_SNDBUF);
	s->peek_off = opt(fd, SO_PEEK_OFF);
	s->lowat = opt(fd, SO_RCVLOWAT);
	s->rcvtimeo = timeo(fd, SO_RCVTIMEO);
	s->sndtimeo = timeo(fd, SO_SNDTIMEO);
	s->fl = fcntl(fd, F_GETFL);
}

static void set(int fd, int name, int v)
{
	if (setsockopt(fd, SOL_SOCKET, name, &v, sizeof(v)))
		fail("setsockopt %d: %m", name);
}

int main(int argc, char **argv)
{
	/* Keep 4 bytes of each datagram. */
	struct sock_filter code[] = { BPF_STMT(BPF_RET | BPF_K, 4) };
	struct sock_fprog prog = { 1, code };
	struct sock_filter got[4];
	struct timeval rtv = { 1, 500000 }, stv = { 2, 0 };
	int sv[2], dg[2];
	struct seen before, after;
	socklen_t len;
	char buf[64];

	test_init(argc, argv);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) || socketpair(AF_UNIX, SOCK_DGRAM, 0, dg))
		fail("socketpair: %m");
	set(sv[1], SO_PASSCRED, 1);
	set(sv[1], SO_RCVBUF, 100000);
	set(sv[1], SO_SNDBUFFORCE, 4 << 20); /* twice that, past wmem_max */
	set(sv[1], SO_RCVLOWAT, 3);
	if (setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &rtv, sizeof(rtv)) ||
	    setsockopt(sv[1], SOL_SOCKET, SO_SNDTIMEO, &stv, sizeof(stv)))
		fail("timeouts: %m");
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	sk_send(sv[0], 20, 1);
	set(sv[1], SO_PEEK_OFF, 5);
	sk_send(dg[0], 10, 2);
	if (setsockopt(dg[1], SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)))
		fail("SO_ATTACH_FILTER: %m");
	set(dg[1], SO_LOCK_FILTER, 1);
	read_all(sv[1], &before);
	if (before.sndbuf <= 4 << 20)
		fail("SO_SNDBUFFORCE did not pass wmem_max (%d)", before.sndbuf);

	test_daemon();
	test_waitsig();

	read_all(sv[1], &after);
	CHECK_EQ(after.passcred, before.passcred);
	CHECK_EQ(after.rcvbuf, before.rcvbuf);
	CHECK_EQ(after.sndbuf, before.sndbuf);
	CHECK_EQ(after.peek_off, 5);
	CHECK_EQ(after.lowat, before.lowat);
	CHECK_EQ(after.rcvtimeo, before.rcvtimeo);
	CHECK_EQ(after.sndtimeo, before.sndtimeo);
	CHECK_EQ(after.fl, before.fl);
	CHECK_EQ(opt(sv[0], SO_PEEK_OFF), -1);
	CHECK_EQ(opt(sv[0], SO_PASSCRED), 0);
	CHECK_EQ(fcntl(sv[0], F_GETFL) & O_NONBLOCK, 0);
	/* The peek offset still applies: a peek starts 5 bytes in. */
	datagen(buf, 20, 1);
	if (recv(sv[1], buf + 32, 15, MSG_PEEK) != 15 || memcmp(buf + 5, buf + 32, 15))
		fail("the peek offset no longer applies");
	CHECK_EQ(opt(sv[1], SO_PEEK_OFF), 20);
	sk_expect_bytes(sv[1], 20, 1);

	len = 4;
	if (getsockopt(dg[1], SOL_SOCKET, SO_GET_FILTER, got, &len) || len != 1 ||
	    memcmp(got, code, sizeof(code)))
		fail("the filter is not the one attached (%u instructions, %m)", len);
	CHECK_EQ(opt(dg[1], SO_LOCK_FILTER), 1);
	if (!setsockopt(dg[1], SOL_SOCKET, SO_DETACH_FILTER, &len, sizeof(int)) || errno != EPERM)
		fail("the filter is no longer locked");
	/* Queued before the filter: whole. Sent now: cut to 4 bytes. */
	sk_expect_msg(dg[1], 10, 2);
	sk_send(dg[0], 10, 3);
	if (recv(dg[1], buf, sizeof(buf), MSG_DONTWAIT) != 4)
		fail("the filter no longer filters (%m)");
	pass();
	return 0;
}
