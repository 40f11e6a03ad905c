/*
 * Shared anonymous memory comes back as one object: two mappings of it (the
 * second made by mremap(old_size = 0)), a read-only third, data and holes.
 * After restore a write through one mapping shows in the others.
 */
#include <string.h>
#include <sys/mman.h>

#include "zdtmtst.h"

#define P PAGE_SIZE
#define NP 64

static void check_name(char *p)
{
	struct test_vma vma;

	if (test_vma_at((unsigned long)p, &vma))
		fail("no mapping at %p", (void *)p);
	if (strcmp(vma.name, "/dev/zero (deleted)") || vma.perms[3] != 's')
		fail("mapping at %p is %s %s, expected shared /dev/zero (deleted)", (void *)p,
		     vma.perms, vma.name);
}

int main(int argc, char **argv)
{
	char *a, *alias, *ro;

	test_init(argc, argv);
	a = mmap(NULL, NP * P, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED)
		fail("mmap: %m");
	datagen(a, 16 * P, 1);
	datagen(a + 48 * P, 16 * P, 2);
	/* Pages 16..47 are never touched: a hole of the object. */
	alias = mremap(a, 0, NP * P, MREMAP_MAYMOVE);
	ro = mremap(a, 0, NP * P, MREMAP_MAYMOVE);
	if (alias == MAP_FAILED || ro == MAP_FAILED || mprotect(ro, NP * P, PROT_READ))
		fail("aliasing the mapping: %m");

	test_daemon();
	test_waitsig();

	check_name(a);
	check_name(alias);
	check_name(ro);
	CHECK_DATA(a, 16 * P, 1);
	CHECK_DATA(alias, 16 * P, 1);
	CHECK_DATA(ro + 48 * P, 16 * P, 2);
	CHECK(zerochk(a + 16 * P, 32 * P) < 0);
	CHECK(test_faults(ro, 1));
	/* One object: a write anywhere is seen everywhere. */
	a[20 * P] = 0x5a;
	alias[3 * P] = 0x33;
	CHECK_EQ(alias[20 * P], 0x5a);
	CHECK_EQ(ro[20 * P], 0x5a);
	CHECK_EQ(a[3 * P], 0x33);
	pass();
	return 0;
}
