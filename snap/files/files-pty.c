// SPDX-License-Identifier: GPL-2.0
/*
 * pty pairs the dumped tree holds the master of (FD_PTY): masters
 * (/dev/ptmx) and slaves (/dev/pts/N), and /dev/tty opened on such a slave
 * (restored as an open of the slave itself). A slave whose master is
 * outside the tree is an external terminal (the user's own, say): it is saved
 * as FD_TTY, as files-tty.c saves every other terminal, and so needs
 * --shell-job.
 *
 * Dump: collect() finds the tree's ptys and saves their state and queued
 * bytes (files-pty-tree.c); each master's file_entry carries its pty's
 * state, each slave's names its pty by index; the bytes go to tty-data.img.
 *
 * The tree's devpts is the one its root sees at /dev/pts: in a container,
 * the container's own instance.
 *
 * Restore, in snap before any process exists, or for a tree with a mount
 * namespace of its own in its root once it has pivoted into the restored
 * mounts (FD_IN_ROOT: the ptys are the restored devpts's), before its
 * children: so the processes inherit them, and a session leader can take
 * its controlling terminal from them (files-ctty.c). A pty is made when its
 * first end is opened, with the index it had (pty_new(): ptmx hands out the
 * lowest free index, or the mount restore made it already to bind its slave
 * somewhere); if that index is taken, the pty gets another (a warning says
 * which) and every end follows, since slaves are opened from the master
 * (TIOCGPTPEER), not by name. Then its
 * termios, window size, packet mode and queued bytes are put back through
 * a slave of our own ("keeper"); once every file is open the pty is locked
 * again if it was, and the keeper closed: a slave the tree did not hold
 * then reads as closed, as it was.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "files/files-chrdev.h"
#include "files/files-pty.h"
#include "image.h"
#include "log.h"

/* A pty made by the restore, its fds kept until every file is open. */
struct pty_made {
	uint32_t index;		/* in the image */
	int master;
	int keeper;		/* our slave, or -1 (a slave never opened) */
	const PtyInfo *info;
};

struct pty_restore_state {
	TtyDataEntry **data;	/* tty-data.img */
	size_t nr_data;
	struct pty_made *made;
	size_t nr_made;
};

#define DEV_TTY makedev(TTYAUX_MAJOR, 0) /* /dev/tty: the caller's controlling terminal */

/* pty ends, and /dev/tty, which may be one. */
static bool pty_match(const struct fd_desc *d)
{
	unsigned int ma = major(d->st.st_rdev);

	return d->st.st_rdev == makedev(TTYAUX_MAJOR, PTMX_MINOR) || d->st.st_rdev == DEV_TTY ||
	       (ma >= UNIX98_PTY_MASTER_MAJOR && ma <= PTY_SLAVE_MAJOR_LAST);
}

static int pty_collect_hook(struct dump_ctx *ctx, void *st)
{
	return pty_collect(ctx, st);
}

static struct pty_seen *find_seen(struct pty_dump_state *ps, uint32_t index)
{
	for (size_t i = 0; i < ps->nr; i++)
		if (ps->ptys[i].index == index)
			return &ps->ptys[i];
	return NULL;
}

/*
 * The pty of the tree that @d is an end of (*@master says which), or NULL.
 * An fd opened as /dev/tty is the slave that was its controlling terminal
 * then (TIOCGDEV): it comes back as an open of that slave.
 */
static struct pty_seen *pty_of(struct pty_dump_state *ps, const struct fd_desc *d, bool *master)
{
	struct stat st = d->st;
	unsigned int n;
	int idx;

	*master = d->st.st_rdev != DEV_TTY && major(d->st.st_rdev) < UNIX98_PTY_SLAVE_MAJOR;
	if (*master)
		return ioctl(d->local, TIOCGPTN, &n) ? NULL : find_seen(ps, n);
	if (d->st.st_rdev == DEV_TTY) {
		if (ioctl(d->local, TIOCGDEV, &n))
			return NULL;
		/* new_encode_dev(); the slave is of the devpts instance we know. */
		st.st_rdev = makedev((n >> 8) & 0xfff, (n & 0xff) | ((n >> 12) & 0xfff00));
		st.st_dev = ps->devpts;
	}
	idx = pty_slave_index(ps, &st);
	return idx < 0 ? NULL : find_seen(ps, idx);
}

static int pty_dump(struct dump_ctx *ctx, void *st, const struct fd_desc *d, FileEntry *fe)
{
	struct pty_dump_state *ps = st;
	struct pty_seen *p;
	PtyEntry *pe;
	bool master;

	p = pty_of(ps, d, &master);
	if (!p && !master) {
		/* Its master is not the tree's: a terminal of the outside world. */
		fe->type = FD_TYPE__FD_TTY;
		return tty_external_dump(ctx, d, fe);
	}
	if (!p || (master && !p->info)) {
		pr_err("pid %d fd %d: pty master %s was not found in the tree's fds", d->pid, d->fd,
		       d->path);
		return -1;
	}
	pe = malloc(sizeof(*pe));
	if (!pe) {
		pr_err("pid %d fd %d: out of memory", d->pid, d->fd);
		return -1;
	}
	pty_entry__init(pe);
	fe->pty = pe;
	pe->index = p->index;
	pe->master = master;
	pe->flags = d->flags;
	/* One open file description per master: it takes the pty's state. */
	if (master) {
		pe->info = p->info;
		p->info = NULL;
	}
	return 0;
}

/* tty-data.img: the ptys that had bytes queued. */
static int pty_write(struct dump_ctx *ctx, void *st)
{
	struct pty_dump_state *ps = st;
	struct image *img;
	int ret = 0;

	img = img_open_write(ctx->dirfd, IMG_TTY_DATA, 0);
	if (!img)
		return -1;
	for (size_t i = 0; i < ps->nr && !ret; i++)
		if (ps->ptys[i].data)
			ret = img_write(img, &ps->ptys[i].data->base);
	if (img_close(img))
		ret = -1;
	return ret;
}

static void pty_dump_free(void *st)
{
	pty_dump_state_free(st);
}

/* The master entry of pty @index in files.img, or NULL. */
static const FileEntry *master_entry(const struct restore_ctx *ctx, uint32_t index)
{
	for (size_t i = 0; i < ctx->nr_files; i++) {
		const FileEntry *fe = ctx->files[i];

		if (fe->type == FD_TYPE__FD_PTY && fe->pty && fe->pty->master &&
		    fe->pty->index == index)
			return fe;
	}
	return NULL;
}

static const TtyDataEntry *find_data(const struct pty_restore_state *ps, uint32_t index)
{
	for (size_t i = 0; i < ps->nr_data; i++)
		if (ps->data[i]->index == index)
			return ps->data[i];
	return NULL;
}

/* tty-data.img is optional (older images have no ptys); each entry is a master's. */
static int pty_load(struct restore_ctx *ctx, void *st)
{
	struct pty_restore_state *ps = st;
	void **msgs;

	if (img_load_all(ctx->dirfd, IMG_TTY_DATA, 0, true, &msgs, &ps->nr_data))
		return -1;
	ps->data = (TtyDataEntry **)msgs;
	for (size_t i = 0; i < ps->nr_data; i++) {
		const TtyDataEntry *td = ps->data[i];
		const FileEntry *m = master_entry(ctx, td->index);

		if (find_data(ps, td->index) != td || !m) {
			pr_err("tty-data.img: pty %u %s", td->index,
			       m ? "appears twice" : "has no master in files.img");
			return -1;
		}
		if ((td->n_lines || td->input.len) && m->pty->info &&
		    m->pty->info->slave != PTY_SLAVE_STATE__PTY_SLAVE_OPEN) {
			pr_err("tty-data.img: pty %u has input queued but its slave was not open",
			       td->index);
			return -1;
		}
	}
	return 0;
}

static int check_info(const FileEntry *fe)
{
	const PtyInfo *info = fe->pty->info;
	struct termios t;
	char who[64];

	snprintf(who, sizeof(who), "files.img: file id %u: pty %u", fe->id, fe->pty->index);
	if (!info) {
		pr_err("%s: a master without its pty state", who);
		return -1;
	}
	if (info->slave < PTY_SLAVE_STATE__PTY_SLAVE_OPEN ||
	    info->slave > PTY_SLAVE_STATE__PTY_SLAVE_UNUSED) {
		pr_err("%s: unknown slave state %d", who, info->slave);
		return -1;
	}
	return pty_termios_load(info->termios, &t, who);
}

static int pty_prepare(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	const FileEntry *m;

	(void)st;
	if (!fe->pty) {
		pr_err("files.img: file id %u: a pty without its pty part", fe->id);
		return -1;
	}
	m = master_entry(ctx, fe->pty->index);
	if (!m) {
		pr_err("files.img: file id %u: pty %u has no master in files.img", fe->id,
		       fe->pty->index);
		return -1;
	}
	if (fe->pty->master && m != fe) {
		pr_err("files.img: file ids %u and %u: two masters of pty %u", m->id, fe->id,
		       fe->pty->index);
		return -1;
	}
	return fe->pty->master ? check_info(fe) : 0;
}

/*
 * A tree with a mount namespace of its own had its ptys in its own devpts
 * instance: they are made again in the restored one, by the tree's root
 * once it has pivoted into its mounts, so that their slaves are
 * /dev/pts/N there. Its children inherit them from it, as they would from snap.
 */
static enum fd_where pty_where(const struct restore_ctx *ctx, const FileEntry *fe)
{
	(void)fe;
	return files_paths_in_task(ctx) ? FD_IN_ROOT : FD_IN_SNAP;
}

/* The pty's state, then its queued bytes, into the new pty. */
static int pty_setup(struct pty_restore_state *ps, struct pty_made *m, const char *who)
{
	const PtyInfo *info = m->info;
	const TtyWinsize *w = info->winsize;
	struct winsize ws = { w->rows, w->cols, w->xpixel, w->ypixel };
	int unlock = 0, on = 1;
	struct termios t;

	if (pty_termios_load(info->termios, &t, who))
		return -1;
	if (ioctl(m->master, TIOCSPTLCK, &unlock)) {
		pr_perror("%s: cannot unlock it", who);
		return -1;
	}
	if (info->slave != PTY_SLAVE_STATE__PTY_SLAVE_UNUSED) {
		m->keeper = ioctl(m->master, TIOCGPTPEER,
				  O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
		if (m->keeper < 0) {
			pr_perror("%s: cannot open its slave", who);
			return -1;
		}
	}
	/* The master's termios and window size ioctls are the slave's. */
	if (tcsetattr(m->master, TCSANOW, &t) || ioctl(m->master, TIOCSWINSZ, &ws)) {
		pr_perror("%s: cannot set its termios or window size", who);
		return -1;
	}
	/* Turning packet mode on clears its status: before the status is made again. */
	if (info->packet && ioctl(m->master, TIOCPKT, &on)) {
		pr_perror("%s: cannot turn packet mode on", who);
		return -1;
	}
	if (pty_data_put(m->master, m->keeper, &t, find_data(ps, m->index),
			 info->packet ? info->pktstatus : 0, who))
		return -1;
	if (info->exclusive && m->keeper >= 0 && ioctl(m->keeper, TIOCEXCL)) {
		pr_perror("%s: cannot set its slave exclusive", who);
		return -1;
	}
	return 0;
}

static struct pty_made *get_pty(struct restore_ctx *ctx, struct pty_restore_state *ps,
				const FileEntry *fe)
{
	const FileEntry *mfe = master_entry(ctx, fe->pty->index);
	uint32_t index = fe->pty->index, got = index;
	struct pty_made *m;
	char who[64];

	for (size_t i = 0; i < ps->nr_made; i++)
		if (ps->made[i].index == index)
			return &ps->made[i];
	m = realloc(ps->made, (ps->nr_made + 1) * sizeof(*m));
	if (!m) {
		pr_err("files.img: file id %u: out of memory", fe->id);
		return NULL;
	}
	ps->made = m;
	m = &ps->made[ps->nr_made];
	*m = (struct pty_made){ .index = index, .keeper = -1, .info = mfe->pty->info };
	snprintf(who, sizeof(who), "files.img: file id %u: pty %u", mfe->id, index);
	m->master = pty_new(ctx, (mfe->pty->flags & O_ACCMODE) | O_NOCTTY | O_CLOEXEC, index, &got,
			    who);
	if (m->master < 0)
		return NULL;
	ps->nr_made++;
	return pty_setup(ps, m, who) ? NULL : m;
}

static int pty_open(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	const PtyEntry *pe = fe->pty;
	struct pty_made *m;
	int fd;

	m = get_pty(ctx, st, fe);
	if (!m)
		return -1;
	if (pe->master)
		fd = fcntl(m->master, F_DUPFD_CLOEXEC, 0);
	else
		fd = ioctl(m->master, TIOCGPTPEER, (pe->flags & O_ACCMODE) | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("files.img: file id %u: cannot open the %s of pty %u", fe->id,
			  pe->master ? "master" : "slave", pe->index);
		return -1;
	}
	if (fcntl(fd, F_SETFL, pe->flags) < 0) {
		pr_perror("files.img: file id %u: pty %u: cannot set flags %#o", fe->id, pe->index,
			  pe->flags);
		close(fd);
		return -1;
	}
	return fd;
}

/* Every file is open: lock the ptys that were, drop our ends. */
static void pty_opened(struct restore_ctx *ctx, void *st)
{
	struct pty_restore_state *ps = st;
	int lock = 1;

	(void)ctx;
	for (size_t i = 0; i < ps->nr_made; i++) {
		struct pty_made *m = &ps->made[i];

		if (m->info->locked && ioctl(m->master, TIOCSPTLCK, &lock))
			pr_warn("pty %u: cannot lock it again: %s", m->index, strerror(errno));
		if (m->keeper >= 0)
			close(m->keeper);
		close(m->master);
	}
	free(ps->made);
	ps->made = NULL;
	ps->nr_made = 0;
}

static void pty_restore_free(void *st)
{
	struct pty_restore_state *ps = st;

	for (size_t i = 0; i < ps->nr_data; i++)
		tty_data_entry__free_unpacked(ps->data[i], NULL);
	free(ps->data);
}

const struct fd_ops pty_fd_ops = {
	.type = FD_TYPE__FD_PTY,
	.name = "pty",
	.fmts = FD_FMT(S_IFCHR),
	.match = pty_match,
	.dump_state = sizeof(struct pty_dump_state),
	.collect = pty_collect_hook,
	.dump = pty_dump,
	.write = pty_write,
	.dump_free = pty_dump_free,
	.restore_state = sizeof(struct pty_restore_state),
	.load = pty_load,
	.prepare = pty_prepare,
	.where = pty_where,
	.open = pty_open,
	.opened = pty_opened,
	.restore_free = pty_restore_free,
};
