/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the two halves of the live snapshot share: live.c (and live-shmem.c
 * for shared memory) arms and holds while the task is frozen, live-stream.c
 * writes the pages once it runs.
 *
 * Page layout is fixed at the freeze: pages-PID.img (shmem-pages-ID.img for
 * an object) holds the collected
 * pages in list order, so every page has a known file offset and can be
 * written whenever it is saved — by the streamer from the pipes, or by the
 * fault path from the copy buffer. A bitmap says which pages are saved; the
 * first copy wins.
 */
#ifndef SNAP_LIVE_INTERNAL_H
#define SNAP_LIVE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "live/live.h"

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
	int uffd, pfd, pidfd;
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
	uint64_t *deferred;	/* faults read while serving another (live-stream.c) */
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

/* pwrite @len bytes of saved pages, first at page index @idx. Logged. */
int live_pwrite(struct live_dump *ld, const void *buf, size_t len, uint64_t idx);
/* Page index of @addr (its freeze address) in the list, or -1. */
int64_t live_page_index(const struct live_dump *ld, uint64_t addr);
/* A new live_dump named @name, nothing held yet. */
struct live_dump *live_dump_new(const char *name);
/* Page layout, bitmaps, buffers and the image for @ld->pl (set). */
int live_layout(struct live_dump *ld, int dirfd, const char *image, uint32_t id);
/* Split @ld's pages into pipes (@t: only its streamable runs; NULL: all). */
int live_plan_pipes(const struct dump_task *t, struct live_dump *ld);
/* A pipe to hold pages in: from the pool made before the freeze, else new. */
int live_get_pipe(struct live_dump *ld, int fds[2]);
/* Write-protect [start, start+len) in @ld's uffd. Logged. */
int live_wp(struct live_dump *ld, uint64_t start, uint64_t len);
/* Write every held page of @ld, lifting protection behind (live-stream.c). */
int live_stream_held(struct dump_ctx *ctx, struct live_dump *ld);
/* Streamed objects (live-shmem.c): after the pipes, the pages swapped in go back out. */
int live_stream_objects(struct live_tree *tree, struct dump_ctx *ctx);
/* Close @ld's image, checking the last writes. */
int live_close_image(struct live_dump *ld);
/* Lift protection on object pages [off, off+len) in every process mapping them. */
int live_shm_unprotect(struct live_dump *obj, uint64_t off, uint64_t len);

#endif
