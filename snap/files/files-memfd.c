// SPDX-License-Identifier: GPL-2.0
/*
 * memfd fds. The memfd itself is a shared memory object (shmem.h): dumped
 * once with its name, size, seals and pages however many fds and mappings
 * use it; an fd is its open file description on that object (flags, offset).
 * Restore reopens snap's fd of the recreated memfd through /proc/self/fd, so
 * that every fd and mapping is one memfd again, with its own offset.
 *
 * One open file description is not a reopen: the one memfd_create() made.
 * It does not count as a writer of the inode, a reopen for writing does, and
 * exec (fexecve) of a memfd fails with ETXTBSY while the inode has writers.
 * So the first read-write file of each memfd (memfd_create()'s are always
 * read-write) is the recreated memfd's own description, snap's fd duplicated:
 * a process that could execute its memfd still can. Which read-write file
 * was the original one cannot be seen from outside; with two of them the
 * original could not execute it either.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "files/files-kind.h"
#include "log.h"
#include "mem/shmem.h"
/* What F_SETFL sets and open() would have. */
#define SETFL_FLAGS (O_APPEND | O_NONBLOCK | O_NOATIME | O_DIRECT)

/* Per memfd (shmem id), the file that gets its own open file description. */
struct memfd_own {
	uint32_t shmem_id, file_id;
};

struct memfd_restore_state {
	struct memfd_own *own;
	size_t nr;
};

static bool memfd_match(const struct fd_desc *d)
{
	return !strncmp(d->path, "/memfd:", 7);
}

static int memfd_dump(struct dump_ctx *ctx, void *st, const struct fd_desc *d, FileEntry *fe)
{
	char path[sizeof(d->path)];
	MemfdEntry *me;

	(void)st;
	/* A memfd has no link: its name always ends in " (deleted)". */
	memcpy(path, d->path, sizeof(path));
	cut_deleted(path);
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

static const struct memfd_own *find_own(const struct memfd_restore_state *ms, uint32_t shmem_id)
{
	for (size_t i = 0; i < ms->nr; i++)
		if (ms->own[i].shmem_id == shmem_id)
			return &ms->own[i];
	return NULL;
}

/* The first read-write file of memfd @fe->memfd->shmem_id is its own. */
static int claim_own(struct memfd_restore_state *ms, const FileEntry *fe)
{
	struct memfd_own *o;

	if ((fe->memfd->flags & O_ACCMODE) != O_RDWR || find_own(ms, fe->memfd->shmem_id))
		return 0;
	o = realloc(ms->own, (ms->nr + 1) * sizeof(*o));
	if (!o) {
		pr_err("files.img: file id %u: out of memory", fe->id);
		return -1;
	}
	ms->own = o;
	ms->own[ms->nr++] = (struct memfd_own){ fe->memfd->shmem_id, fe->id };
	return 0;
}

static int memfd_prepare(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	char what[64];
	int i;

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
	return claim_own(st, fe);
}

/* The memfd's own open file description, with @me's status flags. */
static int own_fd(int objfd, const MemfdEntry *me)
{
	int fd = fcntl(objfd, F_DUPFD_CLOEXEC, 0);

	if (fd >= 0 && fcntl(fd, F_SETFL, me->flags & SETFL_FLAGS)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int memfd_open(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	const MemfdEntry *me = fe->memfd;
	const struct memfd_own *own = find_own(st, me->shmem_id);
	int i = shmem_index(ctx, me->shmem_id, "files.img"), fd;

	if (i < 0)
		return -1;
	if (own && own->file_id == fe->id)
		fd = own_fd(ctx->shmem->fds[i], me);
	else
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

static void memfd_restore_free(void *st)
{
	free(((struct memfd_restore_state *)st)->own);
}

const struct fd_ops memfd_fd_ops = {
	.type = FD_TYPE__FD_MEMFD,
	.name = "memfd",
	.fmts = FD_FMT(S_IFREG),
	.match = memfd_match,
	.dump = memfd_dump,
	.restore_state = sizeof(struct memfd_restore_state),
	.open = memfd_open,
	.prepare = memfd_prepare,
	.restore_free = memfd_restore_free,
};
