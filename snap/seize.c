// SPDX-License-Identifier: GPL-2.0
/*
 * Freezing. A task is seized (PTRACE_SEIZE, no signal sent, nothing visible
 * to the task) and stopped with PTRACE_INTERRUPT. A task in a job-control
 * stop is seized the same way and is back in it once detached: the kernel
 * keeps the group stop in effect until a SIGCONT.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "infect.h"
#include "log.h"
#include "proc.h"
#include "procstate.h"
#include "seize.h"

int seize_check_alone(const struct dump_task *t)
{
	struct proc_status status;

	if (parse_status(t->pid, &status))
		return -1;
	if (status.threads > 1) {
		pr_err("pid %d has %u threads; multi-threaded processes are not supported yet",
		       t->pid, status.threads);
		return -1;
	}
	return 0;
}

int seize_check(struct dump_task *t)
{
	struct proc_stat st;

	if (t->pid <= 0 || proc_read_stat(t->pid, &st)) {
		pr_err("no such process: pid %d", t->pid);
		return -1;
	}
	if (st.flags & PF_KTHREAD) {
		pr_err("pid %d (%s) is a kernel thread; only user processes can be dumped",
		       t->pid, st.comm);
		return -1;
	}
	if (st.state == 'Z' || st.state == 'X') {
		pr_err("pid %d (%s) is a zombie; nothing to dump", t->pid, st.comm);
		return -1;
	}
	if (t->pid == getpid() || t->pid == getppid()) {
		pr_err("pid %d is snap itself or its parent; cannot dump it", t->pid);
		return -1;
	}
	if (seize_check_alone(t))
		return -1;
	if (st.state == 't') {
		pr_err("pid %d (%s) is traced by another process; cannot dump it", t->pid, st.comm);
		return -1;
	}
	t->stopped = st.state == 'T';
	t->ppid = st.ppid;
	t->pgid = st.pgid;
	t->sid = st.sid;
	return 0;
}

int seize_task(struct dump_task *t)
{
	int status;

	if (ptrace(PTRACE_SEIZE, t->pid, NULL, PTRACE_O_TRACESYSGOOD)) {
		struct proc_stat st;
		int err = errno;

		/* Exiting: the caller knows whether that is news. */
		if (proc_read_stat(t->pid, &st) || st.state == 'Z' || st.state == 'X') {
			errno = ESRCH;
			return -1;
		}
		errno = err;
		pr_perror("pid %d: cannot seize", t->pid);
		return -1;
	}
	if (ptrace(PTRACE_INTERRUPT, t->pid, NULL, NULL)) {
		pr_perror("pid %d: cannot stop", t->pid);
		goto detach;
	}
	if (ptrace_wait(t->pid, &status)) {
		if (errno == ESRCH)
			pr_err("pid %d died while being frozen", t->pid);
		goto detach;
	}
	if (!WIFSTOPPED(status) || (status >> 16) != PTRACE_EVENT_STOP) {
		/* A signal got there first; it stays pending, we stop on the interrupt. */
		if (ptrace(PTRACE_CONT, t->pid, NULL, WSTOPSIG(status)) ||
		    ptrace_wait(t->pid, &status) || (status >> 16) != PTRACE_EVENT_STOP) {
			pr_err("pid %d: cannot stop it (status %#x)", t->pid, status);
			goto detach;
		}
	}
	if (seccomp_suspend(t->pid, PTRACE_O_TRACESYSGOOD))
		goto detach;
	t->threads = malloc(sizeof(pid_t));
	if (!t->threads)
		goto detach;
	t->threads[0] = t->pid;
	t->nr_threads = 1;
	return 0;
detach:
	ptrace(PTRACE_DETACH, t->pid, NULL, NULL);
	return -1;
}

void unseize_task(struct dump_task *t, bool kill_it)
{
	if (kill_it)
		kill(t->pid, SIGKILL);
	/* A task that died meanwhile was reported where that was noticed. */
	if (ptrace(PTRACE_DETACH, t->pid, NULL, NULL) && !kill_it && errno != ESRCH)
		pr_perror("pid %d: cannot detach", t->pid);
}
