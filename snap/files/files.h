/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Open files: what dump and restore call. The fd table (files-dump.c,
 * files-restore.c) turns fd tables into files.img ids and back; what each
 * kind of fd (regular file, pipe, device, terminal, memfd...) saves and how
 * it reopens lives in files-<kind>.c behind struct fd_ops (files-kind.h),
 * listed in files-registry.c.
 *
 * Dump: fds are pulled out of the target with pidfd_getfd(), so no parasite
 * is needed; fds sharing one open file description (dup, kcmp KCMP_FILE) get
 * one id in files.img.
 * Restore: files are opened in snap before any process exists (or, for some
 * kinds, in the task), mostly at their numbers already, and every target fd
 * ends at its number in the forked child that becomes the restored process,
 * before the restorer blob runs.
 */
#ifndef SNAP_FILES_H
#define SNAP_FILES_H

#include <stdbool.h>

#include "ctx.h"

/* Dump side. */
struct file_table *file_table_new(void);
void file_table_free(struct file_table *ft);
/* Once, the tree frozen, before any dump_task_files(): the kinds' collect(). */
int files_collect(struct dump_ctx *ctx);
/*
 * List @t's fds into t->fds, frozen with a parasite in: its socket @skip is
 * left out, and so is any fd the parasite opens later.
 */
int files_list_task(struct dump_task *t, int skip);
/*
 * Dump the fds listed: fdinfo-PID.img, plus entries added to ctx->files.
 * Once: a later call does nothing. It needs @t frozen, not its parasite
 * gone: a live dump reads them while the parasite forks the holder.
 */
int dump_task_files(struct dump_ctx *ctx, struct dump_task *t);
/* Once, after every task: files.img and the kinds' side images (pipes-data.img). */
int files_write(struct dump_ctx *ctx);
/*
 * Just before the tree is let go, whatever step the dump reached: @killed,
 * the dump succeeded and kills it now; else it runs on. The kinds'
 * unfreeze(). Cannot fail.
 */
void files_unfreeze(struct dump_ctx *ctx, bool killed);

/* Restore side. */
/* Load and validate files.img and the kinds' images (before anything is created). */
int restore_load_files(struct restore_ctx *ctx);
/*
 * Free the state restore_load_files() made; ctx->files is the caller's to
 * free. Safe after a failed or no load.
 */
void restore_files_free(struct restore_ctx *ctx);
/*
 * In snap, before any process is made: open every file that is opened in
 * snap, where the processes inherit them: each at the first number a task
 * gives it where that is free, else above every task's numbers. Needs
 * RLIMIT_NOFILE above the highest fd of any task.
 */
int files_open_all(struct restore_ctx *ctx);
/*
 * After files_open_all(): one above the highest fd number of any task and
 * of any file snap holds for them. snap's service fds go at or above it.
 */
int files_fd_ceiling(const struct restore_ctx *ctx);
/* Close what files_open_all() opened (snap once the tree is made; any process). */
void files_close_all(struct restore_ctx *ctx);
/*
 * In the tree's root, its namespaces restored, before it makes any child:
 * open every file the root opens for the tree (FD_IN_ROOT), parked at or
 * above @service_base + 2, for the processes to inherit. -1 logged.
 */
int files_open_in_root(struct restore_ctx *ctx, int service_base);
/*
 * In the restored child: open the files @t opens itself, then put every fd
 * of @t at its number. All target fds are below @service_base; fds at or
 * above it belong to snap and are kept (so log_fd() and ctx->tty_fd must be
 * up there). Below it, the files_open_all() fds inherited from snap are
 * moved to their numbers or closed, and so is every other fd.
 */
int restore_task_fds(struct restore_ctx *ctx, struct restore_task *t, int service_base);
/* Then, still in the child: each fd's kind finishes it at its number (epoll, locks...). */
int files_task_installed(struct restore_ctx *ctx, const struct restore_task *t);
/*
 * In the child, @fd just opened to map @v: the flock locks the process held
 * only through its mappings of that file. 0 or -1 logged.
 */
int files_mapped_locks(const struct restore_ctx *ctx, const struct restore_task *t,
		       const VmaEntry *v, int fd);
/*
 * The fd by which @t holds packet socket @ino with a receive ring, which its
 * mapping @ino is mapped from (VMA_PACKET_RING), and that ring in *@ring;
 * -1 if none (logged, naming @what).
 */
int files_packet_ring(const struct restore_ctx *ctx, const struct restore_task *t, uint32_t ino,
		      const PacketRing **ring, const char *what);
/*
 * How snap runs a syscall in a restored task it holds stopped (restore.c).
 * @mem is @mem_len bytes mapped at the same address in snap and in the task,
 * for arguments passed by pointer.
 */
struct task_syscall {
	/* The raw result in *@ret (-errno on failure); -1 if it could not run (logged). */
	int (*call)(struct task_syscall *ts, long *ret, long nr, long a1, long a2, long a3);
	void *mem;
	size_t mem_len;
};
/*
 * In snap, last, @t stopped after its restorer, every fd of snap's closed in
 * its fd table: what any close of a file would have undone (POSIX locks),
 * done in the task through @ts.
 */
int files_task_finish(struct restore_ctx *ctx, const struct restore_task *t,
		      struct task_syscall *ts);
/*
 * In snap, every task through its restorer and stopped, the network lock
 * gone, right before the tree is let go: the kinds' tree_restored() (TCP
 * connections out of repair mode). 0 or -1 logged.
 */
int files_tree_restored(struct restore_ctx *ctx);
/* Highest fd number @t uses, or -1. */
int task_max_fd(const struct restore_task *t);

/*
 * Restore: the tree lives in a mount namespace of its own, where the paths
 * of the images lead; snap's do not, only the tasks' (after the root's
 * pivot_root) do: a file opened by path is opened in the task (FD_IN_TASK).
 */
bool files_paths_in_task(const struct restore_ctx *ctx);

#endif
