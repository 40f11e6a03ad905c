// SPDX-License-Identifier: GPL-2.0
/*
 * Inet sockets (TCP, UDP, UDP-lite, raw, ICMP "ping"; IPv4 and IPv6): the
 * fd kind. What it does, and where (files-inet.h lists the files):
 *
 * Dump. collect takes the multicast groups joined on each interface. Each
 * socket fd then finds what sock_diag says of it (shutdown state, MD5 keys,
 * ULP; a listener's connections waiting in its queue), and saves its
 * family, type, protocol, state, addresses, options, groups and file
 * flags; a UDP socket its queued datagrams (peeked, with
 * their senders); a TCP listener its backlog; an established connection,
 * with --tcp-established, what TCP_REPAIR reads (inet-queues.img holds its
 * queues), or with --tcp-close only that it was connected. A dump that
 * kills the tree holds each connection in repair mode from write() on, so
 * that the kill closes it without a word to the peer, and names it in
 * dump_ctx.lock_conns for the network lock.
 *
 * Restore. Every port the image binds is checked free before anything is
 * made. Sockets are opened in snap, before any process, in snap's network
 * namespace: bound, connected, listening as they were; UDP datagrams are
 * delivered again from their senders' addresses; a connection is made in
 * repair mode (no packet leaves) with its sequence numbers, options, queues
 * and windows, and stays so until the whole tree is restored: then, the
 * network lock gone, tree_restored() takes them out of repair mode, sends
 * what had not been sent and feeds in the FINs (files-inet-fill.c).
 */
#include <stdio.h>

#include "files/files-inet.h"
#include "log.h"

static bool inet_match(const struct fd_desc *d)
{
	return d->domain == AF_INET || d->domain == AF_INET6;
}

static int inet_collect(struct dump_ctx *ctx, void *st)
{
	struct inet_dump_state *is = st;

	is->ctx = ctx;
	if (inet_mc_cands_read(&is->mc) || inet_lock_collect(ctx, is))
		return -1;
	pr_debug("inet: %zu multicast groups joined; %zu connections of the tree to lock",
		 is->mc.nr, ctx->nr_lock_conns);
	return 0;
}

/* Named, but its queues and the network lock name it by its inode: refused. */
static int inet_inherit_key(const FileEntry *fe, char *buf, size_t len)
{
	if (!fe->inet_sk)
		return -1;
	snprintf(buf, len, "socket:[%u]", fe->inet_sk->ino);
	return 1;
}

const struct fd_ops inet_fd_ops = {
	.type = FD_TYPE__FD_INET,
	.name = "inet socket",
	.fmts = FD_FMT(S_IFSOCK),
	.match = inet_match,
	.dump_state = sizeof(struct inet_dump_state),
	.collect = inet_collect,
	.dump = inet_dump,
	.write = inet_write,
	.unfreeze = inet_unfreeze,
	.dump_free = inet_dump_free,
	.restore_state = sizeof(struct inet_restore_state),
	.load = inet_load,
	.prepare = inet_prepare,
	.open = inet_open,
	.inherit_key = inet_inherit_key,
	.all_opened = inet_all_opened,
	.tree_restored = inet_tree_restored,
	.restore_free = inet_restore_free,
};
