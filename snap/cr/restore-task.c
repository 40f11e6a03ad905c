// SPDX-License-Identifier: GPL-2.0
/*
 * A restored process from its birth to its restorer, running snap's code
 * (see process-trees.md): it makes its session or group, its children, joins
 * its group, exits if it is a zombie, puts its fds, cwd and root in place and
 * jumps into its restorer. Errors are logged here, where they are understood,
 * and the process exits 1; snap sees the exit.
 */
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "files/files.h"
#include "files/packet-ring.h"
#include "files/files-ctty.h"
#include "log.h"
#include "ns/ns.h"
#include "ns/pid-nest.h"
#include "proc/proc.h"
#include "cr/restore-images.h"
#include "cr/restore-tree.h"
#include "mem/cow.h"
#include "mem/ghost.h"
#include "mem/shmem.h"

#define JOIN_TIMEOUT_MS 5000

/* A just-killed process may linger as a zombie until its parent reaps it. */
int wait_pid_free(pid_t pid, unsigned int ms)
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

static pid_t clone_with_pids(const pid_t *tids, size_t n, uint64_t flags)
{
	struct clone_args ca = {
		.flags = flags,
		/* CLONE_PARENT: the caller's own, which clone3() wants left 0. */
		.exit_signal = flags & CLONE_PARENT ? 0 : SIGCHLD,
		.set_tid = (uintptr_t)tids,
		.set_tid_size = n,
	};

	return syscall(SYS_clone3, &ca, sizeof(ca));
}

/*
 * A joined pid namespace (runc's pod one) is also other processes': its pid
 * @pid may be taken, or held by the dumped process's zombie until that
 * namespace's init reaps it. Its pids are not snap's /proc's, so clone3()
 * itself is the probe: 0 to try again, -1 logged once @waited is up, 1
 * for a namespace snap made, where nobody else takes pids.
 */
static int wait_joined_pid(const struct restore_ctx *ctx, pid_t pid, unsigned int *waited)
{
	const char *what;

	if (ns_joined(ctx, NS_KIND__NS_PID, &what) < 0)
		return 1;
	if (*waited >= ctx->opts->pid_wait_ms) {
		pr_err("pid %d of the pid namespace %s gives is still in use after %u ms; cannot "
		       "restore it",
		       pid, what, *waited);
		return -1;
	}
	usleep(10000);
	*waited += 10;
	return 0;
}

/*
 * fork() with @tids (innermost namespace first, the tree root's last),
 * sharing what @flags say: 0 in the child, -1 logged.
 */
static pid_t make_task_tids(struct restore_ctx *ctx, const pid_t *tids, size_t n, uint64_t flags)
{
	pid_t ret, pid = tids[n - 1];
	unsigned int waited = 0;

	fflush(NULL);
	for (;;) {
		int w;

		ret = clone_with_pids(tids, n, flags);
		if (ret >= 0 || errno != EEXIST)
			break;
		/* Taken between our check and clone3, or in a joined namespace: wait. */
		w = ctx->new_pidns ? wait_joined_pid(ctx, pid, &waited) :
				     wait_pid_free(pid, ctx->opts->pid_wait_ms);
		if (w < 0)
			return -1;
		if (w > 0) {
			errno = EEXIST;
			break;
		}
	}
	if (ret < 0 && n > 1)
		pr_perror("pid %d: clone3 with set_tid (%d in its nested pid namespace)", pid,
			  tids[0]);
	else if (ret < 0)
		pr_perror("pid %d: clone3 with set_tid", pid);
	return ret;
}

pid_t make_task(struct restore_ctx *ctx, pid_t pid, uint64_t flags)
{
	return make_task_tids(ctx, &pid, 1, flags);
}

/* tasks[@i] with its pid at every level (ns/pid-nest.h), an init in a new pid namespace. */
static pid_t make_task_of(struct restore_ctx *ctx, size_t i, uint64_t flags)
{
	pid_t tids[PIDNS_MAX_NEST + 1];
	size_t n = pidns_set_tids(&ctx->tasks[i], 0, tids);

	return make_task_tids(ctx, tids, n, flags | (pidns_is_init(ctx, i) ? CLONE_NEWPID : 0));
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

/* The task whose fd table @t has: itself, or an ancestor or sibling it shares it with. */
static size_t files_owner(const struct restore_ctx *ctx, size_t i)
{
	while (ctx->tasks[i].pe->files_shared) {
		const PstreeEntry *pe = ctx->tasks[i].pe;
		pid_t owner = pe->has_files_owner ? (pid_t)pe->files_owner : (pid_t)pe->ppid;

		i = task_index(ctx, restore_find_task(ctx, owner));
	}
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
	/* An incremental dump's pages, staged with its parents' (mem/page-chain.h). */
	if (ctx->tasks[idx].pages_fd > 0) {
		ctx->tasks[idx].pages_fd = move_fd(ctx->tasks[idx].pages_fd, base + 2);
		if (ctx->tasks[idx].pages_fd < 0)
			return -1;
	}
	/* Every other task's pipes are below base: they go here. */
	if (shmem_move_fds(ctx, base + 2) || ns_move_fds(ctx, base + 2) ||
	    cgroup_move_fds(ctx, base + 2) ||
	    restore_task_fds(ctx, &ctx->tasks[idx], base))
		return -1;
	return files_task_installed(ctx, &ctx->tasks[idx]);
}

/* chdir() to @t's cwd; a removed one is its ghost's fd (made and removed again). */
static int enter_cwd(struct restore_ctx *ctx, const struct restore_task *t)
{
	const CoreEntry *c = t->core;

	if (c->has_cwd_ghost_id ? fchdir(ghost_fd(ctx, c->cwd_ghost_id)) : chdir(c->cwd)) {
		pr_perror("pid %d: cwd %s%s", t->pid, c->cwd,
			  c->has_cwd_ghost_id ? DELETED_SUFFIX : "");
		return -1;
	}
	return 0;
}

/*
 * The flock locks the task held only through mappings of a file, on the fd
 * its restorer will map that file from (the first mapping's: the others
 * share it), which the mapping then keeps.
 */
static int lock_mapped(struct restore_ctx *ctx, const struct restore_task *t,
		       const struct bootstrap *b)
{
	const struct rst_vma *vmas = (const void *)(uintptr_t)b->args->vmas;

	for (size_t i = 0; i < t->mm->n_vmas; i++) {
		const VmaEntry *v = t->mm->vmas[i];
		bool first = v->kind == VMA_KIND__VMA_FILE_SHARED ||
			     v->kind == VMA_KIND__VMA_FILE_PRIVATE;

		for (size_t j = 0; first && j < i; j++)
			first = vmas[j].kind == RST_VMA_SYSV || vmas[j].fd != vmas[i].fd;
		if (first && files_mapped_locks(ctx, t, v, vmas[i].fd))
			return -1;
	}
	return 0;
}

/*
 * The packet socket rings the task maps: from its fd of the socket, which
 * prepare_fds() put in place, and turned as the ring was (packet-ring.h).
 */
static int ring_fds(const struct restore_ctx *ctx, const struct restore_task *t,
		    const struct bootstrap *b, int service_base)
{
	struct rst_vma *vmas = (void *)(uintptr_t)b->args->vmas;

	for (size_t i = 0; i < t->mm->n_vmas; i++) {
		const VmaEntry *v = t->mm->vmas[i];
		const PacketRing *r;
		char what[64];
		int fd;

		if (v->kind != VMA_KIND__VMA_PACKET_RING)
			continue;
		snprintf(what, sizeof(what), "pid %d mapping %lx", t->pid, (unsigned long)v->start);
		fd = files_packet_ring(ctx, t, v->sk_ino, &r, what);
		if (fd < 0)
			return -1;
		vmas[i].fd = fcntl(fd, F_DUPFD_CLOEXEC, service_base + 2);
		if (vmas[i].fd < 0) {
			pr_perror("%s: cannot move the fd of its packet socket", what);
			return -1;
		}
		vmas[i].ring_size = packet_ring_size(r);
		vmas[i].ring_shift = packet_ring_shift(r);
	}
	return 0;
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
	if (!t->pe->fs_shared && enter_cwd(ctx, t))
		return -1;
	if (personality(c->personality) < 0) {
		pr_perror("pid %d: personality %#x", t->pid, c->personality);
		return -1;
	}
	if (bootstrap_fill_child(ctx, t, &rp->b, tr->service_base) || lock_mapped(ctx, t, &rp->b) ||
	    ring_fds(ctx, t, &rp->b, tr->service_base))
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
 * no one's group but its own. A leader takes its controlling terminal back
 * before its children are born, so that they inherit it too.
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
		return files_session_ctty(ctx, t);
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
	/* As its own pid namespace sees it: dump checked that it does. */
	pid_t pgid = pidns_rst_pid_seen(ctx, t, t->pe->pgid);
	int waited;

	if (!pgid || getpgid(0) == pgid || !restore_find_task(ctx, t->pe->pgid))
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

/*
 * Who makes tasks[@i]: 0 for its parent; else the id of the session or group
 * it must be born in and its parent is not in, whose leader is gone or is a
 * zombie (check_top() in pstree-dump.c): that leader, its sibling, makes it
 * with CLONE_PARENT, or a helper with the leader's pid does.
 */
static pid_t maker_of(const struct restore_ctx *ctx, size_t i)
{
	const PstreeEntry *pe = ctx->tasks[i].pe;
	const struct restore_task *p = i ? restore_find_task(ctx, pe->ppid) : NULL;

	if (!p)
		return 0;
	if (pe->sid != pe->pid && pe->sid != p->pe->sid)
		return pe->sid;
	if (pe->pgid != pe->pid && pe->pgid != p->pe->pgid && !restore_find_task(ctx, pe->pgid))
		return pe->pgid;
	return 0;
}

/* The tasks @maker makes (maker_of()), as its parent's children: CLONE_PARENT. */
static int make_adopted(struct restore_tree *tr, pid_t maker)
{
	struct restore_ctx *ctx = tr->ctx;

	for (size_t i = 1; i < ctx->nr_tasks; i++) {
		pid_t pid;

		if (maker_of(ctx, i) != maker)
			continue;
		pid = make_task_of(ctx, i, CLONE_PARENT);
		if (pid < 0)
			return -1;
		if (pid == 0)
			task_main(tr, i);
	}
	return 0;
}

/*
 * A session or group whose leader has exited exists again for as long as
 * it takes to make its members in it: a helper with the leader's pid makes
 * it (setsid() or setpgid()), makes them as its parent's children and
 * exits; its parent, the members' parent, reaps it. Its SIGCHLD stays
 * pending with signals blocked, and the restorer drops it.
 */
static int make_helper(struct restore_tree *tr, size_t parent, pid_t id)
{
	struct restore_ctx *ctx = tr->ctx;
	bool session = false;
	int status;
	pid_t pid;

	for (size_t i = 1; i < ctx->nr_tasks; i++)
		if (maker_of(ctx, i) == id && (pid_t)ctx->tasks[i].pe->sid == id)
			session = true;
	pid = make_task(ctx, id, 0);
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (session ? setsid() < 0 : setpgid(0, 0) < 0) {
			pr_perror("helper %d: cannot make its %s", id,
				  session ? "session" : "process group");
			_exit(1);
		}
		_exit(make_adopted(tr, id) ? 1 : 0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
		pr_err("pid %d: its helper %d for %s %d failed (status %#x)",
		       ctx->tasks[parent].pid, id, session ? "session" : "process group", id,
		       status);
		return -1;
	}
	pr_debug("pid %d: helper %d made %s %d", ctx->tasks[parent].pid, id,
		 session ? "session" : "process group", id);
	return 0;
}

/* A helper for @id is made by tasks[@idx] once: for the first of its children that needs it. */
static bool first_for(const struct restore_ctx *ctx, size_t idx, size_t i, pid_t id)
{
	for (size_t j = idx + 1; j < i; j++)
		if (ctx->tasks[j].pe->ppid == ctx->tasks[idx].pe->pid && maker_of(ctx, j) == id)
			return false;
	return true;
}

/*
 * Make the children of tasks[@idx] that share its fd table (@files_shared),
 * or those that do not, in pstree order; a zombie is left dead. Those born
 * in a session or group their parent is not in are made by its leader or
 * a helper (maker_of()).
 */
static int make_children(struct restore_tree *tr, size_t idx, bool files_shared)
{
	struct restore_ctx *ctx = tr->ctx;
	pid_t pid;
	size_t i;

	for (i = idx + 1; i < ctx->nr_tasks; i++) {
		const PstreeEntry *pe = ctx->tasks[i].pe;
		pid_t maker = maker_of(ctx, i);

		if (pe->ppid != ctx->tasks[idx].pe->pid || pe->files_shared != files_shared ||
		    pe->has_files_owner)
			continue;
		if (maker) {
			if (!restore_find_task(ctx, maker) && first_for(ctx, idx, i, maker) &&
			    make_helper(tr, idx, maker))
				return -1;
			continue;
		}
		pid = make_task_of(ctx, i,
				   (pe->files_shared ? CLONE_FILES : 0) |
					   (pe->fs_shared ? CLONE_FS : 0));
		if (pid < 0)
			return -1;
		if (pid == 0)
			task_main(tr, i);
	}
	/*
	 * Dead before our restorer starts: the SIGCHLD they sent us is
	 * pending by then, and the restorer drops it with the rest.
	 */
	for (i = idx + 1; i < ctx->nr_tasks; i++) {
		const PstreeEntry *pe = ctx->tasks[i].pe;
		siginfo_t info;

		if (pe->ppid != ctx->tasks[idx].pe->pid || pe->files_shared != files_shared ||
		    pe->state != TASK_STATE__TASK_ZOMBIE)
			continue;
		if (waitid(P_PID, pidns_rst_pid_seen(ctx, &ctx->tasks[idx], pe->pid), &info,
			   WEXITED | WNOWAIT)) {
			pr_perror("pid %d: waiting for zombie %d", ctx->tasks[idx].pid, pe->pid);
			return -1;
		}
	}
	return 0;
}

/*
 * Memory its children inherit through fork, pages shared (mem/cow.h): in
 * place before they are made.
 */
static int premap(struct restore_tree *tr, size_t idx)
{
	struct restore_ctx *ctx = tr->ctx;
	const struct restore_task *t = &ctx->tasks[idx], *p;

	if (t->pe->state == TASK_STATE__TASK_ZOMBIE)
		return 0;
	p = idx ? restore_find_task(ctx, t->pe->ppid) : NULL;
	return cow_premap(ctx, t, tr->procs[idx].b.args,
			  p ? tr->procs[task_index(ctx, p)].b.args : NULL);
}

/*
 * The siblings that share the fd table of tasks[@idx] (not their parent's),
 * made as its parent's children (CLONE_PARENT) once the table is in place.
 */
static int make_files_siblings(struct restore_tree *tr, size_t idx)
{
	struct restore_ctx *ctx = tr->ctx;

	for (size_t i = idx + 1; i < ctx->nr_tasks; i++) {
		const PstreeEntry *pe = ctx->tasks[i].pe;
		pid_t pid;

		if (!pe->files_shared || !pe->has_files_owner ||
		    (pid_t)pe->files_owner != ctx->tasks[idx].pid)
			continue;
		pid = make_task_of(ctx, i, CLONE_FILES | CLONE_PARENT);
		if (pid < 0)
			return -1;
		if (pid == 0)
			task_main(tr, i);
	}
	return 0;
}

/*
 * A new process of the tree, running snap's code until the restorer. Signals
 * stay blocked until its rt_sigreturn; a parent that dies takes it along.
 */
void task_main(struct restore_tree *tr, size_t idx)
{
	struct restore_ctx *ctx = tr->ctx;
	struct restore_task *t = &ctx->tasks[idx];
	sigset_t all;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/*
	 * The root first puts its new namespaces' contents back. A leader
	 * makes first the members its parent has and it does not
	 * (maker_of()), before its premap: they share none of its memory. In
	 * its group, the task can be its terminal's foreground again.
	 */
	if ((!idx && (ns_restore_root(ctx) || shmem_create_in_root(ctx) ||
		      files_open_in_root(ctx, tr->service_base))) ||
	    ns_enter_task(ctx, t->pe) ||
	    cgroup_task_enter(ctx, idx) || make_ids(ctx, t, !idx) || make_adopted(tr, t->pid) ||
	    premap(tr, idx) || make_children(tr, idx, false) || join_group(ctx, t) ||
	    files_task_tty(ctx, t))
		_exit(1);
	if (t->pe->state == TASK_STATE__TASK_ZOMBIE)
		be_zombie(t->pe);
	/* Children and siblings sharing our fd table are made once it is in place. */
	if (child_prepare(tr, idx) || make_children(tr, idx, true) ||
	    make_files_siblings(tr, idx) || pidns_restore_for_children(ctx, idx))
		_exit(1);
	bootstrap_jump(&tr->procs[idx].b);
}
