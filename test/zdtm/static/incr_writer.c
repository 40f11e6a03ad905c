/*
 * Incremental dumps (pre-dump, then dump --prev-images-dir) of a process
 * that never stops writing: until SIGTERM a loop writes random pages of an
 * area (32 MiB, or the MiB given as the first argument), each page filled
 * with a pattern of (page, generation), the generation of every page kept
 * in a separate array. At SIGTERM every byte of every page is checked
 * against its generation: a page restored from an older round (a parent
 * set) while it was written since shows up as a wrong generation; a page
 * torn between two rounds as a broken pattern.
 *
 * With a second argument, the loop also changes the address space between
 * writes, as the tracking must survive: "munmap" unmaps a page and maps it
 * back (zeros), "dontneed" discards one (zeros), "mremap" moves a 16-page
 * window of the area away and back with a swap of its halves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "zdtmtst.h"

#define WORDS (PAGE_SIZE / sizeof(uint64_t))
#define WIN 16

static char *area;
static unsigned long npages;
static uint32_t *gen;	/* 0: zeros (never written, unmapped, discarded) */
static uint32_t *ident;	/* the page the pattern names: mremap moves patterns */
static uint64_t rnd = 0x9e3779b97f4a7c15ULL;

static uint64_t next_rnd(void)
{
	rnd ^= rnd << 13;
	rnd ^= rnd >> 7;
	rnd ^= rnd << 17;
	return rnd;
}

static uint64_t word(unsigned long pg, uint32_t g, unsigned long w)
{
	return ((uint64_t)pg << 40) ^ ((uint64_t)g << 8) ^ w;
}

static void fill(unsigned long pg, uint32_t g)
{
	uint64_t *p = (uint64_t *)(area + pg * PAGE_SIZE);

	for (unsigned long w = 0; w < WORDS; w++)
		p[w] = word(pg, g, w);
	gen[pg] = g;
	ident[pg] = pg;
}

static void check(void)
{
	for (unsigned long pg = 0; pg < npages; pg++) {
		const uint64_t *p = (const uint64_t *)(area + pg * PAGE_SIZE);

		for (unsigned long w = 0; w < WORDS; w++) {
			uint64_t want = gen[pg] ? word(ident[pg], gen[pg], w) : 0;

			if (p[w] != want)
				fail("page %lu word %lu: %#llx, expected %#llx (generation %u)", pg,
				     w, (unsigned long long)p[w], (unsigned long long)want,
				     gen[pg]);
		}
	}
}

static void do_munmap(unsigned long pg)
{
	char *a = area + pg * PAGE_SIZE;

	/* The new page is a mapping of its own, which the old tracking knows nothing of. */
	if (munmap(a, PAGE_SIZE) ||
	    mmap(a, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		 -1, 0) != a)
		fail("munmap/mmap page %lu: %m", pg);
	gen[pg] = 0;
}

static void do_dontneed(unsigned long pg)
{
	if (madvise(area + pg * PAGE_SIZE, PAGE_SIZE, MADV_DONTNEED))
		fail("MADV_DONTNEED page %lu: %m", pg);
	gen[pg] = 0;
}

/*
 * Swap the two halves of a window, through a spare place: each half is moved
 * whole, so that it is always one mapping (mremap() takes one).
 */
static void do_mremap(unsigned long pg, char *spare)
{
	char *a = area + pg * PAGE_SIZE, *h = a + WIN / 2 * PAGE_SIZE;
	size_t half = WIN / 2 * PAGE_SIZE;
	uint32_t g[WIN], id[WIN];

	if (mremap(a, half, half, MREMAP_MAYMOVE | MREMAP_FIXED, spare) != spare ||
	    mremap(h, half, half, MREMAP_MAYMOVE | MREMAP_FIXED, a) != a ||
	    mremap(spare, half, half, MREMAP_MAYMOVE | MREMAP_FIXED, h) != h)
		fail("mremap of pages %lu-%lu: %m", pg, pg + WIN);
	/* The pages keep their patterns, which name the page they were written at. */
	memcpy(g, &gen[pg], sizeof(g));
	memcpy(id, &ident[pg], sizeof(id));
	memcpy(&gen[pg], g + WIN / 2, WIN / 2 * sizeof(*g));
	memcpy(&gen[pg + WIN / 2], g, WIN / 2 * sizeof(*g));
	memcpy(&ident[pg], id + WIN / 2, WIN / 2 * sizeof(*id));
	memcpy(&ident[pg + WIN / 2], id, WIN / 2 * sizeof(*id));
}

int main(int argc, char **argv)
{
	unsigned long mib = 32, ops = 0;
	const char *mut = NULL;
	uint32_t g = 1;
	char *spare;

	test_init(argc, argv);
	if (test_argc > 1)
		mib = strtoul(test_argv[1], NULL, 0);
	if (test_argc > 2)
		mut = test_argv[2];
	npages = mib << 20 >> 12;
	area = mmap(NULL, npages * PAGE_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	spare = mmap(NULL, WIN * PAGE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	gen = calloc(npages, sizeof(*gen));
	ident = calloc(npages, sizeof(*ident));
	if (area == MAP_FAILED || spare == MAP_FAILED || !gen || !ident)
		fail("setup: %m");
	for (unsigned long pg = 0; pg < npages; pg++)
		fill(pg, g);
	test_daemon();
	rnd ^= (uint64_t)getpid() << 20;
	test_ready();
	while (test_go()) {
		unsigned long pg = next_rnd() % npages;

		fill(pg, ++g);
		if (mut && !(++ops % 64)) {
			pg = next_rnd() % (npages / WIN) * WIN;
			if (!strcmp(mut, "munmap"))
				do_munmap(pg);
			else if (!strcmp(mut, "dontneed"))
				do_dontneed(pg);
			else if (!strcmp(mut, "mremap"))
				do_mremap(pg, spare);
			else
				fail("unknown mutation %s", mut);
		}
		/* About 20 pages a millisecond: most of the area stays as the last round saw it. */
		if (!(g % 8)) {
			struct timespec ts = { 0, 300000 };

			nanosleep(&ts, NULL);
		}
	}
	check();
	pass();
	return 0;
}
