/* The exact fd table survives: fds 200 and 1000, FD_CLOEXEC per fd, nothing extra. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

#define MAXFD 1024

/* A bitmap of the open fds, from /proc/self/fd. */
static void list_fds(unsigned char *open_fds)
{
	struct dirent *de;
	DIR *d;

	memset(open_fds, 0, MAXFD);
	d = opendir("/proc/self/fd");
	if (!d)
		fail("/proc/self/fd: %m");
	while ((de = readdir(d))) {
		int fd;

		if (de->d_name[0] == '.')
			continue;
		fd = atoi(de->d_name);
		if (fd == dirfd(d))
			continue;
		if (fd >= MAXFD)
			fail("unexpected fd %d", fd);
		open_fds[fd] = 1;
	}
	closedir(d);
}

int main(int argc, char **argv)
{
	static unsigned char before[MAXFD], after[MAXFD];
	char path[PATH_MAX], buf[5];
	struct stat st200, st1000, st;
	int fd, i;

	test_init(argc, argv);
	test_path(path, sizeof(path), "data");
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "hello world", 11) != 11)
		fail("%s: %m", path);
	if (dup2(fd, 200) != 200 || dup3(fd, 1000, O_CLOEXEC) != 1000)
		fail("dup: %m");
	close(fd);
	if (fcntl(200, F_SETFD, 0) || lseek(200, 6, SEEK_SET) != 6)
		fail("fcntl: %m");
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);	/* the lowest free fd */
	if (fstat(200, &st200) || fstat(1000, &st1000))
		fail("fstat: %m");

	/* The table the child will have: this one, with stdio on /dev/null. */
	list_fds(before);
	before[0] = before[1] = before[2] = 1;

	test_daemon();
	test_waitsig();

	list_fds(after);
	for (i = 0; i < MAXFD; i++)
		if (before[i] != after[i])
			fail("fd %d is %s", i, after[i] ? "open, but was not" : "no longer open");
	CHECK_EQ(fcntl(200, F_GETFD), 0);
	CHECK_EQ(fcntl(1000, F_GETFD), FD_CLOEXEC);
	CHECK_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
	if (fstat(200, &st) || st.st_ino != st200.st_ino || st.st_dev != st200.st_dev)
		fail("fd 200 is another file");
	if (fstat(1000, &st) || st.st_ino != st1000.st_ino)
		fail("fd 1000 is another file");
	/* 200 and 1000 share the open file description (and so the offset). */
	CHECK_EQ(lseek(1000, 0, SEEK_CUR), 6);
	if (read(200, buf, 5) != 5 || memcmp(buf, "world", 5))
		fail("read from fd 200: %m");
	CHECK_EQ(lseek(1000, 0, SEEK_CUR), 11);
	pass();
	return 0;
}
