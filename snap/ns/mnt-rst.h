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

#include "mnt.pb-c.h"

struct mnt_rst {
	uint32_t ns_id;
	MntEntry **e; /* mnt-ID.img, in its order: e[0] is the root */
	size_t nr;
	size_t *parent;	       /* index of each entry's parent (the root: 0) */
	size_t *bind_of;       /* MNT_BIND: index of its source */
	const char **ext_path; /* MNT_EXTERNAL: the host path, from --external */
	int *fd;	       /* while restoring: each mount, attached */
};

/* Per-mount flags (MOUNT_ATTR_*) and tmpfs read-only super blocks on every mount. Logged. */
int mnt_set_attrs(struct mnt_rst *r);
/* Peer groups, slaves and unbindable mounts as mnt-ID.img says. Logged. */
int mnt_set_propagation(struct mnt_rst *r);

#endif
