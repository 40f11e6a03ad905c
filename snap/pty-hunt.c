// SPDX-License-Identifier: GPL-2.0
/*
 * A pty with a given index, made again at restore: see pty-hunt.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "log.h"
#include "pty-hunt.h"

#define PTY_MAX 4096 /* /proc/sys/kernel/pty/max by default: the most a hunt keeps */

int pty_hunt(int dirfd, const char *ptmx, int flags, uint32_t want, uint32_t *got,
	     const char *who)
{
	int *spare, fd = -1;
	size_t nr_spare = 0;
	unsigned int n;

	spare = malloc((want < PTY_MAX ? want : PTY_MAX) * sizeof(*spare) + sizeof(*spare));
	if (!spare) {
		pr_err("%s: out of memory", who);
		return -1;
	}
	for (;;) {
		fd = openat(dirfd, ptmx, flags);
		if (fd < 0 || ioctl(fd, TIOCGPTN, &n)) {
			pr_perror("%s: cannot make pty %u through %s", who, want, ptmx);
			if (fd >= 0)
				close(fd);
			fd = -1;
			break;
		}
		*got = n;
		/* Each open goes higher: at most @want of them are below it. */
		if (n >= want || nr_spare >= want || nr_spare >= PTY_MAX)
			break;
		spare[nr_spare++] = fd;
	}
	while (nr_spare)
		close(spare[--nr_spare]);
	free(spare);
	if (fd >= 0 && *got != want)
		pr_warn("pty /dev/pts/%u is in use: restored as /dev/pts/%u (its processes see "
			"the new name)",
			want, *got);
	return fd;
}
