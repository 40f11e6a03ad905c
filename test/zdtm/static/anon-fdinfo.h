/* SPDX-License-Identifier: GPL-2.0 */
/* The anon-inode fd tests: a field of /proc/self/fdinfo/FD, and file identity. */
#ifndef ZDTM_ANON_FDINFO_H
#define ZDTM_ANON_FDINFO_H

#include <fcntl.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <linux/kcmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtmtst.h"

/* /proc/self/fdinfo/@fd into @buf (NUL-terminated); fail()s. */
static inline void fdinfo_read(int fd, char *buf, size_t size)
{
	char path[64];
	ssize_t n, len = 0;
	int f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = open(path, O_RDONLY);
	if (f < 0)
		fail("open %s: %m", path);
	while ((n = read(f, buf + len, size - 1 - len)) > 0)
		len += n;
	close(f);
	buf[len] = '\0';
}

/* The text after "@name" at the start of a line of fd @fd's fdinfo, in @val; fail()s if none. */
static inline void fdinfo_field(int fd, const char *name, char *val, size_t size)
{
	static char buf[1 << 16];
	size_t len = strlen(name);

	fdinfo_read(fd, buf, sizeof(buf));
	for (char *l = buf; l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		if (strncmp(l, name, len))
			continue;
		l += len;
		while (*l == ' ' || *l == '\t')
			l++;
		snprintf(val, size, "%.*s", (int)strcspn(l, "\n"), l);
		return;
	}
	fail("fd %d: no '%s' in its fdinfo", fd, name);
}

static inline unsigned long long fdinfo_ull(int fd, const char *name, int base)
{
	char val[128];

	fdinfo_field(fd, name, val, sizeof(val));
	return strtoull(val, NULL, base);
}

/* 1 if fd @a of @pa and fd @b of @pb are one open file description. */
static inline int same_file(pid_t pa, int a, pid_t pb, int b)
{
	return syscall(SYS_kcmp, pa, pb, KCMP_FILE, a, b) == 0;
}

/* One file an epoll watches, as its fdinfo shows it. */
struct epoll_tfd {
	unsigned int tfd, events;
	unsigned long long data;
};

static inline int cmp_epoll_tfd(const void *a, const void *b)
{
	const struct epoll_tfd *x = a, *y = b;

	if (x->tfd != y->tfd)
		return x->tfd < y->tfd ? -1 : 1;
	return (x->data > y->data) - (x->data < y->data);
}

/* epoll @fd's watched files, sorted by (tfd, data), into @v (room for @max): how many. */
static inline int epoll_tfds(int fd, struct epoll_tfd *v, int max)
{
	static char buf[1 << 16];
	int n = 0;

	fdinfo_read(fd, buf, sizeof(buf));
	for (char *l = buf; l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		if (strncmp(l, "tfd:", 4))
			continue;
		if (n == max)
			fail("epoll %d watches more than %d files", fd, max);
		if (sscanf(l, "tfd: %u events: %x data: %llx", &v[n].tfd, &v[n].events,
			   &v[n].data) != 3)
			fail("epoll %d: cannot read its fdinfo line %.40s", fd, l);
		n++;
	}
	qsort(v, n, sizeof(*v), cmp_epoll_tfd);
	return n;
}

/* fail() unless epoll @fd watches what it did (@v, @n from epoll_tfds()). */
static inline void epoll_tfds_same(int fd, const struct epoll_tfd *v, int n)
{
	struct epoll_tfd now[64];
	int m = epoll_tfds(fd, now, 64);

	for (int i = 0; i < n || i < m; i++) {
		if (i >= n || i >= m || memcmp(&v[i], &now[i], sizeof(*v)))
			fail("epoll %d: watched file %d is tfd %u events %#x data %#llx, it was "
			     "tfd %u events %#x data %#llx (%d files, were %d)",
			     fd, i, i < m ? now[i].tfd : 0, i < m ? now[i].events : 0,
			     i < m ? now[i].data : 0, i < n ? v[i].tfd : 0,
			     i < n ? v[i].events : 0, i < n ? v[i].data : 0, m, n);
	}
}

/* The data of the events epoll @fd has ready now (timeout 0), sorted, in @v: how many. */
static inline int epoll_ready(int fd, unsigned long long *v, int max)
{
	struct epoll_event ev[64];
	int n = epoll_wait(fd, ev, max < 64 ? max : 64, 0);

	if (n < 0)
		fail("epoll_wait: %m");
	for (int i = 0; i < n; i++)
		v[i] = ev[i].data.u64;
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			unsigned long long t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return n;
}

#endif
