/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Memory dump, in two steps that the live mode separates in time:
 * page_collect() finds the pages to save while the task is frozen;
 * page_write() copies them, stop-the-world, through a page sink
 * (page-sink.h) into pages-PID.img and pagemap-PID.img. The live mode
 * (live/) hands the same list to a page sink of its own.
 */
#ifndef SNAP_MEM_DUMP_H
#define SNAP_MEM_DUMP_H

#include <sys/mman.h>

#include "ctx.h"
#include "kcompat.h"

struct page_run {
	uint64_t vaddr;
	uint64_t nr;		/* pages */
	uint32_t vma;		/* index in the task's vma list */
	bool in_parent;		/* unchanged since the parent set: not written (track.h) */
	bool spliced;		/* written from pipes already (page-splice.c): not copied */
	bool stored;		/* copied by a catch-up round (track.h): in the hold, at hold_off */
	uint64_t hold_off;
};

struct page_list {
	struct page_run *runs;
	size_t nr, cap;
	uint64_t pages;		/* in the runs, those in the parent left out */
};

/*
 * mm-PID.img from t->vmas; after page_collect(), which finds the guard
 * regions. A mapping of a deleted file gets its ghost noted here, through
 * the task's map_files/, unless mm_note_ghosts() did so already.
 */
int dump_mm(struct dump_ctx *ctx, struct dump_task *t);
/* The ghosts of @t's mappings of deleted files, while it is frozen: before a late dump_mm(). */
int mm_note_ghosts(struct dump_ctx *ctx, struct dump_task *t);
/*
 * Present and swapped private pages, zero-page and file-backed ones left
 * out; and, on the way, each mapping's guard regions (vma.guards). The
 * swapped pages are also listed in t->swapped.
 */
int page_collect(struct dump_ctx *ctx, struct dump_task *t, struct page_list *pl);
/*
 * page_collect() in two parts, for a live dump whose holder keeps the
 * frozen instant's page tables: page_collect_part() leaves out the
 * mappings @later marks; page_collect_later() finds their pages and guard
 * regions through @pmfd, a /proc/PID/pagemap (the holder's, after the
 * thaw: a fork copies the guard markers), into @pl. A process gone (-1,
 * errno ESRCH) is the caller's to say.
 */
int page_collect_part(struct dump_ctx *ctx, struct dump_task *t, struct page_list *pl,
		      const bool *later);
int page_collect_later(struct dump_ctx *ctx, struct dump_task *t, int pmfd, const bool *later,
		       struct page_list *pl);
/* @a's and @b's runs (each in address order, of different mappings) into @a, in order. */
int page_list_merge(struct page_list *a, struct page_list *b);
int page_write(struct dump_ctx *ctx, struct dump_task *t, const struct page_list *pl);
struct page_sink;
/*
 * Frozen, the parasite in @t: write the runs of @pl that vma_spliceable()
 * allows into @ps (declared) through pipes, one copy: the parasite
 * vmsplice()s them, snap splice()s the pipes into the image. Those runs
 * are marked spliced; page_write_rest() copies the others later. Logged.
 */
int page_splice(struct dump_ctx *ctx, struct dump_task *t, struct page_list *pl,
		struct page_sink *ps);
/* Frozen, the parasite gone: the runs of @pl not spliced, into @ps. Logged. */
int page_write_rest(struct dump_ctx *ctx, struct dump_task *t, const struct page_list *pl,
		    struct page_sink *ps);
/*
 * @pl's pages into pages-PID.img and pagemap-PID.img (page-copy.c): frozen,
 * or with @running, once the tree runs again (a pre-dump: a page that
 * cannot be read any more is saved as zeros). Logged.
 */
int page_copy(struct dump_ctx *ctx, struct dump_task *t, const struct page_list *pl,
	      bool running);
/* Declare @pl's runs to @ps, those in the parent as such, and end the layout. Logged. */
int page_sink_declare(struct page_sink *ps, const struct page_list *pl);
void page_list_free(struct page_list *pl);
/*
 * Append @run to @pl (pl->pages counts it unless it is the parent's),
 * merged with the last run where it goes on from it. -1: no memory.
 */
int page_list_append(struct page_list *pl, const struct page_run *run);
/* Append [start, end) to @rl, merged with the last range if they touch. -1: no memory. */
int range_add(struct range_list *rl, uint64_t start, uint64_t end);
void range_list_free(struct range_list *rl);
/*
 * Copy @len bytes at @addr (inside @v) out of the task: process_vm_readv,
 * or /proc/PID/mem (@memfd) for memory the task may not read. Logged.
 * (mem-read.c)
 */
int mem_read(pid_t pid, int memfd, const struct vma *v, uint64_t addr, void *buf, size_t len);
/*
 * The same, leaving copy-on-write sharing as it is: the pages the task
 * does not map alone (@pmfd: its /proc/PID/pagemap says) are read through
 * /proc/PID/mem, which does not give it a copy of its own.
 */
int mem_read_cow(pid_t pid, int memfd, int pmfd, const struct vma *v, uint64_t addr, void *buf,
		 size_t len);
struct iovec;
/*
 * mem_read_cow() of @nr ranges at once, in address order, @vmas[i] holding
 * @iov[i], one after the other into @buf: one pagemap read and one
 * process_vm_readv() for many small ranges. Logged.
 */
int mem_read_cow_v(pid_t pid, int memfd, int pmfd, const struct vma *const *vmas,
		   const struct iovec *iov, size_t nr, void *buf);
/*
 * PAGE_IS_FILE for PAGEMAP_SCAN's masks, where it can tell something: an
 * anonymous mapping has no page-cache pages, and asking costs the kernel a
 * look at each page's struct page (a cache miss a page: most of a scan's
 * time over GiBs).
 */
static inline uint64_t scan_file_mask(const struct vma *v)
{
	return v->kind == VMA_KIND__VMA_ANON ? 0 : PAGE_IS_FILE;
}
/* Whether the pages of this VMA belong in the image at all. */
bool vma_dumps_pages(const struct vma *v);
/*
 * Whether the parasite may vmsplice() this VMA's pages into a pipe:
 * private anonymous memory it can read (vmsplice has no FOLL_FORCE), in
 * 4 KiB pages (hugetlb's would come as huge ones). vmsplice takes page
 * references without pinning, so a page shared copy-on-write since a fork
 * stays shared (mem-read.c). File-private mappings are left out: their
 * pages that were never written are the file's, and the copy path reads
 * them as the other processes mapping the file see them.
 */
static inline bool vma_spliceable(const struct vma *v)
{
	return v->kind == VMA_KIND__VMA_ANON && (v->prot & PROT_READ) && !(v->flags & MAP_HUGETLB);
}

#endif
