// SPDX-License-Identifier: GPL-2.0
/*
 * A mount of the tree that was a slave of a peer group outside the tree
 * (runc makes the container's mounts slaves of the host's, so a host mount
 * under the rootfs shows inside) is restored as a slave again when it is
 * made from a host mount that propagates: the root bound from --root, an
 * --external bind. As CRIU does, the master is the one its source has now,
 * not the group number of the dump, which means nothing on another host.
 * Here, in snap's own mount namespace, before the root process makes its
 * copy private: an fd of the source's host mount, for
 * move_mount(MOVE_MOUNT_SET_GROUP) in mnt_set_propagation().
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "ns/mnt-rst.h"
#include "ns/mnt.h"

/* The mount id of @path or of fd @fd (path NULL); 0 if unknown. */
static uint64_t mnt_id_of(int fd, const char *path)
{
	struct statx stx;

	if (statx(fd, path ? path : "", path ? 0 : AT_EMPTY_PATH, STATX_MNT_ID, &stx) ||
	    !(stx.stx_mask & STATX_MNT_ID))
		return 0;
	return stx.stx_mnt_id;
}

/*
 * An O_PATH fd of the root of the host mount @path lies in, when that mount
 * is shared or a slave; -1 when it propagates nothing or cannot be reached
 * (overmounted): the mount then comes back private, as said in the log.
 */
static int source_fd(const char *path, const MntEntry *e)
{
	uint64_t id = mnt_id_of(AT_FDCWD, path);
	struct mnt_info *m = NULL;
	size_t nr = 0;
	int fd = -1;

	if (!id || mnt_parse(getpid(), &m, &nr))
		goto out;
	for (size_t i = 0; i < nr; i++) {
		if (m[i].id != id)
			continue;
		if (!m[i].shared && !m[i].master)
			break;
		fd = open(m[i].mountpoint, O_PATH | O_CLOEXEC);
		if (fd >= 0 && mnt_id_of(fd, NULL) != id) {
			close(fd);
			fd = -1;
		}
		break;
	}
out:
	mnt_info_free(m, nr);
	if (fd < 0)
		pr_info("mount %u at %s: its master group %u is outside the tree and its source "
			"%s propagates nothing: restored without a master",
			e->id, e->mountpoint, e->master, path);
	return fd;
}

int mnt_ext_masters_load(struct mnt_rst *r, const char *root)
{
	r->master_fd = malloc(r->nr * sizeof(*r->master_fd));
	if (!r->master_fd) {
		pr_err("out of memory for mount namespace %u", r->ns_id);
		return -1;
	}
	for (size_t i = 0; i < r->nr; i++) {
		const MntEntry *e = r->e[i];
		const char *src = i ? r->ext_path[i] : root;

		r->master_fd[i] = -1;
		if (e->master && src && mnt_rst_leader(r, e->master) < 0)
			r->master_fd[i] = source_fd(src, e);
	}
	return 0;
}
