/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pids as a pid namespace sees them. A tree may live in a pid namespace
 * below snap's (a container's): snap traces, kills and reads /proc by host
 * pid, and the images hold the pids the tree's root's namespace sees (its
 * "virtual" pids, the last field of NSpid in /proc/PID/status). Dump takes
 * them here, once, for every task and thread (tree_vpids()), and
 * translates any other pid it writes to an image with dump_vpid().
 */
#ifndef SNAP_VPID_H
#define SNAP_VPID_H

#include <sys/types.h>

#include "ctx.h"

/* What /proc/@pid/task/@tid/status says (@tid 0: the process's own). */
struct nspids {
	int levels;	      /* pid namespaces from /proc's down to the task's */
	pid_t pid, pgid, sid; /* in the task's own namespace: the last fields; 0 outside it */
};

/* -1 with errno when the task is gone or /proc has no NSpid; nothing logged. */
int proc_nspids(pid_t pid, pid_t tid, struct nspids *n);
/* Every field of NSpid (/proc's namespace first) into @at, at most @max; how many, or -1. */
int proc_nspid_all(pid_t pid, pid_t tid, pid_t *at, int max);
/*
 * Frozen tree: each task's and thread's pid, group and session in its
 * root's pid namespace (dump_task vpid, vtids, vpgid, vsid), and, in a pid
 * namespace nested in its root's, at each level below (nest, nspid,
 * nstids; ns/pid-nest.h checks their shape). Refuses by name a group or
 * session outside the namespace that is not its parent's. Logged.
 */
int tree_vpids(struct dump_ctx *ctx);
/*
 * Host pid (of a process, thread, group or session) @host as the tree's
 * root's pid namespace sees it; 0 when it is outside that namespace, @host
 * itself when the tree is in snap's.
 */
pid_t dump_vpid(const struct dump_ctx *ctx, pid_t host);

/* Thread @k of @t as the images name it. */
static inline pid_t dump_vtid(const struct dump_task *t, size_t k)
{
	return t->vtids ? t->vtids[k] : t->threads[k];
}

#endif
