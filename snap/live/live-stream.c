// SPDX-License-Identifier: GPL-2.0
/*
 * Live snapshot, the running half (see live.h, live-internal.h): stream the
 * held pages to the image while serving the task's write faults.
 *
 * One thread per process does both jobs: between chunks of streaming it
 * serves pending write faults (its own, and those of the children it forked
 * meanwhile that share memory with it). A fault waits at most one chunk; when
 * the copy buffer is full a slice of it is written out before the fault is
 * served: the throttle. Shared memory objects have one streaming thread of
 * their own (live-shmem.c), and no faults: those reach the processes.
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
#include "live/live-internal.h"
#include "log.h"

static int read_events(struct dump_ctx *ctx, struct live_dump *ld, bool defer);
static int serve_events(struct dump_ctx *ctx, struct live_dump *ld);

/*
 * Lift write protection. While a remove/unmap event is being reported the
 * kernel answers EAGAIN until that event is read and its thread goes on:
 * read pending events and retry. While serving a fault, other threads'
 * faults read meanwhile are only noted, and served after this one.
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
		if (serving ? read_events(ctx, ld, true) : serve_events(ctx, ld))
			return -1;
		if (serving)
			sched_yield();
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
	for (size_t i = ld->cow_nr - n; i < ld->cow_nr; i++) {
		if (live_pwrite(ld->cow_pages[i].owner, ld->cow + i * PAGE_SIZE, PAGE_SIZE,
				ld->cow_pages[i].idx))
			return -1;
		/* Shared pages count as shmem pages. */
		ctx->st.pages_written += !ld->cow_pages[i].owner->obj;
	}
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

/* The window of a shared object at freeze address @addr, or NULL. */
static const struct shm_window *find_window(const struct live_dump *ld, uint64_t addr)
{
	for (size_t i = 0; i < ld->nr_windows; i++)
		if (addr >= ld->windows[i].start && addr < ld->windows[i].end)
			return &ld->windows[i];
	return NULL;
}

/*
 * Whose page the one at @addr is (this process's or a shared object's), its
 * index, and (for an object) its offset in it.
 */
static struct live_dump *page_owner(struct live_dump *ld, uint64_t addr, int64_t *idx,
				    uint64_t *off)
{
	uint64_t fa = freeze_addr(ld, addr);
	const struct shm_window *w;

	*idx = live_page_index(ld, fa);
	if (*idx >= 0)
		return ld;
	w = find_window(ld, fa);
	if (!w)
		return NULL;
	*off = fa - w->start + w->off;
	*idx = live_page_index(w->obj, *off);
	return *idx >= 0 ? w->obj : NULL;
}

static int add_u64(struct live_dump *ld, uint64_t **arr, size_t *nr, size_t *cap, uint64_t v)
{
	if (*nr == *cap) {
		size_t c = *cap ? 2 * *cap : 16;
		uint64_t *a = realloc(*arr, c * sizeof(*a));

		if (!a) {
			pr_err("out of memory for the live dump of %s", ld->name);
			return -1;
		}
		*arr = a;
		*cap = c;
	}
	(*arr)[(*nr)++] = v;
	return 0;
}

/*
 * Copy-before-write: save the page at @addr as it still is, then let the
 * writer go. A shared page a process punched out (MADV_REMOVE) no longer
 * holds what was frozen; its pipe does: the writer waits (parked) until the
 * object's streamer has saved it from there.
 */
static int serve_fault(struct dump_ctx *ctx, struct live_dump *ld, uint64_t addr)
{
	uint64_t off = 0;
	int64_t idx;
	struct live_dump *owner = page_owner(ld, addr, &idx, &off);

	if (owner && ld->cow_nr == ld->cow_cap) {
		uint64_t t0 = now_ns();

		if (flush_cow(ctx, ld, COW_SLICE))
			return -1;
		ctx->st.cow_wait_ns += now_ns() - t0;
	}
	obj_lock(owner);
	if (owner && !test_saved(owner, idx)) {
		void *slot = ld->cow + ld->cow_nr * PAGE_SIZE;
		struct iovec l = { slot, PAGE_SIZE }, r = { (void *)addr, PAGE_SIZE };

		if (owner->obj && test_bit8(owner->removed, idx)) {
			obj_unlock(owner);
			return add_u64(ld, &ld->parked, &ld->nr_parked, &ld->cap_parked, addr);
		}
		/* A shared page is read from snap's own mapping: a follower has no pid. */
		if (owner->obj) {
			memcpy(slot, owner->map + off, PAGE_SIZE);
		} else if (process_vm_readv(ld->pid, &l, 1, &r, 1, 0) != PAGE_SIZE) {
			obj_unlock(owner);
			if (errno == ESRCH)
				pr_err("pid %d exited during the live dump", ld->pid);
			else
				pr_perror("pid %d: cannot copy the page at %lx before it is written",
					  ld->pid, (unsigned long)addr);
			return -1;
		}
		ld->cow_pages[ld->cow_nr++] = (struct cow_page){ owner, idx };
		set_saved(owner, idx);
		ctx->st.cow_faults++;
		if (ld->cow_nr * PAGE_SIZE > ctx->st.cow_peak)
			ctx->st.cow_peak = ld->cow_nr * PAGE_SIZE;
	}
	obj_unlock(owner);
	return unprotect(ctx, ld, addr, PAGE_SIZE, true);
}

/* Parked writers whose page the streamer has saved since may go on. */
static int unpark(struct dump_ctx *ctx, struct live_dump *ld)
{
	size_t i = 0;

	while (i < ld->nr_parked) {
		uint64_t addr = ld->parked[i], off;
		int64_t idx;
		struct live_dump *owner = page_owner(ld, addr, &idx, &off);
		bool saved;

		obj_lock(owner);
		saved = !owner || test_saved(owner, idx);
		obj_unlock(owner);
		if (!saved) {
			i++;
			continue;
		}
		ld->parked[i] = ld->parked[--ld->nr_parked];
		if (unprotect(ctx, ld, addr, PAGE_SIZE, true))
			return -1;
	}
	return 0;
}

/*
 * Pages a process discarded from a shared object (MADV_DONTNEED or
 * MADV_REMOVE, which look the same here): a write may no longer reach the
 * frozen page, so it is not copied from the process but left to the pipe.
 */
static void note_removed(struct live_dump *ld, uint64_t start, uint64_t end)
{
	uint64_t len = end - start;

	start = freeze_addr(ld, start);
	end = start + len;
	for (size_t i = 0; i < ld->nr_windows; i++) {
		const struct shm_window *w = &ld->windows[i];
		uint64_t a = start > w->start ? start : w->start;
		uint64_t e = end < w->end ? end : w->end;

		obj_lock(w->obj);
		for (; a < e; a += PAGE_SIZE) {
			int64_t idx = live_page_index(w->obj, a - w->start + w->off);

			if (idx >= 0)
				set_bit8(w->obj->removed, idx);
		}
		obj_unlock(w->obj);
	}
}

static int add_remap(struct live_dump *ld, const struct uffd_msg *m)
{
	struct remap *r = realloc(ld->remaps, (ld->nr_remaps + 1) * sizeof(*r));

	if (!r) {
		pr_err("out of memory for the live dump of pid %d", ld->pid);
		return -1;
	}
	ld->remaps = r;
	r[ld->nr_remaps] = (struct remap){ m->arg.remap.from, m->arg.remap.to, m->arg.remap.len };
	/* The shared objects' thread reads it (live_shm_unprotect()). */
	__atomic_store_n(&ld->nr_remaps, ld->nr_remaps + 1, __ATOMIC_RELEASE);
	return 0;
}

static void *dup_array(const void *a, size_t n, size_t size)
{
	void *p = malloc(n * size + 1);

	if (p && n)
		memcpy(p, a, n * size);
	return p;
}

/*
 * @ld forked: the child got @ld's registrations, protected page tables and
 * the uffd @ufd. It sees the same shared pages at the same places; its
 * private pages are copies, nothing of the image: faults there are only
 * unprotected. Its writes wait on protection as @ld's own do.
 */
static int add_follower(struct live_dump *ld, int ufd)
{
	struct live_dump *leader = ld->leader ? ld->leader : ld, **fs, *f;
	char name[64];

	snprintf(name, sizeof(name), "a process pid %d forked", leader->pid);
	f = live_dump_new(name);
	if (!f) {
		close(ufd);
		return -1;
	}
	f->uffd = ufd;
	f->leader = leader;
	f->tree = ld->tree;
	f->may_exit = true;
	f->cow_cap = CHUNK_PAGES;
	f->cow = mmap(NULL, f->cow_cap * PAGE_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	f->cow_pages = malloc(f->cow_cap * sizeof(*f->cow_pages));
	f->windows = dup_array(ld->windows, ld->nr_windows, sizeof(*ld->windows));
	f->remaps = dup_array(ld->remaps, ld->nr_remaps, sizeof(*ld->remaps));
	fs = realloc(leader->followers, (leader->nr_followers + 1) * sizeof(*fs));
	if (fs)
		leader->followers = fs;
	if (f->cow == MAP_FAILED || !f->cow_pages || !f->windows || !f->remaps || !fs) {
		if (f->cow == MAP_FAILED)
			f->cow = NULL;
		pr_err("out of memory for %s", name);
		live_free(f);
		return -1;
	}
	f->nr_windows = ld->nr_windows;
	f->nr_remaps = ld->nr_remaps;
	fs[leader->nr_followers++] = f;
	return 0;
}

/*
 * Handle whatever the uffd has queued; returns when it has nothing more.
 * With @defer (a fault is being served), faults are only noted.
 */
static int read_events(struct dump_ctx *ctx, struct live_dump *ld, bool defer)
{
	struct uffd_msg m;
	uint64_t addr;
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
			addr = m.arg.pagefault.address & ~(PAGE_SIZE - 1);
			if (defer ? add_u64(ld, &ld->deferred, &ld->nr_deferred,
					    &ld->cap_deferred, addr)
				  : serve_fault(ctx, ld, addr))
				return -1;
			break;
		case UFFD_EVENT_REMAP:
			if (add_remap(ld, &m))
				return -1;
			break;
		case UFFD_EVENT_FORK:
			if (add_follower(ld, m.arg.fork.ufd))
				return -1;
			break;
		case UFFD_EVENT_REMOVE:
			/* The pages are held in the pipes already; shared ones are noted. */
			note_removed(ld, m.arg.remove.start, m.arg.remove.end);
			break;
		default:
			/* UNMAP: the pages are held in the pipes already. */
			break;
		}
	}
}

/*
 * Whether a follower's process is gone (a follower has no pid to ask):
 * UFFDIO_WRITEPROTECT of a page below anything a program maps answers ESRCH
 * for a dead address space, ENOENT for a live one, and protects nothing.
 */
#define PROBE_ADDR 0x10000UL

static bool follower_gone(const struct live_dump *f)
{
	struct uffdio_writeprotect wp = {
		.range = { PROBE_ADDR, PAGE_SIZE },
		.mode = UFFDIO_WRITEPROTECT_MODE_WP,
	};

	return ioctl(f->uffd, UFFDIO_WRITEPROTECT, &wp) && errno == ESRCH;
}

/* Serve the queued faults and events, the noted and parked faults too. */
static int serve_events(struct dump_ctx *ctx, struct live_dump *ld)
{
	if (ld->obj)
		return 0;
	if (unpark(ctx, ld))
		return -1;
	do {
		while (ld->nr_deferred)
			if (serve_fault(ctx, ld, ld->deferred[--ld->nr_deferred]))
				return -1;
		if (read_events(ctx, ld, false))
			return -1;
	} while (ld->nr_deferred);
	/*
	 * Followers are served by their leader's thread; more may come
	 * meanwhile. One whose process exited goes, its copies written (they
	 * are of pages marked saved): a busy forker leaves no pile of uffds.
	 */
	for (size_t i = 0; i < ld->nr_followers; i++) {
		struct live_dump *f = ld->followers[i];

		if (serve_events(ctx, f))
			return -1;
		if (!follower_gone(f))
			continue;
		pr_debug("%s has exited", f->name);
		if (flush_cow(ctx, f, f->cow_nr))
			return -1;
		live_free(f);
		ld->followers[i--] = ld->followers[--ld->nr_followers];
	}
	return 0;
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

/*
 * Write the unsaved pages of @n held pages starting at page index @idx. They
 * are marked saved first: a writer let go after that no longer reaches the
 * pages read from the pipe into ld->buf.
 */
static int write_held(struct dump_ctx *ctx, struct live_dump *ld, uint64_t idx, uint64_t n)
{
	bool todo[CHUNK_PAGES];
	uint64_t i = 0, j;

	obj_lock(ld);
	for (i = 0; i < n; i++) {
		todo[i] = !test_saved(ld, idx + i);
		set_saved(ld, idx + i);
	}
	obj_unlock(ld);
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && todo[j] == todo[i]; j++)
			;
		if (!todo[i])
			continue;
		if (live_pwrite(ld, ld->buf + i * PAGE_SIZE, (j - i) * PAGE_SIZE, idx + i))
			return -1;
		if (!ld->obj)
			ctx->st.pages_written += j - i;
	}
	return 0;
}

static bool tree_failed(const struct live_dump *ld)
{
	return ld->tree && __atomic_load_n(&ld->tree->failed, __ATOMIC_ACQUIRE);
}

static int stream_pipe(struct dump_ctx *ctx, struct live_dump *ld, struct held_pipe *hp)
{
	for (size_t s = hp->seg_first; s < hp->seg_end; s++) {
		const struct seg *sg = &ld->segs[s];
		uint64_t done, n;

		for (done = 0; done < sg->nr; done += n) {
			uint64_t addr = sg->vaddr + done * PAGE_SIZE;

			n = sg->nr - done < CHUNK_PAGES ? sg->nr - done : CHUNK_PAGES;
			if (serve_events(ctx, ld) || tree_failed(ld))
				return -1;
			if (read_pipe(hp->fd, ld->buf, n * PAGE_SIZE)) {
				pr_perror("%s: reading held pages", ld->name);
				return -1;
			}
			if (write_held(ctx, ld, sg->idx + done, n))
				return -1;
			if (ld->obj) {
				if (live_shm_unprotect(ld, addr, n * PAGE_SIZE))
					return -1;
				continue;
			}
			/*
			 * After an mremap the old address may hold other pages now;
			 * leave those to the fault path, which knows where they came from.
			 */
			if (!ld->nr_remaps && unprotect(ctx, ld, addr, n * PAGE_SIZE, false))
				return -1;
		}
	}
	close(hp->fd);
	hp->fd = -1;
	return 0;
}

int live_stream_held(struct dump_ctx *ctx, struct live_dump *ld)
{
	for (size_t i = 0; i < ld->nr_pipes; i++)
		if (stream_pipe(ctx, ld, &ld->pipes[i]))
			return -1;
	return 0;
}

static bool task_exited(const struct live_dump *ld)
{
	struct pollfd p = { .fd = ld->pidfd, .events = POLLIN };

	return poll(&p, 1, 0) > 0;
}

/*
 * Lift protection on [@addr, +@len) of another thread's process: an event
 * pending there is read by that process's own thread, so wait for it.
 */
static int lift_other(struct live_dump *obj, struct live_dump *ld, uint64_t addr, uint64_t len)
{
	struct uffdio_writeprotect wp = { .range = { addr, len }, .mode = 0 };

	while (ioctl(ld->uffd, UFFDIO_WRITEPROTECT, &wp)) {
		/* Unmapped, or the process is gone: nothing to lift. */
		if (errno == ENOENT || errno == EINVAL || errno == ESRCH)
			return 0;
		if (errno != EAGAIN && errno != EINTR) {
			pr_perror("%s: cannot lift write protection in pid %d at %lx", obj->name,
				  ld->pid, (unsigned long)addr);
			return -1;
		}
		if (tree_failed(obj))
			return -1;
		sched_yield();
	}
	return 0;
}

int live_shm_unprotect(struct live_dump *obj, uint64_t off, uint64_t len)
{
	for (size_t m = 0; m < obj->nr_mappers; m++) {
		struct live_dump *ld = obj->mappers[m];

		/* Moved mappings are left to the fault path, as in stream_pipe(). */
		if (__atomic_load_n(&ld->nr_remaps, __ATOMIC_ACQUIRE))
			continue;
		for (size_t i = 0; i < ld->nr_windows; i++) {
			const struct shm_window *w = &ld->windows[i];
			uint64_t a = off > w->off ? off : w->off;
			uint64_t e = off + len < w->off + (w->end - w->start) ?
					     off + len :
					     w->off + (w->end - w->start);

			if (w->obj == obj && a < e &&
			    lift_other(obj, ld, w->start + (a - w->off), e - a))
				return -1;
		}
	}
	return 0;
}

/*
 * Its own pages written, a process may still be about to write shared pages
 * not saved yet: its faults are served until every object is streamed.
 */
static int serve_until_objects_done(struct dump_ctx *ctx, struct live_dump *ld)
{
	struct pollfd *p = NULL;
	int ret = 0;

	while (!ret && __atomic_load_n(&ld->tree->objs_left, __ATOMIC_ACQUIRE) > 0) {
		struct pollfd *np = realloc(p, (ld->nr_followers + 1) * sizeof(*p));

		if (!np) {
			pr_err("out of memory for the live dump of %s", ld->name);
			ret = -1;
			break;
		}
		p = np;
		p[0] = (struct pollfd){ .fd = ld->uffd, .events = POLLIN };
		for (size_t i = 0; i < ld->nr_followers; i++)
			p[i + 1] = (struct pollfd){ ld->followers[i]->uffd, POLLIN, 0 };
		if (tree_failed(ld))
			ret = -1;
		else if (ld->may_exit && task_exited(ld))
			break;
		else
			poll(p, ld->nr_followers + 1, 10);
		if (!ret)
			ret = serve_events(ctx, ld);
	}
	free(p);
	return ret ? -1 : serve_events(ctx, ld);
}

static int live_stream(struct dump_ctx *ctx, struct dump_task *t, struct live_dump *ld)
{
	ld->cow = mmap(NULL, ld->cow_cap * PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ld->cow == MAP_FAILED) {
		ld->cow = NULL;
		pr_perror("cannot allocate the copy buffer (--cow-limit)");
		return -1;
	}
	if (live_stream_held(ctx, ld) || serve_until_objects_done(ctx, ld) ||
	    flush_cow(ctx, ld, ld->cow_nr))
		return -1;
	for (size_t i = 0; i < ld->nr_followers; i++)
		if (flush_cow(ctx, ld->followers[i], ld->followers[i]->cow_nr))
			return -1;
	/*
	 * A root that died meanwhile has left nothing to resume: the dump
	 * promised a running process, so it fails.
	 */
	if (!ld->may_exit && task_exited(ld)) {
		pr_err("pid %d exited during the live dump", t->pid);
		return -1;
	}
	return live_close_image(ld);
}

int live_close_image(struct live_dump *ld)
{
	int fd = ld->pfd;

	ld->pfd = -1;
	if (close(fd)) {
		pr_perror("%s: writing its pages to the image", ld->name);
		return -1;
	}
	return 0;
}

struct stream_job {
	struct dump_ctx ctx;		/* a copy with its own stats */
	struct dump_task *t;		/* NULL: the shared memory objects */
	struct live_tree *tree;
	pthread_t thread;
	int ret;
};

static void *stream_thread(void *arg)
{
	struct stream_job *j = arg;

	if (j->t)
		j->ret = live_stream(&j->ctx, j->t, j->t->ld);
	else
		j->ret = live_stream_objects(j->tree, &j->ctx);
	if (j->ret)
		__atomic_store_n(&j->tree->failed, 1, __ATOMIC_RELEASE);
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

static int start_job(struct stream_job *j, struct dump_ctx *ctx, struct live_tree *tree,
		     struct dump_task *t)
{
	j->ctx = *ctx;
	memset(&j->ctx.st, 0, sizeof(j->ctx.st));
	j->t = t;
	j->tree = tree;
	errno = pthread_create(&j->thread, NULL, stream_thread, j);
	if (errno) {
		pr_perror("cannot start a thread to stream pages");
		return -1;
	}
	return 0;
}

/*
 * Every address space has its uffd and is streamed by a thread of its own,
 * so a writer in one process never waits for another's pages; one more
 * thread streams the shared memory objects. Children may exit meanwhile:
 * their pages are held in pipes, and the image is of the frozen instant.
 */
int live_stream_tree(struct dump_ctx *ctx)
{
	struct stream_job *jobs = calloc(ctx->nr_tasks + 1, sizeof(*jobs));
	struct live_tree tree = {
		.objs = ctx->live_objs,
		.nr_objs = ctx->nr_live_objs,
		.objs_left = ctx->nr_live_objs,
	};
	struct rlimit rl;
	size_t i, nr = 0;
	int ret = 0;

	if (!jobs) {
		pr_err("out of memory for the live dump");
		return -1;
	}
	/* Every fork a process sharing memory makes meanwhile brings a uffd: room for them. */
	if (tree.nr_objs && !getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	for (i = 0; i < tree.nr_objs; i++)
		tree.objs[i]->tree = &tree;
	for (i = 0; i < ctx->nr_tasks; i++) {
		struct dump_task *t = &ctx->tasks[i];

		if (t->zombie)
			continue;
		t->ld->may_exit = i > 0;
		t->ld->tree = &tree;
		if (start_job(&jobs[nr], ctx, &tree, t)) {
			ret = -1;
			break;
		}
		nr++;
	}
	if (!ret && tree.nr_objs && !start_job(&jobs[nr], ctx, &tree, NULL))
		nr++;
	else if (!ret && tree.nr_objs)
		ret = -1;
	if (ret)
		__atomic_store_n(&tree.failed, 1, __ATOMIC_RELEASE);
	for (i = 0; i < nr; i++) {
		pthread_join(jobs[i].thread, NULL);
		add_stats(&ctx->st, &jobs[i].ctx.st);
		if (jobs[i].ret)
			ret = -1;
	}
	/* The processes' copies of shared pages are written too: the images are whole. */
	for (i = 0; i < tree.nr_objs; i++)
		if (live_close_image(tree.objs[i]))
			ret = -1;
	free(jobs);
	return ret;
}
