/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pages held in snap's memory until the tree is released (page-hold.c).
 *
 * The final dump of an incremental chain on local images, which kills the
 * tree or lets it run on (-R): its frozen time would be mostly writing the
 * pages written since the last pre-dump. Those pages are copied out while
 * the tree is frozen - a killed tree's pages must be in snap's hands before
 * the kill, a running tree's before it writes again - into buffers held
 * here, and written to their sinks once the tree is released. The set is
 * what the process wrote since the pre-dump, mostly small; the buffers are
 * bounded all the same, by a quarter of MemAvailable: past the bound,
 * pages are written while frozen, as without a hold.
 *
 * Each sink's file gets its full length reserved (fallocate) while the tree
 * is still frozen, so a full disk fails the dump while the tree can run on;
 * an I/O error after the kill fails the dump with the tree gone (with -R,
 * running, as it would anyway).
 *
 *   h = page_hold_new();                       before the freeze
 *   page_hold_stash(h, data, nr, &off);        running (catch-up): pages for later
 *   page_hold_put(h, ps, idx, data, nr);       frozen: 0 means write them now
 *   page_hold_ref(h, ps, idx, off, nr);        frozen: stashed pages are those of @ps
 *   page_hold_keep(h, ps);                     frozen: the sink is the hold's now
 *   ... the tree is killed or thawed ...
 *   page_hold_write(h);                        every page to its sink, every sink closed
 *   page_hold_free(h);                         what is left aborted
 */
#ifndef SNAP_PAGE_HOLD_H
#define SNAP_PAGE_HOLD_H

#include <stddef.h>
#include <stdint.h>

struct page_hold;
struct page_sink;

/* NULL on error, logged. */
struct page_hold *page_hold_new(void);
/*
 * Hold @nr_pages pages at @data, pages @idx.. of @ps, for page_hold_write().
 * 1: held; 0: the bound is reached (or tmpfs is full), the caller writes
 * them now.
 */
int page_hold_put(struct page_hold *h, struct page_sink *ps, uint64_t idx, const void *data,
		  uint64_t nr_pages);
/*
 * The caller is done with @ps: the hold reserves its length on disk and
 * closes it after its writes. 0, or -1 (logged; @ps is aborted).
 */
int page_hold_keep(struct page_hold *h, struct page_sink *ps);
/*
 * Catch-up rounds (track.h), the tree running: append @nr_pages pages at
 * @data to the hold, not yet anyone's; *@off says where, for
 * page_hold_ref(). 1: held; 0: the bound is reached (or tmpfs is full).
 */
int page_hold_stash(struct page_hold *h, const void *data, uint64_t nr_pages, uint64_t *off);
/*
 * Frozen: pages @idx.. of @ps are the @nr_pages pages stashed at @off. 0 or
 * -1 (no memory, logged).
 */
int page_hold_ref(struct page_hold *h, struct page_sink *ps, uint64_t idx, uint64_t off,
		  uint64_t nr_pages);
/* Pages held for the sinks: for --display-stats. */
uint64_t page_hold_pages(const struct page_hold *h);
/* Write every held page and close every sink kept. 0 or -1 (logged). */
int page_hold_write(struct page_hold *h);
/* NULL is fine. Sinks not closed yet are aborted. */
void page_hold_free(struct page_hold *h);

#endif
