// SPDX-License-Identifier: GPL-2.0
/*
 * Helper for scripts/bench_live.py: a process that writes to random pages and
 * times every write.
 *
 *   bench-live-writer MIB PIDFILE STATSFILE [shared]
 *
 * touches MIB of anonymous memory (MAP_SHARED|MAP_ANONYMOUS with "shared"), daemonizes (the pidfile appearing means
 * ready), then until SIGTERM stores 8 bytes at the start of a random page,
 * reading CLOCK_MONOTONIC around each store. On SIGUSR1 it appends a line for
 * the window since the previous SIGUSR1 (or since it was ready) to STATSFILE:
 *
 *   WINDOW_NS WRITES P50_NS P99_NS MAX_NS
 *
 * Percentiles come from a log-linear histogram (16 steps per power of two,
 * upper bounds: within 6.25%); the latency includes one clock_gettime (~20 ns).
 * A write stalls when the page is write-protected by a live dump, and for the
 * whole freeze, which is what a target sees.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE		4096UL
#define SUB_BITS	4
#define NBUCKETS	(64 << SUB_BITS)

static volatile sig_atomic_t stop, report;
static volatile uint64_t *mem;
static uint64_t hist[NBUCKETS];

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void on_usr1(int sig)
{
	(void)sig;
	report = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static unsigned int bucket(uint64_t v)
{
	unsigned int e;

	if (v < (1 << SUB_BITS))
		return v;
	e = 63 - __builtin_clzll(v);
	return (e - SUB_BITS + 1) << SUB_BITS | ((v >> (e - SUB_BITS)) & ((1 << SUB_BITS) - 1));
}

/* The largest value that falls in bucket @b. */
static uint64_t bucket_max(unsigned int b)
{
	unsigned int e = (b >> SUB_BITS) + SUB_BITS - 1, sub = b & ((1 << SUB_BITS) - 1);

	if (b < (1 << SUB_BITS))
		return b;
	return (((uint64_t)(1 << SUB_BITS) + sub + 1) << (e - SUB_BITS)) - 1;
}

static uint64_t percentile(uint64_t writes, double q)
{
	uint64_t want = (uint64_t)(writes * q), seen = 0;
	unsigned int b;

	for (b = 0; b < NBUCKETS; b++) {
		seen += hist[b];
		if (seen > want)
			return bucket_max(b);
	}
	return 0;
}

static void write_window(const char *path, uint64_t window, uint64_t writes, uint64_t max)
{
	FILE *f = fopen(path, "a");

	if (!f)
		exit(1);
	fprintf(f, "%llu %llu %llu %llu %llu\n", (unsigned long long)window,
		(unsigned long long)writes, (unsigned long long)percentile(writes, 0.5),
		(unsigned long long)percentile(writes, 0.99), (unsigned long long)max);
	fclose(f);
}

static int run(size_t bytes, const char *pidfile, const char *statsfile, int type)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL, writes = 0, max = 0, start;
	size_t npages = bytes / PAGE;
	char tmp[4096];
	FILE *f;
	pid_t pid;

	mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, type | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	madvise((void *)mem, bytes, MADV_POPULATE_WRITE);
	for (size_t i = 0; i < bytes / 8; i += 64)
		mem[i] = i;
	signal(SIGTERM, on_term);
	signal(SIGUSR1, on_usr1);
	pid = fork();
	if (pid)
		return pid < 0;
	setsid();
	snprintf(tmp, sizeof(tmp), "%s.tmp", pidfile);
	f = fopen(tmp, "w");
	if (!f)
		return 1;
	fprintf(f, "%d\n", getpid());
	fclose(f);
	rename(tmp, pidfile);

	start = now_ns();
	while (!stop) {
		volatile uint64_t *p;
		uint64_t t0, t;

		if (report) {
			report = 0;
			t = now_ns();
			write_window(statsfile, t - start, writes, max);
			memset(hist, 0, sizeof(hist));
			writes = max = 0;
			start = now_ns();
		}
		x ^= x << 13;	/* xorshift64 */
		x ^= x >> 7;
		x ^= x << 17;
		p = mem + (x % npages) * (PAGE / 8);
		t0 = now_ns();
		*p = writes;
		t = now_ns() - t0;
		hist[bucket(t)]++;
		if (t > max)
			max = t;
		writes++;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 4 && (argc != 5 || strcmp(argv[4], "shared"))) {
		fprintf(stderr, "usage: bench-live-writer MIB PIDFILE STATSFILE [shared]\n");
		return 2;
	}
	return run(strtoul(argv[1], NULL, 10) << 20, argv[2], argv[3],
		   argc == 5 ? MAP_SHARED : MAP_PRIVATE);
}
