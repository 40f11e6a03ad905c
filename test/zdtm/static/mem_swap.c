/*
 * Private anonymous memory partly in swap: every byte is saved, swapped
 * pages included; and a dump that leaves the task running (-R) hands the
 * pages it had to swap in back to swap, and leaves the resident ones
 * resident.
 *
 * Argument: the size in MiB (default 64). Just over half of it is pushed
 * out with MADV_PAGEOUT before the test is ready, in runs of 1024, 8 and 1
 * pages; /proc/self/pagemap must show them in swap. After SIGTERM, the task
 * that was dumped with -R (not one restored: its start time tells) checks
 * in its pagemap, before reading anything, that those pages are out of
 * memory again and the others still in; then every task checks every byte.
 */
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zdtmtst.h"

#define PM_PRESENT	(1ULL << 63)
#define PM_SWAP		(1ULL << 62)
/*
 * Pages a -R dump may leave in memory that were in swap, or the reverse:
 * MADV_PAGEOUT cannot free a page that a CPU's LRU batch still holds.
 */
#define TOLERANCE(n)	((n) / 100)
#define PAGEOUT_TRIES	20

static unsigned long npages;

static int pushed(unsigned long pg)
{
	return pg < 1024 || pg % 16 < 8 || pg % 64 == 13;
}

static uint64_t seed(unsigned long pg)
{
	return 0x5eed0000 + pg;
}

static int have_swap(void)
{
	char line[256];
	int n = 0;
	FILE *f = fopen("/proc/swaps", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n > 1; /* a header line, then one per swap area */
}

static void read_pagemap(const char *area, uint64_t *pm)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	size_t len = npages * sizeof(*pm);

	if (fd < 0)
		fail("/proc/self/pagemap: %m");
	if (pread(fd, pm, len, (unsigned long)area / PAGE_SIZE * sizeof(*pm)) != (ssize_t)len)
		fail("reading /proc/self/pagemap: %m");
	close(fd);
}

static int in_swap(uint64_t e)
{
	return (e & PM_SWAP) && !(e & PM_PRESENT);
}

/* MADV_PAGEOUT every run of pushed pages that is not in swap yet. */
static void page_out(char *area, const uint64_t *pm)
{
	unsigned long pg = 0, end;

	while (pg < npages) {
		if (!pushed(pg) || in_swap(pm[pg])) {
			pg++;
			continue;
		}
		for (end = pg; end < npages && pushed(end) && !in_swap(pm[end]); end++)
			;
		if (madvise(area + pg * PAGE_SIZE, (end - pg) * PAGE_SIZE, MADV_PAGEOUT))
			fail("madvise(MADV_PAGEOUT) of pages %lu-%lu: %m", pg, end - 1);
		pg = end;
	}
}

/*
 * A page faulted in on one CPU sits in that CPU's LRU batch until that CPU
 * drains it, and MADV_PAGEOUT skips pages off the LRU; madvise drains only
 * the batch of the CPU it runs on. So each try runs on the next CPU of the
 * task's set: a quiet CPU never drains its batch by itself (CI saw the same
 * 11 pages stay in memory through 20 tries on one CPU).
 */
static void page_out_on_next_cpu(char *area, const uint64_t *pm, const cpu_set_t *all, int try)
{
	int n = CPU_COUNT(all), cpu, seen = -1;
	cpu_set_t one;

	for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, all) && ++seen == try % n)
			break;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (sched_setaffinity(0, sizeof(one), &one))
		fail("sched_setaffinity(CPU %d): %m", cpu);
	page_out(area, pm);
}

/* How many pages are to be pushed out (@nr_pushed), and how many are in swap. */
static void count(const uint64_t *pm, unsigned long *nr_pushed, unsigned long *out)
{
	unsigned long pg;

	*nr_pushed = *out = 0;
	for (pg = 0; pg < npages; pg++) {
		if (pushed(pg)) {
			(*nr_pushed)++;
			*out += in_swap(pm[pg]);
		}
	}
}

/*
 * The original task after a -R dump: memory is as it was before it. A page
 * is out of memory when the pagemap has it in swap and mincore() does not
 * find it in the swap cache either: MADV_PAGEOUT of a page someone else
 * still holds (a pipe snap spliced it into) unmaps it and writes it to
 * swap, but cannot free it.
 */
static void check_residency(char *area, const uint64_t *pm)
{
	unsigned long pg, nr_pushed = 0, out = 0, cached = 0, nr_kept = 0, kept_in = 0;
	unsigned char *vec = malloc(npages);

	if (!vec)
		fail("malloc: %m");
	if (mincore(area, npages * PAGE_SIZE, vec))
		fail("mincore: %m");
	for (pg = 0; pg < npages; pg++) {
		if (!pushed(pg)) {
			nr_kept++;
			kept_in += !!(pm[pg] & PM_PRESENT);
		} else {
			nr_pushed++;
			out += in_swap(pm[pg]) && !(vec[pg] & 1);
			cached += in_swap(pm[pg]) && (vec[pg] & 1);
		}
	}
	free(vec);
	test_msg("after the dump: %lu of %lu pushed pages out of memory (%lu more in swap but "
		 "cached), %lu of %lu others resident",
		 out, nr_pushed, cached, kept_in, nr_kept);
	if (nr_pushed - out > TOLERANCE(nr_pushed))
		fail("%lu of the %lu pages in swap before the dump are in memory after it "
		     "(%lu of them in the swap cache)",
		     nr_pushed - out, nr_pushed, cached);
	if (nr_kept - kept_in > TOLERANCE(nr_kept))
		fail("%lu of the %lu resident pages are out of memory after the dump",
		     nr_kept - kept_in, nr_kept);
}

int main(int argc, char **argv)
{
	unsigned long mib = 64, pg, nr_pushed, out;
	uint64_t *pm;
	cpu_set_t cpus;
	char *area;
	int i;

	test_init(argc, argv);
	if (test_argc > 1)
		mib = strtoul(test_argv[1], NULL, 0);
	if (mib < 4)
		fail("bad size '%s' (MiB, at least 4)", test_argv[1]);
	if (!have_swap())
		skip("no swap space (/proc/swaps lists none)");
	npages = (mib << 20) / PAGE_SIZE;
	pm = malloc(npages * sizeof(*pm));
	area = mmap(NULL, npages * PAGE_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!pm || area == MAP_FAILED)
		fail("allocating %lu MiB: %m", mib);
	/* A huge page would go to swap, and come back, 512 pages at a time. */
	if (madvise(area, npages * PAGE_SIZE, MADV_NOHUGEPAGE))
		fail("madvise(MADV_NOHUGEPAGE): %m");
	for (pg = 0; pg < npages; pg++)
		datagen(area + pg * PAGE_SIZE, PAGE_SIZE, seed(pg));

	/* Before the fork: MADV_PAGEOUT leaves pages two processes map alone. */
	if (sched_getaffinity(0, sizeof(cpus), &cpus))
		fail("sched_getaffinity: %m");
	for (i = 0; i < PAGEOUT_TRIES; i++) {
		read_pagemap(area, pm);
		count(pm, &nr_pushed, &out);
		if (out == nr_pushed)
			break;
		page_out_on_next_cpu(area, pm, &cpus, i);
		usleep(10000);
	}
	if (sched_setaffinity(0, sizeof(cpus), &cpus))
		fail("sched_setaffinity back: %m");

	test_daemon();

	read_pagemap(area, pm);
	count(pm, &nr_pushed, &out);
	test_msg("before the dump: %lu of %lu pushed pages in swap", out, nr_pushed);
	if (out != nr_pushed)
		fail("only %lu of %lu pages went to swap (is swap full?)", out, nr_pushed);

	test_waitsig();

	/* Before reading anything: reading swaps pages in. */
	read_pagemap(area, pm);
	if (!test_restored())
		check_residency(area, pm);
	for (pg = 0; pg < npages; pg++) {
		ssize_t off = datachk(area + pg * PAGE_SIZE, PAGE_SIZE, seed(pg));

		if (off >= 0)
			fail("page %lu (%s) differs at offset %zd", pg,
			     pushed(pg) ? "was in swap" : "was resident", off);
	}
	pass();
	return 0;
}
