// SPDX-License-Identifier: GPL-2.0
/*
 * Resolving a process's pages through the parent chain (page-chain.h). Each
 * set of the chain is a level: its pagemap, and where each of its own runs
 * starts in its pages file. A range in the parent is looked up in the next
 * level, and so on until a level has the pages itself; levels are opened
 * only when a range reaches them.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctx.h"
#include "image.h"
#include "inventory.pb-c.h"
#include "log.h"
#include "mem/page-chain.h"

#define MAX_LEVELS 64
#define COPY_BUF (1UL << 20)

struct level {
	int dirfd;
	PagemapEntry **pm;
	size_t nr;
	uint64_t *first;	/* own entries: their first page in the pages file */
	int pages_fd;
	uint64_t parent_id;	/* what its inventory says of its own parent */
};

struct chain {
	pid_t pid;
	const char *dir;
	struct level lv[MAX_LEVELS];
	int nr_lv;
	char *buf;
	int out;
};

bool page_chain_needed(PagemapEntry **pm, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		if (pm[i]->in_parent)
			return true;
	return false;
}

static void level_free(struct level *l, bool own_pm)
{
	if (l->dirfd >= 0)
		close(l->dirfd);
	if (l->pages_fd >= 0)
		close(l->pages_fd);
	for (size_t i = 0; own_pm && i < l->nr; i++)
		protobuf_c_message_free_unpacked(&l->pm[i]->base, NULL);
	if (own_pm)
		free(l->pm);
	free(l->first);
}

/* Where each own entry starts in the pages file, and that file's length checked. */
static int level_index(struct chain *c, struct level *l, int depth)
{
	uint64_t own = 0;
	struct stat st;

	l->first = calloc(l->nr + 1, sizeof(*l->first));
	if (!l->first)
		return -1;
	for (size_t i = 0; i < l->nr; i++) {
		l->first[i] = own;
		if (!l->pm[i]->in_parent)
			own += l->pm[i]->nr_pages;
		if (i && l->pm[i]->vaddr <
				 l->pm[i - 1]->vaddr + l->pm[i - 1]->nr_pages * PAGE_SIZE) {
			pr_err("%s: parent %d: pagemap-%d.img is not in address order", c->dir,
			       depth, c->pid);
			return -1;
		}
	}
	l->pages_fd = img_open_raw(l->dirfd, "pages-%u.img", c->pid, O_RDONLY);
	if (l->pages_fd < 0)
		return -1;
	if (fstat(l->pages_fd, &st) || (uint64_t)st.st_size != own * PAGE_SIZE) {
		pr_err("%s: parent %d: pages-%d.img is %lld bytes, its pagemap describes %llu",
		       c->dir, depth, c->pid, (long long)st.st_size,
		       (unsigned long long)(own * PAGE_SIZE));
		return -1;
	}
	return 0;
}

/* Level @k + 1: the set level @k's "parent" link names, checked to be its parent. */
static int open_parent(struct chain *c, int k)
{
	struct level *up = &c->lv[k], *l = &c->lv[k + 1];
	InventoryEntry *inv = NULL;
	int ret = -1;

	if (k + 1 == MAX_LEVELS) {
		pr_err("%s: a chain of more than %d parent sets (a loop of links?)", c->dir,
		       MAX_LEVELS);
		return -1;
	}
	*l = (struct level){ .dirfd = -1, .pages_fd = -1 };
	c->nr_lv = k + 2;
	l->dirfd = openat(up->dirfd, "parent", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (l->dirfd < 0) {
		pr_perror("%s: pages of pid %d are in parent set %d, which cannot be opened "
			  "(the \"parent\" link)", c->dir, c->pid, k + 1);
		return -1;
	}
	if (img_load_one(l->dirfd, IMG_INVENTORY, 0, (ProtobufCMessage **)&inv))
		return -1;
	if (!inv->has_dump_id || inv->dump_id != up->parent_id) {
		pr_err("%s: parent set %d is not the one its child was dumped on top of (another "
		       "dump in its place?)", c->dir, k + 1);
		goto out;
	}
	l->parent_id = inv->has_parent_id ? inv->parent_id : 0;
	if (img_load_all(l->dirfd, IMG_PAGEMAP, c->pid, false, (void ***)&l->pm, &l->nr) ||
	    level_index(c, l, k + 1))
		goto out;
	ret = 0;
out:
	protobuf_c_message_free_unpacked(&inv->base, NULL);
	return ret;
}

/* Where resolved pages go, advanced as they are: memory, or else the chain's memfd at @off. */
struct sink {
	uint8_t *mem;
	off_t off;
};

static int copy_out(struct chain *c, int in, uint64_t in_page, struct sink *to, uint64_t nr)
{
	off_t from = in_page * PAGE_SIZE;
	size_t len = nr * PAGE_SIZE;

	/* Into memory straight; into the memfd through the buffer. */
	if (to->mem) {
		if (pread_full(in, to->mem, len, from))
			goto unreadable;
		to->mem += len;
		return 0;
	}
	while (len) {
		size_t n = len < COPY_BUF ? len : COPY_BUF;

		if (pread_full(in, c->buf, n, from))
			goto unreadable;
		if (pwrite(c->out, c->buf, n, to->off) != (ssize_t)n) {
			pr_perror("%s: pid %d: staging its pages", c->dir, c->pid);
			return -1;
		}
		to->off += n;
		from += n;
		len -= n;
	}
	return 0;
unreadable:
	pr_perror("%s: reading the pages of pid %d in its sets", c->dir, c->pid);
	return -1;
}

/* The entry of @l holding @addr, or -1. */
static ssize_t find_entry(const struct level *l, uint64_t addr)
{
	size_t lo = 0, hi = l->nr;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const PagemapEntry *p = l->pm[mid];

		if (addr < p->vaddr)
			hi = mid;
		else if (addr >= p->vaddr + (uint64_t)p->nr_pages * PAGE_SIZE)
			lo = mid + 1;
		else
			return mid;
	}
	return -1;
}

/* @nr pages at @addr, from level @k or above, to @to. */
static int fetch(struct chain *c, int k, uint64_t addr, uint64_t nr, struct sink *to)
{
	while (nr) {
		struct level *l = &c->lv[k];
		ssize_t e = find_entry(l, addr);
		const PagemapEntry *p;
		uint64_t off, n;

		if (e < 0) {
			pr_err("%s: pid %d: page %lx is in parent set %d, which does not have it",
			       c->dir, c->pid, (unsigned long)addr, k);
			return -1;
		}
		p = l->pm[e];
		off = (addr - p->vaddr) / PAGE_SIZE;
		n = p->nr_pages - off < nr ? p->nr_pages - off : nr;
		if (p->in_parent) {
			if (c->nr_lv == k + 1 && open_parent(c, k))
				return -1;
			if (fetch(c, k + 1, addr, n, to))
				return -1;
		} else if (copy_out(c, l->pages_fd, l->first[e] + off, to, n)) {
			return -1;
		}
		addr += n * PAGE_SIZE;
		nr -= n;
	}
	return 0;
}

static void chain_free(struct chain *c)
{
	if (!c)
		return;
	if (c->out >= 0)
		close(c->out);
	level_free(&c->lv[0], false);
	for (int k = 1; k < c->nr_lv; k++)
		level_free(&c->lv[k], true);
	free(c->buf);
	free(c);
}

/*
 * The chain of @pid's pagemap @pm (level 0, not owned); with @staged, an
 * empty memfd to resolve it into.
 */
static struct chain *chain_new(int dirfd, const char *dir, uint64_t parent_id, pid_t pid,
			       PagemapEntry **pm, size_t nr, bool staged)
{
	struct chain *c = calloc(1, sizeof(*c));
	char name[32];

	if (!c)
		return NULL;
	*c = (struct chain){ .pid = pid, .dir = dir, .nr_lv = 1, .out = -1 };
	c->lv[0] = (struct level){ .dirfd = -1, .pm = pm, .nr = nr, .pages_fd = -1,
				   .parent_id = parent_id };
	c->lv[0].dirfd = dup(dirfd);
	snprintf(name, sizeof(name), "pages-%d", pid);
	if (staged) {
		c->buf = malloc(COPY_BUF);
		c->out = memfd_create(name, MFD_CLOEXEC);
	}
	if (c->lv[0].dirfd < 0 || (staged && (!c->buf || c->out < 0))) {
		pr_perror("%s: pid %d: cannot stage its pages", dir, pid);
		goto fail;
	}
	if (level_index(c, &c->lv[0], 0))
		goto fail;
	return c;
fail:
	chain_free(c);
	return NULL;
}

int page_chain_resolve(int dirfd, const char *dir, uint64_t parent_id, pid_t pid,
		       PagemapEntry **pm, size_t nr, int *fd)
{
	struct chain *c = chain_new(dirfd, dir, parent_id, pid, pm, nr, true);
	struct sink to = {0};

	*fd = -1;
	if (!c)
		return -1;
	for (size_t i = 0; i < nr; i++) {
		PagemapEntry *p = pm[i];

		if (p->in_parent ? fetch(c, 0, p->vaddr, p->nr_pages, &to) :
				   copy_out(c, c->lv[0].pages_fd, c->lv[0].first[i], &to,
					    p->nr_pages)) {
			chain_free(c);
			return -1;
		}
	}
	for (size_t i = 0; i < nr; i++)
		pm[i]->has_in_parent = pm[i]->in_parent = false;
	*fd = c->out;
	c->out = -1;
	chain_free(c);
	return 0;
}

struct page_reader {
	const char *dir;
	pid_t pid;
	int fd;		 /* pages-PID.img, without parent runs */
	struct chain *c; /* NULL: no parent runs */
	PagemapEntry **pm;
	size_t nr;
	uint64_t *idx;	 /* per entry: the index of its first page */
	uint64_t nr_pages;
};

void page_reader_close(struct page_reader *r)
{
	if (!r)
		return;
	if (r->c)
		chain_free(r->c);
	else if (r->fd >= 0)
		close(r->fd);
	for (size_t i = 0; i < r->nr; i++)
		protobuf_c_message_free_unpacked(&r->pm[i]->base, NULL);
	free(r->pm);
	free(r->idx);
	free(r);
}

/* Every parent set the chain reaches, opened and checked now rather than mid-restore. */
static int open_chain(struct page_reader *r, int dirfd, const char *dir, pid_t pid)
{
	InventoryEntry *inv = NULL;
	int k;

	if (img_load_one(dirfd, IMG_INVENTORY, 0, (ProtobufCMessage **)&inv))
		return -1;
	r->c = chain_new(dirfd, dir, inv->has_parent_id ? inv->parent_id : 0, pid, r->pm, r->nr,
			 false);
	protobuf_c_message_free_unpacked(&inv->base, NULL);
	if (!r->c)
		return -1;
	/* Every level opened now: reads only read the chain, from any thread. */
	for (k = 0; k < r->c->nr_lv && page_chain_needed(r->c->lv[k].pm, r->c->lv[k].nr); k++)
		if (r->c->nr_lv == k + 1 && open_parent(r->c, k))
			return -1;
	return 0;
}

struct page_reader *page_reader_open(int dirfd, const char *dir, pid_t pid, uint64_t *nr_pages)
{
	struct page_reader *r = calloc(1, sizeof(*r));
	uint64_t own = 0;
	struct stat st;

	if (!r)
		return NULL;
	*r = (struct page_reader){.dir = dir, .pid = pid, .fd = -1};
	if (img_load_all(dirfd, IMG_PAGEMAP, pid, false, (void ***)&r->pm, &r->nr))
		goto fail;
	r->idx = calloc(r->nr + 1, sizeof(*r->idx));
	if (!r->idx)
		goto fail;
	for (size_t i = 0; i < r->nr; i++) {
		r->idx[i] = r->nr_pages;
		r->nr_pages += r->pm[i]->nr_pages;
		own += r->pm[i]->in_parent ? 0 : r->pm[i]->nr_pages;
	}
	*nr_pages = r->nr_pages;
	if (page_chain_needed(r->pm, r->nr))
		return open_chain(r, dirfd, dir, pid) ? page_reader_close(r), NULL : r;
	r->fd = img_open_raw(dirfd, "pages-%u.img", pid, O_RDONLY);
	if (r->fd < 0)
		goto fail;
	if (fstat(r->fd, &st) || (uint64_t)st.st_size != own * PAGE_SIZE) {
		pr_err("%s: image pages-%d.img: %lld bytes, pagemap-%d.img describes %llu", dir,
		       pid, (long long)st.st_size, pid, (unsigned long long)(own * PAGE_SIZE));
		goto fail;
	}
	return r;
fail:
	page_reader_close(r);
	return NULL;
}

/* The entry holding page index @i. */
static size_t entry_of(const struct page_reader *r, uint64_t i)
{
	size_t lo = 0, hi = r->nr;

	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;

		if (r->idx[mid] <= i)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

int page_reader_read(const struct page_reader *r, uint64_t idx, uint64_t nr, uint8_t *buf)
{
	struct sink to = {.mem = buf};
	uint64_t end = idx + nr;

	/* Without parent runs, the pages are in the file in index order. */
	if (!r->c) {
		if (!pread_full(r->fd, buf, nr * PAGE_SIZE, idx * PAGE_SIZE))
			return 0;
		pr_perror("%s: reading pages %llu-%llu of pages-%d.img", r->dir,
			  (unsigned long long)idx, (unsigned long long)(end - 1), r->pid);
		return -1;
	}
	while (idx < end) {
		size_t e = entry_of(r, idx);
		const PagemapEntry *p = r->pm[e];
		uint64_t off = idx - r->idx[e];
		uint64_t n = p->nr_pages - off < end - idx ? p->nr_pages - off : end - idx;

		if (p->in_parent ? fetch(r->c, 0, p->vaddr + off * PAGE_SIZE, n, &to)
				 : copy_out(r->c, r->c->lv[0].pages_fd, r->c->lv[0].first[e] + off,
					    &to, n))
			return -1;
		idx += n;
	}
	return 0;
}
