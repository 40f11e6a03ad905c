/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A packet socket's receive ring (PACKET_RX_RING, TPACKET_V1 to V3): its
 * settings, where the kernel stood in it, and the frames the process had
 * not read yet (packet-ring.c).
 */
#ifndef SNAP_FILES_PACKET_RING_H
#define SNAP_FILES_PACKET_RING_H

#include <stdint.h>

#include "sk-inet.pb-c.h"
#include "net/inet-diag.h"

/* Save socket @sk's ring, set up as @cfg, into @pe (its version set). -1 logged. */
int packet_ring_dump(int sk, const struct packet_ring_cfg *cfg, PacketSkEntry *pe, const char *who);
/* Whether @pe's ring can be set up: 0, or -1 logged. */
int packet_ring_check(const PacketSkEntry *pe, const char *who);
/* Set @pe's ring on @sk (version and reserve set) and put back its unread frames. */
int packet_ring_restore(int sk, const PacketSkEntry *pe, const char *who);
/* The bytes the ring maps. */
uint64_t packet_ring_size(const PacketRing *r);
/*
 * How far restore turned the ring: what was at offset o of the old one is at
 * (o - shift) mod size in the new one.
 */
uint64_t packet_ring_shift(const PacketRing *r);

#endif
