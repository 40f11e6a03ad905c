/*
 * Files on a hugetlbfs mount (as DPDK and QEMU map them), saved with their
 * data as /dev/shm files are: one of three 2 MiB pages (the first and the
 * last written, the middle a hole), mapped shared and also open at an
 * offset, and one unlinked while mapped. Restored, the file is at its path
 * on the mount with its size, data and hole, the fd reads it at its offset,
 * the mappings are in 2 MiB pages, and the unlinked one reads "(deleted)".
 * The runner mounts the hugetlbfs ('hugetlbfs' in the .desc).
 */
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "zdtmtst.h"

#define HP (2UL << 20)

static char *map_file(const char *path, size_t len, int *fdp)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0640);
	char *p;

	if (fd < 0 || ftruncate(fd, len))
		fail("create %s: %m", path);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		fail("map %s: %m", path);
	*fdp = fd;
	return p;
}

int main(int argc, char **argv)
{
	char mnt[4096], path[4200], gone[4200], buf[64];
	struct test_vma vma;
	struct statfs sf;
	struct stat st;
	int fd, gfd;
	char *p, *g;

	test_init(argc, argv);
	test_daemon();
	test_path(mnt, sizeof(mnt), "hugetlbfs");
	if (statfs(mnt, &sf) || sf.f_type != HUGETLBFS_MAGIC)
		fail("%s is not a hugetlbfs mount (run.py mounts it)", mnt);
	snprintf(path, sizeof(path), "%s/data", mnt);
	snprintf(gone, sizeof(gone), "%s/gone", mnt);
	p = map_file(path, 3 * HP, &fd);
	datagen(p, HP, 1);
	datagen(p + 2 * HP, HP, 2);
	if (lseek(fd, 12345, SEEK_SET) != 12345)
		fail("lseek: %m");
	g = map_file(gone, HP, &gfd);
	datagen(g, HP, 3);
	if (close(gfd) || unlink(gone))
		fail("unlink %s: %m", gone);
	test_waitsig();

	if (stat(path, &st) || st.st_size != 3 * HP || (st.st_mode & 0777) != 0640)
		fail("%s: size %lld, mode %o", path, (long long)st.st_size, st.st_mode & 0777);
	if (fstatfs(fd, &sf) || sf.f_type != HUGETLBFS_MAGIC || sf.f_bsize != HP)
		fail("the fd is not on a hugetlbfs of 2 MiB pages");
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 12345);
	if (pread(fd, buf, sizeof(buf), 2 * HP) != sizeof(buf) || memcmp(buf, p + 2 * HP, sizeof(buf)))
		fail("the fd does not read what the mapping holds");
	CHECK_DATA(p, HP, 1);
	CHECK(zerochk(p + HP, HP) < 0);
	CHECK_DATA(p + 2 * HP, HP, 2);
	CHECK_DATA(g, HP, 3);
	if (test_smaps_kb((unsigned long)p, "KernelPageSize") != HP >> 10 ||
	    test_smaps_kb((unsigned long)g, "KernelPageSize") != HP >> 10)
		fail("the mappings are not in 2 MiB pages");
	if (test_vma_at((unsigned long)g, &vma) || !strstr(vma.name, "(deleted)"))
		fail("the unlinked file's mapping reads %s", vma.name);
	if (!access(gone, F_OK))
		fail("%s is there again", gone);
	munmap(p, 3 * HP);
	munmap(g, HP);
	close(fd);
	unlink(path);
	pass();
	return 0;
}
