/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A restored tree in a new pid namespace (restore-pidns.c): its root's was
 * not snap's at dump, or --new-pidns asks for one. The tree keeps the
 * image's pids in it; snap learns each task's and thread's host pid as it
 * appears (restore_task.real, real_tids), and keeps using those.
 */
#ifndef SNAP_RESTORE_PIDNS_H
#define SNAP_RESTORE_PIDNS_H

#include "cr/restore-tree.h"

/*
 * After the images are loaded: whether the tree gets a new pid namespace
 * (ctx->new_pidns; @foreign: its root's was not snap's at dump), and
 * whether the image allows it. -1 logged, naming the image.
 */
int restore_pidns_prepare(struct restore_ctx *ctx, bool foreign);
/*
 * clone3() the tree's root with @flags (CLONE_NEW* and CLONE_PARENT), in a
 * new pid namespace if ctx->new_pidns: as pid 1 there if it is 1 in the
 * image, else under a pid 1 of snap's (tr->init). Returns, in snap, the
 * host pid of the process made (the root, or that init); never returns in
 * the child. -1 logged.
 */
pid_t restore_make_root(struct restore_tree *tr, uint64_t flags);
/*
 * The host pid of tasks[@idx], a child of its parent (host pid known),
 * once it exists: 0 while it does not yet, -1 logged. Only in a new pid
 * namespace; the result is checked again once the task is traced.
 */
pid_t restore_find_real(struct restore_tree *tr, size_t idx);
/* Traced @t is the task of the image it was found for (pid reuse). */
bool restore_real_is(const struct restore_task *t);
/* Each thread's host tid, once its restorer made them all (real_tids). -1 logged. */
int restore_find_threads(struct restore_task *t);

#endif
