/* SPDX-License-Identifier: GPL-2.0 */
/* Steps of `snap dump` (cr/dump.c) that `snap pre-dump` (cr/predump.c) takes too. */
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

#endif
