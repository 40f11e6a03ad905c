// SPDX-License-Identifier: GPL-2.0
/*
 * eventfds: the counter and the flags (EFD_NONBLOCK, EFD_SEMAPHORE), read
 * from fdinfo, never from the fd (a read would take the count). Restore
 * makes a new eventfd in snap and adds the count to it with a write(), as
 * eventfd()'s initial value is only 32 bits wide. The eventfd-id a newer
 * kernel shows in fdinfo is its own number for the file and is not kept.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "files/files-anon.h"
#include "log.h"

static const char *const eventfd_anon[] = { "[eventfd]", NULL };

static int eventfd_dump(struct dump_ctx *ctx, void *st, const struct fd_desc *d, FileEntry *fe)
{
	unsigned long long count, sem = 0;
	EventfdEntry *ee;

	(void)ctx;
	(void)st;
	/* In hex. */
	if (anon_field_u64(d, d->fdinfo, "eventfd-count:", 16, &count))
		return -1;
	/* Older kernels do not say; only a semaphore read would tell. */
	if (anon_has_field(d->fdinfo, "eventfd-semaphore:") &&
	    anon_field_u64(d, d->fdinfo, "eventfd-semaphore:", 10, &sem))
		return -1;
	ee = malloc(sizeof(*ee));
	if (!ee) {
		pr_err("pid %d fd %d: out of memory", d->pid, d->fd);
		return -1;
	}
	eventfd_entry__init(ee);
	fe->eventfd = ee;
	ee->flags = d->flags;
	ee->count = count;
	ee->has_semaphore = true;
	ee->semaphore = sem;
	return 0;
}

static int eventfd_prepare(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	(void)ctx;
	(void)st;
	if (!fe->eventfd) {
		pr_err("files.img: file id %u: an eventfd without its eventfd part", fe->id);
		return -1;
	}
	/* The kernel's limit: a write that would reach 2^64 - 1 blocks. */
	if (fe->eventfd->count == UINT64_MAX) {
		pr_err("files.img: file id %u: eventfd count %llu is more than an eventfd holds",
		       fe->id, (unsigned long long)fe->eventfd->count);
		return -1;
	}
	return 0;
}

static int eventfd_open(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	const EventfdEntry *ee = fe->eventfd;
	int flags = EFD_CLOEXEC, fd;

	(void)ctx;
	(void)st;
	if (ee->semaphore)
		flags |= EFD_SEMAPHORE;
	fd = eventfd(0, flags);
	if (fd < 0) {
		pr_perror("files.img: file id %u: cannot make an eventfd", fe->id);
		return -1;
	}
	if (ee->count && write(fd, &ee->count, sizeof(ee->count)) != sizeof(ee->count)) {
		pr_perror("files.img: file id %u: cannot set the eventfd count to %llu", fe->id,
			  (unsigned long long)ee->count);
		goto err;
	}
	/* O_NONBLOCK last: the write above must not fail with EAGAIN. */
	if (fcntl(fd, F_SETFL, ee->flags) < 0) {
		pr_perror("files.img: file id %u: eventfd: cannot set flags %#o", fe->id,
			  ee->flags);
		goto err;
	}
	return fd;
err:
	close(fd);
	return -1;
}

const struct fd_ops eventfd_fd_ops = {
	.type = FD_TYPE__FD_EVENTFD,
	.name = "eventfd",
	.anon = eventfd_anon,
	.dump = eventfd_dump,
	.prepare = eventfd_prepare,
	.open = eventfd_open,
};
