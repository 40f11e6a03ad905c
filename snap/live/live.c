// SPDX-License-Identifier: GPL-2.0
/*
 * Live snapshot, the base the other parts build on (see live-internal.h):
 * what can be streamed, a live_dump and its page layout, writing through
 * its page sink, page indexes, the pipes pages are held in (made before the
 * freeze where possible), and write protection.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kcompat.h"
#include "live/live-internal.h"
#include "log.h"
#include "proc/proc.h"
#include "proc/seize.h"
#include "vpid.h"

bool live_supported(const struct kfeat *kf)
{
	return kf->uffd_dev && (kf->uffd_features & LIVE_UFFD_FEATURES) == LIVE_UFFD_FEATURES;
}

bool live_shmem_supported(const struct kfeat *kf)
{
	return live_supported(kf) && (kf->uffd_features & UFFD_FEATURE_WP_HUGETLBFS_SHMEM);
}

/* Whether the word the parasite poked into the task's code (no vDSO) is in [@start, @end). */
static bool has_poke(const struct dump_task *t, uint64_t start, uint64_t end)
{
	const struct parasite_ctl *ctl = t->ctl;

	return ctl && ctl->code_poked && ctl->syscall_ip + sizeof(long) > start &&
	       ctl->syscall_ip < end;
}

bool live_holder_streams(const struct dump_task *t, const struct vma *v)
{
	/*
	 * A holder has no copy of MADV_DONTFORK memory, and zeros for
	 * MADV_WIPEONFORK: (rare) pages saved frozen, whatever the hold.
	 * hugetlb would be copied in huge pages, not the 4 KiB ones the
	 * stream and the fault path handle: its (few) pages are saved frozen.
	 */
	if (v->madv & (1ULL << MADV_DONTFORK | 1ULL << MADV_WIPEONFORK) ||
	    v->flags & MAP_HUGETLB || !(v->prot & PROT_READ))
		return false;
	/*
	 * The holder has a copy of every private page, the written pages of
	 * private file mappings too (saving those frozen took 2-3 ms of a
	 * redis freeze), but also of the word the parasite poked into the
	 * code: that mapping's pages are saved frozen, the word put back.
	 */
	return !has_poke(t, v->start, v->end);
}

bool live_streamable(const struct dump_task *t, const struct live_dump *ld,
		     const struct page_run *r)
{
	const struct vma *v = &t->vmas.v[r->vma];

	/* vmsplice and sync WP take private anonymous memory only, fork or no fork. */
	return ld->holder ? live_holder_streams(t, v) : vma_spliceable(v);
}

bool live_shmem_may_stream(const struct dump_ctx *ctx, uint32_t id)
{
	/*
	 * MAP_SHARED|MAP_ANONYMOUS memory only. A memfd, a /dev/shm file or a
	 * SysV segment can also be written through an fd or a new attachment,
	 * which no protection sees: those are saved frozen. So is hugetlb
	 * memory, which faults and is copied in huge pages.
	 */
	return shmem_kind(ctx, id) == SHMEM_KIND__SHMEM_ANON && !shmem_huge(ctx, id) &&
	       live_shmem_supported(ctx->kf);
}

int live_write_pages(struct live_dump *ld, const void *buf, uint64_t nr, uint64_t idx)
{
	return page_sink_write(ld->sink, idx, buf, nr);
}

int live_close_image(struct live_dump *ld)
{
	struct page_sink *ps = ld->sink;

	ld->sink = NULL;
	return page_sink_close(ps);
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

		if (t && !live_streamable(t, ld, r))
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

int live_protect_range(struct live_dump *ld, uint64_t start, uint64_t len, bool death_told)
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
	return live_protect_range(ld, start, len, false);
}

struct live_dump *live_dump_new(const char *name)
{
	struct live_dump *ld = calloc(1, sizeof(*ld));

	if (!ld) {
		pr_err("%s: out of memory for its live dump", name);
		return NULL;
	}
	ld->uffd = ld->pidfd = ld->holder_sock = ld->holder_pidfd = -1;
	ld->holder_memfd = ld->held_statfd = -1;
	ld->pipe_size = pipe_max_size();
	snprintf(ld->name, sizeof(ld->name), "%s", name);
	return ld;
}

int live_prepare(struct dump_task *t, bool pipes, struct live_dump **out)
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
	if (!pipes)
		return 0;
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

/* The held runs and the parent's, merged in address order as a pagemap wants them. */
static int declare_runs(struct live_dump *ld)
{
	const struct page_list *own = &ld->pl, *par = &ld->parent;
	size_t i = 0, j = 0;

	while (i < own->nr || j < par->nr) {
		if (j == par->nr || (i < own->nr && own->runs[i].vaddr < par->runs[j].vaddr)) {
			if (page_sink_add_run(ld->sink, own->runs[i].vaddr, own->runs[i].nr))
				return -1;
			i++;
		} else {
			if (page_sink_add_parent_run(ld->sink, par->runs[j].vaddr, par->runs[j].nr))
				return -1;
			j++;
		}
	}
	return page_sink_layout_done(ld->sink);
}

int live_layout(struct live_dump *ld, const struct dump_ctx *ctx, enum page_sink_kind kind,
		uint32_t id)
{
	uint64_t idx = 0;
	size_t i;

	ld->run_idx = malloc((ld->pl.nr + 1) * sizeof(*ld->run_idx));
	ld->saved = calloc(1, ld->pl.pages / 8 + 1);
	ld->buf = malloc(CHUNK_PAGES * PAGE_SIZE);
	if (!ld->run_idx || !ld->saved || !ld->buf) {
		pr_err("%s: out of memory for its live dump", ld->name);
		return -1;
	}
	for (i = 0; i < ld->pl.nr; i++) {
		ld->run_idx[i] = idx;
		idx += ld->pl.runs[i].nr;
	}
	ld->sink = page_sink_open(ctx, kind, id, ld->name);
	if (!ld->sink)
		return -1;
	return declare_runs(ld);
}

int live_parent_runs(struct live_dump *ld, struct page_list *pl)
{
	size_t n = 0;

	for (size_t i = 0; i < pl->nr; i++) {
		struct page_run *r = &pl->runs[i];
		struct page_run *p;

		if (!r->in_parent) {
			pl->runs[n++] = *r;
			continue;
		}
		if (ld->parent.nr == ld->parent.cap) {
			size_t cap = ld->parent.cap ? 2 * ld->parent.cap : 64;

			p = realloc(ld->parent.runs, cap * sizeof(*p));
			if (!p) {
				pr_err("%s: out of memory for its parent runs", ld->name);
				return -1;
			}
			ld->parent.runs = p;
			ld->parent.cap = cap;
		}
		ld->parent.runs[ld->parent.nr++] = *r;
	}
	pl->nr = n;
	return 0;
}

/*
 * A child holder whose task exited went to the reaper of orphans above
 * it, which is in the tree (why it was a child): that process reaps it.
 * Its pid there is its pid in its own namespace, the reaper's.
 */
static int reap_orphaned(const struct live_dump *ld)
{
	const struct dump_ctx *ctx = ld->ctx;
	struct syscall_site site;
	struct proc_stat st;
	struct nspids n;

	if (!ctx || proc_read_stat(ld->holder, &st) || proc_nspids(ld->holder, 0, &n))
		return -1;
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		const struct dump_task *r = &ctx->tasks[i];

		if (r->pid == st.ppid && !r->zombie)
			return dump_syscall_site(r, &site) ?: task_reap_child(r->pid, &site, n.pid);
	}
	/* Not the tree's: one that reaps whatever comes (an init, a shim). */
	return 0;
}

/*
 * The holder exits and the task, if still there and the holder is its child,
 * reaps it. After the task's uffd is closed: a task waiting for snap to
 * read a fork event cannot be stopped.
 */
static void holder_end(struct live_dump *ld)
{
	struct pollfd p = { .fd = ld->holder_pidfd, .events = POLLIN };
	struct pollfd task = { .fd = ld->pidfd, .events = POLLIN };

	live_brake_end(ld);
	if (ld->holder_sock < 0)
		return;
	/* Its socket closed, the holder exits; one that does not is killed. */
	close(ld->holder_sock);
	ld->holder_sock = -1;
	if (poll(&p, 1, 2000) != 1) {
		syscall(SYS_pidfd_send_signal, ld->holder_pidfd, SIGKILL, NULL, 0);
		poll(&p, 1, 2000);
	}
	/* An orphan: whoever reaps orphans does. */
	if (ld->holder_vpid && (poll(&task, 1, 0) == 1 ? reap_orphaned(ld) :
			       task_reap_child(ld->pid, &ld->holder_site, ld->holder_vpid)))
		pr_warn("%s: its holder %d may stay a zombie", ld->name, ld->holder);
	close(ld->holder_pidfd);
	close(ld->holder_memfd);
	ld->holder_pidfd = ld->holder_memfd = -1;
	ld->holder = 0;
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
	for (i = 0; i < ld->nr_followers; i++)
		live_free(ld->followers[i]);
	ld->nr_followers = 0;
	free(ld->later);
	holder_end(ld);
	if (ld->held_statfd >= 0)
		close(ld->held_statfd);
	page_sink_abort(ld->sink);
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
	page_list_free(&ld->parent);
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
	free(ld->followers);
	free(ld->buf);
	free(ld);
}
