/* An anonymous mapping split by mprotect() into six VMAs keeps bounds, prot, contents. */
#include <string.h>
#include <sys/mman.h>

#include "zdtmtst.h"

#define NPAGES 16

struct piece {
	int first, last;	/* pages, inclusive */
	int prot;
	const char *perms;
};

static const struct piece pieces[] = {
	{ 0, 3, PROT_READ | PROT_WRITE, "rw-p" },
	{ 4, 5, PROT_READ, "r--p" },
	{ 6, 9, PROT_NONE, "---p" },
	{ 10, 11, PROT_READ | PROT_WRITE, "rw-p" },
	{ 12, 13, PROT_READ | PROT_EXEC, "r-xp" },
	{ 14, 15, PROT_READ | PROT_WRITE, "rw-p" },
};

int main(int argc, char **argv)
{
	struct test_vma vma;
	size_t i;
	char *area;
	int pg;

	test_init(argc, argv);
	area = mmap(NULL, NPAGES * PAGE_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		fail("mmap: %m");
	for (pg = 0; pg < NPAGES; pg++)
		datagen(area + pg * PAGE_SIZE, PAGE_SIZE, 0x900 + pg);
	for (i = 0; i < ARRAY_SIZE(pieces); i++)
		if (mprotect(area + pieces[i].first * PAGE_SIZE,
			     (pieces[i].last - pieces[i].first + 1) * PAGE_SIZE, pieces[i].prot))
			fail("mprotect: %m");

	test_daemon();
	test_waitsig();

	for (i = 0; i < ARRAY_SIZE(pieces); i++) {
		unsigned long start = (unsigned long)area + pieces[i].first * PAGE_SIZE;
		unsigned long end = (unsigned long)area + (pieces[i].last + 1) * PAGE_SIZE;
		int can_read = pieces[i].prot & PROT_READ, can_write = pieces[i].prot & PROT_WRITE;

		if (test_vma_at(start, &vma))
			fail("piece %zu at %#lx is not mapped", i, start);
		if (strcmp(vma.perms, pieces[i].perms))
			fail("piece %zu is %s, expected %s", i, vma.perms, pieces[i].perms);
		/* Neighbours outside the area may merge with the end pieces. */
		if ((i > 0 && vma.start != start) ||
		    (i < ARRAY_SIZE(pieces) - 1 && vma.end != end))
			fail("piece %zu is %#lx-%#lx, expected %#lx-%#lx", i, vma.start, vma.end,
			     start, end);
		if (test_faults((void *)start, 0) == can_read)
			fail("piece %zu: reading %s", i, can_read ? "faults" : "works");
		if (test_faults((void *)(end - 1), 1) == can_write)
			fail("piece %zu: writing %s", i, can_write ? "faults" : "works");
	}
	if (mprotect(area, NPAGES * PAGE_SIZE, PROT_READ))
		fail("mprotect: %m");
	for (pg = 0; pg < NPAGES; pg++)
		if (datachk(area + pg * PAGE_SIZE, PAGE_SIZE, 0x900 + pg) >= 0)
			fail("page %d differs", pg);
	pass();
	return 0;
}
