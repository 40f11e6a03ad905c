/* The umask survives and still applies to new files. */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

#define MASK 0257

int main(int argc, char **argv)
{
	char path[4096];
	struct stat st;
	mode_t old;
	int fd;

	test_init(argc, argv);
	umask(MASK);

	test_daemon();
	test_waitsig();

	old = umask(MASK);
	if (old != MASK)
		fail("umask is %#o, expected %#o", old, MASK);
	test_path(path, sizeof(path), "new");
	unlink(path);
	fd = open(path, O_CREAT | O_WRONLY | O_EXCL, 0666);
	if (fd < 0 || fstat(fd, &st))
		fail("%s: %m", path);
	close(fd);
	unlink(path);
	if ((st.st_mode & 0777) != (0666 & ~MASK))
		fail("new file has mode %#o, expected %#o", st.st_mode & 0777, 0666 & ~MASK);
	pass();
	return 0;
}
