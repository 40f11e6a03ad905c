/*
 * A shared mapping keeps the access of the file it was made from, not just
 * what its current protection needs:
 *   rw    a file opened read-write, mapped read-only (fd closed): mprotect()
 *         to read-write works, and writes reach the file;
 *   ro    a file opened read-only, mapped read-only: mprotect() to write
 *         fails with EACCES, as it did;
 *   mrw   a memfd mapped read-only from its read-write fd: may become writable;
 *   mro   the same memfd mapped from a read-only reopen: may not;
 *   srw   a SysV segment attached read-write, then made read-only: may;
 *   sro   the same segment attached read-only: may not.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

#include "zdtmtst.h"

#define P PAGE_SIZE
#define NP 4

static char *map_ro(int fd)
{
	char *p = mmap(NULL, NP * P, PROT_READ, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		fail("mmap: %m");
	return p;
}

static void check_writable(const char *what, char *p, int may)
{
	int ret = mprotect(p, NP * P, PROT_READ | PROT_WRITE);

	if (may && ret)
		fail("%s mapping: mprotect(PROT_WRITE): %m", what);
	if (!may && !ret)
		fail("%s mapping: mprotect(PROT_WRITE) works, but its file is read-only", what);
	if (!may && errno != EACCES)
		fail("%s mapping: mprotect(PROT_WRITE): %m, expected EACCES", what);
}

int main(int argc, char **argv)
{
	char path[PATH_MAX], rpath[PATH_MAX], self[64], *rw, *ro, *mrw, *mro, *srw, *sro, buf[8];
	int fd, memfd, rofd, shmid;

	test_init(argc, argv);
	test_path(path, sizeof(path), "rw");
	test_path(rpath, sizeof(rpath), "ro");
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, NP * P))
		fail("%s: %m", path);
	rw = map_ro(fd);
	close(fd);
	fd = open(rpath, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, NP * P) || pwrite(fd, "ro", 2, 0) != 2)
		fail("%s: %m", rpath);
	close(fd);
	fd = open(rpath, O_RDONLY);
	if (fd < 0)
		fail("%s: %m", rpath);
	ro = map_ro(fd);
	close(fd);

	memfd = memfd_create("access", 0);
	if (memfd < 0 || ftruncate(memfd, NP * P))
		fail("memfd: %m");
	snprintf(self, sizeof(self), "/proc/self/fd/%d", memfd);
	rofd = open(self, O_RDONLY);
	if (rofd < 0)
		fail("reopen: %m");
	mrw = map_ro(memfd);
	mro = map_ro(rofd);
	close(rofd);

	shmid = shmget(IPC_PRIVATE, NP * P, IPC_CREAT | 0600);
	if (shmid < 0)
		fail("shmget: %m");
	srw = shmat(shmid, NULL, 0);
	sro = shmat(shmid, NULL, SHM_RDONLY);
	if (srw == (void *)-1 || sro == (void *)-1 || mprotect(srw, NP * P, PROT_READ))
		fail("shmat: %m");
	/* Gone with its last detach. */
	if (shmctl(shmid, IPC_RMID, NULL))
		fail("IPC_RMID: %m");

	test_daemon();
	test_waitsig();

	CHECK_EQ(ro[0], 'r');
	check_writable("rw", rw, 1);
	check_writable("ro", ro, 0);
	check_writable("mrw", mrw, 1);
	check_writable("mro", mro, 0);
	check_writable("srw", srw, 1);
	check_writable("sro", sro, 0);
	rw[P + 5] = 'x';
	mrw[7] = 'y';
	fd = open(path, O_RDONLY);
	if (fd < 0 || pread(fd, buf, 1, P + 5) != 1)
		fail("%s: %m", path);
	CHECK_EQ(buf[0], 'x');
	CHECK_EQ(mro[7], 'y');
	srw[9] = 'z';
	CHECK_EQ(sro[9], 'z');
	pass();
	return 0;
}
