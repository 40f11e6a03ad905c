// SPDX-License-Identifier: GPL-2.0
/*
 * Live snapshot, the running half: what a process's uffd reports (see
 * live-internal.h). A write to a page not saved yet is served by copying the
 * page first (copy-before-write) into a bounded buffer, then lifting the
 * protection on it; remaps, discards and forks are followed. The streaming
 * thread of the process (live-stream.c) calls in here between chunks, and
 * whenever the kernel makes it wait for an event to be read.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "kcompat.h"
#include "live/live-internal.h"
#include "log.h"

static int read_events(struct live_stats *st, struct live_dump *ld, bool defer);

/*
 * Lift write protection. While a remove/unmap event is being reported the
 * kernel answers EAGAIN until that event is read and its thread goes on:
 * read pending events and retry. While serving a fault, other threads'
 * faults read meanwhile are only noted, and served after this one.
 */
static int unprotect(struct live_stats *st, struct live_dump *ld, uint64_t addr, uint64_t len,
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
		if (serving ? read_events(st, ld, true) : live_serve_events(st, ld))
			return -1;
		if (serving)
			sched_yield();
	}
}

int live_unprotect(struct live_stats *st, struct live_dump *ld, uint64_t addr, uint64_t len)
{
	return unprotect(st, ld, addr, len, false);
}

/*
 * Write the last @n copied pages out (each has its own file offset, so any
 * order will do). A full buffer is drained by one slice at a time: the
 * writer that found it full waits for a slice, not for the whole buffer.
 */
#define COW_SLICE CHUNK_PAGES

int live_flush_cow(struct live_stats *st, struct live_dump *ld, size_t n)
{
	if (n > ld->cow_nr)
		n = ld->cow_nr;
	for (size_t i = ld->cow_nr - n; i < ld->cow_nr; i++) {
		if (live_write_pages(ld->cow_pages[i].owner, ld->cow + i * PAGE_SIZE, 1,
				     ld->cow_pages[i].idx))
			return -1;
		/* Shared pages count as shmem pages. */
		st->pages_written += !ld->cow_pages[i].owner->obj;
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
static int serve_fault(struct live_stats *st, struct live_dump *ld, uint64_t addr)
{
	uint64_t off = 0;
	int64_t idx;
	struct live_dump *owner = page_owner(ld, addr, &idx, &off);

	if (owner && ld->cow_nr == ld->cow_cap) {
		uint64_t t0 = now_ns();

		if (live_flush_cow(st, ld, COW_SLICE))
			return -1;
		st->cow_wait_ns += now_ns() - t0;
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
		st->cow_faults++;
		if (ld->cow_nr * PAGE_SIZE > st->cow_peak)
			st->cow_peak = ld->cow_nr * PAGE_SIZE;
	}
	obj_unlock(owner);
	return unprotect(st, ld, addr, PAGE_SIZE, true);
}

/* Parked writers whose page the streamer has saved since may go on. */
static int unpark(struct live_stats *st, struct live_dump *ld)
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
		if (unprotect(st, ld, addr, PAGE_SIZE, true))
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
	/* The shared objects' thread reads it (shm_unprotect(), live-stream.c). */
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
static int read_events(struct live_stats *st, struct live_dump *ld, bool defer)
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
				  : serve_fault(st, ld, addr))
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
int live_serve_events(struct live_stats *st, struct live_dump *ld)
{
	/* No uffd: an object, or a process with a holder and no shared memory. */
	if (ld->uffd < 0)
		return 0;
	if (unpark(st, ld))
		return -1;
	do {
		while (ld->nr_deferred)
			if (serve_fault(st, ld, ld->deferred[--ld->nr_deferred]))
				return -1;
		if (read_events(st, ld, false))
			return -1;
	} while (ld->nr_deferred);
	/*
	 * Followers are served by their leader's thread; more may come
	 * meanwhile. One whose process exited goes, its copies written (they
	 * are of pages marked saved): a busy forker leaves no pile of uffds.
	 */
	for (size_t i = 0; i < ld->nr_followers; i++) {
		struct live_dump *f = ld->followers[i];

		if (live_serve_events(st, f))
			return -1;
		if (!follower_gone(f))
			continue;
		pr_debug("%s has exited", f->name);
		if (live_flush_cow(st, f, f->cow_nr))
			return -1;
		live_free(f);
		ld->followers[i--] = ld->followers[--ld->nr_followers];
	}
	return 0;
}

