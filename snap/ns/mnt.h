/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Mount namespaces: the mount tree of the dumped tree's mount namespace,
 * saved from /proc/PID/mountinfo (mnt-ID.img, tmpfs-ID.img) and rebuilt by
 * the restored root process on --root, then pivot_root'ed into. The ns kind
 * module of NS_KIND__NS_MNT (ns-kind.h) is these four functions.
 *
 *   mnt-parse.c        mountinfo into struct mnt_info
 *   mnt-dump.c         classify each mount, order them, write mnt-ID.img
 *   mnt-tmpfs-dump.c   a tmpfs's files into tmpfs-ID.img
 *   mnt-restore.c      load and check mnt-ID.img; rebuild the tree; pivot
 *   mnt-propagate.c    flags, peer groups, slaves, once every mount is in
 *   mnt-ext-master.c   masters outside the tree, from the host mounts
 *   mnt-tmpfs-restore.c  tmpfs-ID.img back into a new tmpfs
 *   mnt-opts.c         --external mnt[KEY]:VAL, --ext-mount-map KEY:VAL
 */
#ifndef SNAP_NS_MNT_H
#define SNAP_NS_MNT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ctx.h"

/* One line of /proc/PID/mountinfo (mnt-parse.c). */
struct mnt_info {
	uint32_t id, parent;
	unsigned int major, minor;
	char *root, *mountpoint, *fstype, *source, *sb_opts; /* unescaped */
	uint32_t attrs;					     /* MOUNT_ATTR_* */
	bool sb_ro;
	uint32_t shared, master;
	bool unbindable;
};

/* Every mount of @pid's mountinfo, in its order. -1 logged naming the line. */
int mnt_parse(pid_t pid, struct mnt_info **out, size_t *nr);
void mnt_info_free(struct mnt_info *m, size_t nr);

/*
 * The ns kind module. Dump, tree frozen: mnt-@id.img (and tmpfs-*.img) of
 * the mount namespace @pid is in; a mount that cannot be saved is refused
 * by name, saying which --external would take it.
 */
int mnt_ns_dump(struct dump_ctx *ctx, pid_t pid, uint32_t id);
/* Restore, in snap: load and check mnt-@id.img, the --external keys it needs. */
int mnt_ns_load(struct restore_ctx *ctx, uint32_t id, void **state);
/*
 * Restore, in the root process, in its new mount namespace (and its other
 * new ones): the tree rebuilt on --root (or a bind of its own /), then
 * pivot_root into it. Paths are then the ones the images hold.
 */
int mnt_ns_restore(struct restore_ctx *ctx, void *state);
void mnt_ns_free(void *state);

/* A tmpfs mount to save: where @pid sees it, its mount id. */
struct mnt_tmpfs {
	const char *mountpoint;
	uint32_t id;
};

/* tmpfs-ID.img for each of the @nr tmpfs mounts of @pid's namespace (mnt-tmpfs-dump.c). */
int mnt_tmpfs_dump(struct dump_ctx *ctx, pid_t pid, const struct mnt_tmpfs *t, size_t nr);
/* tmpfs-@mnt_id.img into the empty tmpfs mount @mntfd (mnt-tmpfs-restore.c). */
int mnt_tmpfs_restore(int dirfd, int mntfd, uint32_t mnt_id, const char *mountpoint);

/*
 * --external mnt[KEY]:VAL, --ext-mount-map KEY:VAL: appended to
 * opts->ext_mounts. At dump KEY is a mountpoint inside and VAL the key it is
 * saved under; at restore KEY is that key and VAL the host path bound
 * there. @arg is what follows "mnt" ("[KEY]:VAL") or the map's "KEY:VAL";
 * it is cut in place (argv strings are writable), nothing is allocated but
 * the array. -1 with the message printed.
 */
int mnt_opt_external(struct snap_opts *o, char *arg);
int mnt_opt_ext_map(struct snap_opts *o, char *arg);
/* The VAL given for KEY, or NULL. */
const char *mnt_ext_lookup(const struct snap_opts *o, const char *key);

#endif
