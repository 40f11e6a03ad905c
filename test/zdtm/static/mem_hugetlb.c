/*
 * Private hugetlb memory (MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, 2 MiB
 * pages) survives. A mapping of three huge pages, the first and the last
 * written and the middle one never touched, comes back with its data,
 * VmFlags "ht", KernelPageSize 2048 kB and just those two pages
 * (Private_Hugetlb 4096 kB); the middle one then reads as zeros. A
 * MAP_NORESERVE mapping with MADV_DONTFORK keeps "nr" and "dc" too.
 * run.py reserves the huge pages (nr_hugepages) and puts the value back.
 */
#include <errno.h>
#include <sys/mman.h>

#include "zdtmtst.h"

#define HPAGE (2UL << 20)
#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << MAP_HUGE_SHIFT)
#endif

static char *map_huge(size_t len, int flags)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB | flags, -1, 0);

	if (p == MAP_FAILED && errno == ENOMEM)
		skip("no free 2 MiB huge pages: reserve some in /proc/sys/vm/nr_hugepages "
		     "(run.py does)");
	if (p == MAP_FAILED)
		fail("mmap MAP_HUGETLB: %m");
	return p;
}

static void check_flags(const char *what, char *p, const char *flags)
{
	char flag[3] = "";

	for (; *flags; flags += 2 + !!flags[2]) {
		flag[0] = flags[0];
		flag[1] = flags[1];
		if (!test_vmflag((unsigned long)p, flag))
			fail("%s lacks VmFlags %s", what, flag);
	}
	if (test_smaps_kb((unsigned long)p, "KernelPageSize") != HPAGE >> 10)
		fail("%s has KernelPageSize %ld kB", what,
		     test_smaps_kb((unsigned long)p, "KernelPageSize"));
}

int main(int argc, char **argv)
{
	char *three, *noreserve;
	long kb;

	test_init(argc, argv);
	/*
	 * After the fork of test_daemon(): the process that maps private
	 * hugetlb memory owns its reservation, and DONTFORK acts on forks.
	 */
	test_daemon();
	three = map_huge(3 * HPAGE, 0);
	noreserve = map_huge(HPAGE, MAP_NORESERVE);
	datagen(three, HPAGE, 1);
	datagen(three + 2 * HPAGE, HPAGE, 2);
	datagen(noreserve, HPAGE, 3);
	if (madvise(noreserve, HPAGE, MADV_DONTFORK))
		fail("madvise: %m");
	test_waitsig();

	check_flags("the hugetlb mapping", three, "ht");
	check_flags("the MAP_NORESERVE hugetlb mapping", noreserve, "ht nr dc");
	kb = test_smaps_kb((unsigned long)three, "Private_Hugetlb");
	if (kb != 2 * (HPAGE >> 10))
		fail("the hugetlb mapping has %ld kB of huge pages, expected %lu", kb,
		     2 * (HPAGE >> 10));
	CHECK_DATA(three, HPAGE, 1);
	CHECK_DATA(three + 2 * HPAGE, HPAGE, 2);
	CHECK_DATA(noreserve, HPAGE, 3);
	if (zerochk(three + HPAGE, HPAGE) >= 0)
		fail("the huge page never touched is not zero");
	pass();
	return 0;
}
