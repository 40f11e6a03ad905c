// SPDX-License-Identifier: GPL-2.0
/*
 * Unix sockets, collect (once per dump, the tree frozen, before any fd is
 * dumped): the tables of files-unix-index.c, then the connections not yet
 * accepted that hold data are taken out and put back
 * (files-unix-pending.c), after which the tables are read again: the
 * sockets that connect are new ones.
 */
#include "files/files-unix.h"

int unix_collect(struct dump_ctx *ctx, void *st)
{
	struct unix_dump_state *us = st;
	bool changed = false;

	if (unix_index_build(ctx, us) || unix_fix_pending(ctx, us, &changed))
		return -1;
	if (!changed)
		return 0;
	unix_index_free(us);
	return unix_index_build(ctx, us);
}
