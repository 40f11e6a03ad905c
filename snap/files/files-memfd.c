// SPDX-License-Identifier: GPL-2.0
/*
 * memfd fds. The memfd itself is a shared memory object (shmem.h): dumped
 * once with its name, size, seals and pages however many fds and mappings
 * use it; an fd is its open file description on that object (flags, offset).
 * Restore reopens snap's fd of the recreated memfd through /proc/self/fd, so
 * that every fd and mapping is one memfd again, with its own offset.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "files/files-kind.h"
#include "log.h"
#include "mem/shmem.h"

#define DELETED_SUFFIX " (deleted)"

static bool memfd_match(const struct fd_desc *d)
{
	return !strncmp(d->path, "/memfd:", 7);
}

static int memfd_dump(struct dump_ctx *ctx, void *st, const struct fd_desc *d, FileEntry *fe)
{
	size_t len = strlen(d->path), sl = strlen(DELETED_SUFFIX);
	char path[sizeof(d->path)];
	MemfdEntry *me;

	(void)st;
	/* A memfd has no link: its name always ends in " (deleted)". */
	memcpy(path, d->path, len + 1);
	if (len > sl && !strcmp(path + len - sl, DELETED_SUFFIX))
		path[len - sl] = '\0';
	me = malloc(sizeof(*me));
	if (!me) {
		pr_err("pid %d fd %d: out of memory", d->pid, d->fd);
		return -1;
	}
	memfd_entry__init(me);
	fe->memfd = me;
	me->flags = d->flags;
	me->pos = d->pos;
	return shmem_note_memfd(ctx, d->pid, d->fd, d->local, path, &me->shmem_id);
}

static int memfd_prepare(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	char what[64];
	int i;

	(void)st;
	if (!fe->memfd) {
		pr_err("files.img: file id %u: a memfd without its memfd part", fe->id);
		return -1;
	}
	snprintf(what, sizeof(what), "files.img: file id %u", fe->id);
	i = shmem_index(ctx, fe->memfd->shmem_id, what);
	if (i < 0)
		return -1;
	if (ctx->shmem->objs[i]->kind != SHMEM_KIND__SHMEM_MEMFD) {
		pr_err("%s: shared memory object %u is not a memfd", what, fe->memfd->shmem_id);
		return -1;
	}
	return 0;
}

static int memfd_open(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	const MemfdEntry *me = fe->memfd;
	int i = shmem_index(ctx, me->shmem_id, "files.img"), fd;

	(void)st;
	if (i < 0)
		return -1;
	fd = reopen_fd(ctx->shmem->fds[i], files_reopen_flags(me->flags));
	if (fd < 0) {
		pr_perror("files.img: file id %u: cannot reopen memfd %s", fe->id,
			  ctx->shmem->objs[i]->name);
		return -1;
	}
	if (lseek(fd, me->pos, SEEK_SET) != (off_t)me->pos) {
		pr_perror("files.img: file id %u: cannot seek memfd %s to %llu", fe->id,
			  ctx->shmem->objs[i]->name, (unsigned long long)me->pos);
		close(fd);
		return -1;
	}
	return fd;
}

const struct fd_ops memfd_fd_ops = {
	.type = FD_TYPE__FD_MEMFD,
	.name = "memfd",
	.fmts = FD_FMT(S_IFREG),
	.match = memfd_match,
	.dump = memfd_dump,
	.open = memfd_open,
	.prepare = memfd_prepare,
};
