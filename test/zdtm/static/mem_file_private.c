/* MAP_PRIVATE file mapping: COW pages keep new data, others show the unchanged file. */
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NPAGES	16
#define LEN	(NPAGES * PAGE_SIZE)
#define FSEED	0xf11e
#define MSEED	0xc0

static int written(int pg)
{
	return pg == 2 || pg == 5 || pg == 6 || pg == 15;
}

int main(int argc, char **argv)
{
	char path[PATH_MAX], *file, *map;
	int fd, pg;

	test_init(argc, argv);
	test_path(path, sizeof(path), "data");
	file = malloc(LEN);
	datagen(file, LEN, FSEED);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, file, LEN) != LEN)
		fail("%s: %m", path);
	map = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		fail("mmap: %m");
	/* Touch only the written pages: the others stay file pages, not even read. */
	for (pg = 0; pg < NPAGES; pg++)
		if (written(pg))
			datagen(map + pg * PAGE_SIZE, PAGE_SIZE, MSEED + pg);

	test_daemon();
	test_waitsig();

	/* The file itself is as it was written. */
	if (pread(fd, file, LEN, 0) != LEN)
		fail("pread: %m");
	CHECK_DATA(file, LEN, FSEED);

	for (pg = 0; pg < NPAGES; pg++) {
		char *page = map + pg * PAGE_SIZE;
		int bad;

		if (written(pg))
			bad = datachk(page, PAGE_SIZE, MSEED + pg) >= 0;
		else
			bad = memcmp(page, file + pg * PAGE_SIZE, PAGE_SIZE);
		if (bad)
			fail("page %d (%s) differs", pg, written(pg) ? "written" : "from the file");
	}

	/* Unwritten pages are still backed by the file: a file write shows through. */
	datagen(file, PAGE_SIZE, 0xeeee);
	if (pwrite(fd, file, PAGE_SIZE, 9 * PAGE_SIZE) != PAGE_SIZE)
		fail("pwrite: %m");
	CHECK_DATA(map + 9 * PAGE_SIZE, PAGE_SIZE, 0xeeee);
	/* ... but not through a written page. */
	if (pwrite(fd, file, PAGE_SIZE, 5 * PAGE_SIZE) != PAGE_SIZE)
		fail("pwrite: %m");
	CHECK_DATA(map + 5 * PAGE_SIZE, PAGE_SIZE, MSEED + 5);
	pass();
	return 0;
}
