// SPDX-License-Identifier: GPL-2.0
/*
 * Terminals of the outside world (virtual consoles, /dev/tty, /dev/console,
 * serial lines, and pty slaves whose master is not the tree's, which
 * files-pty.c hands over as FD_TTY). Only --shell-job is supported, as in
 * CRIU: the process was started from a shell and is restored onto snap's
 * own terminal (ctx->tty_fd), so a terminal fd is a new open of that
 * terminal with the dumped flags. The ptys whose master the tree holds are
 * files-pty.c's.
 */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

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

static int tty_prepare(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	(void)st;
	if (!fe->chr) {
		pr_err("files.img: file id %u: a terminal without its chr part", fe->id);
		return -1;
	}
	if (!ctx->opts->shell_job) {
		pr_err("files.img: file id %u: the process had a terminal (%s); restore it with "
		       "--shell-job",
		       fe->id, fe->chr->path);
		return -1;
	}
	return 0;
}

static int tty_open(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	const ChrEntry *ce = fe->chr;
	int fd;

	(void)st;
	if (ctx->tty_fd < 0) {
		pr_err("--shell-job: snap restore has no terminal on stdin");
		return -1;
	}
	/*
	 * A new open, not a dup: a dup would share snap's own file description,
	 * and setting O_NONBLOCK on it would leave the user's shell with a
	 * non-blocking terminal.
	 */
	fd = reopen_fd(ctx->tty_fd, (ce->flags & O_ACCMODE) | O_NOCTTY | O_CLOEXEC);
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

const struct fd_ops tty_fd_ops = {
	.type = FD_TYPE__FD_TTY,
	.name = "terminal",
	.fmts = FD_FMT(S_IFCHR),
	.match = tty_match,
	.dump = tty_dump,
	.open = tty_open,
	.prepare = tty_prepare,
};
