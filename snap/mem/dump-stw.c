// SPDX-License-Identifier: GPL-2.0
/*
 * The stop-the-world dump mode (see dump-mode.h): each task's pages are
 * found and copied into its images while the tree is frozen, and shared
 * memory once the whole tree is; nothing is left for after the freeze.
 *
 * Where the sink takes pipes (page_sink_can_splice()), the pages are found
 * while the parasite is in, and it vmsplices the private anonymous ones
 * for snap to splice into the image (page-splice.c, one copy); the rest
 * are copied once it is gone, into the same sink. Elsewhere, everything is
 * found and copied once the parasite is gone.
 */
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "mem/dump-mode.h"
#include "mem/mem-dump.h"
#include "mem/page-sink.h"
#include "mem/shmem.h"
#include "mem/track.h"

/* A task's pages between the parasite's step and the memory step. */
struct stw_task {
	struct page_list pl;
	struct page_sink *ps;
};

/* The page scan also finds the guard regions that mm-PID.img lists. */
static int collect(struct dump_ctx *ctx, struct dump_task *t, struct page_list *pl)
{
	uint64_t t0 = now_ns();
	int ret;

	if (!ctx->st.t_mem_start)
		ctx->st.t_mem_start = t0;
	ret = page_collect(ctx, t, pl);
	/* --prev-images-dir: what was not written since is the parent's. */
	if (!ret)
		ret = track_split(ctx, t, pl, false);
	ctx->st.scan_ns += now_ns() - t0;
	return ret;
}

static int stw_task_infected(struct dump_ctx *ctx, struct dump_task *t)
{
	uint64_t t0 = now_ns();
	char owner[32];
	int ret;

	if (!page_sink_can_splice(ctx))
		return 0;
	t->stw = calloc(1, sizeof(*t->stw));
	if (!t->stw) {
		pr_err("pid %d: out of memory for its memory dump", t->pid);
		return -1;
	}
	snprintf(owner, sizeof(owner), "pid %d", t->pid);
	ret = collect(ctx, t, &t->stw->pl);
	if (!ret) {
		t->stw->ps = page_sink_open(ctx, PAGE_SINK_TASK, t->vpid, owner);
		ret = t->stw->ps ? page_sink_declare(t->stw->ps, &t->stw->pl) : -1;
	}
	if (!ret)
		ret = page_splice(ctx, t, &t->stw->pl, t->stw->ps);
	/* Counted as the page scan, read and write, not twice as the parasite's too. */
	ctx->st.parasite_ns -= now_ns() - t0;
	ctx->st.t_mem_end = now_ns();
	return ret;
}

static void stw_free_task(struct dump_ctx *ctx, struct dump_task *t)
{
	(void)ctx;
	if (!t->stw)
		return;
	page_sink_abort(t->stw->ps);
	page_list_free(&t->stw->pl);
	free(t->stw);
	t->stw = NULL;
}

static int stw_task_memory(struct dump_ctx *ctx, struct dump_task *t)
{
	struct stw_task *st = t->stw;
	struct page_list pl;
	int ret;

	if (st) {
		ret = dump_mm(ctx, t);
		if (!ret)
			ret = page_write_rest(ctx, t, &st->pl, st->ps);
		if (!ret) {
			ret = page_sink_close(st->ps);
			st->ps = NULL;
		}
		stw_free_task(ctx, t);
		ctx->st.t_mem_end = now_ns();
		return ret;
	}
	ret = collect(ctx, t, &pl);
	if (!ret)
		ret = dump_mm(ctx, t);
	if (!ret)
		ret = page_write(ctx, t, &pl);
	page_list_free(&pl);
	ctx->st.t_mem_end = now_ns();
	return ret;
}

/* No write to shared memory, by whatever process, can reach the image now. */
static int stw_tree_frozen(struct dump_ctx *ctx)
{
	return shmem_write(ctx, NULL);
}

const struct dump_mode stw_dump_mode = {
	.name = "stop-the-world",
	.live = false,
	.task_infected = stw_task_infected,
	.task_memory = stw_task_memory,
	.tree_frozen = stw_tree_frozen,
	.free_task = stw_free_task,
};
