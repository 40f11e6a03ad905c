// SPDX-License-Identifier: GPL-2.0
/*
 * Open file descriptions by inode, each inode's in kcmp order (files-dedup.h).
 * kcmp(KCMP_FILE) answers 0 for the same file, else 1 or 2 as a consistent
 * order of the (obfuscated) file pointers: a total order to binary-search.
 * A member is named by one (pid, fd) that holds it; the tree stays frozen,
 * so every such fd stays open while the dump runs.
 */
#include <linux/kcmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "files/files-dedup.h"
#include "log.h"

struct dedup_member {
	pid_t pid;
	int fd;
	uint32_t id;
};

struct dedup_group {
	dev_t dev;
	ino_t ino;
	struct dedup_member *m;	/* in kcmp order */
	size_t nr, cap;
};

struct file_dedup {
	struct dedup_group *g;
	size_t nr_g, cap_g;
	uint32_t *slots;	/* open addressing on (dev, ino): group index + 1, or 0 */
	size_t nr_slots;	/* a power of two, at least twice nr_g */
};

struct file_dedup *file_dedup_new(void)
{
	struct file_dedup *dd = calloc(1, sizeof(*dd));

	if (!dd)
		pr_err("out of memory for the file table");
	return dd;
}

void file_dedup_free(struct file_dedup *dd)
{
	if (!dd)
		return;
	for (size_t i = 0; i < dd->nr_g; i++)
		free(dd->g[i].m);
	free(dd->g);
	free(dd->slots);
	free(dd);
}

static size_t hash(dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ULL ^ (uint64_t)dev * 0xc2b2ae3d27d4eb4fULL;

	return h ^ (h >> 29);
}

static uint32_t *slot_of(const struct file_dedup *dd, dev_t dev, ino_t ino)
{
	size_t mask = dd->nr_slots - 1, i = hash(dev, ino) & mask;

	for (;; i = (i + 1) & mask) {
		uint32_t s = dd->slots[i];

		if (!s || (dd->g[s - 1].dev == dev && dd->g[s - 1].ino == ino))
			return &dd->slots[i];
	}
}

static int rehash(struct file_dedup *dd)
{
	size_t n = dd->nr_slots ? dd->nr_slots * 2 : 256;
	uint32_t *old = dd->slots;

	dd->slots = calloc(n, sizeof(*dd->slots));
	if (!dd->slots) {
		dd->slots = old;
		pr_err("out of memory for the file table");
		return -1;
	}
	dd->nr_slots = n;
	for (size_t i = 0; i < dd->nr_g; i++)
		*slot_of(dd, dd->g[i].dev, dd->g[i].ino) = i + 1;
	free(old);
	return 0;
}

/* The group of @d's inode, made empty if new; its index, or -1. */
static ssize_t group_of(struct file_dedup *dd, const struct fd_desc *d)
{
	struct dedup_group *g;
	uint32_t *s;

	if (2 * (dd->nr_g + 1) > dd->nr_slots && rehash(dd))
		return -1;
	s = slot_of(dd, d->st.st_dev, d->st.st_ino);
	if (*s)
		return *s - 1;
	if (dd->nr_g == dd->cap_g) {
		size_t cap = dd->cap_g ? dd->cap_g * 2 : 64;

		g = realloc(dd->g, cap * sizeof(*g));
		if (!g) {
			pr_err("out of memory for the file table");
			return -1;
		}
		dd->g = g;
		dd->cap_g = cap;
	}
	g = &dd->g[dd->nr_g];
	memset(g, 0, sizeof(*g));
	g->dev = d->st.st_dev;
	g->ino = d->st.st_ino;
	*s = ++dd->nr_g;
	return dd->nr_g - 1;
}

int file_dedup_find(struct file_dedup *dd, const struct fd_desc *d, uint32_t *id,
		    struct dedup_pos *pos)
{
	ssize_t gi = group_of(dd, d);
	struct dedup_group *g;
	size_t lo = 0, hi, mid;
	long r;

	*id = 0;
	if (gi < 0)
		return -1;
	g = &dd->g[gi];
	hi = g->nr;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		r = syscall(SYS_kcmp, g->m[mid].pid, d->pid, KCMP_FILE, g->m[mid].fd, d->fd);
		if (r < 0) {
			pr_perror("pid %d fd %d: kcmp against pid %d fd %d", d->pid, d->fd,
				  g->m[mid].pid, g->m[mid].fd);
			return -1;
		}
		if (r == 0) {
			*id = g->m[mid].id;
			return 0;
		}
		/* 1: the member's file orders before ours. */
		if (r == 1)
			lo = mid + 1;
		else
			hi = mid;
	}
	pos->group = gi;
	pos->at = lo;
	return 0;
}

int file_dedup_add(struct file_dedup *dd, const struct fd_desc *d, uint32_t id,
		   const struct dedup_pos *pos)
{
	struct dedup_group *g = &dd->g[pos->group];
	struct dedup_member *m;

	if (g->nr == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 4;

		m = realloc(g->m, cap * sizeof(*m));
		if (!m) {
			pr_err("pid %d fd %d: out of memory for the file table", d->pid, d->fd);
			return -1;
		}
		g->m = m;
		g->cap = cap;
	}
	m = &g->m[pos->at];
	memmove(m + 1, m, (g->nr - pos->at) * sizeof(*m));
	m->pid = d->pid;
	m->fd = d->fd;
	m->id = id;
	g->nr++;
	return 0;
}
