/*
 * Read-ahead advice survives: MADV_SEQUENTIAL (VmFlags "sr") and MADV_RANDOM
 * ("rr") on private anonymous memory, on a private and a shared file mapping
 * and on shared anonymous memory, each with its data; a mapping without
 * advice has neither flag.
 */
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zdtmtst.h"

#define P PAGE_SIZE
#define NP 8

struct region {
	const char *name;
	char *addr;
	int advice;		/* MADV_SEQUENTIAL, MADV_RANDOM or MADV_NORMAL */
	uint64_t seed;
};

static struct region r[] = {
	{ "anon sequential", NULL, MADV_SEQUENTIAL, 1 },
	{ "anon random", NULL, MADV_RANDOM, 2 },
	{ "file private sequential", NULL, MADV_SEQUENTIAL, 3 },
	{ "file shared random", NULL, MADV_RANDOM, 4 },
	{ "shared anon sequential", NULL, MADV_SEQUENTIAL, 5 },
	{ "plain", NULL, MADV_NORMAL, 6 },
};

static void check_flags(const struct region *g)
{
	int sr = g->advice == MADV_SEQUENTIAL, rr = g->advice == MADV_RANDOM;
	unsigned long ends[2] = { (unsigned long)g->addr, (unsigned long)g->addr + NP * P - 1 };

	for (int e = 0; e < 2; e++)
		if (test_vmflag(ends[e], "sr") != sr || test_vmflag(ends[e], "rr") != rr)
			fail("%s mapping at %#lx: VmFlags sr %d rr %d, expected sr %d rr %d",
			     g->name, ends[e], test_vmflag(ends[e], "sr"),
			     test_vmflag(ends[e], "rr"), sr, rr);
}

int main(int argc, char **argv)
{
	char path[PATH_MAX];
	size_t i;
	int fd;

	test_init(argc, argv);
	test_path(path, sizeof(path), "file");
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, 2 * NP * P))
		fail("%s: %m", path);
	for (i = 0; i < ARRAY_SIZE(r); i++) {
		int flags = MAP_PRIVATE | MAP_ANONYMOUS, mfd = -1;
		off_t off = 0;

		if (i == 2 || i == 3) {
			flags = i == 2 ? MAP_PRIVATE : MAP_SHARED;
			mfd = fd;
			off = (i - 2) * NP * P;
		} else if (i == 4) {
			flags = MAP_SHARED | MAP_ANONYMOUS;
		}
		r[i].addr = mmap(NULL, NP * P, PROT_READ | PROT_WRITE, flags, mfd, off);
		if (r[i].addr == MAP_FAILED)
			fail("mmap %s: %m", r[i].name);
		datagen(r[i].addr, NP * P, r[i].seed);
		if (madvise(r[i].addr, NP * P, r[i].advice))
			fail("madvise %s: %m", r[i].name);
	}
	for (i = 0; i < ARRAY_SIZE(r); i++)
		check_flags(&r[i]);

	test_daemon();
	test_waitsig();

	for (i = 0; i < ARRAY_SIZE(r); i++) {
		check_flags(&r[i]);
		if (datachk(r[i].addr, NP * P, r[i].seed) >= 0)
			fail("%s mapping lost its data", r[i].name);
	}
	pass();
	return 0;
}
