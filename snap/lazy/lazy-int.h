/* SPDX-License-Identifier: GPL-2.0 */
/* What the files of the lazy-pages server share (README.md here). */
#ifndef SNAP_LAZY_INT_H
#define SNAP_LAZY_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lazy/lazy-proto.h"

#define LZ_PAGE 4096UL
/*
 * Pages read for one UFFDIO_COPY from a local image (lz_src_pages()): a
 * worker's run, at most one page table's worth (LZ_PMD), so two workers
 * rarely take the same page-table lock.
 */
#define LZ_COPY_PAGES 512
#define LZ_PMD	      (LZ_COPY_PAGES * LZ_PAGE)
#define LZ_MAX_TASKS  256

/* lazy_ext.done[], per page: */
#define LZ_DUE	   0
#define LZ_DONE	   1 /* placed, or dropped (munmap, MADV_DONTNEED) */
#define LZ_CLAIMED 2 /* a worker is placing it (only while it holds the read lock) */

/* Counters several threads add to. */
#define LZ_ADD(x, n) __atomic_fetch_add(&(x), (n), __ATOMIC_RELAXED)
#define LZ_GET(x)    __atomic_load_n(&(x), __ATOMIC_RELAXED)

struct page_xfer;
struct page_reader;
struct lz_worker;

/* GETs in flight at most (lazy-remote.c). */
#define LZ_INFLIGHT 8

struct lz_src;
/* A GET whose answer is not read yet. */
struct lz_ask {
	struct lz_src *s;
	size_t idx, nr;
};

/* --page-server: the connection to the page source, shared by every lz_src. */
struct lz_remote {
	pthread_mutex_t lock; /* the connection, @q, and every lz_src's @have */
	struct page_xfer *x;
	bool lost; /* it failed: @why says how, and nothing more is asked */
	char why[512];
	uint64_t pages; /* fetched */
	struct lz_ask q[LZ_INFLIGHT];
	size_t head, nr_q;
};

/* One process's pages in pagemap order at @base (lazy-source.c). */
struct lz_src {
	pid_t pid;
	struct lazy_range *runs; /* the pagemap's, in its order */
	size_t nr_runs;
	uint8_t *base;
	size_t len;
	uint64_t nr_pages;
	struct lz_remote *remote;   /* NULL: @base maps the local images */
	struct page_reader *reader; /* local: what @base maps */
	bool broken;		    /* local: a page could not be read (logged) */
	uint8_t *have;		    /* remote: per page, asked for, in (lazy-remote.c) */
};

/* Pages of one run of the image still to place, at [start, end) in the process now. */
struct lazy_ext {
	uint64_t start, end;
	const uint8_t *src; /* the page image of start, in its lz_src */
	uint8_t *done;	    /* per page: LZ_DUE, LZ_DONE or LZ_CLAIMED */
	size_t first;	    /* every page below this index is done */
};

/* One uffd served: a restored process, or a child it forked during the lazy phase. */
struct lazy_task {
	pid_t pid;  /* the image's; 0: a child forked since (the fork event has no pid) */
	pid_t host; /* in snap's pid namespace (the guard's); 0 for a forked child */
	int uffd;
	struct lz_src *src;   /* shared with its forked children; the server frees it */
	struct lazy_ext *ext; /* address order */
	size_t nr_ext;
	uint64_t left;	 /* pages not done (LZ_GET: workers decrement it) */
	uint64_t cursor; /* the last fault, or where the prefetch got to */
	bool gone;	 /* its mm went away */
	uint64_t stuck;	 /* a worker could not place this address: the server looks (lazy-work.c) */
};

struct lazy_stats {
	uint64_t faults, zero_faults, fault_pages, prefetch_pages, copied, dropped;
	uint64_t place_ns;	  /* wall time in UFFDIO_COPY, every thread's */
	uint64_t t_first, t_done; /* first hello, last page in */
};

/*
 * The server (lazy-server.c) and its prefetch workers (lazy-work.c).
 * @lock: the server thread takes it to write whenever it reads a uffd
 * (faults and events) or changes @tasks; the workers take it to read while
 * they claim and place pages. So an event is applied to the account
 * before any worker places again, and a fault is served while the workers
 * wait. @gen changes when a task's extents move or a task is freed: a
 * worker that read pages outside the lock picks again.
 */
struct lazy_server {
	const struct snap_opts *opts;
	int dirfd;
	int lsock, conn;   /* listening; the restore's, -1 before and after */
	bool restore_gone; /* it connected and went (the workers wait for it) */
	bool refused;	   /* a process we could not serve: the restore failed */
	int guard;
	struct lazy_task *tasks[LZ_MAX_TASKS];
	size_t nr_tasks;
	struct lz_src *srcs[LZ_MAX_TASKS]; /* the processes' pages, kept to the end */
	size_t nr_srcs;
	struct lz_remote remote; /* --page-server: where the pages come from */
	struct lazy_stats st;
	uint8_t *buf; /* the server thread's LZ_COPY_PAGES to read pages into */

	pthread_rwlock_t lock;
	uint64_t gen;
	pthread_mutex_t pick; /* workers choosing runs: @rr, each task's cursor and first */
	size_t rr;	      /* the task the prefetch serves next */
	pthread_mutex_t idle_lock;
	pthread_cond_t kick; /* work for idle workers, or @stop */
	bool stop;
	int wake;		   /* eventfd: a worker wants the server thread to look */
	struct lz_worker *workers; /* lazy-work.c */
	size_t nr_workers;
};

/* lazy-source.c */
/* @pid's pages: from the set in @dirfd (@dir), or from @r if not NULL. */
struct lz_src *lz_src_open(int dirfd, const char *dir, pid_t pid, struct lz_remote *r);
/* A memfd of @s's pages in pagemap order, those in @h's ranges in: FILL's answer. -1: logged. */
int lz_src_fill(struct lz_src *s, const struct lazy_hello *h, uint8_t *buf);
/*
 * The @n (at most LZ_COPY_PAGES) pages at @at, fetched, where a UFFDIO_COPY
 * is to take them from: @buf (LZ_COPY_PAGES, the caller's) or the remote
 * mapping. NULL: the source is lost or unreadable (logged). Thread-safe.
 */
const uint8_t *lz_src_pages(struct lz_src *s, const uint8_t *at, size_t n, uint8_t *buf);
/* The same for a worker's run: a remote source reads ahead. */
const uint8_t *lz_src_run(struct lz_src *s, const uint8_t *at, size_t n, uint8_t *buf);
void lz_src_free(struct lz_src *s);

/* lazy-remote.c */
/*
 * Pages [@first, @last) of @s (remote) in its mapping, asked for if need
 * be, with the LZ_AHEAD after them too if @ahead. -1: the source is lost.
 */
int lz_remote_fetch(struct lz_src *s, size_t first, size_t last, bool ahead);
/* Read the answers still in flight (the workers are stopped). -1: @r->why says why. */
int lz_remote_drain(struct lz_remote *r);

/* lazy-state.c */
/* The ranges of @h with pages in @src, as extents of @t (whose src it becomes). */
int lz_build(struct lazy_task *t, const struct lazy_hello *h, struct lz_src *src);
/* A copy of @parent's state for the child of a fork. */
struct lazy_task *lz_fork(const struct lazy_task *parent, int uffd);
void lz_free(struct lazy_task *t);
/* The extent and page index of @addr, or NULL. */
struct lazy_ext *lz_find(struct lazy_task *t, uint64_t addr, size_t *idx);
/* Mark [start, end) done without a page: the process dropped it. Pages dropped. */
uint64_t lz_drop(struct lazy_task *t, uint64_t start, uint64_t end);
/* mremap moved [from, from + len) to @to. -1 on out of memory, logged. */
int lz_remap(struct lazy_task *t, uint64_t from, uint64_t to, uint64_t len);
/* The next due run at or after the cursor (wrapping), at most @max pages: 0 if none. */
size_t lz_next(struct lazy_task *t, size_t max, struct lazy_ext **e, size_t *idx);
/* The due run at @e[@idx], at most @max pages (0 if that page is not due). */
size_t lz_run(const struct lazy_ext *e, size_t idx, size_t max);

/* lazy-place.c */
/*
 * Place @n pages of @e from @idx with UFFDIO_COPY. 0 (the pages are done),
 * -EAGAIN (events to read first), or -1 (the task is gone, or the range:
 * logged at debug level; or the remote source is lost: t->src->remote->lost).
 */
int lz_place(struct lazy_task *t, struct lazy_ext *e, size_t idx, size_t n, struct lazy_stats *st,
	     uint8_t *buf);
/*
 * A worker, read lock held: claim the due pages of @e's @n from @idx and
 * place them from @src (their image). Returns as lz_place().
 */
int lz_place_claimed(struct lazy_task *t, struct lazy_ext *e, size_t idx, size_t n,
		     const uint8_t *src, struct lazy_stats *st);
/* A fault where no page of the image is due: a zero page, or just a wake-up. */
int lz_zero(struct lazy_task *t, uint64_t addr);

/* lazy-work.c: the prefetch workers, one per CPU. */
int lz_workers_start(struct lazy_server *s);
/* Wake idle workers: there may be new work. */
void lz_workers_kick(struct lazy_server *s);
void lz_workers_stop(struct lazy_server *s);

/* lazy-guard.c: a process holding every uffd that kills their processes if we die. */
/* sendmsg of @len bytes at @buf, with @fd attached (SCM_RIGHTS) unless it is -1. */
ssize_t lz_send_fd(int sk, const void *buf, size_t len, int fd);
int lz_guard_start(void);
int lz_guard_add(int g, pid_t pid, int uffd);
int lz_guard_done(int g, pid_t pid);
/* The server gives up: @why goes into the guard's line for each process it kills. */
void lz_guard_cause(int g, const char *why);
void lz_guard_bye(int g);

#endif
