// SPDX-License-Identifier: GPL-2.0
/*
 * Per-thread state (see thread-dump.h). Every thread is stopped by seize;
 * the parasite runs in the leader only. The other threads' registers, FPU
 * state, mask, rseq and robust list are read with ptrace and syscalls from
 * snap. Their altstack and clear_child_tid can only be read by the thread
 * itself: snap runs sigaltstack() and prctl(PR_GET_TID_ADDRESS) in each of
 * them with infect's injected syscalls, the results landing in the parasite
 * area, which snap sees too.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "infect.h"
#include "log.h"
#include "proc/proc.h"
#include "proc/thread-dump.h"

/* From outside: whatever thread it is, stopped or not. */
static int collect_outside(pid_t pid, struct thread_state *ts)
{
	char name[64];
	size_t len;

	if (ptrace(PTRACE_GET_RSEQ_CONFIGURATION, ts->tid, sizeof(ts->rseq), &ts->rseq) !=
	    sizeof(ts->rseq)) {
		pr_perror("pid %d: cannot read the rseq registration of thread %d", pid, ts->tid);
		return -1;
	}
	if (syscall(SYS_get_robust_list, ts->tid, &ts->robust_list, &len)) {
		pr_perror("pid %d: cannot read the robust futex list of thread %d", pid, ts->tid);
		return -1;
	}
	ts->robust_list_len = len;
	snprintf(name, sizeof(name), "task/%d/comm", ts->tid);
	if (proc_read_file(pid, name, ts->comm, sizeof(ts->comm)) < 0)
		return -1;
	ts->comm[strcspn(ts->comm, "\n")] = '\0';
	return 0;
}

int thread_collect(struct dump_task *t, unsigned int xsave_size)
{
	t->thr = calloc(t->nr_threads, sizeof(*t->thr));
	if (!t->thr)
		return -1;
	for (size_t i = 0; i < t->nr_threads; i++) {
		struct thread_state *ts = &t->thr[i];
		struct parasite_ctl c = { 0 };

		ts->tid = t->threads[i];
		ts->xsave_len = xsave_size ? xsave_size : 4096;
		ts->xsave = calloc(1, ts->xsave_len);
		if (!ts->xsave || collect_outside(t->pid, ts) || parse_status(ts->tid, &ts->status))
			return -1;
		/* The leader's come from infect, which saves them anyway. */
		if (!i)
			continue;
		c.xsave = ts->xsave;
		c.xsave_len = ts->xsave_len;
		if (infect_save_state(&c, ts->tid))
			return -1;
		ts->regs = c.regs;
		ts->xsave_len = c.xsave_len;
		ts->sigmask = c.sigmask;
	}
	return 0;
}

/*
 * Run the thread's own reads of its state, both between one blocking of its
 * signals and one putting back of its registers: those read at its stop,
 * but for an interrupted syscall's -ERESTART*, which the kernel would have
 * turned into a restart had we not run anything: done here, as the
 * parasite's cure does for the leader.
 */
static int collect_injected(struct dump_task *t, struct thread_state *ts)
{
	struct parasite_thread_out *out = &t->ctl->args->thread;
	uint64_t out_remote = t->ctl->remote + ((char *)out - (char *)t->ctl->local);
	struct parasite_ctl c = {
		.pid = ts->tid,
		.syscall_ip = t->ctl->syscall_ip,
		.code_poked = t->ctl->code_poked,
	};
	struct infect_call calls[2] = {
		{ .nr = __NR_sigaltstack,
		  .a = { 0, out_remote + offsetof(struct parasite_thread_out, altstack) } },
		{ .nr = __NR_prctl,
		  .a = { PR_GET_TID_ADDRESS,
			 out_remote + offsetof(struct parasite_thread_out, tid_address) } },
	};
	struct user_regs_struct regs = ts->regs;

	memset(out, 0, sizeof(*out));
	regs_restart_syscall(&regs, true);
	if (infect_syscalls(&c, &regs, ts->sigmask, calls, 2) || calls[0].ret || calls[1].ret) {
		pr_err("pid %d: cannot read the altstack and clear_child_tid of thread %d", t->pid,
		       ts->tid);
		return -1;
	}
	ts->altstack = out->altstack;
	ts->clear_tid = out->tid_address;
	return 0;
}

int thread_collect_infected(struct dump_task *t)
{
	const struct parasite_misc *misc = &t->ctl->args->misc;
	struct thread_state *lead = &t->thr[0];

	lead->regs = t->ctl->regs;
	memcpy(lead->xsave, t->ctl->xsave, t->ctl->xsave_len);
	lead->xsave_len = t->ctl->xsave_len;
	lead->sigmask = t->ctl->sigmask;
	lead->altstack = misc->altstack;
	lead->clear_tid = misc->tid_address;
	for (size_t i = 1; i < t->nr_threads; i++)
		if (collect_injected(t, &t->thr[i]))
			return -1;
	return 0;
}

void thread_state_free(struct dump_task *t)
{
	for (size_t i = 0; t->thr && i < t->nr_threads; i++)
		free(t->thr[i].xsave);
	free(t->thr);
	t->thr = NULL;
}
