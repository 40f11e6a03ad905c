// SPDX-License-Identifier: GPL-2.0
/*
 * The registry of fd kinds, and which kind an fd is. A new kind: its file,
 * and its two lines here (the extern and its place in fd_kinds[]).
 *
 * Dump dispatches on what the fd is: an anon inode ("anon_inode:[eventfd]",
 * "anon_inode:inotify"; all share one inode of type 0) by its name, which a
 * kind lists in fd_ops.anon; anything else by its file type (S_IFREG,
 * S_IFIFO, S_IFCHR, S_IFSOCK...), among the kinds whose fd_ops.fmts hold
 * it, in the order below, each match() refining (a pty master, a terminal,
 * a device). Restore dispatches on the files.img type.
 */
#include <string.h>

#include "files/files-table.h"

extern const struct fd_ops pty_fd_ops;
extern const struct fd_ops tty_fd_ops;
extern const struct fd_ops chr_fd_ops;
extern const struct fd_ops pipe_fd_ops;
extern const struct fd_ops fifo_fd_ops;
extern const struct fd_ops memfd_fd_ops;
extern const struct fd_ops reg_fd_ops;
extern const struct fd_ops inotify_fd_ops;
extern const struct fd_ops fanotify_fd_ops;
extern const struct fd_ops unix_fd_ops;
extern const struct fd_ops netlink_fd_ops;
extern const struct fd_ops inet_fd_ops;
extern const struct fd_ops packet_fd_ops;
extern const struct fd_ops eventfd_fd_ops;
extern const struct fd_ops epoll_fd_ops;
extern const struct fd_ops timerfd_fd_ops;
extern const struct fd_ops signalfd_fd_ops;
extern const struct fd_ops pidfd_fd_ops;
extern const struct fd_ops anon_refused_fd_ops;

/* Within one file type, a narrower kind comes before a wider one. */
const struct fd_ops *const fd_kinds[] = {
	&pty_fd_ops,	/* S_IFCHR: pty masters and slaves */
	&tty_fd_ops,	/* S_IFCHR: other terminals */
	&chr_fd_ops,	/* S_IFCHR: other devices */
	&pipe_fd_ops,	/* S_IFIFO: pipe:[N] */
	&fifo_fd_ops,	/* S_IFIFO: a path */
	&memfd_fd_ops,	/* S_IFREG: /memfd: */
	&reg_fd_ops,	/* S_IFREG, S_IFDIR with a path */
	&inotify_fd_ops,	/* anon_inode:inotify */
	&fanotify_fd_ops,	/* anon_inode:[fanotify] */
	&unix_fd_ops,	/* S_IFSOCK: AF_UNIX */
	&netlink_fd_ops, /* S_IFSOCK: AF_NETLINK */
	&inet_fd_ops,	/* S_IFSOCK: AF_INET, AF_INET6 */
	&packet_fd_ops,	/* S_IFSOCK: AF_PACKET */
	&eventfd_fd_ops,	/* anon_inode:[eventfd] */
	&epoll_fd_ops,		/* anon_inode:[eventpoll] */
	&timerfd_fd_ops,	/* anon_inode:[timerfd] */
	&signalfd_fd_ops,	/* anon_inode:[signalfd] */
	&pidfd_fd_ops,		/* anon_inode:[pidfd] */
	&anon_refused_fd_ops,	/* io_uring, bpf, perf, userfaultfd, kvm: refused by name */
};

const size_t nr_fd_kinds = ARRAY_SIZE(fd_kinds);

/* A name in @names ending in '*' stands for every name it begins ("kvm-vcpu:3"). */
static bool lists(const char *const *names, const char *name)
{
	for (; names && *names; names++) {
		size_t len = strlen(*names);

		if (len && (*names)[len - 1] == '*' ? !strncmp(*names, name, len - 1)
						    : !strcmp(*names, name))
			return true;
	}
	return false;
}

int fd_kind_of(const struct fd_desc *d)
{
	unsigned int fmt = FD_FMT(d->st.st_mode);

	for (size_t k = 0; k < nr_fd_kinds; k++) {
		const struct fd_ops *ops = fd_kinds[k];

		if (d->anon ? !lists(ops->anon, d->anon) : !(ops->fmts & fmt))
			continue;
		if (!ops->match || ops->match(d))
			return k;
	}
	return -1;
}

int fd_kind_by_type(FdType type)
{
	for (size_t k = 0; k < nr_fd_kinds; k++)
		if (fd_kinds[k]->type == type)
			return k;
	return -1;
}
