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

struct child_pipes {
	int ready[2];		/* restorer -> snap */
	int go[2];		/* snap -> restorer */
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

static pid_t clone_with_pid(pid_t pid)
{
	struct clone_args ca = {
		.exit_signal = SIGCHLD,
		.set_tid = (uintptr_t)&pid,
		.set_tid_size = 1,
	};

	return syscall(SYS_clone3, &ca, sizeof(ca));
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

/* Everything done in the child before the restorer: files, session, cwd. */
static int child_prepare(struct restore_ctx *ctx, struct restore_task *t, struct bootstrap *b,
			 struct child_pipes *p)
{
	const CoreEntry *c = t->core;
	int base, fd;

	close(p->ready[0]);
	close(p->go[1]);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	unregister_rseq();

	if (ctx->opts->shell_job) {
		if (t->pe->pgid == (uint32_t)t->pid)
			setpgid(0, 0);
	} else if (t->pe->sid == (uint32_t)t->pid && setsid() < 0) {
		pr_perror("pid %d: setsid", t->pid);
		return -1;
	}

	/* snap's own fds go above every fd the process had: the service fds. */
	base = task_max_fd(t) + t->nr_fds + 32;
	if (base < 64)
		base = 64;
	if (dup2(p->ready[1], base) < 0 || dup2(p->go[0], base + 1) < 0) {
		pr_perror("cannot set up the restore pipes");
		return -1;
	}
	fcntl(base, F_SETFD, FD_CLOEXEC);
	fcntl(base + 1, F_SETFD, FD_CLOEXEC);
	close(p->ready[1]);
	close(p->go[0]);
	b->args->ready_fd = base;
	b->args->go_fd = base + 1;
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

	if (shmem_move_fds(ctx, base + 2) || restore_task_fds(ctx, t, base))
		return -1;
	/* Paths in the images are as snap sees them: chroot comes last. */
	if (chdir(c->cwd)) {
		pr_perror("pid %d: cwd %s", t->pid, c->cwd);
		return -1;
	}
	if (personality(c->personality) < 0) {
		pr_perror("pid %d: personality %#x", t->pid, c->personality);
		return -1;
	}
	if (bootstrap_fill_child(ctx, t, b, base))
		return -1;
	if (strcmp(c->root, "/") && chroot(c->root)) {
		pr_perror("pid %d: chroot %s", t->pid, c->root);
		return -1;
	}
	return 0;
}

static void child_main(struct restore_ctx *ctx, struct restore_task *t, struct bootstrap *b,
		       struct child_pipes *p)
{
	if (child_prepare(ctx, t, b, p))
		_exit(1);
	bootstrap_jump(b);
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

/* Trace the restorer through rt_sigreturn, then unmap it from outside. */
static int finish_task(struct restore_task *t, pid_t pid, struct bootstrap *b, int go_fd)
{
	struct parasite_ctl ctl = { .pid = pid };
	struct syscall_site site;
	long ret;
	int status;

	if (ptrace(PTRACE_INTERRUPT, pid, NULL, NULL) || ptrace_wait(pid, &status) ||
	    ptrace_run_to_sigreturn(pid, send_go, &go_fd)) {
		if (errno == ESRCH)
			pr_err("pid %d died at the end of its restore", pid);
		else
			pr_perror("pid %d: cannot finish the restore", pid);
		return -1;
	}
	syscall_site(t, &site);
	if (infect_prepare_syscall(&ctl, &site))
		return -1;
	if (infect_syscall(&ctl, &ret, __NR_munmap, (long)b->addr, b->len, 0, 0, 0, 0) || ret) {
		pr_err("pid %d: cannot unmap the restorer", pid);
		return -1;
	}
	if (infect_unpoke(&ctl))
		return -1;
	if (ptrace(PTRACE_DETACH, pid, NULL, NULL)) {
		pr_perror("pid %d: cannot detach", pid);
		return -1;
	}
	return 0;
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

static int restore_task(struct restore_ctx *ctx, struct restore_task *t, pid_t *out)
{
	struct child_pipes p = { { -1, -1 }, { -1, -1 } };
	struct bootstrap b = { 0 };
	pid_t pid;
	int ret = -1;

	if (wait_pid_free(t->pid, ctx->opts->pid_wait_ms) || bootstrap_create(ctx, t, &b))
		return -1;
	if (pipe2(p.ready, O_CLOEXEC) || pipe2(p.go, O_CLOEXEC)) {
		pr_perror("cannot create the restore pipes");
		goto out;
	}
	fflush(NULL);
	for (;;) {
		pid = clone_with_pid(t->pid);
		if (pid >= 0 || errno != EEXIST)
			break;
		/* Taken between our check and clone3: wait again. */
		if (wait_pid_free(t->pid, ctx->opts->pid_wait_ms))
			goto out;
	}
	if (pid < 0) {
		pr_perror("pid %d: clone3 with set_tid", t->pid);
		goto out;
	}
	if (pid == 0)
		child_main(ctx, t, &b, &p);
	ctx->st.t_forked = now_ns();
	/* EXITKILL: if snap dies mid-restore, the half-built process dies too. */
	if (ptrace(PTRACE_SEIZE, pid, NULL,
		   PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD | restore_proc_seize_opts(t->core))) {
		pr_perror("pid %d: cannot seize the restored process", pid);
		goto kill;
	}
	close(p.ready[1]);
	close(p.go[0]);
	p.ready[1] = p.go[0] = -1;
	if (wait_ready(pid, &b, p.ready[0]) || shmem_finish(ctx) ||
	    finish_task(t, pid, &b, p.go[1]))
		goto kill;
	ctx->st.pages_moved = b.args->stats.pages_moved;
	ctx->st.pages_in_place = b.args->stats.pages_in_place;
	ctx->st.mem_ns = b.args->stats.mem_ns;
	*out = pid;
	ret = 0;
	goto out;
kill:
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
		;
out:
	for (int i = 0; i < 2; i++) {
		if (p.ready[i] >= 0)
			close(p.ready[i]);
		if (p.go[i] >= 0)
			close(p.go[i]);
	}
	bootstrap_destroy(&b);
	return ret;
}

int cmd_restore(const struct snap_opts *opts, const struct kfeat *kf)
{
	struct restore_ctx ctx = { .opts = opts, .kf = kf, .dirfd = -1, .tty_fd = -1 };
	pid_t pid = -1;
	int ret = -1, status;

	ctx.st.t_start = now_ns();
	if (restore_load(&ctx))
		goto out;
	if (opts->shell_job) {
		ctx.tty_fd = isatty(STDIN_FILENO) ? fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3) : -1;
	}
	if (shmem_create(&ctx) || restore_task(&ctx, &ctx.tasks[0], &pid))
		goto out;
	ctx.st.t_end = now_ns();
	if (opts->pidfile && write_pidfile(opts->pidfile, pid))
		goto out;
	if (opts->display_stats)
		print_restore_stats(&ctx);
	pr_info("restored pid %d", pid);
	ret = 0;
out:
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
