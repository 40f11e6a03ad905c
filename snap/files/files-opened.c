// SPDX-License-Identifier: GPL-2.0
/*
 * The fds opened for the files of files.img while restoring, by id: parked
 * in snap, where they can, at the number the first task that holds them
 * gives them, until files_install() puts each at its numbers in each task.
 * The table fills it (files-restore.c, files-install.c); kinds look up a
 * peer's fd here, hand over a peer they opened along with their own file,
 * or say which files their installed() step looks up.
 */
#include <fcntl.h>
#include <stdlib.h>
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
	int want = st->park_at_target ? st->first_fd[i] : -1, nfd;

	if (fd == want) {
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		st->fds[i] = fd;
		return 0;
	}
	if (want >= 0) {
		nfd = fcntl(fd, F_DUPFD_CLOEXEC, want);
		if (nfd == want) {
			close(fd);
			st->fds[i] = nfd;
			return 0;
		}
		/* Taken (by another file, or by snap's own): out of the way, then. */
		if (nfd >= 0)
			close(nfd);
	}
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, st->park_base);
	close(fd);
	if (nfd < 0) {
		pr_perror("files.img: file id %u: cannot move it to fd %d or above",
			  ctx->files[i]->id, st->park_base);
		return -1;
	}
	st->fds[i] = nfd;
	return 0;
}

int files_task_uses(struct restore_ctx *ctx, pid_t pid, uint32_t id)
{
	struct files_restore_state *st = ctx->files_st;
	ssize_t i = files_index(ctx, id);

	if (i < 0) {
		pr_err("files.img: pid %d needs file id %u, which it does not have", pid, id);
		return -1;
	}
	if (st->nr_uses == st->cap_uses) {
		size_t cap = st->cap_uses ? 2 * st->cap_uses : 64;
		struct file_use *u = realloc(st->uses, cap * sizeof(*u));

		if (!u) {
			pr_err("out of memory for the file table");
			return -1;
		}
		st->uses = u;
		st->cap_uses = cap;
	}
	st->uses[st->nr_uses++] = (struct file_use){ .pid = pid, .file = i };
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

enum fd_where files_where(const struct restore_ctx *ctx, uint32_t id)
{
	ssize_t i = files_index(ctx, id);

	return i < 0 ? FD_IN_SNAP : (enum fd_where)ctx->files_st->where[i];
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
