// SPDX-License-Identifier: GPL-2.0
/*
 * The lazy-pages server's prefetch, one worker thread per CPU: each takes
 * the next due run after its task's cursor (the last fault, or where the
 * prefetch got to), reads its pages, and places them with UFFDIO_COPY on
 * the task's uffd, which takes copies from several threads at once. The
 * server thread (lazy-server.c) keeps reading the uffds and serving faults.
 *
 * How the account stays right (lazy_server.lock, lazy-int.h):
 * - Reading pages (pread of the image, or GET from a page server) is done
 *   without the lock. Claiming and placing are done under the read lock;
 *   the server reads a uffd, and so applies its events, under the write
 *   lock. An event the server has read is in the account before any
 *   worker places again: a page dropped by MADV_DONTNEED or munmap is done
 *   and cannot be claimed, so nothing lands after the kernel zapped it.
 * - While an event is unread the kernel refuses copies (EAGAIN:
 *   mmap_changing): the worker lets its claim go, and waits for the
 *   server, which poll() wakes on the same event, to read it.
 * - A worker claims each page (due -> claimed, one compare-and-swap), so
 *   two workers never place the same page; a fault on a page being placed
 *   waits for the write lock, finds it done and only wakes the thread.
 *   Claims are let go or made done before the read lock is released: the
 *   server never sees one.
 * - mremap moves extents (and fork adds a task, finishing frees one):
 *   they bump lazy_server.gen under the write lock; a worker whose pages
 *   were read under another gen picks again, from the new account.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "lazy/lazy-int.h"
#include "log.h"

/*
 * Pages read, then placed under one read lock: 512 KiB, in the cache
 * still. Against 32 pages (Documentation/benchmarks.md), the fill is
 * 10-12% faster and takes 11-14% less CPU a page; a fault waits for the
 * write lock about 100 µs on average instead of 45.
 */
#define LOCK_PAGES  128
#define MAX_WORKERS 16

struct pick {
	struct lazy_task *t; /* only while @gen is the server's */
	struct lazy_ext *e;
	size_t idx, n;
	uint64_t gen;
	struct lz_src *src; /* lives as long as the server */
	const uint8_t *at;  /* the pages' image in @src */
};

static void wake_server(struct lazy_server *s)
{
	uint64_t one = 1;

	if (write(s->wake, &one, sizeof(one)) < 0)
		pr_perror("cannot wake the lazy-pages server");
}

/* The next run of the next task with one, read lock held. false: none. */
static bool pick(struct lazy_server *s, struct pick *p)
{
	bool found = false;

	pthread_mutex_lock(&s->pick);
	for (size_t k = 0; k < s->nr_tasks && !found; k++) {
		struct lazy_task *t = s->tasks[(s->rr + k) % s->nr_tasks];
		uint64_t addr, room;

		if (LZ_GET(t->gone) || LZ_GET(t->stuck))
			continue;
		p->n = lz_next(t, LZ_COPY_PAGES, &p->e, &p->idx);
		if (!p->n)
			continue;
		addr = p->e->start + p->idx * LZ_PAGE;
		room = (LZ_PMD - (addr & (LZ_PMD - 1))) / LZ_PAGE;
		p->n = p->n < room ? p->n : room;
		p->t = t;
		p->gen = s->gen;
		p->src = t->src;
		p->at = p->e->src + p->idx * LZ_PAGE;
		/* The next worker takes the run after this one. */
		t->cursor = p->e->start + (p->idx + p->n) * LZ_PAGE;
		s->rr = (s->rr + k + 1) % s->nr_tasks;
		found = true;
	}
	pthread_mutex_unlock(&s->pick);
	return found;
}

static void nap(long ns)
{
	struct timespec ts = {0, ns};

	nanosleep(&ts, NULL);
}

/* Until a kick, or 20 ms. */
static void wait_kick(struct lazy_server *s)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 20 * 1000 * 1000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&s->idle_lock);
	if (!s->stop)
		pthread_cond_timedwait(&s->kick, &s->idle_lock, &ts);
	pthread_mutex_unlock(&s->idle_lock);
}

/* Nothing to pick: tell the server (tasks to finish), wait for a kick. */
static void idle(struct lazy_server *s)
{
	if (LZ_GET(s->nr_tasks))
		wake_server(s);
	wait_kick(s);
}

/*
 * Read and place what @p picked, LOCK_PAGES at a time: the pages are
 * still in the cache from the read when they are copied, and a fault
 * waits for the write lock no longer than that many copies. Retried while
 * events are unread; given up if the account moved (@gen).
 */
static void place(struct lazy_server *s, struct pick *p, uint8_t *buf)
{
	size_t off = 0;

	while (off < p->n) {
		size_t n = p->n - off < LOCK_PAGES ? p->n - off : LOCK_PAGES;
		/* Without the lock: p->t may be freed meanwhile, p->src may not. */
		const uint8_t *src = lz_src_run(p->src, p->at + off * LZ_PAGE, n, buf);
		int ret = -1;
		bool same;

		if (!src) {
			/* Lost or unreadable (logged): the server gives up. */
			wake_server(s);
			idle(s);
			return;
		}
		for (;;) {
			pthread_rwlock_rdlock(&s->lock);
			same = s->gen == p->gen;
			if (same)
				ret = lz_place_claimed(p->t, p->e, p->idx + off, n, src, &s->st);
			if (same && (LZ_GET(p->t->gone) || !LZ_GET(p->t->left))) {
				/* The server closes its uffd. */
				wake_server(s);
			} else if (same && ret && ret != -EAGAIN) {
				/* Not for lack of a read event: the server looks at it. */
				__atomic_store_n(&p->t->stuck,
						 p->e->start + (p->idx + off) * LZ_PAGE,
						 __ATOMIC_RELAXED);
				wake_server(s);
			}
			pthread_rwlock_unlock(&s->lock);
			if (ret != -EAGAIN || !same)
				break;
			/* The server reads the event (poll woke it too), the process goes on. */
			nap(20 * 1000);
		}
		if (!same || ret)
			return;
		off += n;
	}
}

struct lz_worker {
	pthread_t th;
	struct lazy_server *s;
	uint8_t *buf; /* LOCK_PAGES to read pages into */
};

static void *worker(void *arg)
{
	struct lazy_server *s = ((struct lz_worker *)arg)->s;
	uint8_t *buf = ((struct lz_worker *)arg)->buf;

	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		struct pick p;
		bool found;

		/*
		 * Not while the restore is still at work: on a machine with
		 * no spare CPU, the workers took it from the restore's last
		 * steps, and the processes ran up to 10 ms later.
		 */
		if (!__atomic_load_n(&s->restore_gone, __ATOMIC_ACQUIRE)) {
			wait_kick(s);
			continue;
		}
		pthread_rwlock_rdlock(&s->lock);
		found = pick(s, &p);
		pthread_rwlock_unlock(&s->lock);
		if (!found) {
			idle(s);
			continue;
		}
		place(s, &p, buf);
	}
	return NULL;
}

int lz_workers_start(struct lazy_server *s)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t want = cpus > 0 ? (size_t)cpus : 1;

	/* Past a few, they only wait on each other in the kernel. */
	want = want < MAX_WORKERS ? want : MAX_WORKERS;

	s->workers = calloc(want, sizeof(*s->workers));
	if (!s->workers) {
		pr_err("out of memory for the lazy-pages workers");
		return -1;
	}
	for (; s->nr_workers < want; s->nr_workers++) {
		struct lz_worker *w = &s->workers[s->nr_workers];
		int err;

		w->s = s;
		/* Populated now: the first touch of a page is dear on some VMs. */
		w->buf = mmap(NULL, LOCK_PAGES * LZ_PAGE, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (w->buf == MAP_FAILED) {
			pr_perror("no room for lazy-pages worker %zu's pages", s->nr_workers);
			return -1;
		}
		err = pthread_create(&w->th, NULL, worker, w);
		if (err) {
			munmap(w->buf, LOCK_PAGES * LZ_PAGE);
			errno = err;
			pr_perror("cannot start lazy-pages worker %zu", s->nr_workers);
			return -1;
		}
	}
	pr_info("lazy-pages: %zu prefetch workers", s->nr_workers);
	return 0;
}

void lz_workers_kick(struct lazy_server *s)
{
	pthread_mutex_lock(&s->idle_lock);
	pthread_cond_broadcast(&s->kick);
	pthread_mutex_unlock(&s->idle_lock);
}

void lz_workers_stop(struct lazy_server *s)
{
	pthread_mutex_lock(&s->idle_lock);
	__atomic_store_n(&s->stop, true, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&s->kick);
	pthread_mutex_unlock(&s->idle_lock);
	for (size_t i = 0; i < s->nr_workers; i++) {
		pthread_join(s->workers[i].th, NULL);
		munmap(s->workers[i].buf, LOCK_PAGES * LZ_PAGE);
	}
	free(s->workers);
	s->workers = NULL;
	s->nr_workers = 0;
}
