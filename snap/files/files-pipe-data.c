// SPDX-License-Identifier: GPL-2.0
/*
 * The bytes queued in a pipe buffer, for pipes and FIFOs alike (see
 * files-pipe-data.h). Dump copies them without taking them: tee(2)
 * duplicates the pipe's buffers into a pipe of ours, which we then read, so
 * a process left running still finds them. Restore sizes the new pipe as
 * it was and writes them back.
 */
#include <fcntl.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "files/files-pipe-data.h"
#include "log.h"

static int cmp_entry(const void *a, const void *b)
{
	uint64_t x = ((const PipeDataEntry *)a)->pipe_id, y = ((const PipeDataEntry *)b)->pipe_id;

	return (x > y) - (x < y);
}

static int cmp_ptr(const void *a, const void *b)
{
	return cmp_entry(*(const PipeDataEntry *const *)a, *(const PipeDataEntry *const *)b);
}

const PipeDataEntry *pipe_data_find(const struct pipe_data_set *s, uint64_t id, size_t *count,
				    size_t *at)
{
	PipeDataEntry key = { .pipe_id = id }, **found;
	size_t lo = 0, hi = s->nr, end;

	if (!s->sorted) {
		/* Dump: each pipe is added once, so there is at most one. */
		found = tfind(&key, (void **)&s->by_id, cmp_entry);
		if (count)
			*count = !!found;
		return found ? *found : NULL;
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->data[mid]->pipe_id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (end = lo; end < s->nr && s->data[end]->pipe_id == id; end++)
		;
	if (count)
		*count = end - lo;
	if (at)
		*at = lo;
	return end > lo ? s->data[lo] : NULL;
}

/* Takes @pde. */
static int add_entry(struct pipe_data_set *s, const struct fd_desc *d, PipeDataEntry *pde)
{
	PipeDataEntry **n;

	if (s->nr == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;

		n = realloc(s->data, cap * sizeof(*n));
		if (!n) {
			pr_err("pid %d fd %d: out of memory", d->pid, d->fd);
			pipe_data_entry__free_unpacked(pde, NULL);
			return -1;
		}
		s->data = n;
		s->cap = cap;
	}
	if (!tsearch(pde, &s->by_id, cmp_entry)) {
		pr_err("pid %d fd %d: out of memory", d->pid, d->fd);
		pipe_data_entry__free_unpacked(pde, NULL);
		return -1;
	}
	s->data[s->nr++] = pde;
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

/* tee() @queued bytes from @rfd into a pipe of ours and read them into @pde. */
static int copy_queued(const struct pipe_data_set *s, const struct fd_desc *d, uint64_t id,
		       int rfd, int queued, PipeDataEntry *pde)
{
	unsigned long long pid = id;
	int p[2], ret = -1;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK)) {
		pr_perror("pid %d fd %d: %s %llu: cannot make a pipe to copy it", d->pid, d->fd,
			  s->noun, pid);
		return -1;
	}
	/*
	 * tee() copies buffer by buffer, so ours needs as many slots as theirs.
	 * If it cannot grow, the short tee() below says so.
	 */
	if (fcntl(p[1], F_GETPIPE_SZ) < (int)pde->size &&
	    fcntl(p[1], F_SETPIPE_SZ, pde->size) < 0)
		pr_debug("pid %d fd %d: %s %llu: cannot grow our copy pipe to %u: %s", d->pid,
			 d->fd, s->noun, pid, pde->size, strerror(errno));
	/* One call: a second tee() would copy from the start of the pipe again. */
	n = tee(rfd, p[1], queued, SPLICE_F_NONBLOCK);
	if (n < 0) {
		pr_perror("pid %d fd %d: %s %llu: tee", d->pid, d->fd, s->noun, pid);
		goto out;
	}
	if (n != queued) {
		pr_err("pid %d fd %d: %s %llu: copied only %zd of its %d queued bytes; a %u-byte "
		       "pipe is above /proc/sys/fs/pipe-max-size (raise it)",
		       d->pid, d->fd, s->noun, pid, n, queued, pde->size);
		goto out;
	}
	pde->data.data = malloc(queued);
	if (!pde->data.data) {
		pr_err("pid %d fd %d: %s %llu: out of memory for %d queued bytes", d->pid, d->fd,
		       s->noun, pid, queued);
		goto out;
	}
	pde->data.len = queued;
	if (read_all(p[0], pde->data.data, queued)) {
		pr_perror("pid %d fd %d: %s %llu: cannot read our copy of its data", d->pid,
			  d->fd, s->noun, pid);
		goto out;
	}
	ret = 0;
out:
	close(p[0]);
	close(p[1]);
	return ret;
}

int pipe_data_dump(struct pipe_data_set *s, const struct fd_desc *d, uint64_t id)
{
	unsigned long long pid = id;
	int rfd = -1, size, queued = 0, ret = -1;
	PipeDataEntry *pde;

	pde = malloc(sizeof(*pde));
	if (!pde) {
		pr_err("pid %d fd %d: out of memory", d->pid, d->fd);
		return -1;
	}
	pipe_data_entry__init(pde);
	pde->pipe_id = id;

	/*
	 * tee() needs a read end, and the target may hold only the write end.
	 * Non-blocking: a FIFO open for reading does not wait for a writer.
	 */
	rfd = reopen_fd(d->local, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (rfd < 0) {
		pr_perror("pid %d fd %d: %s %llu: cannot open its read end", d->pid, d->fd, s->noun,
			  pid);
		goto out;
	}
	size = fcntl(rfd, F_GETPIPE_SZ);
	if (size < 0) {
		pr_perror("pid %d fd %d: %s %llu: F_GETPIPE_SZ", d->pid, d->fd, s->noun, pid);
		goto out;
	}
	pde->size = size;
	if (ioctl(rfd, FIONREAD, &queued)) {
		pr_perror("pid %d fd %d: %s %llu: FIONREAD", d->pid, d->fd, s->noun, pid);
		goto out;
	}
	if (queued && copy_queued(s, d, id, rfd, queued, pde))
		goto out;
	ret = add_entry(s, d, pde);
	pde = NULL;
out:
	if (pde)
		pipe_data_entry__free_unpacked(pde, NULL);
	if (rfd >= 0)
		close(rfd);
	return ret;
}

int pipe_data_write(struct dump_ctx *ctx, const struct pipe_data_set *s)
{
	struct image *img;
	int ret = 0;

	img = img_open_write(ctx->dirfd, s->img, 0);
	if (!img)
		return -1;
	for (size_t i = 0; i < s->nr && !ret; i++)
		ret = img_write(img, &s->data[i]->base);
	if (img_close(img))
		ret = -1;
	return ret;
}

int pipe_data_load(struct restore_ctx *ctx, struct pipe_data_set *s)
{
	void **msgs;

	if (img_load_all(ctx->dirfd, s->img, 0, false, &msgs, &s->nr))
		return -1;
	s->data = (PipeDataEntry **)msgs;
	s->cap = s->nr;
	qsort(s->data, s->nr, sizeof(*s->data), cmp_ptr);
	s->sorted = true;
	return 0;
}

int pipe_data_check(const struct pipe_data_set *s, uint64_t id, uint32_t file_id)
{
	const char *img = img_descs[s->img].fmt;
	const PipeDataEntry *pde;
	size_t count;

	pde = pipe_data_find(s, id, &count, NULL);
	if (count != 1) {
		pr_err("%s: %s entry for %s %llu (files.img file id %u)", img,
		       count ? "more than one" : "no", s->noun, (unsigned long long)id, file_id);
		return -1;
	}
	if (pde->data.len > pde->size) {
		pr_err("%s: %s %llu holds %zu bytes, more than its size %u", img, s->noun,
		       (unsigned long long)id, pde->data.len, pde->size);
		return -1;
	}
	return 0;
}

int pipe_data_fill(const struct pipe_data_set *s, uint64_t id, int wfd)
{
	const PipeDataEntry *pde = pipe_data_find(s, id, NULL, NULL);
	const char *img = img_descs[s->img].fmt;
	unsigned long long pid = id;
	size_t off = 0;
	ssize_t n;
	int cur;

	cur = fcntl(wfd, F_GETPIPE_SZ);
	if (cur < 0) {
		pr_perror("%s %llu: F_GETPIPE_SZ", s->noun, pid);
		return -1;
	}
	if ((unsigned int)cur != pde->size && fcntl(wfd, F_SETPIPE_SZ, pde->size) < 0) {
		if (errno == EPERM && pde->data.len <= (unsigned int)cur) {
			pr_warn("%s %llu: restored with %d bytes of buffer, not %u: "
				"/proc/sys/fs/pipe-max-size is lower now",
				s->noun, pid, cur, pde->size);
		} else {
			pr_err("%s: %s %llu: cannot make it %u bytes to hold its %zu queued bytes: "
			       "%s%s",
			       img, s->noun, pid, pde->size, pde->data.len, strerror(errno),
			       errno == EPERM ? " (raise /proc/sys/fs/pipe-max-size)" : "");
			return -1;
		}
	}
	while (off < pde->data.len) {
		n = write(wfd, pde->data.data + off, pde->data.len - off);
		if (n < 0) {
			pr_perror("%s: %s %llu: cannot write its %zu queued bytes", img, s->noun,
				  pid, pde->data.len);
			return -1;
		}
		off += n;
	}
	return 0;
}

static void no_free(void *p)
{
	(void)p;
}

void pipe_data_free(struct pipe_data_set *s)
{
	tdestroy(s->by_id, no_free);
	s->by_id = NULL;
	for (size_t i = 0; i < s->nr; i++)
		pipe_data_entry__free_unpacked(s->data[i], NULL);
	free(s->data);
	s->data = NULL;
	s->nr = s->cap = 0;
}
