// SPDX-License-Identifier: GPL-2.0
/*
 * The tree in a new pid namespace (restore-pidns.h). Its root is cloned
 * with CLONE_NEWPID: as pid 1 when the image says it is 1 (a container's
 * init), else under a small pid 1 of snap's, which makes the root with its
 * pid (clone3 set_tid) and then stays as the namespace's init: it reaps
 * orphans, passes SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 on
 * to the root, and exits with the root's status when the root exits (the
 * kernel then kills what is left in the namespace). Every other task is
 * made by its parent inside the namespace, with the image's pid, as
 * always; snap finds its host pid among its parent's children by NSpid,
 * and checks it again once it traces it, when the pid can no longer be
 * reused behind its back. An external pid namespace (--external
 * pid[INODE]:KEY at dump, --inherit-fd at restore) is joined instead: the
 * root is made there with its pid, its init being the caller's.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cr/restore-images.h"
#include "cr/restore-pidns.h"
#include "log.h"
#include "ns/ns.h"
#include "ns/pid-nest.h"
#include "vpid.h"

/* An external pid namespace's init is outside the tree: no task of the image may be pid 1. */
static int check_no_init(const struct restore_ctx *ctx, const char *what)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		const struct restore_task *t = &ctx->tasks[i];

		for (size_t k = 0; t->core && k < t->core->n_threads; k++)
			if (t->core->threads[k]->tid == 1) {
				pr_err("image core-%d.img: thread 1 is in the tree, but its pid "
				       "namespace is the one %s gives, whose pid 1 is outside it",
				       t->pid, what);
				return -1;
			}
	}
	return 0;
}

int restore_pidns_prepare(struct restore_ctx *ctx, bool foreign)
{
	pid_t root = ctx->tasks[0].pid;
	const char *joined;

	if (pidns_nest_load(ctx))
		return -1;
	ctx->new_pidns = foreign || ctx->opts->new_pidns ||
			 ns_joined(ctx, NS_KIND__NS_PID, &joined) >= 0;
	if (!ctx->new_pidns)
		return 0;
	if (ns_joined(ctx, NS_KIND__NS_PID, &joined) >= 0) {
		if (check_no_init(ctx, joined))
			return -1;
		goto found;
	}
	/* Pid 1 is the root's, or else snap's init's. */
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		const struct restore_task *t = &ctx->tasks[i];

		if (i && t->pid == 1) {
			pr_err("image pstree.img: pid 1 is not the tree's root (pid %d): in a new "
			       "pid namespace, 1 is the root's pid or snap's init's",
			       root);
			return -1;
		}
		for (size_t k = 0; t->core && k < t->core->n_threads; k++)
			if (i + k && t->core->threads[k]->tid == 1) {
				pr_err("image core-%d.img: thread 1 is not the root, pid %d; "
				       "1 is the root's pid or snap's init's",
				       t->pid, root);
				return -1;
			}
	}
	pr_info("restoring the tree in a new pid namespace%s",
		root == 1 ? "" : " under snap's init");
found:
	/* The host pids are learnt as the tasks appear. */
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		ctx->tasks[i].real = 0;
	return 0;
}

/* Signals snap's init passes on to the root: what asks a container's init to stop. */
static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

static void __attribute__((noreturn)) init_loop(pid_t root)
{
	sigset_t set;
	int status;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
		sigaddset(&set, forwarded[i]);
	for (;;) {
		int sig = sigwaitinfo(&set, NULL);
		pid_t p;

		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			kill(root, sig);
			continue;
		}
		while ((p = waitpid(-1, &status, WNOHANG | __WALL)) > 0)
			if (p == root)
				_exit(WIFEXITED(status) ? WEXITSTATUS(status)
							: 128 + WTERMSIG(status));
	}
}

/*
 * Pid 1 of the new namespace, when the root is not. Its signals stay
 * blocked, so that they wait for sigwaitinfo() (a namespace's init ignores
 * those it has no handler for). Once the root is made it holds nothing of
 * snap's open: the tree's files and restore pipes must close when the
 * tree's tasks close them.
 */
static void __attribute__((noreturn)) init_main(struct restore_tree *tr)
{
	struct restore_ctx *ctx = tr->ctx;
	sigset_t all;
	pid_t root;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	prctl(PR_SET_NAME, "snap-init");
	root = make_task(ctx, ctx->tasks[0].pid, 0);
	if (root < 0)
		_exit(1);
	if (root == 0)
		task_main(tr, 0);
	syscall(SYS_close_range, 0, ~0U, 0);
	init_loop(root);
}

/*
 * The root in the external pid namespace at @fd, with its pid there
 * (clone3's set_tid sets the innermost level only): snap's children go
 * there for this one clone, then to snap's own namespace again.
 */
static pid_t root_in_joined(struct restore_tree *tr, uint64_t flags, int fd, const char *what)
{
	struct restore_task *root = &tr->ctx->tasks[0];
	int back = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
	pid_t pid;

	if (back < 0) {
		pr_perror("cannot open snap's own pid namespace");
		return -1;
	}
	if (setns(fd, CLONE_NEWPID)) {
		pr_perror("cannot join the pid namespace %s gives", what);
		close(back);
		return -1;
	}
	pid = make_task(tr->ctx, root->pid, flags);
	if (pid == 0)
		task_main(tr, 0);
	if (setns(back, CLONE_NEWPID)) {
		pr_perror("cannot go back to snap's own pid namespace after cloning pid %d",
			  root->pid);
		if (pid > 0)
			kill(pid, SIGKILL);
		pid = -1;
	}
	close(back);
	if (pid > 0) {
		root->real = pid;
		pr_info("pid %d made in the pid namespace %s gives, host pid %d", root->pid, what,
			pid);
	}
	return pid;
}

pid_t restore_make_root(struct restore_tree *tr, uint64_t flags)
{
	struct restore_ctx *ctx = tr->ctx;
	struct restore_task *root = &ctx->tasks[0];
	const char *what;
	int joined = ns_joined(ctx, NS_KIND__NS_PID, &what);
	pid_t pid;

	if (joined >= 0)
		return root_in_joined(tr, flags, joined, what);
	if (!ctx->new_pidns || root->pid == 1) {
		pid = make_task(ctx, root->pid, flags | (ctx->new_pidns ? CLONE_NEWPID : 0));
		if (pid == 0)
			task_main(tr, 0);
		if (pid > 0 && ctx->new_pidns)
			root->real = pid;
		return pid;
	}
	pid = make_task(ctx, 1, flags | CLONE_NEWPID);
	if (pid == 0)
		init_main(tr);
	if (pid > 0) {
		tr->init = pid;
		pr_debug("snap's init of the new pid namespace is host pid %d", pid);
	}
	return pid;
}

/*
 * Whether host pid @pid (thread @tid, 0: the process) has the image's pid
 * @vpid in the tree's root's namespace, @depth levels above its own.
 */
static bool has_vpid(pid_t pid, pid_t tid, pid_t vpid, size_t depth)
{
	pid_t at[PIDNS_MAX_NEST + 2];
	int n = proc_nspid_all(pid, tid, at, ARRAY_SIZE(at));

	return n > (int)depth && at[n - 1 - depth] == vpid;
}

/* The child of @parent (host pid) whose pid in the tree's namespace is @vpid, or 0. */
static pid_t child_by_vpid(pid_t parent, pid_t vpid, size_t depth)
{
	char path[320], buf[4096];
	struct dirent *de;
	pid_t found = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", parent);
	d = opendir(path);
	if (!d)
		return 0;
	while (!found && (de = readdir(d))) {
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/children", parent, de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f)) {
			char *p = buf, *end;

			for (long c; (c = strtol(p, &end, 10)), end != p; p = end) {
				if (has_vpid(c, 0, vpid, depth)) {
					found = c;
					break;
				}
			}
		}
		fclose(f);
	}
	closedir(d);
	return found;
}

pid_t restore_find_real(struct restore_tree *tr, size_t idx)
{
	struct restore_ctx *ctx = tr->ctx;
	const struct restore_task *t = &ctx->tasks[idx], *p;
	pid_t parent;

	if (!idx) {
		parent = tr->init;
	} else {
		p = restore_find_task(ctx, t->pe->ppid);
		if (!p || !p->real) {
			pr_err("pid %d: its parent %u is not known yet", t->pid, t->pe->ppid);
			return -1;
		}
		parent = p->real;
	}
	return child_by_vpid(parent, t->pid, pidns_depth(t));
}

bool restore_real_is(const struct restore_task *t)
{
	return has_vpid(t->real, 0, t->pid, pidns_depth(t));
}

int restore_find_threads(struct restore_task *t)
{
	size_t n = t->core->n_threads, found = 0;
	char path[64];
	struct dirent *de;
	DIR *d;

	t->real_tids = calloc(n, sizeof(*t->real_tids));
	if (!t->real_tids) {
		pr_err("pid %d: out of memory for its threads", t->pid);
		return -1;
	}
	t->real_tids[0] = t->real;
	found = 1;
	snprintf(path, sizeof(path), "/proc/%d/task", t->real);
	d = opendir(path);
	if (!d) {
		pr_perror("pid %d: cannot list its threads (host pid %d)", t->pid, t->real);
		return -1;
	}
	while ((de = readdir(d))) {
		pid_t tid = atoi(de->d_name);

		if (tid <= 0 || tid == t->real)
			continue;
		for (size_t k = 1; k < n; k++)
			if (!t->real_tids[k] &&
			    has_vpid(t->real, tid, t->core->threads[k]->tid, pidns_depth(t))) {
				t->real_tids[k] = tid;
				found++;
			}
	}
	closedir(d);
	if (found != n) {
		pr_err("pid %d: found %zu of its %zu threads in the new pid namespace", t->pid,
		       found, n);
		return -1;
	}
	return 0;
}
