// SPDX-License-Identifier: GPL-2.0
/*
 * Packet socket fanout groups (PACKET_FANOUT). A group lives in a network
 * namespace under its 16-bit id; each member joins it with the same type
 * (hash, load balance, CPU, rollover, random, queue mapping), flags, and
 * interface and protocol, and the kernel hands each packet to one member.
 *
 * Dump saves a member's group as getsockopt(PACKET_FANOUT) gives it (id |
 * (type | flags) << 16; sock_diag leaves the flags out). It is saved only when
 * every member is a socket of the dumped tree: a group with members outside
 * would be split by the restore, which the sockets left outside would not
 * see. Groups that run a program to choose the member (FANOUT_CBPF,
 * FANOUT_EBPF) are refused: no interface gives the program back. Restore
 * joins each socket to its group once bound, the first member making it
 * again. PACKET_FANOUT_FLAG_UNIQUEID only asked the kernel for a free id at
 * the first join; restore asks for the id it got.
 *
 * Left: the members join in the order their files are opened, and a group's
 * hash or load balance picks members by that order, so a flow may go to
 * another member after a restore; a group's maximum members (fanout_args)
 * is the kernel's default again.
 */
#include <linux/if_packet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "files/packet-fanout.h"
#include "log.h"

#define FANOUT_TYPE(v) (((v) >> 16) & 0xff)

int packet_fanout_dump(struct fanout_groups *gs, int sk, PacketSkEntry *pe, const char *who)
{
	uint32_t id, type;
	struct fanout_group *g;
	socklen_t len = sizeof(int);
	int v;
	size_t i;

	/* Not sock_diag's, which leaves the flags out. */
	if (getsockopt(sk, SOL_PACKET, PACKET_FANOUT, &v, &len)) {
		pr_perror("%s: cannot read its PACKET_FANOUT", who);
		return -1;
	}
	id = v & 0xffff;
	type = FANOUT_TYPE(v);

	if (type == PACKET_FANOUT_CBPF || type == PACKET_FANOUT_EBPF) {
		pr_err("%s: packet socket in fanout group %u, which a %s program steers: no "
		       "interface reads it back",
		       who, id, type == PACKET_FANOUT_CBPF ? "classic BPF" : "eBPF");
		return -1;
	}
	pe->has_fanout = true;
	pe->fanout = v;
	for (i = 0; i < gs->nr && gs->g[i].id != id; i++)
		;
	if (i == gs->nr) {
		g = realloc(gs->g, (gs->nr + 1) * sizeof(*g));
		if (!g) {
			pr_err("%s: out of memory", who);
			return -1;
		}
		gs->g = g;
		g = &gs->g[gs->nr++];
		g->id = id;
		g->ours = 0;
		snprintf(g->who, sizeof(g->who), "%s", who);
	}
	gs->g[i].ours++;
	return 0;
}

int packet_fanout_whole(const struct fanout_groups *gs, const struct packet_diag_table *t)
{
	for (size_t i = 0; i < gs->nr; i++) {
		const struct fanout_group *g = &gs->g[i];
		uint32_t all = 0;

		for (size_t j = 0; j < t->nr; j++)
			all += t->sk[j].fanout && (t->sk[j].fanout_id & 0xffff) == g->id;
		if (all > g->ours) {
			pr_err("%s: packet socket in fanout group %u (PACKET_FANOUT), which %u "
			       "socket%s outside the dumped tree %s in too",
			       g->who, g->id, all - g->ours, all - g->ours > 1 ? "s" : "",
			       all - g->ours > 1 ? "are" : "is");
			return -1;
		}
	}
	return 0;
}

void packet_fanout_free(struct fanout_groups *gs)
{
	free(gs->g);
	gs->g = NULL;
	gs->nr = 0;
}

int packet_fanout_check(const PacketSkEntry *pe, const char *who)
{
	uint32_t type = FANOUT_TYPE(pe->fanout);

	if (pe->has_fanout && type > PACKET_FANOUT_QM) {
		pr_err("%s: packet socket in fanout group %u of type %u: out of range", who,
		       pe->fanout & 0xffff, type);
		return -1;
	}
	return 0;
}

int packet_fanout_join(int sk, const PacketSkEntry *pe, const char *who)
{
	int v = pe->fanout & ~(PACKET_FANOUT_FLAG_UNIQUEID << 16);

	if (!pe->has_fanout || !setsockopt(sk, SOL_PACKET, PACKET_FANOUT, &v, sizeof(v)))
		return 0;
	pr_perror("%s: cannot join packet fanout group %u of type %u again (another group of that "
		  "id, not the same type or interface?)",
		  who, pe->fanout & 0xffff, FANOUT_TYPE(pe->fanout));
	return -1;
}
