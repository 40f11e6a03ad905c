// SPDX-License-Identifier: GPL-2.0
/*
 * Pipes. Each end a process holds is its own file (id) naming the pipe by its
 * pipefs inode (pipe_id); the bytes queued in the pipe and its size go to
 * pipes-data.img once per pipe (files-pipe-data.c, shared with FIFOs).
 *
 * Restore makes one pipe per pipe_id in the process, refills it, and hands
 * out each end as a fresh open of /proc/self/fd/N, so every id is its own
 * open file description with its own flags, as it was. Named FIFOs are
 * files-fifo.c.
 *
 * pipes-data.img belongs to this kind: built in its dump state, written by
 * its write() hook, read back by its load() hook into its restore state.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "files/files-pipe-data.h"
#include "log.h"

/* Our two ends of a pipe being restored, kept until every id of it is open. */
struct pipe_ends {
	uint64_t pipe_id;
	int rfd, wfd;
	unsigned int ids_left;	/* ids of the pipe in files.img not open yet */
};

struct pipe_restore_state {
	struct pipe_data_set data;	/* pipes-data.img, sorted */
	struct pipe_ends *ends;		/* by position in data.data[]: pipes made by snap */
};

static bool pipe_match(const struct fd_desc *d)
{
	return !strncmp(d->path, "pipe:[", 6);
}

/* The kind's state starts zeroed: say which image it is about. */
static struct pipe_data_set *data_set(struct pipe_data_set *s)
{
	s->img = IMG_PIPES_DATA;
	s->noun = "pipe";
	return s;
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
	if (pipe_data_find(st, pe->pipe_id, NULL, NULL))
		return 0;
	return pipe_data_dump(data_set(st), d, pe->pipe_id);
}

/* pipes-data.img: every pipe's entry, empty if there are none. */
static int pipe_write(struct dump_ctx *ctx, void *st)
{
	return pipe_data_write(ctx, data_set(st));
}

static void pipe_dump_free(void *st)
{
	pipe_data_free(st);
}

static int pipe_load(struct restore_ctx *ctx, void *st)
{
	struct pipe_restore_state *ps = st;

	if (pipe_data_load(ctx, data_set(&ps->data)))
		return -1;
	ps->ends = malloc((ps->data.nr + 1) * sizeof(*ps->ends));
	if (!ps->ends) {
		pr_err("pipes-data.img: out of memory for %zu pipes", ps->data.nr);
		return -1;
	}
	for (size_t i = 0; i < ps->data.nr; i++) {
		ps->ends[i].rfd = ps->ends[i].wfd = -1;
		ps->ends[i].ids_left = 0;
	}
	return 0;
}

static int pipe_prepare(struct restore_ctx *ctx, void *st, const FileEntry *fe)
{
	struct pipe_restore_state *ps = st;
	size_t at;

	(void)ctx;
	if (!fe->pipe) {
		pr_err("files.img: file id %u: a pipe without its pipe part", fe->id);
		return -1;
	}
	if (pipe_data_check(&ps->data, fe->pipe->pipe_id, fe->id))
		return -1;
	pipe_data_find(&ps->data, fe->pipe->pipe_id, NULL, &at);
	ps->ends[at].ids_left++;
	return 0;
}

static struct pipe_ends *get_pipe(struct pipe_restore_state *ps, const FileEntry *fe)
{
	uint64_t pipe_id = fe->pipe->pipe_id;
	struct pipe_ends *e;
	size_t at;
	int p[2];

	/* pipe_prepare() made sure the entry is there. */
	pipe_data_find(&ps->data, pipe_id, NULL, &at);
	e = &ps->ends[at];
	if (e->rfd >= 0)
		return e;
	/* Non-blocking: data that does not fit fails instead of hanging us. */
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK)) {
		pr_perror("files.img: file id %u: cannot make pipe %llu", fe->id,
			  (unsigned long long)pipe_id);
		return NULL;
	}
	if (pipe_data_fill(&ps->data, pipe_id, p[1])) {
		close(p[0]);
		close(p[1]);
		return NULL;
	}
	e->pipe_id = pipe_id;
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
	/* Not kept past the last id: a process with thousands of pipes would need twice the fds. */
	if (!--e->ids_left) {
		close(e->rfd);
		close(e->wfd);
		e->rfd = e->wfd = -1;
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

	(void)ctx;
	for (size_t i = 0; ps->ends && i < ps->data.nr; i++) {
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

	pipe_opened(NULL, st);
	free(ps->ends);
	pipe_data_free(&ps->data);
}

/* The other end is often outside the tree: runc's stdio pipes (--inherit-fd). */
static int pipe_inherit_key(const FileEntry *fe, char *buf, size_t len)
{
	if (!fe->pipe)
		return -1;
	snprintf(buf, len, "pipe:[%llu]", (unsigned long long)fe->pipe->pipe_id);
	return 0;
}

const struct fd_ops pipe_fd_ops = {
	.type = FD_TYPE__FD_PIPE,
	.name = "pipe",
	.fmts = FD_FMT(S_IFIFO),
	.match = pipe_match,
	.dump_state = sizeof(struct pipe_data_set),
	.dump = pipe_dump,
	.write = pipe_write,
	.dump_free = pipe_dump_free,
	.restore_state = sizeof(struct pipe_restore_state),
	.load = pipe_load,
	.prepare = pipe_prepare,
	.open = pipe_open,
	.inherit_key = pipe_inherit_key,
	.opened = pipe_opened,
	.restore_free = pipe_restore_free,
};
