/* A live dump of a process that keeps every CPU busy: the stream gives way to it. */
/*
 * 96 MiB of pages with a fixed pattern, and one thread per CPU that spins
 * until SIGTERM, touching none of them. While snap streams the pages, the
 * spinners keep the CPUs; the runner checks from --display-stats that the
 * stream waited for them (`stream yielded`), and the pages must come out
 * whole all the same, here and in the restored process.
 */
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zdtmtst.h"

#define SIZE		(96UL << 20)
#define NPAGES		(SIZE / PAGE_SIZE)
#define WORDS		(PAGE_SIZE / sizeof(uint64_t))
#define MAX_SPINNERS	64

static uint64_t *mem;
static volatile int stop;

static uint64_t fill(unsigned long k, unsigned long i)
{
	return ((uint64_t)k << 16 | i) * 0x9e3779b97f4a7c15ULL;
}

static void *spin(void *arg)
{
	volatile uint64_t n = 0;

	while (!stop)
		n++;
	return arg;
}

int main(int argc, char **argv)
{
	pthread_t th[MAX_SPINNERS];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN), i;
	unsigned long k, w;

	test_init(argc, argv);
	if (cpus < 1)
		cpus = 1;
	if (cpus > MAX_SPINNERS)
		cpus = MAX_SPINNERS;
	mem = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		fail("mmap: %m");
	for (k = 0; k < NPAGES; k++)
		for (w = 0; w < WORDS; w++)
			mem[k * WORDS + w] = fill(k, w);

	test_daemon();
	for (i = 0; i < cpus; i++)
		if (pthread_create(&th[i], NULL, spin, NULL))
			fail("pthread_create failed");
	test_ready();
	test_waitsig();
	stop = 1;
	for (i = 0; i < cpus; i++)
		pthread_join(th[i], NULL);

	for (k = 0; k < NPAGES; k++)
		for (w = 0; w < WORDS; w++)
			if (mem[k * WORDS + w] != fill(k, w))
				fail("page %lu word %lu is %#llx, expected %#llx", k, w,
				     (unsigned long long)mem[k * WORDS + w],
				     (unsigned long long)fill(k, w));
	pass();
	return 0;
}
