// SPDX-License-Identifier: GPL-2.0
/*
 * Live snapshot, the frozen half (see live.h, live-internal.h): pipes made
 * before the freeze, then with the task frozen: pages that cannot be
 * streamed written, the uffd made and registered by the parasite, pages
 * held in pipes by vmsplice while snap write-protects them.
 */
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <unistd.h>

#include "image.h"
#include "infect.h"
#include "kcompat.h"
#include "live/live-internal.h"
#include "log.h"
#include "mem/shmem.h"
#include "proc/thread-dump.h"

bool live_supported(const struct kfeat *kf)
{
	return kf->uffd_dev && (kf->uffd_features & LIVE_UFFD_FEATURES) == LIVE_UFFD_FEATURES;
}

bool live_shmem_supported(const struct kfeat *kf)
{
	return live_supported(kf) && (kf->uffd_features & UFFD_FEATURE_WP_HUGETLBFS_SHMEM);
}

static bool streamable(const struct dump_task *t, const struct page_run *r)
{
	const struct vma *v = &t->vmas.v[r->vma];

	/*
	 * vmsplice needs readable pages; sync WP covers anonymous memory only.
	 * hugetlb would be write-protected and copied in huge pages, not the
	 * 4 KiB ones the fault path handles: its (few) pages are saved frozen.
	 */
	return v->kind == VMA_KIND__VMA_ANON && (v->prot & PROT_READ) && !(v->flags & MAP_HUGETLB);
}

int live_pwrite(struct live_dump *ld, const void *buf, size_t len, uint64_t idx)
{
	const char *p = buf;
	off_t off = idx * PAGE_SIZE;
	ssize_t n;

	while (len) {
		n = pwrite(ld->pfd, p, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			pr_perror("%s: writing its pages to the image", ld->name);
			return -1;
		}
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

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

		if (streamable(t, r))
			continue;
		for (done = 0; done < r->nr && !ret; done += n) {
			n = r->nr - done < CHUNK_PAGES ? r->nr - done : CHUNK_PAGES;
			if (mem_read(t->pid, memfd, &t->vmas.v[r->vma], r->vaddr + done * PAGE_SIZE,
				     ld->buf, n * PAGE_SIZE)) {
				ret = -1;
				break;
			}
			unpoke_copy(t, r->vaddr + done * PAGE_SIZE, ld->buf, n * PAGE_SIZE);
			ret = live_pwrite(ld, ld->buf, n * PAGE_SIZE, ld->run_idx[i] + done);
			for (uint64_t k = 0; k < n; k++)
				set_saved(ld, ld->run_idx[i] + done + k);
		}
		ctx->st.pages_written += r->nr;
	}
	close(memfd);
	return ret;
}

int live_plan_pipes(const struct dump_task *t, struct live_dump *ld)
{
	uint64_t room = 0, pipe_pages = ld->pipe_size / PAGE_SIZE;
	size_t i, cap_segs = ld->pl.nr + 16, cap_pipes = 16;

	ld->segs = malloc(cap_segs * sizeof(*ld->segs));
	ld->pipes = malloc(cap_pipes * sizeof(*ld->pipes));
	if (!ld->segs || !ld->pipes)
		return -1;
	for (i = 0; i < ld->pl.nr; i++) {
		const struct page_run *r = &ld->pl.runs[i];
		uint64_t done = 0, n;

		if (t && !streamable(t, r))
			continue;
		while (done < r->nr) {
			if (!room) {
				if (ld->nr_pipes == cap_pipes) {
					void *p = realloc(ld->pipes, 2 * cap_pipes * sizeof(*ld->pipes));

					if (!p)
						return -1;
					ld->pipes = p;
					cap_pipes *= 2;
				}
				ld->pipes[ld->nr_pipes++] = (struct held_pipe){ -1, ld->nr_segs,
										 ld->nr_segs };
				room = pipe_pages;
			}
			if (ld->nr_segs == cap_segs) {
				void *p = realloc(ld->segs, 2 * cap_segs * sizeof(*ld->segs));

				if (!p)
					return -1;
				ld->segs = p;
				cap_segs *= 2;
			}
			n = r->nr - done < room ? r->nr - done : room;
			ld->segs[ld->nr_segs++] = (struct seg){ r->vaddr + done * PAGE_SIZE,
								ld->run_idx[i] + done, n };
			ld->pipes[ld->nr_pipes - 1].seg_end = ld->nr_segs;
			done += n;
			room -= n;
		}
	}
	return 0;
}

static long pipe_max_size(void)
{
	char buf[32] = "";
	int fd = open("/proc/sys/fs/pipe-max-size", O_RDONLY | O_CLOEXEC);
	long v = 0;

	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf) - 1) > 0)
			v = strtol(buf, NULL, 10);
		close(fd);
	}
	return v >= (long)PAGE_SIZE ? v : 1 << 20;
}

/* One fd per held pipe: make room, up to the hard limit (no privilege needed). */
static int reserve_fds(const struct live_dump *ld, size_t n)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 0;
	if (rl.rlim_cur >= n + 256)
		return 0;
	if (rl.rlim_max < n + 256) {
		pr_err("%s: a live dump of it needs %zu open files, the limit is %llu: raise "
		       "ulimit -n or use --no-live",
		       ld->name, n + 256, (unsigned long long)rl.rlim_max);
		return -1;
	}
	rl.rlim_cur = n + 256;
	return setrlimit(RLIMIT_NOFILE, &rl) ? -1 : 0;
}

/* A non-blocking pipe of pipe-max-size bytes. */
static int make_pipe(const struct live_dump *ld, int fds[2])
{
	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK)) {
		pr_perror("%s: cannot make a pipe to hold pages", ld->name);
		return -1;
	}
	if (fcntl(fds[1], F_SETPIPE_SZ, ld->pipe_size) < 0) {
		pr_perror("%s: cannot size a pipe to hold pages", ld->name);
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	return 0;
}

int live_get_pipe(struct live_dump *ld, int fds[2])
{
	if (ld->pool_used < ld->nr_pool) {
		fds[0] = ld->pool[2 * ld->pool_used];
		fds[1] = ld->pool[2 * ld->pool_used + 1];
		ld->pool[2 * ld->pool_used] = ld->pool[2 * ld->pool_used + 1] = -1;
		ld->pool_used++;
		return 0;
	}
	return reserve_fds(ld, 2 * ld->nr_pool + ld->nr_pipes) ? -1 : make_pipe(ld, fds);
}

/*
 * Write-protect [@start, +@len) in @ld's uffd. A death (ESRCH) is reported
 * here unless @death_told: while the parasite runs, its caller reports it.
 */
static int protect_range(struct live_dump *ld, uint64_t start, uint64_t len, bool death_told)
{
	struct uffdio_writeprotect wp = {
		.range = { start, len },
		.mode = UFFDIO_WRITEPROTECT_MODE_WP,
	};

	if (!len || !ioctl(ld->uffd, UFFDIO_WRITEPROTECT, &wp))
		return 0;
	if (errno != ESRCH)
		pr_perror("%s: cannot write-protect %lx-%lx", ld->name, (unsigned long)start,
			  (unsigned long)(start + len));
	else if (!death_told)
		pr_err("%s died during the dump", ld->name);
	return -1;
}

int live_wp(struct live_dump *ld, uint64_t start, uint64_t len)
{
	return protect_range(ld, start, len, false);
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
			if (protect_range(ld, a, r - a, true))
				return -1;
			a = r + PAGE_SIZE;
		}
		if (protect_range(ld, a, e - a, true))
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
	for (i = 0; i < ld->pl.nr; i++) {
		const struct page_run *r = &ld->pl.runs[i];

		if (!streamable(t, r) || r->vma == last)
			continue;
		if (add_iov(t, &t->vmas.v[r->vma]))
			return -1;
		last = r->vma;
	}
	for (i = 0; i < t->vmas.nr; i++) {
		const struct vma *v = &t->vmas.v[i];

		if (v->kind != VMA_KIND__VMA_SHMEM || !shmem_may_stream(ctx, v->shmem_id))
			continue;
		if (add_iov(t, v))
			return -1;
		l->uffd_features |= UFFD_FEATURE_EVENT_FORK;
	}
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

static int write_pagemap(struct dump_ctx *ctx, struct dump_task *t, struct live_dump *ld)
{
	struct image *pm = img_open_write(ctx->dirfd, IMG_PAGEMAP, t->pid);
	size_t i;

	if (!pm)
		return -1;
	for (i = 0; i < ld->pl.nr; i++) {
		PagemapEntry pe = PAGEMAP_ENTRY__INIT;

		pe.vaddr = ld->pl.runs[i].vaddr;
		pe.nr_pages = ld->pl.runs[i].nr;
		if (img_write(pm, &pe.base)) {
			img_abort(pm);
			return -1;
		}
	}
	return img_close(pm);
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

int live_protect(struct dump_task *t, struct live_dump *ld)
{
	(void)t;
	/* The pages left open while the parasite ran, if they are held at all. */
	for (size_t i = 0; i < ld->nr_rseq_pages; i++)
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

struct live_dump *live_dump_new(const char *name)
{
	struct live_dump *ld = calloc(1, sizeof(*ld));

	if (!ld) {
		pr_err("%s: out of memory for its live dump", name);
		return NULL;
	}
	ld->uffd = ld->pfd = ld->pidfd = -1;
	ld->pipe_size = pipe_max_size();
	snprintf(ld->name, sizeof(ld->name), "%s", name);
	return ld;
}

int live_prepare(struct dump_task *t, struct live_dump **out)
{
	uint64_t anon = 0;
	struct live_dump *ld;
	char name[32];
	size_t i, n;

	snprintf(name, sizeof(name), "pid %d", t->pid);
	ld = *out = live_dump_new(name);
	if (!ld)
		return -1;
	ld->pid = t->pid;
	/* Pipe creation costs ~4 ms per GiB: do it before the freeze, from smaps. */
	for (i = 0; i < t->vmas_hint.nr; i++)
		if (t->vmas_hint.v[i].kind == VMA_KIND__VMA_ANON)
			anon += t->vmas_hint.v[i].anon_kb << 10;
	n = (anon + ld->pipe_size - 1) / ld->pipe_size + 4;
	if (reserve_fds(ld, 2 * n))
		return -1;
	ld->pool = malloc(2 * n * sizeof(int));
	if (!ld->pool)
		return -1;
	for (ld->nr_pool = 0; ld->nr_pool < n; ld->nr_pool++)
		if (make_pipe(ld, &ld->pool[2 * ld->nr_pool]))
			return -1;
	return 0;
}

int live_layout(struct live_dump *ld, int dirfd, const char *image, uint32_t id)
{
	uint64_t idx = 0;

	ld->run_idx = malloc((ld->pl.nr + 1) * sizeof(*ld->run_idx));
	ld->saved = calloc(1, ld->pl.pages / 8 + 1);
	ld->buf = malloc(CHUNK_PAGES * PAGE_SIZE);
	if (!ld->run_idx || !ld->saved || !ld->buf) {
		pr_err("%s: out of memory for its live dump", ld->name);
		return -1;
	}
	for (size_t i = 0; i < ld->pl.nr; i++) {
		ld->run_idx[i] = idx;
		idx += ld->pl.runs[i].nr;
	}
	ld->pfd = img_open_raw(dirfd, image, id, O_WRONLY | O_CREAT | O_TRUNC);
	return ld->pfd < 0 ? -1 : 0;
}

int live_freeze(struct dump_ctx *ctx, struct dump_task *t, struct page_list *pl,
		struct live_dump *ld)
{
	size_t i, live = 0;

	ld->pl = *pl;
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
	if (ld->pidfd < 0 || live_layout(ld, ctx->dirfd, "pages-%u.img", t->pid))
		return -1;
	if (write_pagemap(ctx, t, ld) || save_frozen_runs(ctx, t, ld) ||
	    live_plan_pipes(t, ld) || arm_uffd(ctx, t, ld) || hold_pages(t, ld))
		return -1;
	return 0;
}

void live_free(struct live_dump *ld)
{
	size_t i;

	if (!ld)
		return;
	for (i = 0; i < ld->nr_pipes; i++)
		if (ld->pipes[i].fd >= 0)
			close(ld->pipes[i].fd);
	if (ld->uffd >= 0)
		close(ld->uffd);
	if (ld->pfd >= 0)
		close(ld->pfd);
	if (ld->pidfd >= 0)
		close(ld->pidfd);
	for (i = 2 * ld->pool_used; i < 2 * ld->nr_pool; i++)
		if (ld->pool[i] >= 0)
			close(ld->pool[i]);
	free(ld->pool);
	if (ld->cow)
		munmap(ld->cow, ld->cow_cap * PAGE_SIZE);
	if (ld->map)
		munmap(ld->map, ld->map_len);
	if (ld->obj)
		pthread_mutex_destroy(&ld->lock);
	page_list_free(&ld->pl);
	free(ld->run_idx);
	free(ld->saved);
	free(ld->removed);
	free(ld->resident);
	free(ld->segs);
	free(ld->pipes);
	free(ld->cow_pages);
	free(ld->remaps);
	free(ld->rseq_pages);
	free(ld->deferred);
	free(ld->windows);
	free(ld->parked);
	free(ld->mappers);
	for (i = 0; i < ld->nr_followers; i++)
		live_free(ld->followers[i]);
	free(ld->followers);
	free(ld->buf);
	free(ld);
}
