// SPDX-License-Identifier: GPL-2.0
/*
 * Small helpers the fd kinds share: how devices and open flags are saved and
 * reused, and which of a task's fds are sockets.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "files/files-kind.h"
#include "log.h"

uint32_t files_encode_dev(dev_t dev)
{
	unsigned int ma = major(dev), mi = minor(dev);

	return (mi & 0xff) | (ma << 8) | ((mi & ~0xffu) << 12);
}

int files_reopen_flags(unsigned int flags)
{
	flags &= ~(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC);
	/* An O_TMPFILE file is reopened as the plain file it has become. */
	if ((flags & O_TMPFILE) == O_TMPFILE)
		flags &= ~O_TMPFILE;
	/* A terminal must never become our controlling tty by being opened. */
	return flags | O_NOCTTY;
}

int files_task_sockets(pid_t pid, int (*fn)(void *arg, uint32_t ino, int fd), void *arg)
{
	char path[64], link[64 + 256];
	struct dirent *de;
	struct stat st;
	DIR *dir;
	int ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	dir = opendir(path);
	if (!dir) {
		pr_perror("pid %d: cannot open %s", pid, path);
		return -1;
	}
	while (!ret && (errno = 0, de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", path, de->d_name);
		if (!stat(link, &st) && S_ISSOCK(st.st_mode))
			ret = fn(arg, st.st_ino, atoi(de->d_name));
	}
	if (!ret && errno) {
		pr_perror("pid %d: cannot read %s", pid, path);
		ret = -1;
	}
	closedir(dir);
	return ret;
}
