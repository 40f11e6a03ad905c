/* SPDX-License-Identifier: GPL-2.0 */
/* core-PID.img: registers, signals, timers, limits, creds, mm layout info. */
#ifndef SNAP_CORE_DUMP_H
#define SNAP_CORE_DUMP_H

#include "ctx.h"

/* Needs t->ctl: the registers come from the parasite's saved state. */
int dump_core(struct dump_ctx *ctx, struct dump_task *t);

#endif
