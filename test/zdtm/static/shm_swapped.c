/*
 * Shared memory partly in swap: the pages are saved (SEEK_DATA counts them,
 * page tables do not), and a dump that leaves the task running (-R) pushes
 * the ones its read brought back out again.
 *
 * A shared anonymous mapping and a memfd of 8 MiB each; the second half of
 * each goes out with MADV_PAGEOUT after the fork of test_daemon() (a page
 * two processes map is not paged out), and mincore() must then show it out
 * of memory. After SIGTERM the original task (its start time tells) checks
 * that those pages are still out; every task checks every byte.
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zdtmtst.h"

#define P PAGE_SIZE
#define NP 2048
#define HALF (NP / 2)
#define PAGEOUT_TRIES 20
/*
 * MADV_PAGEOUT cannot free a page a CPU's LRU batch still holds, nor one
 * under writeback when memory is short: the tries are spaced out for those.
 */
#define TOLERANCE (HALF / 100)

/* Pages of the second half of @p that are resident. */
static size_t resident(char *p)
{
	unsigned char vec[HALF];
	size_t i, r = 0;

	if (mincore(p + HALF * P, HALF * P, vec))
		fail("mincore: %m");
	for (i = 0; i < HALF; i++)
		r += vec[i] & 1;
	return r;
}

static void page_out(char *p, const char *what)
{
	size_t left = HALF;
	int i;

	for (i = 0; i < PAGEOUT_TRIES && left > TOLERANCE; i++) {
		if (madvise(p + HALF * P, HALF * P, MADV_PAGEOUT))
			fail("MADV_PAGEOUT: %m");
		left = resident(p);
		if (left > TOLERANCE)
			usleep(20000);
	}
	if (left > TOLERANCE)
		fail("%s: %zu of %d pages stayed resident after MADV_PAGEOUT", what, left, HALF);
}

static char *object(int memfd)
{
	int fd = -1;
	char *p;

	if (memfd) {
		fd = memfd_create("snap-swapped", 0);
		if (fd < 0 || ftruncate(fd, NP * P))
			fail("memfd: %m");
	}
	p = mmap(NULL, NP * P, PROT_READ | PROT_WRITE, MAP_SHARED | (memfd ? 0 : MAP_ANONYMOUS),
		 fd, 0);
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
	test_daemon();
	anon = object(0);
	mfd = object(1);
	datagen(anon, NP * P, 1);
	datagen(mfd, NP * P, 2);
	page_out(anon, "shared anonymous");
	page_out(mfd, "memfd");
	test_waitsig();

	if (!test_restored()) {
		/* The original after a -R dump, before reading anything. */
		size_t a = resident(anon), m = resident(mfd);

		test_msg("after the dump: %zu and %zu of %d pages resident", a, m, HALF);
		if (a > TOLERANCE || m > TOLERANCE)
			fail("%zu and %zu of the %d pages in swap before the dump are in memory "
			     "after it",
			     a, m, HALF);
	}
	CHECK_DATA(anon, NP * P, 1);
	CHECK_DATA(mfd, NP * P, 2);
	pass();
	return 0;
}
