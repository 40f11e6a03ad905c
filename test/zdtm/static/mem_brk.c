/* A heap grown with sbrk() keeps its program break and contents, and can still grow and shrink. */
#include <stdint.h>
#include <unistd.h>

#include "zdtmtst.h"

#define GROW (64 * PAGE_SIZE + 123)

int main(int argc, char **argv)
{
	struct test_vma vma;
	char *start, *end, *p;

	test_init(argc, argv);
	/* No malloc from here on: it would move the break too. */
	start = sbrk(GROW);
	if (start == (void *)-1)
		fail("sbrk: %m");
	end = sbrk(0);
	datagen(start, GROW, 0xb4b4);

	test_daemon();
	test_waitsig();

	p = sbrk(0);
	if (p != end)
		fail("the break is %p, expected %p", (void *)p, (void *)end);
	if (test_vma_at((unsigned long)start, &vma) || vma.end < (unsigned long)end - 1)
		fail("%p..%p is not mapped", (void *)start, (void *)end);
	if (vma.name[0] && vma.name[0] != '[')
		fail("the brk area is mapped from %s", vma.name);
	CHECK_DATA(start, GROW, 0xb4b4);

	/* The kernel's idea of the break is the restored one: it grows from there. */
	p = sbrk(16 * PAGE_SIZE);
	if (p != end)
		fail("sbrk grew from %p, expected %p", (void *)p, (void *)end);
	datagen(p, 16 * PAGE_SIZE, 7);
	CHECK_DATA(p, 16 * PAGE_SIZE, 7);
	if (sbrk(-(intptr_t)(16 * PAGE_SIZE)) == (void *)-1 || sbrk(0) != end)
		fail("cannot shrink the heap back");
	CHECK_DATA(start, GROW, 0xb4b4);
	pass();
	return 0;
}
