// SPDX-License-Identifier: GPL-2.0
/*
 * Unix sockets (stream, dgram, seqpacket): the fd kind. What it does, and
 * where (files-unix.h lists the files):
 *
 * Dump. collect takes one sock_diag dump of every unix socket (peers,
 * names, the connections waiting in listeners' queues, queue lengths), and
 * rebuilds the waiting connections that hold data so that it can be read.
 * Each socket fd then saves its type, state, name, peer, backlog, shutdown
 * state, options and file flags, and peeks at its queue: bytes, dgram
 * sender names, SCM_RIGHTS fds (dumped as files in flight) and, with
 * SO_PASSCRED, SCM_CREDENTIALS. write() refuses peers outside the tree by
 * name (unless --ext-unix-sk) and writes unix-queues.img.
 *
 * Restore. Sockets are opened in snap, before any process (in the tree's
 * root, once it has pivoted into the restored mounts, when the tree has a
 * mount namespace of its own: names are bound where the tree sees them),
 * in an order that rebuilds each connection as it was: a socketpair for
 * two connected sockets, connect() + accept() through the restored
 * listener for an accept()ed one (it shares the listener's name),
 * connect() in queue order for the connections not yet accepted,
 * connect() by name for an external peer. Once every file is open,
 * all_opened() (root_opened() in the tree's root) refills the queues from
 * the peer side (dgrams from a socket bound to the sender's name), then
 * connects dgram sockets, shuts down, and sets options and file flags.
 */
#include <stdio.h>

#include "files/files-unix.h"

static bool unix_match(const struct fd_desc *d)
{
	return d->domain == AF_UNIX;
}

/* Named, but a socket's peers and queued files are others of the image: refused. */
static int unix_inherit_key(const FileEntry *fe, char *buf, size_t len)
{
	if (!fe->unix_sk)
		return -1;
	snprintf(buf, len, "socket:[%u]", fe->unix_sk->ino);
	return 1;
}

/*
 * A name is a path of the mount namespace and root of the process that
 * binds it: in a tree with a mount namespace of its own, only its root sees
 * the tree's paths (a container's /dev/log), so every unix socket is made
 * there, connections and queues with them (they reach each other by name).
 */
static enum fd_where unix_where(const struct restore_ctx *ctx, const FileEntry *fe)
{
	(void)fe;
	return files_paths_in_task(ctx) ? FD_IN_ROOT : FD_IN_SNAP;
}

const struct fd_ops unix_fd_ops = {
	.type = FD_TYPE__FD_UNIX,
	.name = "unix socket",
	.fmts = FD_FMT(S_IFSOCK),
	.match = unix_match,
	.dump_state = sizeof(struct unix_dump_state),
	.collect = unix_collect,
	.dump = unix_dump,
	.write = unix_write,
	.dump_free = unix_dump_free,
	.restore_state = sizeof(struct unix_restore_state),
	.load = unix_load,
	.open = unix_open,
	.inherit_key = unix_inherit_key,
	.where = unix_where,
	.all_opened = unix_all_opened,
	.root_opened = unix_root_opened,
	.handed_over = unix_close_stand_ins,
	.restore_free = unix_restore_free,
};
