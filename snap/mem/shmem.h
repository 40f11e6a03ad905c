/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared memory objects: MAP_SHARED|MAP_ANONYMOUS areas, memfds, files in
 * /dev/shm and SysV segments. Each object is dumped once per tree, whatever
 * number of mappings and fds refer to it, into shmem.img (what it is) and
 * shmem-pages-ID.img (its pages).
 *
 * Dump (shmem-dump.c): objects are noted while the tree is frozen, from the
 * mappings (/proc/PID/map_files), memfd fds and the SysV segments a task
 * created; shmem_write() then saves every object's data, found by walking the
 * object itself with lseek(SEEK_DATA/SEEK_HOLE) - swapped pages are data,
 * holes are not - and with mincore() for what was resident, so that pages
 * the read swapped in are pushed out again. The pages go through a page sink
 * (page-sink.h), unless the dump mode holds them to save later: this file
 * only offers each object's data (shmem_hold_fn); what to hold is the mode's
 * choice (live/live-shmem.c).
 *
 * Restore (shmem-restore.c): snap recreates and fills every object before the
 * first process exists, keeps an fd of each, and hands the fds to the
 * restored processes, which map them (or shmat the segment) again: one object,
 * shared as it was. A private mapping of an object no name reaches any more
 * (shared anonymous memory, a memfd, an unlinked /dev/shm file) is mapped
 * privately from the same fd, its COWed pages on top.
 *
 * A SysV segment of an ipc namespace of the tree's own (not snap's) is the
 * ipc module's (ns/ipc.h): its entry here is marked ipc_ns and only lets the
 * mappings refer to it; its data is saved and restored there, once, and
 * restore leaves the making of it to the tree's root, in the new namespace.
 *
 * The deleted files the tree uses (ghost.h) are objects of the same sort:
 * noted once per inode here (shmem_note_ghost()), recreated with the shared
 * memory objects, their fds handed on with theirs.
 */
#ifndef SNAP_SHMEM_H
#define SNAP_SHMEM_H

#include <sys/stat.h>

#include "ctx.h"
#include "shmem.pb-c.h"

struct shmem_table;
struct ghost_restore;

struct shmem_table *shmem_table_new(void);
void shmem_table_free(struct shmem_table *st);

/*
 * Note the object @v (a VMA_SHMEM of task @pid) maps; sets v->shmem_id.
 * @prev is the task's mapping before @v, or NULL: a SysV attachment split
 * by mprotect() shows as several mappings, the first at offset 0.
 */
int shmem_note_vma(struct dump_ctx *ctx, pid_t pid, struct vma *v, const struct vma *prev);
/*
 * Note the memfd our @fd (a duplicate of target fd @tfd of @pid) refers to;
 * its id in *@id.
 */
int shmem_note_memfd(struct dump_ctx *ctx, pid_t pid, int tfd, int fd, const char *path,
		     uint32_t *id);
/*
 * The ghost (ghost.h) of deleted file (@dev, @ino), one per inode for the
 * tree's fds and mappings: its id in *@id. 1 when it is new (the caller
 * saves it), 0 when already noted, -1 logged.
 */
int shmem_note_ghost(struct dump_ctx *ctx, dev_t dev, ino_t ino, uint32_t *id);
/* Note the SysV segments @pid created that no task maps right now. */
int shmem_note_sysv_created(struct dump_ctx *ctx, pid_t pid);
/*
 * Before the freeze: map @t's anonymous shared memory objects in snap and
 * fault in their resident data pages, for a mode that holds them frozen
 * (shmem_take_warm()).
 */
void shmem_prewarm(struct dump_ctx *ctx, const struct dump_task *t);
/* The ShmemKind of object @id, or -1 when there is no such object. */
int shmem_kind(const struct dump_ctx *ctx, uint32_t id);
/* Whether object @id is on hugetlbfs. */
bool shmem_huge(const struct dump_ctx *ctx, uint32_t id);

/* An object's data as shmem_write() found it, offered to a shmem_hold_fn. */
struct shmem_data {
	uint32_t id;
	ShmemKind kind;
	const char *what;	/* how errors name it */
	int fd;			/* the object, read-only; stays shmem_write()'s */
	uint64_t size;		/* bytes */
	PagemapEntry **ranges;	/* data ranges (vaddr: offset in it), in order */
	size_t nr_ranges;
	uint8_t *resident;	/* mincore(): a byte per page; a hold that keeps it sets NULL */
	bool huge;		/* on hugetlbfs: no resident list */
};

/*
 * Whether the dump mode holds object @d's pages to save them itself: 1 it
 * took them, 0 shmem_write() writes them now, -1 error (logged).
 */
typedef int shmem_hold_fn(struct dump_ctx *ctx, struct shmem_data *d);
/*
 * shmem.img and every shmem-pages-ID.img, while the tree is frozen; each
 * object's pages offered first to @hold (NULL: every object is written).
 */
int shmem_write(struct dump_ctx *ctx, shmem_hold_fn *hold);
/* snap's mapping of @d made by shmem_prewarm(), or NULL; the caller's now (to munmap). */
char *shmem_take_warm(struct dump_ctx *ctx, const struct shmem_data *d);
/*
 * Push pages [@first, @last) of an object mapped by snap at @map out again
 * where @vec (mincore) says they were not resident: the task must not end up
 * with more resident memory. Best effort: the image is right either way.
 */
void shmem_pageout(const char *what, char *map, const unsigned char *vec, uint64_t first,
		   uint64_t last);

/* Restore side: the objects, recreated before any process. */
struct shmem_restore {
	ShmemEntry **objs;
	size_t nr;
	int *fds;		/* per object: an fd of it (SysV: -1, shmat by id) */
	bool *made;		/* per object: a SysV segment or file snap created */
	struct ghost_restore *ghosts;	/* ghost-restore.c: deleted files */
	bool paths_in_root;	/* files and ghosts are made by the root */
};

/* Load and check shmem.img (before anything is created). */
int shmem_load(struct restore_ctx *ctx);
/*
 * Recreate and fill every object, and every ghost; snap keeps an fd of each.
 * With @paths_in_root (the tree has a mount namespace of its own), the
 * files (/dev/shm ones) and the ghosts are left to the root: their paths
 * are its, not snap's (a container's /dev/shm is its own tmpfs).
 */
int shmem_create(struct restore_ctx *ctx, bool paths_in_root);
/*
 * In the root, once its mounts are in place, before its children: the files
 * and ghosts shmem_create() left; the children inherit the fds. A failed
 * restore leaves those files where they were made (shmem_undo() does not
 * see them): in the tree's own mounts.
 */
int shmem_create_in_root(struct restore_ctx *ctx);
/* The index of object @id, or -1 (with an error naming @what). */
int shmem_index(const struct restore_ctx *ctx, uint32_t id, const char *what);
/* In the restored child: move the object (and ghost) fds to @base and up. 0 or -1. */
int shmem_move_fds(struct restore_ctx *ctx, int base);
/* After the processes mapped them: seals, IPC_RMID. */
int shmem_finish(struct restore_ctx *ctx);
/* A failed restore: remove the segments and files shmem_create() made. */
void shmem_undo(struct restore_ctx *ctx);
void shmem_restore_free(struct restore_ctx *ctx);

#endif
