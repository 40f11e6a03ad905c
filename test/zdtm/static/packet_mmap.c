/*
 * A packet socket reading through a mapped receive ring (PACKET_RX_RING),
 * as libpcap does: TPACKET_V3 (blocks of packets, handed over after 10 ms,
 * or after a minute in "v3open"), or TPACKET_V2 with one frame a block
 * ("v2") or four ("v2multi"). The task sends itself numbered UDP datagrams
 * on lo (a filter keeps everything else out) and reads them from the ring.
 * Before the dump it has read some, and leaves others unread in the ring
 * (V3: in the middle of a block; "v3open": in the block the kernel is still
 * filling). After restore it must read every one it has not read, in
 * order, from where it stood, then every new one in order through several
 * turns of the ring, and nothing else; the ring is mapped at the same
 * address, and the kernel's ring is still the one set up (another cannot be
 * set). In "v3child" a child holds the socket and the mapping too, and
 * must see the same ring through it.
 */
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include "zdtmtst.h"
#include "inet-util.h"

#define PAYLOAD 600
#define NR_BLOCKS 8

static int sk, tx, version;
static struct sockaddr_in to;
static uint8_t *ring;
static unsigned int block_size = 4096, frame_size, nr_frames, per_block;
static unsigned int cur, in_block;	/* the next block (V3) or frame, and packet in it */
static uint8_t *pkt;			/* V3: the packet last read in block cur */

static void send_seq(uint32_t seq)
{
	char buf[PAYLOAD] = "packet_mmap";
	uint32_t n = htonl(seq);

	memcpy(buf + 12, &n, sizeof(n));
	if (sendto(tx, buf, sizeof(buf), 0, (struct sockaddr *)&to, sizeof(to)) != sizeof(buf))
		fail("sendto: %m");
	/* Nobody reads the port: its queue is emptied here, not dumped full. */
	while (recv(tx, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

/* The number in the datagram at @ip (the IP header: SOCK_DGRAM). */
static uint32_t seq_at(const uint8_t *ip)
{
	const uint8_t *udp = ip + (ip[0] & 0xf) * 4;
	uint32_t n;

	if (memcmp(udp + 8, "packet_mmap", 12))
		fail("a packet not ours in the ring");
	memcpy(&n, udp + 8 + 12, sizeof(n));
	return ntohl(n);
}

static uint8_t *frame(unsigned int i)
{
	return ring + (i / per_block) * block_size + (i % per_block) * frame_size;
}

/* The next packet's number, as the ring gives it, 0 if none came within @ms. */
static uint32_t next_seq(int ms)
{
	struct timespec end, now;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += ms / 1000;
	end.tv_nsec += (ms % 1000) * 1000000L;
	for (;;) {
		struct pollfd p = { .fd = sk, .events = POLLIN };
		long left;

		__sync_synchronize();
		if (version == TPACKET_V3) {
			struct tpacket_block_desc *b = (void *)(ring + cur * block_size);

			if (b->hdr.bh1.block_status & TP_STATUS_USER) {
				if (in_block < b->hdr.bh1.num_pkts) {
					pkt = in_block++ ? pkt + ((struct tpacket3_hdr *)pkt)->tp_next_offset :
						(uint8_t *)b + b->hdr.bh1.offset_to_first_pkt;
					return seq_at(pkt + ((struct tpacket3_hdr *)pkt)->tp_mac);
				}
				b->hdr.bh1.block_status = TP_STATUS_KERNEL;
				cur = (cur + 1) % NR_BLOCKS;
				in_block = 0;
				continue;
			}
		} else {
			struct tpacket2_hdr *h = (void *)frame(cur);

			if (h->tp_status & TP_STATUS_USER) {
				uint32_t seq = seq_at((uint8_t *)h + h->tp_mac);

				h->tp_status = TP_STATUS_KERNEL;
				cur = (cur + 1) % nr_frames;
				return seq;
			}
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = (end.tv_sec - now.tv_sec) * 1000 + (end.tv_nsec - now.tv_nsec) / 1000000;
		if (left <= 0)
			return 0;
		poll(&p, 1, left > 10 ? 10 : left);
	}
}

static uint32_t sent, seen;	/* the last number sent, and read */

static void send_more(int n)
{
	while (n-- > 0)
		send_seq(++sent);
}

/*
 * Read the next number. A V3 block is handed over when full or after its
 * timeout: with none coming, more are sent (at most 20 ahead, well inside
 * the ring) to fill it.
 */
static void expect_next(void)
{
	for (;;) {
		uint32_t got = next_seq(30);

		if (got) {
			if (got != seen + 1)
				fail("the ring gave packet %u where %u was next", got, seen + 1);
			seen++;
			return;
		}
		if (sent - seen >= 20)
			fail("packet %u never came out of the ring (%u sent)", seen + 1, sent);
		send_more(1);
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP) };
	struct tpacket_req3 req = { 0 };
	struct test_vma vma;
	const char *kind;
	uint32_t last, at[2];
	int open_block, child = 0, pfd[2];
	size_t size;

	test_init(argc, argv);
	kind = test_argc > 1 ? test_argv[1] : "v3";
	open_block = !strcmp(kind, "v3open");
	version = strncmp(kind, "v3", 2) ? TPACKET_V2 : TPACKET_V3;
	frame_size = strcmp(kind, "v2multi") ? (version == TPACKET_V3 ? 2048 : 4096) : 1024;
	per_block = block_size / frame_size;
	nr_frames = per_block * NR_BLOCKS;

	tx = socket(AF_INET, SOCK_DGRAM, 0);
	to.sin_family = AF_INET;
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (tx < 0 || bind(tx, (struct sockaddr *)&to, sizeof(to)))
		fail("UDP socket: %m");
	to.sin_port = htons(in_port(tx));

	sk = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
	if (sk < 0)
		fail("packet socket: %m");
	in_only_udp_port(sk, in_port(tx));
	in_setopt(sk, SOL_PACKET, PACKET_VERSION, version);
	req = (struct tpacket_req3){ .tp_block_size = block_size, .tp_block_nr = NR_BLOCKS,
				     .tp_frame_size = frame_size, .tp_frame_nr = nr_frames,
				     .tp_retire_blk_tov = open_block ? 60000 : 10 };
	if (setsockopt(sk, SOL_PACKET, PACKET_RX_RING, &req,
		       version == TPACKET_V3 ? sizeof(req) : sizeof(struct tpacket_req)))
		fail("PACKET_RX_RING: %m");
	size = (size_t)block_size * NR_BLOCKS;
	ring = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, sk, 0);
	if (ring == MAP_FAILED)
		fail("mmap of the ring: %m");
	sll.sll_ifindex = if_nametoindex("lo");
	if (bind(sk, (struct sockaddr *)&sll, sizeof(sll)))
		fail("bind: %m");

	/* Read some: both places move on, off block 0. */
	while (seen < 11)
		expect_next();
	/*
	 * Five more, two of them read. V3 with a short timeout: the rest
	 * handed over in a block read in part; with a long one ("v3open"),
	 * not yet handed over, as libpcap's 1 s often leaves them.
	 */
	send_more(5 - (int)(sent - seen));
	if (!open_block)
		usleep(100000);
	expect_next();
	expect_next();

	test_daemon();
	/*
	 * "v3child": a child holds the socket and the ring's mapping too, and
	 * at the end finds the last packet its parent read at the same place
	 * in its own mapping: the same ring, turned the same way.
	 */
	if (!strcmp(kind, "v3child")) {
		if (pipe(pfd))
			fail("pipe: %m");
		child = fork();
		if (child < 0)
			fail("fork: %m");
		if (!child) {
			close(pfd[1]);
			if (read(pfd[0], at, sizeof(at)) != sizeof(at) || at[0] >= size ||
			    seq_at(ring + at[0]) != at[1])
				_exit(1);
			_exit(0);
		}
		close(pfd[0]);
	}
	test_waitsig();

	if (test_vma_at((unsigned long)ring, &vma) || vma.start != (unsigned long)ring ||
	    strncmp(vma.name, "socket:[", 8) || strcmp(vma.perms, "rw-s"))
		fail("the ring is not mapped at %p any more (%s %s)", ring, vma.perms, vma.name);
	CHECK(setsockopt(sk, SOL_PACKET, PACKET_RX_RING, &req,
			 version == TPACKET_V3 ? sizeof(req) : sizeof(struct tpacket_req)) &&
	      errno == EBUSY);
	/* The unread ones, then new ones in bursts, round the ring thrice: none missing. */
	for (last = sent + 3 * nr_frames; seen < last;) {
		if (seen == sent)
			send_more(seen % 3 + 1);
		expect_next();
	}
	/* Nothing else: no packet twice, none not sent. */
	for (uint32_t got; (got = next_seq(50));)
		CHECK_EQ(got, ++seen);
	CHECK(seen <= sent);
	if (child) {
		int status;

		at[0] = pkt + ((struct tpacket3_hdr *)pkt)->tp_mac - ring;
		at[1] = seen;
		if (write(pfd[1], at, sizeof(at)) != sizeof(at) || waitpid(child, &status, 0) != child)
			fail("cannot hear from the child: %m");
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			fail("the child does not see packet %u at offset %u of its ring mapping",
			     at[1], at[0]);
	}
	pass();
	return 0;
}
