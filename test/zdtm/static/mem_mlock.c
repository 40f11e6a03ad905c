/*
 * mlock() and mlock2(MLOCK_ONFAULT) survive with the contents: VmFlags "lo"
 * (plus "lf" for MLOCK_ONFAULT, and only then), the Locked: figure of
 * smaps, and which pages are present. An mlock()ed mapping has every page
 * (half of them never written), an MLOCK_ONFAULT one only those touched,
 * and a page touched after the restore is locked as it faults in. Also a
 * locked read-only mapping, and one unlocked again with munlock().
 */
#include <sys/mman.h>

#include "zdtmtst.h"

#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif

#define P PAGE_SIZE
#define NPAGES 16

struct region {
	const char *name;
	char *addr;
	uint64_t seed;
	int written;		/* pages 0..written-1 hold data */
	int lock;		/* 0, 1 mlock(), 2 MLOCK_ONFAULT */
	long rss_kb;		/* Rss: and, if locked, Locked: */
};

enum { LOCKED, ONFAULT, READONLY, UNLOCKED, NR };

static struct region r[NR] = {
	[LOCKED] = { "mlock()ed", NULL, 1, NPAGES / 2, 1, NPAGES * 4 },
	[ONFAULT] = { "MLOCK_ONFAULT", NULL, 2, 4, 2, 4 * 4 },
	[READONLY] = { "read-only mlock()ed", NULL, 3, NPAGES, 1, NPAGES * 4 },
	[UNLOCKED] = { "munlock()ed", NULL, 4, NPAGES, 0, NPAGES * 4 },
};

/* Each region between PROT_NONE pages: no merging, one smaps entry each. */
static void setup(void)
{
	char *area = mmap(NULL, (NR * (NPAGES + 1) + 1) * P, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int i;

	if (area == MAP_FAILED)
		fail("mmap: %m");
	for (i = 0; i < NR; i++) {
		r[i].addr = area + (1 + i * (NPAGES + 1)) * P;
		if (mprotect(r[i].addr, NPAGES * P, PROT_READ | PROT_WRITE))
			fail("mprotect: %m");
		datagen(r[i].addr, r[i].written * P, r[i].seed);
	}
	if (mlock(r[LOCKED].addr, NPAGES * P) || mlock(r[UNLOCKED].addr, NPAGES * P) ||
	    munlock(r[UNLOCKED].addr, NPAGES * P))
		fail("mlock: %m");
	if (mlock2(r[ONFAULT].addr, NPAGES * P, MLOCK_ONFAULT))
		fail("mlock2(MLOCK_ONFAULT): %m");
	if (mprotect(r[READONLY].addr, NPAGES * P, PROT_READ) ||
	    mlock(r[READONLY].addr, NPAGES * P))
		fail("mprotect+mlock: %m");
}

static void check(const struct region *g)
{
	unsigned long a = (unsigned long)g->addr;
	long rss = test_smaps_kb(a, "Rss"), locked = test_smaps_kb(a, "Locked");

	if (test_vmflag(a, "lo") != !!g->lock || test_vmflag(a, "lf") != (g->lock == 2))
		fail("%s mapping: VmFlags lo %d lf %d", g->name, test_vmflag(a, "lo"),
		     test_vmflag(a, "lf"));
	if (rss != g->rss_kb || locked != (g->lock ? g->rss_kb : 0))
		fail("%s mapping: Rss %ld kB, Locked %ld kB, expected %ld and %ld", g->name, rss,
		     locked, g->rss_kb, g->lock ? g->rss_kb : 0);
	if (datachk(g->addr, g->written * P, g->seed) >= 0)
		fail("%s mapping: the data differs", g->name);
	/*
	 * Reading the ONFAULT pages never written would fault them in (a
	 * locked page where the kernel has no zero page): they must be absent,
	 * which reads as zero.
	 */
	if (g->lock == 2 ? !test_untouched(g->addr + g->written * P, (NPAGES - g->written) * P) :
			   zerochk(g->addr + g->written * P, (NPAGES - g->written) * P) >= 0)
		fail("%s mapping: the pages never written are not zero", g->name);
}

int main(int argc, char **argv)
{
	int i;

	test_init(argc, argv);
	/* After the fork of test_daemon(): a child does not inherit memory locks. */
	test_daemon();
	setup();
	/* The ONFAULT region has just its 4 written pages; the others have them all. */
	for (i = 0; i < NR; i++)
		check(&r[i]);
	test_waitsig();

	for (i = 0; i < NR; i++)
		check(&r[i]);
	r[ONFAULT].addr[10 * P] = 1;
	if (test_smaps_kb((unsigned long)r[ONFAULT].addr, "Locked") <= 4 * 4)
		fail("a page written after restore is not locked in the MLOCK_ONFAULT mapping");
	pass();
	return 0;
}
