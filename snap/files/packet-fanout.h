/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Packet socket fanout groups (PACKET_FANOUT): a group's members share the
 * packets of one interface and protocol between them (packet-fanout.c).
 */
#ifndef SNAP_FILES_PACKET_FANOUT_H
#define SNAP_FILES_PACKET_FANOUT_H

#include <stddef.h>
#include <stdint.h>

#include "sk-inet.pb-c.h"
#include "net/inet-diag.h"

/* The groups the dumped sockets are in, and how many of them each has. */
struct fanout_groups {
	struct fanout_group {
		uint32_t id;
		uint32_t ours;
		char who[96]; /* its first member, for messages */
	} * g;
	size_t nr;
};

/* Save the group of socket @sk (snap's fd) into @pe and count it in @gs. -1 logged. */
int packet_fanout_dump(struct fanout_groups *gs, int sk, PacketSkEntry *pe, const char *who);
/* Once every fd is dumped: every member of each group is one of them. -1 logged. */
int packet_fanout_whole(const struct fanout_groups *gs, const struct packet_diag_table *t);
void packet_fanout_free(struct fanout_groups *gs);
/* Whether @pe's group can be joined: 0, or -1 logged. */
int packet_fanout_check(const PacketSkEntry *pe, const char *who);
/* Join @pe's group on @sk, bound. -1 logged. */
int packet_fanout_join(int sk, const PacketSkEntry *pe, const char *who);

#endif
