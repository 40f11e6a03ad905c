/*
 * A three-level tree of multi-threaded processes: R has children C1 and C2,
 * C1 has G. Every process runs 4 threads (its main one and 3 more), each
 * summing 1..n as it goes and checking the sum against n(n+1)/2, with its
 * running state in its own TLS and on its own stack. After SIGTERM, R passes
 * it on; every process stops its threads, checks that each kept counting
 * after the restore and never saw a wrong sum, and that its threads kept
 * their ids, then exits with the verdict; R reaps its children and checks
 * theirs.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NTHREADS 4

struct worker {
	pthread_t th;
	pid_t tid;
	atomic_ullong n;	/* how far it counted */
	atomic_int bad;
};

static struct worker workers[NTHREADS];
static atomic_int stop_workers;
static __thread unsigned long long my_sum;	/* TLS: must follow its thread */

static void *work(void *arg)
{
	struct worker *w = arg;
	unsigned long long n = 0;

	w->tid = syscall(SYS_gettid);
	my_sum = 0;
	while (!stop_workers) {
		n++;
		my_sum += n;
		if (my_sum != n * (n + 1) / 2)
			w->bad = 1;
		w->n = n;
	}
	return NULL;
}

static void start_workers(void)
{
	for (int i = 1; i < NTHREADS; i++)
		if (pthread_create(&workers[i].th, NULL, work, &workers[i]))
			fail("pthread_create: %m");
	for (int i = 1; i < NTHREADS; i++)
		while (!workers[i].n)
			usleep(1000);
}

static atomic_int *nr_ready;	/* shared: processes whose threads run */

/* The main thread counts too, until SIGTERM; 0 if every thread did well. */
static int run_and_check(void)
{
	unsigned long long before[NTHREADS], n = 0, sum = 0;
	pid_t tids[NTHREADS];
	int i;

	workers[0].tid = syscall(SYS_gettid);
	for (i = 0; i < NTHREADS; i++)
		tids[i] = workers[i].tid;
	(*nr_ready)++;
	while (!test_sigterm) {
		n++;
		sum += n;
		if (sum != n * (n + 1) / 2)
			workers[0].bad = 1;
	}
	/* Counting on after the restore: each thread must still make progress. */
	for (i = 1; i < NTHREADS; i++)
		before[i] = workers[i].n;
	for (i = 1; i < NTHREADS; i++) {
		int waited = 0;

		/* 16 busy threads on a small machine: give each time to run. */
		while (workers[i].n == before[i] && waited++ < 5000)
			usleep(1000);
		if (workers[i].n == before[i])
			return 10 + i;
	}
	stop_workers = 1;
	for (i = 1; i < NTHREADS; i++)
		pthread_join(workers[i].th, NULL);
	for (i = 0; i < NTHREADS; i++) {
		if (workers[i].bad)
			return 20 + i;
		if (workers[i].tid != tids[i])
			return 30 + i;
	}
	return 0;
}

/* A child: its own threads (not inherited across fork), then the same. */
static pid_t child(void)
{
	pid_t pid = fork();

	if (pid < 0)
		fail("fork: %m");
	if (pid)
		return pid;
	start_workers();
	_exit(run_and_check());
}

static void reap(pid_t pid, const char *name)
{
	int status;

	kill(pid, SIGTERM);
	if (waitpid(pid, &status, 0) != pid)
		fail("waitpid %s: %m", name);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail("%s: status %#x (exit 1x: a thread stopped, 2x: bad sum, 3x: tid changed)",
		     name, status);
}

int main(int argc, char **argv)
{
	pid_t c1, c2, g;
	int ret, status;

	test_init(argc, argv);
	nr_ready = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (nr_ready == MAP_FAILED)
		fail("mmap: %m");
	test_daemon();
	c1 = fork();
	if (c1 < 0)
		fail("fork: %m");
	if (c1 == 0) {
		/* C1: its child G gets SIGTERM from C1, once C1 got its own. */
		g = child();
		start_workers();
		ret = run_and_check();
		kill(g, SIGTERM);
		if (waitpid(g, &status, 0) != g || !WIFEXITED(status) || WEXITSTATUS(status))
			_exit(40);
		_exit(ret);
	}
	c2 = child();
	start_workers();
	while (*nr_ready < 3)
		usleep(1000);
	workers[0].tid = syscall(SYS_gettid);
	test_ready();
	ret = run_and_check();
	if (ret)
		fail("R: code %d (1x: a thread stopped, 2x: bad sum, 3x: tid changed)", ret);
	reap(c1, "C1 (40: its child G failed)");
	reap(c2, "C2");
	pass();
	return 0;
}
