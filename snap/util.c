// SPDX-License-Identifier: GPL-2.0
/* Small helpers with no better home; declared in ctx.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctx.h"
#include "log.h"

/* Stats and timeouts measure intervals, so a clock that never jumps. */
uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

long long file_field(const char *path, const char *key)
{
	size_t len = strlen(key);
	long long v = 0;
	char line[256];
	FILE *f = fopen(path, "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, len) && line[len] == ':') {
			v = strtoll(line + len + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

int write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

int pread_full(int fd, void *buf, size_t len, off_t off)
{
	char *p = buf;
	ssize_t n;

	while (len) {
		n = pread(fd, p, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!n)
				errno = ENODATA;
			return -1;
		}
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

bool all_zero(const void *buf, size_t len)
{
	const char *p = buf;

	return !p[0] && !memcmp(p, p + 1, len - 1);
}

int pwrite_full(int fd, const void *buf, size_t len, off_t off)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = pwrite(fd, p, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!n)
				errno = EIO;
			return -1;
		}
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

int reopen_fd(int fd, int flags)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return open(path, flags);
}

bool cut_deleted(char *path)
{
	size_t len = strlen(path), slen = strlen(DELETED_SUFFIX);

	if (len <= slen || strcmp(path + len - slen, DELETED_SUFFIX))
		return false;
	path[len - slen] = '\0';
	return true;
}

int open_own_mapping(const void *addr, int flags)
{
	unsigned long start, end;
	char line[256], path[96];
	FILE *f = fopen("/proc/self/maps", "re");
	int ret = -1;

	if (!f)
		return -1;
	errno = ENOENT;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx", &start, &end) != 2 || start != (unsigned long)addr)
			continue;
		snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", start, end);
		ret = open(path, flags);
		break;
	}
	fclose(f);
	return ret;
}

int write_pidfile(const char *path, pid_t pid)
{
	FILE *f = fopen(path, "we");

	if (!f || fprintf(f, "%d\n", pid) < 0 || fclose(f)) {
		pr_perror("cannot write pidfile %s", path);
		return -1;
	}
	return 0;
}

int pagemap_append(PagemapEntry ***v, size_t *n, uint64_t vaddr, uint64_t nr_pages)
{
	PagemapEntry **pp = realloc(*v, (*n + 1) * sizeof(*pp));
	PagemapEntry *pe = malloc(sizeof(*pe));

	if (pp)
		*v = pp;
	if (!pp || !pe) {
		free(pe);
		return -1;
	}
	pagemap_entry__init(pe);
	pe->vaddr = vaddr;
	pe->nr_pages = nr_pages;
	(*v)[(*n)++] = pe;
	return 0;
}

int write_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -1;
	/* One write: what the kernel says of it is what the caller reads in errno. */
	if (write(fd, val, strlen(val)) < 0)
		ret = -1;
	close(fd);
	return ret;
}

char *mountinfo_unescape(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;

	if (!out)
		return NULL;
	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 4;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}
