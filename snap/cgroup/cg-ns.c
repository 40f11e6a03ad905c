// SPDX-License-Identifier: GPL-2.0
/*
 * Cgroup namespaces (the NS_KIND__NS_CGROUP module of ns/ns-kind.h). A
 * cgroup namespace is its root cgroup in each hierarchy: what its members
 * see as "/" in /proc/self/cgroup and in a cgroup mount. Dump finds it by
 * reading the root task's /proc/PID/cgroup twice, as snap sees it and from
 * inside the namespace, and saves it in cgns-ID.img relative to the root
 * task's cgroup, as cgroup.img keeps everything. At restore the root, just
 * cloned, joins those cgroups (placed like the rest: cgroup_prepare()) and
 * makes its namespace there anew (unshare): a namespace's root is the
 * cgroup its maker is in at that moment, and the clone's was snap's.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.pb-c.h"
#include "cgroup/cg-hier.h"
#include "cgroup/cg-restore.h"
#include "image.h"
#include "log.h"
#include "ns/ns-kind.h"

/* @pid's /proc/PID/cgroup as a member of its cgroup namespace sees it. */
static int read_view(pid_t pid, struct cg_members *view)
{
	int own = open("/proc/thread-self/ns/cgroup", O_RDONLY | O_CLOEXEC), theirs, ret = -1;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/cgroup", pid);
	theirs = open(path, O_RDONLY | O_CLOEXEC);
	if (own < 0 || theirs < 0) {
		pr_perror("pid %d: cannot open its cgroup namespace", pid);
		goto out;
	}
	/* Only the calling thread moves, and only for this read. */
	if (setns(theirs, CLONE_NEWCGROUP)) {
		pr_perror("pid %d: cannot join its cgroup namespace", pid);
		goto out;
	}
	ret = cg_members_read(pid, view);
	if (ret)
		pr_perror("pid %d: cannot read its cgroups from its cgroup namespace", pid);
	if (setns(own, CLONE_NEWCGROUP)) {
		pr_perror("cannot go back to snap's own cgroup namespace");
		ret = -1;
	}
out:
	if (own >= 0)
		close(own);
	if (theirs >= 0)
		close(theirs);
	return ret;
}

/*
 * The root of the namespace in one hierarchy: @abs, the task's cgroup, is
 * that root followed by @view, the task's cgroup as the namespace shows it.
 */
static int ns_root(pid_t pid, const char *ctrls, const char *abs, const char *view, char *buf,
		   size_t size)
{
	size_t al = strlen(abs), vl = strcmp(view, "/") ? strlen(view) : 0;

	if (!strncmp(view, "/..", 3) || vl > al || strcmp(abs + al - vl, vl ? view : "")) {
		pr_err("pid %d is outside the root of its cgroup namespace in hierarchy %s (%s "
		       "there); cannot dump it",
		       pid, cg_hier_name(ctrls), view);
		return -1;
	}
	snprintf(buf, size, "%.*s", (int)(al - vl), abs);
	if (!buf[0])
		snprintf(buf, size, "/");
	return 0;
}

static int cgns_dump(struct dump_ctx *ctx, pid_t pid, uint32_t id)
{
	struct cg_members abs = {0}, view = {0}, tree = {0};
	struct cg_hosts hosts = {0};
	CgnsEntry e = CGNS_ENTRY__INIT;
	pid_t root = ctx->tasks[0].pid;
	char nsroot[4096];
	int ret = -1;

	if (cg_members_read(pid, &abs) || cg_members_read(root, &tree)) {
		pr_perror("pid %d: cannot read its cgroups", pid);
		goto out;
	}
	if (read_view(pid, &view) || cg_hosts_read(&hosts))
		goto out;
	e.controllers = calloc(abs.nr + 1, sizeof(char *));
	e.roots = calloc(abs.nr + 1, sizeof(char *));
	if (!e.controllers || !e.roots)
		goto oom;
	for (size_t i = 0; i < abs.nr; i++) {
		const char *c = abs.m[i].controllers, *v = cg_members_path(&view, c);
		const char *t = cg_members_path(&tree, c);

		/* As cgroup.img: the hierarchies snap can see. */
		if (!cg_host_find(&hosts, c) || !v || !t)
			continue;
		if (ns_root(pid, c, abs.m[i].path, v, nsroot, sizeof(nsroot)))
			goto out;
		e.controllers[e.n_controllers] = (char *)c;
		e.roots[e.n_roots] = cg_path_rel(t, nsroot);
		if (!e.roots[e.n_roots])
			goto oom;
		e.n_controllers++;
		e.n_roots++;
	}
	ret = img_write_one(ctx->dirfd, IMG_CGNS, id, &e.base);
	goto out;
oom:
	pr_err("out of memory for the cgroup namespace of pid %d", pid);
out:
	for (size_t i = 0; e.roots && i < e.n_roots; i++)
		free(e.roots[i]);
	free(e.roots);
	free(e.controllers);
	cg_members_free(&abs);
	cg_members_free(&view);
	cg_members_free(&tree);
	cg_hosts_free(&hosts);
	return ret;
}

/* Checked here, with the other namespaces; cgroup_prepare() reads it again to place it. */
static int cgns_load(struct restore_ctx *ctx, uint32_t id, void **state)
{
	CgnsEntry *e;
	int ret = 0;

	*state = NULL;
	if (img_load_one(ctx->dirfd, IMG_CGNS, id, (ProtobufCMessage **)&e))
		return -1;
	if (e->n_controllers != e->n_roots) {
		pr_err("image cgns-%u.img: %zu hierarchies, %zu roots", id, e->n_controllers,
		       e->n_roots);
		ret = -1;
	}
	protobuf_c_message_free_unpacked(&e->base, NULL);
	return ret;
}

static int cgns_restore(struct restore_ctx *ctx, void *state)
{
	(void)state;
	return cg_enter_ns_root(ctx);
}

const struct ns_kind_ops ns_cgroup_ops = {
	.kind = NS_KIND__NS_CGROUP,
	.dump = cgns_dump,
	.load = cgns_load,
	.restore = cgns_restore,
};
