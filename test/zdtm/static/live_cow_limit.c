/* Live dump of a writer that hits random pages far faster than snap can save them. */
/*
 * 256 MiB of pages, each with a write counter at its start and a copy of it
 * at its end, and a fixed pattern in between. Until SIGTERM the writer picks
 * pages at random and increments both copies: in a live dump nearly every
 * write lands on a page not saved yet, so snap must copy pages faster than it
 * can write them out, and the runner dumps this test with a small
 * --cow-limit and checks from --display-stats that the copies stayed within
 * it (faulting writers wait) and that there were some. Before each write the
 * two copies must agree; at SIGTERM they must add up to the number of writes
 * made, which a page from after the freeze or a lost write would break.
 * With "busy", a thread per CPU spins meanwhile: the writer and the stream
 * wait for a CPU, and the stream gives way (live-yield.c), which must not
 * let the copies past the limit.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zdtmtst.h"

#define SIZE		(256UL << 20)
#define NPAGES		(SIZE / PAGE_SIZE)
#define WORDS		(PAGE_SIZE / sizeof(uint64_t))
#define LAST		(WORDS - 1)

static volatile uint64_t *mem;
static volatile int stop;

static void *spin(void *arg)
{
	while (!stop)
		;
	return arg;
}

static uint64_t fill(unsigned long k, unsigned long i)
{
	return ((uint64_t)k << 16 | i) * 0x9e3779b97f4a7c15ULL;
}

static void setup(void)
{
	unsigned long k, i;

	mem = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		fail("mmap: %m");
	madvise((void *)mem, SIZE, MADV_POPULATE_WRITE);	/* only faster, not needed */
	for (k = 0; k < NPAGES; k++) {
		volatile uint64_t *p = mem + k * WORDS;

		p[0] = 0;
		for (i = 1; i < LAST; i++)
			p[i] = fill(k, i);
		p[LAST] = 0;
	}
}

/* Write until SIGTERM or a violation; returns the number of writes. */
static uint64_t write_random(void)
{
	uint64_t x = 0x243f6a8885a308d3ULL, n = 0;

	while (!test_sigterm) {
		unsigned long k;
		volatile uint64_t *p;
		uint64_t c;

		x ^= x << 13;	/* xorshift64 */
		x ^= x >> 7;
		x ^= x << 17;
		k = (x >> 20) % NPAGES;
		p = mem + k * WORDS;
		c = p[0];
		if (p[LAST] != c) {
			test_record("write %llu: page %lu has counters %llu and %llu",
			       (unsigned long long)n, k, (unsigned long long)c,
			       (unsigned long long)p[LAST]);
			break;
		}
		p[0] = c + 1;
		p[LAST] = c + 1;
		n++;
	}
	return n;
}

int main(int argc, char **argv)
{
	uint64_t writes, sum = 0;
	unsigned long k, i;
	pthread_t th[64];
	long nr = 0;

	test_init(argc, argv);
	setup();

	test_daemon();
	if (test_argc > 1 && !strcmp(test_argv[1], "busy")) {
		nr = sysconf(_SC_NPROCESSORS_ONLN);
		nr = nr < 1 ? 1 : nr > 64 ? 64 : nr;
		for (long t = 0; t < nr; t++)
			if (pthread_create(&th[t], NULL, spin, NULL))
				fail("pthread_create: %m");
	}
	test_ready();
	writes = write_random();
	test_waitsig();
	stop = 1;
	for (long t = 0; t < nr; t++)
		pthread_join(th[t], NULL);

	if (test_recorded())
		fail("%s", test_recorded());
	for (k = 0; k < NPAGES; k++) {
		volatile uint64_t *p = mem + k * WORDS;

		if (p[0] != p[LAST])
			fail("page %lu has counters %llu and %llu", k, (unsigned long long)p[0],
			     (unsigned long long)p[LAST]);
		for (i = 1; i < LAST; i++)
			if (p[i] != fill(k, i))
				fail("page %lu word %lu is %#llx, expected %#llx", k, i,
				     (unsigned long long)p[i], (unsigned long long)fill(k, i));
		sum += p[0];
	}
	if (sum != writes)
		fail("the page counters add up to %llu, but %llu writes were made",
		     (unsigned long long)sum, (unsigned long long)writes);
	test_msg("%llu writes\n", (unsigned long long)writes);
	pass();
	return 0;
}
