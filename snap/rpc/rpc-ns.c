// SPDX-License-Identifier: GPL-2.0
/*
 * The criu_opts a container runtime sets for its container's namespaces,
 * mounts and cgroups, mapped to the options of the modules that own them
 * (ns core, ns/mnt, cgroup), through the same parsers as their command-line
 * options so both mean the same. The strings those keep pointers into are
 * made here and live in struct rpc_paths until the request is done.
 */
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cgroup/cgroup.h"
#include "log.h"
#include "ns/mnt.h"
#include "ns/ns.h"
#include "rpc/rpc.h"

/* A string made from @fmt, kept in @p until the request is done; NULL logged. */
static char *keep(struct rpc_paths *p, const char *fmt, ...)
{
	char **n = realloc(p->kept, (p->nr_kept + 1) * sizeof(*n));
	va_list ap;
	int ret;

	if (!n) {
		pr_err("swrk: out of memory for the request's options");
		return NULL;
	}
	p->kept = n;
	va_start(ap, fmt);
	ret = vasprintf(&n[p->nr_kept], fmt, ap);
	va_end(ap);
	if (ret < 0) {
		pr_err("swrk: out of memory for the request's options");
		return NULL;
	}
	return n[p->nr_kept++];
}

/* empty_ns, a CLONE_NEW* mask: CRIU, and snap, take only the net namespace. */
static int map_empty_ns(const CriuOpts *co, struct snap_opts *o)
{
	if (!co->has_empty_ns || !co->empty_ns)
		return 0;
	if (co->empty_ns & ~(uint32_t)CLONE_NEWNET) {
		pr_err("swrk: option empty_ns %#x is not supported: only the net namespace "
		       "(CLONE_NEWNET, %#x) can be left empty",
		       co->empty_ns, CLONE_NEWNET);
		return -1;
	}
	return ns_opt_empty("net", o);
}

/* join_ns {ns, ns_file}: --join-ns NS:PATH; the strings are kept in @p. */
static int map_join_ns(const CriuOpts *co, bool restore, struct snap_opts *o, struct rpc_paths *p)
{
	for (size_t i = 0; i < co->n_join_ns; i++) {
		const RpcJoinNamespace *j = co->join_ns[i];
		char *arg;

		if (!restore) {
			pr_info("swrk: ignoring option join_ns %s: it is read at restore only",
				j->ns);
			continue;
		}
		if (j->extra_opt && j->extra_opt[0]) {
			pr_err("swrk: option join_ns %s with extra_opt '%s' is not supported: snap "
			       "joins no user namespace",
			       j->ns, j->extra_opt);
			return -1;
		}
		arg = keep(p, "%s:%s", j->ns, j->ns_file);
		if (!arg || ns_opt_join(arg, o))
			return -1;
	}
	return 0;
}

/*
 * root: where restore rebuilds the mounts (CRIU's --root; runc's criu-root,
 * a bind of the rootfs). At dump runc names the rootfs too; CRIU reads it
 * at restore only.
 */
static int map_root(const CriuOpts *co, bool restore, struct snap_opts *o)
{
	if (!co->root || !co->root[0])
		return 0;
	if (!restore) {
		pr_info("swrk: ignoring option root '%s' at dump: the tree's root is read from "
			"its mount namespace",
			co->root);
		return 0;
	}
	o->root = co->root;
	return 0;
}

/* ext_mnt {key, val}: --external mnt[KEY]:VAL, whose meaning differs at dump and restore. */
static int map_ext_mnt(const CriuOpts *co, struct snap_opts *o, struct rpc_paths *p)
{
	for (size_t i = 0; i < co->n_ext_mnt; i++) {
		char *arg = keep(p, "[%s]:%s", co->ext_mnt[i]->key, co->ext_mnt[i]->val);

		if (!arg || mnt_opt_external(o, arg))
			return -1;
	}
	return 0;
}

/*
 * external: --external, mnt[KEY]:VAL and net[INODE]:KEY (runc's
 * net[INODE]:extRootNetNS for a network namespace joined by path); the
 * other kinds are refused by name there.
 */
static int map_external(const CriuOpts *co, struct snap_opts *o, struct rpc_paths *p)
{
	for (size_t i = 0; i < co->n_external; i++) {
		char *arg = keep(p, "%s", co->external[i]);

		if (!arg || ns_opt_external(arg, o))
			return -1;
	}
	return 0;
}

/* manage_cgroups, manage_cgroups_mode: CRIU's enum criu_cg_mode to --manage-cgroups. */
static int map_cgroups(const CriuOpts *co, struct snap_opts *o, struct rpc_paths *p)
{
	static const char *const names[] = {
		[CRIU_CG_MODE__IGNORE] = "ignore", [CRIU_CG_MODE__CG_NONE] = "none",
		[CRIU_CG_MODE__PROPS] = "props",   [CRIU_CG_MODE__SOFT] = "soft",
		[CRIU_CG_MODE__FULL] = "full",     [CRIU_CG_MODE__STRICT] = "strict",
		[CRIU_CG_MODE__DEFAULT] = "soft",
	};
	const char *mode = NULL;

	/* CRIU: manage_cgroups alone is soft, false is ignore; a mode overrides both. */
	if (co->has_manage_cgroups)
		mode = co->manage_cgroups ? "soft" : "ignore";
	if (co->has_manage_cgroups_mode) {
		if ((size_t)co->manage_cgroups_mode >= ARRAY_SIZE(names)) {
			pr_err("swrk: option manage_cgroups_mode %d is not one of CRIU's modes",
			       co->manage_cgroups_mode);
			return -1;
		}
		mode = names[co->manage_cgroups_mode];
	}
	if (mode && cg_mode_parse(mode, &o->manage_cgroups)) {
		pr_err("swrk: option manage_cgroups_mode %s is not supported", mode);
		return -1;
	}
	for (size_t i = 0; i < co->n_cg_root; i++) {
		const RpcCgroupRoot *r = co->cg_root[i];
		char *arg = r->ctrl && r->ctrl[0] ? keep(p, "%s:%s", r->ctrl, r->path) :
						    keep(p, "%s", r->path);

		if (!arg || cg_root_parse(arg, o))
			return -1;
	}
	if (co->freeze_cgroup && co->freeze_cgroup[0])
		o->freeze_cgroup = co->freeze_cgroup;
	return 0;
}

void rpc_paths_free(struct rpc_paths *p)
{
	for (size_t i = 0; i < p->nr_kept; i++)
		free(p->kept[i]);
	free(p->kept);
}

int rpc_map_container(const CriuOpts *co, bool restore, struct snap_opts *o, struct rpc_paths *p)
{
	if (map_empty_ns(co, o) || map_join_ns(co, restore, o, p) || map_root(co, restore, o) ||
	    map_ext_mnt(co, o, p) || map_external(co, o, p) || map_cgroups(co, o, p))
		return -1;
	return 0;
}
