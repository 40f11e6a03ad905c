/* SPDX-License-Identifier: GPL-2.0 */
/* What the cgroup namespace kind (cg-ns.c) needs of the restore of cgroups. */
#ifndef SNAP_CG_RESTORE_H
#define SNAP_CG_RESTORE_H

#include "ctx.h"

/*
 * In the root, right after it was cloned: join the cgroups that were the
 * root of its cgroup namespace (cgns-ID.img, opened by cgroup_prepare())
 * and make a new namespace there; its own cgroups come next
 * (cgroup_task_enter()). Logged.
 */
int cg_enter_ns_root(struct restore_ctx *ctx);

#endif
