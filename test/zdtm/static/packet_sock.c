/*
 * Packet sockets: SOCK_RAW for every protocol bound to lo, with
 * PACKET_AUXDATA, PACKET_ORIGDEV, PACKET_IGNORE_OUTGOING, PACKET_RESERVE
 * and a promiscuous membership; SOCK_DGRAM for IPv4, unbound, with
 * PACKET_QDISC_BYPASS and an allmulti membership added twice; one with
 * protocol 0 (receiving nothing). After restore each has its type,
 * protocol, interface and options, lo is promiscuous again, and the bound
 * one sees a datagram sent on lo.
 */
#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdio.h>
#include <time.h>

#include "zdtmtst.h"
#include "inet-util.h"

static int lo_flags(void)
{
	FILE *f = fopen("/sys/class/net/lo/flags", "r");
	unsigned int v = 0;

	if (!f || fscanf(f, "%x", &v) != 1)
		fail("cannot read lo's flags");
	fclose(f);
	return v;
}

static void member(int fd, int type)
{
	struct packet_mreq mr = { .mr_ifindex = if_nametoindex("lo"), .mr_type = type };

	if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)))
		fail("PACKET_ADD_MEMBERSHIP %d: %m", type);
}

static void bound_to(int fd, int ifindex, int proto)
{
	struct sockaddr_ll sll;
	socklen_t len = sizeof(sll);

	if (getsockname(fd, (struct sockaddr *)&sll, &len))
		fail("getsockname: %m");
	CHECK_EQ(sll.sll_ifindex, ifindex);
	CHECK_EQ(ntohs(sll.sll_protocol), proto);
}

/*
 * Only UDP to port 9 over IPv4 (no IP options) from here on: the rest of
 * lo's traffic (other programs' under load) would fill the queue first.
 */
static void only_port9(int fd)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 5),
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 23),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 0, 3),
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 36),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 9, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0xffff),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = { .len = sizeof(code) / sizeof(code[0]), .filter = code };
	char buf[4096];

	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)))
		fail("SO_ATTACH_FILTER: %m");
	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

/* A datagram on lo with @mark in it reaches @fd. */
static void sees(int fd, const char *mark)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	char buf[4096];

	only_port9(fd);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (sendto(u, mark, strlen(mark), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		fail("sendto: %m");
	close(u);
	/* Up to 5 s, not a count of packets: other programs' traffic on lo comes too. */
	for (time_t end = time(NULL) + 5; time(NULL) < end;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n > 0 && memmem(buf, n, mark, strlen(mark)))
			return;
		if (n < 0)
			usleep(5000);
	}
	fail("the packet socket did not see the datagram on lo");
}

int main(int argc, char **argv)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	int r, g, z, lo = if_nametoindex("lo"), promisc;

	test_init(argc, argv);
	promisc = lo_flags() & IFF_PROMISC;
	r = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	g = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
	z = socket(AF_PACKET, SOCK_RAW, 0);
	if (r < 0 || g < 0 || z < 0)
		fail("packet socket: %m");
	sll.sll_ifindex = lo;
	if (bind(r, (struct sockaddr *)&sll, sizeof(sll)))
		fail("bind: %m");
	in_setopt(r, SOL_PACKET, PACKET_AUXDATA, 1);
	in_setopt(r, SOL_PACKET, PACKET_ORIGDEV, 1);
	in_setopt(r, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1);
	in_setopt(r, SOL_PACKET, PACKET_RESERVE, 64);
	member(r, PACKET_MR_PROMISC);
	in_setopt(g, SOL_PACKET, PACKET_QDISC_BYPASS, 1);
	member(g, PACKET_MR_ALLMULTI);
	member(g, PACKET_MR_ALLMULTI);
	if (!(lo_flags() & IFF_PROMISC))
		fail("lo is not promiscuous");

	test_daemon();
	test_waitsig();

	CHECK_EQ(in_getopt(r, SOL_SOCKET, SO_TYPE), SOCK_RAW);
	CHECK_EQ(in_getopt(g, SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
	bound_to(r, lo, ETH_P_ALL);
	bound_to(g, 0, ETH_P_IP);
	bound_to(z, 0, 0);
	CHECK_EQ(in_getopt(r, SOL_PACKET, PACKET_AUXDATA), 1);
	CHECK_EQ(in_getopt(r, SOL_PACKET, PACKET_ORIGDEV), 1);
	CHECK_EQ(in_getopt(r, SOL_PACKET, PACKET_IGNORE_OUTGOING), 1);
	CHECK_EQ(in_getopt(r, SOL_PACKET, PACKET_RESERVE), 64);
	CHECK_EQ(in_getopt(g, SOL_PACKET, PACKET_QDISC_BYPASS), 1);
	CHECK_EQ(in_getopt(g, SOL_PACKET, PACKET_AUXDATA), 0);
	if (!(lo_flags() & IFF_PROMISC))
		fail("lo is no longer promiscuous");
	sees(r, "zdtm-packet-mark");
	close(r);
	/* The membership went with the socket, unless lo was so before. */
	if (!promisc && (lo_flags() & IFF_PROMISC))
		fail("lo still promiscuous once the socket is closed: something else holds it");
	pass();
	return 0;
}
