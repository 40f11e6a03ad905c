/* A 1 GiB mapping with a few touched pages: they keep data, holes read zero, unpopulated. */
#include <string.h>
#include <sys/mman.h>

#include "zdtmtst.h"

#define SIZE		(1UL << 30)
#define NPAGES		(SIZE / PAGE_SIZE)
/* mincore() may count THP neighbours; a restore that fills the holes shows far more. */
#define MAX_RESIDENT	(NPAGES / 16)

static const unsigned long touched[] = {
	0, 1, 511, 512, 4097, 65536, 131071, NPAGES / 2 + 3, NPAGES - 2, NPAGES - 1,
};

static int is_touched(unsigned long pg)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(touched); i++)
		if (touched[i] == pg)
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	static unsigned char vec[NPAGES];
	unsigned long pg, resident = 0;
	char *area;
	size_t i;

	test_init(argc, argv);
	area = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		    -1, 0);
	if (area == MAP_FAILED)
		fail("mmap 1 GiB: %m");
	for (i = 0; i < ARRAY_SIZE(touched); i++)
		datagen(area + touched[i] * PAGE_SIZE, PAGE_SIZE, 0x5a5a + touched[i]);

	test_daemon();
	test_waitsig();

	/* Before reading anything: the holes were not filled in. */
	if (mincore(area, SIZE, vec))
		fail("mincore: %m");
	for (pg = 0; pg < NPAGES; pg++)
		resident += vec[pg] & 1;
	if (resident > MAX_RESIDENT)
		fail("%lu of %lu pages are resident, expected about %zu", resident, NPAGES,
		     ARRAY_SIZE(touched));

	for (i = 0; i < ARRAY_SIZE(touched); i++) {
		ssize_t off = datachk(area + touched[i] * PAGE_SIZE, PAGE_SIZE,
				      0x5a5a + touched[i]);

		if (off >= 0)
			fail("touched page %lu differs at offset %zd", touched[i], off);
	}
	for (pg = 0; pg < NPAGES; pg++) {
		ssize_t off;

		if (is_touched(pg))
			continue;
		off = zerochk(area + pg * PAGE_SIZE, PAGE_SIZE);
		if (off >= 0)
			fail("untouched page %lu is not zero at offset %zd", pg, off);
	}
	pass();
	return 0;
}
