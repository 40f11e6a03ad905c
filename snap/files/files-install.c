// SPDX-License-Identifier: GPL-2.0
/*
 * A restored task's fds put at their numbers (files_install()), with no fd
 * numbers beyond the task's own but a spare or two: a parallel move.
 *
 * The task starts with snap's fd table. Snap parked each file it opened at
 * the number the first task holding it gives it, when that was free
 * (files_park()), else somewhere out of the way; a file the task opened
 * itself (FD_IN_TASK) sits above service_base. So most fds of a lone
 * process, or of a tree of forks that kept their numbers, are in place
 * already; the others are moved:
 *
 *  - a target number that holds nothing this task needs is written at once
 *    (dup3() from wherever its file sits);
 *  - a target number that holds a file still to be placed waits: once that
 *    file is at its first number, it is copied from there, and the number
 *    it sat at is free (the next target written there, or closed);
 *  - when every target left waits for another (a cycle: a sits at b's
 *    number and b at a's), one file is moved to a spare number above
 *    service_base, which breaks it; the spare is closed once its file has a
 *    number of its own.
 *
 * Each target is written once and each file moved at most once more:
 * linear in the task's fds and its highest fd number.
 *
 * Why this rather than passing each task its files over a unix socket
 * (SCM_RIGHTS) from snap: received fds land at the lowest free numbers, so
 * they need these moves all the same, every fd would cost a sendmsg() and a
 * recvmsg() more, and the in-flight files count against snap's limits.
 * Inherited, the files keep their open file descriptions across processes
 * for free, and mostly sit where they belong.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "files/files.h"
#include "files/files-table.h"
#include "log.h"

/* What a file of ctx->files is to this task. */
enum file_role {
	ROLE_FOREIGN,	/* none of its fds: closed here */
	ROLE_OWN,	/* one of its fds, not placed yet: needed where it is parked */
	ROLE_PLACED,	/* one of its fds, and fds[] is one of its numbers */
	ROLE_KEPT,	/* no fd of it, but installed() looks it up: above service_base */
};

/* One fd of the task. */
struct fd_move {
	size_t file;		/* position in ctx->files */
	int to;			/* its number */
	bool cloexec;
	bool queued;		/* in the queue, or done */
};

struct install {
	struct restore_ctx *ctx;
	const struct restore_task *t;
	int *fds;		/* files_st->fds: where each file is now */
	unsigned char *role;	/* per file: enum file_role */
	struct fd_move *mv;	/* per fd of the task */
	size_t left;		/* moves not done */
	int max;		/* the task's highest fd */
	int *parked;		/* per number up to max: the ROLE_OWN file there + 1, or 0 */
	int *wanted;		/* per number up to max: the move to it + 1, or 0 */
	size_t *queue;		/* moves whose number holds nothing needed */
	size_t head, tail;
	int spare;		/* spare numbers are taken at or above */
};

int task_max_fd(const struct restore_task *t)
{
	int max = -1;
	size_t i;

	for (i = 0; i < t->nr_fds; i++)
		if ((int)t->fds[i]->fd > max)
			max = t->fds[i]->fd;
	return max;
}

static void push(struct install *in, size_t m)
{
	in->mv[m].queued = true;
	in->queue[in->tail++] = m;
}

static int setup(struct install *in)
{
	const struct restore_task *t = in->t;
	size_t nr_files = in->ctx->nr_files;

	in->max = task_max_fd(t);
	in->role = calloc(nr_files + 1, sizeof(*in->role));
	in->mv = calloc(t->nr_fds + 1, sizeof(*in->mv));
	in->queue = calloc(t->nr_fds + 1, sizeof(*in->queue));
	in->parked = calloc(in->max + 2, sizeof(*in->parked));
	in->wanted = calloc(in->max + 2, sizeof(*in->wanted));
	if (!in->role || !in->mv || !in->queue || !in->parked || !in->wanted) {
		pr_err("pid %d: out of memory for its fd table", t->pid);
		return -1;
	}
	for (size_t j = 0; j < t->nr_fds; j++) {
		const FdinfoEntry *fi = t->fds[j];
		struct fd_move *mv = &in->mv[j];

		/* restore_load_files() checked every id and number. */
		mv->file = files_index(in->ctx, fi->id);
		mv->to = fi->fd;
		mv->cloexec = fi->flags & FD_CLOEXEC;
		in->wanted[mv->to] = j + 1;
		in->role[mv->file] = ROLE_OWN;
	}
	in->left = t->nr_fds;
	return 0;
}

/* File @i, of no fd of the task, stays open: up out of the way. */
static int keep(struct install *in, size_t i)
{
	int fd;

	/* Not inherited (opened in another task): whoever looks it up says so. */
	if (in->role[i] != ROLE_FOREIGN || in->fds[i] < 0)
		return 0;
	fd = fcntl(in->fds[i], F_DUPFD_CLOEXEC, in->spare);
	if (fd < 0) {
		pr_perror("pid %d: cannot keep file id %u at fd %d or above", in->t->pid,
			  in->ctx->files[i]->id, in->spare);
		return -1;
	}
	in->fds[i] = fd;
	in->role[i] = ROLE_KEPT;
	return 0;
}

/* What installed() looks up (files_task_uses()). */
static int keep_used(struct install *in)
{
	const struct files_restore_state *st = in->ctx->files_st;

	for (size_t u = 0; u < st->nr_uses; u++)
		if (st->uses[u].pid == in->t->pid && keep(in, st->uses[u].file))
			return -1;
	return 0;
}

/* Where the task's files sit; those already at one of their numbers are done. */
static int find_parked(struct install *in)
{
	size_t j;

	for (j = 0; j < in->t->nr_fds; j++) {
		size_t i = in->mv[j].file;
		int at = in->fds[i];

		if (at < 0) {
			pr_err("pid %d: file id %u of its fd %d was not opened", in->t->pid,
			       in->ctx->files[i]->id, in->mv[j].to);
			return -1;
		}
		if (at <= in->max)
			in->parked[at] = i + 1;
	}
	for (j = 0; j < in->t->nr_fds; j++) {
		struct fd_move *mv = &in->mv[j];

		if (in->fds[mv->file] != mv->to)
			continue;
		/* Parked fds are close-on-exec. */
		if (!mv->cloexec && fcntl(mv->to, F_SETFD, 0)) {
			pr_perror("pid %d: fd %d: cannot clear FD_CLOEXEC", in->t->pid, mv->to);
			return -1;
		}
		mv->queued = true;
		in->left--;
		in->role[mv->file] = ROLE_PLACED;
		in->parked[mv->to] = 0;
	}
	for (j = 0; j < in->t->nr_fds; j++)
		if (!in->mv[j].queued && !in->parked[in->mv[j].to])
			push(in, j);
	return 0;
}

/* Number @fd no longer holds anything the task needs. */
static void release(struct install *in, int fd)
{
	if (fd <= in->max) {
		in->parked[fd] = 0;
		/* A target number: the fd that waited for it replaces it. */
		if (in->wanted[fd]) {
			if (!in->mv[in->wanted[fd] - 1].queued)
				push(in, in->wanted[fd] - 1);
			return;
		}
	}
	close(fd);
}

static int do_move(struct install *in, size_t m)
{
	const struct fd_move *mv = &in->mv[m];
	int from = in->fds[mv->file];

	if (dup3(from, mv->to, mv->cloexec ? O_CLOEXEC : 0) < 0) {
		pr_perror("pid %d: cannot put file id %u at fd %d", in->t->pid,
			  in->ctx->files[mv->file]->id, mv->to);
		return -1;
	}
	in->left--;
	if (in->role[mv->file] == ROLE_PLACED)
		return 0;
	/* Its other numbers are copied from this one. */
	in->role[mv->file] = ROLE_PLACED;
	in->fds[mv->file] = mv->to;
	release(in, from);
	return 0;
}

/*
 * Every move left waits: move @m's number is held by a file not placed yet.
 * That file goes to a spare number, and @m can be done.
 */
static int break_cycle(struct install *in, size_t m)
{
	int to = in->mv[m].to, fd;
	size_t i;

	if (in->parked[to]) {
		i = in->parked[to] - 1;
		fd = fcntl(in->fds[i], F_DUPFD_CLOEXEC, in->spare);
		if (fd < 0) {
			pr_perror("pid %d: no fd number free at %d or above to move file id %u "
				  "out of fd %d's way",
				  in->t->pid, in->spare, in->ctx->files[i]->id, to);
			return -1;
		}
		/* Its old fd at @to goes with the dup3() of @m. */
		in->fds[i] = fd;
		in->parked[to] = 0;
	}
	push(in, m);
	return 0;
}

static int place_all(struct install *in)
{
	size_t next = 0;

	while (in->left) {
		while (in->head < in->tail)
			if (do_move(in, in->queue[in->head++]))
				return -1;
		if (!in->left)
			break;
		while (in->mv[next].queued)
			next++;
		if (break_cycle(in, next))
			return -1;
	}
	return 0;
}

/* Below @end, everything that is not one of the task's fds goes. */
static void close_others(const struct install *in, int end)
{
	int from = 0;

	for (int fd = 0; fd <= in->max; fd++) {
		if (!in->wanted[fd])
			continue;
		if (fd > from)
			close_range(from, fd - 1, 0);
		from = fd + 1;
	}
	if (end > from)
		close_range(from, end - 1, 0);
}

int files_install(struct restore_ctx *ctx, const struct restore_task *t, int service_base)
{
	struct install in = {
		.ctx = ctx,
		.t = t,
		.fds = ctx->files_st->fds,
		.spare = service_base + 2,
	};
	int ret = -1;

	if (setup(&in) || keep_used(&in) || find_parked(&in) || place_all(&in))
		goto out;
	close_others(&in, service_base);
	/* What is left of snap's files is closed, or is another number now. */
	for (size_t i = 0; i < ctx->nr_files; i++)
		if (in.role[i] == ROLE_FOREIGN)
			in.fds[i] = -1;
	ret = 0;
out:
	free(in.wanted);
	free(in.parked);
	free(in.queue);
	free(in.mv);
	free(in.role);
	return ret;
}
