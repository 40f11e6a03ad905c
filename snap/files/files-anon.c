// SPDX-License-Identifier: GPL-2.0
/* fdinfo reading for the anon-inode kinds (files-anon.h). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "files/files-anon.h"
#include "log.h"

char *anon_fdinfo(const struct fd_desc *d)
{
	size_t len = 0, cap = 4096;
	char path[64], *buf, *n;
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", d->pid, d->fd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("pid %d fd %d: cannot open %s", d->pid, d->fd, path);
		return NULL;
	}
	buf = malloc(cap);
	for (;;) {
		if (!buf)
			goto oom;
		/* An epoll's fdinfo grows with its targets: read it whole. */
		r = read(fd, buf + len, cap - 1 - len);
		if (r < 0) {
			pr_perror("pid %d fd %d: cannot read %s", d->pid, d->fd, path);
			goto err;
		}
		if (r == 0)
			break;
		len += r;
		if (len == cap - 1) {
			cap *= 2;
			n = realloc(buf, cap);
			if (!n)
				goto oom;
			buf = n;
		}
	}
	close(fd);
	buf[len] = '\0';
	return buf;
oom:
	pr_err("pid %d fd %d: out of memory for %s", d->pid, d->fd, path);
err:
	free(buf);
	close(fd);
	return NULL;
}

static const char *field(const char *info, const char *name)
{
	size_t len = strlen(name);

	for (const char *l = info; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
		if (!strncmp(l, name, len))
			return l + len;
	return NULL;
}

bool anon_has_field(const char *info, const char *name)
{
	return field(info, name) != NULL;
}

int anon_field_u64(const struct fd_desc *d, const char *info, const char *name, int base,
		   unsigned long long *val)
{
	const char *v = field(info, name);
	char *end;

	if (v) {
		errno = 0;
		*val = strtoull(v, &end, base);
		if (!errno && end != v && (*end == '\n' || *end == '\0'))
			return 0;
	}
	pr_err("pid %d fd %d: its fdinfo has no %s line this snap can read", d->pid, d->fd, name);
	return -1;
}
