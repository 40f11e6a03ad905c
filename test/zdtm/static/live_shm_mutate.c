/* Live dump while pages of shared memory are punched out or discarded in a loop. */
/*
 * One MAP_SHARED|MAP_ANONYMOUS object: a 64 MiB patterned area first, then
 * regions of 1..16 pages, so that right after the freeze the regions are not
 * streamed yet. Until SIGTERM a loop goes round them: it checks that a region
 * holds what its kind, state and generation say, then takes it on:
 *
 *   remove    full -> upper half MADV_REMOVE (zero) -> all zero -> refilled
 *   dontneed  full -> all MADV_DONTNEED (shared: still full) -> refilled
 *
 * Refilling writes the next generation's pattern. A write to a page the
 * process punched out reaches a new page, not the frozen one: the dump must
 * save the frozen one, from where it held it. A region that does not hold
 * what it should is recorded and reported at SIGTERM, when every region and
 * the area are checked once more.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "zdtmtst.h"

#define P		PAGE_SIZE
#define WORDS		(P / sizeof(uint64_t))
#define NR_REGIONS	128
#define MAX_PAGES	16
#define AREA		(64UL << 20)
#define AREA_SEED	0x5ba7eUL

enum kind { REMOVE, DONTNEED, NR_KINDS };

static const char *const kind_name[NR_KINDS] = { "remove", "dontneed" };

struct region {
	char *addr;
	unsigned long npages, lower;
	unsigned long gen;	/* of the pattern last written */
	int kind, state;
};

static struct region regions[NR_REGIONS];
static char *area;
static char violation[256];	/* sticky: the first thing that went wrong */

#include "region-check.h"

static int check_region(struct region *r)
{
	if (r->kind == DONTNEED || r->state == 0)
		return check_full(r, 0, r->npages);
	if (r->state == 1)
		return check_full(r, 0, r->lower) && check_zero(r, r->lower, r->npages);
	return check_zero(r, 0, r->npages);
}

static int advise(struct region *r, unsigned long from, unsigned long to, int advice)
{
	if (to > from && madvise(r->addr + from * P, (to - from) * P, advice)) {
		record(r, "madvise(%lu..%lu, %d): %m", from, to, advice);
		return 0;
	}
	return 1;
}

/* Take @r to its next state. */
static int step(struct region *r)
{
	int last = r->kind == REMOVE ? 2 : 1, ok = 1;

	if (r->state == last) {
		refill(r);
		r->state = 0;
		return 1;
	}
	if (r->kind == DONTNEED)
		ok = advise(r, 0, r->npages, MADV_DONTNEED);
	else if (r->state == 0)
		ok = advise(r, r->lower, r->npages, MADV_REMOVE);
	else
		ok = advise(r, 0, r->lower, MADV_REMOVE);
	r->state++;
	return ok;
}

static void setup(void)
{
	unsigned long off = AREA;

	area = mmap(NULL, AREA + NR_REGIONS * MAX_PAGES * P, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		fail("mmap: %m");
	datagen(area, AREA, AREA_SEED);
	for (int i = 0; i < NR_REGIONS; i++) {
		struct region *r = &regions[i];

		r->kind = i % NR_KINDS;
		r->npages = 1 + (i * 7) % MAX_PAGES;
		r->lower = r->npages / 2;
		r->addr = area + off;
		off += MAX_PAGES * P;
		refill(r);
	}
}

int main(int argc, char **argv)
{
	unsigned long steps = 0;
	int i;

	test_init(argc, argv);
	setup();
	test_daemon();
	test_ready();
	while (!test_sigterm) {
		for (i = 0; i < NR_REGIONS && !test_sigterm; i++) {
			struct region *r = &regions[i];

			if (!violation[0] && check_region(r) && !step(r))
				break;
			steps++;
		}
	}
	test_waitsig();
	if (violation[0])
		fail("%s", violation);
	for (i = 0; i < NR_REGIONS; i++)
		if (!check_region(&regions[i]))
			fail("%s", violation);
	if (datachk(area, AREA, AREA_SEED) >= 0)
		fail("the area lost its pattern");
	test_msg("%lu steps\n", steps);
	pass();
	return 0;
}
