/*
 * flock locks held only through mappings, as a JVM holds its hsperfdata
 * file: each file is mapped shared, locked, and its fd closed (the mapping
 * keeps the open file description, and with it the lock). F1 and F3 have a
 * write lock each, F2 a read lock and two mappings. Restored
 * (--file-locks), a new open of F1 or F3 cannot lock it at all, one of F2
 * can share it but not take it whole, /proc/locks names this process, the
 * mappings are still the files' own, and unmapping F1 frees its lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "zdtmtst.h"

#define SZ 8192

static char *map_locked(const char *path, int op, char **second)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	char *p;

	if (fd < 0 || ftruncate(fd, SZ))
		fail("create %s: %m", path);
	p = mmap(NULL, SZ, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED || flock(fd, op))
		fail("map and lock %s: %m", path);
	if (second) {
		*second = mmap(NULL, SZ, PROT_READ, MAP_SHARED, fd, 0);
		if (*second == MAP_FAILED)
			fail("map %s again: %m", path);
	}
	close(fd);
	return p;
}

/* Whether a new open file description of @path gets lock @op. */
static int can_lock(const char *path, int op)
{
	int fd = open(path, O_RDONLY), ret;

	if (fd < 0)
		fail("open %s: %m", path);
	ret = !flock(fd, op | LOCK_NB);
	if (!ret && errno != EWOULDBLOCK)
		fail("flock %s: %m", path);
	close(fd);
	return ret;
}

/* /proc/locks has a flock of @type ("WRITE", "READ") by us on @path's inode. */
static int listed(const char *path, const char *type)
{
	char line[256], want[128];
	struct stat st;
	int found = 0;
	FILE *f;

	if (stat(path, &st))
		fail("stat %s: %m", path);
	snprintf(want, sizeof(want), "FLOCK  ADVISORY  %s %d %02x:%02x:%lu ", type, getpid(),
		 major(st.st_dev), minor(st.st_dev), (unsigned long)st.st_ino);
	f = fopen("/proc/locks", "r");
	if (!f)
		fail("/proc/locks: %m");
	while (fgets(line, sizeof(line), f))
		found |= strstr(line, want) != NULL;
	fclose(f);
	return found;
}

int main(int argc, char **argv)
{
	char f1[4096], f2[4096], f3[4096], *m1, *m2, *m2b, *m3, buf[16];
	int fd;

	test_init(argc, argv);
	test_daemon();
	test_path(f1, sizeof(f1), "lock1");
	test_path(f2, sizeof(f2), "lock2");
	test_path(f3, sizeof(f3), "lock3");
	m1 = map_locked(f1, LOCK_EX, NULL);
	m2 = map_locked(f2, LOCK_SH, &m2b);
	m3 = map_locked(f3, LOCK_EX, NULL);
	datagen(m1, SZ, 1);
	datagen(m2, SZ, 2);
	datagen(m3, SZ, 3);
	test_waitsig();

	if (!listed(f1, "WRITE") || !listed(f2, "READ") || !listed(f3, "WRITE"))
		fail("/proc/locks does not show our flock locks on %s, %s and %s", f1, f2, f3);
	if (can_lock(f1, LOCK_SH) || can_lock(f2, LOCK_EX) || !can_lock(f2, LOCK_SH) ||
	    can_lock(f3, LOCK_SH))
		fail("the locks do not hold as they did");
	CHECK_DATA(m3, SZ, 3);
	CHECK_DATA(m1, SZ, 1);
	CHECK_DATA(m2b, SZ, 2);
	/*
	 * Still the files' own pages: a write shows through a new open. Put
	 * back, for the task restored after a dump that left this one running.
	 */
	buf[1] = m1[100];
	m1[100] = ~buf[1];
	fd = open(f1, O_RDONLY);
	if (fd < 0 || pread(fd, buf, 1, 100) != 1 || buf[0] != (char)~buf[1])
		fail("a write through the mapping of %s does not reach the file", f1);
	close(fd);
	m1[100] = buf[1];
	/* The lock is the mapping's: gone with it. */
	if (munmap(m1, SZ))
		fail("munmap: %m");
	if (!can_lock(f1, LOCK_EX))
		fail("%s is still locked once unmapped", f1);
	pass();
	return 0;
}
