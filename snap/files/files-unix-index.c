// SPDX-License-Identifier: GPL-2.0
/*
 * Unix sockets, dump: the tables collect builds and everything after it
 * looks things up in: every unix socket of the network namespace (one
 * sock_diag dump), which fds of the tree hold which socket, and which
 * connections wait in which listener's queue.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "files/files-unix.h"
#include "log.h"

static int cmp_holder(const void *a, const void *b)
{
	const struct unix_holder *x = a, *y = b;

	if (x->ino != y->ino)
		return (x->ino > y->ino) - (x->ino < y->ino);
	if (x->pid != y->pid)
		return (x->pid > y->pid) - (x->pid < y->pid);
	return (x->fd > y->fd) - (x->fd < y->fd);
}

static int cmp_icon(const void *a, const void *b)
{
	const struct unix_icon *x = a, *y = b;

	return (x->client > y->client) - (x->client < y->client);
}

static int add_holder(struct unix_dump_state *us, size_t *cap, uint32_t ino, pid_t pid, int fd)
{
	struct unix_holder *n;

	if (us->nr_holders == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		n = realloc(us->holders, *cap * sizeof(*n));
		if (!n) {
			pr_err("pid %d: out of memory for its sockets", pid);
			return -1;
		}
		us->holders = n;
	}
	us->holders[us->nr_holders++] = (struct unix_holder){ ino, pid, fd };
	return 0;
}

struct holder_walk {
	struct unix_dump_state *us;
	size_t *cap;
	pid_t pid;
};

/* One socket fd of a task (files_task_sockets()), of any family for now. */
static int walk_fd(void *arg, uint32_t ino, int fd)
{
	struct holder_walk *w = arg;

	return add_holder(w->us, w->cap, ino, w->pid, fd);
}

/* Each connection waiting in a queue, by the socket that made it. */
static int index_icons(struct unix_dump_state *us)
{
	size_t n = 0, k = 0;

	for (size_t i = 0; i < us->diag.nr; i++)
		n += us->diag.sk[i].nr_icons;
	us->icons = calloc(n + 1, sizeof(*us->icons));
	if (!us->icons) {
		pr_err("out of memory for the unix sockets' queues");
		return -1;
	}
	for (size_t i = 0; i < us->diag.nr; i++) {
		const struct unix_diag *u = &us->diag.sk[i];

		for (uint32_t j = 0; j < u->nr_icons; j++)
			us->icons[k++] = (struct unix_icon){ u->icons[j], u->ino, j };
	}
	us->nr_icons = n;
	qsort(us->icons, n, sizeof(*us->icons), cmp_icon);
	return 0;
}

int unix_index_build(struct dump_ctx *ctx, struct unix_dump_state *us)
{
	size_t cap = 0, n = 0;

	for (size_t i = 0; i < ctx->nr_tasks; i++)
		if (!ctx->tasks[i].zombie &&
		    files_task_sockets(ctx->tasks[i].pid, walk_fd,
				       &(struct holder_walk){ us, &cap, ctx->tasks[i].pid }))
			return -1;
	/* A tree without sockets needs no sock_diag (nor a kernel that has it). */
	if (!us->nr_holders)
		return 0;
	if (unix_diag_collect(&us->diag) || index_icons(us))
		return -1;
	for (size_t i = 0; i < us->nr_holders; i++)
		if (unix_diag_find(&us->diag, us->holders[i].ino))
			us->holders[n++] = us->holders[i];
	us->nr_holders = n;
	if (n)
		qsort(us->holders, n, sizeof(*us->holders), cmp_holder);
	return 0;
}

void unix_index_free(struct unix_dump_state *us)
{
	unix_diag_free(&us->diag);
	free(us->holders);
	free(us->icons);
	us->holders = NULL;
	us->icons = NULL;
	us->nr_holders = us->nr_icons = 0;
}

const struct unix_holder *unix_holder_of(const struct unix_dump_state *us, uint32_t ino)
{
	size_t lo = 0, hi = us->nr_holders;

	/* The first of its holders: the lowest pid and fd. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (us->holders[mid].ino < ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < us->nr_holders && us->holders[lo].ino == ino ? &us->holders[lo] : NULL;
}

const struct unix_diag *unix_pending_on(const struct unix_dump_state *us, uint32_t ino,
					uint32_t *pos)
{
	struct unix_icon key = { .client = ino }, *ic;

	if (!us->nr_icons)
		return NULL;
	ic = bsearch(&key, us->icons, us->nr_icons, sizeof(key), cmp_icon);
	if (!ic)
		return NULL;
	*pos = ic->pos;
	return unix_diag_find(&us->diag, ic->listener);
}
