// SPDX-License-Identifier: GPL-2.0
/*
 * A mapping of a socket ("socket:[INO]" in maps). Of the sockets that can be
 * mapped, snap saves a packet socket's receive ring (files/packet-ring.c):
 * restore sets the ring up again and maps it from the process's fd of that
 * socket, so the process must hold one. The others (TCP's zero-copy receive,
 * AF_XDP's umem and rings) are refused by name.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "proc/proc.h"

/* Whether /proc/PID/net/packet, the task's network namespace's, lists @ino. */
static int is_packet_socket(pid_t pid, unsigned long ino)
{
	char path[64], line[256];
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/net/packet", pid);
	f = fopen(path, "re");
	if (!f) {
		pr_perror("pid %d: cannot read %s", pid, path);
		return -1;
	}
	/* sk RefCnt Type Proto Iface R Rmem User Inode */
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long i;

		found = sscanf(line, "%*s %*s %*s %*s %*s %*s %*s %*s %lu", &i) == 1 && i == ino;
	}
	fclose(f);
	return found;
}

/* Whether one of @pid's fds is socket @ino. */
static int holds_socket(pid_t pid, unsigned long ino)
{
	char path[64], want[48], link[48];
	struct dirent *de;
	int found = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d) {
		pr_perror("pid %d: cannot list %s", pid, path);
		return -1;
	}
	snprintf(want, sizeof(want), "socket:[%lu]", ino);
	while (!found && (de = readdir(d))) {
		ssize_t n = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);

		found = n > 0 && (size_t)n == strlen(want) && !memcmp(link, want, n);
	}
	closedir(d);
	return found;
}

int vma_socket_check(pid_t pid, const struct vma *v)
{
	unsigned long ino = v->ino;
	int ret = is_packet_socket(pid, ino);

	if (ret < 0)
		return -1;
	if (!ret) {
		pr_err("pid %d mapping %lx-%lx (%s): a mapped socket other than a packet socket's "
		       "ring (TCP zero-copy receive, AF_XDP) is not supported",
		       pid, (unsigned long)v->start, (unsigned long)v->end, v->path);
		return -1;
	}
	ret = holds_socket(pid, ino);
	if (ret < 0)
		return -1;
	if (!ret) {
		pr_err("pid %d mapping %lx-%lx (%s): the process holds no fd of the packet socket "
		       "it maps, which restore would map it from; not supported yet",
		       pid, (unsigned long)v->start, (unsigned long)v->end, v->path);
		return -1;
	}
	return 0;
}
