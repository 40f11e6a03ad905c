// SPDX-License-Identifier: GPL-2.0
/*
 * `snap restore`, snap's side (Documentation/architecture.md "Restore", process-trees.md): read and
 * check every image; wait for the PIDs to be free; make each process's
 * restorer area and pipes and open every file; clone3() the root with its
 * PID (each process makes its children: restore-task.c); seize each process
 * as it appears, wait for every restorer to be ready, trace every thread
 * through rt_sigreturn, unmap the restorers and let the tree go at once.
 * A restore that fails kills what it created: nothing is left half-alive.
 */
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "cmds.h"
#include "cr/action-script.h"
#include "files/files.h"
#include "infect.h"
#include "lazy/lazy.h"
#include "log.h"
#include "ns/ns.h"
#include "net/netlock.h"
#include "ns/net-ns.h"
#include "proc/proc.h"
#include "proc/procstate.h"
#include "proc/restore-bootstrap.h"
#include "proc/restore-stop.h"
#include "proc/sched.h"
#include "cr/restore-images.h"
#include "cr/restore-pidns.h"
#include "cr/restore-tree.h"
#include "mem/shmem.h"
#include "cr/stats.h"

#define READY_TIMEOUT_MS (10 * 60 * 1000)

/*
 * Wait for the restorer's "ready"; a crash shows up as a ptrace stop. @pid
 * names it (the image's), @real is waited for.
 */
static int wait_ready(pid_t pid, pid_t real, struct bootstrap *b, int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int waited, status;
	bool eof = false;
	char c;

	for (waited = 0; waited < READY_TIMEOUT_MS; waited += 100) {
		if (!eof && poll(&pfd, 1, 100) > 0) {
			ssize_t n = read(fd, &c, 1);

			if (n == 1)
				return 0;
			/* The child closed the pipe: it is exiting, wait for it. */
			eof = n == 0;
		}
		if (wait4(real, &status, __WALL | (eof ? 0 : WNOHANG), NULL) != real)
			continue;
		if (b->args->failed)
			pr_err("restore of pid %d failed: %s", pid, b->args->err);
		else if (WIFSTOPPED(status) && (status >> 16) == 0)
			pr_err("pid %d crashed during restore (signal %d)", pid, WSTOPSIG(status));
		else if (WIFSIGNALED(status))
			pr_err("pid %d was killed during restore (signal %d)", pid, WTERMSIG(status));
		else if (WIFEXITED(status))
			; /* the child logged why */
		else
			continue;
		return -1;
	}
	pr_err("pid %d: restore timed out", pid);
	return -1;
}

static int send_go(void *arg)
{
	int fd = *(int *)arg;

	if (write(fd, "G", 1) != 1) {
		pr_perror("cannot resume the restorer");
		return -1;
	}
	return 0;
}

static void syscall_site(const struct restore_task *t, struct syscall_site *site)
{
	memset(site, 0, sizeof(*site));
	for (size_t i = 0; i < t->mm->n_vmas; i++) {
		const VmaEntry *v = t->mm->vmas[i];

		if (v->kind == VMA_KIND__VMA_VDSO) {
			site->vdso_start = v->start;
			site->vdso_end = v->end;
		} else if ((v->prot & PROT_EXEC) && !site->exec_addr) {
			site->exec_addr = v->start;
		}
	}
}

/*
 * How snap traces every thread it restores: EXITKILL, so that a half-built
 * process dies with snap; seccomp suspended where the image has some.
 */
static long seize_opts(const CoreEntry *core)
{
	return PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD | restore_proc_seize_opts(core);
}

static void finish_error(pid_t pid, pid_t tid)
{
	if (errno == ESRCH)
		pr_err("pid %d died at the end of its restore", pid);
	else
		pr_perror("pid %d: cannot finish the restore of thread %d", pid, tid);
}

/*
 * Trace every thread through rt_sigreturn. The restorer made the threads, so
 * they are not traced yet: snap seizes them, and stops all, the leader too,
 * before any is let through, so that each go byte reaches the one thread
 * running. The leader goes last: it closes the pipes. Threads stay stopped
 * after their rt_sigreturn until every restorer is gone.
 */
static int enter_task(struct restore_task *t, struct rst_proc *rp)
{
	const CoreEntry *c = t->core;
	size_t i, n = c->n_threads;
	int status;

	for (i = 1; i < n; i++)
		if (ptrace(PTRACE_SEIZE, rst_tid(t, i), NULL, seize_opts(c))) {
			pr_perror("pid %d: cannot seize its thread %d", t->pid, c->threads[i]->tid);
			return -1;
		}
	for (i = 0; i < n; i++)
		if (ptrace(PTRACE_INTERRUPT, rst_tid(t, i), NULL, NULL) ||
		    ptrace_wait(rst_tid(t, i), &status)) {
			finish_error(t->pid, c->threads[i]->tid);
			return -1;
		}
	for (i = 1; i <= n; i++) {
		/* The leader last. */
		size_t k = i < n ? i : 0;

		if (ptrace_run_to_sigreturn(rst_tid(t, k), send_go, NULL, &rp->go[1])) {
			finish_error(t->pid, c->threads[k]->tid);
			return -1;
		}
	}
	return 0;
}

/*
 * Let every thread into the syscall it restarts (see infect.h), and go. A
 * stopped task's threads stay where they are: in their group stop. Their
 * scheduling comes last, that neither an RT thread can hold up the restore
 * nor a SCHED_IDLE one be held up on its way into its syscall.
 */
static int release_task(struct restore_task *t, bool stopped)
{
	const CoreEntry *c = t->core;

	for (size_t i = 0; i < c->n_threads; i++) {
		pid_t tid = rst_tid(t, i);
		int sig;

		sig = stopped ? 0 : ptrace_enter_syscall(tid);
		if (sig >= 0 && sched_restore(t->pid, tid, c->threads[i]))
			return -1;
		if (sig < 0 || ptrace(PTRACE_DETACH, tid, NULL, sig)) {
			pr_perror("pid %d: cannot detach thread %d", t->pid, c->threads[i]->tid);
			return -1;
		}
	}
	for (size_t i = 0; stopped && i < c->n_threads; i++)
		proc_wait_stopped(t->real, rst_tid(t, i));
	return 0;
}

/* Every thread's id must be free, not only the process's. */
static int wait_tids_free(const struct restore_task *t, unsigned int ms)
{
	if (wait_pid_free(t->pid, ms))
		return -1;
	for (size_t i = 0; t->core && i < t->core->n_threads; i++)
		if (wait_pid_free(t->core->threads[i]->tid, ms))
			return -1;
	return 0;
}

/* files_task_finish() runs its syscalls in the task as finish_task() does. */
struct finish_call {
	struct task_syscall ts;	/* first: the callback gets it back */
	struct parasite_ctl *ctl;
};

static int finish_syscall(struct task_syscall *ts, long *ret, long nr, long a1, long a2, long a3)
{
	struct finish_call *fc = (struct finish_call *)ts;

	return infect_syscall(fc->ctl, ret, nr, a1, a2, a3, 0, 0, 0);
}

/*
 * Once every task is through rt_sigreturn: close the service fds of an fd
 * table several tasks share (none of their restorers could, while the others
 * still needed theirs); then, no fd of snap's left, what a close would undo
 * (POSIX locks, files_task_finish()); last, unmap the restorer from outside.
 */
static int finish_task(struct restore_tree *tr, size_t idx)
{
	struct restore_task *t = &tr->ctx->tasks[idx];
	struct rst_proc *rp = &tr->procs[idx];
	struct parasite_ctl ctl = { .pid = t->real };
	/* The restorer's stack is free now, and snap maps it too. */
	struct finish_call fc = {
		.ts = { .call = finish_syscall,
			.mem = (void *)(uintptr_t)(rp->b.stack_top - PAGE_SIZE),
			.mem_len = PAGE_SIZE },
		.ctl = &ctl,
	};
	struct syscall_site site;
	long ret;

	syscall_site(t, &site);
	if (infect_prepare_syscall(&ctl, &site))
		return -1;
	/* Lazy restore: the server holds the uffd now; the process must not. */
	if (rp->b.args->lazy_uffd >= 0 &&
	    (infect_syscall(&ctl, &ret, __NR_close, rp->b.args->lazy_uffd, 0, 0, 0, 0, 0) || ret)) {
		pr_err("pid %d: cannot close its uffd", t->pid);
		return -1;
	}
	if (rp->b.args->keep_service_fds && !t->pe->files_shared &&
	    (infect_syscall(&ctl, &ret, __NR_close_range, tr->service_base, ~0U, 0, 0, 0, 0) ||
	     ret)) {
		pr_err("pid %d: cannot close snap's fds", t->pid);
		return -1;
	}
	if (files_task_finish(tr->ctx, t, &fc.ts))
		return -1;
	if (infect_syscall(&ctl, &ret, __NR_munmap, (long)rp->b.addr, rp->b.len, 0, 0, 0, 0) ||
	    ret) {
		pr_err("pid %d: cannot unmap the restorer", t->pid);
		return -1;
	}
	return infect_unpoke(&ctl);
}

/* Room above service_base in each process: its pipes, log, images, mapped files... */
#define SERVICE_FDS 256
/* Between the fds snap holds for the tree and service_base: what a task opens before a fork. */
#define SERVICE_GAP 16

/*
 * Let snap (and the processes until their restorer sets their own limits)
 * use fd numbers below @want if the limits allow, and below @need at least,
 * or say why not. The hard limit is raised only with CAP_SYS_RESOURCE.
 */
static int reserve_fds(rlim_t want, rlim_t need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl)) {
		pr_perror("getrlimit RLIMIT_NOFILE");
		return -1;
	}
	if (want < need)
		want = need;
	if (rl.rlim_cur >= want)
		return 0;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want) {
		struct rlimit up = { want, want };

		if (!setrlimit(RLIMIT_NOFILE, &up))
			return 0;
		if (rl.rlim_max < need) {
			pr_err("restoring these fds needs %llu open files, above the hard limit "
			       "(%llu); raise ulimit -n",
			       (unsigned long long)need, (unsigned long long)rl.rlim_max);
			return -1;
		}
		want = rl.rlim_max;
	}
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl)) {
		pr_perror("restoring these fds needs %llu open files in snap; raise ulimit -n",
			  (unsigned long long)need);
		return -1;
	}
	return 0;
}

/*
 * Where snap's own fds go in every process: above every fd of every task
 * and every fd snap holds for them (the files, the restore pipes), free in
 * snap (the pipes are dup2()'d to service_base and service_base + 1).
 */
static int service_base(struct restore_tree *tr)
{
	const struct restore_ctx *ctx = tr->ctx;
	int base = files_fd_ceiling(ctx) + SERVICE_GAP;

	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		const struct rst_proc *rp = &tr->procs[i];
		int top = rp->ready[0] > rp->go[0] ? rp->ready[0] : rp->go[0];

		if (rp->ready[1] > top)
			top = rp->ready[1];
		if (rp->go[1] > top)
			top = rp->go[1];
		if (top + SERVICE_GAP > base)
			base = top + SERVICE_GAP;
	}
	if (base < 64)
		base = 64;
	while (fcntl(base, F_GETFD) >= 0 || fcntl(base + 1, F_GETFD) >= 0)
		base++;
	/* Room for more if the limit allows: mapped files, files installed() looks up. */
	if (reserve_fds((rlim_t)base + SERVICE_FDS + ctx->nr_files, (rlim_t)base + SERVICE_FDS))
		return -1;
	return base;
}

/*
 * In snap, before the first fork: every file, each live task's restorer
 * area and pipes. The files first, while the low numbers they want are free.
 */
static int prepare_tree(struct restore_tree *tr)
{
	struct restore_ctx *ctx = tr->ctx;
	int max_fd = 0;

	tr->procs = calloc(ctx->nr_tasks, sizeof(*tr->procs));
	if (!tr->procs) {
		pr_err("out of memory for the process tree");
		return -1;
	}
	if (ctx->opts->lazy_pages) {
		tr->lazy_sock = lazy_connect(ctx->dirfd, ctx->opts->images_dir);
		if (tr->lazy_sock < 0)
			return -1;
	}
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		struct rst_proc *rp = &tr->procs[i];
		int m = task_max_fd(&ctx->tasks[i]);

		rp->ready[0] = rp->ready[1] = rp->go[0] = rp->go[1] = -1;
		/* A new pid namespace has every pid free. */
		if (!ctx->new_pidns && wait_tids_free(&ctx->tasks[i], ctx->opts->pid_wait_ms))
			return -1;
		if (m > max_fd)
			max_fd = m;
	}
	/*
	 * The files at the tasks' numbers, or above them all if those are
	 * taken, and what the kinds hold while they open them.
	 */
	if (reserve_fds((rlim_t)max_fd + ctx->nr_files + 4 * ctx->nr_tasks + SERVICE_FDS,
			(rlim_t)max_fd + 1 + SERVICE_FDS) ||
	    files_open_all(ctx))
		return -1;
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		struct restore_task *t = &ctx->tasks[i];
		struct rst_proc *rp = &tr->procs[i];

		if (t->pe->state == TASK_STATE__TASK_ZOMBIE)
			continue;
		if (bootstrap_create(ctx, t, &rp->b))
			return -1;
		rp->b.args->lazy = ctx->opts->lazy_pages;
		if (t->pages_from_lazy &&
		    lazy_fill(tr->lazy_sock, t->pid, rp->b.args, &t->pages_fd))
			return -1;
		if (pipe2(rp->ready, O_CLOEXEC) || pipe2(rp->go, O_CLOEXEC)) {
			pr_perror("cannot create the restore pipes");
			return -1;
		}
	}
	tr->service_base = service_base(tr);
	if (tr->service_base < 0)
		return -1;
	pr_debug("snap's fds in each process at %d and up", tr->service_base);
	return 0;
}

/*
 * A process found in a new pid namespace (restore-pidns.h): once traced, its
 * host pid cannot go to another; it is checked then. 1: not it, try again.
 */
static int seize_found(struct restore_tree *tr, size_t idx)
{
	struct restore_task *t = &tr->ctx->tasks[idx];

	if (ptrace(PTRACE_SEIZE, t->real, NULL, seize_opts(t->core)))
		return errno == ESRCH ? 1 : -1;
	if (restore_real_is(t))
		return 0;
	ptrace(PTRACE_DETACH, t->real, NULL, 0);
	return 1;
}

/* The process @pid exists once its parent made it: trace it from then on. */
static int seize_task(struct restore_tree *tr, size_t idx)
{
	struct restore_task *t = &tr->ctx->tasks[idx];
	struct restore_task *p = idx ? restore_find_task(tr->ctx, t->pe->ppid) : NULL;
	pid_t parent = p ? p->real : tr->init;
	int waited, status, r;

	for (waited = 0; waited < READY_TIMEOUT_MS; waited++) {
		if (tr->ctx->new_pidns && (idx || tr->init)) {
			t->real = restore_find_real(tr, idx);
			if (t->real < 0)
				return -1;
			r = t->real ? seize_found(tr, idx) : 1;
		} else {
			r = ptrace(PTRACE_SEIZE, t->real, NULL, seize_opts(t->core)) ? -1 : 0;
			if (r && errno == ESRCH)
				r = 1;
		}
		if (!r) {
			tr->procs[idx].seized = true;
			/* Its restorer waits for this before its seccomp filters. */
			__atomic_store_n(&tr->procs[idx].b.args->traced, 1, __ATOMIC_RELEASE);
			if (tr->ctx->new_pidns)
				pr_debug("pid %d is host pid %d", t->pid, t->real);
			return 0;
		}
		if (r < 0) {
			pr_perror("pid %d: cannot seize the restored process", t->pid);
			return -1;
		}
		/* Its parent failed before making it, and said why. */
		if (parent > 0 && (idx || tr->init) &&
		    wait4(parent, &status, WNOHANG | __WALL, NULL) == parent &&
		    !WIFSTOPPED(status)) {
			if (WIFSIGNALED(status))
				pr_err("pid %d was killed during restore (signal %d)",
				       p ? p->pid : 1, WTERMSIG(status));
			return -1;
		}
		usleep(1000);
	}
	pr_err("pid %d: its parent %d did not make it", t->pid, p ? p->pid : 1);
	return -1;
}

/* A task dumped stopped stops now, and its parent sees it as it did (restore-stop.h). */
static int stop_task(struct restore_tree *tr, size_t idx)
{
	struct restore_ctx *ctx = tr->ctx;
	struct restore_task *t = &ctx->tasks[idx];
	struct restore_task *p = idx ? restore_find_task(ctx, t->pe->ppid) : NULL;
	struct parasite_ctl ctl;
	struct syscall_site site;
	int ret;

	if (restore_stop_enter(t))
		return -1;
	/* A stop of --leave-stopped's is a new one: its parent hears of it, as of any. */
	if (!p || t->pe->state != TASK_STATE__TASK_STOPPED)
		return 0;
	ctl = (struct parasite_ctl){ .pid = p->real };
	syscall_site(p, &site);
	if (infect_prepare_syscall(&ctl, &site))
		return -1;
	ret = restore_stop_parent(t, p, &ctl, tr->procs[p - ctx->tasks].b.stack_top - PAGE_SIZE);
	return infect_unpoke(&ctl) || ret ? -1 : 0;
}

static bool alive_task(const struct restore_task *t)
{
	return t->pe->state != TASK_STATE__TASK_ZOMBIE;
}

/* Left in a group stop: stopped when dumped, or any with --leave-stopped. */
static bool stopped_task(const struct restore_ctx *ctx, const struct restore_task *t)
{
	return t->pe->state == TASK_STATE__TASK_STOPPED ||
	       (ctx->opts->leave_stopped && alive_task(t));
}

/*
 * The tree is restored and stopped: the hooks that may still fail the
 * restore, then the dump's network lock goes. A failure up to here kills the
 * tree and leaves the lock for another restore, as CRIU does; after it, the
 * connections are live.
 */
static int unlock_network(struct restore_tree *tr)
{
	struct restore_ctx *ctx = tr->ctx;
	const struct snap_opts *o = ctx->opts;
	/* The process snap made, the caller's child with --rst-sibling: its init, or the root. */
	pid_t root = tr->init ? tr->init : ctx->tasks[0].real;
	int ret;

	if (action_run(o, ACT_POST_RESTORE, root) || action_run(o, ACT_PRE_RESUME, root) ||
	    action_run(o, ACT_NETWORK_UNLOCK, root))
		return -1;
	/* The dump's lock is in the tree's network namespace, if it was joined again. */
	if (net_ns_enter(ctx->netns))
		return -1;
	ret = netlock_release(ctx->netlock);
	return net_ns_leave(ctx->netns) || ret ? -1 : 0;
}

/* Every task is ready, traced through rt_sigreturn, and let go at once. */
static int run_tree(struct restore_tree *tr)
{
	struct restore_ctx *ctx = tr->ctx;
	size_t i;

	for (i = 0; i < ctx->nr_tasks; i++)
		if (alive_task(&ctx->tasks[i]) && seize_task(tr, i))
			return -1;
	for (i = 0; i < ctx->nr_tasks; i++) {
		struct rst_proc *rp = &tr->procs[i];

		if (!alive_task(&ctx->tasks[i]))
			continue;
		close(rp->ready[1]);
		close(rp->go[0]);
		rp->ready[1] = rp->go[0] = -1;
		if (wait_ready(ctx->tasks[i].pid, ctx->tasks[i].real, &rp->b, rp->ready[0]))
			return -1;
		/* Its restorer made its threads: their host tids. */
		if (ctx->new_pidns && restore_find_threads(&ctx->tasks[i]))
			return -1;
		if (tr->lazy_sock >= 0 &&
		    lazy_handoff(tr->lazy_sock, ctx->tasks[i].pid, ctx->tasks[i].real, rp->b.args))
			return -1;
	}
	if (shmem_finish(ctx))
		return -1;
	for (i = 0; i < ctx->nr_tasks; i++)
		if (alive_task(&ctx->tasks[i]) && enter_task(&ctx->tasks[i], &tr->procs[i]))
			return -1;
	for (i = 0; i < ctx->nr_tasks; i++)
		if (stopped_task(ctx, &ctx->tasks[i]) && stop_task(tr, i))
			return -1;
	for (i = 0; i < ctx->nr_tasks; i++)
		if (alive_task(&ctx->tasks[i]) && finish_task(tr, i))
			return -1;
	/*
	 * The lock first, then what the files do as the tree goes live (TCP
	 * connections out of repair mode): what they send then is not
	 * dropped, and a failure up to here closes them in repair mode,
	 * silently.
	 */
	if (unlock_network(tr) || files_tree_restored(ctx))
		return -1;
	for (i = 0; i < ctx->nr_tasks; i++) {
		struct restore_task *t = &ctx->tasks[i];
		struct restorer_args *a = tr->procs[i].b.args;

		if (!alive_task(t))
			continue;
		if (release_task(t, stopped_task(ctx, t)))
			return -1;
		tr->procs[i].seized = false;
		bootstrap_log_fill(&tr->procs[i].b, t->pid);
		ctx->st.pages_moved += a->stats.pages_moved;
		ctx->st.pages_in_place += a->stats.pages_in_place;
		ctx->st.mem_ns += a->stats.mem_ns;
	}
	return 0;
}

static void free_tree(struct restore_tree *tr, pid_t root, bool failed)
{
	struct restore_ctx *ctx = tr->ctx;

	for (size_t i = 0; tr->procs && i < ctx->nr_tasks; i++) {
		struct rst_proc *rp = &tr->procs[i];

		if (failed && rp->seized && ctx->tasks[i].real > 0)
			kill(ctx->tasks[i].real, SIGKILL);
		for (int j = 0; j < 2; j++) {
			if (rp->ready[j] >= 0)
				close(rp->ready[j]);
			if (rp->go[j] >= 0)
				close(rp->go[j]);
		}
		bootstrap_destroy(&rp->b);
	}
	/* The rest die with their parents (PR_SET_PDEATHSIG), the root first. */
	if (failed && root > 0) {
		kill(root, SIGKILL);
		while (waitpid(root, NULL, __WALL) < 0 && errno == EINTR)
			;
	}
	free(tr->procs);
	/* The lazy-pages server serves what it holds, and exits when done. */
	if (tr->lazy_sock >= 0)
		close(tr->lazy_sock);
}

int cmd_restore(const struct snap_opts *opts, const struct kfeat *kf)
{
	struct restore_ctx ctx = { .opts = opts, .kf = kf, .dirfd = -1, .tty_fd = -1 };
	struct restore_tree tr = { .ctx = &ctx, .lazy_sock = -1 };
	pid_t pid = -1;
	int ret = -1, status;

	ctx.st.t_start = now_ns();
	if (action_run(opts, ACT_PRE_RESTORE, 0) || restore_load(&ctx) ||
	    netlock_load(ctx.dirfd, &ctx.netlock))
		goto out;
	if (restore_pidns_prepare(&ctx, ns_root_clone_flags(&ctx) & CLONE_NEWPID))
		goto out;
	if (opts->shell_job) {
		ctx.tty_fd = isatty(STDIN_FILENO) ? fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3) : -1;
	}
	if (shmem_create(&ctx, files_paths_in_task(&ctx)) || cgroup_prepare(&ctx) ||
	    prepare_tree(&tr))
		goto out;
	/*
	 * The root (or snap's init of a new pid namespace) is born in the
	 * tree's network namespace, made at load (ns/net-ns.h), snap's thread
	 * being in it for the clone: the setup-namespaces hook, right below,
	 * must find it there.
	 */
	if (net_ns_enter(ctx.netns))
		goto out;
	pid = restore_make_root(&tr, (opts->rst_sibling ? CLONE_PARENT : 0) |
					     (ns_root_clone_flags(&ctx) &
					      ~(ctx.netns ? CLONE_NEWNET : 0)));
	if (net_ns_leave(ctx.netns) || pid < 0)
		goto out;
	ctx.st.t_forked = now_ns();
	/* The processes have them now. */
	files_close_all(&ctx);
	if (action_run(opts, ACT_SETUP_NS, pid) || action_run(opts, ACT_POST_SETUP_NS, pid) ||
	    run_tree(&tr))
		goto out;
	ctx.st.t_end = now_ns();
	if (opts->pidfile && write_pidfile(opts->pidfile, pid))
		goto out;
	if (opts->display_stats)
		print_restore_stats(&ctx);
	if (ctx.new_pidns)
		pr_info("restored pid %d in a new pid namespace, host pid %d (%zu processes) in "
			"%llu us",
			ctx.tasks[0].pid, pid, ctx.nr_tasks,
			(unsigned long long)(ctx.st.t_end - ctx.st.t_start) / 1000);
	else
		pr_info("restored pid %d (%zu processes) in %llu us", pid, ctx.nr_tasks,
			(unsigned long long)(ctx.st.t_end - ctx.st.t_start) / 1000);
	ret = 0;
out:
	free_tree(&tr, pid, ret);
	if (ctx.tty_fd >= 0)
		close(ctx.tty_fd);
	if (ret && ctx.shmem)
		shmem_undo(&ctx);
	if (ret)
		cgroup_undo(&ctx);
	cgroup_restore_free(&ctx);
	restore_unload(&ctx);
	netlock_free(ctx.netlock);
	/* The tree runs: a failing hook now is reported, and the tree runs on. */
	if (!ret && action_run(opts, ACT_POST_RESUME, pid))
		return -1;
	if (ret || opts->detach || opts->rst_sibling)
		return ret;
	/* Like criu restore without -d: stay the parent and pass on its exit. */
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	log_fini();
	exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}
