/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The parent chain of an incremental dump (track.h): a pagemap entry
 * in_parent has its pages in the set the images directory's "parent" link
 * names - in its pages-PID.img, or, in_parent again, further up. Restore
 * and `snap dedup` resolve a process's pages through the chain into one
 * run of pages in pagemap order.
 */
#ifndef SNAP_PAGE_CHAIN_H
#define SNAP_PAGE_CHAIN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "pagemap.pb-c.h"

/* Whether any entry of @pm is in the parent. */
bool page_chain_needed(PagemapEntry **pm, size_t nr);
/*
 * Resolve @pid's pagemap @pm (read from the set in @dirfd, named @dir in
 * errors, whose inventory names its parent @parent_id): *@fd is a memfd with
 * all of its pages in pagemap order, and no entry of @pm is in_parent any
 * more. The chain is checked on the way: each parent the set its child was
 * made on (by dump id), each pages file as long as its pagemap says, each
 * page found. 0 or -1 (logged).
 */
int page_chain_resolve(int dirfd, const char *dir, uint64_t parent_id, pid_t pid,
		       PagemapEntry **pm, size_t nr, int *fd);

/*
 * Reading @pid's pages by index, in pagemap order with the parent sets'
 * runs included, for those who serve them (lazy-pages, the page server).
 * Without parent runs from pages-PID.img itself (its size checked); with
 * them straight from each set's pages file (every parent set is opened and
 * checked at once, and nothing is staged). NULL (logged) on error;
 * *@nr_pages its page count.
 */
struct page_reader;
struct page_reader *page_reader_open(int dirfd, const char *dir, pid_t pid, uint64_t *nr_pages);
/* Pages @idx..@idx+@nr-1 into @buf; any thread. 0, or -1 (logged). */
int page_reader_read(const struct page_reader *r, uint64_t idx, uint64_t nr, uint8_t *buf);
void page_reader_close(struct page_reader *r);

#endif
