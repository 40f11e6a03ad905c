/*
 * The stop-the-world dump's one-copy path (snap/mem/page-splice.c): the
 * parasite vmsplices private anonymous pages into pipes, snap splices them
 * into the image at their indexes, and runs it may not splice are copied in
 * between. Laid out so that the bookkeeping shows:
 *  - 48 MiB with every fifth page left empty: ~9800 runs, more than one
 *    command's 4096 ranges and more than one set of pipes holds;
 *  - between its halves, runs the copy path takes (PROT_NONE, a written
 *    file-private page), so spliced and copied indexes alternate;
 *  - a read-only run, spliced too.
 * Every page must come back with its own bytes, the empty ones empty; the
 * .desc asks the dump's stats for at least the pages spliced here.
 */
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zdtmtst.h"

#define P PAGE_SIZE
#define NP 12288		/* 48 MiB, in two halves */
#define HOLE 5			/* every HOLE-th page stays empty */

static char *map(size_t len, int prot, int flags, int fd)
{
	char *p = mmap(NULL, len, prot, flags, fd, 0);

	if (p == MAP_FAILED)
		fail("mmap: %m");
	return p;
}

static void fill(char *p, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++)
		if (i % HOLE)
			datagen(p + i * P, P, seed + i);
}

static void check(const char *what, char *p, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++) {
		if (!(i % HOLE)) {
			if (zerochk(p + i * P, P) >= 0)
				fail("%s: page %zu should be empty", what, i);
			continue;
		}
		ssize_t off = datachk(p + i * P, P, seed + i);

		if (off >= 0)
			fail("%s: page %zu differs at byte %zd", what, i, off);
	}
}

int main(int argc, char **argv)
{
	char path[PATH_MAX], *a, *none, *fpriv, *b, *ro;
	int fd;

	test_init(argc, argv);
	/* One reservation, so that the pieces lie in address (and index) order. */
	a = map((NP + 8) * P, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	none = a + NP / 2 * P;
	fpriv = none + 2 * P;
	b = fpriv + 2 * P;
	ro = b + NP / 2 * P;
	test_path(path, sizeof(path), "data");
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, 2 * P))
		fail("%s: %m", path);
	if (mmap(a, NP / 2 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		 -1, 0) == MAP_FAILED ||
	    mmap(none, 2 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
		 0) == MAP_FAILED ||
	    mmap(fpriv, 2 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, 0) ==
		    MAP_FAILED ||
	    mmap(b, NP / 2 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		 -1, 0) == MAP_FAILED ||
	    mmap(ro, 2 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
		 0) == MAP_FAILED)
		fail("mmap fixed: %m");
	fill(a, NP / 2, 1000);
	datagen(none, 2 * P, 2);
	datagen(fpriv, P, 3);
	fill(b, NP / 2, 50000);
	datagen(ro, 2 * P, 4);
	if (mprotect(none, 2 * P, PROT_NONE) || mprotect(ro, 2 * P, PROT_READ))
		fail("mprotect: %m");

	test_daemon();
	test_waitsig();

	check("first half", a, NP / 2, 1000);
	check("second half", b, NP / 2, 50000);
	CHECK_DATA(ro, 2 * P, 4);
	CHECK_DATA(fpriv, P, 3);
	if (zerochk(fpriv + P, P) >= 0)
		fail("the unwritten file page is not the file's (zeros)");
	if (mprotect(none, 2 * P, PROT_READ))
		fail("mprotect: %m");
	CHECK_DATA(none, 2 * P, 2);
	pass();
	return 0;
}
