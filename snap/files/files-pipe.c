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
 * handled yet (they fail as unsupported in files.c).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "files/files.h"
#include "log.h"

/* Our two ends of a pipe being restored, kept until every id is open. */
struct pipe_ends {
	uint64_t pipe_id;
	int rfd, wfd;
};

static bool pipe_match(const struct fd_desc *d, const struct dump_ctx *ctx)
{
	(void)ctx;
	return S_ISFIFO(d->st.st_mode) && !strncmp(d->path, "pipe:[", 6);
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

static int dump_pipe_data(struct dump_ctx *ctx, const struct fd_desc *d, uint64_t pipe_id)
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
	ret = file_table_add_pipe(ctx->files, pde);
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

static int pipe_dump(struct dump_ctx *ctx, const struct fd_desc *d, FileEntry *fe)
{
	PipeEntry *pe;

	pe = malloc(sizeof(*pe));
	if (!pe) {
		pr_err("pid %d fd %d: out of memory", d->pid, d->fd);
		return -1;
	}
	pipe_entry__init(pe);
	fe->pipe = pe;
	pe->pipe_id = d->st.st_ino;
	pe->flags = d->flags;
	if (file_table_find_pipe(ctx->files, pe->pipe_id))
		return 0;
	return dump_pipe_data(ctx, d, pe->pipe_id);
}

static const PipeDataEntry *find_data(const struct restore_ctx *ctx, uint64_t pipe_id,
				      size_t *count)
{
	const PipeDataEntry *pde = NULL;
	size_t i;

	*count = 0;
	for (i = 0; i < ctx->nr_pipe_data; i++) {
		if (ctx->pipe_data[i]->pipe_id == pipe_id) {
			pde = ctx->pipe_data[i];
			(*count)++;
		}
	}
	return pde;
}

static int pipe_prepare(struct restore_ctx *ctx, const FileEntry *fe)
{
	const PipeDataEntry *pde;
	size_t count;

	if (!fe->pipe) {
		pr_err("files.img: file id %u: a pipe without its pipe part", fe->id);
		return -1;
	}
	pde = find_data(ctx, fe->pipe->pipe_id, &count);
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

static struct pipe_ends *get_pipe(struct restore_ctx *ctx, const FileEntry *fe)
{
	struct files_restore_state *st = files_rst(ctx);
	uint64_t pipe_id = fe->pipe->pipe_id;
	const PipeDataEntry *pde;
	struct pipe_ends *e;
	size_t i, count;
	int p[2];

	for (i = 0; i < st->nr_pipes; i++)
		if (st->pipes[i].pipe_id == pipe_id)
			return &st->pipes[i];

	e = realloc(st->pipes, (st->nr_pipes + 1) * sizeof(*e));
	if (!e) {
		pr_err("files.img: file id %u: out of memory", fe->id);
		return NULL;
	}
	st->pipes = e;
	/* Non-blocking: data that does not fit fails instead of hanging us. */
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK)) {
		pr_perror("files.img: file id %u: cannot make pipe %llu", fe->id,
			  (unsigned long long)pipe_id);
		return NULL;
	}
	pde = find_data(ctx, pipe_id, &count);
	if (pipe_fill(pde, p[1])) {
		close(p[0]);
		close(p[1]);
		return NULL;
	}
	e = &st->pipes[st->nr_pipes++];
	e->pipe_id = pipe_id;
	e->rfd = p[0];
	e->wfd = p[1];
	return e;
}

static int pipe_open(struct restore_ctx *ctx, const FileEntry *fe)
{
	const PipeEntry *pe = fe->pipe;
	struct pipe_ends *e;
	int fd;

	e = get_pipe(ctx, fe);
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
static void pipe_restore_done(struct restore_ctx *ctx)
{
	struct files_restore_state *st = files_rst(ctx);
	size_t i;

	if (!st)
		return;
	for (i = 0; i < st->nr_pipes; i++) {
		close(st->pipes[i].rfd);
		close(st->pipes[i].wfd);
	}
	free(st->pipes);
	st->pipes = NULL;
	st->nr_pipes = 0;
}

const struct fd_ops pipe_fd_ops = {
	.type = FD_TYPE__FD_PIPE,
	.name = "pipe",
	.match = pipe_match,
	.dump = pipe_dump,
	.open = pipe_open,
	.prepare = pipe_prepare,
	.restore_done = pipe_restore_done,
};
