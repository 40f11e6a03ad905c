/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the two halves of the live snapshot share: live.c arms and holds
 * while the task is frozen, live-stream.c writes the pages once it runs.
 *
 * Page layout is fixed at the freeze: pages-PID.img holds the collected
 * pages in list order, so every page has a known file offset and can be
 * written whenever it is saved — by the streamer from the pipes, or by the
 * fault path from the copy buffer. A bitmap says which pages are saved; the
 * first copy wins.
 */
#ifndef SNAP_LIVE_INTERNAL_H
#define SNAP_LIVE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "live.h"

/* A fault waits at most one chunk; bigger chunks stream faster. */
#define CHUNK_PAGES 256
#define LIVE_UFFD_FEATURES                                                                 \
	(UFFD_FEATURE_PAGEFAULT_FLAG_WP | UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP | \
	 UFFD_FEATURE_EVENT_REMAP)

/* A piece of a run held in a pipe. */
struct seg {
	uint64_t vaddr;
	uint64_t idx;		/* page index in list order = file page */
	uint64_t nr;
};

struct held_pipe {
	int fd;
	size_t seg_first, seg_end;
};

struct remap {
	uint64_t from, to, len;
};

struct live_dump {
	struct page_list pl;
	uint64_t *run_idx;	/* first page index of each run */
	uint8_t *saved;		/* bitmap over page indexes */
	struct seg *segs;
	size_t nr_segs;
	struct held_pipe *pipes;
	size_t nr_pipes;
	int *pool;		/* pipes made before the freeze: read, write end */
	size_t nr_pool, pool_used;
	int uffd, pfd, pidfd;
	pid_t pid;
	uint8_t *cow;		/* copy buffer: cow_cap pages */
	uint64_t *cow_idx;
	size_t cow_cap, cow_nr;
	struct remap *remaps;
	size_t nr_remaps;
	uint64_t rseq_page;	/* the kernel writes it on our syscalls: protected last */
	uint8_t *buf;		/* CHUNK_PAGES pages read from a pipe */
	bool may_exit;		/* a child: its exit does not fail the dump */
};

static inline bool test_saved(const struct live_dump *ld, uint64_t i)
{
	return ld->saved[i / 8] & (1 << (i % 8));
}

static inline void set_saved(struct live_dump *ld, uint64_t i)
{
	ld->saved[i / 8] |= 1 << (i % 8);
}

/* pwrite @len bytes of saved pages, first at page index @idx. Logged. */
int live_pwrite(struct live_dump *ld, const void *buf, size_t len, uint64_t idx);
/* Page index of @addr (its freeze address) in the list, or -1. */
int64_t live_page_index(const struct live_dump *ld, uint64_t addr);

#endif
