/*
 * socketpair()s of one type (argument: stream, dgram or seqpacket) with
 * messages queued both ways, one shut down for writing, one for reading,
 * one whose peer closed: every message comes back, in order, with its
 * bounds (dgram, seqpacket), the ends are still connected to each other,
 * and SO_PEEK_OFF is untouched.
 */
#include <string.h>

#include "zdtmtst.h"
#include "unix-util.h"

struct msg {
	int from;	/* 0: sv[0] to sv[1] */
	size_t len;
};

static const struct msg msgs[] = {
	{ 0, 1 }, { 0, 100 }, { 1, 7 }, { 0, 4000 }, { 1, 0 }, { 0, 70000 }, { 1, 3333 }, { 0, 0 },
};

int main(int argc, char **argv)
{
	int type, p[2], wr[2], rd[2], gone[2], stream;
	size_t i;

	test_init(argc, argv);
	if (test_argc < 2)
		fail("which socket type?");
	type = !strcmp(test_argv[1], "stream") ? SOCK_STREAM :
	       !strcmp(test_argv[1], "dgram") ? SOCK_DGRAM : SOCK_SEQPACKET;
	stream = type == SOCK_STREAM;
	if (socketpair(AF_UNIX, type, 0, p) || socketpair(AF_UNIX, type, 0, wr) ||
	    socketpair(AF_UNIX, type, 0, rd) || socketpair(AF_UNIX, type, 0, gone))
		fail("socketpair: %m");
	for (i = 0; i < ARRAY_SIZE(msgs); i++)
		if (!stream || msgs[i].len)
			sk_send(p[msgs[i].from], msgs[i].len, 100 + i);
	sk_send(wr[0], 1000, 7);
	sk_send(gone[1], 500, 8);
	sk_send(gone[1], 501, 9);
	close(gone[1]);
	if (type != SOCK_DGRAM) {
		if (shutdown(wr[0], SHUT_WR) || shutdown(rd[0], SHUT_RD))
			fail("shutdown: %m");
	}

	test_daemon();
	test_waitsig();

	for (i = 0; i < 2; i++) {
		CHECK_EQ(sk_type(p[i]), type);
		CHECK_EQ(sk_peek_off(p[i]), -1);
	}
	/* Each side reads what the other sent, in order. */
	for (int side = 1; side >= 0; side--) {
		for (i = 0; i < ARRAY_SIZE(msgs); i++) {
			if (msgs[i].from == side)
				continue;
			if (!stream)
				sk_expect_msg(p[side], msgs[i].len, 100 + i);
			else if (msgs[i].len)
				sk_expect_bytes(p[side], msgs[i].len, 100 + i);
		}
		sk_expect_empty(p[side]);
	}
	sk_check_pair(p[0], p[1]);

	/* The peer that shut down for writing: its data, then the end. */
	if (stream)
		sk_expect_bytes(wr[1], 1000, 7);
	else
		sk_expect_msg(wr[1], 1000, 7);
	if (type == SOCK_DGRAM) {
		sk_expect_empty(wr[1]);
		sk_check_pair(rd[0], rd[1]);
	} else {
		sk_expect_eof(wr[1]);
		if (send(wr[0], "x", 1, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0 || errno != EPIPE)
			fail("the socket shut down for writing can write (%m)");
		/* Shut down for reading: it reads the end, its peer cannot write. */
		sk_expect_eof(rd[0]);
		if (send(rd[1], "x", 1, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0 || errno != EPIPE)
			fail("the peer of a socket shut down for reading can write (%m)");
	}

	/* The peer closed: what it sent, then the end (stream kinds). */
	if (stream) {
		sk_expect_bytes(gone[0], 500, 8);
		sk_expect_bytes(gone[0], 501, 9);
	} else {
		sk_expect_msg(gone[0], 500, 8);
		sk_expect_msg(gone[0], 501, 9);
	}
	if (type == SOCK_DGRAM)
		sk_expect_empty(gone[0]);
	else
		sk_expect_eof(gone[0]);
	pass();
	return 0;
}
