// SPDX-License-Identifier: GPL-2.0
/*
 * Pipes. Each end a process holds is its own file (id) naming the pipe by its
 * pipefs inode (pipe_id); the bytes queued in the pipe and its size go to
 * pipes-data.img once per pipe.
 *
 * Dump copies the queued bytes without taking them: tee(2) duplicates the
 * pipe's buffers into a pipe of ours, which we then read.
 * Restore makes one pipe per pipe_id in the process, refills it, and hands
 * out each end as a fresh open of /proc/self/fd/N, so every id is its own
 * open file description with its own flags, as it was. Named FIFOs are not
 * handled yet (they fail as unsupported).
 *
 * pipes-data.img belongs to this kind: built in its dump state, written by
 * its write() hook, read back by its load() hook into its restore state.
 */
#include <fcntl.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "files/files-kind.h"
#include "image.h"
#include "log.h"

/* Dump: one pipes-data.img entry per pipe met so far. */
struct pipe_dump_state {
	PipeDataEntry **data;
	size_t nr, cap;
	void *by_id;		/* tsearch() tree of data[], by pipe_id */
};

/* Our two ends of a pipe being restored, kept until every id is open. */
struct pipe_ends {
	int rfd, wfd;		/* -1 until made */
};

struct pipe_restore_state {
	PipeDataEntry **data;	/* pipes-data.img, sorted by pipe_id */
	size_t nr_data;
	struct pipe_ends *ends;	/* by position in data[]: pipes made by this process */
};

/* Thousands of pipes: every lookup by pipe_id is a tree or a binary search. */
static int cmp_entry(const void *a, const void *b)
{
	uint64_t x = ((const PipeDataEntry *)a)->pipe_id, y = ((const PipeDataEntry *)b)->pipe_id;

	return (x > y) - (x < y);
}

static int cmp_pipe_id(const void *a, const void *b)
{
	return cmp_entry(*(PipeDataEntry *const *)a, *(PipeDataEntry *const *)b);
}

static bool pipe_match(const struct fd_desc *d)
{
	return !strncmp(d->path, "pipe:[", 6);
}

static PipeDataEntry *find_dumped(const struct pipe_dump_state *ps, uint64_t pipe_id)
{
	PipeDataEntry key = { .pipe_id = pipe_id };
	PipeDataEntry **found = tfind(&key, &ps->by_id, cmp_entry);

	return found ? *found : NULL;
}

/* Takes @pde. */
static int add_dumped(struct pipe_dump_state *ps, const struct fd_desc *d, PipeDataEntry *pde)
{
	PipeDataEntry **n;

	if (ps->nr == ps->cap) {
		size_t cap = ps->cap ? ps->cap * 2 : 16;

		n = realloc(ps->data, cap * sizeof(*n));
		if (!n) {
			pr_err("pid %d fd %d: out of memory", d->pid, d->fd);
			pipe_data_entry__free_unpacked(pde, NULL);
			return -1;
		}
		ps->data = n;
		ps->cap = cap;
	}
	if (!tsearch(pde, &ps->by_id, cmp_entry)) {
		pr_err("pid %d fd %d: out of memory", d->pid, d->fd);
		pipe_data_entry__free_unpacked(pde, NULL);
		return -1;
	}
	ps->data[ps->nr++] = pde;
	return 0;
}

static int read_all(int fd, uint8_t *buf, size_t len)
{
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = read(fd, buf + off, len - off);
		if (n <= 0) {
			if (!n)
				errno = EIO;
			return -1;
		}
		off += n;
	}
	return 0;
}

static int dump_pipe_data(struct pipe_dump_state *ps, const struct fd_desc *d, uint64_t pipe_id)
{
	int rfd = -1, p[2] = {-1, -1}, size, queued = 0, ret = -1;
	PipeDataEntry *pde;
	ssize_t n;

	pde = malloc(sizeof(*pde));
	if (!pde) {
		pr_err("pid %d fd %d: out of memory", d->pid, d->fd);
		return -1;
	}
	pipe_data_entry__init(pde);
	pde->pipe_id = pipe_id;

	size = fcntl(d->local, F_GETPIPE_SZ);
	if (size < 0) {
		pr_perror("pid %d fd %d: pipe %llu: F_GETPIPE_SZ", d->pid, d->fd,
			  (unsigned long long)pipe_id);
		goto out;
	}
	pde->size = size;
	/* tee() needs a read end, and the target may hold only the write end. */
	rfd = reopen_fd(d->local, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (rfd < 0) {
		pr_perror("pid %d fd %d: pipe %llu: cannot open its read end", d->pid, d->fd,
			  (unsigned long long)pipe_id);
		goto out;
	}
	if (ioctl(rfd, FIONREAD, &queued)) {
		pr_perror("pid %d fd %d: pipe %llu: FIONREAD", d->pid, d->fd,
			  (unsigned long long)pipe_id);
		goto out;
	}
	if (queued == 0)
		goto add;

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK)) {
		pr_perror("pid %d fd %d: pipe %llu: cannot make a pipe to copy it", d->pid, d->fd,
			  (unsigned long long)pipe_id);
		goto out;
	}
	/*
	 * tee() copies buffer by buffer, so ours needs as many slots as theirs.
	 * If it cannot grow, the short tee() below says so.
	 */
	if (fcntl(p[1], F_GETPIPE_SZ) < size && fcntl(p[1], F_SETPIPE_SZ, size) < 0)
		pr_debug("pid %d fd %d: pipe %llu: cannot grow our copy pipe to %d: %s", d->pid,
			 d->fd, (unsigned long long)pipe_id, size, strerror(errno));
	/* One call: a second tee() would copy from the start of the pipe again. */
	n = tee(rfd, p[1], queued, SPLICE_F_NONBLOCK);
	if (n < 0) {
		pr_perror("pid %d fd %d: pipe %llu: tee", d->pid, d->fd,
			  (unsigned long long)pipe_id);
		goto out;
	}
	if (n != queued) {
		pr_err("pid %d fd %d: pipe %llu: copied only %zd of its %d queued bytes; a %d-byte "
		       "pipe is above /proc/sys/fs/pipe-max-size (raise it)",
		       d->pid, d->fd, (unsigned long long)pipe_id, n, queued, size);
		goto out;
	}
	pde->data.data = malloc(queued);
	if (!pde->data.data) {
		pr_err("pid %d fd %d: pipe %llu: out of memory for %d queued bytes", d->pid, d->fd,
		       (unsigned long long)pipe_id, queued);
		goto out;
	}
	pde->data.len = queued;
	if (read_all(p[0], pde->data.data, queued)) {
		pr_perror("pid %d fd %d: pipe %llu: cannot read our copy of its data", d->pid,
			  d->fd, (unsigned long long)pipe_id);
		goto out;
	}
add:
	ret = add_dumped(ps, d, pde);
	pde = NULL;
out:
	if (pde)
		pipe_data_entry__free_unpacked(pde, NULL);
	if (rfd >= 0)
		close(rfd);
	if (p[0] >= 0) {
		close(p[0]);
		close(p[1]);
	}
	return ret;
}

static int pipe_dump(struct dump_ctx *ctx, void *st, const struct fd_desc *d, FileEntry *fe)
{
	PipeEntry *pe;

	(void)ctx;
	pe = malloc(sizeof(*pe));
	if (!pe) {
		pr_err("pid %d fd %d: out of memory", d->pid, d->fd);
		return -1;
	}
	pipe_entry__init(pe);
	fe->pipe = pe;
	pe->pipe_id = d->st.st_ino;
	pe->flags = d->flags;
	if (find_dumped(st, pe->pipe_id))
		return 0;
	return dump_pipe_data(st, d, pe->pipe_id);
}

/* pipes-data.img: every pipe's entry, empty if there are none. */
static int pipe_write(struct dump_ctx *ctx, void *st)
{
	struct pipe_dump_state *ps = st;
	struct image *img;
	int ret = 0;

	img = img_open_write(ctx->dirfd, IMG_PIPES_DATA, 0);
	if (!img)
		return -1;
	for (size_t i = 0; i < ps->nr && !ret; i++)
		ret = img_write(img, &ps->data[i]->base);
	if (img_close(img))
		ret = -1;
	return ret;
}

static void no_free(void *node)
{
	(void)node;
}

static void pipe_dump_free(void *st)
{
	struct pipe_dump_state *ps = st;

	tdestroy(ps->by_id, no_free);
	for (size_t i = 0; i < ps->nr; i++)
		pipe_data_entry__free_unpacked(ps->data[i], NULL);
	free(ps->data);
}

static int pipe_load(struct restore_ctx *ctx, void *st)
{
	struct pipe_restore_state *ps = st;
	void **msgs;

	if (img_load_all(ctx->dirfd, IMG_PIPES_DATA, 0, false, &msgs, &ps->nr_data))
		return -1;
	ps->data = (PipeDataEntry **)msgs;
	qsort(ps->data, ps->nr_data, sizeof(*ps->data), cmp_pipe_id);
	ps->ends = malloc((ps->nr_data + 1) * sizeof(*ps->ends));
	if (!ps->ends) {
		pr_err("pipes-data.img: out of memory for %zu pipes", ps->nr_data);
		return -1;
	}
	for (size_t i = 0; i < ps->nr_data; i++)
		ps->ends[i].rfd = ps->ends[i].wfd = -1;
	return 0;
}

/* Pipe @pipe_id's entry (the first if several: *@count says), its position in *@at. */
static const PipeDataEntry *find_data(const struct pipe_restore_state *ps, uint64_t pipe_id,
				      size_t *count, size_t *at)
{
	size_t lo = 0, hi = ps->nr_data, end;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ps->data[mid]->pipe_id < pipe_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (end = lo; end < ps->nr_data && ps->data[end]->pipe_id == pipe_id; end++)
		;
	*count = end - lo;
	*at = lo;
	return *count ? ps->data[lo] : NULL;
}

static int pipe_prepare(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	const PipeDataEntry *pde;
	size_t count, at;

	(void)ctx;
	if (!fe->pipe) {
		pr_err("files.img: file id %u: a pipe without its pipe part", fe->id);
		return -1;
	}
	pde = find_data(st, fe->pipe->pipe_id, &count, &at);
	if (count != 1) {
		pr_err("pipes-data.img: %s entry for pipe %llu (files.img file id %u)",
		       count ? "more than one" : "no", (unsigned long long)fe->pipe->pipe_id,
		       fe->id);
		return -1;
	}
	if (pde->data.len > pde->size) {
		pr_err("pipes-data.img: pipe %llu holds %zu bytes, more than its size %u",
		       (unsigned long long)pde->pipe_id, pde->data.len, pde->size);
		return -1;
	}
	return 0;
}

/* Size the new pipe as it was, refill it. */
static int pipe_fill(const PipeDataEntry *pde, int wfd)
{
	unsigned long long id = pde->pipe_id;
	size_t off = 0;
	ssize_t n;
	int cur;

	cur = fcntl(wfd, F_GETPIPE_SZ);
	if (cur < 0) {
		pr_perror("pipe %llu: F_GETPIPE_SZ", id);
		return -1;
	}
	if ((unsigned int)cur != pde->size && fcntl(wfd, F_SETPIPE_SZ, pde->size) < 0) {
		if (errno == EPERM && pde->data.len <= (unsigned int)cur) {
			pr_warn("pipe %llu: restored with %d bytes of buffer, not %u: "
				"/proc/sys/fs/pipe-max-size is lower now",
				id, cur, pde->size);
		} else {
			pr_err("pipes-data.img: pipe %llu: cannot make it %u bytes to hold its %zu "
			       "queued bytes: %s%s",
			       id, pde->size, pde->data.len, strerror(errno),
			       errno == EPERM ? " (raise /proc/sys/fs/pipe-max-size)" : "");
			return -1;
		}
	}
	while (off < pde->data.len) {
		n = write(wfd, pde->data.data + off, pde->data.len - off);
		if (n < 0) {
			pr_perror("pipes-data.img: pipe %llu: cannot write its %zu queued bytes",
				  id, pde->data.len);
			return -1;
		}
		off += n;
	}
	return 0;
}

static struct pipe_ends *get_pipe(struct pipe_restore_state *ps, const FileEntry *fe)
{
	uint64_t pipe_id = fe->pipe->pipe_id;
	const PipeDataEntry *pde;
	struct pipe_ends *e;
	size_t count, at;
	int p[2];

	/* prepare() saw exactly one entry. */
	pde = find_data(ps, pipe_id, &count, &at);
	e = &ps->ends[at];
	if (e->rfd >= 0)
		return e;
	/* Non-blocking: data that does not fit fails instead of hanging us. */
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK)) {
		pr_perror("files.img: file id %u: cannot make pipe %llu", fe->id,
			  (unsigned long long)pipe_id);
		return NULL;
	}
	if (pipe_fill(pde, p[1])) {
		close(p[0]);
		close(p[1]);
		return NULL;
	}
	e->rfd = p[0];
	e->wfd = p[1];
	return e;
}

static int pipe_open(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	const PipeEntry *pe = fe->pipe;
	struct pipe_ends *e;
	int fd;

	(void)ctx;
	e = get_pipe(st, fe);
	if (!e)
		return -1;
	fd = reopen_fd(e->rfd, (pe->flags & O_ACCMODE) | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("files.img: file id %u: cannot open an end of pipe %llu", fe->id,
			  (unsigned long long)pe->pipe_id);
		return -1;
	}
	/* O_NONBLOCK, and O_DIRECT (packet mode), which only F_SETFL sets on a pipe. */
	if (fcntl(fd, F_SETFL, pe->flags) < 0) {
		pr_perror("files.img: file id %u: pipe %llu: cannot set flags %#o", fe->id,
			  (unsigned long long)pe->pipe_id, pe->flags);
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Our ends go once every id is open: a pipe whose write end the process did
 * not hold then reads its data and EOF, as it would have.
 */
static void pipe_opened(struct restore_ctx *ctx, void *st)
{
	struct pipe_restore_state *ps = st;
	size_t i;

	(void)ctx;
	for (i = 0; ps->ends && i < ps->nr_data; i++) {
		if (ps->ends[i].rfd < 0)
			continue;
		close(ps->ends[i].rfd);
		close(ps->ends[i].wfd);
		ps->ends[i].rfd = ps->ends[i].wfd = -1;
	}
}

static void pipe_restore_free(void *st)
{
	struct pipe_restore_state *ps = st;

	for (size_t i = 0; i < ps->nr_data; i++)
		pipe_data_entry__free_unpacked(ps->data[i], NULL);
	free(ps->data);
	free(ps->ends);
}

const struct fd_ops pipe_fd_ops = {
	.type = FD_TYPE__FD_PIPE,
	.name = "pipe",
	.fmts = FD_FMT(S_IFIFO),
	.match = pipe_match,
	.dump_state = sizeof(struct pipe_dump_state),
	.dump = pipe_dump,
	.write = pipe_write,
	.dump_free = pipe_dump_free,
	.restore_state = sizeof(struct pipe_restore_state),
	.load = pipe_load,
	.prepare = pipe_prepare,
	.open = pipe_open,
	.opened = pipe_opened,
	.restore_free = pipe_restore_free,
};
