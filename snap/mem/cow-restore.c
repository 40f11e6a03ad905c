// SPDX-License-Identifier: GPL-2.0
/*
 * Copy-on-write sharing, the restore half (see cow.h): the checks made
 * before any process exists, and the premap step each new process runs
 * before it makes its children.
 *
 * A premapped area is placed where no process of the tree has anything in
 * its final layout (nor snap, now), so that no restorer maps over it
 * before moving it, and no move lands on another. Its address agrees with
 * the final one modulo 2 MiB: transparent huge pages stay whole when the
 * area moves.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"
#include "mem/cow.h"

#define TASK_SIZE_MAX 0x7ffffffff000ULL
#define LOWEST_ADDR 0x100000ULL
#define PMD_SIZE_ (2ULL << 20)
#define PLACE_STEP (64ULL << 20)

static bool alive(const struct restore_task *t)
{
	return t->pe->state != TASK_STATE__TASK_ZOMBIE && t->mm;
}

static const struct restore_task *task_by_pid(const struct restore_ctx *ctx, pid_t pid)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		if (ctx->tasks[i].pid == pid)
			return &ctx->tasks[i];
	return NULL;
}

/* The mapping of @mm that starts at @start, or NULL. */
static const VmaEntry *vma_at(const MmEntry *mm, uint64_t start, size_t *idx)
{
	size_t lo = 0, hi = mm->n_vmas;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (mm->vmas[mid]->start == start) {
			if (idx)
				*idx = mid;
			return mm->vmas[mid];
		}
		if (mm->vmas[mid]->start < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* What the dump lets inherit (cow-dump.c): plain private anonymous memory. */
static bool cow_kind(const VmaEntry *e)
{
	return e->kind == VMA_KIND__VMA_ANON &&
	       (e->flags & ~MAP_NORESERVE) == (MAP_PRIVATE | MAP_ANONYMOUS) && !e->has_lock;
}

/* The live children of a process: those that may inherit its mappings. */
struct kids {
	const struct restore_task **t;
	size_t nr;
};

static int kids_of(const struct restore_ctx *ctx, const struct restore_task *t, struct kids *k)
{
	k->nr = 0;
	k->t = malloc((ctx->nr_tasks ? ctx->nr_tasks : 1) * sizeof(*k->t));
	if (!k->t) {
		pr_err("pid %d: out of memory listing its children", t->pid);
		return -1;
	}
	for (size_t j = 0; j < ctx->nr_tasks; j++) {
		const struct restore_task *c = &ctx->tasks[j];

		if ((pid_t)c->pe->ppid == t->pid && c != t && alive(c))
			k->t[k->nr++] = c;
	}
	return 0;
}

/* Whether @t's mapping @i is premapped: it inherits its parent's, or a child inherits it. */
static bool premapped(const struct restore_task *t, const struct kids *k, size_t i)
{
	const VmaEntry *e = t->mm->vmas[i], *ce;

	if (e->n_inherited)
		return true;
	for (size_t j = 0; j < k->nr; j++) {
		ce = vma_at(k->t[j]->mm, e->start, NULL);
		if (ce && ce->n_inherited)
			return true;
	}
	return false;
}

ssize_t cow_nr_premapped(const struct restore_ctx *ctx, const struct restore_task *t)
{
	struct kids k;
	ssize_t n = 0;

	if (kids_of(ctx, t, &k))
		return -1;
	for (size_t i = 0; i < t->mm->n_vmas; i++)
		n += premapped(t, &k, i);
	free(k.t);
	return n;
}

static uint64_t pm_end(const PagemapEntry *p)
{
	return p->vaddr + (uint64_t)p->nr_pages * PAGE_SIZE;
}

/* The first of @t's pagemap entries that ends after @addr. */
static size_t first_pm(const struct restore_task *t, uint64_t addr)
{
	size_t lo = 0, hi = t->nr_pagemap;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (pm_end(t->pagemap[mid]) <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Walks a mapping's pages in address order: those of the pagemap and the
 * inherited ranges, two sorted lists.
 */
struct cursor {
	const struct restore_task *t;
	const VmaEntry *e;
	size_t pm, inh;
};

static void cursor_init(struct cursor *c, const struct restore_task *t, const VmaEntry *e)
{
	*c = (struct cursor){ .t = t, .e = e, .pm = first_pm(t, e->start) };
}

/*
 * The next range of the mapping's content, the one starting first; false
 * at the end of the mapping.
 */
static bool cursor_next(struct cursor *c, uint64_t *start, uint64_t *end)
{
	const PagemapEntry *p = c->pm < c->t->nr_pagemap ? c->t->pagemap[c->pm] : NULL;
	const VmaRange *r = c->inh < c->e->n_inherited ? c->e->inherited[c->inh] : NULL;

	if (p && p->vaddr >= c->e->end)
		p = NULL;
	if (!p && !r)
		return false;
	if (p && (!r || p->vaddr < r->start)) {
		*start = p->vaddr;
		*end = pm_end(p);
		c->pm++;
	} else {
		*start = r->start;
		*end = r->end;
		c->inh++;
	}
	return true;
}

static int check_ranges(const struct restore_task *t, const VmaEntry *e)
{
	uint64_t prev = e->start;

	for (size_t i = 0; i < e->n_inherited; i++) {
		const VmaRange *r = e->inherited[i];

		if (r->start < prev || r->start >= r->end || r->end > e->end ||
		    (r->start | r->end) % PAGE_SIZE) {
			pr_err("image mm-%d.img: bad inherited range %lx-%lx in mapping %lx-%lx",
			       t->pid, (unsigned long)r->start, (unsigned long)r->end,
			       (unsigned long)e->start, (unsigned long)e->end);
			return -1;
		}
		prev = r->end;
	}
	return 0;
}

/* The process's own pages and the inherited ones do not overlap. */
static int check_apart(const struct restore_task *t, const VmaEntry *e)
{
	struct cursor c;
	uint64_t s, end, prev = e->start;

	cursor_init(&c, t, e);
	while (cursor_next(&c, &s, &end)) {
		if (s < prev) {
			pr_err("image mm-%d.img: inherited pages at %lx are in pagemap-%d.img too",
			       t->pid, (unsigned long)s, t->pid);
			return -1;
		}
		prev = end;
	}
	return 0;
}

/*
 * Every inherited page of @e is in the parent's mapping @pe: its own
 * pages or those it inherits in turn.
 */
static int check_covered(const struct restore_task *t, const VmaEntry *e,
			 const struct restore_task *p, const VmaEntry *pe)
{
	struct cursor c;
	uint64_t s = 0, end = 0;
	bool more;

	cursor_init(&c, p, pe);
	more = cursor_next(&c, &s, &end);
	for (size_t i = 0; i < e->n_inherited; i++) {
		uint64_t pos = e->inherited[i]->start;

		while (pos < e->inherited[i]->end) {
			while (more && end <= pos)
				more = cursor_next(&c, &s, &end);
			if (!more || s > pos) {
				pr_err("image mm-%d.img: the page at %lx is inherited, but parent %d "
				       "has none there (mm-%d.img, pagemap-%d.img)",
				       t->pid, (unsigned long)pos, p->pid, p->pid, p->pid);
				return -1;
			}
			pos = end;
		}
	}
	return 0;
}

int cow_check(const struct restore_ctx *ctx, const struct restore_task *t)
{
	const struct restore_task *p = NULL;

	for (size_t i = 0; i < t->mm->n_vmas; i++) {
		const VmaEntry *e = t->mm->vmas[i], *pe;

		if (!e->n_inherited)
			continue;
		if (!cow_kind(e)) {
			pr_err("image mm-%d.img: mapping %lx-%lx inherits pages, but only private "
			       "anonymous memory can",
			       t->pid, (unsigned long)e->start, (unsigned long)e->end);
			return -1;
		}
		if (!p)
			p = t != ctx->tasks ? task_by_pid(ctx, t->pe->ppid) : NULL;
		if (!p || !alive(p)) {
			pr_err("image mm-%d.img: mapping %lx-%lx inherits pages from the parent, "
			       "which is not a live process of the images",
			       t->pid, (unsigned long)e->start, (unsigned long)e->end);
			return -1;
		}
		pe = vma_at(p->mm, e->start, NULL);
		if (!pe || pe->end != e->end || pe->flags != e->flags || !cow_kind(pe)) {
			pr_err("image mm-%d.img: mapping %lx-%lx inherits pages, but parent %d has "
			       "no such mapping in mm-%d.img",
			       t->pid, (unsigned long)e->start, (unsigned long)e->end, p->pid,
			       p->pid);
			return -1;
		}
		if (check_ranges(t, e) || check_apart(t, e) || check_covered(t, e, p, pe))
			return -1;
	}
	return 0;
}

/* The final layouts of the tree's processes, merged: where premapped areas must not be. */
struct busy {
	struct rst_range *r;
	size_t nr;
};

static int cmp_range(const void *a, const void *b)
{
	const struct rst_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static int busy_build(const struct restore_ctx *ctx, struct busy *b)
{
	size_t n = 0, i, j;

	for (i = 0; i < ctx->nr_tasks; i++)
		n += alive(&ctx->tasks[i]) ? ctx->tasks[i].mm->n_vmas : 0;
	b->r = malloc((n ? n : 1) * sizeof(*b->r));
	if (!b->r) {
		pr_err("out of memory placing premapped areas");
		return -1;
	}
	b->nr = 0;
	for (i = 0; i < ctx->nr_tasks; i++)
		for (j = 0; alive(&ctx->tasks[i]) && j < ctx->tasks[i].mm->n_vmas; j++)
			b->r[b->nr++] = (struct rst_range){ ctx->tasks[i].mm->vmas[j]->start,
							    ctx->tasks[i].mm->vmas[j]->end };
	qsort(b->r, b->nr, sizeof(*b->r), cmp_range);
	for (i = 0, n = 0; i < b->nr; i++) {
		if (n && b->r[i].start <= b->r[n - 1].end) {
			if (b->r[i].end > b->r[n - 1].end)
				b->r[n - 1].end = b->r[i].end;
			continue;
		}
		b->r[n++] = b->r[i];
	}
	b->nr = n;
	return 0;
}

/*
 * Map @len bytes top-down through the gaps of @b, at an address equal to
 * @phase modulo 2 MiB; MAP_FIXED_NOREPLACE skips what we map ourselves.
 */
static void *place(const struct busy *b, uint64_t len, uint64_t phase, int flags)
{
	uint64_t hi = TASK_SIZE_MAX;

	for (size_t k = b->nr + 1; k--;) {
		uint64_t lo = k ? b->r[k - 1].end : LOWEST_ADDR;
		uint64_t addr;
		int tries = 0;

		if (hi > lo && hi - lo >= len && hi - len >= phase) {
			addr = ((hi - len - phase) & ~(PMD_SIZE_ - 1)) + phase;
			for (; addr >= lo && tries < 64; addr -= PLACE_STEP, tries++) {
				void *p = mmap((void *)addr, len, PROT_READ | PROT_WRITE,
					       flags | MAP_FIXED_NOREPLACE, -1, 0);

				if (p == (void *)addr)
					return p;
				if (p != MAP_FAILED)
					munmap(p, len);
				if (addr < lo + PLACE_STEP)
					break;
			}
		}
		if (k)
			hi = b->r[k - 1].start;
	}
	return NULL;
}

/* A new area for @e, with its huge page advice so that filling it makes huge pages. */
static uint64_t premap_new(const struct restore_task *t, const VmaEntry *e, const struct busy *b)
{
	uint64_t len = e->end - e->start;
	void *p = place(b, len, e->start & (PMD_SIZE_ - 1),
			MAP_PRIVATE | MAP_ANONYMOUS | (e->flags & MAP_NORESERVE));

	if (!p) {
		pr_err("pid %d: no room to premap mapping %lx-%lx (%llu KiB) shared with its "
		       "children",
		       t->pid, (unsigned long)e->start, (unsigned long)e->end,
		       (unsigned long long)len >> 10);
		return 0;
	}
	if (e->madv & (1ULL << MADV_HUGEPAGE))
		madvise(p, len, MADV_HUGEPAGE);
	if (e->madv & (1ULL << MADV_NOHUGEPAGE))
		madvise(p, len, MADV_NOHUGEPAGE);
	return (uintptr_t)p;
}

/* The parent's area, which this process got through fork. */
static uint64_t premap_inherited(const struct restore_task *t, const VmaEntry *e,
				 const struct restorer_args *pa)
{
	const struct rst_vma *pv = pa ? (const void *)(uintptr_t)pa->vmas : NULL;
	size_t lo = 0, hi = pa ? pa->nr_vmas : 0;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (pv[mid].start == e->start) {
			if (pv[mid].premap)
				return pv[mid].premap;
			break;
		}
		if (pv[mid].start < e->start)
			lo = mid + 1;
		else
			hi = mid;
	}
	pr_err("pid %d: its parent did not premap mapping %lx-%lx, which it inherits", t->pid,
	       (unsigned long)e->start, (unsigned long)e->end);
	return 0;
}

/* What the process did not have, it must not get from its parent: empty it. */
static int empty_rest(const struct restore_task *t, const VmaEntry *e, uint64_t cur)
{
	struct cursor c;
	uint64_t s, end, pos = e->start;
	bool more;

	cursor_init(&c, t, e);
	do {
		more = cursor_next(&c, &s, &end);
		if (!more)
			s = e->end;
		if (s > pos && madvise((void *)(uintptr_t)(cur + pos - e->start), s - pos,
				       MADV_DONTNEED)) {
			pr_perror("pid %d: cannot empty %lx-%lx of its inherited mapping", t->pid,
				  (unsigned long)pos, (unsigned long)s);
			return -1;
		}
		if (more && end > pos)
			pos = end;
	} while (more);
	return 0;
}

static int read_at(const struct restore_task *t, int fd, char *dst, uint64_t len, off_t off,
		   uint64_t vaddr)
{
	if (!pread_full(fd, dst, len, off))
		return 0;
	pr_perror("pid %d: cannot read its pages for %lx from pages-%d.img", t->pid,
		  (unsigned long)vaddr, t->pid);
	return -1;
}

/* The process's own pages of its premapped areas, from its page image. */
static int fill_own(const struct restore_ctx *ctx, const struct restore_task *t,
		    const struct rst_vma *vmas)
{
	char name[64];
	off_t off = 0;
	size_t v = 0;
	int fd, ret = 0;

	/* An incremental dump's pages are staged with its parents' (mem/page-chain.h). */
	snprintf(name, sizeof(name), "pages-%d.img", t->pid);
	fd = t->pages_fd > 0 ? dup(t->pages_fd) : openat(ctx->dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("pid %d: cannot open %s", t->pid, name);
		return -1;
	}
	for (size_t i = 0; i < t->nr_pagemap && !ret; i++) {
		const PagemapEntry *p = t->pagemap[i];
		uint64_t len = (uint64_t)p->nr_pages * PAGE_SIZE;

		/* Both lists are in address order, each entry inside a mapping. */
		while (vmas[v].end <= p->vaddr)
			v++;
		if (vmas[v].premap) {
			char *dst = (char *)(uintptr_t)(vmas[v].premap + p->vaddr - vmas[v].start);

			/*
			 * Faulting the pages in first, in one go, is faster than
			 * the read's page by page. Not over inherited ones: that
			 * would copy each before the read overwrites it.
			 */
			if (!t->mm->vmas[v]->n_inherited)
				madvise(dst, len, MADV_POPULATE_WRITE);
			ret = read_at(t, fd, dst, len, off, p->vaddr);
		}
		off += len;
	}
	close(fd);
	return ret;
}

int cow_premap(const struct restore_ctx *ctx, const struct restore_task *t,
	       struct restorer_args *a, const struct restorer_args *pa)
{
	struct rst_vma *vmas = (void *)(uintptr_t)a->vmas;
	struct rst_range *pre = (void *)(uintptr_t)a->premaps;
	struct busy b = { NULL, 0 };
	struct kids k;
	int ret = -1;

	a->nr_premaps = 0;
	if (kids_of(ctx, t, &k))
		return -1;
	for (size_t i = 0; i < t->mm->n_vmas; i++) {
		const VmaEntry *e = t->mm->vmas[i];
		uint64_t cur;

		if (!premapped(t, &k, i))
			continue;
		if (e->n_inherited) {
			cur = premap_inherited(t, e, pa);
			if (!cur || empty_rest(t, e, cur))
				goto out;
		} else {
			if (!b.r && busy_build(ctx, &b))
				goto out;
			cur = premap_new(t, e, &b);
			if (!cur)
				goto out;
		}
		vmas[i].premap = cur;
		pre[a->nr_premaps++] = (struct rst_range){ cur, cur + e->end - e->start };
	}
	ret = 0;
	if (!a->nr_premaps)
		goto out;
	qsort(pre, a->nr_premaps, sizeof(*pre), cmp_range);
	ret = fill_own(ctx, t, vmas);
	if (!ret)
		pr_info("pid %d: %u mappings premapped, shared with its parent or children",
			t->pid, a->nr_premaps);
out:
	free(k.t);
	free(b.r);
	return ret;
}
