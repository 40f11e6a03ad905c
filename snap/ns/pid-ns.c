// SPDX-License-Identifier: GPL-2.0
/*
 * Pid namespaces (ns-kind.h). A pid namespace has no contents of its own to
 * save: its processes are the tree, and pstree.img and the core images hold
 * their pids as the namespace sees them (vpid.h). Restore clones the root
 * with CLONE_NEWPID (ns_root_clone_flags()), as pid 1 or under snap's init,
 * and learns the host pids as the tasks appear (cr/restore-pidns.c). Pid
 * namespaces nested in the root's, made by tasks of the tree, are in
 * pid-nest.h.
 */
#include "ns/ns-kind.h"

const struct ns_kind_ops ns_pid_ops = {
	.kind = NS_KIND__NS_PID,
};
