/* /dev/null, /dev/zero, /dev/urandom, /dev/full stay open as those devices, same flags. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "zdtmtst.h"

struct dev {
	const char *path;
	int flags;
	unsigned int major, minor;
	int fd;
};

int main(int argc, char **argv)
{
	struct dev devs[] = {
		{ "/dev/null", O_RDWR, 1, 3, -1 },
		{ "/dev/zero", O_RDONLY, 1, 5, -1 },
		{ "/dev/urandom", O_RDONLY | O_NONBLOCK, 1, 9, -1 },
		{ "/dev/full", O_WRONLY | O_APPEND, 1, 7, -1 },
	};
	unsigned char buf[4096];
	struct stat st;
	size_t i;

	test_init(argc, argv);
	for (i = 0; i < ARRAY_SIZE(devs); i++) {
		devs[i].fd = open(devs[i].path, devs[i].flags);
		if (devs[i].fd < 0)
			fail("%s: %m", devs[i].path);
	}

	test_daemon();
	test_waitsig();

	for (i = 0; i < ARRAY_SIZE(devs); i++) {
		int fl = fcntl(devs[i].fd, F_GETFL);

		if (fstat(devs[i].fd, &st))
			fail("fstat %s: %m", devs[i].path);
		if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != devs[i].major ||
		    minor(st.st_rdev) != devs[i].minor)
			fail("fd %d is %u:%u, expected %s (%u:%u)", devs[i].fd, major(st.st_rdev),
			     minor(st.st_rdev), devs[i].path, devs[i].major, devs[i].minor);
		if ((fl & (O_ACCMODE | O_APPEND | O_NONBLOCK)) != devs[i].flags)
			fail("%s: flags %#o, expected %#o", devs[i].path, fl, devs[i].flags);
	}

	/* Each behaves as its device. */
	if (read(devs[0].fd, buf, sizeof(buf)) != 0 || write(devs[0].fd, buf, 10) != 10)
		fail("/dev/null: %m");
	datagen(buf, sizeof(buf), 1);
	if (read(devs[1].fd, buf, sizeof(buf)) != sizeof(buf) || zerochk(buf, sizeof(buf)) >= 0)
		fail("/dev/zero does not read zeros");
	if (read(devs[2].fd, buf, 64) != 64 || zerochk(buf, 64) < 0)
		fail("/dev/urandom reads nothing or zeros");
	if (write(devs[3].fd, buf, 1) >= 0 || errno != ENOSPC)
		fail("/dev/full accepted a write (%m)");
	pass();
	return 0;
}
