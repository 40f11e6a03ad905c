/*
 * pty slaves bind-mounted elsewhere, as runc binds a container's console on
 * /dev/console: in the "ns" flavour's own devpts, ptys 0 and 1, their slaves
 * bound on /dev/console0 and /dev/console1 (files of the flavour's tmpfs
 * /dev); the test holds both masters and slave 0 opened through its bind,
 * slave 1 never opened. The restore must make ptys 0 and 1 before it can
 * bind them, and the files must then be those very ptys.
 * After restore: the binds are slaves 0 and 1, the masters ptys 0 and 1; a
 * line typed into master 0 is read from /dev/console0, one written into a
 * new open of /dev/console1 is read from master 1.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "pty-fresh.h"
#include "zdtmtst.h"

static void bind_slave(unsigned int n)
{
	char from[32], to[32];
	int fd;

	snprintf(from, sizeof(from), "/dev/pts/%u", n);
	snprintf(to, sizeof(to), "/dev/console%u", n);
	fd = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || close(fd) || mount(from, to, NULL, MS_BIND, NULL))
		fail("bind %s on %s: %m", from, to);
}

static void read_line(int fd, const char *want, const char *what)
{
	char buf[64];
	ssize_t n;

	n = read(fd, buf, sizeof(buf));
	if (n != (ssize_t)strlen(want) || memcmp(buf, want, n))
		fail("%s read %zd bytes, expected %zu", what, n, strlen(want));
}

int main(int argc, char **argv)
{
	int m0, m1, console, fd;
	struct stat st;
	unsigned int n;

	test_init(argc, argv);
	test_daemon();
	m0 = new_pty(0);
	m1 = new_pty(1);
	bind_slave(0);
	bind_slave(1);
	console = open("/dev/console0", O_RDWR | O_NOCTTY);
	if (console < 0)
		fail("open /dev/console0: %m");
	test_waitsig();

	CHECK_EQ(fstat(console, &st), 0);
	CHECK_EQ(st.st_rdev, makedev(136, 0));
	CHECK_EQ(stat("/dev/console1", &st), 0);
	CHECK_EQ(st.st_rdev, makedev(136, 1));
	CHECK_EQ(ioctl(m0, TIOCGPTN, &n), 0);
	CHECK_EQ(n, 0);
	CHECK_EQ(ioctl(m1, TIOCGPTN, &n), 0);
	CHECK_EQ(n, 1);
	if (write(m0, "to0\n", 4) != 4)
		fail("write to master 0: %m");
	read_line(console, "to0\n", "/dev/console0");
	fd = open("/dev/console1", O_RDWR | O_NOCTTY);
	if (fd < 0 || write(fd, "to1\n", 4) != 4)
		fail("open and write /dev/console1: %m");
	read_line(m1, "to1\r\n", "master 1");
	pass();
	return 0;
}
