/*
 * A large anonymous mapping, every page with its own contents, checked byte
 * for byte in random order as soon as SIGTERM comes: in the lazy mode, that
 * is while the lazy-pages server still fills it. With "events", first
 * mremap a piece elsewhere, MADV_DONTNEED one (it must read zero), munmap
 * one and fork a child that checks 4096 random pages, all racing the fill.
 * Arguments: MiB [events].
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define PG   4096UL
#define SEED 7700

static size_t npages;
static int events;
static unsigned char *mem, *moved;
/* Pieces of the events run, in pages from the start. */
static size_t moved_at, moved_len, drop_at, drop_len, unmap_at, unmap_len;

static void check_page(const unsigned char *p, size_t i)
{
	ssize_t off = datachk(p, PG, SEED + i);

	if (off != -1)
		fail("page %zu at %p differs at byte %zd", i, (void *)p, off);
}

/* Page @i wherever the events left it: moved, zero, gone or in place. */
static void check_index(size_t i)
{
	if (events && i >= moved_at && i < moved_at + moved_len)
		check_page(moved + (i - moved_at) * PG, i);
	else if (events && i >= drop_at && i < drop_at + drop_len) {
		if (zerochk(mem + i * PG, PG) != -1)
			fail("page %zu, discarded, is not zero", i);
	} else if (!events || i < unmap_at || i >= unmap_at + unmap_len)
		check_page(mem + i * PG, i);
}

static size_t *shuffled(size_t n, unsigned int seed)
{
	size_t *o = malloc(n * sizeof(*o)), i;

	if (!o)
		fail("malloc: %m");
	for (i = 0; i < n; i++)
		o[i] = i;
	srand(seed);
	for (i = n - 1; i > 0; i--) {
		size_t j = ((size_t)rand() * RAND_MAX + rand()) % (i + 1), t = o[i];

		o[i] = o[j];
		o[j] = t;
	}
	return o;
}

/* A child checks 4096 random pages and exits 0, or fails. */
static void fork_check(void)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		fail("fork: %m");
	if (!pid) {
		size_t *o = shuffled(npages, 2);

		for (size_t k = 0; k < 4096 && k < npages; k++)
			check_index(o[k]);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		fail("the forked child failed its check (status %#x)", status);
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024, i, k;
	size_t *order;

	/* Before test_init(), which takes its own options out of argv. */
	events = argc > 2 && !strcmp(argv[2], "events");
	test_init(argc, argv);
	npages = mib * 256;
	mem = mmap(NULL, npages * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		fail("mmap %zu MiB: %m", mib);
	madvise(mem, npages * PG, MADV_NOHUGEPAGE);
	for (i = 0; i < npages; i++)
		datagen(mem + i * PG, PG, SEED + i);
	order = shuffled(npages, 1);

	test_daemon();
	test_waitsig();

	if (events) {
		moved_at = npages / 4, moved_len = npages / 16;
		drop_at = npages / 2, drop_len = npages / 32;
		unmap_at = 3 * npages / 4, unmap_len = npages / 32;
		/* Somewhere else for sure: onto a reservation of our own. */
		moved = mmap(NULL, moved_len * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (moved == MAP_FAILED)
			fail("mmap: %m");
		if (mremap(mem + moved_at * PG, moved_len * PG, moved_len * PG,
			   MREMAP_MAYMOVE | MREMAP_FIXED, moved) != moved)
			fail("mremap: %m");
		if (madvise(mem + drop_at * PG, drop_len * PG, MADV_DONTNEED))
			fail("madvise: %m");
		if (munmap(mem + unmap_at * PG, unmap_len * PG))
			fail("munmap: %m");
		fork_check();
	}
	for (k = 0; k < npages; k++)
		check_index(order[k]);
	pass();
	return 0;
}
