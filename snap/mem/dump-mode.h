/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The dump mode: how a dump saves memory, chosen once by cmd_dump() and
 * kept in dump_ctx.mode. The flow (cr/dump.c) is the same for every mode
 * and calls the hooks below in the order they are listed; a NULL hook is a
 * step the mode does not have.
 *
 *  - stop-the-world (mem/dump-stw.c): every page is written while the tree
 *    is frozen;
 *  - live (live/live-mode.c): pages are held and write-protected while
 *    frozen, and streamed once the tree runs again.
 *
 * Either mode may dump on top of a parent set (--prev-images-dir, track.h):
 * its memory step then leaves the pages not written since to the parent.
 * A pre-dump is not a mode: it saves memory only (cr/predump.c).
 */
#ifndef SNAP_DUMP_MODE_H
#define SNAP_DUMP_MODE_H

#include "ctx.h"

struct dump_mode {
	const char *name;
	bool live;		/* pages saved after the freeze: inventory.img, --display-stats */
	/*
	 * Before the freeze, for each task as the tree is read; or frozen, for
	 * a task found only then. Called once per task.
	 */
	int (*prepare_task)(struct dump_ctx *ctx, struct dump_task *t);
	/* Before the freeze, the tree read (ctx->tasks[0] and ctx->hints). */
	void (*prepare_tree)(struct dump_ctx *ctx);
	/* Frozen, the parasite in the task and its misc state dumped. */
	int (*task_infected)(struct dump_ctx *ctx, struct dump_task *t);
	/* Frozen, the parasite gone: the task's memory step, mm-PID.img included. */
	int (*task_memory)(struct dump_ctx *ctx, struct dump_task *t);
	/* Every task of the tree through task_memory: shared memory, still frozen. */
	int (*tree_frozen)(struct dump_ctx *ctx);
	/* NULL: the tree stays frozen to the end. Else, it runs again first. */
	int (*tree_running)(struct dump_ctx *ctx);
	/* Drop what the steps made for @t (prepare_task's too), failed or not. */
	void (*free_task)(struct dump_ctx *ctx, struct dump_task *t);
	/* Drop what the steps made for the tree. */
	void (*free_tree)(struct dump_ctx *ctx);
};

extern const struct dump_mode stw_dump_mode;

static inline int dump_mode_prepare_task(struct dump_ctx *ctx, struct dump_task *t)
{
	return ctx->mode->prepare_task ? ctx->mode->prepare_task(ctx, t) : 0;
}

/* Also on a dump that failed before it chose its mode. */
static inline void dump_mode_free_task(struct dump_ctx *ctx, struct dump_task *t)
{
	if (ctx->mode && ctx->mode->free_task)
		ctx->mode->free_task(ctx, t);
}

#endif
