/* A deleted open file keeps data, size, offset and st_nlink 0, and is not recreated. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

#define LEN	10000
#define OFFSET	4321
#define SEED	0x6405

int main(int argc, char **argv)
{
	static unsigned char data[LEN], got[LEN];
	struct stat st, st2;
	char path[PATH_MAX];
	int fd, fd2;

	test_init(argc, argv);
	test_path(path, sizeof(path), "deleted");
	datagen(data, LEN, SEED);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0640);
	if (fd < 0 || write(fd, data, LEN) != LEN)
		fail("%s: %m", path);
	fd2 = open(path, O_RDONLY);
	if (fd2 < 0)
		fail("%s: %m", path);
	if (lseek(fd, OFFSET, SEEK_SET) != OFFSET || unlink(path))
		fail("lseek/unlink: %m");

	test_daemon();
	test_waitsig();

	if (fstat(fd, &st) || fstat(fd2, &st2))
		fail("fstat: %m");
	CHECK_EQ(st.st_nlink, 0);
	CHECK_EQ(st.st_size, LEN);
	CHECK_EQ(st.st_mode & 0777, 0640);
	if (st.st_ino != st2.st_ino || st.st_dev != st2.st_dev)
		fail("the two fds are no longer the same file");
	if (access(path, F_OK) == 0 || errno != ENOENT)
		fail("%s exists again", path);

	CHECK_EQ(lseek(fd, 0, SEEK_CUR), OFFSET);
	CHECK_EQ(lseek(fd2, 0, SEEK_CUR), 0);
	if (read(fd, got, LEN) != LEN - OFFSET || memcmp(got, data + OFFSET, LEN - OFFSET))
		fail("reading on from offset %d gives other data", OFFSET);
	if (read(fd2, got, LEN) != LEN)
		fail("read: %m");
	CHECK_DATA(got, LEN, SEED);

	/* Still one file: a write through one fd shows through the other. */
	if (pwrite(fd, "XYZ", 3, 10) != 3 || pread(fd2, got, 3, 10) != 3 || memcmp(got, "XYZ", 3))
		fail("a write through one fd does not show through the other");
	pass();
	return 0;
}
