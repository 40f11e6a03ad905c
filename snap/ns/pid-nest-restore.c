// SPDX-License-Identifier: GPL-2.0
/*
 * Pid namespaces nested inside the tree, at restore (ns/pid-nest.h). Every
 * task and thread is cloned with its pid at each level from its own up to
 * the root's namespace (clone3 set_tid, innermost first); the levels above
 * the root's are the kernel's to choose. A nested namespace's init is made
 * by its parent with CLONE_NEWPID, and everything below it is born in it.
 * A parent that had unshare()d its children's namespace setns()es into its
 * init's (a pidfd) once its own children are made, so that what it forks
 * next goes there again.
 */
#include <errno.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "ns/ns.h"
#include "ns/pid-nest.h"

/* restore_find_task() of cr/, which this folder does not call into. */
static const struct restore_task *task_of(const struct restore_ctx *ctx, pid_t pid)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		if (ctx->tasks[i].pid == pid)
			return &ctx->tasks[i];
	return NULL;
}

static const struct restore_task *parent_of(const struct restore_ctx *ctx, size_t idx)
{
	return idx ? task_of(ctx, ctx->tasks[idx].pe->ppid) : NULL;
}

/* Thread @k's tids below the root's level, as dumped: pstree's for the leader. */
static const uint32_t *nested_tids(const struct restore_task *t, size_t k)
{
	return k ? t->core->threads[k]->ns_tid : t->pe->ns_pid;
}

static int check_task(const struct restore_ctx *ctx, size_t idx)
{
	const struct restore_task *t = &ctx->tasks[idx], *p = parent_of(ctx, idx);
	size_t d = pidns_depth(t), dp = p ? pidns_depth(p) : 0;

	if (d > PIDNS_MAX_NEST || (!p && d) || d < dp || d > dp + 1 ||
	    (d > dp && t->pe->ns_pid[d - 1] != 1)) {
		pr_err("image pstree.img: pid %d has %zu nested pid(s) (%s%u), its parent %zu: "
		       "not a task of the root's namespace, nor its parent's, nor an init (pid "
		       "1) one level below it",
		       t->pid, d, d ? "the last " : "", d ? t->pe->ns_pid[d - 1] : 0, dp);
		return -1;
	}
	for (size_t k = 0; t->core && k < t->core->n_threads; k++) {
		const ThreadCoreEntry *th = t->core->threads[k];

		if (th->n_ns_tid != d || (!k && d && th->ns_tid[d - 1] != t->pe->ns_pid[d - 1])) {
			pr_err("image core-%d.img: thread %u has %zu nested tid(s), its process in "
			       "pstree.img %zu",
			       t->pid, th->tid, th->n_ns_tid, d);
			return -1;
		}
	}
	return 0;
}

int pidns_nest_load(struct restore_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		if (check_task(ctx, i))
			return -1;
	return 0;
}

pid_t pidns_rst_pid_seen(const struct restore_ctx *ctx, const struct restore_task *viewer,
			 pid_t vpid)
{
	const struct restore_task *t;

	if (!pidns_depth(viewer))
		return vpid;
	t = task_of(ctx, vpid);
	return t ? pidns_seen_by(viewer, t) : 0;
}

size_t pidns_set_tids(const struct restore_task *t, size_t k, pid_t *tids)
{
	size_t d = pidns_depth(t);
	const uint32_t *v = nested_tids(t, k);

	for (size_t j = 0; j < d; j++)
		tids[j] = v[d - 1 - j];
	tids[d] = k ? (pid_t)t->core->threads[k]->tid : t->pid;
	return d + 1;
}

bool pidns_is_init(const struct restore_ctx *ctx, size_t idx)
{
	const struct restore_task *p = parent_of(ctx, idx);

	return p && pidns_depth(&ctx->tasks[idx]) > pidns_depth(p);
}

/* The child of tasks[@idx] that is the init of the namespace whose ns.img id is @id. */
static const struct restore_task *init_child(const struct restore_ctx *ctx, size_t idx, uint32_t id)
{
	for (size_t i = idx + 1; i < ctx->nr_tasks; i++) {
		const struct restore_task *c = &ctx->tasks[i];
		uint32_t cid;

		if ((pid_t)c->pe->ppid == ctx->tasks[idx].pid && pidns_is_init(ctx, i) &&
		    c->pe->ns && ns_ids_get(c->pe->ns, NS_SLOT_PID, &cid) && cid == id)
			return c;
	}
	return NULL;
}

int pidns_restore_for_children(struct restore_ctx *ctx, size_t idx)
{
	const struct restore_task *t = &ctx->tasks[idx], *c;
	uint32_t own, children;
	pid_t pid;
	int fd;

	if (!t->pe->ns || !ns_ids_get(t->pe->ns, NS_SLOT_PID, &own) ||
	    !ns_ids_get(t->pe->ns, NS_SLOT_PID_CHILDREN, &children) || own == children)
		return 0;
	c = init_child(ctx, idx, children);
	if (!c) {
		pr_err("image pstree.img: pid %d: no child of it is the init of its children's "
		       "pid namespace (ns.img id %u)",
		       t->pid, children);
		return -1;
	}
	pid = pidns_rst_pid_seen(ctx, t, c->pid);
	fd = syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0 || setns(fd, CLONE_NEWPID)) {
		pr_perror("pid %d: cannot make the pid namespace of its child %d (%d there) its "
			  "children's again",
			  t->pid, c->pid, pid);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}
