// SPDX-License-Identifier: GPL-2.0
/*
 * Signal-driven I/O of any fd kind: the owner that gets SIGIO (F_SETOWN_EX:
 * a thread, a process or a process group), the signal sent instead of SIGIO
 * (F_SETSIG) and O_ASYNC. All three belong to the open file description, so
 * the table saves them once per file, whatever its kind, in file_entry.fown.
 *
 * Restore sets them last, from snap, in the first task that holds the file
 * (files_task_finish()): the owner must exist then, and open() would ignore
 * O_ASYNC anyway (only F_SETFL turns it on).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "files/files-fown.h"
#include "log.h"
#include "vpid.h"

static bool in_tree(const struct dump_ctx *ctx, int type, pid_t pid)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		const struct dump_task *t = &ctx->tasks[i];

		if (type == F_OWNER_PGRP ? t->pgid == pid : t->pid == pid)
			return true;
		for (size_t j = 0; type == F_OWNER_TID && j < t->nr_threads; j++)
			if (t->threads[j] == pid)
				return true;
	}
	return false;
}

int files_fown_dump(const struct dump_ctx *ctx, const struct fd_desc *d, FileEntry *fe)
{
	struct f_owner_ex owner = { 0 };
	FownEntry *fo;
	int sig;

	if (fcntl(d->local, F_GETOWN_EX, &owner) || (sig = fcntl(d->local, F_GETSIG)) < 0) {
		pr_perror("pid %d fd %d: cannot read who gets its SIGIO", d->pid, d->fd);
		return -1;
	}
	if (!owner.pid && !sig && !(d->flags & O_ASYNC))
		return 0;
	/* A signal to a process outside the tree would go nowhere, or elsewhere. */
	if (owner.pid && !in_tree(ctx, owner.type, owner.pid)) {
		pr_err("pid %d fd %d: its SIGIO goes to %s %d, outside the dumped tree", d->pid,
		       d->fd, owner.type == F_OWNER_PGRP ? "process group" : "pid", owner.pid);
		return -1;
	}
	fo = malloc(sizeof(*fo));
	if (!fo) {
		pr_err("pid %d fd %d: out of memory", d->pid, d->fd);
		return -1;
	}
	fown_entry__init(fo);
	fo->pid_type = owner.type;
	fo->pid = dump_vpid(ctx, owner.pid);
	fo->signum = sig;
	fo->async = d->flags & O_ASYNC;
	fe->fown = fo;
	return 0;
}

int files_fown_check(const FileEntry *fe)
{
	const FownEntry *fo = fe->fown;

	if (!fo)
		return 0;
	if ((fo->pid_type != F_OWNER_TID && fo->pid_type != F_OWNER_PID &&
	     fo->pid_type != F_OWNER_PGRP) ||
	    fo->pid < 0 || fo->signum > 64) {
		pr_err("files.img: file id %u: bad SIGIO owner (type %u, pid %d, signal %u)", fe->id,
		       fo->pid_type, fo->pid, fo->signum);
		return -1;
	}
	return 0;
}

/* One fcntl() in the task; its error named. */
static int task_fcntl(struct task_syscall *ts, const struct restore_task *t, int fd, int cmd,
		      long arg, long *ret, const char *what)
{
	if (ts->call(ts, ret, SYS_fcntl, fd, cmd, arg))
		return -1;
	if (*ret < 0) {
		pr_err("pid %d fd %d: cannot restore %s: %s", t->pid, fd, what, strerror(-*ret));
		return -1;
	}
	return 0;
}

int files_fown_restore(const struct restore_task *t, int fd, const FownEntry *fo, pid_t pid,
		       struct task_syscall *ts)
{
	struct f_owner_ex owner = { .type = fo->pid_type, .pid = pid };
	long ret, flags;

	if (ts->mem_len < sizeof(owner)) {
		pr_err("pid %d: no room in the task to pass a SIGIO owner", t->pid);
		return -1;
	}
	memcpy(ts->mem, &owner, sizeof(owner));
	if ((pid &&
	     task_fcntl(ts, t, fd, F_SETOWN_EX, (long)ts->mem, &ret, "its SIGIO owner")) ||
	    (fo->signum && task_fcntl(ts, t, fd, F_SETSIG, fo->signum, &ret, "its SIGIO signal")))
		return -1;
	if (!fo->async)
		return 0;
	/*
	 * The kernel notes the fd number its signals carry (si_fd) when
	 * O_ASYNC goes on. A kind that set the file's flags in snap turned it
	 * on under snap's number: off and on again here, under the task's.
	 */
	if (task_fcntl(ts, t, fd, F_GETFL, 0, &flags, "O_ASYNC") ||
	    (flags & O_ASYNC &&
	     task_fcntl(ts, t, fd, F_SETFL, flags & ~O_ASYNC, &ret, "O_ASYNC")))
		return -1;
	return task_fcntl(ts, t, fd, F_SETFL, flags | O_ASYNC, &ret, "O_ASYNC");
}
