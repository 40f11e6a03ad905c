// SPDX-License-Identifier: GPL-2.0
/*
 * The lazy-pages server's account of one uffd: which pages of the image
 * are still to place and where they are now. Built from pagemap-PID.img
 * (an incremental set's too) and the lazy ranges the restore sent; moved by mremap, cut by munmap
 * and MADV_DONTNEED (the uffd events), copied at fork.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lazy/lazy-int.h"
#include "log.h"

static int add_ext(struct lazy_task *t, uint64_t start, uint64_t end, const uint8_t *src)
{
	struct lazy_ext *n = realloc(t->ext, (t->nr_ext + 1) * sizeof(*n));
	size_t pages = (end - start) / LZ_PAGE;

	if (!n)
		goto oom;
	t->ext = n;
	n[t->nr_ext] = (struct lazy_ext){.start = start, .end = end, .src = src};
	n[t->nr_ext].done = calloc(pages, 1);
	if (!n[t->nr_ext].done)
		goto oom;
	t->nr_ext++;
	t->left += pages;
	return 0;
oom:
	pr_err("pid %d: out of memory for its lazy pages", t->pid);
	return -1;
}

static int cmp_ext(const void *a, const void *b)
{
	const struct lazy_ext *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

int lz_build(struct lazy_task *t, const struct lazy_hello *h, struct lz_src *src)
{
	uint64_t off = 0;

	/* In pagemap order, the parent sets' runs too: lz_src resolved the chain. */
	t->src = src;
	for (size_t i = 0; i < src->nr_runs; i++) {
		uint64_t s = src->runs[i].start, e = src->runs[i].end;

		for (size_t j = 0; j < h->nr_ranges; j++) {
			uint64_t a = s > h->ranges[j].start ? s : h->ranges[j].start;
			uint64_t b = e < h->ranges[j].end ? e : h->ranges[j].end;

			if (a < b && add_ext(t, a, b, src->base + off + (a - s)))
				return -1;
		}
		off += e - s;
	}
	qsort(t->ext, t->nr_ext, sizeof(*t->ext), cmp_ext);
	return 0;
}

struct lazy_task *lz_fork(const struct lazy_task *parent, int uffd)
{
	struct lazy_task *t = calloc(1, sizeof(*t));
	size_t i;

	if (!t)
		goto oom;
	*t = (struct lazy_task){.uffd = uffd, .src = parent->src, .cursor = parent->cursor};
	for (i = 0; i < parent->nr_ext; i++) {
		const struct lazy_ext *p = &parent->ext[i];
		size_t pages = (p->end - p->start) / LZ_PAGE;

		if (add_ext(t, p->start, p->end, p->src))
			goto fail;
		memcpy(t->ext[i].done, p->done, pages);
		t->ext[i].first = p->first;
	}
	t->left = parent->left;
	return t;
oom:
	pr_err("out of memory for a forked child's lazy pages");
fail:
	lz_free(t);
	return NULL;
}

void lz_free(struct lazy_task *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nr_ext; i++)
		free(t->ext[i].done);
	free(t->ext);
	free(t);
}

struct lazy_ext *lz_find(struct lazy_task *t, uint64_t addr, size_t *idx)
{
	size_t lo = 0, hi = t->nr_ext;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (addr < t->ext[mid].start)
			hi = mid;
		else if (addr >= t->ext[mid].end)
			lo = mid + 1;
		else {
			*idx = (addr - t->ext[mid].start) / LZ_PAGE;
			return &t->ext[mid];
		}
	}
	return NULL;
}

uint64_t lz_drop(struct lazy_task *t, uint64_t start, uint64_t end)
{
	uint64_t n = 0;

	for (size_t i = 0; i < t->nr_ext; i++) {
		struct lazy_ext *e = &t->ext[i];
		uint64_t a = start > e->start ? start : e->start;
		uint64_t b = end < e->end ? end : e->end;

		for (; a < b; a += LZ_PAGE) {
			size_t k = (a - e->start) / LZ_PAGE;

			/* The server's write lock is held: no page is claimed. */
			if (e->done[k] == LZ_DUE) {
				e->done[k] = LZ_DONE;
				n++;
			}
		}
	}
	__atomic_fetch_sub(&t->left, n, __ATOMIC_RELAXED);
	return n;
}

/* Cut the extent at @i in two at @addr, inside it; the second half is i + 1. */
static int split(struct lazy_task *t, size_t i, uint64_t addr)
{
	struct lazy_ext *n = realloc(t->ext, (t->nr_ext + 1) * sizeof(*n)), *e, *f;
	size_t k;

	if (!n)
		return -1;
	t->ext = n;
	e = &n[i];
	k = (addr - e->start) / LZ_PAGE;
	memmove(&n[i + 2], &n[i + 1], (t->nr_ext - i - 1) * sizeof(*n));
	f = &n[i + 1];
	*f = (struct lazy_ext){.start = addr, .end = e->end, .src = e->src + k * LZ_PAGE};
	f->done = malloc((f->end - f->start) / LZ_PAGE);
	if (!f->done) {
		memmove(&n[i + 1], &n[i + 2], (t->nr_ext - i - 1) * sizeof(*n));
		return -1;
	}
	memcpy(f->done, e->done + k, (f->end - f->start) / LZ_PAGE);
	e->end = addr;
	e->first = e->first < k ? e->first : k;
	t->nr_ext++;
	return 0;
}

int lz_remap(struct lazy_task *t, uint64_t from, uint64_t to, uint64_t len)
{
	size_t i;

	for (i = 0; i < t->nr_ext; i++) {
		struct lazy_ext *e = &t->ext[i];

		if ((e->start < from && e->end > from && split(t, i, from)) ||
		    (t->ext[i].start < from + len && t->ext[i].end > from + len &&
		     split(t, i, from + len))) {
			pr_err("pid %d: out of memory following an mremap", t->pid);
			return -1;
		}
	}
	for (i = 0; i < t->nr_ext; i++)
		if (t->ext[i].start >= from && t->ext[i].end <= from + len) {
			t->ext[i].start += to - from;
			t->ext[i].end += to - from;
		}
	qsort(t->ext, t->nr_ext, sizeof(*t->ext), cmp_ext);
	return 0;
}

/* Workers claim pages (lz_place_claimed()) while others look. */
static uint8_t state(const struct lazy_ext *e, size_t i)
{
	return __atomic_load_n(&e->done[i], __ATOMIC_RELAXED);
}

size_t lz_run(const struct lazy_ext *e, size_t idx, size_t max)
{
	size_t n = 0, pages = (e->end - e->start) / LZ_PAGE;

	while (n < max && idx + n < pages && state(e, idx + n) == LZ_DUE)
		n++;
	return n;
}

/* The first due page of @e at or after @idx, or the extent's size. */
static size_t pending_from(struct lazy_ext *e, size_t idx)
{
	size_t pages = (e->end - e->start) / LZ_PAGE;

	/* Not past a claimed page: its placing may fail, and it is due again. */
	while (e->first < pages && state(e, e->first) == LZ_DONE)
		e->first++;
	if (idx < e->first)
		idx = e->first;
	while (idx < pages && state(e, idx) != LZ_DUE)
		idx++;
	return idx;
}

size_t lz_next(struct lazy_task *t, size_t max, struct lazy_ext **e, size_t *idx)
{
	size_t i, start = 0, k;

	if (!LZ_GET(t->left) || !t->nr_ext)
		return 0;
	/* The extent of the cursor, or the first after it. */
	while (start < t->nr_ext && t->ext[start].end <= t->cursor)
		start++;
	for (k = 0; k <= t->nr_ext; k++) {
		struct lazy_ext *x = &t->ext[(start + k) % t->nr_ext];
		size_t from = 0, p;

		if (!k && t->cursor > x->start)
			from = (t->cursor - x->start) / LZ_PAGE;
		p = pending_from(x, from);
		if (p < (x->end - x->start) / LZ_PAGE) {
			*e = x;
			*idx = p;
			return lz_run(x, p, max);
		}
	}
	/* Only before the cursor in its own extent. */
	for (i = 0; i < t->nr_ext; i++) {
		size_t p = pending_from(&t->ext[i], 0);

		if (p < (t->ext[i].end - t->ext[i].start) / LZ_PAGE) {
			*e = &t->ext[i];
			*idx = p;
			return lz_run(&t->ext[i], p, max);
		}
	}
	return 0;
}
