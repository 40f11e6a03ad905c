// SPDX-License-Identifier: GPL-2.0
/*
 * Helper for the benchmarks.
 *   bench-mem hold MIB PIDFILE OUTFILE: touch MIB of anonymous memory with a
 *     pattern, daemonize (pidfile = ready), and on SIGTERM check every byte
 *     and write "PASS" or "FAIL" to OUTFILE.
 *   bench-mem memcpy MIB: print memcpy throughput over touched memory, MiB/s.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

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
	uint64_t *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	for (size_t i = 0; i < bytes / 8; i++)
		p[i] = i * 0x9e3779b97f4a7c15ULL;
	return p;
}

static int hold(size_t bytes, const char *pidfile, const char *outfile)
{
	uint64_t *p = touch(bytes);
	char tmp[4096];
	FILE *f;
	pid_t pid;

	signal(SIGTERM, on_term);
	pid = fork();
	if (pid)
		return pid < 0;
	setsid();
	snprintf(tmp, sizeof(tmp), "%s.tmp", pidfile);
	f = fopen(tmp, "w");
	fprintf(f, "%d\n", getpid());
	fclose(f);
	rename(tmp, pidfile);
	while (!stop)
		pause();
	f = fopen(outfile, "w");
	for (size_t i = 0; i < bytes / 8; i++)
		if (p[i] != i * 0x9e3779b97f4a7c15ULL) {
			fprintf(f, "FAIL at byte %zu\n", i * 8);
			return 1;
		}
	fprintf(f, "PASS\n");
	return 0;
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
		return hold(mib << 20, argv[3], argv[4]);
	if (argc == 3 && !strcmp(argv[1], "memcpy"))
		return bench_memcpy(mib << 20);
	fprintf(stderr, "usage: bench-mem hold MIB PIDFILE OUTFILE | memcpy MIB\n");
	return 2;
}
