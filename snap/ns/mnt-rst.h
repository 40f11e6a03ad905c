/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The inside of the mount tree's restore, shared by mnt-restore.c (load,
 * the mounts, pivot_root) and mnt-propagate.c (flags and propagation, once
 * every mount is in place).
 */
#ifndef SNAP_NS_MNT_RST_H
#define SNAP_NS_MNT_RST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mnt.pb-c.h"

struct mnt_rst {
	uint32_t ns_id;
	MntEntry **e; /* mnt-ID.img, in its order: e[0] is the root */
	size_t nr;
	size_t *parent;	       /* index of each entry's parent (the root: 0) */
	size_t *bind_of;       /* MNT_BIND: index of its source */
	const char **ext_path; /* MNT_EXTERNAL: the host path, from --external */
	int *fd;	       /* while restoring: each mount, attached */
	int *master_fd;	       /* a host mount to take a master from, or -1 */
};

/* The widest mount of peer group @group of the tree (shortest root), or -1. */
ssize_t mnt_rst_leader(const struct mnt_rst *r, uint32_t group);
/*
 * In snap: r->master_fd for the mounts whose master group is outside the
 * tree and that are made from a host mount (@root for the root, an
 * --external path). -1 only when out of memory, logged.
 */
int mnt_ext_masters_load(struct mnt_rst *r, const char *root);

/* Per-mount flags (MOUNT_ATTR_*) and tmpfs read-only super blocks on every mount. Logged. */
int mnt_set_attrs(struct mnt_rst *r);
/* Peer groups, slaves and unbindable mounts as mnt-ID.img says. Logged. */
int mnt_set_propagation(struct mnt_rst *r);

#endif
