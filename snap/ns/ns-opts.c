// SPDX-License-Identifier: GPL-2.0
/*
 * The namespace options of the command line and of RPC, parsed once here:
 * --empty-ns net, --join-ns NS:PATH and --external KIND[...]:..., with
 * CRIU's meaning.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ns/mnt.h"
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

/*
 * net[INODE]:KEY, pid[INODE]:KEY: the tree's namespace of that kind is the
 * caller's (runc: one the container joins by path).
 */
static int opt_external_ns(char *arg, NsKind kind, struct snap_opts *o)
{
	const char *name = ns_kind_name(kind);
	char *open = arg + strlen(name), *end;
	unsigned long long ino;

	errno = 0;
	ino = strtoull(open + 1, &end, 10);
	if (*open != '[' || end == open + 1 || errno || strncmp(end, "]:", 2) || !end[2] || !ino) {
		pr_err("--external takes %s[INODE]:KEY, not '%s'", name, arg);
		return -1;
	}
	if (o->ext_ns[kind].key) {
		pr_err("--external %s: the %s namespace is external already (key %s)", arg, name,
		       o->ext_ns[kind].key);
		return -1;
	}
	o->ext_ns[kind] = (struct ext_ns){ino, end + 2};
	return 0;
}

int ns_opt_external(char *arg, struct snap_opts *o)
{
	static const NsKind kinds[] = {NS_KIND__NS_NET, NS_KIND__NS_PID};

	if (!strncmp(arg, "mnt[", 4))
		return mnt_opt_external(o, arg + 3);
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		const char *name = ns_kind_name(kinds[i]);

		if (!strncmp(arg, name, strlen(name)) && arg[strlen(name)] == '[')
			return opt_external_ns(arg, kinds[i], o);
	}
	pr_err("--external %s: snap takes only mnt[KEY]:VAL, net[INODE]:KEY and "
	       "pid[INODE]:KEY external resources",
	       arg);
	return -1;
}
