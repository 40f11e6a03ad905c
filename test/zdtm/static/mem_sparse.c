/*
 * A big mapping (1 GiB, or the GiB given as the argument; MAP_NORESERVE) with
 * a few touched pages spread over it: they keep data, holes read zero and
 * stay unpopulated, and the mapping is still MAP_NORESERVE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "zdtmtst.h"

#define NTOUCHED	10

static unsigned long npages;
static unsigned long touched[NTOUCHED];

/* Both ends, both sides of a 2 MiB boundary, the middle: no run to merge them. */
static void pick_touched(void)
{
	const unsigned long pick[NTOUCHED] = {
		0, 1, 511, 512, 4097, npages / 4 + 65536, npages / 2 + 3, npages / 4 * 3 - 1,
		npages - 2, npages - 1,
	};

	memcpy(touched, pick, sizeof(touched));
}

static int is_touched(unsigned long pg)
{
	size_t i;

	for (i = 0; i < NTOUCHED; i++)
		if (touched[i] == pg)
			return 1;
	return 0;
}

/* VmFlags of the mapping at @addr has " nr" (VM_NORESERVE). */
static int noreserve(unsigned long addr)
{
	char line[512];
	int in = 0, found = 0;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		fail("/proc/self/smaps: %m");
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e;

		if (sscanf(line, "%lx-%lx ", &s, &e) == 2 && strchr(line, '-') < strchr(line, ' '))
			in = s == addr;
		else if (in && !strncmp(line, "VmFlags:", 8))
			found = strstr(line, " nr") != NULL;
	}
	fclose(f);
	return found;
}

/*
 * Before reading anything: the holes were not filled in. Returns the
 * mincore() vector: a page not resident was never touched and reads as zero
 * (reading it would allocate it where the kernel has no shared zero page).
 */
static unsigned char *check_unpopulated(char *area, size_t size)
{
	/* mincore() may count THP neighbours; a restore that fills the holes shows far more. */
	unsigned long pg, resident = 0, max_resident = npages / 16;
	unsigned char *vec = malloc(npages);

	if (!vec)
		fail("malloc %lu: %m", npages);
	if (mincore(area, size, vec))
		fail("mincore: %m");
	for (pg = 0; pg < npages; pg++)
		resident += vec[pg] & 1;
	if (resident > max_resident)
		fail("%lu of %lu pages are resident, expected about %d", resident, npages,
		     NTOUCHED);
	return vec;
}

int main(int argc, char **argv)
{
	unsigned long gib = 1, pg;
	unsigned char *vec;
	size_t i, size;
	char *area;

	test_init(argc, argv);
	if (test_argc > 1)
		gib = strtoul(test_argv[1], NULL, 0);
	if (!gib)
		fail("bad size '%s' (GiB)", test_argv[1]);
	size = gib << 30;
	npages = size / PAGE_SIZE;
	pick_touched();
	area = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		    -1, 0);
	if (area == MAP_FAILED)
		fail("mmap %lu GiB: %m", gib);
	/* Huge pages would make a touched page 512 of them. */
	if (madvise(area, size, MADV_NOHUGEPAGE))
		fail("madvise(MADV_NOHUGEPAGE): %m");
	for (i = 0; i < NTOUCHED; i++)
		datagen(area + touched[i] * PAGE_SIZE, PAGE_SIZE, 0x5a5a + touched[i]);

	test_daemon();
	test_waitsig();

	vec = check_unpopulated(area, size);
	if (!noreserve((unsigned long)area))
		fail("the mapping lost MAP_NORESERVE");
	for (i = 0; i < NTOUCHED; i++) {
		ssize_t off = datachk(area + touched[i] * PAGE_SIZE, PAGE_SIZE,
				      0x5a5a + touched[i]);

		if (off >= 0)
			fail("touched page %lu differs at offset %zd", touched[i], off);
	}
	for (pg = 0; pg < npages; pg++) {
		ssize_t off;

		if (is_touched(pg) || !(vec[pg] & 1))
			continue;
		off = zerochk(area + pg * PAGE_SIZE, PAGE_SIZE);
		if (off >= 0)
			fail("untouched page %lu is not zero at offset %zd", pg, off);
	}
	pass();
	return 0;
}
