// SPDX-License-Identifier: GPL-2.0
/*
 * `snap restore`: design.md §4. Read and check every image; wait for the
 * PID to be free; clone3() the process with its PID; in the child, put the
 * fds, cwd and session in place and jump into the restorer, which builds
 * the address space and stops just before rt_sigreturn; snap traces it
 * through rt_sigreturn, unmaps the restorer and lets it go.
 * A restore that fails kills what it created: nothing is left half-alive.
 */
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmds.h"
#include "files.h"
#include "infect.h"
#include "log.h"
#include "proc.h"
#include "procstate.h"
#include "restore-bootstrap.h"
#include "restore-images.h"
#include "shmem.h"
#include "stats.h"

#define READY_TIMEOUT_MS (10 * 60 * 1000)

#define JOIN_TIMEOUT_MS 5000

/* snap's side of one process being restored. */
struct rst_proc {
	struct bootstrap b;
	int ready[2];		/* restorer -> snap */
	int go[2];		/* snap -> restorer */
	bool seized;		/* snap traces it: killed if the restore fails */
};

struct restore_tree {
	struct restore_ctx *ctx;
	struct rst_proc *procs;	/* one per ctx->tasks[i] */
	int service_base;	/* the same in every process */
};

/* A just-killed process may linger as a zombie until its parent reaps it. */
static int wait_pid_free(pid_t pid, unsigned int ms)
{
	char path[32];
	struct proc_stat st;
	unsigned int waited = 0;

	snprintf(path, sizeof(path), "/proc/%d", pid);
	while (!access(path, F_OK)) {
		if (waited >= ms) {
			if (proc_read_stat(pid, &st))
				continue;
			pr_err("pid %d is still in use by %s (state %c) after %u ms; cannot restore "
			       "it",
			       pid, st.comm, st.state, ms);
			return -1;
		}
		usleep(10000);
		waited += 10;
	}
	return 0;
}

static pid_t clone_with_pid(pid_t pid, uint64_t flags)
{
	struct clone_args ca = {
		.flags = flags,
		.exit_signal = SIGCHLD,
		.set_tid = (uintptr_t)&pid,
		.set_tid_size = 1,
	};

	return syscall(SYS_clone3, &ca, sizeof(ca));
}

/* fork() into @pid, sharing what @flags say: 0 in the child, -1 logged. */
static pid_t make_task(struct restore_ctx *ctx, pid_t pid, uint64_t flags)
{
	pid_t ret;

	fflush(NULL);
	for (;;) {
		ret = clone_with_pid(pid, flags);
		if (ret >= 0 || errno != EEXIST)
			break;
		/* Taken between our check and clone3: wait again. */
		if (wait_pid_free(pid, ctx->opts->pid_wait_ms))
			return -1;
	}
	if (ret < 0)
		pr_perror("pid %d: clone3 with set_tid", pid);
	return ret;
}

static TaskState task_state(const PstreeEntry *pe)
{
	return pe->has_state ? pe->state : TASK_STATE__TASK_ALIVE;
}

static void unregister_rseq(void)
{
	/*
	 * glibc registered rseq for our thread; the restorer replaces the
	 * memory it points to, and the kernel would keep writing there.
	 */
	extern const ptrdiff_t __rseq_offset __attribute__((weak));
	extern const unsigned int __rseq_size __attribute__((weak));

	if (&__rseq_size && __rseq_size)
		syscall(SYS_rseq, (char *)__builtin_thread_pointer() + __rseq_offset, 32,
			1 /* RSEQ_FLAG_UNREGISTER */, 0x53053053);
}

static int move_fd(int fd, int to)
{
	int nfd = fcntl(fd, F_DUPFD_CLOEXEC, to);

	if (nfd < 0)
		pr_perror("cannot move fd %d", fd);
	close(fd);
	return nfd;
}

static size_t task_index(const struct restore_ctx *ctx, const struct restore_task *t)
{
	return t - ctx->tasks;
}

/* The task whose fd table @t has: itself, or an ancestor it shares it with. */
static size_t files_owner(const struct restore_ctx *ctx, size_t i)
{
	while (ctx->tasks[i].pe->files_shared)
		i = task_index(ctx, restore_find_task(ctx, ctx->tasks[i].pe->ppid));
	return i;
}

/* Does another task use the fd table of tasks[@i]? Then snap closes its service fds. */
static bool files_shared(const struct restore_ctx *ctx, size_t i)
{
	for (size_t j = 0; j < ctx->nr_tasks; j++)
		if (j != i && files_owner(ctx, j) == files_owner(ctx, i))
			return true;
	return false;
}

/*
 * The fds of a process: its files at their numbers, snap's service fds above
 * @base. The tasks that will share this fd table (made later, with
 * CLONE_FILES) get their restore pipes moved up here too, out of the way.
 */
static int prepare_fds(struct restore_tree *tr, size_t idx)
{
	struct restore_ctx *ctx = tr->ctx;
	struct rst_proc *rp = &tr->procs[idx];
	int base = tr->service_base, fd;

	if (dup2(rp->ready[1], base) < 0 || dup2(rp->go[0], base + 1) < 0) {
		pr_perror("cannot set up the restore pipes");
		return -1;
	}
	fcntl(base, F_SETFD, FD_CLOEXEC);
	fcntl(base + 1, F_SETFD, FD_CLOEXEC);
	rp->ready[1] = base;
	rp->go[0] = base + 1;
	for (size_t j = idx + 1; j < ctx->nr_tasks; j++) {
		struct rst_proc *o = &tr->procs[j];

		if (files_owner(ctx, j) != idx)
			continue;
		o->ready[1] = move_fd(o->ready[1], base + 2);
		o->go[0] = move_fd(o->go[0], base + 2);
		if (o->ready[1] < 0 || o->go[0] < 0)
			return -1;
	}
	fd = move_fd(dup(STDERR_FILENO), base + 2);
	if (fd >= 0)
		log_set_err_fd(fd);
	if (log_fd() >= 0)
		log_set_fd(move_fd(log_fd(), base + 2));
	ctx->dirfd = move_fd(ctx->dirfd, base + 2);
	if (ctx->tty_fd >= 0)
		ctx->tty_fd = move_fd(ctx->tty_fd, base + 2);
	if (ctx->dirfd < 0)
		return -1;
	/* Every other task's pipes are below base: they go here. */
	return shmem_move_fds(ctx, base + 2) || restore_task_fds(ctx, &ctx->tasks[idx], base) ?
		       -1 :
		       0;
}

/*
 * Everything done in the child before the restorer: files, cwd, root. A
 * task made with CLONE_FILES or CLONE_FS finds them done by its parent.
 */
static int child_prepare(struct restore_tree *tr, size_t idx)
{
	struct restore_ctx *ctx = tr->ctx;
	struct restore_task *t = &ctx->tasks[idx];
	struct rst_proc *rp = &tr->procs[idx];
	const CoreEntry *c = t->core;

	unregister_rseq();
	if (!t->pe->files_shared && prepare_fds(tr, idx))
		return -1;
	rp->b.args->ready_fd = rp->ready[1];
	rp->b.args->go_fd = rp->go[0];
	rp->b.args->keep_service_fds = files_shared(ctx, idx);
	/* Paths in the images are as snap sees them: chroot comes last. */
	if (!t->pe->fs_shared && chdir(c->cwd)) {
		pr_perror("pid %d: cwd %s", t->pid, c->cwd);
		return -1;
	}
	if (personality(c->personality) < 0) {
		pr_perror("pid %d: personality %#x", t->pid, c->personality);
		return -1;
	}
	if (bootstrap_fill_child(ctx, t, &rp->b, tr->service_base))
		return -1;
	if (!t->pe->fs_shared && strcmp(c->root, "/") && chroot(c->root)) {
		pr_perror("pid %d: chroot %s", t->pid, c->root);
		return -1;
	}
	return 0;
}

/*
 * A session is made by its leader before it makes children, and so is a
 * group: children are born into them. The root without --shell-job joins
 * no one's group but its own.
 */
static int make_ids(struct restore_ctx *ctx, struct restore_task *t, bool root)
{
	const PstreeEntry *pe = t->pe;

	if (root && ctx->opts->shell_job) {
		if (pe->pgid == pe->pid)
			setpgid(0, 0);
		return 0;
	}
	if (pe->sid == pe->pid) {
		if (setsid() < 0) {
			pr_perror("pid %d: setsid", t->pid);
			return -1;
		}
		return 0;
	}
	if (pe->pgid == pe->pid && setpgid(0, 0)) {
		pr_perror("pid %d: setpgid", t->pid);
		return -1;
	}
	return 0;
}

/* A group led by another task of the tree: wait for its leader to make it. */
static int join_group(struct restore_ctx *ctx, struct restore_task *t)
{
	pid_t pgid = t->pe->pgid;
	int waited;

	if (getpgid(0) == pgid || !restore_find_task(ctx, pgid))
		return 0;
	for (waited = 0; setpgid(0, pgid); waited++) {
		if (errno != EPERM || waited == JOIN_TIMEOUT_MS) {
			pr_perror("pid %d: cannot join process group %d", t->pid, pgid);
			return -1;
		}
		usleep(1000);
	}
	return 0;
}

/* Exit as the dumped zombie did: by its signal or with its code. */
static void __attribute__((noreturn)) be_zombie(const PstreeEntry *pe)
{
	int status = pe->exit_status;
	struct rlimit no_core = { 0, 0 };
	sigset_t set;

	if (WIFSIGNALED(status)) {
		setrlimit(RLIMIT_CORE, &no_core);
		signal(WTERMSIG(status), SIG_DFL);
		sigemptyset(&set);
		sigaddset(&set, WTERMSIG(status));
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		kill(getpid(), WTERMSIG(status));
	}
	_exit(WEXITSTATUS(status));
}

static void task_main(struct restore_tree *tr, size_t idx) __attribute__((noreturn));

/*
 * Make the children of tasks[@idx] that share its fd table (@files_shared),
 * or those that do not, in pstree order; a zombie is left dead.
 */
static int make_children(struct restore_tree *tr, size_t idx, bool files_shared)
{
	struct restore_ctx *ctx = tr->ctx;
	pid_t pid;

	for (size_t i = idx + 1; i < ctx->nr_tasks; i++) {
		const PstreeEntry *pe = ctx->tasks[i].pe;
		siginfo_t info;

		if (pe->ppid != ctx->tasks[idx].pe->pid || pe->files_shared != files_shared)
			continue;
		pid = make_task(ctx, pe->pid,
				(pe->files_shared ? CLONE_FILES : 0) | (pe->fs_shared ? CLONE_FS : 0));
		if (pid < 0)
			return -1;
		if (pid == 0)
			task_main(tr, i);
		/*
		 * Dead before our restorer starts: the SIGCHLD it sent us is
		 * pending by then, and the restorer drops it with the rest.
		 */
		if (task_state(pe) == TASK_STATE__TASK_ZOMBIE &&
		    waitid(P_PID, pid, &info, WEXITED | WNOWAIT)) {
			pr_perror("pid %d: waiting for zombie %d", ctx->tasks[idx].pid, pid);
			return -1;
		}
	}
	return 0;
}

/*
 * A new process of the tree, running snap's code until the restorer. Signals
 * stay blocked until its rt_sigreturn; a parent that dies takes it along.
 */
static void task_main(struct restore_tree *tr, size_t idx)
{
	struct restore_ctx *ctx = tr->ctx;
	struct restore_task *t = &ctx->tasks[idx];
	sigset_t all;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (make_ids(ctx, t, !idx) || make_children(tr, idx, false) || join_group(ctx, t))
		_exit(1);
	if (task_state(t->pe) == TASK_STATE__TASK_ZOMBIE)
		be_zombie(t->pe);
	/* Children sharing our fd table are made once it is in place. */
	if (child_prepare(tr, idx) || make_children(tr, idx, true))
		_exit(1);
	bootstrap_jump(&tr->procs[idx].b);
}

/* Wait for the restorer's "ready"; a crash shows up as a ptrace stop. */
static int wait_ready(pid_t pid, struct bootstrap *b, int fd)
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
		if (wait4(pid, &status, __WALL | (eof ? 0 : WNOHANG), NULL) != pid)
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
		if (ptrace(PTRACE_SEIZE, c->threads[i]->tid, NULL,
			   PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD)) {
			pr_perror("pid %d: cannot seize its thread %d", t->pid, c->threads[i]->tid);
			return -1;
		}
	for (i = 0; i < n; i++)
		if (ptrace(PTRACE_INTERRUPT, c->threads[i]->tid, NULL, NULL) ||
		    ptrace_wait(c->threads[i]->tid, &status)) {
			finish_error(t->pid, c->threads[i]->tid);
			return -1;
		}
	for (i = 1; i <= n; i++) {
		/* The leader last. */
		pid_t tid = c->threads[i < n ? i : 0]->tid;

		if (ptrace_run_to_sigreturn(tid, send_go, &rp->go[1])) {
			finish_error(t->pid, tid);
			return -1;
		}
	}
	return 0;
}

/* Let every thread into the syscall it restarts (see infect.h), and go. */
static int release_task(struct restore_task *t)
{
	const CoreEntry *c = t->core;

	for (size_t i = 0; i < c->n_threads; i++) {
		pid_t tid = c->threads[i]->tid;
		int sig = ptrace_enter_syscall(tid);

		if (sig < 0 || ptrace(PTRACE_DETACH, tid, NULL, sig)) {
			pr_perror("pid %d: cannot detach thread %d", t->pid, tid);
			return -1;
		}
	}
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

/*
 * Once every task is through rt_sigreturn: unmap the restorer from outside,
 * and close the service fds of an fd table several tasks share (none of
 * their restorers could, while the others still needed theirs).
 */
static int finish_task(struct restore_tree *tr, size_t idx)
{
	struct restore_task *t = &tr->ctx->tasks[idx];
	struct rst_proc *rp = &tr->procs[idx];
	struct parasite_ctl ctl = { .pid = t->pid };
	struct syscall_site site;
	long ret;

	syscall_site(t, &site);
	if (infect_prepare_syscall(&ctl, &site))
		return -1;
	if (infect_syscall(&ctl, &ret, __NR_munmap, (long)rp->b.addr, rp->b.len, 0, 0, 0, 0) ||
	    ret) {
		pr_err("pid %d: cannot unmap the restorer", t->pid);
		return -1;
	}
	if (rp->b.args->keep_service_fds && !t->pe->files_shared &&
	    (infect_syscall(&ctl, &ret, __NR_close_range, tr->service_base, ~0U, 0, 0, 0, 0) ||
	     ret)) {
		pr_err("pid %d: cannot close snap's fds", t->pid);
		return -1;
	}
	return infect_unpoke(&ctl);
}

static int write_pidfile(const char *path, pid_t pid)
{
	FILE *f = fopen(path, "we");

	if (!f || fprintf(f, "%d\n", pid) < 0 || fclose(f)) {
		pr_perror("cannot write pidfile %s", path);
		return -1;
	}
	return 0;
}

/* Above every fd of every task: where snap keeps what the processes need. */
static int service_base(const struct restore_ctx *ctx)
{
	int base = 64;

	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		const struct restore_task *t = &ctx->tasks[i];
		int b = task_max_fd(t) + t->nr_fds + 32;

		if (b > base)
			base = b;
	}
	return base;
}

/* In snap, before the first fork: each live task's restorer area and pipes. */
static int prepare_tree(struct restore_tree *tr)
{
	struct restore_ctx *ctx = tr->ctx;

	tr->procs = calloc(ctx->nr_tasks, sizeof(*tr->procs));
	if (!tr->procs) {
		pr_err("out of memory for the process tree");
		return -1;
	}
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		struct restore_task *t = &ctx->tasks[i];
		struct rst_proc *rp = &tr->procs[i];

		rp->ready[0] = rp->ready[1] = rp->go[0] = rp->go[1] = -1;
		if (wait_tids_free(t, ctx->opts->pid_wait_ms))
			return -1;
		if (task_state(t->pe) == TASK_STATE__TASK_ZOMBIE)
			continue;
		if (bootstrap_create(ctx, t, &rp->b))
			return -1;
		if (pipe2(rp->ready, O_CLOEXEC) || pipe2(rp->go, O_CLOEXEC)) {
			pr_perror("cannot create the restore pipes");
			return -1;
		}
	}
	tr->service_base = service_base(ctx);
	return files_open_all(ctx, tr->service_base + 2);
}

/* The process @pid exists once its parent made it: trace it from then on. */
static int seize_task(struct restore_tree *tr, size_t idx)
{
	struct restore_task *t = &tr->ctx->tasks[idx];
	pid_t parent = t->pe->ppid;
	int waited, status;

	for (waited = 0; waited < READY_TIMEOUT_MS; waited++) {
		/* EXITKILL: if snap dies mid-restore, the half-built process dies too. */
		if (!ptrace(PTRACE_SEIZE, t->pid, NULL,
			    PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD |
				    restore_proc_seize_opts(t->core))) {
			tr->procs[idx].seized = true;
			return 0;
		}
		if (errno != ESRCH) {
			pr_perror("pid %d: cannot seize the restored process", t->pid);
			return -1;
		}
		/* Its parent failed before making it, and said why. */
		if (idx && wait4(parent, &status, WNOHANG | __WALL, NULL) == parent &&
		    !WIFSTOPPED(status)) {
			if (WIFSIGNALED(status))
				pr_err("pid %d was killed during restore (signal %d)", parent,
				       WTERMSIG(status));
			return -1;
		}
		usleep(1000);
	}
	pr_err("pid %d: its parent %d did not make it", t->pid, parent);
	return -1;
}

static bool alive_task(const struct restore_task *t)
{
	return task_state(t->pe) != TASK_STATE__TASK_ZOMBIE;
}

/* Every task is ready, traced through rt_sigreturn, and let go at once. */
static int run_tree(struct restore_tree *tr)
{
	struct restore_ctx *ctx = tr->ctx;
	size_t i;

	for (i = 1; i < ctx->nr_tasks; i++)
		if (alive_task(&ctx->tasks[i]) && seize_task(tr, i))
			return -1;
	for (i = 0; i < ctx->nr_tasks; i++) {
		struct rst_proc *rp = &tr->procs[i];

		if (!alive_task(&ctx->tasks[i]))
			continue;
		close(rp->ready[1]);
		close(rp->go[0]);
		rp->ready[1] = rp->go[0] = -1;
		if (wait_ready(ctx->tasks[i].pid, &rp->b, rp->ready[0]))
			return -1;
	}
	if (shmem_finish(ctx))
		return -1;
	for (i = 0; i < ctx->nr_tasks; i++)
		if (alive_task(&ctx->tasks[i]) && enter_task(&ctx->tasks[i], &tr->procs[i]))
			return -1;
	for (i = 0; i < ctx->nr_tasks; i++)
		if (alive_task(&ctx->tasks[i]) && finish_task(tr, i))
			return -1;
	for (i = 0; i < ctx->nr_tasks; i++) {
		struct restore_task *t = &ctx->tasks[i];
		struct restorer_args *a = tr->procs[i].b.args;

		if (!alive_task(t))
			continue;
		if (release_task(t))
			return -1;
		tr->procs[i].seized = false;
		if (task_state(t->pe) == TASK_STATE__TASK_STOPPED)
			kill(t->pid, SIGSTOP);
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

		if (failed && rp->seized)
			kill(ctx->tasks[i].pid, SIGKILL);
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
}

int cmd_restore(const struct snap_opts *opts, const struct kfeat *kf)
{
	struct restore_ctx ctx = { .opts = opts, .kf = kf, .dirfd = -1, .tty_fd = -1 };
	struct restore_tree tr = { .ctx = &ctx };
	pid_t pid = -1;
	int ret = -1, status;

	ctx.st.t_start = now_ns();
	if (restore_load(&ctx))
		goto out;
	if (opts->shell_job) {
		ctx.tty_fd = isatty(STDIN_FILENO) ? fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3) : -1;
	}
	if (shmem_create(&ctx) || prepare_tree(&tr))
		goto out;
	pid = make_task(&ctx, ctx.tasks[0].pid, 0);
	if (pid < 0)
		goto out;
	if (pid == 0)
		task_main(&tr, 0);
	ctx.st.t_forked = now_ns();
	/* The processes have them now. */
	files_close_all(&ctx);
	if (ptrace(PTRACE_SEIZE, pid, NULL,
		   PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD |
			   restore_proc_seize_opts(ctx.tasks[0].core))) {
		pr_perror("pid %d: cannot seize the restored process", pid);
		goto out;
	}
	tr.procs[0].seized = true;
	if (run_tree(&tr))
		goto out;
	ctx.st.t_end = now_ns();
	if (opts->pidfile && write_pidfile(opts->pidfile, pid))
		goto out;
	if (opts->display_stats)
		print_restore_stats(&ctx);
	pr_info("restored pid %d (%zu processes)", pid, ctx.nr_tasks);
	ret = 0;
out:
	free_tree(&tr, pid, ret);
	if (ctx.tty_fd >= 0)
		close(ctx.tty_fd);
	if (ret && ctx.shmem)
		shmem_undo(&ctx);
	restore_unload(&ctx);
	if (ret || opts->detach)
		return ret;
	/* Like criu restore without -d: stay the parent and pass on its exit. */
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	log_fini();
	exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}
