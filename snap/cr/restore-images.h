/* SPDX-License-Identifier: GPL-2.0 */
/* Loading and validating a whole image set before anything is created. */
#ifndef SNAP_RESTORE_IMAGES_H
#define SNAP_RESTORE_IMAGES_H

#include "ctx.h"

int restore_load(struct restore_ctx *ctx);
void restore_unload(struct restore_ctx *ctx);
/* The task of @pid, or NULL. */
struct restore_task *restore_find_task(const struct restore_ctx *ctx, pid_t pid);

#endif
