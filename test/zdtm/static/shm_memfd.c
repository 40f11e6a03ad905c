/*
 * memfds keep their name, size, seals, data and holes, and stay one object
 * for their fds and mappings: a mapped memfd also open as two fds with their
 * own offsets, a sealed memfd mapped read-only, and an unmapped memfd that
 * only an fd holds.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

#define P PAGE_SIZE
#define SIZE (40 * P + 123)	/* not a page multiple */
#define SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

static void check_fd(int fd, const char *name, off_t size, off_t pos)
{
	char link[64], want[64];
	struct stat st;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, want, sizeof(want) - 1);
	if (n < 0)
		fail("readlink fd %d: %m", fd);
	want[n] = '\0';
	snprintf(link, sizeof(link), "/memfd:%s (deleted)", name);
	if (strcmp(want, link))
		fail("fd %d is %s, expected %s", fd, want, link);
	if (fstat(fd, &st))
		fail("fstat: %m");
	CHECK_EQ(st.st_size, size);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), pos);
}

static int memfd(const char *name, unsigned int flags, off_t size)
{
	int fd = memfd_create(name, flags);

	if (fd < 0 || ftruncate(fd, size))
		fail("memfd %s: %m", name);
	return fd;
}

int main(int argc, char **argv)
{
	int fd, fd2, sealed, lone;
	char *m, *s, buf[P];

	test_init(argc, argv);
	fd = memfd("snap-data", MFD_CLOEXEC, SIZE);
	m = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		fail("mmap: %m");
	datagen(m, 8 * P, 1);
	datagen(m + 30 * P, 10 * P + 123, 2);
	fd2 = open("/proc/self/fd/3", O_RDWR); /* a second open file description */
	if (fd2 < 0 || lseek(fd, 100, SEEK_SET) != 100 || lseek(fd2, 5 * P, SEEK_SET) != 5 * P)
		fail("second fd: %m");

	sealed = memfd("snap-sealed", MFD_ALLOW_SEALING, 4 * P);
	datagen(buf, P, 3);
	if (pwrite(sealed, buf, P, 2 * P) != P || fcntl(sealed, F_ADD_SEALS, SEALS))
		fail("sealing: %m");
	s = mmap(NULL, 4 * P, PROT_READ, MAP_SHARED, sealed, 0);
	if (s == MAP_FAILED)
		fail("mmap sealed: %m");

	lone = memfd("snap-lone", 0, 3 * P);
	datagen(buf, P, 4);
	if (pwrite(lone, buf, P, P) != P)
		fail("pwrite: %m");

	test_daemon();
	test_waitsig();

	check_fd(fd, "snap-data", SIZE, 100);
	check_fd(fd2, "snap-data", SIZE, 5 * P);
	check_fd(sealed, "snap-sealed", 4 * P, 0);
	check_fd(lone, "snap-lone", 3 * P, 0);
	CHECK_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
	CHECK_EQ(fcntl(lone, F_GETFD), 0);
	CHECK_EQ(fcntl(sealed, F_GET_SEALS), SEALS);
	CHECK_EQ(fcntl(fd, F_GET_SEALS), F_SEAL_SEAL); /* made without MFD_ALLOW_SEALING */

	CHECK_DATA(m, 8 * P, 1);
	CHECK(zerochk(m + 8 * P, 22 * P) < 0);
	CHECK_DATA(m + 30 * P, 10 * P + 123, 2);
	CHECK_DATA(s + 2 * P, P, 3);
	if (pread(lone, buf, P, P) != P)
		fail("pread: %m");
	CHECK_DATA(buf, P, 4);
	/* The seals hold, and the fds and the mapping are one memfd. */
	CHECK(pwrite(sealed, buf, 1, 0) < 0);
	CHECK(ftruncate(sealed, P) < 0);
	m[9 * P] = 0x42;
	if (pread(fd2, buf, 1, 9 * P) != 1)
		fail("pread fd2: %m");
	CHECK_EQ(buf[0], 0x42);
	pass();
	return 0;
}
