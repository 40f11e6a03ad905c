/*
 * Transparent huge pages: a MADV_HUGEPAGE mapping of two whole 2 MiB PMDs
 * (and a small page before and after them) backed by THPs comes back with its data,
 * VmFlags "hg", and at least as many AnonHugePages as it had: the restore
 * makes it huge at once (checked only after a restore: see below). A
 * MADV_NOHUGEPAGE mapping of one whole PMD must
 * come back with "nh" and no huge page. A MADV_HUGEPAGE mapping whose PMD
 * is only half populated (with small pages, before the advice) keeps its
 * data and "hg".
 */
#include <sys/mman.h>

#include "zdtmtst.h"

#define P PAGE_SIZE
#define PMD (2UL << 20)

/* A mapping of [a - @head, a + @len) for a PMD-aligned a; returns a - @head. */
static char *map_aligned(size_t head, size_t len)
{
	char *p = mmap(NULL, head + len + PMD, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *a;

	if (p == MAP_FAILED)
		fail("mmap: %m");
	a = (char *)(((unsigned long)p + head + PMD - 1) & ~(PMD - 1)) - head;
	if ((a > p && munmap(p, a - p)) || munmap(a + head + len, p + PMD - a))
		fail("munmap: %m");
	return a;
}

static void advise(char *p, size_t len, int advice)
{
	if (madvise(p, len, advice))
		fail("madvise(%d): %m", advice);
}

static long huge_kb(char *p)
{
	return test_smaps_kb((unsigned long)p, "AnonHugePages");
}

int main(int argc, char **argv)
{
	/* The page before the PMDs makes the one run of pages start unaligned. */
	size_t huge_len = P + 2 * PMD + P, half_len = PMD / 2;
	char *huge, *nohuge, *half;
	long huge_before;

	test_init(argc, argv);
	huge = map_aligned(P, huge_len - P);
	advise(huge, huge_len, MADV_HUGEPAGE);
	datagen(huge, huge_len, 1);
	huge_before = huge_kb(huge);
	if (huge_before == 0)
		skip("no transparent huge pages for a MADV_HUGEPAGE mapping (THP disabled, or "
		     "none free)");

	nohuge = map_aligned(0, PMD);
	advise(nohuge, PMD, MADV_NOHUGEPAGE);
	datagen(nohuge, PMD, 2);

	half = map_aligned(0, PMD);
	datagen(half, half_len, 3);
	advise(half, PMD, MADV_HUGEPAGE);

	test_daemon();
	test_waitsig();

	CHECK_DATA(huge, huge_len, 1);
	CHECK_DATA(nohuge, PMD, 2);
	CHECK_DATA(half, half_len, 3);
	if (zerochk(half + half_len, PMD - half_len) >= 0)
		fail("the unpopulated half of a PMD is not zero");
	if (!test_vmflag((unsigned long)huge, "hg") || !test_vmflag((unsigned long)half, "hg"))
		fail("a MADV_HUGEPAGE mapping lost VmFlags hg");
	if (!test_vmflag((unsigned long)nohuge, "nh"))
		fail("the MADV_NOHUGEPAGE mapping lost VmFlags nh");
	/*
	 * Only a restored process is sure to have them: a live dump of the
	 * original write-protects and unprotects its pages in pieces smaller
	 * than a PMD, which splits the PMD mappings of its huge pages.
	 */
	if (test_restored() && huge_kb(huge) < huge_before)
		fail("the MADV_HUGEPAGE mapping has %ld kB AnonHugePages, it had %ld kB",
		     huge_kb(huge), huge_before);
	if (huge_kb(nohuge))
		fail("the MADV_NOHUGEPAGE mapping has %ld kB AnonHugePages", huge_kb(nohuge));
	pass();
	return 0;
}
