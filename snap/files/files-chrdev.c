// SPDX-License-Identifier: GPL-2.0
/*
 * What the character-device kinds share: the chr_entry they save, a
 * terminal of the outside world (files-tty.c, and files-pty.c for a pty
 * slave whose master is not the tree's), telling a terminal from another
 * device (chr takes what tty and pty do not), and making a pty with a given
 * index at restore (pty and tty).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include "files/files-chrdev.h"
#include "log.h"
#include "pty-hunt.h"
#include "vpid.h"

int chr_entry_fill(const struct fd_desc *d, FileEntry *fe)
{
	ChrEntry *ce;

	ce = malloc(sizeof(*ce));
	if (!ce)
		goto oom;
	chr_entry__init(ce);
	fe->chr = ce;
	ce->path = strdup(d->path);
	if (!ce->path)
		goto oom;
	ce->flags = d->flags;
	ce->rdev = files_encode_dev(d->st.st_rdev);
	return 0;
oom:
	pr_err("pid %d fd %d: out of memory", d->pid, d->fd);
	return -1;
}

int pty_new(struct restore_ctx *ctx, int flags, uint32_t want, uint32_t *got, const char *who)
{
	/* One the mount restore made to bind its slave (a container's /dev/console). */
	for (size_t i = 0; i < ctx->nr_held_ptys; i++) {
		struct held_pty *h = &ctx->held_ptys[i];
		int fd = h->master;

		if (h->index != want || fd < 0 || (flags & O_ACCMODE) != O_RDWR)
			continue;
		h->master = -1;
		*got = want;
		return fd;
	}
	return pty_hunt(AT_FDCWD, access("/dev/ptmx", F_OK) ? "/dev/pts/ptmx" : "/dev/ptmx", flags,
			want, got, who);
}

/* A pty slave (not /dev/tty, /dev/console, a console or a serial line)? */
static bool pty_slave(const struct fd_desc *d)
{
	unsigned int ma = major(d->st.st_rdev);

	return ma >= UNIX98_PTY_SLAVE_MAJOR && ma < UNIX98_PTY_SLAVE_MAJOR + 8;
}

/*
 * --orphan-pts-master: the session of the tree whose controlling terminal
 * the slave is (a container's shell's), and its foreground group, as the
 * tree's pid namespace sees them; restore makes it that again (files-ctty.c).
 */
static void orphan_ctty(const struct dump_ctx *ctx, const struct fd_desc *d, ChrEntry *ce)
{
	pid_t sid = 0, fg = -1;

	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		const struct dump_task *t = &ctx->tasks[i];

		if (t->zombie || t->pid != t->sid ||
		    files_ctty_of(t->pid, &sid, &fg) != d->st.st_rdev)
			continue;
		ce->has_ctty_sid = true;
		ce->ctty_sid = dump_vpid(ctx, t->pid);
		ce->has_ctty_pgrp = fg > 0 && dump_vpid(ctx, fg) > 0;
		ce->ctty_pgrp = ce->has_ctty_pgrp ? dump_vpid(ctx, fg) : 0;
		return;
	}
}

int tty_external_dump(struct dump_ctx *ctx, const struct fd_desc *d, FileEntry *fe)
{
	/* --orphan-pts-master: a container's console, whose master its runtime holds. */
	if (!ctx->opts->shell_job && !(ctx->opts->orphan_pts_master && pty_slave(d))) {
		pr_err("pid %d fd %d: a terminal (%s) needs --shell-job%s", d->pid, d->fd, d->path,
		       pty_slave(d) ? " or --orphan-pts-master" : "");
		return -1;
	}
	if (chr_entry_fill(d, fe))
		return -1;
	if (!ctx->opts->shell_job)
		orphan_ctty(ctx, d, fe->chr);
	return 0;
}

static bool tty_major(unsigned int ma)
{
	return ma == TTY_MAJOR || ma == TTYAUX_MAJOR ||
	       (ma >= UNIX98_PTY_MASTER_MAJOR && ma < UNIX98_PTY_SLAVE_MAJOR + 8);
}

bool fd_is_terminal(const struct fd_desc *d)
{
	struct termios t;

	if (!S_ISCHR(d->st.st_mode))
		return false;
	return tty_major(major(d->st.st_rdev)) || !ioctl(d->local, TCGETS, &t);
}
