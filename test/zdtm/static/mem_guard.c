/*
 * Guard regions (MADV_GUARD_INSTALL) survive: each guarded page faults on
 * access (probed with a SIGSEGV handler) and pagemap reports it (bit 58);
 * every other page keeps its contents; the mapping is not split (a guard
 * is not a PROT_NONE mapping); MADV_GUARD_REMOVE turns a guard back into an
 * ordinary page, which reads as zeros. Guards sit at the start and the end
 * of an anonymous mapping, in its middle, over pages never touched, in
 * private and shared mappings of a file, and in a mapping mlock()ed after
 * its guards were installed (which stays locked, VmFlags "lo").
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zdtmtst.h"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#define MADV_GUARD_REMOVE 103
#endif
#define PM_GUARD (1ULL << 58)

#define P PAGE_SIZE
#define NPAGES 32

struct region {
	const char *name;
	char *addr;
	uint64_t seed;
	size_t written;		/* pages 0..written-1 were written */
	uint32_t guards;	/* bit n: page n is a guard */
};

enum { ANON, SPARSE, FILE_PRIVATE, FILE_SHARED, LOCKED, NR };

static struct region r[NR] = {
	/* pages 0, 5-7, 20 and 31 */
	[ANON] = { "anonymous", NULL, 1, NPAGES, 1u << 0 | 7u << 5 | 1u << 20 | 1u << 31 },
	/* over pages never touched */
	[SPARSE] = { "sparse", NULL, 2, 1, 3u << 8 },
	[FILE_PRIVATE] = { "file private", NULL, 3, NPAGES, 3u << 2 | 1u << 17 },
	[FILE_SHARED] = { "file shared", NULL, 4, NPAGES, 1u << 9 },
	[LOCKED] = { "locked", NULL, 5, NPAGES, 1u << 3 },
};

static int guarded(const struct region *g, int page)
{
	return g->guards & (1u << page);
}

static void install(struct region *g)
{
	for (int i = 0; i < NPAGES; i++)
		if (guarded(g, i) && madvise(g->addr + i * P, P, MADV_GUARD_INSTALL))
			fail("MADV_GUARD_INSTALL in the %s mapping: %m", g->name);
}

static uint64_t pagemap_entry(int fd, const void *addr)
{
	uint64_t e;

	if (pread(fd, &e, sizeof(e), (unsigned long)addr / P * sizeof(e)) != sizeof(e))
		fail("pread /proc/self/pagemap: %m");
	return e;
}

/* Skip, saying why, where guard regions cannot exist or be seen. */
static void require_guards(void)
{
	char *p = mmap(NULL, 2 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd;

	if (p == MAP_FAILED)
		fail("mmap: %m");
	if (madvise(p, P, MADV_GUARD_INSTALL))
		skip("this kernel has no MADV_GUARD_INSTALL (Linux 6.13+): %m");
	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0)
		fail("/proc/self/pagemap: %m");
	if (!(pagemap_entry(fd, p) & PM_GUARD))
		skip("pagemap does not report guard regions (bit 58, Linux 6.15+)");
	close(fd);
	munmap(p, 2 * P);
}

static char *map_file(int shared)
{
	char path[PATH_MAX];
	char *p;
	int fd;

	test_path(path, sizeof(path), shared ? "shared" : "private");
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, NPAGES * P))
		fail("%s: %m", path);
	p = mmap(NULL, NPAGES * P, PROT_READ | PROT_WRITE, shared ? MAP_SHARED : MAP_PRIVATE, fd,
		 0);
	if (p == MAP_FAILED)
		fail("mmap %s: %m", path);
	close(fd);
	return p;
}

static void check_region(int pmfd, struct region *g)
{
	struct test_vma vma;

	if (test_vma_at((unsigned long)g->addr, &vma) || vma.start > (unsigned long)g->addr ||
	    vma.end < (unsigned long)g->addr + NPAGES * P)
		fail("the %s mapping is split or gone: %#lx-%#lx", g->name, vma.start, vma.end);
	for (int i = 0; i < NPAGES; i++) {
		char *page = g->addr + i * P;
		int pm = !!(pagemap_entry(pmfd, page) & PM_GUARD);

		if (pm != !!guarded(g, i))
			fail("%s mapping page %d: pagemap says %s", g->name, i,
			     pm ? "guard" : "no guard");
		if (test_faults(page, 0) != !!guarded(g, i))
			fail("%s mapping page %d: reading %s", g->name, i,
			     guarded(g, i) ? "works" : "faults");
		if (guarded(g, i))
			continue;
		if (i < (int)g->written && datachk(page, P, g->seed + i) >= 0)
			fail("%s mapping page %d differs", g->name, i);
		if (i >= (int)g->written && zerochk(page, P) >= 0)
			fail("%s mapping page %d is not zero", g->name, i);
	}
}

/* A removed guard is an ordinary page again: zeros for anonymous memory. */
static void check_remove(struct region *g, int page)
{
	char *p = g->addr + page * P;

	if (madvise(p, P, MADV_GUARD_REMOVE))
		fail("MADV_GUARD_REMOVE in the %s mapping: %m", g->name);
	if (test_faults(p, 1))
		fail("%s mapping page %d faults after MADV_GUARD_REMOVE", g->name, page);
	if (zerochk(p, P) >= 0)
		fail("%s mapping page %d is not zero after MADV_GUARD_REMOVE", g->name, page);
}

int main(int argc, char **argv)
{
	int i, j, pmfd;

	test_init(argc, argv);
	require_guards();
	for (i = 0; i < NR; i++) {
		if (i == FILE_PRIVATE || i == FILE_SHARED)
			continue;
		r[i].addr = mmap(NULL, NPAGES * P, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (r[i].addr == MAP_FAILED)
			fail("mmap: %m");
	}
	r[FILE_PRIVATE].addr = map_file(0);
	r[FILE_SHARED].addr = map_file(1);
	for (i = 0; i < NR; i++) {
		for (j = 0; j < (int)r[i].written; j++)
			datagen(r[i].addr + j * P, P, r[i].seed + j);
		install(&r[i]);
	}

	test_daemon();
	/*
	 * After the fork (a child does not inherit locks). A guard cannot go
	 * into a locked mapping; mlock() after it locks it, but may fail with
	 * ENOMEM faulting in the guard page.
	 */
	if (mlock(r[LOCKED].addr, NPAGES * P) && errno != ENOMEM)
		fail("mlock: %m");
	if (!test_vmflag((unsigned long)r[LOCKED].addr, "lo"))
		fail("mlock() did not lock the mapping with a guard");
	test_waitsig();

	pmfd = open("/proc/self/pagemap", O_RDONLY);
	if (pmfd < 0)
		fail("/proc/self/pagemap: %m");
	for (i = 0; i < NR; i++)
		check_region(pmfd, &r[i]);
	if (!test_vmflag((unsigned long)r[LOCKED].addr, "lo"))
		fail("the locked mapping with a guard lost VmFlags lo");
	check_remove(&r[ANON], 6);
	check_remove(&r[SPARSE], 9);
	pass();
	return 0;
}
