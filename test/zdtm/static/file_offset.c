/* A regular O_RDWR file keeps its mid-file offset and reading goes on with the right bytes. */
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

#define LEN	(64 * 1024 + 17)
#define OFFSET	12345
#define SEED	0x0ff5e7

int main(int argc, char **argv)
{
	static unsigned char data[LEN], got[LEN];
	char path[PATH_MAX];
	struct stat st, pst;
	ssize_t n;
	int fd;

	test_init(argc, argv);
	test_path(path, sizeof(path), "data");
	datagen(data, LEN, SEED);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, data, LEN) != LEN)
		fail("%s: %m", path);
	if (lseek(fd, OFFSET, SEEK_SET) != OFFSET)
		fail("lseek: %m");

	test_daemon();
	test_waitsig();

	CHECK_EQ(lseek(fd, 0, SEEK_CUR), OFFSET);
	CHECK_EQ(fcntl(fd, F_GETFL) & (O_ACCMODE | O_APPEND), O_RDWR);
	if (fstat(fd, &st) || stat(path, &pst))
		fail("stat: %m");
	if (st.st_ino != pst.st_ino || st.st_dev != pst.st_dev)
		fail("the fd is not %s", path);
	CHECK_EQ(st.st_size, LEN);

	n = read(fd, got, LEN);
	if (n != LEN - OFFSET)
		fail("read %zd bytes from offset %d, expected %d", n, OFFSET, LEN - OFFSET);
	if (memcmp(got, data + OFFSET, n))
		fail("data read from offset %d differ", OFFSET);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), LEN);
	pass();
	return 0;
}
