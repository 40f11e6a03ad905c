/*
 * Memory events all through a lazy fill by several workers: a large
 * anonymous mapping, every page its own contents, in blocks of 1 MiB. As
 * soon as it is restored (in the lazy mode: while the lazy-pages server's
 * workers fill it), 48 rounds each move a block elsewhere (mremap, a moved
 * block may move again), discard one (MADV_DONTNEED: it must read zero, at
 * once and to the end), unmap one, or fork a child that checks every byte
 * of a block and of the last discarded one; between rounds, random pages
 * are read (faults among the prefetch). At SIGTERM, every byte of every
 * block left is checked wherever it is now. Argument: MiB.
 */
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define PG     4096UL
#define BLK    256 /* pages */
#define SEED   9100
#define ROUNDS 48

enum { KEPT, ZERO, GONE };

static struct blk {
	unsigned char *at;
	int state;
} *blk;
static size_t nblk, last_zero;

static void check_page(size_t b, size_t j)
{
	const unsigned char *p = blk[b].at + j * PG;

	if (blk[b].state == ZERO && zerochk(p, PG) != -1)
		fail("block %zu page %zu at %p, discarded, is not zero", b, j, (void *)p);
	if (blk[b].state == KEPT && datachk(p, PG, SEED + b * BLK + j) != -1)
		fail("block %zu page %zu at %p differs", b, j, (void *)p);
}

static void check_blk(size_t b)
{
	for (size_t j = 0; blk[b].state != GONE && j < BLK; j++)
		check_page(b, j);
}

static void fork_check(void)
{
	int status = -1;
	pid_t pid = fork();

	if (!pid) {
		/* Few pages: each is a fault the server answers, and the fill goes on. */
		check_blk(rand() % nblk);
		check_blk(last_zero);
		_exit(0);
	}
	/* status 0: exited 0 */
	if (pid < 0 || waitpid(pid, &status, 0) != pid || status)
		fail("a forked child (%d) failed its check (status %#x)", pid, status);
}

static void round_of(int r)
{
	size_t b = rand() % nblk;
	unsigned char *to;

	if (blk[b].state == GONE)
		return;
	switch (r % 4) {
	case 0:
		/* Somewhere else for sure: onto a reservation of our own. */
		to = mmap(NULL, BLK * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (to == MAP_FAILED)
			fail("mmap: %m");
		if (mremap(blk[b].at, BLK * PG, BLK * PG, MREMAP_MAYMOVE | MREMAP_FIXED, to) != to)
			fail("mremap block %zu: %m", b);
		blk[b].at = to;
		break;
	case 1:
		if (madvise(blk[b].at, BLK * PG, MADV_DONTNEED))
			fail("madvise block %zu: %m", b);
		blk[b].state = ZERO;
		last_zero = b;
		check_blk(b);
		break;
	case 2:
		fork_check();
		break;
	case 3:
		if (r % 8 != 3)
			break;
		if (munmap(blk[b].at, BLK * PG))
			fail("munmap block %zu: %m", b);
		blk[b].state = GONE;
		break;
	}
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 512, b, j;
	unsigned char *mem;

	test_init(argc, argv);
	nblk = mib * 256 / BLK;
	blk = calloc(nblk, sizeof(*blk));
	mem = mmap(NULL, nblk * BLK * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		   0);
	if (!blk || mem == MAP_FAILED)
		fail("mmap %zu MiB: %m", mib);
	madvise(mem, nblk * BLK * PG, MADV_NOHUGEPAGE);
	for (b = 0; b < nblk; b++) {
		blk[b].at = mem + b * BLK * PG;
		for (j = 0; j < BLK; j++)
			datagen(blk[b].at + j * PG, PG, SEED + b * BLK + j);
	}

	test_daemon();
	test_ready();
	/* Not at SIGTERM, which may come after the fill: as soon as restored. */
	while (!test_restored() && test_go())
		usleep(1000);

	srand(SEED);
	for (int r = 0; r < ROUNDS; r++) {
		round_of(r);
		for (int k = 0; k < 64; k++) {
			b = rand() % nblk;
			if (blk[b].state != GONE)
				check_page(b, rand() % BLK);
		}
	}
	test_waitsig();
	for (b = 0; b < nblk; b++)
		check_blk(b);
	pass();
	return 0;
}
