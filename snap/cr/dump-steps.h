/* SPDX-License-Identifier: GPL-2.0 */
/* Steps of `snap dump` (cr/dump.c) that `snap pre-dump` (cr/predump.c) or a dump mode take too. */
#ifndef SNAP_DUMP_STEPS_H
#define SNAP_DUMP_STEPS_H

#include "ctx.h"
#include "infect.h"

/* Make and open -D, and remove its inventory.img: the set is incomplete until written. */
int dump_open_images_dir(struct dump_ctx *ctx);
/* inventory.img, the last image written: a pre-dump's says so, and names its parent. */
int dump_write_inventory(struct dump_ctx *ctx);
/* What the dump read of @t: tracker, mappings, threads, ids, its pidfd. */
void dump_task_free(struct dump_task *t);
/*
 * What snap reads of the frozen tree while @t's parasite works on (a live
 * dump's holder fork): @t's fds and, after the tree's last task, the
 * tree's namespaces and cgroups. Each once: the dump does later what this
 * did not.
 */
int dump_meanwhile(struct dump_ctx *ctx, struct dump_task *t);

#endif
