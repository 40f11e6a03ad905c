/* 64 MiB only ever read (the shared zero page) reads as zero and stays out of the image. */
#include <sys/mman.h>

#include "zdtmtst.h"

#define SIZE (64UL << 20)

int main(int argc, char **argv)
{
	volatile unsigned char *area;
	unsigned long sum = 0;
	size_t i;

	test_init(argc, argv);
	if (!test_zero_page())
		skip("this kernel maps no shared zero page on read faults (pvm_no_zero_page?)");
	area = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		fail("mmap: %m");
	/* Read faults map the zero page: present, but nothing to save. */
	for (i = 0; i < SIZE; i += PAGE_SIZE)
		sum += area[i];
	if (sum)
		fail("fresh memory is not zero");

	test_daemon();
	test_waitsig();

	if (zerochk((const void *)area, SIZE) >= 0)
		fail("zero-page memory is not zero after restore");
	/* Still writable, and private. */
	area[SIZE / 2] = 1;
	if (area[SIZE / 2] != 1 || area[SIZE / 2 + PAGE_SIZE])
		fail("zero-page memory does not take writes");
	pass();
	return 0;
}
