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
 * The pages of @pid in the set in @dirfd (named @dir in errors), in pagemap
 * order with the parent sets' runs resolved in: *@fd (its own pages-PID.img,
 * checked against the pagemap, or a memfd from page_chain_resolve()) and
 * *@nr_pages. For those who serve pages by index (lazy-pages, the page
 * server). 0 or -1 (logged).
 */
int page_chain_open(int dirfd, const char *dir, pid_t pid, int *fd, uint64_t *nr_pages);

#endif
