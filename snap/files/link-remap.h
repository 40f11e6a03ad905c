/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --link-remap (CRIU's): a file open under a name since unlinked, but with
 * other hard links, is reachable by no path snap knows, and its contents
 * cannot be saved as a ghost (ghost.h): the process shares it with whoever
 * opens the other links. With the option, dump links it back, next to its
 * old name, as DIR/.snap-link-remap.DEV.INO (in the task's mount namespace),
 * and files.img names that link. Restore opens it there - under the old
 * name again for a moment when that is free, so that the fd reads
 * "PATH (deleted)" as before - and removes the link once the last open of
 * it is done. The file system holds the link from the dump until then; a
 * dump that fails removes the links it made.
 */
#ifndef SNAP_LINK_REMAP_H
#define SNAP_LINK_REMAP_H

#include <stddef.h>
#include <sys/types.h>

#include "ctx.h"

/*
 * Link the file of @fd (snap's, on @pid's file @path, without " (deleted)")
 * back next to @path; the link's path, as @pid sees it, into @out. Once per
 * inode: a second fd of the same file finds the link made. 0 or -1 logged
 * (naming @what).
 */
int link_remap_make(struct dump_ctx *ctx, pid_t pid, int fd, const char *path, char *out,
		    size_t size, const char *what);
/* The dump failed: remove the links it made. */
void link_remap_undo(struct dump_ctx *ctx);
void link_remap_free(struct dump_ctx *ctx);

#endif
