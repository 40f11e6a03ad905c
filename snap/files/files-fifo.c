// SPDX-License-Identifier: GPL-2.0
/*
 * FIFOs (named pipes). Each open file description is a file (id) naming its
 * FIFO by fifo_id, the id of the first file met on the same inode; the bytes
 * queued in it and its size go to fifo-data.img once per FIFO, copied
 * without being taken as for pipes (files-pipe-data.c).
 *
 * Restore opens each FIFO once O_RDWR | O_NONBLOCK, which never waits for a
 * peer, refills it through that "anchor", and opens every end as a fresh
 * open of /proc/self/fd/ANCHOR with its own access mode: the anchor counts
 * as reader and writer, so no open blocks, and all ends share the one pipe.
 * The anchors go once every file is open. In a tree with its own mount
 * namespace, the tree's root opens them, at the paths the tree sees.
 *
 * A FIFO unlinked while open ("PATH (deleted)") is made again with mkfifo
 * at its path (or next to it, if the name is taken), opened, and unlinked
 * again once every file is open, as files-reg.c does with deleted files.
 */
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "files/files-pipe-data.h"
#include "log.h"

/* Dump: each FIFO met, by inode. */
struct fifo_seen {
	dev_t dev;
	ino_t ino;
	uint32_t id;
};

struct fifo_dump_state {
	struct pipe_data_set data;	/* fifo-data.img */
	struct fifo_seen *seen;
	size_t nr_seen;
};

/* Restore: a FIFO opened, kept until every file is. */
struct fifo_made {
	uint32_t fifo_id;
	int anchor;
	bool unlink;		/* made again for a deleted one: unlinked when done */
	char path[4096 + 32];
};

struct fifo_restore_state {
	struct pipe_data_set data;	/* fifo-data.img */
	struct fifo_made *made;
	size_t nr_made;
};

static bool fifo_match(const struct fd_desc *d)
{
	return d->path[0] == '/';
}

static struct pipe_data_set *data_set(struct pipe_data_set *s)
{
	s->img = IMG_FIFO_DATA;
	s->noun = "fifo";
	return s;
}

/*
 * Strip " (deleted)" off @path of an unlinked FIFO (*@deleted), or check
 * that @path still names the FIFO.
 */
static int fifo_path(const struct fd_desc *d, char *path, bool *deleted)
{
	struct stat st;

	*deleted = d->st.st_nlink == 0 && cut_deleted(path);
	if (*deleted)
		return 0;
	if (files_stat_as(d->pid, path, &st) || st.st_dev != d->st.st_dev ||
	    st.st_ino != d->st.st_ino) {
		pr_err("pid %d fd %d: fifo %s is no longer at that path (renamed, unlinked while "
		       "linked elsewhere, or mounted over); not supported yet",
		       d->pid, d->fd, path);
		return -1;
	}
	return 0;
}

static uint32_t find_seen(const struct fifo_dump_state *fs, const struct fd_desc *d)
{
	for (size_t i = 0; i < fs->nr_seen; i++)
		if (fs->seen[i].dev == d->st.st_dev && fs->seen[i].ino == d->st.st_ino)
			return fs->seen[i].id;
	return 0;
}

static int add_seen(struct fifo_dump_state *fs, const struct fd_desc *d, uint32_t id)
{
	struct fifo_seen *n = realloc(fs->seen, (fs->nr_seen + 1) * sizeof(*n));

	if (!n) {
		pr_err("pid %d fd %d: out of memory", d->pid, d->fd);
		return -1;
	}
	fs->seen = n;
	fs->seen[fs->nr_seen++] = (struct fifo_seen){ d->st.st_dev, d->st.st_ino, id };
	return 0;
}

static int fifo_dump(struct dump_ctx *ctx, void *st, const struct fd_desc *d, FileEntry *fe)
{
	struct fifo_dump_state *fs = st;
	char path[sizeof(d->path)];
	FifoEntry *fi;
	bool deleted;

	(void)ctx;
	strcpy(path, d->path);
	if (fifo_path(d, path, &deleted))
		return -1;
	fi = malloc(sizeof(*fi));
	if (!fi)
		goto oom;
	fifo_entry__init(fi);
	fe->fifo = fi;
	fi->path = strdup(path);
	if (!fi->path)
		goto oom;
	fi->flags = d->flags;
	fi->has_mode = true;
	fi->mode = d->st.st_mode & 07777;
	fi->has_deleted = deleted;
	fi->deleted = deleted;
	fi->fifo_id = find_seen(fs, d);
	if (fi->fifo_id)
		return 0;
	fi->fifo_id = fe->id;
	return add_seen(fs, d, fe->id) || pipe_data_dump(data_set(&fs->data), d, fe->id) ? -1 : 0;
oom:
	pr_err("pid %d fd %d: out of memory", d->pid, d->fd);
	return -1;
}

/* fifo-data.img: every FIFO's entry, empty if there are none. */
static int fifo_write(struct dump_ctx *ctx, void *st)
{
	struct fifo_dump_state *fs = st;

	return pipe_data_write(ctx, data_set(&fs->data));
}

static void fifo_dump_free(void *st)
{
	struct fifo_dump_state *fs = st;

	pipe_data_free(&fs->data);
	free(fs->seen);
}

static int fifo_load(struct restore_ctx *ctx, void *st)
{
	struct fifo_restore_state *fs = st;

	return pipe_data_load(ctx, data_set(&fs->data));
}

static int fifo_prepare(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	struct fifo_restore_state *fs = st;
	const FileEntry *first;

	if (!fe->fifo) {
		pr_err("files.img: file id %u: a fifo without its fifo part", fe->id);
		return -1;
	}
	if (fe->fifo->path[0] != '/') {
		pr_err("files.img: file id %u: fifo path %s is not absolute", fe->id,
		       fe->fifo->path);
		return -1;
	}
	/* The first open of a FIFO names it: every other agrees on where it is. */
	first = files_entry(ctx, fe->fifo->fifo_id);
	if (!first || !first->fifo || first->fifo->fifo_id != fe->fifo->fifo_id) {
		pr_err("files.img: file id %u: names fifo %u, which no fifo entry describes",
		       fe->id, fe->fifo->fifo_id);
		return -1;
	}
	if (strcmp(first->fifo->path, fe->fifo->path) ||
	    first->fifo->deleted != fe->fifo->deleted) {
		pr_err("files.img: file ids %u and %u: fifo %u at %s and %s", first->id, fe->id,
		       fe->fifo->fifo_id, first->fifo->path, fe->fifo->path);
		return -1;
	}
	return pipe_data_check(&fs->data, fe->fifo->fifo_id, fe->id);
}

/* Make a deleted FIFO again at @fi's path if free, else next to it. */
static int make_ghost(const FileEntry *fe, struct fifo_made *m)
{
	const FifoEntry *fi = fe->fifo;
	char dir[4096];
	mode_t mode = fi->has_mode ? fi->mode : 0600;

	snprintf(m->path, sizeof(m->path), "%s", fi->path);
	if (!mkfifo(m->path, 0600))
		goto made;
	snprintf(dir, sizeof(dir), "%s", fi->path);
	for (int i = 0; errno == EEXIST && i < 100; i++) {
		snprintf(m->path, sizeof(m->path), "%s/.snap-ghost-fifo-%u-%d", dirname(dir),
			 fe->id, i);
		if (!mkfifo(m->path, 0600))
			goto made;
		snprintf(dir, sizeof(dir), "%s", fi->path);
	}
	pr_perror("files.img: file id %u: cannot make deleted fifo %s again as %s", fe->id,
		  fi->path, m->path);
	return -1;
made:
	m->unlink = true;
	/* mkfifo went through our umask. */
	if (chmod(m->path, mode & 07777)) {
		pr_perror("files.img: file id %u: cannot chmod fifo %s", fe->id, m->path);
		return -1;
	}
	return 0;
}

static int open_anchor(struct fifo_restore_state *fs, const FileEntry *fe, struct fifo_made *m)
{
	const FifoEntry *fi = fe->fifo;
	struct stat st;
	int queued = 0;

	m->anchor = open(m->path, O_RDWR | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (m->anchor < 0) {
		pr_err("files.img: file id %u: cannot open fifo %s: %s", fe->id, m->path,
		       strerror(errno));
		return -1;
	}
	if (fstat(m->anchor, &st) || !S_ISFIFO(st.st_mode)) {
		pr_err("files.img: file id %u: %s is no longer a fifo", fe->id, m->path);
		return -1;
	}
	/* Someone outside holds it open: its data would mix with ours. */
	if (ioctl(m->anchor, FIONREAD, &queued) || queued) {
		pr_err("files.img: file id %u: fifo %s already holds %d bytes: another process "
		       "has it open",
		       fe->id, fi->path, queued);
		return -1;
	}
	return pipe_data_fill(&fs->data, fi->fifo_id, m->anchor);
}

static struct fifo_made *get_fifo(struct fifo_restore_state *fs, const FileEntry *fe)
{
	const FifoEntry *fi = fe->fifo;
	struct fifo_made *m;

	for (size_t i = 0; i < fs->nr_made; i++)
		if (fs->made[i].fifo_id == fi->fifo_id)
			return &fs->made[i];
	m = realloc(fs->made, (fs->nr_made + 1) * sizeof(*m));
	if (!m) {
		pr_err("files.img: file id %u: out of memory", fe->id);
		return NULL;
	}
	fs->made = m;
	m = &fs->made[fs->nr_made++];
	*m = (struct fifo_made){ .fifo_id = fi->fifo_id, .anchor = -1 };
	if (fi->deleted)
		if (make_ghost(fe, m))
			return NULL;
	if (!fi->deleted)
		snprintf(m->path, sizeof(m->path), "%s", fi->path);
	return open_anchor(fs, fe, m) ? NULL : m;
}

static int fifo_open(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	const FifoEntry *fi = fe->fifo;
	struct fifo_made *m;
	int fd;

	(void)ctx;
	m = get_fifo(st, fe);
	if (!m)
		return -1;
	fd = reopen_fd(m->anchor, files_reopen_flags(fi->flags & ~O_NONBLOCK) | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("files.img: file id %u: cannot open fifo %s", fe->id, fi->path);
		return -1;
	}
	if (!(fi->flags & O_PATH) && fcntl(fd, F_SETFL, fi->flags) < 0) {
		pr_perror("files.img: file id %u: fifo %s: cannot set flags %#o", fe->id, fi->path,
			  fi->flags);
		close(fd);
		return -1;
	}
	return fd;
}

/* Every file is open: the anchors go, and the FIFOs made again for deleted ones. */
static void fifo_opened(struct restore_ctx *ctx, void *st)
{
	struct fifo_restore_state *fs = st;

	(void)ctx;
	for (size_t i = 0; i < fs->nr_made; i++) {
		struct fifo_made *m = &fs->made[i];

		if (m->anchor >= 0)
			close(m->anchor);
		if (m->unlink && unlink(m->path))
			pr_warn("cannot remove fifo %s made again for a deleted one: %s", m->path,
				strerror(errno));
	}
	free(fs->made);
	fs->made = NULL;
	fs->nr_made = 0;
}

/*
 * In a tree with its own mount namespace, its path is the tree's: opened by
 * the root once it has pivoted (a deleted one is made again by snap, as
 * files-reg.c does).
 */
static enum fd_where fifo_where(const struct restore_ctx *ctx, const FileEntry *fe)
{
	return files_paths_in_task(ctx) && !fe->fifo->deleted ? FD_IN_ROOT : FD_IN_SNAP;
}

static void fifo_restore_free(void *st)
{
	struct fifo_restore_state *fs = st;

	pipe_data_free(&fs->data);
}

static int fifo_inherit_key(const FileEntry *fe, char *buf, size_t len)
{
	if (!fe->fifo)
		return -1;
	snprintf(buf, len, "%s", fe->fifo->path);
	return 0;
}

const struct fd_ops fifo_fd_ops = {
	.type = FD_TYPE__FD_FIFO,
	.name = "fifo",
	.fmts = FD_FMT(S_IFIFO),
	.match = fifo_match,
	.dump_state = sizeof(struct fifo_dump_state),
	.dump = fifo_dump,
	.write = fifo_write,
	.dump_free = fifo_dump_free,
	.restore_state = sizeof(struct fifo_restore_state),
	.load = fifo_load,
	.prepare = fifo_prepare,
	.where = fifo_where,
	.open = fifo_open,
	.inherit_key = fifo_inherit_key,
	.opened = fifo_opened,
	.restore_free = fifo_restore_free,
};
