// SPDX-License-Identifier: GPL-2.0
/*
 * Controlling terminals of restored sessions (see files-ctty.h). The ioctls
 * go through the pty's master: TIOCSCTTY and TIOCSPGRP on a master act on
 * its slave, which the session may not hold open at all. A console whose
 * master was outside (--orphan-pts-master) is reached through its slave,
 * which the session holds. Signals are
 * blocked in a task until its restorer ends, so TIOCSPGRP from a background
 * group does not stop it with SIGTTOU.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "files/files-ctty.h"
#include "files/files-kind.h"
#include "log.h"
#include "ns/pid-nest.h"

/*
 * A session's controlling terminal as the images say: a pty of the tree
 * (through its master), or with --orphan-pts-master the slave of the new
 * pty made for a console whose master was outside (a container's).
 */
struct ctty {
	const FileEntry *fe;	/* the pty's master entry, or the console slave's */
	const PtyInfo *info;	/* the pty's state; NULL for the console */
	bool has_pgrp;
	pid_t pgrp;
};

static bool session_ctty(const struct restore_ctx *ctx, pid_t sid, struct ctty *c)
{
	bool console = ctx->opts->orphan_pts_master && !ctx->opts->shell_job;

	for (size_t i = 0; i < ctx->nr_files; i++) {
		const FileEntry *fe = ctx->files[i];
		const PtyInfo *info = fe->type == FD_TYPE__FD_PTY && fe->pty ? fe->pty->info : NULL;
		const ChrEntry *ce = fe->type == FD_TYPE__FD_TTY ? fe->chr : NULL;

		if (info && info->n_ctty_pids && (pid_t)info->sid == sid) {
			*c = (struct ctty){ fe, info, info->has_pgrp, info->pgrp };
			return true;
		}
		if (console && ce && ce->has_ctty_sid && (pid_t)ce->ctty_sid == sid) {
			*c = (struct ctty){ fe, NULL, ce->has_ctty_pgrp, ce->ctty_pgrp };
			return true;
		}
	}
	return false;
}

/* Every task of the console's session had it; a pty's says which did. */
static bool had_ctty(const struct ctty *c, pid_t pid)
{
	if (!c->info)
		return true;
	for (size_t i = 0; i < c->info->n_ctty_pids; i++)
		if ((pid_t)c->info->ctty_pids[i] == pid)
			return true;
	return false;
}

/* The terminal's fd in this task (the master, or the console's slave), inherited. */
static int ctty_fd(const struct restore_ctx *ctx, const struct ctty *c, pid_t pid)
{
	int fd = files_fd_of(ctx, c->fe->id);

	if (fd >= 0)
		return fd;
	if (c->info)
		pr_err("pid %d: the master of pty %u (file id %u) is not open", pid,
		       c->fe->pty->index, c->fe->id);
	else
		pr_err("pid %d: its console %s (file id %u) is not open", pid, c->fe->chr->path,
		       c->fe->id);
	return -1;
}

static void ctty_name(const struct ctty *c, char *buf, size_t len)
{
	if (c->info)
		snprintf(buf, len, "pty %u", c->fe->pty->index);
	else
		snprintf(buf, len, "console %s", c->fe->chr->path);
}

int files_session_ctty(struct restore_ctx *ctx, const struct restore_task *t)
{
	struct ctty c;
	char name[64];
	int fd;

	if (!session_ctty(ctx, t->pid, &c) || !had_ctty(&c, t->pid))
		return 0;
	fd = ctty_fd(ctx, &c, t->pid);
	if (fd < 0)
		return -1;
	if (ioctl(fd, TIOCSCTTY, 0)) {
		ctty_name(&c, name, sizeof(name));
		pr_perror("pid %d: cannot make %s its controlling terminal", t->pid, name);
		return -1;
	}
	return 0;
}

int files_task_tty(struct restore_ctx *ctx, const struct restore_task *t)
{
	struct ctty c;
	char name[64];
	pid_t pgrp;
	int fd;

	if (!session_ctty(ctx, t->pe->sid, &c))
		return 0;
	if (!had_ctty(&c, t->pid)) {
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
	/* The group as the task's pid namespace sees it (ns/pid-nest.h). */
	pgrp = c.has_pgrp ? pidns_rst_pid_seen(ctx, t, c.pgrp) : 0;
	if (!pgrp || pgrp != getpgid(0))
		return 0;
	fd = ctty_fd(ctx, &c, t->pid);
	if (fd < 0)
		return -1;
	if (ioctl(fd, TIOCSPGRP, &pgrp)) {
		ctty_name(&c, name, sizeof(name));
		pr_perror("pid %d: cannot make process group %d the foreground of %s", t->pid,
			  pgrp, name);
		return -1;
	}
	return 0;
}
