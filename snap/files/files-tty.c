// SPDX-License-Identifier: GPL-2.0
/*
 * Terminals of the outside world (virtual consoles, /dev/tty, /dev/console,
 * serial lines, and pty slaves whose master is not the tree's, which
 * files-pty.c hands over as FD_TTY). Only --shell-job is supported, as in
 * CRIU: the process was started from a shell and is restored onto snap's
 * own terminal (ctx->tty_fd), so a terminal fd is a new open of that
 * terminal with the dumped flags. Or, with --orphan-pts-master over RPC, a
 * pty slave becomes one of a new pty whose master the caller gets (a
 * container's console). The ptys whose master the tree holds are
 * files-pty.c's.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cr/action-script.h"
#include "files/files-chrdev.h"
#include "log.h"

static bool pty_master(const struct fd_desc *d)
{
	unsigned int ma = major(d->st.st_rdev), mi = minor(d->st.st_rdev), n;

	if (ma == TTYAUX_MAJOR && mi == PTMX_MINOR)
		return true;
	if (ma >= UNIX98_PTY_MASTER_MAJOR && ma < UNIX98_PTY_SLAVE_MAJOR)
		return true;
	/* Only a master answers with its pty number. */
	return !ioctl(d->local, TIOCGPTN, &n);
}

static bool tty_match(const struct fd_desc *d)
{
	return fd_is_terminal(d) && !pty_master(d);
}

static int tty_dump(struct dump_ctx *ctx, void *st, const struct fd_desc *d, FileEntry *fe)
{
	(void)st;
	return tty_external_dump(ctx, d, fe);
}

/* --orphan-pts-master: the new pty the outside terminals become. */
struct tty_restore_state {
	bool made;
	int slave;		/* ours, each terminal fd is a new open of it */
};

/* A pty slave at dump (its master outside the tree)? */
static bool was_pty_slave(const FileEntry *fe)
{
	unsigned int ma = (fe->chr->rdev & 0xfff00) >> 8;

	return ma >= UNIX98_PTY_SLAVE_MAJOR && ma < UNIX98_PTY_SLAVE_MAJOR + 8;
}

static int tty_prepare(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	(void)st;
	if (!fe->chr) {
		pr_err("files.img: file id %u: a terminal without its chr part", fe->id);
		return -1;
	}
	if (ctx->opts->shell_job)
		return 0;
	if (ctx->opts->orphan_pts_master && was_pty_slave(fe)) {
		if (!ctx->opts->notifier || !ctx->opts->notifier->send_fd) {
			pr_err("files.img: file id %u: --orphan-pts-master hands the new pty's "
			       "master to an RPC caller (snap swrk); use --shell-job here",
			       fe->id);
			return -1;
		}
		return 0;
	}
	pr_err("files.img: file id %u: the process had a terminal (%s); restore it with "
	       "--shell-job%s", fe->id, fe->chr->path,
	       was_pty_slave(fe) ? " (or --orphan-pts-master over RPC)" : "");
	return -1;
}

/*
 * CRIU's orphan-pts-master: a new pty in place of the one whose master was
 * outside the tree; its master goes to the caller (runc forwards it to the
 * container's --console-socket), snap keeps none.
 */
static int orphan_pty(struct restore_ctx *ctx, struct tty_restore_state *ts,
		      const FileEntry *fe)
{
	const struct action_notifier *n = ctx->opts->notifier;
	int master, ret;

	if (ts->made)
		return ts->slave;
	master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0) {
		pr_perror("files.img: file id %u: cannot open /dev/ptmx for a new pty in place of "
			  "%s (--orphan-pts-master)", fe->id, fe->chr->path);
		return -1;
	}
	ts->slave = unlockpt(master) ? -1 :
		    ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (ts->slave < 0) {
		pr_perror("files.img: file id %u: cannot open the slave of a new pty "
			  "(--orphan-pts-master)", fe->id);
		close(master);
		return -1;
	}
	ts->made = true;
	ret = n->send_fd(n->arg, "orphan-pts-master", master);
	close(master);
	return ret ? -1 : ts->slave;
}

static int tty_open(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	const ChrEntry *ce = fe->chr;
	int fd, from = ctx->tty_fd;

	if (!ctx->opts->shell_job) {
		from = orphan_pty(ctx, st, fe);
		if (from < 0)
			return -1;
	} else if (from < 0) {
		pr_err("--shell-job: snap restore has no terminal on stdin");
		return -1;
	}
	/*
	 * A new open, not a dup: a dup would share snap's own file description,
	 * and setting O_NONBLOCK on it would leave the user's shell with a
	 * non-blocking terminal.
	 */
	fd = reopen_fd(from, (ce->flags & O_ACCMODE) | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("files.img: file id %u: cannot open our terminal for %s", fe->id,
			  ce->path);
		return -1;
	}
	if (fcntl(fd, F_SETFL, ce->flags) < 0) {
		pr_perror("files.img: file id %u: terminal %s: cannot set flags %#o", fe->id,
			  ce->path, ce->flags);
		close(fd);
		return -1;
	}
	return fd;
}

static void tty_restore_free(void *st)
{
	struct tty_restore_state *ts = st;

	if (ts->made)
		close(ts->slave);
}

const struct fd_ops tty_fd_ops = {
	.type = FD_TYPE__FD_TTY,
	.name = "terminal",
	.fmts = FD_FMT(S_IFCHR),
	.match = tty_match,
	.dump = tty_dump,
	.restore_state = sizeof(struct tty_restore_state),
	.open = tty_open,
	.prepare = tty_prepare,
	.restore_free = tty_restore_free,
};
