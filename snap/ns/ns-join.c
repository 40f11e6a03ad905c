// SPDX-License-Identifier: GPL-2.0
/*
 * The namespaces a restored tree's root joins instead of making them:
 * --join-ns NS:PATH (runc's join_ns), and the external ones, which the dump
 * left to the caller (--external net[INODE]:KEY, ns.img's ext_key) and the
 * caller hands over at restore (--inherit-fd fd[N]:KEY, runc's inherit_fd
 * extRootNetNS). Kind modules that must work inside the namespace before
 * the root exists (net) take its fd from ns_joined().
 */
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>

#include "log.h"
#include "ns/ns-restore-int.h"

int ns_clone_flag(NsKind kind)
{
	switch (kind) {
	case NS_KIND__NS_PID:
		return CLONE_NEWPID;
	case NS_KIND__NS_NET:
		return CLONE_NEWNET;
	case NS_KIND__NS_MNT:
		return CLONE_NEWNS;
	case NS_KIND__NS_IPC:
		return CLONE_NEWIPC;
	case NS_KIND__NS_UTS:
		return CLONE_NEWUTS;
	case NS_KIND__NS_USER:
		return CLONE_NEWUSER;
	case NS_KIND__NS_CGROUP:
		return CLONE_NEWCGROUP;
	case NS_KIND__NS_TIME:
		return CLONE_NEWTIME;
	default:
		return 0;
	}
}

/* The fd --inherit-fd hands over with key @key, or -1. */
static int inherited(const struct snap_opts *o, const char *key)
{
	for (size_t i = 0; i < o->nr_inherit_fds; i++)
		if (!strcmp(o->inherit_fds[i].key, key))
			return o->inherit_fds[i].fd;
	return -1;
}

/*
 * The namespace the root joins instead of making one: --join-ns NS:PATH,
 * or the one --inherit-fd hands over for an external namespace (ns.img's
 * ext_key, --external at dump).
 */
int ns_open_joined(struct restore_ctx *ctx, const NsEntry *e)
{
	const char *path = ctx->opts->join_ns[e->kind], *name = ns_kind_name(e->kind);
	struct ns_restore *nr = ctx->ns;
	int fd, *jfd = &nr->join_fd[e->kind];
	char **what = &nr->join_what[e->kind];

	if (path) {
		if (asprintf(what, "--join-ns %s:%s", name, path) < 0)
			goto oom;
		*jfd = open(path, O_RDONLY | O_CLOEXEC);
	} else {
		fd = inherited(ctx->opts, e->ext_key);
		if (fd < 0) {
			pr_err("image ns.img: the tree's %s namespace (id %u) is external, key %s: "
			       "restore needs --inherit-fd fd[N]:%s with fd N open on a %s "
			       "namespace",
			       name, e->id, e->ext_key, e->ext_key, name);
			return -1;
		}
		if (asprintf(what, "--inherit-fd fd[%d]:%s", fd, e->ext_key) < 0)
			goto oom;
		*jfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	}
	if (*jfd < 0) {
		pr_perror("%s: cannot open it", *what);
		return -1;
	}
	if (ioctl(*jfd, NS_GET_NSTYPE) != ns_clone_flag(e->kind)) {
		pr_err("%s: not a %s namespace", *what, name);
		return -1;
	}
	pr_info("the tree's %s namespace (ns.img id %u) is the one %s gives", name, e->id, *what);
	return 0;
oom:
	*what = NULL;
	pr_err("out of memory for the %s namespace to join", name);
	return -1;
}

int ns_joined(const struct restore_ctx *ctx, NsKind kind, const char **what)
{
	*what = ctx->ns ? ctx->ns->join_what[kind] : NULL;
	return ctx->ns ? ctx->ns->join_fd[kind] : -1;
}
