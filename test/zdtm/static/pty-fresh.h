/*
 * For the tests of a devpts instance of their own (the "ns" flavour's): a
 * new pty, which must get index @want there (the lowest free one).
 */
#ifndef ZDTM_PTY_FRESH_H
#define ZDTM_PTY_FRESH_H

#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#include "zdtmtst.h"

static inline int new_pty(unsigned int want)
{
	unsigned int n;
	int fd = posix_openpt(O_RDWR | O_NOCTTY);

	if (fd < 0 || unlockpt(fd) || ioctl(fd, TIOCGPTN, &n))
		fail("posix_openpt: %m");
	if (n != want)
		fail("a fresh devpts gave pty %u, expected %u: /dev/pts is not the test's own", n,
		     want);
	return fd;
}

#endif
