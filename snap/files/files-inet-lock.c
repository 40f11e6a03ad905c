// SPDX-License-Identifier: GPL-2.0
/*
 * Inet sockets, dump: the connections the network lock hides while the
 * tree is down, in dump_ctx.lock_conns (a dump that kills, with
 * --tcp-established). collect lists every connection an fd of the frozen
 * tree holds, from the sock_diag table, so that the lock can be taken
 * before any of them is read; dump() adds a connection collect did not see
 * (met in flight in a unix socket's queue, which no fd holds, or connected
 * since). The list is the kind's: it is freed with the kind's state.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "files/files-inet.h"
#include "log.h"

static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* Add one. 0 or -1 logged. */
static int add(struct dump_ctx *ctx, int family, const uint8_t *src, uint16_t sport,
	       const uint8_t *dst, uint16_t dport)
{
	struct netlock_conn c = {.family = family, .lport = sport, .rport = dport};
	struct netlock_conn *n;

	/* An IPv4-mapped connection is IPv4 on the wire, where the lock acts. */
	if (family == AF_INET6 && !memcmp(src, mapped, 12) && !memcmp(dst, mapped, 12)) {
		c.family = AF_INET;
		memcpy(c.laddr, src + 12, 4);
		memcpy(c.raddr, dst + 12, 4);
	} else {
		memcpy(c.laddr, src, family == AF_INET ? 4 : 16);
		memcpy(c.raddr, dst, family == AF_INET ? 4 : 16);
	}
	if (ctx->nr_lock_conns == ctx->cap_lock_conns) {
		size_t cap = ctx->cap_lock_conns ? ctx->cap_lock_conns * 2 : 16;

		n = realloc(ctx->lock_conns, cap * sizeof(*n));
		if (!n) {
			pr_err("out of memory for the connections to lock");
			return -1;
		}
		ctx->lock_conns = n;
		ctx->cap_lock_conns = cap;
	}
	ctx->lock_conns[ctx->nr_lock_conns++] = c;
	return 0;
}

struct ino_list {
	uint32_t *v;
	size_t nr, cap;
};

/* A socket a task holds (files_task_sockets()), appended to the list. */
static int add_ino(void *arg, uint32_t ino, int fd)
{
	struct ino_list *l = arg;

	(void)fd;
	if (l->nr == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		uint32_t *v = realloc(l->v, cap * sizeof(*v));

		if (!v) {
			pr_err("out of memory for the tree's sockets");
			return -1;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->nr++] = ino;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

bool inet_lock_wanted(const struct dump_ctx *ctx)
{
	return !ctx->opts->leave_running && ctx->opts->tcp_established;
}

int inet_lock_collect(struct dump_ctx *ctx, struct inet_dump_state *is)
{
	struct ino_list l = { 0 };
	size_t nr, n = 0;
	uint32_t *inos;
	int ret = 0;

	if (!inet_lock_wanted(ctx))
		return 0;
	for (size_t i = 0; i < ctx->nr_tasks && !ret; i++)
		if (!ctx->tasks[i].zombie)
			ret = files_task_sockets(ctx->tasks[i].pid, add_ino, &l);
	/* The tree's connections by inode alone: the tables are walked. */
	if (!ret && l.nr && inet_diag_walk(&is->diag))
		ret = -1;
	inos = l.v;
	nr = l.nr;
	if (nr)
		qsort(inos, nr, sizeof(*inos), cmp_u32);
	for (size_t i = 0; i < nr && !ret; i++) {
		const struct inet_diag *d;

		/* Shared by several fds or tasks: once. */
		if (i && inos[i] == inos[i - 1])
			continue;
		d = inet_diag_find(&is->diag, inos[i]);
		if (!d || d->protocol != IPPROTO_TCP || !tcp_state_repairable(d->state))
			continue;
		ret = add(ctx, d->family, d->src, d->sport, d->dst, d->dport);
		/* Kept, sorted, for inet_lock_add(). */
		inos[n++] = inos[i];
	}
	is->lock_inos = inos;
	is->nr_lock_inos = n;
	return ret;
}

int inet_lock_add(struct dump_ctx *ctx, struct inet_dump_state *is, const InetSkEntry *ie)
{
	uint32_t key = ie->ino;

	if (is->nr_lock_inos &&
	    bsearch(&key, is->lock_inos, is->nr_lock_inos, sizeof(key), cmp_u32))
		return 0;
	return add(ctx, ie->family, ie->src_addr.data, ie->src_port, ie->dst_addr.data,
		   ie->dst_port);
}

void inet_lock_free(struct dump_ctx *ctx, struct inet_dump_state *is)
{
	free(is->lock_inos);
	is->lock_inos = NULL;
	is->nr_lock_inos = 0;
	free(ctx->lock_conns);
	ctx->lock_conns = NULL;
	ctx->nr_lock_conns = ctx->cap_lock_conns = 0;
}
