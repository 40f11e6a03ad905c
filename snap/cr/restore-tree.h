/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What snap's side of a restore (restore.c) and the new processes, running
 * snap's code until their restorer (restore-task.c), share.
 */
#ifndef SNAP_RESTORE_TREE_H
#define SNAP_RESTORE_TREE_H

#include "ctx.h"
#include "proc/restore-bootstrap.h"

/* snap's side of one process being restored. */
struct rst_proc {
	struct bootstrap b;
	int ready[2];		/* restorer -> snap */
	int go[2];		/* snap -> restorer */
	bool seized;		/* snap traces it: killed if the restore fails */
};

struct restore_tree {
	struct restore_ctx *ctx;
	struct rst_proc *procs;	/* one per ctx->tasks[i] */
	int service_base;	/* the same in every process */
	int lazy_sock;		/* --lazy-pages: to the lazy-pages server, or -1 */
	pid_t init;		/* host pid of snap's pid 1 of a new pid namespace, or 0 */
};

/* Wait up to @ms for @pid to be free (a zombie of the dump, say); -1 logged. */
int wait_pid_free(pid_t pid, unsigned int ms);
/* fork() into @pid, sharing what @flags (CLONE_*) say: 0 in the child, -1 logged. */
pid_t make_task(struct restore_ctx *ctx, pid_t pid, uint64_t flags);
/*
 * The new process tasks[@idx]: its session, group and children, its fds,
 * cwd and root, then its restorer. Never returns; exits 1 after logging.
 */
void task_main(struct restore_tree *tr, size_t idx) __attribute__((noreturn));

#endif
