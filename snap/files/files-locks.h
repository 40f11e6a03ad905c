/* SPDX-License-Identifier: GPL-2.0 */
/*
 * File locks held by the tree (flock, POSIX and OFD record locks), for the fd
 * table (files-dump.c, files-restore.c): locks are not a kind of fd but a
 * state of many fds of any kind, so the table asks for them on every fd.
 *
 * Dump: each fd's fdinfo "lock:" lines, once per lock, to file-locks.img;
 * only with --file-locks, else a process holding one is refused.
 * Restore: flock and OFD locks belong to the open file description, and are
 * taken once on it in its process, once its fds are at their numbers. POSIX
 * locks belong to the process's fd table and go away when the process closes
 * ANY fd of the file: snap's own fds of the restore (parked files, mapped
 * files) are closed after that, so POSIX locks are taken last, by snap
 * running fcntl() in the stopped task once its restorer is done
 * (files_task_finish()).
 */
#ifndef SNAP_FILES_LOCKS_H
#define SNAP_FILES_LOCKS_H

#include "files/files.h"
#include "files/files-kind.h"

/* Dump side, in the file table. */
struct file_locks;
/* NULL logged. */
struct file_locks *file_locks_new(void);
void file_locks_free(struct file_locks *fl);
/* Once, the tree frozen: which inodes have locks at all (/proc/locks). */
int file_locks_collect(struct dump_ctx *ctx, struct file_locks *fl);
/* Every fd of @t: its locks, @d being file @id of files.img. */
int file_locks_dump_fd(struct dump_ctx *ctx, struct file_locks *fl, const struct dump_task *t,
		       const struct fd_desc *d, uint32_t id);
/* Once, after every task: file-locks.img. */
int file_locks_write(struct dump_ctx *ctx, struct file_locks *fl);

/* Restore side. */
struct file_locks_rst;
/* After files.img and the fd tables are loaded: file-locks.img, checked. */
int file_locks_load(struct restore_ctx *ctx, struct file_locks_rst **out);
void file_locks_rst_free(struct file_locks_rst *fr);
/* In the restored task owning its fd table, fds at their numbers: flock and OFD locks. */
int file_locks_installed(struct restore_ctx *ctx, const struct file_locks_rst *fr,
			 const struct restore_task *t);
/*
 * In the restored task, @fd just opened to map @v: the flock locks only its
 * mappings of that file held (file_lock_entry.mapped). 0 or -1 logged.
 */
int file_locks_mapped(const struct restore_ctx *ctx, const struct file_locks_rst *fr,
		      const struct restore_task *t, const VmaEntry *v, int fd);
/* In snap, the task stopped after its restorer: POSIX locks, through @ts. */
int file_locks_finish(struct restore_ctx *ctx, const struct file_locks_rst *fr,
		      const struct restore_task *t, struct task_syscall *ts);

#endif
