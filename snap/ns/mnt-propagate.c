// SPDX-License-Identifier: GPL-2.0
/*
 * Once every mount is in place: per-mount flags, read-only tmpfs super
 * blocks, then propagation. Peer groups are rebuilt with
 * move_mount(MOVE_MOUNT_SET_GROUP), which makes a private mount a peer of
 * another (and a slave of that one's master): each group's widest member
 * is made shared first (the others' roots must lie inside its root), the
 * rest join it; a slave of a group of the tree joins that group and then
 * turns slave. A master outside the tree is taken from the host mount the
 * restored one was made from (mnt-ext-master.c), else the mount comes back
 * without one. Done last, so that nothing mounted while the tree
 * was built propagated anywhere.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "log.h"
#include "ns/mnt-rst.h"

#define ATTR_ALL                                                                                   \
	(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC |            \
	 MOUNT_ATTR__ATIME | MOUNT_ATTR_NODIRATIME | MOUNT_ATTR_NOSYMFOLLOW)

static int sb_ro(const MntEntry *e, int fd)
{
	int fsfd = fspick(fd, "", FSPICK_EMPTY_PATH | FSPICK_CLOEXEC);
	int ret = fsfd < 0 || fsconfig(fsfd, FSCONFIG_SET_FLAG, "ro", NULL, 0) ||
		  fsconfig(fsfd, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0);

	if (ret)
		pr_perror("mount %u (%s at %s): cannot make its file system read-only", e->id,
			  e->fstype, e->mountpoint);
	if (fsfd >= 0)
		close(fsfd);
	return ret ? -1 : 0;
}

int mnt_set_attrs(struct mnt_rst *r)
{
	for (size_t i = 0; i < r->nr; i++) {
		const MntEntry *e = r->e[i];
		struct mount_attr a = {.attr_set = e->attrs & ATTR_ALL, .attr_clr = ATTR_ALL};

		if (e->sb_ro && e->tmpfs_data && sb_ro(e, r->fd[i]))
			return -1;
		if (mount_setattr(r->fd[i], "", AT_EMPTY_PATH, &a, sizeof(a))) {
			pr_perror("mount %u (%s at %s): cannot set its flags %#x", e->id, e->fstype,
				  e->mountpoint, e->attrs);
			return -1;
		}
	}
	return 0;
}

static int set_prop(const MntEntry *e, int fd, uint64_t prop, const char *what)
{
	struct mount_attr a = {.propagation = prop};

	if (!mount_setattr(fd, "", AT_EMPTY_PATH, &a, sizeof(a)))
		return 0;
	pr_perror("mount %u (%s at %s): cannot make it %s", e->id, e->fstype, e->mountpoint, what);
	return -1;
}

static int set_group(int from, int to)
{
	return move_mount(from, "", to, "",
			  MOVE_MOUNT_SET_GROUP | MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}

static int join(const struct mnt_rst *r, size_t from, size_t to)
{
	if (!set_group(r->fd[from], r->fd[to]))
		return 0;
	pr_perror("mount %u (%s at %s): cannot join the peer group of mount %u at %s", r->e[to]->id,
		  r->e[to]->fstype, r->e[to]->mountpoint, r->e[from]->id, r->e[from]->mountpoint);
	return -1;
}

/* A slave of the host mount it was made from, as it was a slave of one at dump. */
static int ext_master(const struct mnt_rst *r, size_t i)
{
	const MntEntry *e = r->e[i];

	if (r->master_fd[i] < 0)
		return 0;
	if (set_group(r->master_fd[i], r->fd[i])) {
		pr_perror("mount %u (%s at %s): cannot take a master from the host mount it was "
			  "made from",
			  e->id, e->fstype, e->mountpoint);
		return -1;
	}
	return set_prop(e, r->fd[i], MS_SLAVE, "a slave");
}

ssize_t mnt_rst_leader(const struct mnt_rst *r, uint32_t group)
{
	ssize_t best = -1;

	for (size_t i = 0; group && i < r->nr; i++)
		if (r->e[i]->shared == group &&
		    (best < 0 || strlen(r->e[i]->root) < strlen(r->e[best]->root)))
			best = i;
	return best;
}

/* Entry @i, if what it builds on is done: 1 done now, 0 not yet, -1 logged. */
static int propagate(const struct mnt_rst *r, size_t i, const bool *done)
{
	const MntEntry *e = r->e[i];
	ssize_t peer = mnt_rst_leader(r, e->shared), master = mnt_rst_leader(r, e->master);

	if (peer >= 0 && (size_t)peer != i) {
		if (!done[peer])
			return 0;
		/* A peer: also a slave of the leader's master, if it has one. */
		return join(r, peer, i) ? -1 : 1;
	}
	if (master >= 0) {
		if (!done[master])
			return 0;
		if (join(r, master, i) || set_prop(e, r->fd[i], MS_SLAVE, "a slave"))
			return -1;
	} else if (ext_master(r, i)) {
		return -1;
	}
	if (peer >= 0 && set_prop(e, r->fd[i], MS_SHARED, "shared"))
		return -1;
	if (e->unbindable && set_prop(e, r->fd[i], MS_UNBINDABLE, "unbindable"))
		return -1;
	return 1;
}

int mnt_set_propagation(struct mnt_rst *r)
{
	bool *done = calloc(r->nr, sizeof(*done));
	size_t left = r->nr;
	int ret = -1;

	if (!done) {
		pr_err("out of memory for the propagation of %zu mounts", r->nr);
		return -1;
	}
	while (left) {
		size_t before = left;

		for (size_t i = 0; i < r->nr; i++) {
			int n;

			if (done[i])
				continue;
			n = propagate(r, i, done);
			if (n < 0)
				goto out;
			if (n) {
				done[i] = true;
				left--;
			}
		}
		if (left == before) {
			pr_err("image mnt-%u.img: its peer groups and masters form a cycle",
			       r->ns_id);
			goto out;
		}
	}
	ret = 0;
out:
	free(done);
	return ret;
}
