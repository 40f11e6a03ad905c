/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the notification kinds (inotify, fanotify) and the file locks read
 * from /proc to dump: a whole fdinfo text, the fields of its lines, the mount
 * table, and the object of a notification mark turned into a path that
 * restore can mark again. The kernel names a marked inode only by device,
 * inode number and file handle: the handle is opened (open_by_handle_at,
 * through a mount of that device) and the path read back from the open fd.
 */
#ifndef SNAP_FILES_FHANDLE_H
#define SNAP_FILES_FHANDLE_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* A marked inode as an fdinfo line shows it. */
struct fsn_inode {
	uint64_t ino;
	dev_t dev;   /* the line's sdev, in userspace encoding */
	bool has_fh; /* the line has a file handle */
	unsigned int fh_type;
	unsigned int fh_len;
	unsigned char fh[MAX_HANDLE_SZ];
};

/* The whole of /proc/@pid/fdinfo/@fd, malloc'd and NUL-terminated, or NULL logged. */
char *fdinfo_read(pid_t pid, int fd);
/*
 * Split @text into lines in place: each call returns the next line (its
 * newline replaced) and moves *@text on, NULL at the end.
 */
char *fdinfo_next_line(char **text);
/* The hex number of field "@key:" of a mark line (keys as the kernel spells them). */
bool fdinfo_hex(const char *line, const char *key, unsigned long long *v);
/* ino, sdev and the file handle of an inode mark line; false if one is missing. */
bool fdinfo_inode(const char *line, struct fsn_inode *in);
/* The kernel's dev_t encoding (fdinfo sdev) in userspace's. */
dev_t fsn_dev(unsigned long long kdev);

/*
 * A mount table: /proc/@pid/mountinfo, @pid 0 snap's own. Inode and
 * filesystem marks are found through snap's; a mount mark on a mount of the
 * tree's own mount namespace, through the tree's.
 */
struct mount_table;
/* NULL logged. */
struct mount_table *mount_table_read(pid_t pid);
void mount_table_free(struct mount_table *mt);

/*
 * The path of inode @in, which restore can open or mark again: through its
 * file handle, checked to reach the same inode. *@symlink says it is a
 * symlink. A deleted inode, one without a file handle, or one no path of
 * snap's reaches is refused, logged as "@what: ...". 0, or -1 logged.
 */
int fsn_inode_path(const struct mount_table *mt, const struct fsn_inode *in, const char *what,
		   char **path, bool *symlink);
/* The mount point of mount @mnt_id, checked to be that mount. 0, or -1 logged. */
int fsn_mount_path(const struct mount_table *mt, int mnt_id, const char *what, char **path);
/* Does @mt hold mount @mnt_id? */
bool fsn_mount_known(const struct mount_table *mt, int mnt_id);
/*
 * The same in @mt, @pid's mount table (mount_table_read(@pid)): the mount
 * point as @pid sees it, checked through /proc/@pid/root. 0, or -1 logged.
 */
int fsn_tree_mount_path(const struct mount_table *mt, pid_t pid, int mnt_id, const char *what,
			char **path);
/* The mount point of a mount of the filesystem on @dev. 0, or -1 logged. */
int fsn_sb_path(const struct mount_table *mt, dev_t dev, const char *what, char **path);

#endif
