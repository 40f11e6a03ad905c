// SPDX-License-Identifier: GPL-2.0
/*
 * The stop-the-world dump mode (see dump-mode.h): each task's pages are
 * found and copied into its images while the tree is frozen, and shared
 * memory once the whole tree is; nothing is left for after the freeze.
 */
#include "mem/dump-mode.h"
#include "mem/mem-dump.h"
#include "mem/shmem.h"
#include "mem/track.h"

static int stw_task_memory(struct dump_ctx *ctx, struct dump_task *t)
{
	struct page_list pl;
	uint64_t t0;
	int ret;

	if (!ctx->st.t_mem_start)
		ctx->st.t_mem_start = now_ns();
	/* The page scan also finds the guard regions that mm-PID.img lists. */
	t0 = now_ns();
	ret = page_collect(ctx, t, &pl);
	/* --prev-images-dir: what was not written since is the parent's. */
	if (!ret)
		ret = track_split(ctx, t, &pl, false);
	ctx->st.scan_ns += now_ns() - t0;
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
	.task_memory = stw_task_memory,
	.tree_frozen = stw_tree_frozen,
};
