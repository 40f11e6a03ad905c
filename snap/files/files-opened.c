// SPDX-License-Identifier: GPL-2.0
/*
 * The fds opened for the files of files.img while restoring, by id: parked
 * above every target fd until restore_task_fds() dup3()s them to their
 * numbers. The table fills it (files-restore.c); kinds look up a peer's fd
 * here, or hand over a peer they opened along with their own file.
 */
#include <fcntl.h>
#include <unistd.h>

#include "files/files-table.h"
#include "log.h"

ssize_t files_index(const struct restore_ctx *ctx, uint32_t id)
{
	size_t i;

	/* Dump numbers files 1..N in order; anything else is found the slow way. */
	if (id >= 1 && id <= ctx->nr_files && ctx->files[id - 1]->id == id)
		return id - 1;
	for (i = 0; i < ctx->nr_files; i++)
		if (ctx->files[i]->id == id)
			return i;
	return -1;
}

int files_park(struct restore_ctx *ctx, size_t i, int fd)
{
	struct files_restore_state *st = ctx->files_st;
	int nfd = fcntl(fd, F_DUPFD_CLOEXEC, st->park_base);

	close(fd);
	if (nfd < 0) {
		pr_perror("files.img: file id %u: cannot move it above fd %d", ctx->files[i]->id,
			  st->park_base);
		return -1;
	}
	st->fds[i] = nfd;
	return 0;
}

const FileEntry *files_entry(const struct restore_ctx *ctx, uint32_t id)
{
	ssize_t i = files_index(ctx, id);

	return i < 0 ? NULL : ctx->files[i];
}

int files_fd_of(const struct restore_ctx *ctx, uint32_t id)
{
	ssize_t i = files_index(ctx, id);

	return i < 0 ? -1 : ctx->files_st->fds[i];
}

int files_give_fd(struct restore_ctx *ctx, uint32_t id, int fd)
{
	ssize_t i = files_index(ctx, id);

	if (i < 0 || ctx->files_st->fds[i] >= 0) {
		pr_err("files.img: file id %u: %s, cannot take the fd opened for it", id,
		       i < 0 ? "no such file" : "already open");
		close(fd);
		return -1;
	}
	return files_park(ctx, i, fd);
}
