// SPDX-License-Identifier: GPL-2.0
/*
 * Scheduling policy, RT priority, nice and CPU affinity of one thread, at
 * dump and at restore. snap (root, CAP_SYS_NICE) sets them from outside
 * once the thread exists, stopped: an RT policy set earlier could let a
 * busy restored thread starve the rest of the restore, and a nice value
 * below the thread's RLIMIT_NICE could not be set by the thread itself.
 */
#include <errno.h>
#include <linux/sched.h>
#include <linux/sched/types.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "proc/sched.h"

#define K_SCHED_OTHER		0
#define K_SCHED_FIFO		1
#define K_SCHED_RR		2
#define K_SCHED_BATCH		3
#define K_SCHED_IDLE		5
#define K_SCHED_DEADLINE	6

static bool policy_rt(uint32_t p)
{
	return p == K_SCHED_FIFO || p == K_SCHED_RR;
}

static bool policy_known(uint32_t p)
{
	return p == K_SCHED_OTHER || policy_rt(p) || p == K_SCHED_BATCH || p == K_SCHED_IDLE;
}

int sched_dump(struct sched_buf *b, pid_t pid, pid_t tid, ThreadCoreEntry *th)
{
	struct sched_attr attr;
	long len;
	size_t n;
	int nice;

	memset(&attr, 0, sizeof(attr));
	if (syscall(SYS_sched_getattr, tid, &attr, sizeof(attr), 0)) {
		pr_perror("pid %d: cannot read the scheduling of thread %d", pid, tid);
		return -1;
	}
	if (attr.sched_policy == K_SCHED_DEADLINE) {
		pr_err("pid %d: thread %d runs under SCHED_DEADLINE, which snap does not restore",
		       pid, tid);
		return -1;
	}
	if (!policy_known(attr.sched_policy)) {
		pr_err("pid %d: thread %d has scheduling policy %u, which snap does not know", pid,
		       tid, attr.sched_policy);
		return -1;
	}
	/* sched_getattr() has no nice for RT threads; they keep one all the same. */
	errno = 0;
	nice = getpriority(PRIO_PROCESS, tid);
	if (errno) {
		pr_perror("pid %d: cannot read the nice value of thread %d", pid, tid);
		return -1;
	}
	len = syscall(SYS_sched_getaffinity, tid, sizeof(b->affinity), b->affinity);
	if (len < 0) {
		pr_perror("pid %d: cannot read the CPU affinity of thread %d", pid, tid);
		return -1;
	}
	/* Words past the last CPU set say nothing: a smaller machine can take the mask. */
	for (n = len / sizeof(uint64_t); n && !b->affinity[n - 1]; n--)
		;
	sched_entry__init(&b->e);
	b->e.policy = attr.sched_policy;
	b->e.has_flags = b->e.has_nice = b->e.has_rt_prio = true;
	b->e.flags = attr.sched_flags & SCHED_FLAG_RESET_ON_FORK;
	b->e.nice = nice;
	b->e.rt_prio = attr.sched_priority;
	b->e.affinity = b->affinity;
	b->e.n_affinity = n;
	th->sched = &b->e;
	return 0;
}

int sched_restore(pid_t pid, pid_t host_tid, const ThreadCoreEntry *th)
{
	const SchedEntry *e = th->sched;
	struct sched_attr attr;
	pid_t tid = th->tid;

	if (!e)
		return 0;
	if (!policy_known(e->policy) || e->n_affinity > SCHED_CPU_WORDS ||
	    (policy_rt(e->policy) && (e->rt_prio < 1 || e->rt_prio > 99)) ||
	    (!policy_rt(e->policy) && (e->nice < -20 || e->nice > 19))) {
		pr_err("image core-%d.img: thread %d: bad scheduling (policy %u, priority %u, "
		       "nice %d, %zu words of CPU mask)",
		       pid, tid, e->policy, e->rt_prio, e->nice, e->n_affinity);
		return -1;
	}
	if (e->n_affinity &&
	    syscall(SYS_sched_setaffinity, host_tid, e->n_affinity * sizeof(uint64_t), e->affinity)) {
		pr_perror("pid %d: cannot give thread %d its CPU affinity (none of its CPUs here?)",
			  pid, tid);
		return -1;
	}
	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.sched_policy = e->policy;
	attr.sched_flags = e->flags & SCHED_FLAG_RESET_ON_FORK;
	if (policy_rt(e->policy))
		attr.sched_priority = e->rt_prio;
	if (syscall(SYS_sched_setattr, host_tid, &attr, 0)) {
		pr_perror("pid %d: cannot give thread %d scheduling policy %u (priority %u)", pid,
			  tid, e->policy, e->rt_prio);
		return -1;
	}
	/* Set apart: sched_setattr() takes no nice for SCHED_IDLE nor the RT policies. */
	if (setpriority(PRIO_PROCESS, host_tid, e->nice)) {
		pr_perror("pid %d: cannot give thread %d nice %d", pid, tid, e->nice);
		return -1;
	}
	return 0;
}
