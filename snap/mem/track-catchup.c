// SPDX-License-Identifier: GPL-2.0
/*
 * The catch-up rounds of a final dump on a parent set (see track.h): the
 * pages written since the parent, copied while the tree still runs into the
 * page hold (page-hold.h), round after round, and for each process where
 * the newest copy of each page is, for track_split() once frozen.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "kcompat.h"
#include "log.h"
#include "mem/page-hold.h"
#include "mem/track.h"

#define ROUNDS_MAX 8
/* Fewer pages than this are copied frozen faster than one more round (a scan of every mapping). */
#define ROUND_SMALL 64
#define SCAN_VEC 512
#define BUF_PAGES 1024

/* A mapping to catch up: its pages are dumped. */
struct cu_range {
	uint64_t start, end;
	uint64_t file_mask;	/* scan_file_mask() of it */
};

struct cu_task {
	pid_t pid;
	int uffd;		/* snap's copy of the process's tracker */
	struct track_copy *pg;	/* in address order */
	size_t nr;
	struct cu_range *ranges;	/* the mappings whose pages are dumped, as read before */
	size_t nr_ranges;
	uint64_t last;			/* pages the last round copied */
	struct page_run *runs;		/* for track_split(), touched before the freeze */
	size_t cap_runs;
};

struct track_catchup {
	struct cu_task *t;
	size_t nr;
	bool full;		/* the hold took no more: no more rounds */
};

/* One round over one process: the pages it found, gathered and stashed. */
struct cu_round {
	struct dump_ctx *ctx;
	struct cu_task *ct;
	int pmfd, memfd;
	char *buf;
	struct vma_range pend[BUF_PAGES];	/* what buf is for, in order */
	uint8_t bad[BUF_PAGES];			/* pages of buf that could not be read */
	size_t nr_pend, pages;
	struct track_copy *np;	/* this round's copies */
	size_t nr_np, cap_np;
	uint64_t copied;
};

/*
 * Pages a round protected but did not copy read as written again: the
 * freeze copies them. The kernel stops at the first mapping of the range
 * that is not registered (ENOENT: made since, in a hole the tree punched),
 * so then page by page, those pages left out: they are new to the freeze.
 */
static int unprotect(const struct cu_task *ct, uint64_t start, uint64_t end)
{
	struct uffdio_writeprotect wp = { .range = { start, end - start }, .mode = 0 };

	if (!ioctl(ct->uffd, UFFDIO_WRITEPROTECT, &wp))
		return 0;
	if (errno != ENOENT)
		goto err;
	for (uint64_t a = start; a < end; a += PAGE_SIZE) {
		wp.range = (struct uffdio_range){ a, PAGE_SIZE };
		if (ioctl(ct->uffd, UFFDIO_WRITEPROTECT, &wp) && errno != ENOENT)
			goto err;
	}
	return 0;
err:
	pr_perror("pid %d: cannot unprotect %lx-%lx for the freeze to copy", ct->pid,
		  (unsigned long)start, (unsigned long)end);
	return -1;
}

static int add_page(struct cu_round *r, uint64_t addr, uint64_t off)
{
	if (r->nr_np == r->cap_np) {
		size_t cap = r->cap_np ? r->cap_np * 2 : 1024;
		struct track_copy *n = realloc(r->np, cap * sizeof(*n));

		if (!n) {
			pr_err("pid %d: out of memory for the catch-up copies", r->ct->pid);
			return -1;
		}
		r->np = n;
		r->cap_np = cap;
	}
	r->np[r->nr_np++] = (struct track_copy){ addr, off };
	return 0;
}

/*
 * The pending ranges into buf, one after the other: one process_vm_readv()
 * for them all; from where it stops, page by page through /proc/PID/mem
 * (memory the task may not read, or a page unmapped since the scan). A page
 * that cannot be read is marked bad and unprotected: the freeze copies it.
 *
 * process_vm_readv() pins what it reads, and a pinned anonymous page the
 * task shares copy-on-write is unshared (mem-read.c). The pages read here
 * were written since the last round, so the task holds them alone, unless
 * it forked after writing them: then each process keeps a copy of its own
 * (until the kill, or with -R until one of them writes it), and the page
 * is saved in each process that had it instead of once (cow.h).
 */
static int read_pend(struct cu_round *r)
{
	struct iovec local = { r->buf, r->pages * PAGE_SIZE }, remote[BUF_PAGES];
	size_t total = r->pages * PAGE_SIZE, at = 0;
	ssize_t n;

	for (size_t i = 0; i < r->nr_pend; i++)
		remote[i] = (struct iovec){ (void *)(uintptr_t)r->pend[i].start,
					    r->pend[i].end - r->pend[i].start };
	n = process_vm_readv(r->ct->pid, &local, 1, remote, r->nr_pend, 0);
	memset(r->bad, 0, r->pages);
	if (n == (ssize_t)total)
		return 0;
	n = n > 0 ? n & ~(ssize_t)(PAGE_SIZE - 1) : 0;
	for (size_t i = 0; i < r->nr_pend; i++)
		for (uint64_t a = r->pend[i].start; a < r->pend[i].end; a += PAGE_SIZE) {
			size_t slot = at / PAGE_SIZE;

			at += PAGE_SIZE;
			if (at <= (size_t)n ||
			    pread(r->memfd, r->buf + slot * PAGE_SIZE, PAGE_SIZE, a) == PAGE_SIZE)
				continue;
			r->bad[slot] = 1;
			if (unprotect(r->ct, a, a + PAGE_SIZE))
				return -1;
		}
	return 0;
}

/* What is pending, read and into the hold; when it is full, given back to the freeze. */
static int stash(struct cu_round *r)
{
	struct track_catchup *cu = r->ctx->catchup;
	uint64_t off = 0, slot = 0;
	bool held;

	if (!r->nr_pend)
		return 0;
	if (read_pend(r))
		return -1;
	held = !cu->full && page_hold_stash(r->ctx->hold, r->buf, r->pages, &off) == 1;
	cu->full = !held;
	for (size_t i = 0; i < r->nr_pend; i++) {
		const struct vma_range *p = &r->pend[i];

		if (!held) {
			if (unprotect(r->ct, p->start, p->end))
				return -1;
			continue;
		}
		for (uint64_t a = p->start; a < p->end; a += PAGE_SIZE, slot++)
			if (!r->bad[slot] && add_page(r, a, off + slot * PAGE_SIZE))
				return -1;
	}
	if (held)
		r->copied += r->pages;
	r->nr_pend = r->pages = 0;
	return 0;
}

/* [start, end), found written and protected again: to read at the next stash(). */
static int gather(struct cu_round *r, uint64_t start, uint64_t end)
{
	while (start < end) {
		uint64_t room, len;

		if ((r->pages == BUF_PAGES || r->nr_pend == BUF_PAGES) && stash(r))
			return -1;
		room = (BUF_PAGES - r->pages) * PAGE_SIZE;
		len = end - start < room ? end - start : room;
		r->pend[r->nr_pend++] = (struct vma_range){ start, start + len };
		r->pages += len / PAGE_SIZE;
		start += len;
	}
	return 0;
}

/*
 * One mapping: its pages written since the last round (or the parent),
 * protected again and reported in the same PAGEMAP_SCAN.
 *
 * The ranges were read before the rounds, and the tree runs: what is in a
 * range now may differ. That is safe as it is: only snap registers
 * mappings with the tracker, none since the parent but in the same place,
 * and the kernel skips what is not registered (a mapping made, moved or
 * merged since), which the freeze then saves whole. Not
 * PM_SCAN_CHECK_WPASYNC: such a mapping in the range would fail the scan
 * with EPERM after the kernel protected (and did not report) the pages
 * before it.
 */
static int round_range(struct cu_round *r, const struct cu_range *c)
{
	uint64_t skip = PAGE_IS_PFNZERO | c->file_mask |
			(r->ctx->kf->pagemap_guard ? PAGE_IS_GUARD : 0);
	struct page_region regs[SCAN_VEC];
	struct pm_scan_arg a = {
		.size = sizeof(a),
		.flags = PM_SCAN_WP_MATCHING,
		.start = c->start,
		.end = c->end,
		.vec = (uintptr_t)regs,
		.vec_len = SCAN_VEC,
		.category_inverted = skip,
		.category_mask = skip | PAGE_IS_WRITTEN,
		.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
		.return_mask = PAGE_IS_WRITTEN,
	};
	long n;

	for (;;) {
		/* The hold is full: the freeze copies the rest. */
		if (r->ctx->catchup->full)
			return 0;
		n = ioctl(r->pmfd, PAGEMAP_SCAN, &a);
		if (n < 0) {
			pr_perror("pid %d: PAGEMAP_SCAN of the written pages of %lx-%lx",
				  r->ct->pid, (unsigned long)c->start, (unsigned long)c->end);
			return -1;
		}
		for (long i = 0; i < n; i++)
			if (gather(r, regs[i].start, regs[i].end))
				return -1;
		if (a.walk_end >= c->end)
			return 0;
		a.start = a.walk_end;
	}
}

/* This round's copies replace the older ones of the same pages. */
static int merge(struct cu_task *ct, const struct track_copy *np, size_t nr)
{
	struct track_copy *m = malloc((ct->nr + nr) * sizeof(*m));
	size_t i = 0, j = 0, k = 0;

	if (!m && ct->nr + nr) {
		pr_err("pid %d: out of memory for the catch-up copies", ct->pid);
		return -1;
	}
	while (i < ct->nr || j < nr) {
		if (j == nr || (i < ct->nr && ct->pg[i].addr < np[j].addr)) {
			m[k++] = ct->pg[i++];
			continue;
		}
		if (i < ct->nr && ct->pg[i].addr == np[j].addr)
			i++;
		m[k++] = np[j++];
	}
	free(ct->pg);
	ct->pg = m;
	ct->nr = k;
	return 0;
}

/*
 * The mappings of @ct whose pages are dumped, from the list the dump read
 * before the freeze (tree_prepare()'s hints). A process not in it is left
 * to the freeze. -1: no memory.
 */
static int ranges_of(const struct dump_ctx *ctx, struct cu_task *ct)
{
	const struct vma_list *vl = NULL;

	if (ctx->tasks[0].pid == ct->pid)
		vl = &ctx->tasks[0].vmas_hint;
	for (size_t i = 0; !vl && i < ctx->nr_hints; i++)
		if (ctx->hints[i].pid == ct->pid)
			vl = &ctx->hints[i].vmas_hint;
	if (!vl || !vl->nr)
		return 0;
	ct->ranges = calloc(vl->nr, sizeof(*ct->ranges));
	if (!ct->ranges)
		return -1;
	for (size_t i = 0; i < vl->nr; i++)
		if (vma_dumps_pages(&vl->v[i]))
			ct->ranges[ct->nr_ranges++] = (struct cu_range){
				vl->v[i].start, vl->v[i].end, scan_file_mask(&vl->v[i])
			};
	return 0;
}

static int round_task(struct dump_ctx *ctx, struct cu_task *ct, uint64_t *copied)
{
	struct cu_round *r = calloc(1, sizeof(*r));
	char path[64];
	int ret = -1;

	if (!r) {
		pr_err("pid %d: out of memory for the catch-up", ct->pid);
		return -1;
	}
	*r = (struct cu_round){ .ctx = ctx, .ct = ct, .pmfd = -1, .memfd = -1 };
	r->buf = mmap(NULL, BUF_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r->buf == MAP_FAILED) {
		pr_perror("pid %d: cannot allocate the catch-up buffer", ct->pid);
		free(r);
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/%d/pagemap", ct->pid);
	r->pmfd = open(path, O_RDONLY | O_CLOEXEC);
	/* Gone since the parent: the freeze finds the tree as it is. */
	if (r->pmfd < 0 && errno == ENOENT) {
		ret = 0;
		goto out;
	}
	snprintf(path, sizeof(path), "/proc/%d/mem", ct->pid);
	r->memfd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->pmfd < 0 || r->memfd < 0) {
		pr_perror("pid %d: cannot open its pagemap or memory for the catch-up", ct->pid);
		goto out;
	}
	for (size_t i = 0; i < ct->nr_ranges; i++)
		if (round_range(r, &ct->ranges[i]))
			goto out;
	if (stash(r) || merge(ct, r->np, r->nr_np))
		goto out;
	*copied += r->copied;
	ct->last = r->copied;
	ret = 0;
out:
	if (r->pmfd >= 0)
		close(r->pmfd);
	if (r->memfd >= 0)
		close(r->memfd);
	munmap(r->buf, BUF_PAGES * PAGE_SIZE);
	free(r->np);
	free(r);
	return ret;
}

/*
 * The split's output once frozen: about a run per page copied, and as many
 * between them, with room for what the last round left. On this VM a first
 * touch of fresh memory costs tens of microseconds a page: they are
 * touched now, the tree still running. Without memory, the split grows its
 * own array.
 */
static void reserve_runs(struct cu_task *ct)
{
	size_t cap = 2 * (ct->nr + 4 * ct->last) + 1024;

	ct->runs = malloc(cap * sizeof(*ct->runs));
	if (!ct->runs)
		return;
	memset(ct->runs, 0, cap * sizeof(*ct->runs));
	ct->cap_runs = cap;
}

/* snap's copy of @e's tracker, if the process still holds it; else -1. */
static int take_tracker(const TrackEntry *e)
{
	int pidfd = syscall(SYS_pidfd_open, e->pid, 0), fd;
	struct stat st;

	if (pidfd < 0)
		return -1;
	fd = syscall(SYS_pidfd_getfd, pidfd, e->fd, 0);
	close(pidfd);
	if (fd >= 0 && (fstat(fd, &st) || st.st_ino != e->ino)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

int track_catchup(struct dump_ctx *ctx)
{
	const TrackEntry *const *te;
	size_t nr = track_parent_trackers(ctx, &te);
	struct track_catchup *cu = calloc(1, sizeof(*cu));
	uint64_t t0 = now_ns(), prev = UINT64_MAX;

	if (cu)
		cu->t = calloc(nr ? nr : 1, sizeof(*cu->t));
	if (!cu || !cu->t) {
		pr_err("out of memory for the catch-up");
		free(cu);
		return -1;
	}
	ctx->catchup = cu;
	for (size_t i = 0; i < nr; i++) {
		int fd = take_tracker(te[i]);
		struct cu_task *ct = &cu->t[cu->nr];

		/* Not there: the freeze says why and saves the process whole. */
		if (fd < 0)
			continue;
		*ct = (struct cu_task){ .pid = te[i]->pid, .uffd = fd };
		cu->nr++;
		if (ranges_of(ctx, ct)) {
			pr_err("out of memory for the catch-up");
			return -1;
		}
	}
	/* Until it no longer shrinks: the tree writes as fast as the rounds copy. */
	while (cu->nr && !cu->full && ctx->st.catchup_rounds < ROUNDS_MAX) {
		uint64_t copied = 0;

		for (size_t i = 0; i < cu->nr; i++)
			if (round_task(ctx, &cu->t[i], &copied))
				return -1;
		ctx->st.catchup_rounds++;
		ctx->st.catchup_copied += copied;
		pr_debug("catch-up round %llu: %llu pages",
			 (unsigned long long)ctx->st.catchup_rounds, (unsigned long long)copied);
		if (copied <= ROUND_SMALL || copied * 4 > prev * 3)
			break;
		prev = copied;
	}
	for (size_t i = 0; i < cu->nr; i++)
		reserve_runs(&cu->t[i]);
	ctx->st.catchup_ns = now_ns() - t0;
	return 0;
}

const struct track_copy *track_catchup_copies(struct dump_ctx *ctx, pid_t pid, size_t *nr,
					      struct page_run **runs, size_t *cap)
{
	for (size_t i = 0; ctx->catchup && i < ctx->catchup->nr; i++) {
		struct cu_task *ct = &ctx->catchup->t[i];

		if (ct->pid != pid)
			continue;
		*runs = ct->runs;
		*cap = ct->cap_runs;
		ct->runs = NULL;
		*nr = ct->nr;
		return ct->pg;
	}
	*nr = 0;
	return NULL;
}

/*
 * Unregistered, a mapping reads as untracked to the next dump, which saves
 * it whole; its protection goes with the registration.
 */
void track_catchup_reset(struct dump_ctx *ctx)
{
	for (size_t i = 0; ctx->catchup && i < ctx->catchup->nr; i++) {
		const struct cu_task *ct = &ctx->catchup->t[i];

		for (size_t j = 0; j < ct->nr_ranges; j++) {
			struct uffdio_range r = { ct->ranges[j].start,
						  ct->ranges[j].end - ct->ranges[j].start };

			if (ioctl(ct->uffd, UFFDIO_UNREGISTER, &r) && errno != EINVAL &&
			    errno != ENOENT)
				pr_perror("pid %d: cannot unregister %lx-%lx after the failed "
					  "dump: a dump on the same parent may take pages for "
					  "the parent's", ct->pid, (unsigned long)r.start,
					  (unsigned long)(r.start + r.len));
		}
	}
}

void track_catchup_free(struct dump_ctx *ctx)
{
	struct track_catchup *cu = ctx->catchup;

	if (!cu)
		return;
	for (size_t i = 0; i < cu->nr; i++) {
		close(cu->t[i].uffd);
		free(cu->t[i].pg);
		free(cu->t[i].runs);
		free(cu->t[i].ranges);
	}
	free(cu->t);
	free(cu);
	ctx->catchup = NULL;
}
