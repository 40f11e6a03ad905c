/*
 * The ptys of a container's own devpts instance keep their numbers: in the
 * "ns" flavour the test's /dev/pts is a fresh devpts of its own. It makes
 * ptys 0 to 3, closes 0 and 2 (never opening their slaves), and keeps the
 * master of 1 (slave never opened) and the master and an open slave of 3,
 * with a partial line typed into 3.
 * After restore: the masters are ptys 1 and 3 again, the slave is
 * /dev/pts/3, /dev/pts holds 1 and 3 and nothing else (the restore left no
 * pty of its own behind), the partial line is still there and a new line
 * typed into the master of 3 completes it at the slave.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "pty-fresh.h"
#include "zdtmtst.h"

/* The names in /dev/pts but ptmx, as a bit set of indexes below 32. */
static unsigned int pts_listed(void)
{
	unsigned int set = 0;
	struct dirent *de;
	DIR *d = opendir("/dev/pts");

	if (!d)
		fail("opendir /dev/pts: %m");
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, "ptmx"))
			continue;
		if (atoi(de->d_name) >= 32)
			fail("/dev/pts/%s is there", de->d_name);
		set |= 1u << atoi(de->d_name);
	}
	closedir(d);
	return set;
}

int main(int argc, char **argv)
{
	int pty[4], slave, dfd;
	char link[64], target[64], buf[64];
	unsigned int n;
	ssize_t len;

	test_init(argc, argv);
	test_daemon();
	for (unsigned int i = 0; i < 4; i++)
		pty[i] = new_pty(i);
	close(pty[0]);
	close(pty[2]);
	slave = open("/dev/pts/3", O_RDWR | O_NOCTTY);
	if (slave < 0)
		fail("open /dev/pts/3: %m");
	if (write(pty[3], "half", 4) != 4)
		fail("write to the master: %m");
	CHECK_EQ(pts_listed(), (1u << 1) | (1u << 3));
	test_waitsig();

	CHECK_EQ(ioctl(pty[1], TIOCGPTN, &n), 0);
	CHECK_EQ(n, 1);
	CHECK_EQ(ioctl(pty[3], TIOCGPTN, &n), 0);
	CHECK_EQ(n, 3);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", slave);
	len = readlink(link, target, sizeof(target) - 1);
	target[len > 0 ? len : 0] = '\0';
	if (strcmp(target, "/dev/pts/3"))
		fail("the slave is %s, expected /dev/pts/3", target);
	CHECK_EQ(pts_listed(), (1u << 1) | (1u << 3));
	/* The echo of the partial line, then of the rest, at the master. */
	if (write(pty[3], " full\n", 6) != 6)
		fail("write to the master: %m");
	len = read(slave, buf, sizeof(buf));
	if (len != 10 || memcmp(buf, "half full\n", 10))
		fail("the slave read %zd bytes, expected \"half full\\n\"", len);
	for (dfd = 3; dfd < 1024; dfd++)
		if (dfd != pty[1] && dfd != pty[3] && dfd != slave && fcntl(dfd, F_GETFD) >= 0)
			fail("fd %d is open", dfd);
	pass();
	return 0;
}
