/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pid namespaces nested inside the tree: a task of the tree that is the init
 * of a further pid namespace (a container that runs `unshare -p -f`, or a
 * nested container), and the tasks below it. The images hold every pid as
 * the tree root's namespace sees it, as always (vpid.h), and, for a task in
 * a nested namespace, its pid at each level below that (pstree_entry.ns_pid,
 * thread_core_entry.ns_tid). Dump checks the shape restore can make again
 * (pid-nest-dump.c); restore clones each task with a set_tid array of its
 * depth, an init with CLONE_NEWPID, and gives a parent that had unshared its
 * children's namespace back (pid-nest-restore.c).
 */
#ifndef SNAP_PID_NEST_H
#define SNAP_PID_NEST_H

#include <sys/types.h>

#include "ctx.h"

/* The most levels a tree nests below its root's (the kernel's limit is 32 in all). */
#define PIDNS_MAX_NEST 31

/*
 * Dump, after tree_vpids(): refuses by name what restore cannot make (a
 * task born into a nested namespace from outside that is not its init, an
 * init that exited, an unshare() whose namespace has no init in the tree, a
 * session or group that would need a helper in a nested namespace). Logged.
 */
int pidns_nest_check(struct dump_ctx *ctx);
/* @t's pid as @viewer's pid namespace sees it, 0 when it does not. */
pid_t pidns_nest_pid_seen(const struct dump_task *viewer, const struct dump_task *t);

/* Restore: levels below the root's pid namespace tasks[@t] lives at. */
static inline size_t pidns_depth(const struct restore_task *t)
{
	return t->pe->n_ns_pid;
}
/* Restore: @t's pid as @viewer (its ancestor, or itself) sees it; 0 when it does not. */
static inline pid_t pidns_seen_by(const struct restore_task *viewer, const struct restore_task *t)
{
	size_t dv = pidns_depth(viewer);

	if (!dv)
		return t->pid;
	return pidns_depth(t) >= dv ? (pid_t)t->pe->ns_pid[dv - 1] : 0;
}
/*
 * Restore, once the images are loaded: pstree.img's ns_pid and the core
 * images' ns_tid agree with each other (depth, inits). -1 logged.
 */
int pidns_nest_load(struct restore_ctx *ctx);
/* The image's pid @vpid (of a task, group or session) as @viewer sees it; 0: it does not. */
pid_t pidns_rst_pid_seen(const struct restore_ctx *ctx, const struct restore_task *viewer,
			 pid_t vpid);
/*
 * clone3's set_tid for thread @k of @t, innermost first: its own tid, then
 * each level up to the root's. Returns how many (at most PIDNS_MAX_NEST + 1).
 */
size_t pidns_set_tids(const struct restore_task *t, size_t k, pid_t *tids);
/* tasks[@idx] is the init of a namespace its parent makes for it: CLONE_NEWPID. */
bool pidns_is_init(const struct restore_ctx *ctx, size_t idx);
/*
 * In a restored task, after it made its children: its children's pid
 * namespace is its init child's again when it was at dump (unshare). -1 logged.
 */
int pidns_restore_for_children(struct restore_ctx *ctx, size_t idx);

#endif
