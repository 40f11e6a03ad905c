/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The epoll kind in two files: files-epoll.c (the fd_ops and the restore
 * side) and files-epoll-dump.c (the dump side, which finds each watched
 * file among the fds of the tree).
 */
#ifndef SNAP_FILES_EPOLL_H
#define SNAP_FILES_EPOLL_H

#include "files/files-kind.h"

/* A watched file found while frozen; its file id is known at write(). */
struct epoll_pending {
	uint32_t id;		/* the epoll */
	uint32_t tfd, events;
	uint64_t data;
	pid_t pid;		/* a process of the tree that holds the watched file, */
	int fd;			/* at this fd */
};

/* An fd of the tree, for watched files not found at their own number. */
struct tree_fd {
	dev_t dev;
	ino_t ino;
	pid_t pid;
	int fd;
	bool sorted;		/* first of its inode's run: the run is in kcmp order */
};

struct epoll_dump_state {
	struct epoll_pending *p;
	size_t nr, cap;
	struct tree_fd *all;	/* every fd of the tree, by inode; built when first needed */
	size_t nr_all;
	bool indexed;
};

int epoll_dump(struct dump_ctx *ctx, void *st, const struct fd_desc *d, FileEntry *fe);
/* epoll-tfds.img, always (empty without epolls). */
int epoll_write(struct dump_ctx *ctx, void *st);
void epoll_dump_free(void *st);

#endif
