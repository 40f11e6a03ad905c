/*
 * A POSIX shared memory file in /dev/shm, mapped twice: its data, holes,
 * size and mode come back from the image, even when the file changed or
 * was removed after the dump, and the mappings share it again. The file
 * mapped is the one at the path (in the "ns" flavour, on the test's own
 * /dev/shm tmpfs, not the host's): a write through the mapping reads back
 * from the file.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

#define P PAGE_SIZE
#define NP 32

int main(int argc, char **argv)
{
	char name[64], path[80];
	struct test_vma vma;
	struct stat st, mst;
	char mpath[80], byte = 0;
	char *a, *b;
	int fd;

	test_init(argc, argv);
	snprintf(name, sizeof(name), "/snap-zdtm-%d", getpid());
	snprintf(path, sizeof(path), "/dev/shm%s", name);
	fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0640);
	if (fd < 0 || ftruncate(fd, NP * P))
		fail("shm_open %s: %m", name);
	a = mmap(NULL, NP * P, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	b = mmap(NULL, NP * P, PROT_READ, MAP_SHARED, fd, 0);
	if (a == MAP_FAILED || b == MAP_FAILED)
		fail("mmap: %m");
	close(fd);
	datagen(a, 4 * P, 1);
	datagen(a + 20 * P, 12 * P, 2);

	test_daemon();
	test_waitsig();

	if (test_vma_at((unsigned long)a, &vma) || strcmp(vma.name, path))
		fail("mapping at %p is not %s", (void *)a, path);
	if (stat(path, &st))
		fail("stat %s: %m", path);
	CHECK_EQ(st.st_size, NP * P);
	CHECK_EQ(st.st_mode & 07777, 0640);
	CHECK_DATA(a, 4 * P, 1);
	CHECK_DATA(b + 20 * P, 12 * P, 2);
	CHECK(zerochk(b + 4 * P, 16 * P) < 0);
	a[10 * P] = 7;
	CHECK_EQ(b[10 * P], 7);
	snprintf(mpath, sizeof(mpath), "/proc/self/map_files/%lx-%lx", vma.start, vma.end);
	if (stat(mpath, &mst))
		fail("stat %s: %m", mpath);
	if (mst.st_dev != st.st_dev || mst.st_ino != st.st_ino)
		fail("the mapping is inode %lu on %lx, %s is inode %lu on %lx", (unsigned long)mst.st_ino,
		     (unsigned long)mst.st_dev, path, (unsigned long)st.st_ino, (unsigned long)st.st_dev);
	fd = open(path, O_RDONLY);
	if (fd < 0 || pread(fd, &byte, 1, 10 * P) != 1)
		fail("read %s: %m", path);
	CHECK_EQ(byte, 7);
	close(fd);
	shm_unlink(name);
	pass();
	return 0;
}
