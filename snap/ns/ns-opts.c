// SPDX-License-Identifier: GPL-2.0
/*
 * The namespace options of the command line and of RPC, parsed once here:
 * --empty-ns net and --join-ns NS:PATH, with CRIU's meaning.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ns/ns.h"

int ns_opt_empty(const char *arg, struct snap_opts *o)
{
	/* CRIU leaves only the net namespace's contents to the caller. */
	if (strcmp(arg, "net")) {
		pr_err("--empty-ns takes net, not '%s'", arg);
		return -1;
	}
	o->empty_ns |= CLONE_NEWNET;
	return 0;
}

int ns_opt_join(const char *arg, struct snap_opts *o)
{
	static const NsKind joinable[] = {NS_KIND__NS_NET, NS_KIND__NS_UTS, NS_KIND__NS_IPC};
	const char *colon = strchr(arg, ':');

	for (size_t i = 0; colon && colon[1] && i < ARRAY_SIZE(joinable); i++) {
		const char *name = ns_kind_name(joinable[i]);

		if (strlen(name) != (size_t)(colon - arg) || strncmp(arg, name, colon - arg))
			continue;
		o->join_ns[joinable[i]] = colon + 1;
		return 0;
	}
	pr_err("--join-ns takes NS:PATH with NS one of net, uts, ipc, not '%s'", arg);
	return -1;
}
