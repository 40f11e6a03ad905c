// SPDX-License-Identifier: GPL-2.0
/*
 * The ptys of a dumped tree, found once it is frozen, before any fd is
 * dumped (the pty kind's collect()): every pty master a process of the tree
 * holds, which of their slaves the tree holds, which processes have one as
 * controlling terminal. A pty is the tree's when the tree holds its master;
 * a process outside the tree that holds either end, or has it as its
 * controlling terminal, would be cut off by a restore: that is refused.
 * (A slave whose master is outside is an external terminal: files-pty.c.)
 *
 * Each pty's state (pty_info) and queued bytes (tty-data.img) are saved
 * here, and the bytes put straight back (files-pty-io.c): the process may
 * go on running. The slave's input is read through our own open of the
 * slave, and only while the tree holds it open too: opening the last open
 * of a slave and closing it again would change the pty (the master reads
 * EIO afterwards, the session loses its controlling terminal).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "files/files-pty.h"
#include "log.h"
#include "vpid.h"

#define PTMX_RDEV	 makedev(5, 2)
#define PTY_MASTER_MAJOR 128 /* UNIX98_PTY_MASTER_MAJOR, 8 majors */

/* A pty slave open in the tree, or a controlling terminal of one of its tasks. */
struct slave_use {
	uint32_t index;
	pid_t pid, sid;
	int fd;			/* -1: it is the task's controlling terminal */
};

struct tree_scan {
	struct pty_dump_state *ps;
	struct slave_use *uses;
	size_t nr_uses;
};

static bool is_master(const struct stat *st)
{
	return S_ISCHR(st->st_mode) &&
	       (st->st_rdev == PTMX_RDEV || (major(st->st_rdev) >= PTY_MASTER_MAJOR &&
					     major(st->st_rdev) < PTY_SLAVE_MAJOR_FIRST));
}

int pty_slave_index(const struct pty_dump_state *ps, const struct stat *st)
{
	unsigned int ma = major(st->st_rdev);

	if (!S_ISCHR(st->st_mode) || ma < PTY_SLAVE_MAJOR_FIRST || ma > PTY_SLAVE_MAJOR_LAST ||
	    st->st_dev != ps->devpts)
		return -1;
	return (ma - PTY_SLAVE_MAJOR_FIRST) * 256 + minor(st->st_rdev);
}

/* The pty index of master fd @fd of @pid ("tty-index:" in its fdinfo), or -1. */
static int master_index(pid_t pid, int fd)
{
	char path[64], buf[4096], *p;
	int idx = -1, f;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return -1;
	n = read(f, buf, sizeof(buf) - 1);
	close(f);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strstr(buf, "tty-index:");
	if (!p || sscanf(p, "tty-index: %d", &idx) != 1)
		return -1;
	return idx;
}

static struct pty_seen *find_pty(const struct pty_dump_state *ps, uint32_t index)
{
	for (size_t i = 0; i < ps->nr; i++)
		if (ps->ptys[i].index == index)
			return &ps->ptys[i];
	return NULL;
}

static int add_master(struct pty_dump_state *ps, pid_t pid, int pidfd, int fd, uint32_t index)
{
	struct pty_seen *n = realloc(ps->ptys, (ps->nr + 1) * sizeof(*n));

	if (!n) {
		pr_err("pid %d fd %d: out of memory", pid, fd);
		return -1;
	}
	ps->ptys = n;
	n = &ps->ptys[ps->nr];
	*n = (struct pty_seen){ .index = index, .pid = pid, .fd = fd };
	n->master = syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	if (n->master < 0) {
		pr_perror("pid %d fd %d: pidfd_getfd", pid, fd);
		return -1;
	}
	ps->nr++;
	return 0;
}

/*
 * The session whose controlling terminal pty @p is, 0 if none. A task's
 * controlling terminal is known by device number only, which the ptys of
 * other devpts instances share: the session tells them apart.
 */
static pid_t pty_session(const struct pty_seen *p)
{
	pid_t sid = 0;

	return ioctl(p->master, TIOCGSID, &sid) ? 0 : sid;
}

static int add_use(struct tree_scan *sc, uint32_t index, pid_t pid, pid_t sid, int fd)
{
	struct slave_use *n = realloc(sc->uses, (sc->nr_uses + 1) * sizeof(*n));

	if (!n) {
		pr_err("pid %d: out of memory", pid);
		return -1;
	}
	sc->uses = n;
	sc->uses[sc->nr_uses++] = (struct slave_use){ index, pid, sid, fd };
	return 0;
}

/*
 * Call @fn for each fd of @pid that is a character device, with its stat.
 * A process or fd that goes away meanwhile is skipped.
 */
static int for_each_chr(pid_t pid, int (*fn)(void *arg, pid_t pid, int fd, struct stat *st),
			void *arg)
{
	char path[64];
	struct dirent *de;
	struct stat st;
	DIR *dir;
	int ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	dir = opendir(path);
	if (!dir)
		return 0;
	while (!ret && (de = readdir(dir))) {
		int fd = atoi(de->d_name);

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
		if (stat(path, &st) || !S_ISCHR(st.st_mode))
			continue;
		ret = fn(arg, pid, fd, &st);
	}
	closedir(dir);
	return ret;
}

struct task_arg {
	struct tree_scan *sc;
	const struct dump_task *t;
	int pidfd;
};

static int tree_fd(void *arg, pid_t pid, int fd, struct stat *st)
{
	struct task_arg *ta = arg;
	struct pty_dump_state *ps = ta->sc->ps;
	int idx;

	if (is_master(st)) {
		idx = master_index(pid, fd);
		if (idx < 0 || find_pty(ps, idx))
			return 0;
		return add_master(ps, pid, ta->pidfd, fd, idx);
	}
	idx = pty_slave_index(ps, st);
	return idx < 0 ? 0 : add_use(ta->sc, idx, pid, ta->t->sid, fd);
}

static int scan_task(struct tree_scan *sc, const struct dump_task *t)
{
	struct task_arg ta = { sc, t, -1 };
	struct stat st = { .st_mode = S_IFCHR, .st_dev = sc->ps->devpts };
	pid_t sid = 0;
	int ret, idx;

	/* Masters are taken from the task; the dump opens its own pidfd later. */
	ta.pidfd = syscall(SYS_pidfd_open, t->pid, 0);
	if (ta.pidfd < 0) {
		pr_perror("pid %d: pidfd_open", t->pid);
		return -1;
	}
	ret = for_each_chr(t->pid, tree_fd, &ta);
	close(ta.pidfd);
	st.st_rdev = files_ctty_of(t->pid, &sid, NULL);
	idx = pty_slave_index(sc->ps, &st);
	if (!ret && idx >= 0)
		ret = add_use(sc, idx, t->pid, t->sid, -1);
	return ret;
}

static bool in_tree(const struct dump_ctx *ctx, pid_t pid)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		if (ctx->tasks[i].pid == pid)
			return true;
	return false;
}

/* A process outside the tree using a pty of the tree: refused, naming both. */
static int outside_fd(void *arg, pid_t pid, int fd, struct stat *st)
{
	struct pty_dump_state *ps = arg;
	const struct pty_seen *p;
	bool master = is_master(st);
	int idx = master ? master_index(pid, fd) : pty_slave_index(ps, st);

	p = idx < 0 ? NULL : find_pty(ps, idx);
	if (!p)
		return 0;
	/*
	 * A master's index is its devpts instance's: another instance (another
	 * container's) has a pty of that index too. Only our master's own
	 * open file description is our pty's master.
	 */
	if (master) {
		long same = syscall(SYS_kcmp, getpid(), pid, KCMP_FILE, p->master, fd);

		if (same > 0 || (same < 0 && errno != ENOSYS))
			return 0;
	}
	pr_err("pid %d fd %d: pty /dev/pts/%u: pid %d outside the dumped tree holds its %s "
	       "(fd %d); dump that process with it",
	       p->pid, p->fd, p->index, pid, master ? "master" : "slave", fd);
	return -1;
}

static int scan_outside(const struct dump_ctx *ctx, struct pty_dump_state *ps)
{
	struct stat st = { .st_mode = S_IFCHR, .st_dev = ps->devpts };
	const struct pty_seen *p;
	struct dirent *de;
	DIR *dir;
	int ret = 0, idx;
	pid_t pid, sid = 0;

	dir = opendir("/proc");
	if (!dir) {
		pr_perror("cannot list /proc to find who else uses the tree's ptys");
		return -1;
	}
	while (!ret && (de = readdir(dir))) {
		pid = atoi(de->d_name);
		if (pid <= 0 || in_tree(ctx, pid) || pid == getpid())
			continue;
		st.st_rdev = files_ctty_of(pid, &sid, NULL);
		idx = pty_slave_index(ps, &st);
		p = idx < 0 ? NULL : find_pty(ps, idx);
		/* Only a pty's own session has it as controlling terminal. */
		if (p && p->sid && p->sid == sid) {
			pr_err("pid %d fd %d: pty /dev/pts/%u is the controlling terminal of pid "
			       "%d outside the dumped tree; dump that process with it",
			       p->pid, p->fd, p->index, pid);
			ret = -1;
			break;
		}
		ret = for_each_chr(pid, outside_fd, ps);
	}
	closedir(dir);
	return ret;
}

static PtyInfo *info_new(void)
{
	PtyInfo *info = malloc(sizeof(*info));
	TtyTermios *ti = malloc(sizeof(*ti));
	TtyWinsize *ws = malloc(sizeof(*ws));

	if (!info || !ti || !ws) {
		free(info);
		free(ti);
		free(ws);
		return NULL;
	}
	pty_info__init(info);
	tty_termios__init(ti);
	tty_winsize__init(ws);
	info->termios = ti;
	info->winsize = ws;
	return info;
}

/* Who has it as controlling terminal: one session, whose leader is of the tree. */
static int save_ctty(const struct dump_ctx *ctx, const struct tree_scan *sc,
		     struct pty_seen *p, const char *who)
{
	PtyInfo *info = p->info;
	bool leader = false;
	int pgrp = 0;

	for (size_t i = 0; i < sc->nr_uses; i++) {
		const struct slave_use *u = &sc->uses[i];
		uint32_t *n;

		if (u->index != p->index || u->fd >= 0 || !p->sid || u->sid != p->sid)
			continue;
		if (info->n_ctty_pids && (pid_t)info->sid != u->sid) {
			pr_err("%s: it is the controlling terminal of pids %u and %d, of sessions "
			       "%u and %d; cannot restore that",
			       who, info->ctty_pids[0], u->pid, info->sid, u->sid);
			return -1;
		}
		n = realloc(info->ctty_pids, (info->n_ctty_pids + 1) * sizeof(*n));
		if (!n) {
			pr_err("%s: out of memory", who);
			return -1;
		}
		info->ctty_pids = n;
		info->ctty_pids[info->n_ctty_pids++] = u->pid;
		info->has_sid = true;
		info->sid = u->sid;
		leader |= u->pid == u->sid;
	}
	if (!info->n_ctty_pids)
		return 0;
	if (!leader || !in_tree(ctx, info->sid)) {
		pr_err("%s: it is the controlling terminal of session %u, whose leader %s; "
		       "cannot restore that",
		       who, info->sid,
		       in_tree(ctx, info->sid) ? "does not have it" : "is not in the dumped tree");
		return -1;
	}
	if (ioctl(p->master, TIOCGPGRP, &pgrp)) {
		pr_perror("%s: TIOCGPGRP", who);
		return -1;
	}
	info->has_pgrp = true;
	/* As the tree's pid namespace sees them. */
	info->pgrp = dump_vpid(ctx, pgrp);
	info->sid = dump_vpid(ctx, info->sid);
	for (size_t i = 0; i < info->n_ctty_pids; i++)
		info->ctty_pids[i] = dump_vpid(ctx, info->ctty_pids[i]);
	return 0;
}

/* Our own open of the slave, while the tree holds it open too (see the top). */
static int open_peer(const struct pty_seen *p, const char *who)
{
	int unlock = 0, lock = 1, locked = 0, fd;

	if (ioctl(p->master, TIOCGPTLCK, &locked)) {
		pr_perror("%s: TIOCGPTLCK", who);
		return -1;
	}
	if (locked && ioctl(p->master, TIOCSPTLCK, &unlock)) {
		pr_perror("%s: cannot unlock it to read its slave side", who);
		return -1;
	}
	fd = ioctl(p->master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		pr_perror("%s: cannot open its slave to read its input", who);
	if (locked && ioctl(p->master, TIOCSPTLCK, &lock)) {
		pr_perror("%s: cannot lock it again", who);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* The slave side: open in the tree, opened once and closed (master HUP), or never. */
static PtySlaveState slave_state(const struct tree_scan *sc, const struct pty_seen *p)
{
	struct pollfd pfd = { .fd = p->master, .events = POLLIN };

	for (size_t i = 0; i < sc->nr_uses; i++)
		if (sc->uses[i].index == p->index && sc->uses[i].fd >= 0)
			return PTY_SLAVE_STATE__PTY_SLAVE_OPEN;
	if (poll(&pfd, 1, 0) >= 0 && (pfd.revents & POLLHUP))
		return PTY_SLAVE_STATE__PTY_SLAVE_CLOSED;
	return PTY_SLAVE_STATE__PTY_SLAVE_UNUSED;
}

static int save_modes(struct pty_seen *p, int peer, const char *who)
{
	PtyInfo *info = p->info;
	int packet = 0, locked = 0, excl = 0, ldisc = 0;
	struct winsize ws;

	if (ioctl(p->master, TIOCGWINSZ, &ws) || ioctl(p->master, TIOCGPKT, &packet) ||
	    ioctl(p->master, TIOCGPTLCK, &locked)) {
		pr_perror("%s: cannot read its window size, packet mode or lock", who);
		return -1;
	}
	info->winsize->rows = ws.ws_row;
	info->winsize->cols = ws.ws_col;
	info->winsize->xpixel = ws.ws_xpixel;
	info->winsize->ypixel = ws.ws_ypixel;
	info->packet = packet;
	info->locked = locked;
	if (peer < 0)
		return 0;
	if (ioctl(peer, TIOCGEXCL, &excl) || ioctl(peer, TIOCGETD, &ldisc)) {
		pr_perror("%s: cannot read its slave's exclusive mode or line discipline", who);
		return -1;
	}
	if (ldisc != N_TTY) {
		pr_err("%s: its slave uses line discipline %d; only N_TTY (0) is supported", who,
		       ldisc);
		return -1;
	}
	info->has_exclusive = true;
	info->exclusive = excl;
	return 0;
}

/* Everything about one pty; its queued bytes taken and put back. */
static int save_pty(const struct dump_ctx *ctx, const struct tree_scan *sc, struct pty_seen *p)
{
	uint32_t pktstatus = 0;
	struct termios t;
	TtyDataEntry *td;
	int peer = -1, ret = -1;
	char who[96];

	snprintf(who, sizeof(who), "pid %d fd %d: pty /dev/pts/%u", p->pid, p->fd, p->index);
	p->info = info_new();
	td = malloc(sizeof(*td));
	if (!p->info || !td) {
		pr_err("%s: out of memory", who);
		free(td);
		return -1;
	}
	tty_data_entry__init(td);
	td->index = p->index;
	if (tcgetattr(p->master, &t)) {
		pr_perror("%s: cannot read its termios", who);
		goto out;
	}
	p->info->slave = slave_state(sc, p);
	if (pty_termios_save(&t, p->info->termios, who) || save_ctty(ctx, sc, p, who))
		goto out;
	if (p->info->slave == PTY_SLAVE_STATE__PTY_SLAVE_OPEN) {
		peer = open_peer(p, who);
		if (peer < 0)
			goto out;
	}
	if (save_modes(p, peer, who))
		goto out;
	if (pty_data_take(p->master, peer, &t, p->info->packet, td, &pktstatus, who) ||
	    pty_data_put(p->master, peer, &t, td, pktstatus, who))
		goto out;
	p->info->has_pktstatus = pktstatus;
	p->info->pktstatus = pktstatus;
	if (td->n_lines || td->input.len || td->output.len) {
		p->data = td;
		td = NULL;
	}
	ret = 0;
out:
	if (td)
		tty_data_entry__free_unpacked(td, NULL);
	if (peer >= 0)
		close(peer);
	return ret;
}

int pty_collect(struct dump_ctx *ctx, struct pty_dump_state *ps)
{
	struct tree_scan sc = { .ps = ps };
	struct stat st;
	int ret = -1;

	/*
	 * Slaves of another devpts instance are not this tree's ptys: the
	 * tree's is the one its root sees at /dev/pts (in a container, the
	 * container's own).
	 */
	ps->devpts = files_stat_as(ctx->tasks[0].pid, "/dev/pts", &st) ? (dev_t)-1 : st.st_dev;
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		if (!ctx->tasks[i].zombie && scan_task(&sc, &ctx->tasks[i]))
			goto out;
	for (size_t i = 0; i < ps->nr; i++)
		ps->ptys[i].sid = pty_session(&ps->ptys[i]);
	if (ps->nr && scan_outside(ctx, ps))
		goto out;
	for (size_t i = 0; i < ps->nr; i++)
		if (save_pty(ctx, &sc, &ps->ptys[i]))
			goto out;
	ret = 0;
out:
	free(sc.uses);
	return ret;
}

void pty_dump_state_free(struct pty_dump_state *ps)
{
	for (size_t i = 0; i < ps->nr; i++) {
		struct pty_seen *p = &ps->ptys[i];

		if (p->master >= 0)
			close(p->master);
		if (p->info)
			pty_info__free_unpacked(p->info, NULL);
		if (p->data)
			tty_data_entry__free_unpacked(p->data, NULL);
	}
	free(ps->ptys);
}
