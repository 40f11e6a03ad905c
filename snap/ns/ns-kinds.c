// SPDX-License-Identifier: GPL-2.0
/*
 * The namespace kinds snap can dump and restore when they are not its own,
 * one module each (ns-kind.h). A kind missing here is refused at dump, and
 * at restore of an image that has one.
 */
#include <stddef.h>

#include "ns/ns-kind.h"

static const struct ns_kind_ops *const kinds[] = {
	&ns_uts_ops,
	&ns_pid_ops,
	&ns_time_ops,
	&ns_mnt_ops,
	&ns_net_ops,
	&ns_ipc_ops,
	&ns_cgroup_ops,
};

/*
 * uts, ipc and net need nothing of the others; cgroup before mount (a
 * cgroup mount shows the namespace's root), mount last: it pivots the
 * root, and mounts proc and sysfs that show the pid and net namespaces.
 */
const NsKind ns_restore_order[] = {
	NS_KIND__NS_UTS,    NS_KIND__NS_IPC,  NS_KIND__NS_NET,
	NS_KIND__NS_CGROUP, NS_KIND__NS_TIME, NS_KIND__NS_MNT,
};
const size_t ns_restore_order_nr = sizeof(ns_restore_order) / sizeof(ns_restore_order[0]);

const struct ns_kind_ops *ns_kind_ops(NsKind kind)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i]->kind == kind)
			return kinds[i];
	return NULL;
}
