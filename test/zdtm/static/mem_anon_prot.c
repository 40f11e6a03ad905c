/* Anonymous RW, read-only, PROT_NONE, guard-page and RX mappings keep contents and prot. */
#include <string.h>
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

static void expect_perms(const char *what, void *addr, const char *perms)
{
	struct test_vma vma;

	if (test_vma_at((unsigned long)addr, &vma))
		fail("%s at %p is not mapped", what, addr);
	if (strcmp(vma.perms, perms))
		fail("%s at %p is %s, expected %s", what, addr, vma.perms, perms);
}

static void expect_access(const char *what, void *addr, int read_ok, int write_ok)
{
	if (test_faults(addr, 0) == read_ok)
		fail("%s: reading %s", what, read_ok ? "faults" : "works");
	if (test_faults(addr, 1) == write_ok)
		fail("%s: writing %s", what, write_ok ? "faults" : "works");
}

int main(int argc, char **argv)
{
	static const unsigned char code[] = { 0xb8, 0x2a, 0, 0, 0, 0xc3 };	/* mov $42,%eax; ret */
	char *rw, *ro, *none, *guarded, *rx;
	struct test_vma vma;
	int (*fn)(void);

	test_init(argc, argv);
	rw = map(8 * P, PROT_READ | PROT_WRITE);
	datagen(rw, 8 * P, 1);

	ro = map(4 * P, PROT_READ | PROT_WRITE);
	datagen(ro, 4 * P, 2);
	if (mprotect(ro, 4 * P, PROT_READ))
		fail("mprotect: %m");

	none = map(4 * P, PROT_READ | PROT_WRITE);
	datagen(none, 4 * P, 3);
	if (mprotect(none, 4 * P, PROT_NONE))
		fail("mprotect: %m");

	/* [RW][guard][RW], the guard a PROT_NONE page left in a PROT_NONE reservation. */
	guarded = map(3 * P, PROT_NONE);
	if (mmap(guarded, P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
		 0) == MAP_FAILED ||
	    mmap(guarded + 2 * P, P, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
		fail("mmap fixed: %m");
	datagen(guarded, P, 4);
	datagen(guarded + 2 * P, P, 5);

	rx = map(P, PROT_READ | PROT_WRITE);
	memcpy(rx, code, sizeof(code));
	if (mprotect(rx, P, PROT_READ | PROT_EXEC))
		fail("mprotect: %m");

	test_daemon();
	test_waitsig();

	expect_perms("rw", rw, "rw-p");
	expect_perms("read-only", ro, "r--p");
	expect_perms("PROT_NONE", none, "---p");
	expect_perms("before the guard", guarded, "rw-p");
	expect_perms("guard", guarded + P, "---p");
	expect_perms("after the guard", guarded + 2 * P, "rw-p");
	expect_perms("code", rx, "r-xp");
	if (test_vma_at((unsigned long)guarded + P, &vma) ||
	    vma.start != (unsigned long)guarded + P || vma.end != (unsigned long)guarded + 2 * P)
		fail("the guard is %#lx-%#lx, expected %p-%p", vma.start, vma.end,
		     (void *)(guarded + P), (void *)(guarded + 2 * P));

	expect_access("rw", rw + 5 * P, 1, 1);
	expect_access("read-only", ro + P, 1, 0);
	expect_access("PROT_NONE", none + 2 * P, 0, 0);
	expect_access("guard", guarded + P + 100, 0, 0);

	CHECK_DATA(rw, 8 * P, 1);
	CHECK_DATA(ro, 4 * P, 2);
	CHECK_DATA(guarded, P, 4);
	CHECK_DATA(guarded + 2 * P, P, 5);
	if (mprotect(none, 4 * P, PROT_READ))
		fail("mprotect: %m");
	CHECK_DATA(none, 4 * P, 3);
	if (memcmp(rx, code, sizeof(code)) || zerochk(rx + sizeof(code), P - sizeof(code)) >= 0)
		fail("the code page differs");
	fn = (int (*)(void))rx;
	CHECK_EQ(fn(), 42);
	pass();
	return 0;
}
