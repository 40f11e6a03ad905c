// SPDX-License-Identifier: GPL-2.0
/*
 * Pid namespaces nested inside a dumped tree (ns/pid-nest.h), at dump: what
 * restore can make again. vpid.c reads each task's pids at every level below
 * its root's (dump_task.nest, nspid, nstids); this checks the shape. A task
 * deeper than its parent is the init (pid 1) of a namespace its parent made
 * (clone(CLONE_NEWPID), or unshare(CLONE_NEWPID) and fork), alive; restore
 * makes it with CLONE_NEWPID, and the tasks below it are born in it. A parent
 * whose pid_for_children is such a namespace gets it back (restore joins its
 * init's). Its session and group are its own, its parent's, or (the group) a
 * leader's of the tree at its level: no helper is needed to make them.
 */
#include <errno.h>

#include "log.h"
#include "ns/ns.h"
#include "ns/pid-nest.h"

static const struct dump_task *find_pid(const struct dump_ctx *ctx, pid_t host)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		if (ctx->tasks[i].pid == host)
			return &ctx->tasks[i];
	return NULL;
}

pid_t pidns_nest_pid_seen(const struct dump_task *viewer, const struct dump_task *t)
{
	if (!viewer->nest)
		return t->vpid;
	return t->nest >= viewer->nest ? t->nspid[viewer->nest - 1] : 0;
}

/* A task deeper than its parent: the live init of the namespace its parent made. */
static int check_init(const struct dump_task *t, const struct dump_task *p)
{
	if (t->nest != p->nest + 1 || t->nspid[t->nest - 1] != 1) {
		pr_err("pid %d is in a pid namespace below its parent's (pid %d) but is not its "
		       "init (pid %d there); only a nested pid namespace's init may be born into "
		       "it from outside: cannot dump it",
		       t->pid, p->pid, t->nspid[t->nest - 1]);
		return -1;
	}
	if (t->zombie) {
		pr_err("pid %d, the init of a nested pid namespace, has exited (a zombie); the "
		       "namespace is gone with it: cannot dump it",
		       t->pid);
		return -1;
	}
	return 0;
}

/* Born into its session and group, or joining a group its level sees. */
static int check_ids(const struct dump_ctx *ctx, const struct dump_task *t,
		     const struct dump_task *p)
{
	const struct dump_task *l;

	if (t->sid != t->pid && t->sid != p->sid) {
		pr_err("pid %d, in a nested pid namespace: its session %d is neither its own nor "
		       "its parent's; cannot dump it",
		       t->pid, t->sid);
		return -1;
	}
	if (t->pgid == t->pid || t->pgid == p->pgid)
		return 0;
	l = find_pid(ctx, t->pgid);
	if (!l || l->nest != t->nest) {
		pr_err("pid %d, in a nested pid namespace: its process group %d is not its own, "
		       "its parent's, nor one led in its namespace by a task of the tree; cannot "
		       "dump it",
		       t->pid, t->pgid);
		return -1;
	}
	return 0;
}

/* An unshare(CLONE_NEWPID) of @t: its children's namespace has its init among them. */
static int check_for_children(const struct dump_ctx *ctx, const struct dump_task *t)
{
	struct ns_set set, c;

	if (t->zombie)
		return 0;
	if (ns_read(t->pid, &set)) {
		pr_perror("pid %d: cannot read its pid namespaces", t->pid);
		return -1;
	}
	if (ns_ref_equal(&set.ns[NS_SLOT_PID], &set.ns[NS_SLOT_PID_CHILDREN]))
		return 0;
	for (size_t i = 1; set.ns[NS_SLOT_PID_CHILDREN].ino && i < ctx->nr_tasks; i++) {
		const struct dump_task *k = &ctx->tasks[i];

		if (k->ppid == t->pid && k->nest == t->nest + 1 && !k->zombie &&
		    !ns_read(k->pid, &c) &&
		    ns_ref_equal(&c.ns[NS_SLOT_PID], &set.ns[NS_SLOT_PID_CHILDREN]))
			return 0;
	}
	pr_err("pid %d made a new pid namespace for its children (unshare) whose init is not "
	       "in the tree (not made yet, or gone); cannot dump it",
	       t->pid);
	return -1;
}

int pidns_nest_check(struct dump_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		const struct dump_task *t = &ctx->tasks[i];
		const struct dump_task *p = i ? find_pid(ctx, t->ppid) : NULL;

		if (p && t->nest > p->nest && check_init(t, p))
			return -1;
		if (p && t->nest && check_ids(ctx, t, p))
			return -1;
		if (t->nest)
			pr_debug("pid %d: %d level(s) down, pid %d there", t->pid, t->nest,
				 t->nspid[t->nest - 1]);
	}
	/* Once every init is known good: a dead one is named before its parent. */
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		if (check_for_children(ctx, &ctx->tasks[i]))
			return -1;
	return 0;
}
