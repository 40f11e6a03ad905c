/* SPDX-License-Identifier: GPL-2.0 */
/* The process tree: found and frozen at dump (pstree-dump.c), rebuilt at restore. */
#ifndef SNAP_PSTREE_H
#define SNAP_PSTREE_H

#include "ctx.h"

/* Before the freeze: read what can be read of the tree below the root (see .c). */
int tree_prepare(struct dump_ctx *ctx);
void tree_prepare_free(struct dump_ctx *ctx);
/*
 * Freeze ctx->tasks[0] and everything below it, parents before children,
 * filling ctx->tasks. On failure, what was seized stays seized: the caller
 * lets it go with tree_unseize().
 */
int tree_seize(struct dump_ctx *ctx);
/*
 * Detach every seized task; with @kill_all, SIGKILL them all first. Killed
 * tasks may still be tearing down their memory (a few hundred ms for GiBs):
 * tree_wait_killed() waits for that.
 */
void tree_unseize(struct dump_ctx *ctx, bool kill_all);
/*
 * --leave-stopped: detach every seized task into a group stop (SIGSTOP), as
 * `kill -STOP` would leave it, and return once each thread is in it.
 */
void tree_unseize_stopped(struct dump_ctx *ctx);
/* After tree_unseize(ctx, true): wait until every killed task is gone (5 s at most). */
void tree_wait_killed(const struct dump_ctx *ctx);
/*
 * With @parent's parasite gone: whether it has waited for the stop of each
 * of its stopped children (dump_task.stop_waited). -1 logged.
 */
int tree_check_stops(struct dump_ctx *ctx, struct dump_task *parent);
/* pstree.img */
int tree_write(struct dump_ctx *ctx);

#endif
