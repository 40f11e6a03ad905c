// SPDX-License-Identifier: GPL-2.0
/*
 * Helper for the benchmarks.
 *   bench-mem hold MIB PIDFILE OUTFILE: touch MIB of anonymous memory with a
 *     pattern, daemonize (pidfile = ready), and on SIGTERM check every byte
 *     and write "PASS" or "FAIL" to OUTFILE.
 *   bench-mem tree NPROC NTHREADS MIB PIDFILE OUTFILE: the same with MIB spread
 *     over NPROC processes (the daemon and its children), each running
 *     NTHREADS threads; the daemon checks its own bytes and its children's
 *     verdicts.
 *   bench-mem hold-shared MIB PIDFILE OUTFILE: hold, with the memory
 *     MAP_SHARED|MAP_ANONYMOUS instead of private.
 *   bench-mem memcpy MIB: print memcpy throughput over touched memory, MiB/s.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static int map_type = MAP_PRIVATE;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t *touch(size_t bytes)
{
	uint64_t *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, map_type | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	for (size_t i = 0; i < bytes / 8; i++)
		p[i] = i * 0x9e3779b97f4a7c15ULL;
	return p;
}

/* Offset of the first wrong byte, or -1. */
static long check(const uint64_t *p, size_t bytes)
{
	for (size_t i = 0; i < bytes / 8; i++)
		if (p[i] != i * 0x9e3779b97f4a7c15ULL)
			return i * 8;
	return -1;
}

static void *idle_thread(void *arg)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	(void)arg;
	while (!stop)
		nanosleep(&ts, NULL);
	return NULL;
}

/*
 * The idle threads block SIGTERM (they inherit the mask): it must reach the
 * main thread, whose pause() it ends.
 */
static void start_threads(int n)
{
	sigset_t term, old;
	pthread_t t;

	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &term, &old);
	for (int i = 1; i < n; i++)
		if (pthread_create(&t, NULL, idle_thread, NULL)) {
			perror("pthread_create");
			exit(1);
		}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* A child of the tree: its own memory and threads; exit 0 if intact on SIGTERM. */
static pid_t tree_child(size_t bytes, int nthreads)
{
	pid_t pid = fork();
	uint64_t *p;

	if (pid)
		return pid;
	p = touch(bytes);
	start_threads(nthreads);
	while (!stop)
		pause();
	_exit(check(p, bytes) < 0 ? 0 : 1);
}

static int hold(int nproc, int nthreads, size_t bytes, const char *pidfile,
		const char *outfile)
{
	size_t each = bytes / nproc & ~4095UL;
	uint64_t *p = touch(each);
	pid_t kids[nproc];
	char tmp[4096];
	int status, bad = 0;
	long off;
	FILE *f;
	pid_t pid;

	signal(SIGTERM, on_term);
	pid = fork();
	if (pid)
		return pid < 0;
	setsid();
	for (int i = 1; i < nproc; i++)
		kids[i] = tree_child(each, nthreads);
	start_threads(nthreads);
	snprintf(tmp, sizeof(tmp), "%s.tmp", pidfile);
	f = fopen(tmp, "w");
	fprintf(f, "%d\n", getpid());
	fclose(f);
	rename(tmp, pidfile);
	while (!stop)
		pause();
	for (int i = 1; i < nproc; i++) {
		kill(kids[i], SIGTERM);
		if (waitpid(kids[i], &status, 0) != kids[i] || status)
			bad = i;
	}
	f = fopen(outfile, "w");
	off = check(p, each);
	if (off >= 0)
		fprintf(f, "FAIL at byte %ld\n", off);
	else if (bad)
		fprintf(f, "FAIL in child %d\n", bad);
	else
		fprintf(f, "PASS\n");
	fclose(f);
	_exit(off >= 0 || bad);
}

static int bench_memcpy(size_t bytes)
{
	uint64_t *a = touch(bytes), *b = touch(bytes);
	double best = 1e9;

	for (int i = 0; i < 3; i++) {
		double t = now();

		memcpy(b, a, bytes);
		t = now() - t;
		if (t < best)
			best = t;
	}
	printf("%.0f\n", bytes / 1048576.0 / best);
	return 0;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 2 ? strtoul(argv[2], NULL, 10) : 0;

	if (argc == 5 && !strcmp(argv[1], "hold"))
		return hold(1, 1, mib << 20, argv[3], argv[4]);
	if (argc == 5 && !strcmp(argv[1], "hold-shared")) {
		map_type = MAP_SHARED;
		return hold(1, 1, mib << 20, argv[3], argv[4]);
	}
	if (argc == 7 && !strcmp(argv[1], "tree"))
		return hold(atoi(argv[2]), atoi(argv[3]), strtoul(argv[4], NULL, 10) << 20, argv[5],
			    argv[6]);
	if (argc == 3 && !strcmp(argv[1], "memcpy"))
		return bench_memcpy(mib << 20);
	fprintf(stderr, "usage: bench-mem hold[-shared] MIB PIDFILE OUTFILE | tree NPROC NTHREADS "
			"MIB PIDFILE OUTFILE | memcpy MIB\n");
	return 2;
}
