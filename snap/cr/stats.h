/* SPDX-License-Identifier: GPL-2.0 */
/* --display-stats output. */
#ifndef SNAP_STATS_H
#define SNAP_STATS_H

#include "ctx.h"

void print_dump_stats(const struct dump_ctx *ctx);
void print_restore_stats(const struct restore_ctx *ctx);

#endif
