/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Write tracking for incremental dumps (snap pre-dump, dump --prev-images-dir),
 * without soft-dirty bits: a userfaultfd in asynchronous write-protect mode
 * (UFFD_FEATURE_WP_ASYNC) is registered on a process's private memory. A
 * write is never stopped: the kernel just clears the page's protection.
 * One PAGEMAP_SCAN per mapping then both reads which pages were written
 * (PAGE_IS_WRITTEN) and protects them again (PM_SCAN_WP_MATCHING).
 *
 * snap exits between two rounds, and closing the uffd would drop every
 * protection, so the tracker lives in the process itself: the parasite
 * makes it and leaves it at a high fd number (close-on-exec), and track.img
 * records (pid, fd, inode). The next round takes it with pidfd_getfd(); the
 * final dump also closes it in the process (before its fds are dumped, so it
 * is never in the image), and keeps its own copy until the pages are read.
 *
 * A page is left to the parent only if it is present, not written since the
 * last round, in a mapping registered with this very tracker, and the parent
 * set lists it. Everything else - new mappings, moved ones (mremap clears
 * the protection it moves), discarded pages, new processes - reads as written
 * or unknown, and is saved whole.
 */
#ifndef SNAP_TRACK_H
#define SNAP_TRACK_H

#include "ctx.h"
#include "mem/mem-dump.h"
#include "track.pb-c.h"

/* The uffd features a tracker needs: async WP, and markers on empty anonymous pages. */
#define TRACK_UFFD_FEATURES (UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED)

/* A process's tracker, as this round holds it. */
struct track_task {
	int uffd;		/* snap's own copy, or -1 */
	int fd;			/* its number in the process, or -1 (closed there already) */
	uint64_t ino;
	PagemapEntry **parent_pm;	/* what the parent set lists for this pid */
	size_t nr_parent_pm;
	bool fresh;		/* made this round, not registered yet */
};

/* 0, or -1 with a message saying what this kernel lacks (for @what: "pre-dump"). */
int track_check_kernel(const struct kfeat *kf, const char *what);
/*
 * --prev-images-dir: open the parent set (relative to -D), check it is a
 * complete set of the same root with trackers (track.img), and link it as
 * "parent" in -D. Logged.
 */
int track_parent_load(struct dump_ctx *ctx);
void track_parent_free(struct dump_ctx *ctx);
/* The parent's dump_id, for inventory.img (0: no parent). */
uint64_t track_parent_id(const struct dump_ctx *ctx);
/*
 * Frozen: find @t's tracker from the parent set, taking a copy with
 * pidfd_getfd(). None (a new process, one restarted or exec'd): t->trk stays
 * NULL and its pages are all saved. 0 or -1 (logged).
 */
int track_find(struct dump_ctx *ctx, struct dump_task *t);
/* Pre-dump, parasite in: make a tracker for @t, which has none. Logged. */
int track_arm(struct dump_ctx *ctx, struct dump_task *t);
/*
 * Pre-dump, the tree running again: register every mapping of @t with the
 * tracker track_arm() made this round, and protect its pages. Done frozen,
 * this was most of a first round's freeze (two walks of every page table);
 * done before the pages are copied, it misses no write: a page written
 * before its protection is copied after it. A mapping changed meanwhile is
 * left untracked (saved whole by the next round). 0 at once for a tracker
 * with a past. Logged.
 */
int track_arm_running(struct dump_task *t);
/*
 * Dump, parasite in: every tracker in @t's fd table (its own, or one it
 * inherited, or one of a pre-dump this dump does not continue) is closed
 * there; snap keeps a copy of @t's own. Logged.
 */
int track_take(struct dump_ctx *ctx, struct dump_task *t);
/*
 * Frozen, @pl collected: mark the runs of @pl the parent holds unchanged
 * (page_run.in_parent), splitting runs where needed. With @rearm, register
 * every mapping with the tracker and protect what was written, for the next
 * round. Logged.
 */
int track_split(struct dump_ctx *ctx, struct dump_task *t, struct page_list *pl, bool rearm);
/*
 * Dump, frozen, the pages split: unregister every mapping from @t's tracker
 * and drop snap's copy, so that the live dump may register its own uffd. Logged.
 */
int track_release(struct dump_task *t);
/* The parent set's trackers (track.img): their number, and *@te. */
size_t track_parent_trackers(const struct dump_ctx *ctx, const TrackEntry *const **te);

/*
 * Catch-up rounds (track-catchup.c): a dump on a parent that holds its pages
 * (dump_ctx.hold: local images, the tree killed or left running) first
 * copies, the tree still running,
 * what was written since the parent, as a pre-dump would: each round reads
 * the written pages and protects them again in one PAGEMAP_SCAN, then
 * copies them into the hold, while the tree goes on writing. Rounds repeat
 * while what they find shrinks. Once frozen, track_split() leaves to those
 * copies the pages not written since (track_catchup_copies()), and only the
 * last writes are copied frozen.
 *
 * Why the copies are exact: a copy is made after the scan that protected
 * its page again; a page written after that scan, even during the copy,
 * reads as written at the freeze (or in the next round) and is copied then,
 * the later copy winning. A page not written since reads as it was at the
 * scan, whenever it is read. A page that cannot be read is unprotected
 * instead: written, for the freeze. Only mappings registered with the
 * tracker all along are caught up (none is registered by a round), so a
 * mapping moved or made since reads as untracked at the freeze and is saved
 * whole there, whatever the rounds copied at its addresses.
 *
 * Before the freeze: the rounds. 0, or -1 (logged): the dump fails.
 */
int track_catchup(struct dump_ctx *ctx);
/* A page a catch-up round copied: its newest copy is at @off in the page hold. */
struct track_copy {
	uint64_t addr, off;
};

/*
 * Frozen: the copies the rounds made of @pid's pages, in address order
 * (their number in *@nr; NULL: none), and in *@runs, *@cap an array of page
 * runs, touched already, for the split's output (NULL, 0: none). The
 * caller owns *@runs.
 */
const struct track_copy *track_catchup_copies(struct dump_ctx *ctx, pid_t pid, size_t *nr,
					      struct page_run **runs, size_t *cap);
/*
 * The dump failed: the rounds protected pages the parent does not hold, so
 * every mapping they scanned is unregistered from the tracker (its
 * protection goes with it): a later dump on the same parent finds those
 * mappings untracked and saves them whole.
 */
void track_catchup_reset(struct dump_ctx *ctx);
void track_catchup_free(struct dump_ctx *ctx);

/* Pre-dump: track.img, from every task's tracker. Logged. */
int track_write(struct dump_ctx *ctx);
/* Drop snap's copy of the tracker (the last one: its protection goes). */
void track_task_free(struct dump_task *t);

#endif
