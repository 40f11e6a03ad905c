// SPDX-License-Identifier: GPL-2.0
/*
 * The frozen split of an incremental dump (track_split(), track.h): which
 * pages of a task were written since the last round (the tracker's scan),
 * and for each page of its list where the final layout takes it from - the
 * task, copied frozen; the parent set; or a catch-up round's copy
 * (track-catchup.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kcompat.h"
#include "log.h"
#include "mem/track.h"

#define SCAN_VEC 512

/*
 * Whether @v is registered with an asynchronous write-protect uffd now,
 * before this round registers anything: PAGEMAP_SCAN refuses a mapping that
 * is not (PM_SCAN_CHECK_WPASYNC). One page answers for the whole mapping.
 */
static int still_tracked(int pmfd, pid_t pid, const struct vma *v)
{
	struct page_region reg;
	struct pm_scan_arg a = {
		.size = sizeof(a),
		.flags = PM_SCAN_CHECK_WPASYNC,
		.start = v->start,
		.end = v->start + PAGE_SIZE,
		.vec = (uintptr_t)&reg,
		.vec_len = 1,
		.category_anyof_mask = PAGE_IS_PRESENT,
		.return_mask = PAGE_IS_PRESENT,
	};

	if (ioctl(pmfd, PAGEMAP_SCAN, &a) >= 0)
		return 1;
	if (errno == EPERM)
		return 0;
	pr_perror("pid %d: PAGEMAP_SCAN of %lx", pid, (unsigned long)v->start);
	return -1;
}

/*
 * A mapping the running task changed since it was read: @v's range is let
 * go, so that the next round finds it untracked and saves it whole.
 */
static int arm_failed(struct track_task *trk, pid_t pid, const struct vma *v, const char *what)
{
	struct uffdio_range r = { .start = v->start, .len = v->end - v->start };

	pr_debug("pid %d: mapping %lx-%lx not tracked (%s: %s)", pid, (unsigned long)v->start,
		 (unsigned long)v->end, what, strerror(errno));
	ioctl(trk->uffd, UFFDIO_UNREGISTER, &r);
	return 0;
}

/*
 * The pages of @v not written since the last round, into @clean (NULL:
 * a tracker with no past, which has none, armed while the task runs; a
 * mapping changed since it was read is then let go, not an error).
 *
 * Only a mapping registered with the tracker since the last round can have
 * clean pages: the protection of a page says nothing once its mapping lost
 * its registration - mremap() drops it (without UFFD_FEATURE_EVENT_REMAP,
 * which would stop the process on every mremap until snap read the event),
 * and from the mapping the moved range merges into, not only from the moved
 * pages, whose protection it clears; writes there leave the protection
 * bits as they were. Nothing but UFFDIO_REGISTER registers a mapping again
 * (mappings of different uffds never merge), so a mapping still registered
 * now has been all along. Every mapping is then registered (again) - one
 * the tracker cannot have (another uffd's: EBUSY) stays untracked - and,
 * with @rearm, what was written is protected again for the next round.
 *
 * A mapping registered anew has its stale protection bits lifted first: a
 * page written while its mapping was not registered keeps its bit and is
 * writable, and PM_SCAN_WP_MATCHING passes over a page whose bit is set -
 * its next writes would go unseen.
 */
static int scan_clean(struct track_task *trk, pid_t pid, int pmfd, const struct vma *v,
		      bool rearm, struct range_list *clean)
{
	struct uffdio_register reg = {
		.range = { .start = v->start, .len = v->end - v->start },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};
	struct page_region regs[SCAN_VEC];
	struct pm_scan_arg a = {
		.size = sizeof(a),
		.flags = PM_SCAN_CHECK_WPASYNC | (rearm ? PM_SCAN_WP_MATCHING : 0),
		.start = v->start,
		.end = v->end,
		.vec = (uintptr_t)regs,
		.vec_len = SCAN_VEC,
		.category_inverted = PAGE_IS_PFNZERO | scan_file_mask(v),
		.category_mask = PAGE_IS_PFNZERO | scan_file_mask(v),
		.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
		.return_mask = PAGE_IS_WRITTEN,
	};
	int tracked = clean ? still_tracked(pmfd, pid, v) : 0;
	long n, i;

	if (tracked < 0)
		return -1;
	if (ioctl(trk->uffd, UFFDIO_REGISTER, &reg)) {
		pr_debug("pid %d: mapping %lx-%lx not tracked: %s", pid, (unsigned long)v->start,
			 (unsigned long)v->end, strerror(errno));
		return 0;
	}
	if (!tracked && !rearm)
		return 0;
	if (!tracked) {
		struct uffdio_writeprotect wp = { .range = reg.range, .mode = 0 };

		if (ioctl(trk->uffd, UFFDIO_WRITEPROTECT, &wp)) {
			if (!clean)
				return arm_failed(trk, pid, v, "UFFDIO_WRITEPROTECT");
			pr_perror("pid %d: cannot reset the write tracking of %lx-%lx", pid,
				  (unsigned long)v->start, (unsigned long)v->end);
			return -1;
		}
	}
	for (;;) {
		n = ioctl(pmfd, PAGEMAP_SCAN, &a);
		if (n < 0 && !clean)
			return arm_failed(trk, pid, v, "PAGEMAP_SCAN");
		if (n < 0) {
			pr_perror("pid %d: PAGEMAP_SCAN of the written pages of %lx-%lx", pid,
				  (unsigned long)v->start, (unsigned long)v->end);
			return -1;
		}
		for (i = 0; tracked && i < n; i++)
			if (!(regs[i].categories & PAGE_IS_WRITTEN) &&
			    range_add(clean, regs[i].start, regs[i].end))
				return -1;
		if (a.walk_end >= v->end)
			return 0;
		a.start = a.walk_end;
	}
}

/* Where the final layout takes a page from. */
enum page_from {
	FROM_TASK,		/* copied frozen */
	FROM_PARENT,		/* unchanged since the parent set */
	FROM_CATCHUP,		/* unchanged since a catch-up round copied it */
};

/* The frozen split of one task's pages, walked in address order. */
struct split {
	const struct range_list *clean;		/* not written since the last round */
	size_t ci;
	const struct track_copy *cp;		/* the catch-up rounds' copies */
	size_t nr_cp, pi;
	const struct track_task *trk;		/* what the parent lists */
	size_t pj;
};

static uint64_t parent_end(const PagemapEntry *p)
{
	return p->vaddr + (uint64_t)p->nr_pages * PAGE_SIZE;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/*
 * Where page @a comes from, and in *@next how far (up to @end) the pages
 * after it come from the same place; *@off: a catch-up copy's place in the
 * hold. Calls come in address order: the cursors only move forward.
 */
static enum page_from classify(struct split *s, uint64_t a, uint64_t end, uint64_t *next,
			       uint64_t *off)
{
	const struct range_list *c = s->clean;
	const struct track_task *trk = s->trk;

	while (s->ci < c->nr && c->r[s->ci].end <= a)
		s->ci++;
	if (s->ci == c->nr || c->r[s->ci].start > a) {
		*next = s->ci < c->nr ? min_u64(end, c->r[s->ci].start) : end;
		return FROM_TASK;
	}
	end = min_u64(end, c->r[s->ci].end);
	/* Clean: the newest copy of it is a catch-up round's, or else the parent's. */
	while (s->pi < s->nr_cp && s->cp[s->pi].addr < a)
		s->pi++;
	if (s->pi < s->nr_cp && s->cp[s->pi].addr == a) {
		*off = s->cp[s->pi].off;
		*next = a + PAGE_SIZE;
		return FROM_CATCHUP;
	}
	if (s->pi < s->nr_cp)
		end = min_u64(end, s->cp[s->pi].addr);
	while (s->pj < trk->nr_parent_pm && parent_end(trk->parent_pm[s->pj]) <= a)
		s->pj++;
	if (s->pj < trk->nr_parent_pm && trk->parent_pm[s->pj]->vaddr <= a) {
		*next = min_u64(end, parent_end(trk->parent_pm[s->pj]));
		return FROM_PARENT;
	}
	if (s->pj < trk->nr_parent_pm)
		end = min_u64(end, trk->parent_pm[s->pj]->vaddr);
	*next = end;
	return FROM_TASK;
}

static int push_run(struct page_list *pl, uint64_t vaddr, uint64_t nr, uint32_t vma,
		    enum page_from from, uint64_t off)
{
	return page_list_append(pl, &(struct page_run){
		.vaddr = vaddr,
		.nr = nr,
		.vma = vma,
		.in_parent = from == FROM_PARENT,
		.stored = from == FROM_CATCHUP,
		.hold_off = from == FROM_CATCHUP ? off : 0,
	});
}

/* The runs of @pl, cut where the place their pages come from changes, into @out. */
static int split_runs(struct split *s, const struct page_list *pl, struct page_list *out)
{
	for (size_t i = 0; i < pl->nr; i++) {
		const struct page_run *r = &pl->runs[i];
		uint64_t end = r->vaddr + r->nr * PAGE_SIZE, next, off = 0;

		for (uint64_t a = r->vaddr; a < end; a = next) {
			enum page_from from = classify(s, a, end, &next, &off);

			if (push_run(out, a, (next - a) / PAGE_SIZE, r->vma, from, off))
				return -1;
		}
	}
	return 0;
}

/* scan_clean() over every mapping of @t whose pages are dumped. */
static int scan_task(struct dump_task *t, bool rearm, struct range_list *clean)
{
	char path[64];
	int pmfd, ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", t->pid);
	pmfd = open(path, O_RDONLY | O_CLOEXEC);
	if (pmfd < 0) {
		pr_perror("cannot open %s", path);
		return -1;
	}
	for (size_t i = 0; !ret && i < t->vmas.nr; i++)
		if (vma_dumps_pages(&t->vmas.v[i]))
			ret = scan_clean(t->trk, t->pid, pmfd, &t->vmas.v[i], rearm, clean);
	close(pmfd);
	return ret;
}

int track_arm_running(struct dump_task *t)
{
	if (!t->trk || !t->trk->fresh)
		return 0;
	t->trk->fresh = false;
	return scan_task(t, true, NULL);
}

int track_split(struct dump_ctx *ctx, struct dump_task *t, struct page_list *pl, bool rearm)
{
	struct range_list clean = { 0 };
	struct split s = { .clean = &clean, .trk = t->trk };
	struct page_list out = { 0 };
	int ret = -1;

	/* A fresh tracker has nothing to split by, and is armed later. */
	if (!t->trk || t->trk->fresh)
		return 0;
	if (scan_task(t, rearm, &clean))
		goto out;
	/* Memory touched for the first time is dear here: the runs were reserved before. */
	s.cp = track_catchup_copies(ctx, t->pid, &s.nr_cp, &out.runs, &out.cap);
	if (split_runs(&s, pl, &out)) {
		pr_err("pid %d: out of memory for the list of pages to dump", t->pid);
		goto out;
	}
	ctx->st.pages_in_parent += pl->pages - out.pages;
	page_list_free(pl);
	*pl = out;
	out = (struct page_list){ 0 };
	ret = 0;
out:
	page_list_free(&out);
	free(clean.r);
	return ret;
}

