/*
 * Scheduling that differs between the threads of one process survives:
 *   main  SCHED_OTHER, nice 3, on the first CPU only;
 *   T1    SCHED_BATCH, nice 7, on the last CPU only;
 *   T2    SCHED_IDLE, nice -2;
 *   T3    SCHED_FIFO priority 10, with SCHED_FLAG_RESET_ON_FORK, nice 4 (which
 *         it has back if made SCHED_OTHER again; sched_getattr() hides it);
 *   T4    SCHED_RR priority 20, on every CPU.
 * After the restore main reads each thread's sched_getattr() and
 * getpriority() and sched_getaffinity() and compares them with what was set.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtmtst.h"

/* <linux/sched/types.h>'s, which cannot be included with <sched.h>. */
struct sched_attr {
	unsigned int size, sched_policy;
	unsigned long long sched_flags;
	int sched_nice;
	unsigned int sched_priority;
	unsigned long long sched_runtime, sched_deadline, sched_period;
	unsigned int sched_util_min, sched_util_max;
};

#define SCHED_FLAG_RESET_ON_FORK 1

enum { MAIN, T1, T2, T3, T4, NTASKS };

struct want {
	unsigned int policy, prio;
	int nice;
	unsigned long long flags;
	int cpu;	/* the only one it runs on; -1: every CPU */
};

static struct want want[NTASKS] = {
	[MAIN] = { SCHED_OTHER, 0, 3, 0, 0 },
	[T1] = { SCHED_BATCH, 0, 7, 0, -2 /* the last */ },
	[T2] = { SCHED_IDLE, 0, -2, 0, -1 },
	[T3] = { SCHED_FIFO, 10, 4, SCHED_FLAG_RESET_ON_FORK, -1 },
	[T4] = { SCHED_RR, 20, 0, 0, -1 },
};

static pid_t tids[NTASKS];
static volatile int ready[NTASKS];
static int ncpu, pipefd[2];

static void cpus_of(const struct want *w, cpu_set_t *set)
{
	CPU_ZERO(set);
	for (int c = 0; c < ncpu; c++)
		if (w->cpu == -1 || c == (w->cpu == -2 ? ncpu - 1 : w->cpu))
			CPU_SET(c, set);
}

static int set_sched(int who)
{
	const struct want *w = &want[who];
	struct sched_attr a = { .size = sizeof(a) };
	cpu_set_t set;

	a.sched_policy = w->policy;
	a.sched_flags = w->flags;
	a.sched_priority = w->prio;
	cpus_of(w, &set);
	/* After: sched_setattr() sets no nice for SCHED_IDLE or RT, and 0 for the others. */
	if (syscall(SYS_sched_setattr, 0, &a, 0) || setpriority(PRIO_PROCESS, 0, w->nice))
		return -1;
	return sched_setaffinity(0, sizeof(set), &set);
}

static void *thread(void *arg)
{
	int who = (long)arg;
	sigset_t term;
	char c;

	/* SIGTERM is main's to take: test_waitsig() waits for it there. */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &term, NULL);
	tids[who] = syscall(SYS_gettid);
	ready[who] = set_sched(who) ? -errno : 1;
	if (read(pipefd[0], &c, 1) < 0)
		return NULL;
	return NULL;
}

static void check(int who)
{
	const struct want *w = &want[who];
	struct sched_attr a;
	cpu_set_t set, exp;
	int nice;

	memset(&a, 0, sizeof(a));
	errno = 0;
	nice = getpriority(PRIO_PROCESS, tids[who]);
	if (errno)
		fail("getpriority of %d: %m", tids[who]);
	if (syscall(SYS_sched_getattr, tids[who], &a, sizeof(a), 0))
		fail("sched_getattr of %d: %m", tids[who]);
	if (a.sched_policy != w->policy || a.sched_priority != w->prio ||
	    (a.sched_flags & SCHED_FLAG_RESET_ON_FORK) != w->flags ||
	    nice != w->nice)
		fail("thread %d (%d): policy %u, priority %u, nice %d, flags %#llx; expected %u, "
		     "%u, %d, %#llx",
		     who, tids[who], a.sched_policy, a.sched_priority, nice,
		     (unsigned long long)a.sched_flags, w->policy, w->prio, w->nice, w->flags);
	if (sched_getaffinity(tids[who], sizeof(set), &set))
		fail("sched_getaffinity of %d: %m", tids[who]);
	cpus_of(w, &exp);
	if (!CPU_EQUAL(&set, &exp))
		fail("thread %d (%d): on %d CPUs (first %d), expected %d", who, tids[who],
		     CPU_COUNT(&set), CPU_ISSET(0, &set) ? 0 : -1, CPU_COUNT(&exp));
}

int main(int argc, char **argv)
{
	pthread_t th[NTASKS];
	cpu_set_t all;
	int i;

	test_init(argc, argv);
	if (sched_getaffinity(0, sizeof(all), &all))
		fail("sched_getaffinity: %m");
	ncpu = CPU_COUNT(&all);
	/* One CPU: main and T1 on the same one; the test is weaker but still runs. */
	for (i = 0; i < ncpu; i++)
		if (!CPU_ISSET(i, &all))
			fail("the CPUs this test may use are not 0..%d", ncpu - 1);
	test_daemon();
	if (pipe(pipefd))
		fail("pipe: %m");
	tids[MAIN] = getpid();
	for (i = T1; i < NTASKS; i++) {
		if (pthread_create(&th[i], NULL, thread, (void *)(long)i))
			fail("pthread_create: %m");
		while (!ready[i])
			usleep(1000);
		if (ready[i] < 0)
			fail("thread %d: cannot set its scheduling: %s", i, strerror(-ready[i]));
	}
	if (set_sched(MAIN))
		fail("main: cannot set its scheduling: %m");
	for (i = 0; i < NTASKS; i++)
		check(i);

	test_waitsig();

	for (i = 0; i < NTASKS; i++)
		check(i);
	pass();
	return 0;
}
