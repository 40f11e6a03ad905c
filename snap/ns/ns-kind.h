/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What snap saves of a namespace and how it puts it back, one module per
 * kind (ns/uts.c, ...), listed in ns-kinds.c. A tree lives in one set of
 * namespaces, its root's (dump refuses anything else); a kind may differ
 * from snap's own only if it has an entry here. Restore clones the root
 * into a new namespace of each such kind (ns_root_clone_flags()) and the
 * other tasks inherit them.
 */
#ifndef SNAP_NS_KIND_H
#define SNAP_NS_KIND_H

#include <stdbool.h>
#include <sys/types.h>

#include "ctx.h"
#include "ns.pb-c.h"

struct ns_kind_ops {
	NsKind kind;
	/*
	 * Dump, the tree frozen: save namespace @id's contents in images of
	 * the module's own; @pid (a host pid) lives in it. NULL: nothing to save.
	 */
	int (*dump)(struct dump_ctx *ctx, pid_t pid, uint32_t id);
	/*
	 * Restore, in snap before any process is made: read and check the
	 * images of @id and keep what ->restore needs in *@state. NULL: none.
	 */
	int (*load)(struct restore_ctx *ctx, uint32_t id, void **state);
	/*
	 * ->load (and ->restore with its state) runs also for a namespace
	 * made empty (ns.img says so: no images were saved) and for one the
	 * root joins (opts->join_ns): for a kind snap itself must be in before
	 * any process is made (net: snap opens the tree's sockets).
	 */
	bool load_always;
	/*
	 * Restore, in the tree's root process right after it was cloned into
	 * its new namespaces, before its ids, children and fds: put the
	 * contents back. Kinds run in ns_restore_order[]: mount last, as it
	 * pivots the root. NULL: nothing to do.
	 */
	int (*restore)(struct restore_ctx *ctx, void *state);
	void (*free)(void *state);
};

/* The module of @kind, or NULL: snap cannot dump or restore such a namespace. */
const struct ns_kind_ops *ns_kind_ops(NsKind kind);

/* The kinds whose ->restore runs in the root, in this order. */
extern const NsKind ns_restore_order[];
extern const size_t ns_restore_order_nr;

/* Each module's table entry. */
extern const struct ns_kind_ops ns_uts_ops;
extern const struct ns_kind_ops ns_pid_ops;
extern const struct ns_kind_ops ns_time_ops;
extern const struct ns_kind_ops ns_mnt_ops;
extern const struct ns_kind_ops ns_net_ops;
extern const struct ns_kind_ops ns_ipc_ops;
extern const struct ns_kind_ops ns_cgroup_ops;

#endif
