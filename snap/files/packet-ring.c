// SPDX-License-Identifier: GPL-2.0
/*
 * A packet socket's receive ring (PACKET_RX_RING). The ring is memory the
 * kernel and the process share: the kernel fills slots (TPACKET_V3: blocks
 * of packets; V1 and V2: one frame each) in order, marks each
 * TP_STATUS_USER, and the process reads them in the same order and gives
 * each back (TP_STATUS_KERNEL). Both keep their own place in it, and no
 * interface reads or sets the kernel's.
 *
 * Dump maps the ring through snap's fd of the socket, frozen, and finds the
 * kernel's place from the slots' headers: V3, the block of the highest
 * sequence number (the one it opened last), or the next one if that was
 * handed over already; V1 and V2, the frame after the newest time stamp (a
 * frame given back keeps its header). It saves the settings, that place, and
 * the slots still the process's, which hold the packets it has not read;
 * with V3 also the block the kernel was filling, closed (take_open_block()).
 *
 * Restore sets a new ring, whose first block the kernel fills first, writes
 * the saved slots back where they go, and the restorer maps the ring turned
 * so that this first block is at the address of the old place (mremap, in
 * whole blocks): the process finds its unread packets where it left them,
 * then new ones where it looks next, in order. With V1 or V2 and several
 * frames a block, the kernel starts at the first frame of the block it was
 * in: up to frames-a-block - 1 packets land before the process's place and
 * are read one turn of the ring later.
 */
#include <errno.h>
#include <linux/if_packet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "ctx.h"
#include "files/packet-ring.h"
#include "log.h"

/* Bigger rings than this are refused as corrupted images. */
#define RING_MAX (1ULL << 32)

uint64_t packet_ring_size(const PacketRing *r)
{
	return (uint64_t)r->block_size * r->block_nr;
}

uint64_t packet_ring_shift(const PacketRing *r)
{
	return (uint64_t)r->head * r->block_size;
}

static uint32_t frames_a_block(const PacketRing *r)
{
	return r->block_size / r->frame_size;
}

/* Offset of slot @i of the old ring in the ring as it is now (turned by head blocks). */
static uint64_t slot_offset(const PacketRing *r, uint32_t version, uint32_t i, bool turned)
{
	uint64_t block = version == TPACKET_V3 ? i : i / frames_a_block(r);
	uint64_t in_block =
		version == TPACKET_V3 ? 0 : (uint64_t)(i % frames_a_block(r)) * r->frame_size;

	if (turned)
		block = (block + r->block_nr - r->head) % r->block_nr;
	return block * r->block_size + in_block;
}

static uint32_t slot_count(const PacketRing *r, uint32_t version)
{
	return version == TPACKET_V3 ? r->block_nr : r->frame_nr;
}

/* A V1/V2 frame's status and time stamp, as one number (sec, then usec or nsec). */
static uint32_t frame_status(const void *f, uint32_t version, uint64_t *stamp)
{
	if (version == TPACKET_V1) {
		const struct tpacket_hdr *h = f;

		*stamp = (uint64_t)h->tp_sec << 32 | h->tp_usec;
		return h->tp_status;
	}
	const struct tpacket2_hdr *h = f;

	*stamp = (uint64_t)h->tp_sec << 32 | h->tp_nsec;
	return h->tp_status;
}

/*
 * The kernel's place (see the top), and which slots are the process's:
 * marked in @user, which has a byte a slot.
 */
static uint32_t find_head(const uint8_t *ring, const PacketRing *r, uint32_t version, uint8_t *user)
{
	uint32_t n = slot_count(r, version), best = 0;
	uint64_t top = 0;
	bool any = false;

	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *s = ring + slot_offset(r, version, i, false);
		uint64_t key;
		uint32_t status;

		if (version == TPACKET_V3) {
			const struct tpacket_block_desc *b = (const void *)s;

			status = b->hdr.bh1.block_status;
			key = b->hdr.bh1.seq_num;
		} else {
			status = frame_status(s, version, &key);
		}
		user[i] = status & TP_STATUS_USER;
		if (key && (!any || key >= top)) {
			top = key;
			best = i;
			any = true;
		}
	}
	/*
	 * V3: the block it opened last, unless it was handed over already
	 * (the process lags, the ring is full): then the next it will open.
	 */
	if (version == TPACKET_V3)
		return user[best] ? (best + 1) % n : best;
	/* V1/V2: the frame after the newest one, and of it its block. */
	return any ? (best + 1) % n / frames_a_block(r) : 0;
}

/* The bytes of slot @i worth keeping: a V3 block up to its end of data. */
static uint32_t slot_len(const uint8_t *s, const PacketRing *r, uint32_t version)
{
	if (version == TPACKET_V3) {
		uint32_t len = ((const struct tpacket_block_desc *)s)->hdr.bh1.blk_len;

		return len >= sizeof(struct tpacket_block_desc) && len <= r->block_size
			       ? len
			       : r->block_size;
	}
	return r->frame_size;
}

/* In the slot map: a V3 block the kernel was filling, saved closed (take_open_block()). */
#define SLOT_OPEN 2

/*
 * V3: the block the kernel was filling holds packets it had not handed over
 * yet (it does when the block is full or after retire_tmo ms; libpcap asks
 * for 1 s). They are saved as a block handed over, and the new ring starts
 * at the next block - if that one is free: in a full ring they are dropped.
 */
static void take_open_block(const uint8_t *ring, PacketRing *r, uint8_t *user, const char *who)
{
	const struct tpacket_block_desc *b = (const void *)(ring + packet_ring_shift(r));
	uint32_t next = (r->head + 1) % r->block_nr;

	if (user[r->head] || !b->hdr.bh1.num_pkts)
		return;
	if (user[next] || next == r->head) {
		pr_warn("%s: its receive ring is full: the %u packets the kernel had not handed "
			"over yet are dropped",
			who, b->hdr.bh1.num_pkts);
		return;
	}
	user[r->head] = SLOT_OPEN;
	r->head = next;
}

/*
 * Close a copy of an open V3 block of @len bytes as the kernel closes one:
 * the last packet ends the chain and stamps the block, which is handed
 * over. The kernel counts a packet in before it copies it and marks it
 * TP_STATUS_USER once written: one still being written (another CPU's)
 * ends the block before it. -1 if no packet is whole, or they do not chain
 * within it.
 */
static int close_block(uint8_t *blk, uint32_t len)
{
	struct tpacket_block_desc *b = (void *)blk;
	struct tpacket3_hdr *p, *last = NULL;
	uint64_t off = b->hdr.bh1.offset_to_first_pkt;
	uint32_t k;

	for (k = 0; k < b->hdr.bh1.num_pkts; k++) {
		if (off < sizeof(*b) || off + sizeof(*p) > len)
			return -1;
		p = (void *)(blk + off);
		if (!(p->tp_status & TP_STATUS_USER))
			break;
		last = p;
		off += p->tp_next_offset;
	}
	if (!last)
		return -1;
	b->hdr.bh1.num_pkts = k;
	last->tp_next_offset = 0;
	b->hdr.bh1.ts_last_pkt.ts_sec = last->tp_sec;
	b->hdr.bh1.ts_last_pkt.ts_nsec = last->tp_nsec;
	b->hdr.bh1.block_status = TP_STATUS_USER;
	return 0;
}

static int save_slots(const uint8_t *ring, PacketRing *r, uint32_t version, const uint8_t *user,
		      const char *who)
{
	uint32_t n = slot_count(r, version), k = 0;

	for (uint32_t i = 0; i < n; i++)
		k += !!user[i]; /* one too many for a full V3 ring */
	if (!k)
		return 0;
	r->filled = calloc(k, sizeof(*r->filled));
	if (!r->filled)
		goto oom;
	for (uint32_t j = 0; j < n; j++) {
		/* In ring order from the kernel's place: the order the process reads them. */
		uint32_t i =
			(j + (version == TPACKET_V3 ? r->head : r->head * frames_a_block(r))) % n;
		const uint8_t *s = ring + slot_offset(r, version, i, false);
		PacketRingSlot *ps;

		if (!user[i])
			continue;
		/*
		 * A V3 ring full to the kernel's place: the new ring's first
		 * block is the kernel's from the start, so the oldest unread
		 * packets go, as when it dropped the newest.
		 */
		if (version == TPACKET_V3 && i == r->head) {
			pr_warn("%s: its receive ring was full; the packets of its oldest unread "
				"block are dropped",
				who);
			continue;
		}
		ps = malloc(sizeof(*ps));
		if (!ps)
			goto oom;
		packet_ring_slot__init(ps);
		r->filled[r->n_filled++] = ps;
		ps->index = i;
		ps->data.len = slot_len(s, r, version);
		ps->data.data = malloc(ps->data.len);
		if (!ps->data.data)
			goto oom;
		memcpy(ps->data.data, s, ps->data.len);
		if (user[i] == SLOT_OPEN && close_block(ps->data.data, ps->data.len)) {
			pr_warn("%s: the packets the kernel was writing into its receive ring do "
				"not chain; dropped",
				who);
			r->n_filled--;
			packet_ring_slot__free_unpacked(ps, NULL);
		}
	}
	return 0;
oom:
	pr_err("%s: out of memory for its ring's unread packets", who);
	return -1;
}

int packet_ring_dump(int sk, const struct packet_ring_cfg *cfg, PacketSkEntry *pe, const char *who)
{
	uint32_t version = pe->version;
	PacketRing *r;
	uint8_t *ring, *user;
	uint64_t size;
	int ret = -1;

	r = malloc(sizeof(*r));
	if (!r) {
		pr_err("%s: out of memory", who);
		return -1;
	}
	packet_ring__init(r);
	pe->rx_ring = r;
	r->block_size = cfg->block_size;
	r->block_nr = cfg->block_nr;
	r->frame_size = cfg->frame_size;
	r->frame_nr = cfg->frame_nr;
	if (version == TPACKET_V3) {
		r->has_retire_tmo = r->has_sizeof_priv = r->has_features = true;
		r->retire_tmo = cfg->retire_tmo;
		r->sizeof_priv = cfg->sizeof_priv;
		r->features = cfg->features;
	}
	if (packet_ring_check(pe, who))
		return -1;
	size = packet_ring_size(r);
	ring = mmap(NULL, size, PROT_READ, MAP_SHARED, sk, 0);
	if (ring == MAP_FAILED) {
		pr_perror("%s: cannot map its receive ring (%llu bytes)", who,
			  (unsigned long long)size);
		return -1;
	}
	user = calloc(slot_count(r, version), 1);
	if (user) {
		r->head = find_head(ring, r, version, user);
		if (version == TPACKET_V3)
			take_open_block(ring, r, user, who);
		ret = save_slots(ring, r, version, user, who);
	} else {
		pr_err("%s: out of memory", who);
	}
	free(user);
	munmap(ring, size);
	return ret;
}

int packet_ring_check(const PacketSkEntry *pe, const char *who)
{
	const PacketRing *r = pe->rx_ring;
	uint32_t version = pe->has_version ? pe->version : TPACKET_V1;
	uint32_t n;

	if (!r)
		return 0;
	if (!r->block_size || r->block_size % PAGE_SIZE || !r->block_nr ||
	    packet_ring_size(r) > RING_MAX || r->frame_size < TPACKET_ALIGNMENT ||
	    r->frame_size % TPACKET_ALIGNMENT || r->frame_size > r->block_size ||
	    r->head >= r->block_nr ||
	    (version != TPACKET_V3 && r->frame_nr != frames_a_block(r) * r->block_nr)) {
		pr_err("%s: receive ring of %u blocks of %u bytes, %u frames of %u, at block %u: "
		       "out of range",
		       who, r->block_nr, r->block_size, r->frame_nr, r->frame_size, r->head);
		return -1;
	}
	n = slot_count(r, version);
	for (size_t i = 0; i < r->n_filled; i++) {
		const PacketRingSlot *s = r->filled[i];
		uint32_t max = version == TPACKET_V3 ? r->block_size : r->frame_size;

		/* V3: the kernel's own block is never the process's. */
		if (s->index >= n || s->data.len > max ||
		    (version == TPACKET_V3 && s->index == r->head)) {
			pr_err("%s: receive ring slot %u of %zu bytes: out of range", who, s->index,
			       s->data.len);
			return -1;
		}
	}
	return 0;
}

int packet_ring_restore(int sk, const PacketSkEntry *pe, const char *who)
{
	const PacketRing *r = pe->rx_ring;
	uint32_t version = pe->has_version ? pe->version : TPACKET_V1;
	struct tpacket_req3 req = {
		.tp_block_size = r->block_size,
		.tp_block_nr = r->block_nr,
		.tp_frame_size = r->frame_size,
		.tp_frame_nr = r->frame_nr,
		.tp_retire_blk_tov = r->retire_tmo,
		.tp_sizeof_priv = r->sizeof_priv,
		.tp_feature_req_word = r->features,
	};
	uint64_t size = packet_ring_size(r);
	uint8_t *ring;

	if (setsockopt(sk, SOL_PACKET, PACKET_RX_RING, &req,
		       version == TPACKET_V3 ? sizeof(req) : sizeof(struct tpacket_req))) {
		pr_perror("%s: cannot set its receive ring of %u blocks of %u bytes", who,
			  r->block_nr, r->block_size);
		return -1;
	}
	if (!r->n_filled)
		return 0;
	ring = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, sk, 0);
	if (ring == MAP_FAILED) {
		pr_perror("%s: cannot map its receive ring", who);
		return -1;
	}
	for (size_t i = 0; i < r->n_filled; i++) {
		const PacketRingSlot *s = r->filled[i];

		uint8_t *dst = ring + slot_offset(r, version, s->index, true);

		memcpy(dst, s->data.data, s->data.len);
		/*
		 * Older than any block the new ring opens (from 1): the next
		 * dump finds the kernel's place by the highest number.
		 */
		if (version == TPACKET_V3)
			((struct tpacket_block_desc *)dst)->hdr.bh1.seq_num = 0;
	}
	munmap(ring, size);
	return 0;
}
