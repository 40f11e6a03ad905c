// SPDX-License-Identifier: GPL-2.0
/*
 * Live snapshot, the frozen half for one task (see live-internal.h): with
 * the parasite in, the pages that cannot be streamed are written, and the
 * others are held: by a forked holder (live-holder.c), or in pipes by
 * vmsplice while snap write-protects them, the pages the threads' rseq
 * areas are in last, once the parasite is gone. The uffd is made and
 * registered by the parasite, for those pages and for shared memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "infect.h"
#include "kcompat.h"
#include "live/live-internal.h"
#include "log.h"
#include "mem/cow.h"
#include "proc/thread-dump.h"

/*
 * Without a vDSO the parasite runs its syscalls from a word poked into the
 * task's code, and these pages are read before it is put back: save the
 * original word.
 */
static void unpoke_copy(const struct dump_task *t, uint64_t addr, uint8_t *buf, size_t len)
{
	const struct parasite_ctl *ctl = t->ctl;

	if (!ctl->code_poked || ctl->syscall_ip + sizeof(long) <= addr ||
	    ctl->syscall_ip >= addr + len)
		return;
	for (size_t i = 0; i < sizeof(long); i++) {
		uint64_t a = ctl->syscall_ip + i;

		if (a >= addr && a < addr + len)
			buf[a - addr] = ((const uint8_t *)&ctl->orig_code)[i];
	}
}

/* Pages of runs that cannot be streamed are saved now, while frozen. */
static int save_frozen_runs(struct dump_ctx *ctx, struct dump_task *t, struct live_dump *ld)
{
	char path[64];
	int memfd, ret = 0;
	size_t i;

	snprintf(path, sizeof(path), "/proc/%d/mem", t->pid);
	memfd = open(path, O_RDONLY | O_CLOEXEC);
	if (memfd < 0) {
		pr_perror("cannot open %s", path);
		return -1;
	}
	for (i = 0; i < ld->pl.nr && !ret; i++) {
		const struct page_run *r = &ld->pl.runs[i];
		uint64_t done, n;

		if (live_streamable(t, ld, r))
			continue;
		for (done = 0; done < r->nr && !ret; done += n) {
			n = r->nr - done < CHUNK_PAGES ? r->nr - done : CHUNK_PAGES;
			if (mem_read(t->pid, memfd, &t->vmas.v[r->vma], r->vaddr + done * PAGE_SIZE,
				     ld->buf, n * PAGE_SIZE)) {
				ret = -1;
				break;
			}
			unpoke_copy(t, r->vaddr + done * PAGE_SIZE, ld->buf, n * PAGE_SIZE);
			ret = live_write_pages(ld, ld->buf, n, ld->run_idx[i] + done);
			for (uint64_t k = 0; k < n; k++)
				set_saved(ld, ld->run_idx[i] + done + k);
		}
		ctx->st.pages_written += r->nr;
	}
	close(memfd);
	return ret;
}

struct protect_job {
	struct live_dump *ld;
	size_t seg_first, seg_end;
};

/*
 * Write-protect held segments, all but the threads' rseq pages: the parasite's
 * own syscalls and those snap injects make the kernel write there, and no one
 * serves faults until the parasite is gone. Only present pages need it: empty
 * ones hold nothing.
 */
static int protect_segs(void *arg)
{
	const struct protect_job *j = arg;
	struct live_dump *ld = j->ld;

	for (size_t s = j->seg_first; s < j->seg_end; s++) {
		uint64_t a = ld->segs[s].vaddr, e = a + ld->segs[s].nr * PAGE_SIZE;

		for (size_t i = 0; i < ld->nr_rseq_pages; i++) {
			uint64_t r = ld->rseq_pages[i];

			if (r < a || r >= e)
				continue;
			if (live_protect_range(ld, a, r - a, true))
				return -1;
			a = r + PAGE_SIZE;
		}
		if (live_protect_range(ld, a, e - a, true))
			return -1;
	}
	return 0;
}

/* Make the pipes and have the parasite vmsplice the pages into them. */
static int hold_pages(struct dump_task *t, struct live_dump *ld)
{
	struct parasite_live *l = &t->ctl->args->live;
	struct protect_job job = { .ld = ld };
	size_t p = 0;

	while (p < ld->nr_pipes) {
		int wfds[PARASITE_MAX_PIPES], n = 0, ret;

		l->nr_iov = 0;
		while (p < ld->nr_pipes && n < PARASITE_MAX_PIPES &&
		       l->nr_iov + (ld->pipes[p].seg_end - ld->pipes[p].seg_first) <=
			       PARASITE_MAX_IOV) {
			struct held_pipe *hp = &ld->pipes[p];
			int fds[2];

			if (live_get_pipe(ld, fds))
				goto fail;
			hp->fd = fds[0];
			wfds[n] = fds[1];
			for (size_t s = hp->seg_first; s < hp->seg_end; s++)
				l->iov[l->nr_iov++] = (struct parasite_iov){
					ld->segs[s].vaddr, ld->segs[s].nr * PAGE_SIZE };
			l->pipe_end[n++] = l->nr_iov;
			p++;
		}
		if (!n) {
			pr_err("pid %d: a pipe's worth of pages spans more than %d ranges", t->pid,
			       PARASITE_MAX_IOV);
			return -1;
		}
		l->nr_pipes = n;
		job.seg_first = ld->pipes[p - n].seg_first;
		job.seg_end = ld->pipes[p - 1].seg_end;
		ret = parasite_cmd_during(t->ctl, PARASITE_CMD_VMSPLICE, wfds, n, NULL, protect_segs,
					  &job);
		while (n)
			close(wfds[--n]);
		if (ret)
			return -1;
		continue;
fail:
		while (n)
			close(wfds[--n]);
		return -1;
	}
	return 0;
}

static int add_iov(struct dump_task *t, const struct vma *v)
{
	struct parasite_live *l = &t->ctl->args->live;

	if (l->nr_iov == PARASITE_MAX_IOV) {
		pr_err("pid %d: more than %d mappings to write-protect", t->pid, PARASITE_MAX_IOV);
		return -1;
	}
	l->iov[l->nr_iov++] = (struct parasite_iov){ v->start, v->end - v->start };
	return 0;
}

/*
 * Register every anonymous VMA with pages to stream, and every mapping of a
 * shared memory object that may be streamed (live-shmem.c): all are
 * protected later. A process mapping such an object also asks for fork
 * events: a child it forks during the streaming shares the object, and its
 * writes must be caught too (it gets protected page tables and a uffd of its
 * own, which the fork event hands to snap). Without CAP_SYS_PTRACE the
 * process cannot have them, and its objects are saved frozen.
 */
static int arm_uffd(struct dump_ctx *ctx, struct dump_task *t, struct live_dump *ld)
{
	struct parasite_live *l = &t->ctl->args->live;
	size_t i, last = (size_t)-1;
	int devfd, ret;

	l->nr_iov = 0;
	l->uffd_features = LIVE_UFFD_FEATURES;
	if (live_shmem_supported(ctx->kf))
		l->uffd_features |= UFFD_FEATURE_WP_HUGETLBFS_SHMEM;
	/* Held by the holder, the task's own pages need no protection. */
	for (i = 0; !ld->holder && i < ld->pl.nr; i++) {
		const struct page_run *r = &ld->pl.runs[i];

		if (!live_streamable(t, ld, r) || r->vma == last)
			continue;
		if (add_iov(t, &t->vmas.v[r->vma]))
			return -1;
		last = r->vma;
	}
	for (i = 0; i < t->vmas.nr; i++) {
		const struct vma *v = &t->vmas.v[i];

		if (v->kind != VMA_KIND__VMA_SHMEM || !live_shmem_may_stream(ctx, v->shmem_id))
			continue;
		if (add_iov(t, v))
			return -1;
		l->uffd_features |= UFFD_FEATURE_EVENT_FORK;
	}
	if (!l->nr_iov)
		return 0;
	devfd = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (devfd < 0) {
		pr_perror("cannot open /dev/userfaultfd");
		return -1;
	}
	ret = parasite_cmd_fds(t->ctl, PARASITE_CMD_UFFD_ARM, &devfd, 1, &ld->uffd);
	close(devfd);
	ld->fork_events = l->uffd_features & UFFD_FEATURE_EVENT_FORK;
	return ret;
}

/* Whether the page at @addr is in a held segment. */
static bool page_held(const struct live_dump *ld, uint64_t addr)
{
	int64_t idx = live_page_index(ld, addr);

	for (size_t s = 0; idx >= 0 && s < ld->nr_segs; s++)
		if ((uint64_t)idx >= ld->segs[s].idx && (uint64_t)idx < ld->segs[s].idx + ld->segs[s].nr)
			return true;
	return false;
}

int live_protect(struct live_dump *ld)
{
	/* The pages left open while the parasite ran, if they are held at all. */
	for (size_t i = 0; !ld->holder && i < ld->nr_rseq_pages; i++)
		if (page_held(ld, ld->rseq_pages[i]) && live_wp(ld, ld->rseq_pages[i], PAGE_SIZE))
			return -1;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int live_note_rseq(struct dump_task *t, struct live_dump *ld)
{
	size_t n = 0;

	ld->rseq_pages = calloc(t->nr_threads, sizeof(*ld->rseq_pages));
	if (!ld->rseq_pages)
		return -1;
	for (size_t i = 0; i < t->nr_threads; i++) {
		uint64_t p = t->thr[i].rseq.rseq_abi_pointer & ~(PAGE_SIZE - 1);

		if (t->thr[i].rseq.rseq_abi_pointer)
			ld->rseq_pages[n++] = p;
	}
	qsort(ld->rseq_pages, n, sizeof(*ld->rseq_pages), cmp_u64);
	/* Threads' areas may share a page: keep each page once. */
	ld->nr_rseq_pages = 0;
	for (size_t i = 0; i < n; i++)
		if (!ld->nr_rseq_pages || ld->rseq_pages[ld->nr_rseq_pages - 1] != ld->rseq_pages[i])
			ld->rseq_pages[ld->nr_rseq_pages++] = ld->rseq_pages[i];
	return 0;
}

/*
 * Whether @t's pages are held by a forked holder, else in pipes: a stopped
 * task writes nothing until the dump is over, so the pipes cost it nothing.
 */
static bool fork_hold_fits(const struct dump_ctx *ctx, const struct dump_task *t)
{
	return !ctx->opts->live_splice && !t->stopped;
}

/*
 * Whether an orphan left by @t would be reparented into the tree: @t or an
 * ancestor in the tree is a child subreaper or a pid namespace's init
 * (which namespace is not asked: such a holder only costs a reap).
 */
static bool orphan_comes_back(const struct dump_ctx *ctx, const struct dump_task *t)
{
	size_t hops = 0;

	while (t && hops++ <= ctx->nr_tasks) {
		const struct dump_task *parent = NULL;

		if (t->subreaper || (t->nest ? t->nspid[t->nest - 1] : t->vpid) == 1)
			return true;
		for (size_t i = 0; i < ctx->nr_tasks && !parent; i++)
			if (ctx->tasks[i].pid == t->ppid)
				parent = &ctx->tasks[i];
		t = parent;
	}
	return false;
}

bool *live_later_plan(struct dump_ctx *ctx, struct dump_task *t)
{
	bool *later, any = false;

	/*
	 * Only with a holder to look in, and where the pages found now are
	 * not compared with a parent's (cow.h) nor split by a write tracker.
	 * Guard regions must be seen apart from pages (PAGE_IS_GUARD).
	 */
	if (!fork_hold_fits(ctx, t) || t->trk || cow_has_parent(ctx, t) ||
	    !ctx->kf->pagemap_scan || !ctx->kf->pagemap_guard)
		return NULL;
	later = calloc(t->vmas.nr ? t->vmas.nr : 1, sizeof(*later));
	if (!later)
		return NULL;
	/*
	 * Private anonymous memory the holder's copy may be streamed from:
	 * the big part. A fork copies its page tables, guard regions
	 * included; the few pages of file mappings are found now.
	 */
	for (size_t i = 0; i < t->vmas.nr; i++) {
		const struct vma *v = &t->vmas.v[i];

		later[i] = v->kind == VMA_KIND__VMA_ANON && vma_dumps_pages(v) &&
			   live_holder_streams(t, v);
		any |= later[i];
	}
	if (any)
		return later;
	free(later);
	return NULL;
}

/* Whether a run found frozen must be saved frozen: it needs the layout now. */
static bool saves_frozen(const struct dump_task *t, const struct live_dump *ld)
{
	for (size_t i = 0; i < ld->pl.nr; i++)
		if (!live_streamable(t, ld, &ld->pl.runs[i]))
			return true;
	return false;
}

/* The pages of the mappings ld->later marks, from @pid's page tables, into ld->pl. */
static int collect_later(struct dump_ctx *ctx, struct dump_task *t, struct live_dump *ld,
			 pid_t pid)
{
	struct page_list rest = { 0 };
	char path[64];
	int ret = -1, fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ret = page_collect_later(ctx, t, fd, ld->later, &rest);
		close(fd);
	}
	/* Only a holder can be gone: the task is frozen, or was when it forked one. */
	if (ret && (errno == ESRCH || errno == ENOENT) && pid == ld->holder)
		live_holder_died(ld);
	else if (fd < 0)
		pr_perror("pid %d: cannot open %s", t->pid, path);
	else if (ret && errno == ESRCH)
		pr_err("pid %d: gone while its pages were being found", t->pid);
	if (!ret && page_list_merge(&ld->pl, &rest)) {
		pr_err("pid %d: out of memory for the list of pages to dump", t->pid);
		ret = -1;
	}
	page_list_free(&rest);
	free(ld->later);
	ld->later = NULL;
	return ret;
}

int live_collect_later(struct dump_ctx *ctx, struct dump_task *t, struct live_dump *ld)
{
	if (collect_later(ctx, t, ld, ld->holder) || live_layout(ld, ctx, PAGE_SINK_TASK, t->vpid))
		return -1;
	return live_plan_pipes(t, ld);
}

int live_freeze(struct dump_ctx *ctx, struct dump_task *t, struct page_list *pl,
		struct live_dump *ld, bool *later)
{
	size_t i, live = 0;
	int held;

	ld->pl = *pl;
	ld->later = later;
	ld->ctx = ctx;
	memset(pl, 0, sizeof(*pl));
	/* --cow-limit bounds the tree: each address space gets its share. */
	for (i = 0; i < ctx->nr_tasks; i++)
		live += !ctx->tasks[i].zombie;
	ld->cow_cap = ctx->opts->cow_limit / PAGE_SIZE / live;
	if (!ld->cow_cap)
		ld->cow_cap = 1;
	ld->cow_pages = malloc(ld->cow_cap * sizeof(*ld->cow_pages));
	if (!ld->cow_pages) {
		pr_err("out of memory for the live dump of pid %d", t->pid);
		return -1;
	}
	ld->pidfd = dup(t->pidfd);
	if (ld->pidfd < 0)
		return -1;
	/*
	 * The holder is forked before the uffd exists (a uffd with fork
	 * events would stop the fork until snap reads them), and before the
	 * pages that cannot be streamed are saved: which those are depends
	 * on the hold.
	 */
	held = fork_hold_fits(ctx, t) ? live_hold_fork(ctx, t, ld, orphan_comes_back(ctx, t)) : 1;
	if (held < 0)
		return -1;
	ctx->st.live_holders += !held;
	/*
	 * With the holder, the rest of the pages are found once the tree
	 * runs (live_collect_later()): the scan and the layout of a 1 GiB
	 * redis took 4-6 ms of its freeze. Without one, or with pages to
	 * save now (which needs the layout), they are found now.
	 */
	if (ld->later && !held && !saves_frozen(t, ld))
		return arm_uffd(ctx, t, ld);
	if (ld->later && collect_later(ctx, t, ld, t->pid))
		return -1;
	if (live_layout(ld, ctx, PAGE_SINK_TASK, t->vpid) || save_frozen_runs(ctx, t, ld) ||
	    live_plan_pipes(t, ld) || arm_uffd(ctx, t, ld))
		return -1;
	return held ? hold_pages(t, ld) : 0;
}

