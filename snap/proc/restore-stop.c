// SPDX-License-Identifier: GPL-2.0
/*
 * A process dumped in a job-control stop comes back in one, made while snap
 * still traces it and its parent (Documentation/process-trees.md, "Stopped
 * processes"). Stopping it once released would let it run meanwhile (code,
 * signal handlers, a syscall that completes) and would be a new stop for its
 * parent: a second SIGCHLD, and a stop to collect that it may have collected.
 *
 * Traced, the task takes a SIGSTOP that snap replaces with the dumped stop
 * signal, so the group stop is the kernel's own, with that signal, and the
 * kernel tells the real parent as it did at the time. snap then undoes, in
 * the parent, what the parent had undone itself before the dump: the stop
 * it had collected is collected again, the SIGCHLD it had taken is taken.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "infect.h"
#include "log.h"
#include "ns/pid-nest.h"
#include "proc/restore-stop.h"
#include "proc/syscall-restart.h"

#define SIGCHLD_WAIT_MS 1000
#define SA_NOCLDSTOP_ 1

static int cont(pid_t pid, pid_t tid, int sig)
{
	if (!ptrace(PTRACE_CONT, tid, NULL, sig))
		return 0;
	pr_perror("pid %d: cannot resume thread %d into its stop", pid, tid);
	return -1;
}

/* Wait for a stop of @tid: a signal-delivery stop of @sig, or (@sig 0) a group-stop trap. */
static int wait_stop(pid_t pid, pid_t tid, int sig, int *status)
{
	if (ptrace_wait(tid, status)) {
		if (errno == ESRCH)
			pr_err("pid %d died on its way into its stop", pid);
		return -1;
	}
	if (WIFSTOPPED(*status) && (sig ? (*status >> 16) == 0 && WSTOPSIG(*status) == sig :
					  (*status >> 16) == PTRACE_EVENT_STOP))
		return 0;
	pr_err("pid %d: thread %d stopped with status %#x on its way into its stop", pid, tid,
	       *status);
	return -1;
}

/*
 * The leader takes a SIGSTOP snap sends it and delivers @sig instead. A job
 * control signal is dropped in an orphaned process group: the trap snap asks
 * for meanwhile then comes without a group stop (SIGTRAP), and 1 says so.
 */
static int leader_stop(const struct restore_task *t, int sig)
{
	pid_t pid = t->pid, host = t->real;
	int status;

	if (syscall(SYS_tgkill, host, host, SIGSTOP)) {
		pr_perror("pid %d: cannot send it SIGSTOP", pid);
		return -1;
	}
	if (cont(pid, host, 0) || wait_stop(pid, host, SIGSTOP, &status))
		return -1;
	if (ptrace(PTRACE_INTERRUPT, host, NULL, NULL)) {
		pr_perror("pid %d: cannot interrupt it", pid);
		return -1;
	}
	if (cont(pid, host, sig) || wait_stop(pid, host, 0, &status))
		return -1;
	return WSTOPSIG(status) == SIGTRAP;
}

/* Back in the signal path of the syscall it was stopped in, as dumped. */
static int put_back_syscall(const struct restore_task *t, const ThreadCoreEntry *th, pid_t host)
{
	const UserRegsEntry *d = th->regs;
	struct user_regs_struct r = { .orig_rax = d->orig_ax, .rax = d->ax };

	if (!regs_in_restart(&r))
		return 0;
	if (ptrace(PTRACE_GETREGS, host, NULL, &r))
		goto fail;
	r.rip = d->ip;
	r.rax = d->ax;
	r.orig_rax = d->orig_ax;
	if (!ptrace(PTRACE_SETREGS, host, NULL, &r))
		return 0;
fail:
	pr_perror("pid %d: cannot put thread %d back in its syscall", t->pid, th->tid);
	return -1;
}

int restore_stop_enter(const struct restore_task *t)
{
	const CoreEntry *c = t->core;
	int sig = t->pe->has_stop_signo ? (int)t->pe->stop_signo : SIGSTOP;
	uint64_t mask[c->n_threads], all = ~0ULL;
	int ret, status;
	size_t i;

	/* Nothing else is taken meanwhile: every signal blocked, but the stop's. */
	for (i = 0; i < c->n_threads; i++) {
		uint64_t block = all & ~(1ULL << (sig - 1));

		if (ptrace(PTRACE_GETSIGMASK, rst_tid(t, i), sizeof(mask[i]), &mask[i]) ||
		    ptrace(PTRACE_SETSIGMASK, rst_tid(t, i), sizeof(block), &block)) {
			pr_perror("pid %d: cannot block the signals of thread %d", t->pid,
				  c->threads[i]->tid);
			return -1;
		}
	}
	ret = leader_stop(t, sig);
	if (ret > 0 && sig != SIGSTOP) {
		pr_warn("pid %d: signal %d cannot stop it now (an orphaned process group); it is "
			"stopped by SIGSTOP instead",
			t->pid, sig);
		ret = leader_stop(t, SIGSTOP);
	}
	if (ret > 0)
		pr_err("pid %d: SIGSTOP did not stop it", t->pid);
	if (ret)
		return -1;
	/* The others join the group stop the leader began; the last one tells the parent. */
	for (i = 1; i < c->n_threads; i++)
		if (cont(t->pid, rst_tid(t, i), 0) || wait_stop(t->pid, rst_tid(t, i), 0, &status))
			return -1;
	for (i = 0; i < c->n_threads; i++) {
		if (ptrace(PTRACE_SETSIGMASK, rst_tid(t, i), sizeof(mask[i]), &mask[i])) {
			pr_perror("pid %d: cannot set the signal mask of thread %d", t->pid,
				  c->threads[i]->tid);
			return -1;
		}
		if (put_back_syscall(t, c->threads[i], rst_tid(t, i)))
			return -1;
	}
	pr_debug("pid %d: stopped by signal %d", t->pid, sig);
	return 0;
}

static bool has_sigchld(ProtobufCBinaryData *si, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (*(int *)si[i].data == SIGCHLD)
			return true;
	return false;
}

/* SIGCHLD is in @p's shared queue. */
static int sigchld_queued(const struct restore_task *p)
{
	struct __ptrace_peeksiginfo_args a = { .flags = PTRACE_PEEKSIGINFO_SHARED, .nr = 1 };
	siginfo_t si;

	for (a.off = 0;; a.off++) {
		long n = ptrace(PTRACE_PEEKSIGINFO, p->real, &a, &si);

		if (n < 0) {
			pr_perror("pid %d: cannot read its pending signals", p->pid);
			return -1;
		}
		if (!n)
			return 0;
		if (si.si_signo == SIGCHLD)
			return 1;
	}
}

/*
 * Take from @p the SIGCHLD the stop of @t sent it. Only if the stop sent one
 * (not SIG_IGN, no SA_NOCLDSTOP; traced, @p queues it even when its action
 * is the default one, to ignore) and @p had none pending, which this one
 * merged into. The kernel queues it just after @t's trap: wait for it.
 */
static int take_sigchld(const struct restore_task *t, const struct restore_task *p,
			struct parasite_ctl *ctl, uint64_t mem)
{
	const SigactionEntry *sa = p->core->sigactions[SIGCHLD - 1];
	const CoreEntry *c = p->core;
	struct parasite_ctl tc = *ctl;
	struct timespec *zero = (void *)(uintptr_t)mem;
	uint64_t *set = (void *)(uintptr_t)(mem + sizeof(*zero));
	size_t i;
	long ret;
	int q, waited;

	if (sa->handler == (uintptr_t)SIG_IGN || (sa->flags & SA_NOCLDSTOP_) ||
	    has_sigchld(c->shared_pending, c->n_shared_pending))
		return 0;
	for (waited = 0; !(q = sigchld_queued(p)); waited++) {
		if (waited == SIGCHLD_WAIT_MS) {
			pr_warn("pid %d: the SIGCHLD of the stop of %d never came", p->pid, t->pid);
			return 0;
		}
		usleep(1000);
	}
	if (q < 0)
		return -1;
	/* rt_sigtimedwait() takes a thread's own SIGCHLD first: one without any. */
	for (i = 0; i < c->n_threads; i++)
		if (!has_sigchld(c->threads[i]->pending, c->threads[i]->n_pending))
			break;
	if (i == c->n_threads) {
		pr_warn("pid %d: every thread has a SIGCHLD of its own; it gets one more", p->pid);
		return 0;
	}
	tc.pid = rst_tid(p, i);
	*zero = (struct timespec){ 0, 0 };
	*set = 1ULL << (SIGCHLD - 1);
	if (infect_syscall(&tc, &ret, __NR_rt_sigtimedwait, (long)set, 0, (long)zero, 8, 0, 0))
		return -1;
	if (ret != SIGCHLD) {
		pr_err("pid %d: cannot take the SIGCHLD of the stop of %d: %ld", p->pid, t->pid,
		       ret);
		return -1;
	}
	return 0;
}

int restore_stop_parent(const struct restore_task *t, const struct restore_task *p,
			struct parasite_ctl *ctl, uint64_t mem)
{
	siginfo_t *si = (void *)(uintptr_t)mem;
	pid_t seen = pidns_seen_by(p, t); /* in a nested pid namespace: as @p sees it */
	long ret;

	if (t->pe->stop_waited) {
		memset(si, 0, sizeof(*si));
		if (infect_syscall(ctl, &ret, __NR_waitid, P_PID, seen, (long)si,
				   WSTOPPED | WNOHANG, 0, 0))
			return -1;
		if (ret || si->si_pid != seen || si->si_code != CLD_STOPPED) {
			pr_err("pid %d: cannot collect the stop of its child %d again (%ld)", p->pid,
			       t->pid, ret);
			return -1;
		}
	}
	return take_sigchld(t, p, ctl, mem);
}
