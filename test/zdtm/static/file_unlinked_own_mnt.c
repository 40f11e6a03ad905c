/*
 * A deleted file on a tmpfs of the test's own mount namespace, open and
 * mapped shared: it comes back on that tmpfs (the restored one), not on
 * whatever snap's view of the path is, with its data, and the fd and the
 * mapping are still one file. Runs in the "ns" flavour only.
 */
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "zdtmtst.h"

#define DIR	"/mnt"
#define PATH	DIR "/own-deleted"
#define LEN	(4 * PAGE_SIZE)
#define SEED	0x0de1

int main(int argc, char **argv)
{
	struct stat st, dst;
	struct statfs sfs;
	char link[64], target[256];
	ssize_t n;
	char *map;
	int fd;

	test_init(argc, argv);
	if (mount("own", DIR, "tmpfs", 0, "size=1m"))
		fail("mount a tmpfs on %s: %m", DIR);
	fd = open(PATH, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || ftruncate(fd, LEN))
		fail("%s: %m", PATH);
	map = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		fail("mmap: %m");
	datagen(map, LEN, SEED);
	if (unlink(PATH))
		fail("unlink: %m");

	test_daemon();
	test_waitsig();

	if (fstat(fd, &st) || stat(DIR, &dst) || fstatfs(fd, &sfs))
		fail("fstat: %m");
	if (sfs.f_type != TMPFS_MAGIC || st.st_dev != dst.st_dev)
		fail("the deleted file is on device %lx (fs %lx), not on the tmpfs at %s (%lx)",
		     (unsigned long)st.st_dev, (unsigned long)sfs.f_type, DIR,
		     (unsigned long)dst.st_dev);
	CHECK_EQ(st.st_nlink, 0);
	CHECK_EQ(st.st_size, LEN);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	target[n > 0 ? n : 0] = '\0';
	if (strcmp(target, PATH " (deleted)"))
		fail("fd %d is %s", fd, target);
	CHECK_DATA(map, LEN, SEED);
	/* One file: a write through the mapping reads back through the fd. */
	map[100] = 'Z';
	if (pread(fd, target, 1, 100) != 1 || target[0] != 'Z')
		fail("the mapping and the fd are not one file any more");
	pass();
	return 0;
}
