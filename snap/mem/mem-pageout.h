/* SPDX-License-Identifier: GPL-2.0 */
/*
 * After a -R dump: push the pages that were in swap at the freeze, and that
 * reading them brought back into memory, out to swap again.
 */
#ifndef SNAP_MEM_PAGEOUT_H
#define SNAP_MEM_PAGEOUT_H

#include "ctx.h"

/* t->swapped, through t->pidfd. Failures are logged as a warning only. */
void mem_pageout_swapped(struct dump_ctx *ctx, struct dump_task *t);

#endif
