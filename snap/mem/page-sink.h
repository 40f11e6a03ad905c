/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The page sink: where every dumped page goes, whoever copies it. The
 * stop-the-world copy (mem-dump.c), the live streamer and its fault path
 * (live/), and the shared memory writer (shmem-dump.c) all do the same:
 *
 *   ps = page_sink_open(ctx, PAGE_SINK_TASK, pid, "pid 42");
 *   page_sink_add_run(ps, vaddr, nr) ...      the layout, runs in order
 *   page_sink_layout_done(ps);
 *   page_sink_write(ps, idx, data, nr) ...    any order, any thread
 *   page_sink_close(ps);                      or page_sink_abort(ps)
 *
 * Page index i is the i-th page of the layout: the first page of a run has
 * the index of the pages declared before it. Records may come in any order
 * and from several threads at once, each index written once; the live path
 * writes a page whenever it is saved, from the pipes or the copy buffer.
 *
 * An incremental dump (--prev-images-dir) also declares, between the runs,
 * the runs its parent set holds unchanged: page_sink_add_parent_run(). They
 * take no page index and no record is written for them.
 *
 * The sink hides where the pages end up: a backend, chosen when the sink is
 * opened (page-sink-backend.h). Local images (Documentation/images.md): a
 * process's pages go to pages-PID.img, page i at byte 4096 * i, and its runs
 * to pagemap-PID.img; an object's pages to shmem-pages-ID.img, its runs
 * being in its shmem.img entry, which the caller writes. With --page-server
 * the same records go over TCP to `snap page-server`, which writes the same
 * files (Documentation/page-server.md).
 *
 * Around all the sinks of a dump:
 *
 *   page_sinks_begin(ctx, PAGE_SET_DUMP);     before the first open
 *   ... the sinks ...
 *   page_sinks_end(ctx);                      every sink closed: before inventory.img
 *   page_sinks_cancel(ctx);                   or this, when the dump failed
 */
#ifndef SNAP_PAGE_SINK_H
#define SNAP_PAGE_SINK_H

#include <stdbool.h>
#include <stdint.h>

#include "ctx.h"

enum page_sink_kind {
	PAGE_SINK_TASK,		/* pages-PID.img + pagemap-PID.img */
	PAGE_SINK_SHMEM,	/* shmem-pages-ID.img */
};

/* Which image set the sinks of a dump make (the page server is told). */
enum page_set {
	PAGE_SET_DUMP = 1,
	PAGE_SET_PRE_DUMP = 2,
	/* Not a set sent: a page server serving its DIR's pages to `snap lazy-pages`. */
	PAGE_SET_SERVE = 3,
};

struct page_sink;

/*
 * Set up what every sink of this dump shares, before the tree is frozen
 * (--page-server: connect, and the server accepts the set of @set). 0 or -1
 * (logged).
 */
int page_sinks_begin(struct dump_ctx *ctx, enum page_set set);
/*
 * Every sink is closed: the backend vouches for the whole set (the page
 * server acknowledges it), so inventory.img may follow. 0 or -1 (logged).
 */
int page_sinks_end(struct dump_ctx *ctx);
/* The dump failed and said why: drop the set (the page server discards what is unfinished). */
void page_sinks_cancel(struct dump_ctx *ctx);

/*
 * A sink for the pages of process @id or shared memory object @id; @owner
 * names it in errors ("pid 42"). The layout comes next. NULL on error,
 * logged.
 */
struct page_sink *page_sink_open(const struct dump_ctx *ctx, enum page_sink_kind kind,
				 unsigned int id, const char *owner);
/*
 * Append a run of @nr_pages pages at @addr (a process's address, an offset
 * in an object) to the layout. Runs come in the order their pages are
 * indexed. 0 or -1 (logged).
 */
int page_sink_add_run(struct page_sink *ps, uint64_t addr, uint64_t nr_pages);
/*
 * Append a run of @nr_pages pages at @addr that the parent set holds
 * unchanged: it takes no index. Only in a sink opened with a parent set
 * (dump_ctx.parent, a process's pages). 0 or -1 (logged).
 */
int page_sink_add_parent_run(struct page_sink *ps, uint64_t addr, uint64_t nr_pages);
/* No more runs: the layout is complete (a process's pagemap is written). 0 or -1 (logged). */
int page_sink_layout_done(struct page_sink *ps);
/*
 * @nr_pages pages from @data, the first being page @idx of the layout.
 * After page_sink_layout_done(); safe from several threads for distinct
 * indexes. 0 or -1: the first failure is logged, naming the image.
 */
int page_sink_write(struct page_sink *ps, uint64_t idx, const void *data, uint64_t nr_pages);
/*
 * Whether the process sinks of this dump take pages from pipes
 * (page_sink_splice()): local images, a parent set or not, whose pages are
 * not held for after the kill (dump_ctx.hold).
 */
bool page_sink_can_splice(const struct dump_ctx *ctx);
/*
 * As page_sink_write(), the @nr_pages pages read from the pipe @pipefd, in
 * which they must be already. One thread per sink. 0 or -1 (logged, once).
 */
int page_sink_splice(struct page_sink *ps, uint64_t idx, int pipefd, uint64_t nr_pages);
/*
 * Reserve the disk space of every page of the layout now (local images), so
 * that writes made later cannot fail for want of space. 0 or -1 (logged: a
 * full disk); a file system without fallocate() reserves nothing.
 */
int page_sink_reserve(struct page_sink *ps);
/*
 * Finish and free: the last writes are checked (a failed flush or close is
 * an error naming the image). -1 also when a write failed before (logged
 * then, not again).
 */
int page_sink_close(struct page_sink *ps);
/* Free without checking: the dump failed already and said why. NULL is fine. */
void page_sink_abort(struct page_sink *ps);

#endif
