// SPDX-License-Identifier: GPL-2.0
/*
 * signalfds: the signal mask (fdinfo sigmask) and the flags. A signalfd
 * reads the pending signals of whichever process reads it, not of its
 * maker, so the one made in snap serves every restored process; the pending
 * signals themselves are the processes' own (core images).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "files/files-anon.h"
#include "log.h"

static const char *const signalfd_anon[] = { "[signalfd]", NULL };

static int signalfd_dump(struct dump_ctx *ctx, void *st, const struct fd_desc *d, FileEntry *fe)
{
	unsigned long long mask;
	SignalfdEntry *se;

	(void)ctx;
	(void)st;
	if (anon_field_u64(d, d->fdinfo, "sigmask:", 16, &mask))
		return -1;
	se = malloc(sizeof(*se));
	if (!se) {
		pr_err("pid %d fd %d: out of memory", d->pid, d->fd);
		return -1;
	}
	signalfd_entry__init(se);
	fe->signalfd = se;
	se->flags = d->flags;
	se->sigmask = mask;
	return 0;
}

static int signalfd_prepare(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	(void)ctx;
	(void)st;
	if (!fe->signalfd) {
		pr_err("files.img: file id %u: a signalfd without its signalfd part", fe->id);
		return -1;
	}
	return 0;
}

static int signalfd_open(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	const SignalfdEntry *se = fe->signalfd;
	uint64_t mask = se->sigmask;
	int fd;

	(void)ctx;
	(void)st;
	/* The kernel's sigset: glibc's sigaddset() refuses the signals it keeps for itself. */
	fd = syscall(SYS_signalfd4, -1, &mask, sizeof(mask),
		     SFD_CLOEXEC | (se->flags & SFD_NONBLOCK));
	if (fd < 0) {
		pr_perror("files.img: file id %u: cannot make a signalfd for mask %#llx", fe->id,
			  (unsigned long long)mask);
		return -1;
	}
	return fd;
}

const struct fd_ops signalfd_fd_ops = {
	.type = FD_TYPE__FD_SIGNALFD,
	.name = "signalfd",
	.anon = signalfd_anon,
	.dump = signalfd_dump,
	.prepare = signalfd_prepare,
	.open = signalfd_open,
};
