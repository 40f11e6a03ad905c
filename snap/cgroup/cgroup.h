/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cgroups: which cgroups the dumped tree lives in (cgroup.img), put back at
 * restore under --cgroup-root or where snap runs, as --manage-cgroups says;
 * the cgroup namespace kind (cg-ns.c); the cgroup freezer of --freeze-cgroup
 * (cg-freeze.c). See README.md in this folder.
 */
#ifndef SNAP_CGROUP_H
#define SNAP_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "ctx.h"

/* "soft" for CG_MODE_SOFT; NULL for a value that is no mode. */
const char *cg_mode_name(enum cg_mode m);
/* --manage-cgroups[=MODE]: -1 for a word that is no mode, nothing logged. */
int cg_mode_parse(const char *s, enum cg_mode *m);
/* --cgroup-root [CTRL:]PATH, added to @o; -1 said on stderr. */
int cg_root_parse(const char *arg, struct snap_opts *o);

/*
 * Dump, tree frozen: every task's cgroups, and the properties of the
 * tree's cgroups if the mode restores them, into cgroup.img (none with
 * --manage-cgroups=ignore). Logged.
 */
int cgroup_dump(struct dump_ctx *ctx);

/*
 * Restore, in snap before the root is cloned: load and check cgroup.img,
 * make and check the cgroups as the mode says, set their properties, and
 * open the cgroup.procs of each for the tasks to join. Logged.
 */
int cgroup_prepare(struct restore_ctx *ctx);
/*
 * In the new process tasks[@idx], before it makes children (they are born
 * in its cgroups): join its set of cgroups. -1 logged.
 */
int cgroup_task_enter(struct restore_ctx *ctx, size_t idx);
/* In a restored process: move the cgroup fds to @base and up, out of the fds' way. */
int cgroup_move_fds(struct restore_ctx *ctx, int base);
/* A restore that failed: remove the cgroups it made, if they are empty by now. */
void cgroup_undo(struct restore_ctx *ctx);
void cgroup_restore_free(struct restore_ctx *ctx);

/*
 * --freeze-cgroup PATH (dump): freeze the cgroup (v1 freezer.state or v2
 * cgroup.freeze), seize every thread in it and below it, and thaw it; the
 * threads stay seized and stop once thawed, for tree_seize() to take over.
 * Thawed again on any error. Logged.
 */
int cgroup_freeze_seize(struct dump_ctx *ctx);
/* After tree_seize(): let go of the threads it seized that are not the tree's. */
void cgroup_freeze_release(struct dump_ctx *ctx);

#endif
