// SPDX-License-Identifier: GPL-2.0
/*
 * Freezing. A task is seized (PTRACE_SEIZE, no signal sent, nothing visible
 * to the task) and stopped with PTRACE_INTERRUPT. Threads and children come
 * with the process-tree work; until then they are refused up front, before
 * anything is touched.
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

static int count_children(pid_t pid)
{
	char buf[4096];
	int n = 0;
	char *p;

	snprintf(buf, sizeof(buf), "task/%d/children", pid);
	if (proc_read_file(pid, buf, buf, sizeof(buf)) < 0)
		return -1;
	for (p = buf; *p; p++)
		if (*p == ' ')
			n++;
	return n;
}

int seize_check_alone(const struct dump_task *t)
{
	int children = count_children(t->pid);
	struct proc_status status;

	if (children < 0 || parse_status(t->pid, &status))
		return -1;
	if (status.threads > 1) {
		pr_err("pid %d has %u threads; multi-threaded processes are not supported yet",
		       t->pid, status.threads);
		return -1;
	}
	if (children) {
		pr_err("pid %d has %d child processes; process trees are not supported yet", t->pid,
		       children);
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
	if (st.state == 'T' || st.state == 't') {
		pr_err("pid %d (%s) is stopped or traced; cannot dump it", t->pid, st.comm);
		return -1;
	}
	t->ppid = st.ppid;
	t->pgid = st.pgid;
	t->sid = st.sid;
	return 0;
}

int seize_task(struct dump_task *t)
{
	long opts = PTRACE_O_TRACESYSGOOD;
	int status;

	if (seccomp_seize_opts(t->pid, &opts))
		return -1;
	if (ptrace(PTRACE_SEIZE, t->pid, NULL, opts)) {
		if (errno == EPERM && (opts & PTRACE_O_SUSPEND_SECCOMP))
			pr_err("pid %d runs under seccomp: dumping it needs CAP_SYS_ADMIN "
			       "(PTRACE_O_SUSPEND_SECCOMP)",
			       t->pid);
		else
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
