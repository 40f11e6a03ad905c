/* Regions grown, moved (MREMAP_FIXED) and shrunk by mremap() keep their contents. */
#include <sys/mman.h>

#include "zdtmtst.h"

#define P PAGE_SIZE

static char *map(size_t len, int prot)
{
	char *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		fail("mmap: %m");
	return p;
}

int main(int argc, char **argv)
{
	char *grown, *moved, *old, *target, *shrunk;
	struct test_vma vma;

	test_init(argc, argv);

	/* 4 pages grown to 64. */
	grown = map(4 * P, PROT_READ | PROT_WRITE);
	datagen(grown, 4 * P, 1);
	grown = mremap(grown, 4 * P, 64 * P, MREMAP_MAYMOVE);
	if (grown == MAP_FAILED)
		fail("mremap grow: %m");
	datagen(grown + 4 * P, 60 * P, 2);

	/* 8 pages moved into a reserved hole. */
	old = map(8 * P, PROT_READ | PROT_WRITE);
	datagen(old, 8 * P, 3);
	target = map(10 * P, PROT_NONE);
	moved = mremap(old, 8 * P, 8 * P, MREMAP_MAYMOVE | MREMAP_FIXED, target + P);
	if (moved != target + P)
		fail("mremap fixed: %m");

	/* 16 pages shrunk to 6. */
	shrunk = map(16 * P, PROT_READ | PROT_WRITE);
	datagen(shrunk, 16 * P, 4);
	if (mremap(shrunk, 16 * P, 6 * P, 0) != shrunk)
		fail("mremap shrink: %m");

	test_daemon();
	test_waitsig();

	CHECK_DATA(grown, 4 * P, 1);
	CHECK_DATA(grown + 4 * P, 60 * P, 2);
	if (test_vma_at((unsigned long)grown, &vma) || vma.end < (unsigned long)grown + 64 * P)
		fail("the grown region is not one mapping");

	CHECK_DATA(moved, 8 * P, 3);
	if (test_vma_at((unsigned long)moved, &vma) || vma.start != (unsigned long)moved ||
	    vma.end != (unsigned long)moved + 8 * P || vma.perms[0] != 'r')
		fail("the moved region is %#lx-%#lx %s, expected %p-%p", vma.start, vma.end,
		     vma.perms, (void *)moved, (void *)(moved + 8 * P));
	if (test_vma_at((unsigned long)target, &vma) || vma.perms[0] != '-')
		fail("the reservation before the moved region is gone");

	CHECK_DATA(shrunk, 6 * P, 4);

	/* mremap() still works on the restored mappings. */
	grown = mremap(grown, 64 * P, 128 * P, MREMAP_MAYMOVE);
	if (grown == MAP_FAILED)
		fail("mremap after restore: %m");
	CHECK_DATA(grown, 4 * P, 1);
	CHECK_DATA(grown + 4 * P, 60 * P, 2);
	pass();
	return 0;
}
