/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Dump side: which fds share one open file description (dup, fork, SCM_RIGHTS).
 * Fds are grouped by inode, and within an inode kept in the order kcmp(2)
 * KCMP_FILE gives open file descriptions, so a new fd costs O(log n) kcmps
 * however many fds share its inode (every eventfd and epoll does: one anon
 * inode).
 */
#ifndef SNAP_FILES_DEDUP_H
#define SNAP_FILES_DEDUP_H

#include "files/files-kind.h"

struct file_dedup;

/* Where file_dedup_find() would put a new open file description. */
struct dedup_pos {
	size_t group, at;
};

struct file_dedup *file_dedup_new(void);
void file_dedup_free(struct file_dedup *dd);
/*
 * The id of the open file description behind @d if an earlier fd had it,
 * else 0 and *@pos for file_dedup_add(). 0 or -1 logged.
 */
int file_dedup_find(struct file_dedup *dd, const struct fd_desc *d, uint32_t *id,
		    struct dedup_pos *pos);
/* Record @d as file @id, where file_dedup_find() said, nothing added since. */
int file_dedup_add(struct file_dedup *dd, const struct fd_desc *d, uint32_t id,
		   const struct dedup_pos *pos);

#endif
