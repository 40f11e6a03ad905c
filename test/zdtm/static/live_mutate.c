/* Live dump while regions are unmapped, discarded, moved or mapped over in a loop. */
/*
 * Regions of 1..64 pages lie between two 128 MiB patterned areas, so in
 * whichever order snap streams, they are not saved yet right after the
 * freeze. Until SIGTERM a loop goes round them: it checks that a region holds
 * what its kind, state and generation say, then takes it to the next state:
 *
 *   munmap    full -> upper half munmap()ed -> all munmap()ed -> mapped again
 *   dontneed  full -> upper half MADV_DONTNEED (zero) -> all zero -> refilled
 *   mapfixed  full -> fresh mmap(MAP_FIXED) over the upper half -> over all -> refilled
 *   mremap    full at one slot -> mremap(MREMAP_FIXED) to the other slot -> refilled
 *
 * Refilling writes the next generation's pattern. The first argument picks
 * one kind; without it the regions take the four kinds in turn. A region
 * that does not hold what it should is recorded and reported at SIGTERM,
 * when every region and both areas are checked once more.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "zdtmtst.h"

#define P		PAGE_SIZE
#define WORDS		(P / sizeof(uint64_t))
#define NR_REGIONS	256
#define MAX_PAGES	64
#define AREA		(128UL << 20)
#define AREA_SEED	0x11feUL

enum kind { MUNMAP, DONTNEED, MAPFIXED, MREMAP, NR_KINDS };

static const char *const kind_name[NR_KINDS] = { "munmap", "dontneed", "mapfixed", "mremap" };

struct region {
	char *addr;		/* where it is now: for mremap, slot[cur] */
	char *slot[2];		/* mremap: the two places it moves between */
	unsigned long npages;
	unsigned long lower;	/* pages the half-way state keeps */
	unsigned long gen;	/* of the pattern last written */
	int kind, state, cur;
};

static struct region regions[NR_REGIONS];
static char *area[2];
static char violation[256];	/* sticky: the first thing that went wrong */

#include "region-check.h"

static int check_unmapped(struct region *r, char *addr, unsigned long from, unsigned long to)
{
	unsigned char vec;
	unsigned long pg;

	for (pg = from; pg < to; pg++)
		if (!mincore(addr + pg * P, P, &vec) || errno != ENOMEM) {
			record(r, "page %lu at %p is mapped, expected a hole", pg,
			       (void *)(addr + pg * P));
			return 0;
		}
	return 1;
}

static int check_region(struct region *r)
{
	unsigned long n = r->npages, lo = r->lower;

	switch (r->kind) {
	case MUNMAP:
		if (r->state == 0)
			return check_full(r, 0, n);
		if (r->state == 1)
			return check_full(r, 0, lo) && check_unmapped(r, r->addr, lo, n);
		return check_unmapped(r, r->addr, 0, n);
	case DONTNEED:
	case MAPFIXED:
		if (r->state == 0)
			return check_full(r, 0, n);
		if (r->state == 1)
			return check_full(r, 0, lo) && check_zero(r, lo, n);
		return check_zero(r, 0, n);
	default:
		return check_full(r, 0, n) && check_unmapped(r, r->slot[!r->cur], 0, n);
	}
}

static int map_fixed(struct region *r, char *addr, unsigned long pages, int flags)
{
	void *p = mmap(addr, pages * P, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);

	if (p != addr)
		record(r, "mmap(%p, %lu pages): %s", (void *)addr, pages,
		       p == MAP_FAILED ? strerror(errno) : "moved");
	return p == addr;
}

static int unmap(struct region *r, char *addr, unsigned long pages)
{
	if (pages && munmap(addr, pages * P)) {
		record(r, "munmap(%p, %lu pages): %m", (void *)addr, pages);
		return 0;
	}
	return 1;
}

static int discard(struct region *r, char *addr, unsigned long pages)
{
	if (pages && madvise(addr, pages * P, MADV_DONTNEED)) {
		record(r, "madvise(%p, %lu pages, MADV_DONTNEED): %m", (void *)addr, pages);
		return 0;
	}
	return 1;
}

static int step_mremap(struct region *r)
{
	char *to = r->slot[!r->cur];
	void *p;

	if (r->state == 1) {
		refill(r);
		r->state = 0;
		return 1;
	}
	p = mremap(r->addr, r->npages * P, r->npages * P, MREMAP_MAYMOVE | MREMAP_FIXED, to);
	if (p != to) {
		record(r, "mremap(%p -> %p, %lu pages): %s", (void *)r->addr, (void *)to,
		       r->npages, p == MAP_FAILED ? strerror(errno) : "moved elsewhere");
		return 0;
	}
	r->cur = !r->cur;
	r->addr = to;
	r->state = 1;
	return 1;
}

/* Take @r to its next state. */
static int step(struct region *r)
{
	unsigned long n = r->npages, lo = r->lower;
	int ok = 1;

	if (r->kind == MREMAP)
		return step_mremap(r);
	if (r->state == 2) {
		if (r->kind == MUNMAP)
			ok = map_fixed(r, r->addr, n, MAP_FIXED_NOREPLACE);
		if (ok)
			refill(r);
		r->state = 0;
		return ok;
	}
	if (r->state == 0) {
		if (r->kind == MUNMAP)
			ok = unmap(r, r->addr + lo * P, n - lo);
		else if (r->kind == DONTNEED)
			ok = discard(r, r->addr + lo * P, n - lo);
		else
			ok = map_fixed(r, r->addr + lo * P, n - lo, MAP_FIXED);
	} else {
		if (r->kind == MUNMAP)
			ok = unmap(r, r->addr, lo);
		else if (r->kind == DONTNEED)
			ok = discard(r, r->addr, lo);
		else
			ok = map_fixed(r, r->addr, n, MAP_FIXED);
	}
	r->state++;
	return ok;
}

static char *map_area(int seed)
{
	char *p = mmap(NULL, AREA, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		fail("mmap %lu MiB: %m", AREA >> 20);
	madvise(p, AREA, MADV_POPULATE_WRITE);	/* only faster, not needed */
	datagen(p, AREA, AREA_SEED + seed);
	return p;
}

static void setup(int kind)
{
	int i;

	/* mmap() goes top-down: the regions end up between the two areas. */
	area[0] = map_area(0);
	for (i = 0; i < NR_REGIONS; i++) {
		struct region *r = &regions[i];
		unsigned long len;

		r->kind = kind < 0 ? i % NR_KINDS : kind;
		r->npages = 1 + (i * 37) % MAX_PAGES;
		r->lower = r->npages / 2;
		len = r->npages * P;
		/* Twice the size: the second half is the other mremap slot. */
		r->addr = mmap(NULL, 2 * len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (r->addr == MAP_FAILED)
			fail("mmap region %d: %m", i);
		r->slot[0] = r->addr;
		r->slot[1] = r->addr + len;
		refill(r);
	}
	area[1] = map_area(1);
	/*
	 * Free the mremap slots only now that nothing else is mapped. The other
	 * kinds keep an untouched second half, so that their regions merge with
	 * neighbours into larger mappings that the loop splits.
	 */
	for (i = 0; i < NR_REGIONS; i++)
		if (regions[i].kind == MREMAP && munmap(regions[i].slot[1], regions[i].npages * P))
			fail("munmap: %m");
}

int main(int argc, char **argv)
{
	unsigned long steps = 0;
	int i, kind = -1;

	test_init(argc, argv);
	if (test_argc > 1) {
		for (kind = 0; kind < NR_KINDS; kind++)
			if (!strcmp(test_argv[1], kind_name[kind]))
				break;
		if (kind == NR_KINDS)
			fail("unknown kind '%s': munmap, dontneed, mapfixed or mremap",
			     test_argv[1]);
	}
	setup(kind);

	test_daemon();
	test_ready();
	for (i = 0; !test_sigterm; i = (i + 1) % NR_REGIONS, steps++)
		if (!check_region(&regions[i]) || !step(&regions[i]))
			break;
	test_waitsig();

	if (violation[0])
		fail("%s", violation);
	for (i = 0; i < NR_REGIONS; i++)
		if (!check_region(&regions[i]))
			fail("at the end: %s", violation);
	for (i = 0; i < 2; i++) {
		ssize_t off = datachk(area[i], AREA, AREA_SEED + i);

		if (off >= 0)
			fail("area %d differs at offset %zd", i, off);
	}
	test_msg("%lu steps, %lu rounds\n", steps, steps / NR_REGIONS);
	pass();
	return 0;
}
