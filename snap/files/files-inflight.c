// SPDX-License-Identifier: GPL-2.0
/*
 * Files in flight: fds inside messages queued in sockets (SCM_RIGHTS), which
 * no process of the tree may hold any more. A kind that meets one (peeking a
 * unix socket's queue installs a duplicate in snap) lists it here; the table
 * (files-dump.c) then dumps it like any file and hands its id back. The list
 * is apart from the table so that kinds reach it without calling the table,
 * which calls the kinds: reading goes one way.
 *
 * The fds stay open until the table is freed: the dedup names files by
 * (pid, fd), and these are snap's.
 */
#include <stdlib.h>
#include <unistd.h>

#include "files/files-table.h"
#include "log.h"

int files_inflight_add(struct dump_ctx *ctx, int fd, uint32_t *id)
{
	struct file_table *ft = ctx->files;
	struct inflight_file *n;

	if (ft->nr_inflight == ft->cap_inflight) {
		size_t cap = ft->cap_inflight ? ft->cap_inflight * 2 : 16;

		n = realloc(ft->inflight, cap * sizeof(*n));
		if (!n) {
			pr_err("out of memory for the files in flight");
			close(fd);
			return -1;
		}
		ft->inflight = n;
		ft->cap_inflight = cap;
	}
	ft->inflight[ft->nr_inflight++] = (struct inflight_file){ .fd = fd, .id = id };
	*id = 0;
	return 0;
}

void files_inflight_free(struct file_table *ft)
{
	for (size_t i = 0; i < ft->nr_inflight; i++)
		close(ft->inflight[i].fd);
	free(ft->inflight);
	ft->inflight = NULL;
	ft->nr_inflight = ft->cap_inflight = ft->next_inflight = 0;
}
