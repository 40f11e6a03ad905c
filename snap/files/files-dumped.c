// SPDX-License-Identifier: GPL-2.0
/*
 * The file ids the dump gave each fd of each task, kept once a task's fds
 * are dumped (files-dump.c): kinds whose files name other files of the tree
 * ask for them at write() (an epoll's targets, found as a pid and an fd
 * while frozen). Called by the table and by the kinds, it calls neither.
 */
#include <stdlib.h>

#include "files/files-table.h"
#include "log.h"

int files_keep_ids(struct file_table *ft, pid_t pid, int *fds, uint32_t *ids, size_t nr)
{
	struct task_ids *n = realloc(ft->tids, (ft->nr_tids + 1) * sizeof(*n));

	if (!n) {
		pr_err("pid %d: out of memory for its fd table", pid);
		free(fds);
		free(ids);
		return -1;
	}
	ft->tids = n;
	ft->tids[ft->nr_tids++] = (struct task_ids){ pid, fds, ids, nr };
	return 0;
}

static int cmp_fd(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

uint32_t files_dumped_id(const struct dump_ctx *ctx, pid_t pid, int fd)
{
	const struct file_table *ft = ctx->files;

	for (size_t i = 0; i < ft->nr_tids; i++) {
		const struct task_ids *ti = &ft->tids[i];
		const int *at;

		if (ti->pid != pid)
			continue;
		at = bsearch(&fd, ti->fds, ti->nr, sizeof(fd), cmp_fd);
		return at ? ti->ids[at - ti->fds] : 0;
	}
	return 0;
}
