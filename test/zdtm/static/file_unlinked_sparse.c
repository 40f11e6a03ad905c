/*
 * A large sparse deleted file: 2 GiB long with three small data extents
 * (at 0, at 1 GiB + 64 KiB and in the last page). Only its data is saved,
 * so the 64 MiB limit on a deleted file's data does not refuse it; after
 * restore it has the same size, few blocks, the same data and the same
 * extents (SEEK_DATA/SEEK_HOLE); the holes read as zeros.
 */
#define _FILE_OFFSET_BITS 64
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

#define SIZE (2ULL << 30)
#define NEXT 3
#define MAXEXT 16

static const struct {
	off_t off;
	size_t len;
} ext[NEXT] = {
	{ 0, 5000 },
	{ (1LL << 30) + 65536, 3 * PAGE_SIZE },
	{ SIZE - PAGE_SIZE, PAGE_SIZE },
};

/* The data extents of @fd, from SEEK_DATA/SEEK_HOLE: their number. */
static int extents(int fd, off_t *start, off_t *end)
{
	off_t pos = 0;
	int n = 0;

	while (n < MAXEXT) {
		off_t d = lseek(fd, pos, SEEK_DATA), h;

		if (d < 0)
			break;
		h = lseek(fd, d, SEEK_HOLE);
		if (h < 0)
			fail("SEEK_HOLE: %m");
		start[n] = d;
		end[n++] = h;
		pos = h;
	}
	return n;
}

int main(int argc, char **argv)
{
	off_t s0[MAXEXT], e0[MAXEXT], s1[MAXEXT], e1[MAXEXT];
	char path[PATH_MAX], *buf;
	struct stat st;
	int fd, n0, n1, i;

	test_init(argc, argv);
	test_path(path, sizeof(path), "sparse");
	buf = malloc(3 * PAGE_SIZE);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0640);
	if (fd < 0 || !buf || ftruncate(fd, SIZE))
		fail("%s: %m", path);
	for (i = 0; i < NEXT; i++) {
		datagen(buf, ext[i].len, i + 1);
		if (pwrite(fd, buf, ext[i].len, ext[i].off) != (ssize_t)ext[i].len)
			fail("pwrite: %m");
	}
	if (fsync(fd) || unlink(path))
		fail("%s: %m", path);
	n0 = extents(fd, s0, e0);
	if (n0 != NEXT)
		fail("the file has %d data extents, expected %d", n0, NEXT);
	/* After extents(), which moves the offset. */
	if (lseek(fd, 12345, SEEK_SET) != 12345)
		fail("lseek: %m");

	test_daemon();
	test_waitsig();

	if (fstat(fd, &st))
		fail("fstat: %m");
	CHECK_EQ(st.st_size, SIZE);
	CHECK_EQ(st.st_nlink, 0);
	CHECK_EQ(st.st_mode & 07777, 0640);
	if (st.st_blocks > 1024)
		fail("the restored file uses %lld blocks: its holes were filled",
		     (long long)st.st_blocks);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 12345);
	n1 = extents(fd, s1, e1);
	if (n1 != n0)
		fail("the restored file has %d data extents, expected %d", n1, n0);
	for (i = 0; i < n0; i++)
		if (s0[i] != s1[i] || e0[i] != e1[i])
			fail("extent %d is %lld-%lld, was %lld-%lld", i, (long long)s1[i],
			     (long long)e1[i], (long long)s0[i], (long long)e0[i]);
	for (i = 0; i < NEXT; i++) {
		if (pread(fd, buf, ext[i].len, ext[i].off) != (ssize_t)ext[i].len)
			fail("pread: %m");
		CHECK_DATA(buf, ext[i].len, i + 1);
	}
	if (pread(fd, buf, PAGE_SIZE, 1LL << 30) != PAGE_SIZE)
		fail("pread: %m");
	CHECK(zerochk(buf, PAGE_SIZE) < 0);
	pass();
	return 0;
}
