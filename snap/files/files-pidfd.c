// SPDX-License-Identifier: GPL-2.0
/*
 * pidfds: the process one refers to (fdinfo Pid:, a process of the dumped
 * tree) and its flags (PIDFD_NONBLOCK, PIDFD_THREAD), or that the process
 * has died and been reaped (Pid: -1), with its exit status when the kernel
 * kept it (PIDFD_GET_INFO, PIDFD_INFO_EXIT).
 *
 * Restore: a pidfd of a live process can only be opened once that process
 * exists, so it is opened in the task that holds it (FD_IN_TASK), waiting
 * for the process its parent makes; processes sharing one pidfd each get
 * their own open file description of it. A pidfd of a dead process is
 * opened in snap on a helper that exits (with the saved status) and is
 * reaped: it polls as POLLIN | POLLHUP and waitid(P_PIDFD) says ECHILD, as
 * for any dead process that is not one's child. In a tree with a pid
 * namespace of its own, the helper is made by the tree's root, inside it
 * (FD_IN_ROOT): the kernel tells a pidfd's exit status only to a reader
 * that sees its pid.
 *
 * Refused: a pidfd of a process outside the dumped tree (it may not exist,
 * or be another process, at restore time) and one of a thread other than a
 * thread group leader (threads are made later, by the restorer).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "files/files-anon.h"
#include "files/files-table.h"
#include "kcompat.h"
#include "log.h"
#include "ns/pid-nest.h"
#include "vpid.h"

/* How long a task waits for the process its pidfd names to be made. */
#define PIDFD_WAIT_MS 10000
#define PIDFD_FLAGS   (O_NONBLOCK | PIDFD_THREAD)

static const char *const pidfd_anon[] = { "[pidfd]", NULL };

/* -1 not in the tree; else the index of the task that is, or has, thread @pid. */
static ssize_t tree_task(const struct dump_ctx *ctx, pid_t pid, bool *leader)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		const struct dump_task *t = &ctx->tasks[i];

		*leader = true;
		if (t->pid == pid)
			return i;
		*leader = false;
		for (size_t j = 0; j < t->nr_threads; j++)
			if (t->threads[j] == pid)
				return i;
	}
	return -1;
}

static int check_target(const struct dump_ctx *ctx, const struct fd_desc *d, long long pid)
{
	bool leader;
	ssize_t i;

	if (pid == 0) {
		pr_err("pid %d fd %d: pidfd of a process outside snap's pid namespace is not "
		       "supported",
		       d->pid, d->fd);
		return -1;
	}
	i = tree_task(ctx, pid, &leader);
	if (i < 0) {
		pr_err("pid %d fd %d: pidfd of pid %lld, which is not in the dumped tree, is not "
		       "supported (dump the tree that holds both)",
		       d->pid, d->fd, pid);
		return -1;
	}
	if (!leader) {
		pr_err("pid %d fd %d: pidfd of thread %lld of pid %d is not supported", d->pid,
		       d->fd, pid, ctx->tasks[i].pid);
		return -1;
	}
	/* Restore puts a shared fd table's fds in place before it makes such a child. */
	if (ctx->tasks[i].shares_files) {
		pr_err("pid %d fd %d: pidfd of pid %lld, which shares its parent's fd table "
		       "(CLONE_FILES), is not supported",
		       d->pid, d->fd, pid);
		return -1;
	}
	return 0;
}

static int pidfd_dump(struct dump_ctx *ctx, void *st, const struct fd_desc *d, FileEntry *fe)
{
	struct pidfd_info info = { .mask = PIDFD_INFO_EXIT };
	unsigned long long v;
	PidfdEntry *pe;

	(void)st;
	if (anon_field_u64(d, d->fdinfo, "Pid:", 10, &v))
		return -1;
	if ((long long)v != -1 && check_target(ctx, d, (long long)v))
		return -1;
	pe = malloc(sizeof(*pe));
	if (!pe) {
		pr_err("pid %d fd %d: out of memory", d->pid, d->fd);
		return -1;
	}
	pidfd_entry__init(pe);
	fe->pidfd = pe;
	pe->flags = d->flags;
	pe->pid = (long long)v == -1 ? -1 : dump_vpid(ctx, (pid_t)v);
	/* Older kernels keep no exit status, or have no PIDFD_GET_INFO. */
	if (pe->pid == -1 && !ioctl(d->local, PIDFD_GET_INFO, &info) &&
	    (info.mask & PIDFD_INFO_EXIT)) {
		pe->has_exit_status = true;
		pe->exit_status = info.exit_code;
	}
	return 0;
}

static bool in_tree(const struct restore_ctx *ctx, pid_t pid)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		if (ctx->tasks[i].pid == pid)
			return true;
	return false;
}

static int pidfd_prepare(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	const PidfdEntry *pe = fe->pidfd;

	(void)st;
	if (!pe) {
		pr_err("files.img: file id %u: a pidfd without its pidfd part", fe->id);
		return -1;
	}
	if (pe->pid != -1 && (pe->pid <= 0 || !in_tree(ctx, pe->pid))) {
		pr_err("files.img: file id %u: pidfd of pid %d, which pstree.img does not have",
		       fe->id, pe->pid);
		return -1;
	}
	return 0;
}

static int pidfd_inflight(const struct dump_ctx *ctx, const FileEntry *fe)
{
	(void)ctx;
	if (fe->pidfd->pid <= 0)
		return 0;
	pr_err("a message queued in a unix socket carries a pidfd of pid %d: restore can only "
	       "open it in a process, not send it again; not supported",
	       fe->pidfd->pid);
	return -1;
}

static enum fd_where pidfd_where(const struct restore_ctx *ctx, const FileEntry *fe)
{
	if (fe->pidfd->pid > 0)
		return FD_IN_TASK;
	/* A pidfd's process must be in its reader's pid namespace to say how it ended. */
	return files_pids_in_root(ctx) ? FD_IN_ROOT : FD_IN_SNAP;
}

/*
 * In the task: the process is made by its parent, maybe after us.
 * (pidfd_open() sets close-on-exec, as the table wants.)
 */
static int open_live(const struct restore_ctx *ctx, const FileEntry *fe)
{
	const PidfdEntry *pe = fe->pidfd;
	const struct restore_task *t = ctx->files_st->task;
	/* pidfd_open() looks the pid up in the caller's namespace: a nested one's. */
	pid_t pid = t ? pidns_rst_pid_seen(ctx, t, pe->pid) : pe->pid;
	int fd, waited;

	if (!pid) {
		pr_err("files.img: file id %u: a pidfd of pid %d, which the pid namespace of pid "
		       "%d (nested in the tree's) does not see: cannot be opened there",
		       fe->id, pe->pid, t->pid);
		return -1;
	}
	for (waited = 0;; waited++) {
		fd = syscall(SYS_pidfd_open, pid, pe->flags & PIDFD_FLAGS);
		if (fd >= 0)
			return fd;
		if (errno != ESRCH || waited == PIDFD_WAIT_MS)
			break;
		usleep(1000);
	}
	pr_perror("files.img: file id %u: pidfd_open of pid %d%s", fe->id, pe->pid,
		  errno == ESRCH ? " (not made in time: is it made after the fds of this "
				   "process, with CLONE_FILES?)"
				 : "");
	return -1;
}

/* A helper that waits until its pidfd is taken, then ends as the dead one did. */
static void __attribute__((noreturn)) be_dead(int wait_fd, const PidfdEntry *pe)
{
	int status = pe->has_exit_status ? pe->exit_status : 0;
	sigset_t all;
	char c;

	while (read(wait_fd, &c, 1) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(status)) {
		/* No core file, whatever the core pattern says. */
		prctl(PR_SET_DUMPABLE, 0);
		signal(WTERMSIG(status), SIG_DFL);
		sigfillset(&all);
		sigprocmask(SIG_UNBLOCK, &all, NULL);
		raise(WTERMSIG(status));
	}
	_exit(WEXITSTATUS(status));
}

/* In snap or the root: the pidfd of a helper that is dead and reaped once we return. */
static int open_dead(const struct restore_ctx *ctx, const FileEntry *fe)
{
	int p[2], fd = -1, status;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC)) {
		pr_perror("files.img: file id %u: pidfd of a dead process: pipe", fe->id);
		return -1;
	}
	pid = files_clone_at(files_pids_in_root(ctx) ? files_spare_pid(ctx, 0) : 0);
	if (pid == 0) {
		close(p[1]);
		be_dead(p[0], fe->pidfd);
	}
	if (pid < 0) {
		pr_perror("files.img: file id %u: pidfd of a dead process: clone", fe->id);
	} else {
		/* Taken before it exits, so that the kernel keeps its exit status for us. */
		fd = syscall(SYS_pidfd_open, pid, fe->pidfd->flags & PIDFD_FLAGS);
		if (fd < 0)
			pr_perror("files.img: file id %u: pidfd_open of our helper %d", fe->id,
				  pid);
		close(p[1]);
		p[1] = -1;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	return fd;
}

static int pidfd_open_file(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	(void)st;
	return fe->pidfd->pid > 0 ? open_live(ctx, fe) : open_dead(ctx, fe);
}

const struct fd_ops pidfd_fd_ops = {
	.type = FD_TYPE__FD_PIDFD,
	.name = "pidfd",
	.anon = pidfd_anon,
	.dump = pidfd_dump,
	.prepare = pidfd_prepare,
	.where = pidfd_where,
	.inflight = pidfd_inflight,
	.open = pidfd_open_file,
};
