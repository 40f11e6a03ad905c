// SPDX-License-Identifier: GPL-2.0
/*
 * Controlling terminals of restored sessions (see files-ctty.h). The ioctls
 * go through the pty's master: TIOCSCTTY and TIOCSPGRP on a master act on
 * its slave, which the session may not hold open at all. Signals are
 * blocked in a task until its restorer ends, so TIOCSPGRP from a background
 * group does not stop it with SIGTTOU.
 */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "files/files-ctty.h"
#include "files/files-kind.h"
#include "log.h"

/* The master entry of the pty session @sid had as controlling terminal, or NULL. */
static const FileEntry *session_pty(const struct restore_ctx *ctx, pid_t sid)
{
	for (size_t i = 0; i < ctx->nr_files; i++) {
		const FileEntry *fe = ctx->files[i];
		const PtyInfo *info = fe->type == FD_TYPE__FD_PTY && fe->pty ? fe->pty->info : NULL;

		if (info && info->n_ctty_pids && (pid_t)info->sid == sid)
			return fe;
	}
	return NULL;
}

static bool had_ctty(const PtyInfo *info, pid_t pid)
{
	for (size_t i = 0; i < info->n_ctty_pids; i++)
		if ((pid_t)info->ctty_pids[i] == pid)
			return true;
	return false;
}

/* The master's fd in this task, inherited from snap. */
static int master_fd(const struct restore_ctx *ctx, const FileEntry *fe, pid_t pid)
{
	int fd = files_fd_of(ctx, fe->id);

	if (fd < 0)
		pr_err("pid %d: the master of pty %u (file id %u) is not open", pid,
		       fe->pty->index, fe->id);
	return fd;
}

int files_session_ctty(struct restore_ctx *ctx, const struct restore_task *t)
{
	const FileEntry *fe = session_pty(ctx, t->pid);
	int fd;

	if (!fe || !had_ctty(fe->pty->info, t->pid))
		return 0;
	fd = master_fd(ctx, fe, t->pid);
	if (fd < 0)
		return -1;
	if (ioctl(fd, TIOCSCTTY, 0)) {
		pr_perror("pid %d: cannot make pty %u its controlling terminal", t->pid,
			  fe->pty->index);
		return -1;
	}
	return 0;
}

int files_task_tty(struct restore_ctx *ctx, const struct restore_task *t)
{
	const FileEntry *fe = session_pty(ctx, t->pe->sid);
	const PtyInfo *info;
	pid_t pgrp;
	int fd;

	if (!fe)
		return 0;
	info = fe->pty->info;
	if (!had_ctty(info, t->pid)) {
		/* TIOCNOTTY only works on the controlling terminal itself. */
		fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (fd >= 0 && ioctl(fd, TIOCNOTTY)) {
			pr_perror("pid %d: cannot drop the controlling terminal it inherited",
				  t->pid);
			close(fd);
			return -1;
		}
		if (fd >= 0)
			close(fd);
		return 0;
	}
	if (!info->has_pgrp || (pid_t)info->pgrp != getpgid(0))
		return 0;
	fd = master_fd(ctx, fe, t->pid);
	pgrp = info->pgrp;
	if (fd < 0)
		return -1;
	if (ioctl(fd, TIOCSPGRP, &pgrp)) {
		pr_perror("pid %d: cannot make process group %d the foreground of pty %u",
			  t->pid, pgrp, fe->pty->index);
		return -1;
	}
	return 0;
}
