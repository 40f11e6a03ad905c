/*
 * A packet socket with a receive ring (PACKET_RX_RING), and one in a fanout
 * group: only bad/dump_packet_ring and bad/dump_packet_fanout run it
 * (argument "ring" or "fanout"); snap refuses both by name. The task runs
 * on untouched and checks its socket. The ring is not mapped: a mapped one
 * is refused before the fds, as a mapping snap does not know.
 */
#include <linux/if_packet.h>
#include <net/ethernet.h>

#include "zdtmtst.h"
#include "inet-util.h"

int main(int argc, char **argv)
{
	struct tpacket_req req = { .tp_block_size = 4096, .tp_block_nr = 4,
				   .tp_frame_size = 2048, .tp_frame_nr = 8 };
	int fd, ring;

	test_init(argc, argv);
	ring = test_argc > 1 && !strcmp(test_argv[1], "ring");
	fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (fd < 0)
		fail("packet socket: %m");
	if (ring) {
		if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)))
			fail("PACKET_RX_RING: %m");
	} else {
		in_setopt(fd, SOL_PACKET, PACKET_FANOUT, 42 | PACKET_FANOUT_HASH << 16);
	}

	test_daemon();
	test_waitsig();

	/* The ring is still there: another one cannot be set. */
	if (ring)
		CHECK(setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) && errno == EBUSY);
	else
		CHECK_EQ(in_getopt(fd, SOL_PACKET, PACKET_FANOUT) & 0xffff, 42);
	pass();
	return 0;
}
