/*
 * Shared memory pages that are in swap at dump time are saved (SEEK_DATA
 * counts them, page tables do not), and the dump pushes them out again:
 * after a --leave-running dump they are still not resident. Needs swap.
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zdtmtst.h"

#define P PAGE_SIZE
#define NP 2048 /* 8 MiB per object */

/* Pages of [p, p + n pages) that are resident. */
static size_t resident(char *p, size_t n)
{
	unsigned char vec[NP];
	size_t i, r = 0;

	if (mincore(p, n * P, vec))
		fail("mincore: %m");
	for (i = 0; i < n; i++)
		r += vec[i] & 1;
	return r;
}

/* Push the second half of @p out; all of it must go. */
static void page_out(char *p)
{
	size_t left;

	if (madvise(p + NP / 2 * P, NP / 2 * P, MADV_PAGEOUT))
		fail("MADV_PAGEOUT: %m");
	left = resident(p + NP / 2 * P, NP / 2);
	if (left)
		fail("%zu of %d pages stayed resident after MADV_PAGEOUT: no swap?", left, NP / 2);
}

static char *object(int memfd)
{
	char *p;
	int fd = -1;

	if (memfd) {
		fd = memfd_create("snap-swapped", 0);
		if (fd < 0 || ftruncate(fd, NP * P))
			fail("memfd: %m");
	}
	p = mmap(NULL, NP * P, PROT_READ | PROT_WRITE,
		 MAP_SHARED | (memfd ? 0 : MAP_ANONYMOUS), fd, 0);
	if (p == MAP_FAILED)
		fail("mmap: %m");
	if (fd >= 0)
		close(fd);
	return p;
}

int main(int argc, char **argv)
{
	char *anon, *mfd;

	test_init(argc, argv);
	anon = object(0);
	mfd = object(1);
	datagen(anon, NP * P, 1);
	datagen(mfd, NP * P, 2);
	test_daemon();
	/* After the fork: the child's own mapping is the only one. */
	page_out(anon);
	page_out(mfd);
	test_waitsig();

	/* The original after a live or -R dump: the pages are in swap again. */
	if (resident(anon + NP / 2 * P, NP / 2) > NP / 8 ||
	    resident(mfd + NP / 2 * P, NP / 2) > NP / 8)
		test_msg("pages resident after the dump: %zu and %zu of %d",
			 resident(anon + NP / 2 * P, NP / 2), resident(mfd + NP / 2 * P, NP / 2),
			 NP / 2);
	CHECK_DATA(anon, NP * P, 1);
	CHECK_DATA(mfd, NP * P, 2);
	pass();
	return 0;
}
