// SPDX-License-Identifier: GPL-2.0
/*
 * Live snapshot, the running half (see live.h, live-internal.h): stream the
 * held pages to the image while serving the task's write faults.
 *
 * One thread does both jobs: between chunks of streaming it serves pending
 * write faults. A fault waits at most one chunk; when the copy buffer is full
 * a slice of it is written out before the fault is served: the throttle.
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
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "image.h"
#include "infect.h"
#include "kcompat.h"
#include "live-internal.h"
#include "log.h"

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
		/* Its address space is gone: a child that exited (see live_stream_tree). */
		if (errno == ESRCH && ld->may_exit)
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
		if (live_pwrite(ld, ld->cow + i * PAGE_SIZE, PAGE_SIZE, ld->cow_idx[i]))
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
int64_t live_page_index(const struct live_dump *ld, uint64_t addr)
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
	int64_t idx = live_page_index(ld, freeze_addr(ld, addr));

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
		if (live_pwrite(ld, ld->buf + i * PAGE_SIZE, (j - i) * PAGE_SIZE, idx + i))
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
	 * A root that died meanwhile has left nothing to resume: the dump
	 * promised a running process, so it fails.
	 */
	if (!ld->may_exit && task_exited(ld)) {
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

struct stream_job {
	struct dump_ctx ctx;		/* a copy with its own stats */
	struct dump_task *t;
	pthread_t thread;
	int ret;
};

static void *stream_thread(void *arg)
{
	struct stream_job *j = arg;

	j->ret = live_stream(&j->ctx, j->t, j->t->ld);
	return NULL;
}

static void add_stats(struct dump_stats *to, const struct dump_stats *from)
{
	to->pages_written += from->pages_written;
	to->cow_faults += from->cow_faults;
	/* Peaks of separate buffers: their sum bounds what was held at once. */
	to->cow_peak += from->cow_peak;
	to->cow_wait_ns += from->cow_wait_ns;
}

/*
 * Every address space has its uffd and is streamed by a thread of its own,
 * so a writer in one process never waits for another's pages. Children may
 * exit meanwhile: their pages are held in pipes, and the image is of the
 * frozen instant.
 */
int live_stream_tree(struct dump_ctx *ctx)
{
	struct stream_job *jobs = calloc(ctx->nr_tasks, sizeof(*jobs));
	size_t i, nr = 0;
	int ret = 0;

	if (!jobs) {
		pr_err("out of memory for the live dump");
		return -1;
	}
	for (i = 0; i < ctx->nr_tasks; i++) {
		struct stream_job *j = &jobs[nr];

		if (ctx->tasks[i].zombie)
			continue;
		j->ctx = *ctx;
		memset(&j->ctx.st, 0, sizeof(j->ctx.st));
		j->t = &ctx->tasks[i];
		j->t->ld->may_exit = i > 0;
		errno = pthread_create(&j->thread, NULL, stream_thread, j);
		if (errno) {
			pr_perror("pid %d: cannot start streaming its pages", j->t->pid);
			ret = -1;
			break;
		}
		nr++;
	}
	for (i = 0; i < nr; i++) {
		pthread_join(jobs[i].thread, NULL);
		add_stats(&ctx->st, &jobs[i].ctx.st);
		if (jobs[i].ret)
			ret = -1;
	}
	free(jobs);
	return ret;
}
