/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The bootstrap area: the restorer blob, its arguments and stack, in one
 * MAP_SHARED mapping placed where neither snap nor the restored layout has
 * anything. Shared, so snap reads the restorer's result and stats after.
 */
#ifndef SNAP_RESTORE_BOOTSTRAP_H
#define SNAP_RESTORE_BOOTSTRAP_H

#include "ctx.h"
#include "protocol.h"

struct bootstrap {
	void *addr;
	size_t len;
	struct restorer_args *args;
	uint64_t stack_top;
};

/* In snap, before the fork: place the area and fill what needs no fds. */
int bootstrap_create(struct restore_ctx *ctx, struct restore_task *t, struct bootstrap *b);
/*
 * In the child, after its fds are in place: open the mapped files, the page
 * image and the exe at or above @service_base + 2, describe the vDSO move.
 */
int bootstrap_fill_child(struct restore_ctx *ctx, struct restore_task *t, struct bootstrap *b,
			 int service_base);
void bootstrap_destroy(struct bootstrap *b);
/* Once the restorer is done: how its memory fill went, into the log (-v4). */
void bootstrap_log_fill(const struct bootstrap *b, pid_t pid);
/* Never returns: switch to the bootstrap stack and run the restorer. */
void bootstrap_jump(struct bootstrap *b) __attribute__((noreturn));

#endif
