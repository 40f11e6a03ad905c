/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The live snapshot (design.md §1, §3 step 4). While the task is frozen,
 * live_freeze() write-protects its private anonymous memory through a
 * userfaultfd the parasite creates in the task's mm, and holds the pages to
 * save in pipes (vmsplice), so that pages the task later unmaps or discards
 * are still there. Once the task runs again, live_stream() copies the held
 * pages to the image in order and lifts the protection behind itself; a
 * write to a page not saved yet faults, and the old page is copied into a
 * bounded buffer before the writer may go on.
 */
#ifndef SNAP_LIVE_H
#define SNAP_LIVE_H

#include "ctx.h"
#include "mem/mem-dump.h"
#include "pagemap.pb-c.h"

struct live_dump;

/* Can this kernel do it (userfaultfd WP, the events we need, /dev/userfaultfd)? */
bool live_supported(const struct kfeat *kf);
/* And write-protect shared memory (UFFD_FEATURE_WP_HUGETLBFS_SHMEM)? */
bool live_shmem_supported(const struct kfeat *kf);
/* Before the freeze: make the pipes the pages will be held in (*@out set). */
int live_prepare(struct dump_task *t, struct live_dump **out);
/* Frozen, parasite running, @pl collected (ownership moves to @ld). */
int live_freeze(struct dump_ctx *ctx, struct dump_task *t, struct page_list *pl,
		struct live_dump *ld);
/* Frozen, before the parasite, after thread_collect(): note the threads' rseq areas (protected last). */
int live_note_rseq(struct dump_task *t, struct live_dump *ld);
/*
 * Parasite gone, task still stopped: protect what was left open while it
 * ran. From here until the uffd is served, the task must not run.
 */
int live_protect(struct dump_task *t, struct live_dump *ld);
/*
 * Whether every process mapping object @id (@name) reports its forks, which
 * streaming it needs; if not, says so (the object is then saved frozen).
 */
bool live_shmem_followable(const struct dump_ctx *ctx, uint32_t id, const char *name);
/*
 * The tree frozen, every task through live_freeze(): hold the @nr_pages
 * pages of shared memory object @id (its @ranges, offsets in its fd @fd),
 * write-protect them in every process mapping it; @resident is mincore()'s
 * vector of the object, @warm snap's mapping of it made before the freeze,
 * or NULL (both taken). @name names it in errors.
 */
int live_hold_shmem(struct dump_ctx *ctx, uint32_t id, const char *name, int fd,
		    uint64_t size, PagemapEntry **ranges, size_t nr_ranges, uint8_t *resident,
		    char *warm);
/* Every task of the tree runs again: stream them all at once. */
int live_stream_tree(struct dump_ctx *ctx);
/* Drop everything; closing the uffd lifts any protection left. */
void live_free(struct live_dump *ld);

#endif
