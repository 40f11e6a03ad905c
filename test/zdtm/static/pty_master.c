/*
 * A pty master whose slave the process does not hold:
 *   closed  the slave was opened, written to ("bye\n", ONLCR) and closed:
 *           the master reads "bye\r\n", then EIO, and polls POLLHUP;
 *   unused  the slave was never opened, the pty is locked: no POLLHUP, the
 *           slave cannot be opened; "typed" to it was echoed back to the
 *           master. (What waits for the slave's first reader is not saved:
 *           reading it would open the slave.)
 * After restore the pty is in the same state; the process never had a
 * slave fd (none is left behind by the restore).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "zdtmtst.h"

static int hup(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, 0) < 0)
		fail("poll: %m");
	return !!(p.revents & POLLHUP);
}

int main(int argc, char **argv)
{
	const char *mode;
	char name[64], buf[64];
	int master, slave, v, fd;
	ssize_t n;

	test_init(argc, argv);
	mode = test_argc > 1 ? test_argv[1] : "closed";
	test_daemon();
	master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0 || grantpt(master) || ptsname_r(master, name, sizeof(name)))
		fail("posix_openpt: %m");
	if (!strcmp(mode, "closed")) {
		if (unlockpt(master))
			fail("unlockpt: %m");
		slave = open(name, O_RDWR | O_NOCTTY);
		if (slave < 0 || write(slave, "bye\n", 4) != 4)
			fail("slave: %m");
		close(slave);
	} else if (write(master, "typed", 5) != 5) {
		fail("write: %m");
	}
	test_waitsig();

	for (fd = 3; fd < 1024; fd++)
		if (fd != master && fcntl(fd, F_GETFD) >= 0)
			fail("fd %d is open", fd);
	if (!strcmp(mode, "closed")) {
		CHECK_EQ(hup(master), 1);
		n = read(master, buf, sizeof(buf));
		if (n != 5 || memcmp(buf, "bye\r\n", 5))
			fail("the master read %zd bytes, expected \"bye\\r\\n\"", n);
		if (read(master, buf, sizeof(buf)) >= 0 || errno != EIO)
			fail("the master does not read EIO after the data");
		pass();
		return 0;
	}
	CHECK_EQ(hup(master), 0);
	n = read(master, buf, sizeof(buf));
	if (n != 5 || memcmp(buf, "typed", 5))
		fail("the master read %zd bytes, expected the echo \"typed\"", n);
	CHECK_EQ(ioctl(master, TIOCGPTLCK, &v), 0);
	CHECK_EQ(v, 1);
	if (open(name, O_RDWR | O_NOCTTY) >= 0 || errno != EIO)
		fail("%s could be opened, or failed otherwise: %m", name);
	if (unlockpt(master))
		fail("unlockpt: %m");
	slave = open(name, O_RDWR | O_NOCTTY);
	if (slave < 0 || write(slave, "x", 1) != 1 || read(master, buf, 1) != 1 || buf[0] != 'x')
		fail("the slave does not reach the master: %m");
	pass();
	return 0;
}
