/*
 * Packet sockets in fanout groups (PACKET_FANOUT): three on lo in a load
 * balancing group (its id the argument, else 20000 + pid % 30000:
 * bad/dump_packet_fanout gives one and joins it from outside), and one alone in a hash
 * group with PACKET_FANOUT_FLAG_DEFRAG whose id the kernel picked
 * (PACKET_FANOUT_FLAG_UNIQUEID). After restore each socket is in its group
 * with the same type and flags, and the group still shares the packets:
 * each numbered datagram the task sends itself reaches exactly one of the
 * three, and each of them gets some.
 */
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "zdtmtst.h"
#include "inet-util.h"

#define MEMBERS 3
#define DATAGRAMS 30
#define MARK "packet_fanout"

static int member(int port, int fanout)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
				   .sll_ifindex = if_nametoindex("lo") };
	int fd = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));

	if (fd < 0)
		fail("packet socket: %m");
	in_only_udp_port(fd, port);
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)))
		fail("bind: %m");
	if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &fanout, sizeof(fanout)))
		fail("PACKET_FANOUT %#x: %m", fanout);
	return fd;
}

int main(int argc, char **argv)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	int sk[MEMBERS], alone, tx, lb, unique, got[MEMBERS] = { 0 }, total = 0;
	char seen[DATAGRAMS] = { 0 };

	test_init(argc, argv);
	tx = socket(AF_INET, SOCK_DGRAM, 0);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (tx < 0 || bind(tx, (struct sockaddr *)&to, sizeof(to)))
		fail("UDP socket: %m");
	to.sin_port = htons(in_port(tx));
	lb = (test_argc > 1 ? atoi(test_argv[1]) : 20000 + getpid() % 30000) |
	     PACKET_FANOUT_LB << 16;
	for (int i = 0; i < MEMBERS; i++)
		sk[i] = member(in_port(tx), lb);
	alone = member(in_port(tx), (PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG |
				     PACKET_FANOUT_FLAG_UNIQUEID) << 16);
	unique = in_getopt(alone, SOL_PACKET, PACKET_FANOUT);
	if (!(unique & 0xffff) || (unique >> 16 & 0xff) != PACKET_FANOUT_HASH)
		fail("the kernel gave the unique group %#x", unique);

	test_daemon();
	test_waitsig();

	for (int i = 0; i < MEMBERS; i++)
		CHECK_EQ(in_getopt(sk[i], SOL_PACKET, PACKET_FANOUT), lb);
	CHECK_EQ(in_getopt(alone, SOL_PACKET, PACKET_FANOUT), unique);
	for (int n = 0; n < DATAGRAMS; n++) {
		char buf[64];

		snprintf(buf, sizeof(buf), MARK " %d", n);
		if (sendto(tx, buf, strlen(buf), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
			fail("sendto: %m");
	}
	/* Up to 5 s for all to come in: lo is shared with the rest of the suite. */
	for (time_t end = time(NULL) + 5; total < DATAGRAMS && time(NULL) < end;) {
		int quiet = 1;

		for (int i = 0; i < MEMBERS; i++) {
			char buf[2048], *m;
			ssize_t len = recv(sk[i], buf, sizeof(buf) - 1, MSG_DONTWAIT);
			int n;

			if (len <= 0)
				continue;
			quiet = 0;
			buf[len] = 0;
			m = memmem(buf, len, MARK " ", strlen(MARK) + 1);
			if (!m || sscanf(m + strlen(MARK) + 1, "%d", &n) != 1 || n < 0 ||
			    n >= DATAGRAMS)
				fail("member %d got a datagram not ours", i);
			if (seen[n]++)
				fail("datagram %d reached two members of the group", n);
			got[i]++;
			total++;
		}
		if (quiet)
			usleep(5000);
	}
	CHECK_EQ(total, DATAGRAMS);
	for (int i = 0; i < MEMBERS; i++)
		if (!got[i])
			fail("member %d got none of the %d datagrams: not in the group", i, DATAGRAMS);
	pass();
	return 0;
}
