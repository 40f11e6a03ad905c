// SPDX-License-Identifier: GPL-2.0
/*
 * Memory dump: the VMA list, page discovery and page copy (see mem-dump.h).
 *
 * Only pages that exist are saved: PAGEMAP_SCAN returns present or swapped
 * pages in ranges, leaving out the shared zero page and page-cache pages of
 * private file mappings (the file still has them); untouched memory costs
 * nothing. Kernels without PAGEMAP_SCAN get the same answer, more slowly,
 * from /proc/PID/pagemap.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "image.h"
#include "kcompat.h"
#include "log.h"
#include "mem/cow.h"
#include "mem/ghost.h"
#include "mem/mem-dump.h"
#include "mem/page-sink.h"

#define SCAN_VEC 512

/*
 * Private memory: anonymous, and the COWed pages of private mappings of
 * files and of shared memory objects. Not MAP_DROPPABLE memory: the kernel
 * may drop it any time and a fork does not copy it (see Documentation/images.md).
 */
bool vma_dumps_pages(const struct vma *v)
{
	uint32_t type = v->flags & MAP_TYPE;

	if (v->kind == VMA_KIND__VMA_ANON)
		return type != MAP_DROPPABLE;
	return type == MAP_PRIVATE &&
	       (v->kind == VMA_KIND__VMA_FILE_PRIVATE || v->kind == VMA_KIND__VMA_SHMEM);
}

/* Mappings whose pages are not saved may have guard regions all the same. */
static bool vma_may_have_guards(const struct vma *v)
{
	return v->kind == VMA_KIND__VMA_FILE_SHARED || v->kind == VMA_KIND__VMA_ANON;
}

/*
 * The ghost of a mapping's deleted file: saved once per inode, shared with
 * the fds of the same file (ghost.h).
 */
static int note_ghost(struct dump_ctx *ctx, pid_t pid, const struct vma *v, uint32_t *id)
{
	char path[96], what[4096 + 96];
	int fd, ret;

	snprintf(what, sizeof(what), "pid %d mapping %lx-%lx (%s)", pid, (unsigned long)v->start,
		 (unsigned long)v->end, v->path);
	snprintf(path, sizeof(path), "/proc/%d/map_files/%lx-%lx", pid, (unsigned long)v->start,
		 (unsigned long)v->end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("%s: cannot open its deleted file through %s", what, path);
		return -1;
	}
	ret = ghost_note(ctx, fd, what, id);
	close(fd);
	return ret;
}

static bool vma_is_file(const struct vma *v)
{
	return v->kind == VMA_KIND__VMA_FILE_PRIVATE || v->kind == VMA_KIND__VMA_FILE_SHARED;
}

/* A mapping of a deleted file: its ghost, noted once (mm_note_ghosts() or dump_mm()). */
static int vma_ghost(struct dump_ctx *ctx, pid_t pid, struct vma *v)
{
	if (!vma_is_file(v) || !v->deleted || v->ghost_noted)
		return 0;
	if (note_ghost(ctx, pid, v, &v->ghost_id))
		return -1;
	v->ghost_noted = true;
	return 0;
}

static int fill_entry(struct dump_ctx *ctx, pid_t pid, VmaEntry *ve, struct vma *v)
{
	ve->start = v->start;
	ve->end = v->end;
	ve->pgoff = v->pgoff;
	ve->prot = v->prot;
	ve->flags = v->flags;
	ve->kind = v->kind;
	if (vma_is_file(v))
		ve->path = v->path;
	else if (v->path[0])
		ve->name = v->path;
	if (v->kind == VMA_KIND__VMA_SHMEM) {
		ve->has_shmem_id = true;
		ve->shmem_id = v->shmem_id;
	}
	if (v->kind == VMA_KIND__VMA_PACKET_RING) {
		ve->has_sk_ino = true;
		ve->sk_ino = v->ino;
	}
	/* Whether mprotect(PROT_WRITE) may work: the file's access, not the protection. */
	if (v->flags & MAP_SHARED) {
		ve->has_may_write = true;
		ve->may_write = v->may_write;
	}
	if (v->madv) {
		ve->has_madv = true;
		ve->madv = v->madv;
	}
	if (v->lock) {
		ve->has_lock = true;
		ve->lock = v->lock;
	}
	if (vma_ghost(ctx, pid, v))
		return -1;
	ve->has_ghost_id = v->ghost_noted;
	ve->ghost_id = v->ghost_id;
	return 0;
}

int mm_note_ghosts(struct dump_ctx *ctx, struct dump_task *t)
{
	for (size_t i = 0; i < t->vmas.nr; i++)
		if (vma_ghost(ctx, t->pid, &t->vmas.v[i]))
			return -1;
	return 0;
}

/* @n ranges of @r as VmaRanges in @rs, pointed to by @rp. */
static void set_ranges(VmaRange **rp, VmaRange *rs, const struct vma_range *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		vma_range__init(&rs[i]);
		rs[i].start = r[i].start;
		rs[i].end = r[i].end;
		rp[i] = &rs[i];
	}
}

int dump_mm(struct dump_ctx *ctx, struct dump_task *t)
{
	MmEntry mm = MM_ENTRY__INIT;
	VmaEntry *ve, **vp;
	VmaRange *rs = NULL, **rp = NULL;
	size_t i, nr_ranges = 0;
	int ret = -1;

	/* Guard and inherited ranges, all in one array. */
	for (i = 0; i < t->vmas.nr; i++)
		nr_ranges += t->vmas.v[i].nr_guards + t->vmas.v[i].nr_inherited;
	ve = calloc(t->vmas.nr, sizeof(*ve));
	vp = calloc(t->vmas.nr, sizeof(*vp));
	if (nr_ranges) {
		rs = calloc(nr_ranges, sizeof(*rs));
		rp = calloc(nr_ranges, sizeof(*rp));
	}
	if (!ve || !vp || (nr_ranges && (!rs || !rp)))
		goto out;
	nr_ranges = 0;
	for (i = 0; i < t->vmas.nr; i++) {
		struct vma *v = &t->vmas.v[i];

		vma_entry__init(&ve[i]);
		if (fill_entry(ctx, t->pid, &ve[i], v))
			goto out;
		ve[i].guards = rp + nr_ranges;
		ve[i].n_guards = v->nr_guards;
		set_ranges(rp + nr_ranges, rs + nr_ranges, v->guards, v->nr_guards);
		nr_ranges += v->nr_guards;
		ve[i].inherited = rp + nr_ranges;
		ve[i].n_inherited = v->nr_inherited;
		set_ranges(rp + nr_ranges, rs + nr_ranges, v->inherited, v->nr_inherited);
		nr_ranges += v->nr_inherited;
		vp[i] = &ve[i];
	}
	mm.vmas = vp;
	mm.n_vmas = t->vmas.nr;
	ret = img_write_one(ctx->dirfd, IMG_MM, t->vpid, &mm.base);
out:
	free(ve);
	free(vp);
	free(rs);
	free(rp);
	return ret;
}

int page_list_append(struct page_list *pl, const struct page_run *run)
{
	struct page_run *last = pl->nr ? &pl->runs[pl->nr - 1] : NULL;

	if (!run->in_parent)
		pl->pages += run->nr;
	if (last && last->vma == run->vma && last->vaddr + last->nr * PAGE_SIZE == run->vaddr &&
	    last->in_parent == run->in_parent && last->stored == run->stored &&
	    (!run->stored || last->hold_off + last->nr * PAGE_SIZE == run->hold_off)) {
		last->nr += run->nr;
		return 0;
	}
	if (pl->nr == pl->cap) {
		size_t cap = pl->cap ? pl->cap * 2 : 256;
		struct page_run *r = realloc(pl->runs, cap * sizeof(*r));

		if (!r)
			return -1;
		pl->runs = r;
		pl->cap = cap;
	}
	pl->runs[pl->nr++] = *run;
	return 0;
}

static int add_run(struct page_list *pl, uint64_t vaddr, uint64_t nr, uint32_t vma)
{
	return page_list_append(pl, &(struct page_run){ .vaddr = vaddr, .nr = nr, .vma = vma });
}

/* What one page_collect() call fills in. */
struct collect {
	struct dump_ctx *ctx;
	struct dump_task *t;
	struct page_list *pl;		/* NULL: guards only */
	int pmfd;			/* /proc/PID/pagemap */
	struct cow_parent *cow;		/* the parent's pages, for a mapping cow_match()ed */
	uint32_t idx;			/* the VMA being scanned */
	bool quiet_gone;		/* page_collect_later(): a process gone is not logged */
};

/* Append [start, end) to @rl, merged with the last range if they touch. */
int range_add(struct range_list *rl, uint64_t start, uint64_t end)
{
	struct vma_range *last = rl->nr ? &rl->r[rl->nr - 1] : NULL;

	if (last && last->end == start) {
		last->end = end;
		return 0;
	}
	if (rl->nr == rl->cap) {
		size_t cap = rl->cap ? rl->cap * 2 : 64;
		struct vma_range *r = realloc(rl->r, cap * sizeof(*r));

		if (!r)
			return -1;
		rl->r = r;
		rl->cap = cap;
	}
	rl->r[rl->nr++] = (struct vma_range){ start, end };
	return 0;
}

void range_list_free(struct range_list *rl)
{
	free(rl->r);
	memset(rl, 0, sizeof(*rl));
}

/*
 * @nr pages at @vaddr (in VMA @idx) go into the image. Swapped ones are
 * also remembered: reading them brings them back into memory, and a target
 * that runs on gets them pushed out again (mem_pageout_swapped()).
 */
static int add_pages(struct collect *c, uint64_t vaddr, uint64_t nr, uint32_t idx, bool swapped)
{
	if (add_run(c->pl, vaddr, nr, idx))
		goto nomem;
	if (!swapped)
		return 0;
	c->ctx->st.pages_swapped += nr;
	if (range_add(&c->t->swapped, vaddr, vaddr + nr * PAGE_SIZE))
		goto nomem;
	return 0;
nomem:
	pr_err("pid %d: out of memory for the list of pages to dump", c->t->pid);
	return -1;
}

static int own_pages(void *arg, uint64_t vaddr, uint64_t nr)
{
	struct collect *c = arg;

	return add_pages(c, vaddr, nr, c->idx, false);
}

/* Present pages still the parent's are left to its image (cow.h). */
static int note_pages(struct collect *c, uint64_t vaddr, uint64_t nr, uint32_t idx, bool swapped)
{
	if (!c->cow || swapped)
		return add_pages(c, vaddr, nr, idx, swapped);
	c->idx = idx;
	return cow_split(c->cow, c->pmfd, &c->t->vmas.v[idx], vaddr, nr, own_pages, c);
}

/* Guard ranges come in address order; adjacent ones are merged. */
static int add_guard(struct vma *v, uint64_t start, uint64_t end)
{
	struct vma_range *last = v->nr_guards ? &v->guards[v->nr_guards - 1] : NULL;
	struct vma_range *g;

	if (last && last->end == start) {
		last->end = end;
		return 0;
	}
	g = realloc(v->guards, (v->nr_guards + 1) * sizeof(*g));
	if (!g) {
		pr_err("out of memory listing the guard regions of mapping %lx-%lx",
		       (unsigned long)v->start, (unsigned long)v->end);
		return -1;
	}
	v->guards = g;
	g[v->nr_guards++] = (struct vma_range){ start, end };
	return 0;
}

/*
 * Pages of @v into c->pl, and its guard regions into v->guards. A guard
 * reads as a swap entry (PAGE_IS_SWAPPED | PAGE_IS_GUARD): it must never be
 * taken for a page, reading it faults. With c->pl NULL, only the guards
 * (mappings whose pages are not dumped). return_mask keeps PRESENT and
 * SWAPPED apart, so each region is wholly one or the other: the kernel
 * splits regions where the returned categories change.
 */
static int scan_pagemap_scan(struct collect *c, struct vma *v, uint32_t idx)
{
	uint64_t guard = c->ctx->kf->pagemap_guard ? PAGE_IS_GUARD : 0;
	uint64_t pages = c->pl ? PAGE_IS_PRESENT | PAGE_IS_SWAPPED : 0;
	uint64_t skip = c->pl ? PAGE_IS_PFNZERO | scan_file_mask(v) : 0;
	struct page_region regs[SCAN_VEC];
	struct pm_scan_arg a = {
		.size = sizeof(a),
		.start = v->start,
		.end = v->end,
		.vec = (uintptr_t)regs,
		.vec_len = SCAN_VEC,
		.category_inverted = skip,
		.category_mask = skip,
		.category_anyof_mask = pages | guard,
		.return_mask = pages | guard,
	};
	long n, i;

	if (!c->pl && !guard)
		return 0;
	for (;;) {
		n = ioctl(c->pmfd, PAGEMAP_SCAN, &a);
		if (n < 0) {
			if (c->quiet_gone && errno == ESRCH)
				return -1;
			pr_perror("pid %d: PAGEMAP_SCAN of %lx-%lx", c->t->pid,
				  (unsigned long)v->start, (unsigned long)v->end);
			return -1;
		}
		for (i = 0; i < n; i++) {
			uint64_t nr = (regs[i].end - regs[i].start) / PAGE_SIZE;

			if (regs[i].categories & PAGE_IS_GUARD) {
				if (add_guard(v, regs[i].start, regs[i].end))
					return -1;
				continue;
			}
			if (note_pages(c, regs[i].start, nr, idx,
				       regs[i].categories & PAGE_IS_SWAPPED))
				return -1;
		}
		if (a.walk_end >= v->end)
			return 0;
		a.start = a.walk_end;
	}
}

static int scan_pagemap(struct collect *c, struct vma *v, uint32_t idx)
{
	static const size_t chunk = 8192;
	uint64_t ents[8192], addr;
	size_t i, n;
	ssize_t got;

	for (addr = v->start; addr < v->end; addr += n * PAGE_SIZE) {
		n = (v->end - addr) / PAGE_SIZE;
		if (n > chunk)
			n = chunk;
		got = pread(c->pmfd, ents, n * 8, addr / PAGE_SIZE * 8);
		if (got != (ssize_t)(n * 8)) {
			pr_perror("pid %d: cannot read pagemap at %lx", c->t->pid,
				  (unsigned long)addr);
			return -1;
		}
		for (i = 0; i < n; i++) {
			bool swapped = ents[i] & PME_SWAP;

			if (ents[i] & PME_GUARD) {
				if (add_guard(v, addr + i * PAGE_SIZE, addr + (i + 1) * PAGE_SIZE))
					return -1;
				continue;
			}
			if (!(ents[i] & PME_PRESENT) && !swapped)
				continue;
			if (!swapped && (ents[i] & PME_FILE))
				continue;
			if (note_pages(c, addr + i * PAGE_SIZE, 1, idx, swapped))
				return -1;
		}
	}
	return 0;
}

static void log_inherited(const struct dump_task *t, pid_t parent)
{
	uint64_t n = 0;

	for (size_t i = 0; i < t->vmas.nr; i++)
		for (size_t j = 0; j < t->vmas.v[i].nr_inherited; j++)
			n += (t->vmas.v[i].inherited[j].end - t->vmas.v[i].inherited[j].start) /
			     PAGE_SIZE;
	if (n)
		pr_info("pid %d: %llu pages shared with parent %d, saved in its image only", t->pid,
			(unsigned long long)n, parent);
}

int page_collect(struct dump_ctx *ctx, struct dump_task *t, struct page_list *pl)
{
	return page_collect_part(ctx, t, pl, NULL);
}

int page_collect_part(struct dump_ctx *ctx, struct dump_task *t, struct page_list *pl,
		      const bool *later)
{
	struct collect c = { .ctx = ctx, .t = t, .pl = pl };
	struct collect guards_only = { .ctx = ctx, .t = t };
	struct cow_parent cow;
	char path[64];
	size_t i;
	int ret = 0;

	memset(pl, 0, sizeof(*pl));
	t->swapped.nr = 0;
	if (cow_open(ctx, t, &cow))
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", t->pid);
	c.pmfd = guards_only.pmfd = open(path, O_RDONLY | O_CLOEXEC);
	if (c.pmfd < 0) {
		pr_perror("cannot open %s", path);
		cow_close(&cow);
		return -1;
	}
	for (i = 0; i < t->vmas.nr && !ret; i++) {
		struct vma *v = &t->vmas.v[i];

		v->nr_guards = 0;
		v->nr_inherited = 0;
		c.cow = cow_match(&cow, v) ? &cow : NULL;
		/* Its pages and guards: page_collect_later(). */
		if (later && later[i])
			continue;
		if (!vma_dumps_pages(v)) {
			if (vma_may_have_guards(v) && ctx->kf->pagemap_scan && ctx->kf->pagemap_guard)
				ret = scan_pagemap_scan(&guards_only, v, i);
			continue;
		}
		ctx->st.pages_scanned += (v->end - v->start) / PAGE_SIZE;
		if (ctx->kf->pagemap_scan)
			ret = scan_pagemap_scan(&c, v, i);
		else
			ret = scan_pagemap(&c, v, i);
	}
	close(c.pmfd);
	if (!ret && cow.p)
		log_inherited(t, cow.p->pid);
	cow_close(&cow);
	return ret;
}

int page_collect_later(struct dump_ctx *ctx, struct dump_task *t, int pmfd, const bool *later,
		       struct page_list *pl)
{
	struct collect c = { .ctx = ctx, .t = t, .pl = pl, .pmfd = pmfd, .quiet_gone = true };
	int ret = 0;

	memset(pl, 0, sizeof(*pl));
	for (size_t i = 0; i < t->vmas.nr && !ret; i++) {
		if (!later[i])
			continue;
		ctx->st.pages_scanned += (t->vmas.v[i].end - t->vmas.v[i].start) / PAGE_SIZE;
		ret = scan_pagemap_scan(&c, &t->vmas.v[i], i);
	}
	return ret;
}

int page_list_merge(struct page_list *a, struct page_list *b)
{
	struct page_list m = { 0 };
	size_t i = 0, j = 0;

	while (i < a->nr || j < b->nr) {
		bool from_a = j == b->nr || (i < a->nr && a->runs[i].vaddr < b->runs[j].vaddr);

		if (page_list_append(&m, from_a ? &a->runs[i++] : &b->runs[j++])) {
			page_list_free(&m);
			return -1;
		}
	}
	page_list_free(a);
	page_list_free(b);
	*a = m;
	return 0;
}

void page_list_free(struct page_list *pl)
{
	free(pl->runs);
	memset(pl, 0, sizeof(*pl));
}

int page_sink_declare(struct page_sink *ps, const struct page_list *pl)
{
	for (size_t i = 0; i < pl->nr; i++) {
		const struct page_run *r = &pl->runs[i];

		if (r->in_parent ? page_sink_add_parent_run(ps, r->vaddr, r->nr) :
				   page_sink_add_run(ps, r->vaddr, r->nr))
			return -1;
	}
	return page_sink_layout_done(ps);
}
