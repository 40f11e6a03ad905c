// SPDX-License-Identifier: GPL-2.0
/*
 * The live dump mode (see mem/dump-mode.h, live.h): the steps cr/dump.c
 * runs, each handing over to the part of live/ that does it. Before the
 * freeze the pipes are made and shared memory warmed; frozen, each task's
 * pages are found, held and armed with the parasite's help, then shared
 * memory is held (or written) and the last pages protected; once the tree
 * runs, everything held is streamed.
 */
#include <stdlib.h>

#include "live/live-internal.h"
#include "mem/track.h"

/* The root and the children found before the freeze come here early; a task found frozen, late. */
static int live_prepare_task(struct dump_ctx *ctx, struct dump_task *t)
{
	return t->ld ? 0 : live_prepare(t, ctx->opts->live_splice, &t->ld);
}

static void live_prepare_tree(struct dump_ctx *ctx)
{
	if (!live_shmem_supported(ctx->kf))
		return;
	shmem_prewarm(ctx, &ctx->tasks[0]);
	for (size_t i = 0; i < ctx->nr_hints; i++)
		shmem_prewarm(ctx, &ctx->hints[i]);
}

/* Pages are found before the protection goes on, and held while the parasite can splice them. */
static int live_task_infected(struct dump_ctx *ctx, struct dump_task *t)
{
	struct page_list pl = { 0 };
	bool *later = NULL;
	int ret;

	ret = live_note_rseq(t, t->ld);
	if (!ret) {
		later = live_later_plan(ctx, t);
		ret = page_collect_part(ctx, t, &pl, later);
	}
	/*
	 * --prev-images-dir: the runs the parent holds are only declared. The
	 * write tracker goes before our own uffd: a range takes one uffd.
	 */
	if (!ret && t->trk)
		ret = track_split(ctx, t, &pl, false) ?: live_parent_runs(t->ld, &pl);
	if (!ret && t->trk)
		ret = track_release(t);
	if (!ret) {
		ret = live_freeze(ctx, t, &pl, t->ld, later);
		later = NULL;
	}
	free(later);
	page_list_free(&pl);
	return ret;
}

/*
 * The pages are held already. mm-PID.img lists the guard regions: where
 * the holder's page tables are scanned once the tree runs (1.1 ms a GiB of
 * the freeze, frozen), it is written then, from the mappings read now.
 */
static int live_task_memory(struct dump_ctx *ctx, struct dump_task *t)
{
	return t->ld->later ? mm_note_ghosts(ctx, t) : dump_mm(ctx, t);
}

/*
 * Every task is stopped for good (in its syscall, if any), so what the
 * parasite's syscalls needed open can be protected: from here the tasks
 * must not run until their uffds are served. Then shared memory: held to
 * be streamed, or written now.
 */
static int live_tree_frozen(struct dump_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		if (!ctx->tasks[i].zombie && live_protect(ctx->tasks[i].ld))
			return -1;
	return shmem_write(ctx, live_shmem_hold);
}

static int live_tree_running(struct dump_ctx *ctx)
{
	ctx->st.t_mem_start = now_ns();
	/* The tasks run: from here on, what their holders keep alone is bounded. */
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		if (!ctx->tasks[i].zombie && ctx->tasks[i].ld->holder &&
		    live_brake_start(ctx->tasks[i].ld))
			return -1;
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		struct dump_task *t = &ctx->tasks[i];

		if (!t->zombie && t->ld->later &&
		    (live_collect_later(ctx, t, t->ld) || dump_mm(ctx, t)))
			return -1;
	}
	if (live_stream_tree(ctx))
		return -1;
	ctx->st.t_mem_end = now_ns();
	return 0;
}

/* Closing the uffd lifts whatever protection a failed stream left. */
static void live_free_task(struct dump_ctx *ctx, struct dump_task *t)
{
	(void)ctx;
	live_free(t->ld);
	t->ld = NULL;
}

static void live_free_tree(struct dump_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_live_objs; i++)
		live_free(ctx->live_objs[i]);
	free(ctx->live_objs);
	ctx->live_objs = NULL;
	ctx->nr_live_objs = 0;
}

const struct dump_mode live_dump_mode = {
	.name = "live",
	.live = true,
	.prepare_task = live_prepare_task,
	.prepare_tree = live_prepare_tree,
	.task_infected = live_task_infected,
	.task_memory = live_task_memory,
	.tree_frozen = live_tree_frozen,
	.tree_running = live_tree_running,
	.free_task = live_free_task,
	.free_tree = live_free_tree,
};
