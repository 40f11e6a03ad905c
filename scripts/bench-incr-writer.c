// SPDX-License-Identifier: GPL-2.0
/*
 * Helper for scripts/bench_incr.py: a process that keeps writing random pages
 * at a steady rate.
 *
 *   bench-incr-writer MIB PIDFILE PAGES_PER_MS
 *
 * touches MIB of private anonymous memory, writes its pid to PIDFILE (ready),
 * then until killed writes one word to PAGES_PER_MS random pages every
 * millisecond (an absolute 1 ms tick, so a freeze does not slow the rate
 * after it).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL

int main(int argc, char **argv)
{
	uint64_t rnd = 0x2545f4914f6cdd1dULL, seq = 0;
	unsigned long npages, rate;
	struct timespec tick;
	char *mem;
	FILE *f;

	if (argc != 4) {
		fprintf(stderr, "usage: %s MIB PIDFILE PAGES_PER_MS\n", argv[0]);
		return 2;
	}
	npages = strtoul(argv[1], NULL, 0) << 20 >> 12;
	rate = strtoul(argv[3], NULL, 0);
	mem = mmap(NULL, npages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		   0);
	if (mem == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	for (unsigned long i = 0; i < npages; i++)
		memset(mem + i * PAGE, (int)i, PAGE);
	if (daemon(1, 1))
		return 1;
	f = fopen(argv[2], "w");
	if (!f || fprintf(f, "%d", getpid()) < 0 || fclose(f))
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &tick);
	for (;;) {
		for (unsigned long i = 0; i < rate; i++) {
			rnd ^= rnd << 13;
			rnd ^= rnd >> 7;
			rnd ^= rnd << 17;
			*(volatile uint64_t *)(mem + rnd % npages * PAGE) = ++seq;
		}
		tick.tv_nsec += 1000000;
		if (tick.tv_nsec >= 1000000000) {
			tick.tv_nsec -= 1000000000;
			tick.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &tick, NULL);
	}
}
