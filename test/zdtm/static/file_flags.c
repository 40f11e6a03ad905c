/* Open flags (O_RDONLY, O_WRONLY, O_APPEND, ...) survive and act; dup'ed fds share an offset. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

#define LEN 1000

static int open_file(const char *name, int flags, unsigned char *data)
{
	char path[PATH_MAX];
	int fd;

	test_path(path, sizeof(path), name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, data, LEN) != LEN)
		fail("%s: %m", path);
	close(fd);
	fd = open(path, flags);
	if (fd < 0)
		fail("%s: %m", path);
	return fd;
}

static void expect_flags(const char *what, int fd, int flags)
{
	const int mask = O_ACCMODE | O_APPEND | O_NONBLOCK | O_SYNC | O_DSYNC | O_NOATIME;
	int got = fcntl(fd, F_GETFL);

	if (got < 0 || (got & mask) != flags)
		fail("%s: flags %#o, expected %#o", what, got & mask, flags);
}

int main(int argc, char **argv)
{
	unsigned char data[LEN], buf[LEN];
	int rd, wr, app, dup1, dup2;
	struct stat st;

	test_init(argc, argv);
	datagen(data, LEN, 0xf1a9);
	rd = open_file("rdonly", O_RDONLY | O_NOATIME, data);
	wr = open_file("wronly", O_WRONLY | O_NONBLOCK | O_DSYNC, data);
	app = open_file("append", O_WRONLY | O_APPEND, data);
	dup1 = open_file("shared", O_RDWR, data);
	dup2 = dup(dup1);
	if (lseek(dup1, 100, SEEK_SET) != 100 || lseek(wr, 10, SEEK_SET) != 10)
		fail("lseek: %m");

	test_daemon();
	test_waitsig();

	expect_flags("O_RDONLY", rd, O_RDONLY | O_NOATIME);
	expect_flags("O_WRONLY", wr, O_WRONLY | O_NONBLOCK | O_DSYNC);
	expect_flags("O_APPEND", app, O_WRONLY | O_APPEND);
	expect_flags("dup", dup2, O_RDWR);

	/* The access modes are enforced. */
	if (write(rd, "x", 1) >= 0 || errno != EBADF)
		fail("write to an O_RDONLY fd: %m");
	if (read(wr, buf, 1) >= 0 || errno != EBADF)
		fail("read from an O_WRONLY fd: %m");
	CHECK_EQ(lseek(wr, 0, SEEK_CUR), 10);

	/* O_APPEND writes at the end wherever the offset is. */
	lseek(app, 0, SEEK_SET);
	if (write(app, "tail", 4) != 4 || fstat(app, &st))
		fail("append: %m");
	CHECK_EQ(st.st_size, LEN + 4);
	CHECK_EQ(lseek(app, 0, SEEK_CUR), LEN + 4);

	/* Both fds are one open file description: the offset is shared. */
	CHECK_EQ(lseek(dup2, 0, SEEK_CUR), 100);
	if (read(dup1, buf, 50) != 50 || memcmp(buf, data + 100, 50))
		fail("read through the first fd: %m");
	CHECK_EQ(lseek(dup2, 0, SEEK_CUR), 150);
	if (read(dup2, buf, 50) != 50 || memcmp(buf, data + 150, 50))
		fail("read through the dup'ed fd: %m");
	CHECK_EQ(lseek(dup1, 0, SEEK_CUR), 200);
	pass();
	return 0;
}
