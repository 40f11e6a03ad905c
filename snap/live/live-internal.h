/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the parts of the live snapshot share. Each calls only those below it
 * in this list:
 *
 *   live-mode.c    the live dump mode: the steps cr/dump.c calls
 *   live-stream.c  the running half: stream the held pages
 *   live-fault.c   the running half: write faults, events, forks
 *   live-shmem.c   shared memory objects: held and protected in every mapper
 *   live-freeze.c  the frozen half: arm the uffd, hold and protect a task's pages
 *   live-holder.c  the forked holder: fork it, read and drop, bound its memory
 *   live.c         the base: struct live_dump, layout, page index, pipes,
 *                  protection, the page sink
 *
 * Page layout is fixed at the freeze: the page sink of a process
 * (pages-PID.img) or an object (shmem-pages-ID.img) gets the collected runs
 * in list order, so every page has an index and can be written whenever it
 * is saved - by the streamer from the pipes or the holder, or by the fault
 * path from the copy buffer. A bitmap says which pages are saved; the first copy wins.
 */
#ifndef SNAP_LIVE_INTERNAL_H
#define SNAP_LIVE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "infect.h"
#include "live/live.h"
#include "mem/mem-dump.h"
#include "mem/page-sink.h"
#include "mem/shmem.h"

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

/*
 * Where a process maps a streamed shared memory object: freeze addresses
 * [start, end) show the object from byte @off on.
 */
struct shm_window {
	uint64_t start, end, off;
	struct live_dump *obj;
};

/* A page copied by the fault path, waiting to be written to its owner's image. */
struct cow_page {
	struct live_dump *owner;	/* the process itself, or a shared object */
	uint64_t idx;
};

/* What one streaming thread counts; summed into dump_stats after the join. */
struct live_stats {
	uint64_t pages_written;		/* a process's pages (not shared ones) */
	uint64_t cow_faults;
	uint64_t cow_peak;		/* bytes, this thread's copy buffers */
	uint64_t cow_wait_ns;
	uint64_t yield_ns;		/* the stream waited for a CPU, giving way */
};

/* What the streaming threads of one tree share (live_stream_tree). */
struct live_tree {
	struct live_dump **objs;	/* streamed shared memory objects */
	size_t nr_objs;
	int objs_left;			/* atomic: objects not streamed yet */
	int failed;			/* atomic: a thread failed, all stop */
};

/*
 * The held pages of one process, or of one shared memory object (@obj): then
 * the list's addresses are offsets in the object, there is no uffd, and the
 * processes mapping it have windows on it. An object's pages are saved by
 * its own streaming thread and by the fault path of every process mapping
 * it: @lock guards its saved and removed bits.
 */
struct live_dump {
	char name[112];		/* how errors name it: "pid N", or the object */
	bool obj;
	struct page_list pl;
	bool *later;		/* by VMA: pages to find in the holder (live_collect_later()) */
	struct page_list parent;	/* runs the parent set holds: declared, never held */
	uint64_t *run_idx;	/* first page index of each run */
	uint8_t *saved;		/* bitmap over page indexes */
	uint8_t *removed;	/* obj: pages a process discarded (MADV_DONTNEED, _REMOVE) */
	pthread_mutex_t lock;	/* obj */
	char *map;		/* obj: snap's own mapping of it, and its size */
	uint64_t map_len;
	uint8_t *resident;	/* obj: mincore() at the freeze */
	struct live_dump **mappers;	/* obj: the processes with windows on it */
	size_t nr_mappers;
	struct seg *segs;
	size_t nr_segs;
	struct held_pipe *pipes;
	size_t nr_pipes;
	long pipe_size;		/* bytes a pipe holds: /proc/sys/fs/pipe-max-size */
	int *pool;		/* pipes made before the freeze: read, write end */
	size_t nr_pool, pool_used;
	struct page_sink *sink;	/* pages-PID.img, shmem-pages-ID.img */
	int uffd, pidfd;
	pid_t pid;
	uint8_t *cow;		/* copy buffer: cow_cap pages */
	struct cow_page *cow_pages;
	size_t cow_cap, cow_nr;
	struct remap *remaps;
	size_t nr_remaps;
	/* Each thread's rseq page, sorted: the kernel writes them on our syscalls, protected last. */
	uint64_t *rseq_pages;
	size_t nr_rseq_pages;
	uint8_t *buf;		/* CHUNK_PAGES pages read from a pipe */
	bool may_exit;		/* a child: its exit does not fail the dump */
	uint64_t *deferred;	/* faults read while serving another (live-fault.c) */
	size_t nr_deferred, cap_deferred;
	struct shm_window *windows;
	size_t nr_windows;
	bool fork_events;	/* its uffd reports forks (UFFD_FEATURE_EVENT_FORK) */
	/*
	 * Processes forked during the streaming, each with the uffd the fork
	 * event gave: served by this process's thread. A follower has no pages
	 * of its own and no pid; its windows are its parent's at the fork.
	 */
	struct live_dump **followers;
	size_t nr_followers;
	struct live_dump *leader;	/* a follower: whose thread serves it */
	uint64_t *parked;	/* faults on punched-out shared pages: wait for the streamer */
	size_t nr_parked, cap_parked;
	struct live_tree *tree;
	/*
	 * Fork hold (live-holder.c): the holder's pid (snap's view, 0: the
	 * pages are in pipes) and, if it is the task's child to reap, in the
	 * task's namespace (else 0); its pidfd, socket and /proc/PID/mem.
	 */
	pid_t holder, holder_vpid;
	int holder_pidfd, holder_sock, holder_memfd;
	struct syscall_site holder_site;	/* where to inject the wait4() that reaps it */
	const struct dump_ctx *ctx;	/* a holder's task exited: who in the tree reaps it */
	/*
	 * What only the holder keeps, last measured (when), and the task's
	 * page faults then (/proc/PID/stat, kept open): each page the task
	 * has copied since is one more fault. When to measure again, at the
	 * soonest; whether there was one.
	 * held_bytes and held_faults change under the brake's lock.
	 */
	uint64_t held_bytes, held_faults, held_last_ns, held_next_ns;
	struct live_brake *brake;	/* stops the task in time (live-brake.c) */
	int held_statfd;
	bool held_measured;
	/*
	 * The streaming thread's own policy (-1: left alone), whether it runs
	 * as SCHED_IDLE now, and its wait for a CPU when it began (live-yield.c).
	 */
	int yield_policy;
	bool yield_idle;
	uint64_t yield_wait;
	uint64_t drop_start, drop_end;	/* saved, to be dropped by the holder */
	const struct range_list *swapped;	/* the task's: pages it had in swap */
};

static inline bool test_bit8(const uint8_t *map, uint64_t i)
{
	return map[i / 8] & (1 << (i % 8));
}

static inline void set_bit8(uint8_t *map, uint64_t i)
{
	map[i / 8] |= 1 << (i % 8);
}

static inline bool test_saved(const struct live_dump *ld, uint64_t i)
{
	return test_bit8(ld->saved, i);
}

static inline void set_saved(struct live_dump *ld, uint64_t i)
{
	set_bit8(ld->saved, i);
}

/* An object's bits are shared between threads; a process's are its thread's. */
static inline void obj_lock(struct live_dump *ld)
{
	if (ld && ld->obj)
		pthread_mutex_lock(&ld->lock);
}

static inline void obj_unlock(struct live_dump *ld)
{
	if (ld && ld->obj)
		pthread_mutex_unlock(&ld->lock);
}

static inline bool tree_failed(const struct live_dump *ld)
{
	return ld->tree && __atomic_load_n(&ld->tree->failed, __ATOMIC_ACQUIRE);
}

/* live.c, the base. */

/* Can this kernel write-protect shared memory (UFFD_FEATURE_WP_HUGETLBFS_SHMEM)? */
bool live_shmem_supported(const struct kfeat *kf);
/*
 * Whether run @r of @t's pages is streamed from its hold (@ld->holder's,
 * or pipes); else it is saved frozen.
 */
bool live_streamable(const struct dump_task *t, const struct live_dump *ld,
		     const struct page_run *r);
/* Whether a holder's copy of @v's pages may be streamed; else they are saved frozen. */
bool live_holder_streams(const struct dump_task *t, const struct vma *v);
/*
 * Whether object @id may be streamed rather than saved frozen: only the
 * tree's processes can write it, and only through mappings snap protects
 * (whether it is, is settled when it is held: live_shmem_hold()).
 */
bool live_shmem_may_stream(const struct dump_ctx *ctx, uint32_t id);
/* A new live_dump named @name, nothing held yet. */
struct live_dump *live_dump_new(const char *name);
/*
 * Before the freeze (*@out set): with @pipes, make the pipes the pages will
 * be held in (without, a holder is to be forked; pipes are made frozen if
 * that fails).
 */
int live_prepare(struct dump_task *t, bool pipes, struct live_dump **out);
/* Drop everything; closing the uffd lifts any protection left; the holder exits. */
void live_free(struct live_dump *ld);
/*
 * Page layout, bitmaps and buffers for @ld->pl (set), and its page sink
 * (@kind, @id) with the runs declared.
 */
int live_layout(struct live_dump *ld, const struct dump_ctx *ctx, enum page_sink_kind kind,
		uint32_t id);
/*
 * --prev-images-dir: move the runs of @pl in the parent set to @ld->parent,
 * where live_layout() declares them. Logged.
 */
int live_parent_runs(struct live_dump *ld, struct page_list *pl);
/* Write @nr saved pages from @buf, the first at page index @idx. Logged. */
int live_write_pages(struct live_dump *ld, const void *buf, uint64_t nr, uint64_t idx);
/* Close @ld's page sink, checking the last writes. */
int live_close_image(struct live_dump *ld);
/* Page index of @addr (its freeze address) in the list, or -1. */
int64_t live_page_index(const struct live_dump *ld, uint64_t addr);
/* Split @ld's pages into pipes (@t: only its streamable runs; NULL: all). */
int live_plan_pipes(const struct dump_task *t, struct live_dump *ld);
/* A pipe to hold pages in: from the pool made before the freeze, else new. */
int live_get_pipe(struct live_dump *ld, int fds[2]);
/*
 * Write-protect [start, start+len) in @ld's uffd. Logged; a death (ESRCH)
 * only unless @death_told: while the parasite runs, its caller reports it.
 */
int live_protect_range(struct live_dump *ld, uint64_t start, uint64_t len, bool death_told);
/* The same, a death logged too. */
int live_wp(struct live_dump *ld, uint64_t start, uint64_t len);

/* live-freeze.c, a task frozen. */

/* Frozen, parasite running: note the threads' rseq areas (protected last, live_protect()). */
int live_note_rseq(struct dump_task *t, struct live_dump *ld);
/*
 * Frozen, parasite running: which of @t's mappings may have their pages
 * found after the thaw, in the holder's page tables (live_collect_later()):
 * an array by VMA, or NULL for none (or out of memory: all found now).
 */
bool *live_later_plan(struct dump_ctx *ctx, struct dump_task *t);
/*
 * Frozen, parasite running, @pl collected but for the mappings @later
 * marks (NULL: none). Ownership of both moves to @ld.
 */
int live_freeze(struct dump_ctx *ctx, struct dump_task *t, struct page_list *pl,
		struct live_dump *ld, bool *later);
/* The tree running again: the pages live_freeze() left to find, found, and laid out. */
int live_collect_later(struct dump_ctx *ctx, struct dump_task *t, struct live_dump *ld);
/*
 * Parasite gone, task still stopped: protect what was left open while it
 * ran. From here until the uffd is served, the task must not run.
 */
int live_protect(struct live_dump *ld);

/* live-holder.c: the fork hold. */

/*
 * Frozen, parasite running: fork @t's holder, as its @direct child (else an
 * orphan), and read what can be meanwhile (dump_meanwhile()). 0 held, 1 the
 * kernel would not fork one (said; the caller holds in pipes), -1 error
 * (logged).
 */
int live_hold_fork(struct dump_ctx *ctx, struct dump_task *t, struct live_dump *ld, bool direct);
/* Say that @ld's holder died: the dump fails. */
void live_holder_died(const struct live_dump *ld);
/* Read @len bytes at @addr (freeze address) from the holder. Logged. */
int live_holder_read(struct live_dump *ld, uint64_t addr, void *buf, size_t len);
/*
 * The range is saved: the holder lets it go. What only the holder keeps
 * (pages the task copied by writing them, or dropped, since the freeze) is
 * watched: once the brake has stopped the task for it, those pages are
 * saved first (@st->cow_peak, cow_wait_ns). Logged.
 */
int live_holder_drop(struct live_stats *st, struct live_dump *ld, uint64_t addr, uint64_t len);
/* The holder lets go of what is saved and not yet dropped. Logged. */
int live_holder_flush(struct live_dump *ld);

/* live-brake.c: the brake on a task with a holder, running. */

/* The task's page faults so far (held_statfd: minor and major). */
uint64_t live_task_faults(struct live_dump *ld);
/* What the holder may keep alone at most, the task's faults being @faults. */
uint64_t live_held_bound(const struct live_dump *ld, uint64_t faults);

/*
 * Whether @bound is under a quarter of the task's share of --cow-limit:
 * from there on, what only the holder keeps is saved first (live-holder.c)
 * and the stream no longer gives way to the task (live-yield.c).
 */
static inline bool live_held_low(const struct live_dump *ld, uint64_t bound)
{
	return bound < ld->cow_cap * PAGE_SIZE / 4;
}
/* Set held_bytes and held_faults: a measure. */
void live_brake_held(struct live_dump *ld, uint64_t bytes, uint64_t faults);
/* Start @ld's brake thread. Logged. */
int live_brake_start(struct live_dump *ld);
/* Stop the brake, and let the task go if it is stopped. */
void live_brake_end(struct live_dump *ld);
/* Have the task stopped: 0 done, 1 it exited, -1 error (logged). */
int live_brake_stop(struct live_dump *ld);
/*
 * Whether the task is stopped, or could not be: the pages only the holder
 * keeps are to be saved. One that exited copies no more.
 */
bool live_brake_stopped(struct live_dump *ld);
/* Let a stopped task go: how long it was stopped, in ns. */
uint64_t live_brake_release(struct live_dump *ld);

/* live-yield.c: the stream from a holder gives way to the task. */

/* Before the streaming threads start: note the policy they will have. */
void live_yield_open(struct live_dump *ld);
/*
 * After each chunk, in the streaming thread (holder_watch()), @bound the
 * freshest bound of what only the holder keeps: SCHED_IDLE while it is
 * low, its own policy when not.
 */
void live_yield(struct live_stats *st, struct live_dump *ld, uint64_t bound);
/* Done streaming from the holder: its own policy again. */
void live_yield_end(struct live_stats *st, struct live_dump *ld);

/* live-shmem.c, the tree frozen. */

/* shmem_write()'s hold: hold object @d's pages to stream them, if it may be. */
int live_shmem_hold(struct dump_ctx *ctx, struct shmem_data *d);

/* live-fault.c, running. */

/* Serve the queued faults and events, the noted and parked faults too. */
int live_serve_events(struct live_stats *st, struct live_dump *ld);
/* Lift write protection on [@addr, +@len), serving events while it must wait. */
int live_unprotect(struct live_stats *st, struct live_dump *ld, uint64_t addr, uint64_t len);
/* Write the last @n pages of @ld's copy buffer to their owners' images. */
int live_flush_cow(struct live_stats *st, struct live_dump *ld, size_t n);

/* live-stream.c, running. */

/* Every task of the tree runs again: stream them all at once. */
int live_stream_tree(struct dump_ctx *ctx);

#endif
