/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Ghosts: files deleted while the tree still uses them, through an fd
 * (files-reg.c) or a mapping (mem-dump.c). No path leads to such a file, so
 * its contents are saved, once per inode whoever uses it, into ghost-ID.img:
 * size, owner, mode and only the data extents (SEEK_DATA/SEEK_HOLE), so that
 * a large sparse file costs what it holds and its holes stay holes. The
 * limit (--ghost-limit, 64 MiB by default) counts that data.
 *
 * Restore recreates each ghost before any process exists, next to where it
 * was (under its own name if that is free, so links read "PATH (deleted)"),
 * fills it, gives it its owner and mode and unlinks it at once; snap keeps a
 * read-only fd of it (a writer would keep it from being executed, or being
 * the exe link). Every fd of the file is a reopen of that fd (/proc/self/fd),
 * every mapping is made from one: all are one unlinked inode again. The fds
 * go to the restored processes with the shared memory objects'
 * (shmem_move_fds()).
 *
 * It lives here rather than in files/ because mappings need it and files/
 * already calls into mem/ (memfds are shared memory objects).
 */
#ifndef SNAP_GHOST_H
#define SNAP_GHOST_H

#include "ctx.h"

/*
 * Ghost contents live in the image, one record each, and in snap's memory
 * while restoring: the default limit, and the most snap saves whatever
 * --ghost-limit says (a record is at most 256 MiB, image.c; the rest is
 * room for the extents). A larger limit is taken: only a file over it fails.
 */
#define GHOST_LIMIT_DEFAULT (64ULL << 20)
#define GHOST_LIMIT_MAX	    (192ULL << 20)

/*
 * Dump: @fd (read-only, snap's own open file description) is a deleted file
 * met as @what ("pid 42 fd 3 (/tmp/x)"): its ghost id in *@id, its contents
 * saved into ghost-ID.img the first time the tree shows that inode. A file
 * that still has links elsewhere is refused. 0 or -1 logged.
 */
int ghost_note(struct dump_ctx *ctx, int fd, const char *what, uint32_t *id);

/*
 * Restore, at load: ghost @id is used by @what, a file or a mapping of the
 * deleted file @path: ghost-ID.img is loaded and checked once; its size in
 * *@size (may be NULL). 0 or -1 logged.
 */
int ghost_use(struct restore_ctx *ctx, uint32_t id, const char *path, const char *what,
	      uint64_t *size);
/* Recreate every ghost used (shmem_create(), or in the root). 0 or -1 logged. */
int ghost_create_all(struct restore_ctx *ctx);
/* snap's read-only fd of ghost @id, recreated and unlinked, to reopen; -1 if there is none. */
int ghost_fd(const struct restore_ctx *ctx, uint32_t id);
/* In the restored child: move the ghost fds to @base and up (shmem_move_fds()). */
int ghost_move_fds(struct restore_ctx *ctx, int base);
void ghost_restore_free(struct restore_ctx *ctx);

#endif
