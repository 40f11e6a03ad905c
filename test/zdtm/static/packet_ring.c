/*
 * Packet sockets snap refuses by name, for the bad-input tests only: one
 * with a transmit ring (argument "tx"), one in a fanout group a classic BPF
 * program steers ("fanout_cbpf": no interface gives the program back), and
 * a receive ring still mapped after its last fd was closed ("unheld"),
 * which restore would have no fd to map from. The task runs on untouched
 * and checks its socket or its mapping.
 */
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <sys/mman.h>

#include "zdtmtst.h"
#include "inet-util.h"

int main(int argc, char **argv)
{
	struct tpacket_req req = { .tp_block_size = 4096, .tp_block_nr = 4,
				   .tp_frame_size = 2048, .tp_frame_nr = 8 };
	const char *kind;
	uint8_t *ring = NULL;
	int fd;

	test_init(argc, argv);
	kind = test_argc > 1 ? test_argv[1] : "tx";
	fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (fd < 0)
		fail("packet socket: %m");
	if (!strcmp(kind, "fanout_cbpf")) {
		struct sock_filter first = BPF_STMT(BPF_RET | BPF_K, 0);
		struct sock_fprog prog = { .len = 1, .filter = &first };

		in_setopt(fd, SOL_PACKET, PACKET_FANOUT,
			  (20000 + getpid() % 30000) | PACKET_FANOUT_CBPF << 16);
		if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT_DATA, &prog, sizeof(prog)))
			fail("PACKET_FANOUT_DATA: %m");
	} else {
		if (setsockopt(fd, SOL_PACKET, strcmp(kind, "tx") ? PACKET_RX_RING : PACKET_TX_RING,
			       &req, sizeof(req)))
			fail("setting the ring: %m");
	}
	if (!strcmp(kind, "unheld")) {
		ring = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (ring == MAP_FAILED)
			fail("mmap of the ring: %m");
		ring[100] = 42;
		close(fd);
	}

	test_daemon();
	test_waitsig();

	/* The ring or group is still there: another ring cannot be set, the group is read back. */
	if (ring)
		CHECK_EQ(ring[100], 42);
	else if (!strcmp(kind, "tx"))
		CHECK(setsockopt(fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof(req)) && errno == EBUSY);
	else
		CHECK_EQ(in_getopt(fd, SOL_PACKET, PACKET_FANOUT) >> 16 & 0xff, PACKET_FANOUT_CBPF);
	pass();
	return 0;
}
