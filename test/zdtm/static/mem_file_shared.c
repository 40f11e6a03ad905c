/* MAP_SHARED file mapping: its writes are in the file, and it is still shared both ways. */
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NPAGES	32
#define LEN	(NPAGES * PAGE_SIZE)

static int written(int pg)
{
	return pg % 3 == 1;
}

static uint64_t seed(int pg)
{
	return written(pg) ? 0x5ead + pg : 0xf11e + pg;
}

int main(int argc, char **argv)
{
	char path[PATH_MAX], *map, *buf;
	int fd, pg;

	test_init(argc, argv);
	test_path(path, sizeof(path), "data");
	buf = malloc(PAGE_SIZE);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		fail("%s: %m", path);
	for (pg = 0; pg < NPAGES; pg++) {
		datagen(buf, PAGE_SIZE, 0xf11e + pg);
		if (write(fd, buf, PAGE_SIZE) != PAGE_SIZE)
			fail("write: %m");
	}
	map = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		fail("mmap: %m");
	close(fd);	/* the mapping alone keeps the file */
	for (pg = 0; pg < NPAGES; pg++)
		if (written(pg))
			datagen(map + pg * PAGE_SIZE, PAGE_SIZE, seed(pg));

	test_daemon();
	test_waitsig();

	fd = open(path, O_RDWR);
	if (fd < 0)
		fail("%s: %m", path);
	for (pg = 0; pg < NPAGES; pg++) {
		if (pread(fd, buf, PAGE_SIZE, pg * PAGE_SIZE) != PAGE_SIZE)
			fail("pread: %m");
		if (datachk(buf, PAGE_SIZE, seed(pg)) >= 0)
			fail("page %d of the file differs", pg);
		if (datachk(map + pg * PAGE_SIZE, PAGE_SIZE, seed(pg)) >= 0)
			fail("page %d of the mapping differs", pg);
	}

	/* Still shared: mapping -> file and file -> mapping. */
	datagen(map + 3 * PAGE_SIZE, PAGE_SIZE, 0xabc);
	if (pread(fd, buf, PAGE_SIZE, 3 * PAGE_SIZE) != PAGE_SIZE)
		fail("pread: %m");
	CHECK_DATA(buf, PAGE_SIZE, 0xabc);
	datagen(buf, PAGE_SIZE, 0xdef);
	if (pwrite(fd, buf, PAGE_SIZE, 4 * PAGE_SIZE) != PAGE_SIZE)
		fail("pwrite: %m");
	CHECK_DATA(map + 4 * PAGE_SIZE, PAGE_SIZE, 0xdef);
	pass();
	return 0;
}
