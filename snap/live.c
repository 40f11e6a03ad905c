// SPDX-License-Identifier: GPL-2.0
/*
 * Live snapshot engine (see live.h).
 *
 * Page layout is fixed at the freeze: pages-PID.img holds the collected
 * pages in list order, so every page has a known file offset and can be
 * written whenever it is saved — by the streamer from the pipes, or by the
 * fault path from the copy buffer. A bitmap says which pages are saved; the
 * first copy wins.
 *
 * One thread does both jobs: between chunks of streaming it serves pending
 * write faults. A fault waits at most one chunk; when the copy buffer is full
 * the buffer is flushed before the fault is served, which is the throttle.
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
#include "live.h"
#include "log.h"

/* A fault waits at most one chunk; bigger chunks stream faster. */
#define CHUNK_PAGES 256
#define LIVE_UFFD_FEATURES                                                                 \
	(UFFD_FEATURE_PAGEFAULT_FLAG_WP | UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP | \
	 UFFD_FEATURE_EVENT_REMAP)

/* A piece of a run held in a pipe. */
struct seg {
	uint64_t vaddr;
	uint64_t idx;		/* page index in list order = file page */
	uint64_t nr;
};

struct held_pipe {
	int fd;
	size_t seg_first, seg_end;
};

struct remap {
	uint64_t from, to, len;
};

struct live_dump {
	struct page_list pl;
	uint64_t *run_idx;	/* first page index of each run */
	uint8_t *saved;		/* bitmap over page indexes */
	struct seg *segs;
	size_t nr_segs;
	struct held_pipe *pipes;
	size_t nr_pipes;
	int *pool;		/* pipes made before the freeze: read, write end */
	size_t nr_pool, pool_used;
	int uffd, pfd, pidfd;
	pid_t pid;
	uint8_t *cow;		/* copy buffer: cow_cap pages */
	uint64_t *cow_idx;
	size_t cow_cap, cow_nr;
	struct remap *remaps;
	size_t nr_remaps;
	uint64_t rseq_page;	/* the kernel writes it on our syscalls: protected last */
	uint8_t *buf;		/* CHUNK_PAGES pages read from a pipe */
};

bool live_supported(const struct kfeat *kf)
{
	return kf->uffd_dev && (kf->uffd_features & LIVE_UFFD_FEATURES) == LIVE_UFFD_FEATURES;
}

static bool test_saved(const struct live_dump *ld, uint64_t i)
{
	return ld->saved[i / 8] & (1 << (i % 8));
}

static void set_saved(struct live_dump *ld, uint64_t i)
{
	ld->saved[i / 8] |= 1 << (i % 8);
}

static bool streamable(const struct dump_task *t, const struct page_run *r)
{
	const struct vma *v = &t->vmas.v[r->vma];

	/* vmsplice needs readable pages; sync WP covers anonymous memory only. */
	return v->kind == VMA_KIND__VMA_ANON && (v->prot & PROT_READ);
}

static int pwrite_all(struct live_dump *ld, const void *buf, size_t len, uint64_t idx)
{
	const char *p = buf;
	off_t off = idx * PAGE_SIZE;
	ssize_t n;

	while (len) {
		n = pwrite(ld->pfd, p, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			pr_perror("writing image pages-%d.img", ld->pid);
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
			if (pread(memfd, ld->buf, n * PAGE_SIZE, r->vaddr + done * PAGE_SIZE) !=
			    (ssize_t)(n * PAGE_SIZE)) {
				pr_perror("pid %d: cannot read memory at %lx", t->pid,
					  (unsigned long)(r->vaddr + done * PAGE_SIZE));
				ret = -1;
				break;
			}
			unpoke_copy(t, r->vaddr + done * PAGE_SIZE, ld->buf, n * PAGE_SIZE);
			ret = pwrite_all(ld, ld->buf, n * PAGE_SIZE, ld->run_idx[i] + done);
			for (uint64_t k = 0; k < n; k++)
				set_saved(ld, ld->run_idx[i] + done + k);
		}
		ctx->st.pages_written += r->nr;
	}
	close(memfd);
	return ret;
}

/* Split the streamable pages into pipe-sized segments. */
static int plan_pipes(struct dump_task *t, struct live_dump *ld, uint64_t pipe_pages)
{
	uint64_t room = 0;
	size_t i, cap_segs = ld->pl.nr + 16, cap_pipes = 16;

	ld->segs = malloc(cap_segs * sizeof(*ld->segs));
	ld->pipes = malloc(cap_pipes * sizeof(*ld->pipes));
	if (!ld->segs || !ld->pipes)
		return -1;
	for (i = 0; i < ld->pl.nr; i++) {
		const struct page_run *r = &ld->pl.runs[i];
		uint64_t done = 0, n;

		if (!streamable(t, r))
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
static int reserve_fds(struct dump_task *t, size_t n)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 0;
	if (rl.rlim_cur >= n + 256)
		return 0;
	if (rl.rlim_max < n + 256) {
		pr_err("pid %d: a live dump of it needs %zu open files, the limit is %llu: raise "
		       "ulimit -n or use --no-live",
		       t->pid, n + 256, (unsigned long long)rl.rlim_max);
		return -1;
	}
	rl.rlim_cur = n + 256;
	return setrlimit(RLIMIT_NOFILE, &rl) ? -1 : 0;
}

/* A pipe for held pages: from the pool made before the freeze, else a new one. */
static int get_pipe(struct dump_task *t, struct live_dump *ld, int fds[2])
{
	if (ld->pool_used < ld->nr_pool) {
		fds[0] = ld->pool[2 * ld->pool_used];
		fds[1] = ld->pool[2 * ld->pool_used + 1];
		ld->pool[2 * ld->pool_used] = ld->pool[2 * ld->pool_used + 1] = -1;
		ld->pool_used++;
		return 0;
	}
	if (reserve_fds(t, 2 * ld->nr_pool + ld->nr_pipes) || pipe2(fds, O_CLOEXEC | O_NONBLOCK)) {
		pr_perror("pid %d: cannot make a pipe to hold pages", t->pid);
		return -1;
	}
	if (fcntl(fds[1], F_SETPIPE_SZ, pipe_max_size()) < 0) {
		pr_perror("pid %d: cannot size a pipe to hold pages", t->pid);
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	return 0;
}

static int protect(struct live_dump *ld, uint64_t start, uint64_t len)
{
	struct uffdio_writeprotect wp = {
		.range = { start, len },
		.mode = UFFDIO_WRITEPROTECT_MODE_WP,
	};

	if (!len || !ioctl(ld->uffd, UFFDIO_WRITEPROTECT, &wp))
		return 0;
	pr_perror("pid %d: cannot write-protect %lx-%lx", ld->pid, (unsigned long)start,
		  (unsigned long)(start + len));
	return -1;
}

struct protect_job {
	struct live_dump *ld;
	size_t seg_first, seg_end;
};

/*
 * Write-protect held segments, all but the rseq page: the parasite's own
 * syscalls make the kernel write there, and no one serves faults until the
 * parasite is gone. Only present pages need it: empty ones hold nothing.
 */
static int protect_segs(void *arg)
{
	const struct protect_job *j = arg;
	struct live_dump *ld = j->ld;

	for (size_t s = j->seg_first; s < j->seg_end; s++) {
		uint64_t a = ld->segs[s].vaddr, e = a + ld->segs[s].nr * PAGE_SIZE;
		uint64_t r = ld->rseq_page;

		if (r >= a && r < e) {
			if (protect(ld, a, r - a) || protect(ld, r + PAGE_SIZE, e - r - PAGE_SIZE))
				return -1;
		} else if (protect(ld, a, e - a)) {
			return -1;
		}
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

			if (get_pipe(t, ld, fds))
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

/* Register every anonymous VMA with pages to stream (protected later). */
static int arm_uffd(struct dump_task *t, struct live_dump *ld)
{
	struct parasite_live *l = &t->ctl->args->live;
	size_t i, last = (size_t)-1;
	int devfd, ret;

	l->nr_iov = 0;
	l->uffd_features = LIVE_UFFD_FEATURES;
	for (i = 0; i < ld->pl.nr; i++) {
		const struct page_run *r = &ld->pl.runs[i];
		const struct vma *v = &t->vmas.v[r->vma];

		if (!streamable(t, r) || r->vma == last)
			continue;
		if (l->nr_iov == PARASITE_MAX_IOV) {
			pr_err("pid %d: more than %d mappings to write-protect", t->pid,
			       PARASITE_MAX_IOV);
			return -1;
		}
		l->iov[l->nr_iov++] = (struct parasite_iov){ v->start, v->end - v->start };
		last = r->vma;
	}
	devfd = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (devfd < 0) {
		pr_perror("cannot open /dev/userfaultfd");
		return -1;
	}
	ret = parasite_cmd_fds(t->ctl, PARASITE_CMD_UFFD_ARM, &devfd, 1, &ld->uffd);
	close(devfd);
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

static int64_t page_index(const struct live_dump *ld, uint64_t addr);

int live_protect(struct dump_task *t, struct live_dump *ld)
{
	int64_t idx;

	(void)t;
	if (!ld->rseq_page)
		return 0;
	/* The one page left open while the parasite ran, if it is held at all. */
	idx = page_index(ld, ld->rseq_page);
	for (size_t s = 0; idx >= 0 && s < ld->nr_segs; s++)
		if ((uint64_t)idx >= ld->segs[s].idx && (uint64_t)idx < ld->segs[s].idx + ld->segs[s].nr)
			return protect(ld, ld->rseq_page, PAGE_SIZE);
	return 0;
}

int live_note_rseq(struct dump_task *t, struct live_dump *ld)
{
	struct __ptrace_rseq_configuration conf;

	if (ptrace(PTRACE_GET_RSEQ_CONFIGURATION, t->pid, sizeof(conf), &conf) !=
	    sizeof(conf)) {
		pr_perror("pid %d: cannot read its rseq registration", t->pid);
		return -1;
	}
	ld->rseq_page = conf.rseq_abi_pointer & ~(PAGE_SIZE - 1);
	return 0;
}

int live_prepare(struct dump_task *t, struct live_dump **out)
{
	struct live_dump *ld = calloc(1, sizeof(*ld));
	uint64_t anon = 0, per_pipe = pipe_max_size();
	size_t i, n;

	if (!ld)
		return -1;
	ld->uffd = ld->pfd = ld->pidfd = -1;
	ld->pid = t->pid;
	*out = ld;
	/* Pipe creation costs ~4 ms per GiB: do it before the freeze, from smaps. */
	for (i = 0; i < t->vmas_hint.nr; i++)
		if (t->vmas_hint.v[i].kind == VMA_KIND__VMA_ANON)
			anon += t->vmas_hint.v[i].anon_kb << 10;
	n = (anon + per_pipe - 1) / per_pipe + 4;
	if (reserve_fds(t, 2 * n))
		return -1;
	ld->pool = malloc(2 * n * sizeof(int));
	if (!ld->pool)
		return -1;
	for (ld->nr_pool = 0; ld->nr_pool < n; ld->nr_pool++) {
		int *fds = &ld->pool[2 * ld->nr_pool];

		if (pipe2(fds, O_CLOEXEC | O_NONBLOCK)) {
			pr_perror("pid %d: cannot make a pipe to hold pages", t->pid);
			return -1;
		}
		if (fcntl(fds[1], F_SETPIPE_SZ, per_pipe) < 0) {
			pr_perror("pid %d: cannot size a pipe to hold pages", t->pid);
			close(fds[0]);
			close(fds[1]);
			return -1;
		}
	}
	return 0;
}

int live_freeze(struct dump_ctx *ctx, struct dump_task *t, struct page_list *pl,
		struct live_dump *ld)
{
	uint64_t idx = 0;
	size_t i;

	ld->pl = *pl;
	memset(pl, 0, sizeof(*pl));

	ld->run_idx = malloc((ld->pl.nr + 1) * sizeof(*ld->run_idx));
	ld->saved = calloc(1, ld->pl.pages / 8 + 1);
	ld->cow_cap = ctx->opts->cow_limit / PAGE_SIZE;
	if (!ld->cow_cap)
		ld->cow_cap = 1;
	ld->cow_idx = malloc(ld->cow_cap * sizeof(*ld->cow_idx));
	ld->buf = malloc(CHUNK_PAGES * PAGE_SIZE);
	if (!ld->run_idx || !ld->saved || !ld->cow_idx || !ld->buf) {
		pr_err("out of memory for the live dump of pid %d", t->pid);
		return -1;
	}
	for (i = 0; i < ld->pl.nr; i++) {
		ld->run_idx[i] = idx;
		idx += ld->pl.runs[i].nr;
	}
	ld->pidfd = dup(t->pidfd);
	ld->pfd = img_open_raw(ctx->dirfd, "pages-%u.img", t->pid, O_WRONLY | O_CREAT | O_TRUNC);
	if (ld->pidfd < 0 || ld->pfd < 0)
		return -1;
	if (write_pagemap(ctx, t, ld) || save_frozen_runs(ctx, t, ld) ||
	    plan_pipes(t, ld, pipe_max_size() / PAGE_SIZE) || arm_uffd(t, ld) ||
	    hold_pages(t, ld))
		return -1;
	return 0;
}

static int serve_events(struct dump_ctx *ctx, struct live_dump *ld);

/*
 * Lift write protection. While a remove/unmap event is being reported the
 * kernel answers EAGAIN until that event is read and its thread goes on:
 * read pending events (unless we are already doing so) and retry.
 */
static int unprotect(struct dump_ctx *ctx, struct live_dump *ld, uint64_t addr, uint64_t len,
		     bool serving)
{
	struct uffdio_writeprotect wp = { .range = { addr, len }, .mode = 0 };

	for (;;) {
		if (!ioctl(ld->uffd, UFFDIO_WRITEPROTECT, &wp))
			return 0;
		/* Unmapped or no longer registered: nothing to lift. */
		if (errno == ENOENT || errno == EINVAL)
			return 0;
		if (errno != EAGAIN && errno != EINTR) {
			pr_perror("pid %d: cannot lift write protection at %lx", ld->pid,
				  (unsigned long)addr);
			return -1;
		}
		if (serving)
			sched_yield();
		else if (serve_events(ctx, ld))
			return -1;
	}
}

/*
 * Write the last @n copied pages out (each has its own file offset, so any
 * order will do). A full buffer is drained by one slice at a time: the
 * writer that found it full waits for a slice, not for the whole buffer.
 */
#define COW_SLICE CHUNK_PAGES

static int flush_cow(struct dump_ctx *ctx, struct live_dump *ld, size_t n)
{
	if (n > ld->cow_nr)
		n = ld->cow_nr;
	for (size_t i = ld->cow_nr - n; i < ld->cow_nr; i++)
		if (pwrite_all(ld, ld->cow + i * PAGE_SIZE, PAGE_SIZE, ld->cow_idx[i]))
			return -1;
	ctx->st.pages_written += n;
	ld->cow_nr -= n;
	return 0;
}

/* Where the page at @addr was at the freeze, following the task's mremaps. */
static uint64_t freeze_addr(const struct live_dump *ld, uint64_t addr)
{
	for (size_t i = ld->nr_remaps; i--;) {
		const struct remap *m = &ld->remaps[i];

		if (addr >= m->to && addr < m->to + m->len)
			addr = m->from + (addr - m->to);
	}
	return addr;
}

/* Page index of @addr in the list, or -1 when the image does not hold it. */
static int64_t page_index(const struct live_dump *ld, uint64_t addr)
{
	size_t lo = 0, hi = ld->pl.nr;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct page_run *r = &ld->pl.runs[mid];

		if (addr < r->vaddr)
			hi = mid;
		else if (addr >= r->vaddr + r->nr * PAGE_SIZE)
			lo = mid + 1;
		else
			return ld->run_idx[mid] + (addr - r->vaddr) / PAGE_SIZE;
	}
	return -1;
}

/* Copy-before-write: save the page at @addr as it still is, then let the writer go. */
static int serve_fault(struct dump_ctx *ctx, struct live_dump *ld, uint64_t addr)
{
	int64_t idx = page_index(ld, freeze_addr(ld, addr));

	if (idx >= 0 && !test_saved(ld, idx)) {
		struct iovec l, r = { (void *)addr, PAGE_SIZE };

		if (ld->cow_nr == ld->cow_cap) {
			uint64_t t0 = now_ns();

			if (flush_cow(ctx, ld, COW_SLICE))
				return -1;
			ctx->st.cow_wait_ns += now_ns() - t0;
		}
		l.iov_base = ld->cow + ld->cow_nr * PAGE_SIZE;
		l.iov_len = PAGE_SIZE;
		if (process_vm_readv(ld->pid, &l, 1, &r, 1, 0) != PAGE_SIZE) {
			if (errno == ESRCH)
				pr_err("pid %d exited during the live dump", ld->pid);
			else
				pr_perror("pid %d: cannot copy the page at %lx before it is written",
					  ld->pid, (unsigned long)addr);
			return -1;
		}
		ld->cow_idx[ld->cow_nr++] = idx;
		set_saved(ld, idx);
		ctx->st.cow_faults++;
		if (ld->cow_nr * PAGE_SIZE > ctx->st.cow_peak)
			ctx->st.cow_peak = ld->cow_nr * PAGE_SIZE;
	}
	return unprotect(ctx, ld, addr, PAGE_SIZE, true);
}

static int add_remap(struct live_dump *ld, const struct uffd_msg *m)
{
	struct remap *r = realloc(ld->remaps, (ld->nr_remaps + 1) * sizeof(*r));

	if (!r) {
		pr_err("out of memory for the live dump of pid %d", ld->pid);
		return -1;
	}
	ld->remaps = r;
	r[ld->nr_remaps++] = (struct remap){ m->arg.remap.from, m->arg.remap.to,
					     m->arg.remap.len };
	return 0;
}

/* Serve whatever the uffd has queued; returns when it has nothing more. */
static int serve_events(struct dump_ctx *ctx, struct live_dump *ld)
{
	struct uffd_msg m;
	ssize_t n;

	for (;;) {
		n = read(ld->uffd, &m, sizeof(m));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n != sizeof(m)) {
			pr_perror("pid %d: reading write faults", ld->pid);
			return -1;
		}
		switch (m.event) {
		case UFFD_EVENT_PAGEFAULT:
			if (serve_fault(ctx, ld, m.arg.pagefault.address & ~(PAGE_SIZE - 1)))
				return -1;
			break;
		case UFFD_EVENT_REMAP:
			if (add_remap(ld, &m))
				return -1;
			break;
		default:
			/* REMOVE, UNMAP: the pages are held in the pipes already. */
			break;
		}
	}
}

static int read_pipe(int fd, void *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = read(fd, (char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += n;
	}
	return 0;
}

/* Write the unsaved pages of @n held pages starting at page index @idx. */
static int write_held(struct dump_ctx *ctx, struct live_dump *ld, uint64_t idx, uint64_t n)
{
	uint64_t i = 0, j;

	while (i < n) {
		if (test_saved(ld, idx + i)) {
			i++;
			continue;
		}
		for (j = i; j < n && !test_saved(ld, idx + j); j++)
			set_saved(ld, idx + j);
		if (pwrite_all(ld, ld->buf + i * PAGE_SIZE, (j - i) * PAGE_SIZE, idx + i))
			return -1;
		ctx->st.pages_written += j - i;
		i = j;
	}
	return 0;
}

static int stream_pipe(struct dump_ctx *ctx, struct live_dump *ld, struct held_pipe *hp)
{
	for (size_t s = hp->seg_first; s < hp->seg_end; s++) {
		const struct seg *sg = &ld->segs[s];
		uint64_t done, n;

		for (done = 0; done < sg->nr; done += n) {
			n = sg->nr - done < CHUNK_PAGES ? sg->nr - done : CHUNK_PAGES;
			if (serve_events(ctx, ld))
				return -1;
			if (read_pipe(hp->fd, ld->buf, n * PAGE_SIZE)) {
				pr_perror("pid %d: reading held pages", ld->pid);
				return -1;
			}
			if (write_held(ctx, ld, sg->idx + done, n))
				return -1;
			/*
			 * After an mremap the old address may hold other pages now;
			 * leave those to the fault path, which knows where they came from.
			 */
			if (!ld->nr_remaps &&
			    unprotect(ctx, ld, sg->vaddr + done * PAGE_SIZE, n * PAGE_SIZE, false))
				return -1;
		}
	}
	close(hp->fd);
	hp->fd = -1;
	return 0;
}

static bool task_exited(const struct live_dump *ld)
{
	struct pollfd p = { .fd = ld->pidfd, .events = POLLIN };

	return poll(&p, 1, 0) > 0;
}

int live_stream(struct dump_ctx *ctx, struct dump_task *t, struct live_dump *ld)
{
	size_t i;

	ld->cow = mmap(NULL, ld->cow_cap * PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ld->cow == MAP_FAILED) {
		ld->cow = NULL;
		pr_perror("cannot allocate the copy buffer (--cow-limit)");
		return -1;
	}
	for (i = 0; i < ld->nr_pipes; i++)
		if (stream_pipe(ctx, ld, &ld->pipes[i]))
			return -1;
	if (serve_events(ctx, ld) || flush_cow(ctx, ld, ld->cow_nr))
		return -1;
	/*
	 * A task that died meanwhile has left nothing to resume: the dump
	 * promised a running process, so it fails.
	 */
	if (task_exited(ld)) {
		pr_err("pid %d exited during the live dump", t->pid);
		return -1;
	}
	if (close(ld->pfd)) {
		ld->pfd = -1;
		pr_perror("writing image pages-%d.img", t->pid);
		return -1;
	}
	ld->pfd = -1;
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
	page_list_free(&ld->pl);
	free(ld->run_idx);
	free(ld->saved);
	free(ld->segs);
	free(ld->pipes);
	free(ld->cow_idx);
	free(ld->remaps);
	free(ld->buf);
	free(ld);
}
