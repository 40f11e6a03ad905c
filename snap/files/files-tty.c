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
 *
 * A container's console is a pty of its own devpts instance: in a tree with
 * its own mount namespace, the new pty is made by the tree's root in the
 * restored devpts (FD_IN_ROOT), with the slave's index (/dev/pts/0 stays
 * /dev/pts/0), and its master handed to snap over a socketpair made at load;
 * snap sends it to the caller once the tree is restored (tree_restored()),
 * since the RPC connection is snap's, busy with the setup-namespaces
 * notification meanwhile.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
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
	/* Made in the root: [0] snap's end, where its master comes; [1] the root's. */
	bool in_root;
	int chan[2];
	const FileEntry *console;	/* the first such slave: the only one there may be */
};

/* A pty slave at dump (its master outside the tree)? */
static bool was_pty_slave(const FileEntry *fe)
{
	unsigned int ma = (fe->chr->rdev & 0xfff00) >> 8;

	return ma >= UNIX98_PTY_SLAVE_MAJOR && ma < UNIX98_PTY_SLAVE_MAJOR + 8;
}

/*
 * The session and foreground group a console was the terminal of
 * (files-ctty.c makes it that again) must be the tree's.
 */
static int check_console_ctty(const struct restore_ctx *ctx, const FileEntry *fe)
{
	const ChrEntry *ce = fe->chr;
	bool leader = false, group = !ce->has_ctty_pgrp;

	if (!ce->has_ctty_sid)
		return 0;
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		const PstreeEntry *pe = ctx->tasks[i].pe;

		leader |= pe->pid == ce->ctty_sid && pe->sid == ce->ctty_sid;
		group |= pe->sid == ce->ctty_sid && pe->pgid == ce->ctty_pgrp;
	}
	if (leader && group)
		return 0;
	pr_err("files.img: file id %u: console %s was the controlling terminal of session %u "
	       "(foreground group %u), which no task of pstree.img %s", fe->id, ce->path,
	       ce->ctty_sid, ce->ctty_pgrp, leader ? "is in" : "leads");
	return -1;
}

static bool orphan_in_root(const struct restore_ctx *ctx, const FileEntry *fe)
{
	return !ctx->opts->shell_job && ctx->opts->orphan_pts_master && fe->chr &&
	       was_pty_slave(fe) && files_paths_in_task(ctx);
}

static enum fd_where tty_where(const struct restore_ctx *ctx, const FileEntry *fe)
{
	return orphan_in_root(ctx, fe) ? FD_IN_ROOT : FD_IN_SNAP;
}

static int tty_prepare(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	struct tty_restore_state *ts = st;

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
		if (check_console_ctty(ctx, fe))
			return -1;
		/*
		 * One new pty, one master for the caller: a container's
		 * second console (a `runc exec -t`'s) would be merged into it.
		 */
		if (orphan_in_root(ctx, fe) && ts->console &&
		    ts->console->chr->rdev != fe->chr->rdev) {
			pr_err("files.img: file id %u: a second console %s besides %s; "
			       "--orphan-pts-master restores one console per container", fe->id,
			       fe->chr->path, ts->console->chr->path);
			return -1;
		}
		if (!ts->console)
			ts->console = fe;
		if (orphan_in_root(ctx, fe) && !ts->in_root) {
			if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, ts->chan)) {
				pr_perror("files.img: file id %u: socketpair for the master of the "
					  "new pty (--orphan-pts-master)", fe->id);
				return -1;
			}
			ts->in_root = true;
		}
		return 0;
	}
	pr_err("files.img: file id %u: the process had a terminal (%s); restore it with "
	       "--shell-job%s", fe->id, fe->chr->path,
	       was_pty_slave(fe) ? " (or --orphan-pts-master over RPC)" : "");
	return -1;
}

/* In the root: the pty with the slave's index in the tree's devpts. */
static int root_pty(struct restore_ctx *ctx, const FileEntry *fe)
{
	unsigned int mi = (fe->chr->rdev & 0xff) | ((fe->chr->rdev >> 12) & 0xfff00);
	unsigned int ma = (fe->chr->rdev & 0xfff00) >> 8;
	uint32_t got;
	char who[96];

	snprintf(who, sizeof(who), "files.img: file id %u: a new pty in place of %s "
		 "(--orphan-pts-master)", fe->id, fe->chr->path);
	return pty_new(ctx, O_RDWR | O_NOCTTY | O_CLOEXEC, (ma - UNIX98_PTY_SLAVE_MAJOR) * 256 + mi,
		       &got, who);
}

/* @fd over the datagram socket @sk (SCM_RIGHTS). */
static int fd_pass(int sk, int fd, const FileEntry *fe)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 }, c = 0;
	struct iovec iov = { &c, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	if (sendmsg(sk, &mh, MSG_DONTWAIT) != 1) {
		pr_perror("files.img: file id %u: cannot hand the new pty's master to snap",
			  fe->id);
		return -1;
	}
	return 0;
}

/* The fd fd_pass() sent over @sk, or -1 (errno EAGAIN: none). */
static int fd_take(int sk)
{
	char cbuf[CMSG_SPACE(sizeof(int))], c;
	struct iovec iov = { &c, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sk, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&mh);
	if (!cm || cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len != CMSG_LEN(sizeof(int))) {
		errno = EPROTO;
		return -1;
	}
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
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
	if (ts->in_root)
		master = root_pty(ctx, fe);
	else
		master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0) {
		if (!ts->in_root)
			pr_perror("files.img: file id %u: cannot open /dev/ptmx for a new pty in "
				  "place of %s (--orphan-pts-master)", fe->id, fe->chr->path);
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
	/* In the root: to snap, which sends it on in tree_restored(). */
	if (ts->in_root)
		ret = fd_pass(ts->chan[1], master, fe);
	else
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

/* The tree is restored: the master the root made goes to the caller. */
static int tty_tree_restored(struct restore_ctx *ctx, void *st)
{
	const struct action_notifier *n = ctx->opts->notifier;
	struct tty_restore_state *ts = st;
	int master, ret;

	if (!ts->in_root)
		return 0;
	master = fd_take(ts->chan[0]);
	if (master < 0) {
		pr_perror("the tree's root did not hand over the master of its new pty "
			  "(--orphan-pts-master)");
		return -1;
	}
	ret = n->send_fd(n->arg, "orphan-pts-master", master);
	close(master);
	return ret;
}

/* In the root, its files open: the channel is no business of its children. */
static void tty_opened(struct restore_ctx *ctx, void *st)
{
	struct tty_restore_state *ts = st;

	(void)ctx;
	if (ts->made && ts->in_root && ts->chan[1] >= 0) {
		close(ts->chan[1]);
		ts->chan[1] = -1;
	}
}

static void tty_restore_free(void *st)
{
	struct tty_restore_state *ts = st;

	if (ts->made)
		close(ts->slave);
	if (ts->in_root) {
		close(ts->chan[0]);
		if (ts->chan[1] >= 0)
			close(ts->chan[1]);
	}
}

const struct fd_ops tty_fd_ops = {
	.type = FD_TYPE__FD_TTY,
	.name = "terminal",
	.fmts = FD_FMT(S_IFCHR),
	.match = tty_match,
	.dump = tty_dump,
	.restore_state = sizeof(struct tty_restore_state),
	.where = tty_where,
	.open = tty_open,
	.opened = tty_opened,
	.tree_restored = tty_tree_restored,
	.prepare = tty_prepare,
	.restore_free = tty_restore_free,
};
