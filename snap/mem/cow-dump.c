// SPDX-License-Identifier: GPL-2.0
/*
 * Copy-on-write sharing, the dump half (see cow.h): which present pages of
 * a child are still its parent's.
 *
 * A page is the parent's when, at the same address of matching mappings,
 * both page table entries are present and name the same page frame
 * (/proc/PID/pagemap bits 0-54, which only root sees: others read 0, and
 * nothing is shared) and neither says the page is mapped exclusively (bit
 * 56). Two page tables naming the frame is two mappings of it: its map
 * count need not be read (/proc/kpagecount, one read per frame where the
 * frames are scattered, took 280 ms for a 1 GiB redis's BGSAVE child). A
 * subpage of a transparent huge page the two share qualifies the same way.
 * The whole tree is frozen, the parent cured already: a frame both map
 * cannot change, either one's write would copy it first, so the parent's
 * image holds exactly what the child sees. The parent's image has it: the
 * child's scan left out the zero page and page-cache pages, which share no
 * frame with an anonymous one.
 *
 * Swapped pages are not compared: a page the parent's dump reads back from
 * swap gets a frame that the child's swap entry does not name. The child
 * keeps its own copy, as it does of every page it wrote since the fork.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kcompat.h"
#include "log.h"
#include "mem/cow.h"

/* Pages compared per pagemap read. */
#define COW_CHUNK 4096

static bool in_tree(const struct dump_ctx *ctx, pid_t pid)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		if (ctx->tasks[i].pid == pid)
			return true;
	return false;
}

/*
 * Whether the restore makes @t by a fork of its parent @p, the only way it
 * inherits @p's memory: not a task that shares a sibling's fd table, nor
 * one born in a session or group its parent is not in and whose leader is
 * gone (restore-task.c, maker_of(): a sibling or a helper makes those).
 */
static bool forked_by_parent(const struct dump_ctx *ctx, const struct dump_task *t,
			     const struct dump_task *p)
{
	if (t->files_owner)
		return false;
	if (t->sid != t->pid && t->sid != p->sid)
		return false;
	return t->pgid == t->pid || t->pgid == p->pgid || in_tree(ctx, t->pgid);
}

static const struct dump_task *find_parent(const struct dump_ctx *ctx, const struct dump_task *t)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		const struct dump_task *p = &ctx->tasks[i];

		if (p != t && p->pid == t->ppid)
			return p->zombie || !forked_by_parent(ctx, t, p) ? NULL : p;
	}
	return NULL;
}

bool cow_has_parent(const struct dump_ctx *ctx, const struct dump_task *t)
{
	return find_parent(ctx, t) != NULL;
}

int cow_open(const struct dump_ctx *ctx, const struct dump_task *t, struct cow_parent *cp)
{
	const struct dump_task *p = find_parent(ctx, t);
	char path[64];

	memset(cp, 0, sizeof(*cp));
	cp->pmfd = -1;
	cp->pid = t->pid;
	if (!p)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", p->pid);
	cp->pmfd = open(path, O_RDONLY | O_CLOEXEC);
	if (cp->pmfd < 0) {
		pr_info("pid %d: cannot open %s (%s); pages shared with it are saved twice", t->pid,
			path, strerror(errno));
		cow_close(cp);
		return 0;
	}
	cp->mine = malloc(COW_CHUNK * sizeof(*cp->mine));
	cp->theirs = malloc(COW_CHUNK * sizeof(*cp->theirs));
	cp->shared = malloc(COW_CHUNK);
	if (!cp->mine || !cp->theirs || !cp->shared) {
		pr_err("pid %d: out of memory to compare its pages with its parent's", t->pid);
		cow_close(cp);
		return -1;
	}
	cp->p = p;
	return 0;
}

void cow_close(struct cow_parent *cp)
{
	if (cp->pmfd >= 0)
		close(cp->pmfd);
	free(cp->mine);
	free(cp->theirs);
	free(cp->shared);
	memset(cp, 0, sizeof(*cp));
	cp->pmfd = -1;
}

/*
 * Plain private anonymous memory: what restore can map early and move into
 * place. Not hugetlb, droppable or a grows-down stack (other flags), not
 * mlocked (its restore would write every page, undoing the sharing).
 */
static bool cow_kind(const struct vma *v)
{
	return v->kind == VMA_KIND__VMA_ANON &&
	       (v->flags & ~MAP_NORESERVE) == (MAP_PRIVATE | MAP_ANONYMOUS) && !v->lock;
}

bool cow_match(struct cow_parent *cp, const struct vma *v)
{
	const struct vma_list *pl;

	cp->pv = NULL;
	if (!cp->p || !cow_kind(v))
		return false;
	pl = &cp->p->vmas;
	while (cp->next < pl->nr && pl->v[cp->next].end <= v->start)
		cp->next++;
	if (cp->next == pl->nr)
		return false;
	/* The madvise() flags too: restore cannot take back a MADV_HUGEPAGE it inherits. */
	if (pl->v[cp->next].start == v->start && pl->v[cp->next].end == v->end &&
	    pl->v[cp->next].flags == v->flags && pl->v[cp->next].madv == v->madv &&
	    cow_kind(&pl->v[cp->next]))
		cp->pv = &pl->v[cp->next];
	return cp->pv != NULL;
}

static int read_pagemap(int fd, pid_t pid, uint64_t *ents, uint64_t addr, size_t n)
{
	ssize_t got = pread(fd, ents, n * sizeof(*ents), addr / PAGE_SIZE * sizeof(*ents));

	if (got == (ssize_t)(n * sizeof(*ents)))
		return 0;
	if (got >= 0)
		errno = EIO;
	pr_perror("pid %d: cannot read pagemap at %lx", pid, (unsigned long)addr);
	return -1;
}

static uint64_t pfn(uint64_t e)
{
	return e & PME_PFN_MASK;
}

static bool same_frame(uint64_t mine, uint64_t theirs)
{
	return (mine & PME_PRESENT) && (theirs & PME_PRESENT) &&
	       !((mine | theirs) & PME_EXCLUSIVE) && pfn(mine) && pfn(mine) == pfn(theirs);
}

/* Append [start, end) to v->inherited, merged with the last range if they touch. */
static int add_inherited(struct vma *v, uint64_t start, uint64_t end)
{
	struct vma_range *last = v->nr_inherited ? &v->inherited[v->nr_inherited - 1] : NULL;
	size_t n = v->nr_inherited;

	if (last && last->end == start) {
		last->end = end;
		return 0;
	}
	/* Room doubles at each power of two. */
	if (!(n & (n - 1))) {
		struct vma_range *r = realloc(v->inherited, (n ? 2 * n : 1) * sizeof(*r));

		if (!r) {
			pr_err("out of memory listing the pages mapping %lx-%lx shares with its "
			       "parent",
			       (unsigned long)v->start, (unsigned long)v->end);
			return -1;
		}
		v->inherited = r;
	}
	v->inherited[v->nr_inherited++] = (struct vma_range){ start, end };
	return 0;
}

int cow_split(struct cow_parent *cp, int pmfd, struct vma *v, uint64_t start, uint64_t nr,
	      cow_own_fn *own, void *arg)
{
	uint64_t done, n;
	size_t i, j;

	for (done = 0; done < nr; done += n) {
		uint64_t addr = start + done * PAGE_SIZE;

		n = nr - done < COW_CHUNK ? nr - done : COW_CHUNK;
		if (read_pagemap(pmfd, cp->pid, cp->mine, addr, n) ||
		    read_pagemap(cp->pmfd, cp->p->pid, cp->theirs, addr, n))
			return -1;
		for (i = 0; i < n; i++)
			cp->shared[i] = same_frame(cp->mine[i], cp->theirs[i]);
		for (i = 0; i < n; i = j) {
			uint64_t a = addr + i * PAGE_SIZE;

			for (j = i + 1; j < n && cp->shared[j] == cp->shared[i]; j++)
				;
			if (cp->shared[i] ? add_inherited(v, a, addr + j * PAGE_SIZE)
					  : own(arg, a, j - i))
				return -1;
		}
	}
	return 0;
}
